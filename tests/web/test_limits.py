#!/usr/bin/python3
"""genre-web under a crowd and under slow clients (issue 27, major 6), over
loopback: with 500 event streams and 64 slowloris clients (one byte every
10 s) connected, every stream is served, GET / answers and a new page's own
event stream opens and gets genred's messages; each slow client is cut at
the request deadline (10 s), so its connection is really freed; beyond
--max-streams a stream gets a clear 503 with Retry-After while the page
still loads. Timings are printed for information; only the deadlines the
program promises are checked."""
import resource
import selectors
import socket
import subprocess
import time
import urllib.parse

import webtest
from webtest import check

STREAMS = 500
SLOW = 64
DEADLINE_S = 10  # genre-web's request deadline (web_limits_default)


def raise_file_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= need


class Crowd:
    """Many /events readers on non-blocking sockets, read by one selector:
    for each, the status line and whether a genre.probs arrived."""

    def __init__(self, host, port, n):
        self.sel = selectors.DefaultSelector()
        self.status = {}
        self.data = {}
        self.probs = set()
        for _ in range(n):
            s = socket.create_connection((host, port), timeout=10)
            s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
            s.setblocking(False)
            self.data[s] = b""
            self.sel.register(s, selectors.EVENT_READ)

    def pump(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for key, _ in self.sel.select(0.1):
                s = key.fileobj
                try:
                    chunk = s.recv(65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    self.sel.unregister(s)
                    continue
                # Keep only what is needed: the head and a little tail.
                buf = self.data[s] + chunk
                if s not in self.status and b"\r\n" in buf:
                    self.status[s] = buf.split(b"\r\n", 1)[0].decode("latin-1")
                if b"event: genre.probs" in buf:
                    self.probs.add(s)
                self.data[s] = buf[-64:]

    def ok(self):
        return sum(1 for v in self.status.values() if " 200 " in v)

    def close(self):
        for s in self.data:
            s.close()


def slow_client(host, port):
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(b"G")
    return s


def cut_after(clients, connected, deadline):
    """Sends one byte every 10 s, as slowloris does, and waits for genre-web
    to end each connection; returns seconds from connect to the end (None
    for one still open at the deadline)."""
    sel = selectors.DefaultSelector()
    ended = {}
    for s in clients:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    next_byte = connected + 10
    while len(ended) < len(clients) and time.monotonic() < deadline:
        if time.monotonic() >= next_byte:
            for s in clients:
                if s not in ended:
                    try:
                        s.send(b"E")
                    except OSError:
                        pass
            next_byte += 10
        for key, _ in sel.select(0.2):
            try:
                gone = key.fileobj.recv(4096) == b""
            except OSError:
                gone = True
            if gone:
                ended[key.fileobj] = time.monotonic() - connected
                sel.unregister(key.fileobj)
    return [ended.get(s) for s in clients]


def established(port):
    out = subprocess.run(["ss", "-tnH", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True).stdout
    return len(out.splitlines())


def page_and_stream(url):
    """GET / and a new /events stream while the crowd is connected; returns
    (page seconds or None, seconds to the stream's first genre.probs or None)."""
    t = time.monotonic()
    try:
        status, _, body = webtest.http_get(url, timeout=5 * webtest.SLOW)
        page = time.monotonic() - t if status == 200 and b"EventSource" in body else None
    except OSError:
        page = None
    t = time.monotonic()
    own = Crowd(urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(url).port, 1)
    first = None
    while time.monotonic() - t < 5 * webtest.SLOW and first is None:
        own.pump(0.1)
        if own.probs:
            first = time.monotonic() - t
    ok = own.ok() == 1
    own.close()
    return page, first if ok else None


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0


def crowd_and_slowloris(procs):
    endpoint = f"ipc://{procs.tmp}/genred.ipc"
    webtest.start_fake_genred(procs, endpoint, "--hop", "0.5", "--duration", "120")
    web, url = webtest.start_genre_web(procs, "--endpoint", endpoint)
    u = urllib.parse.urlsplit(url)

    slow_start = time.monotonic()
    slow = [slow_client(u.hostname, u.port) for _ in range(SLOW)]
    t = time.monotonic()
    crowd = Crowd(u.hostname, u.port, STREAMS)
    crowd.pump(0.5)
    webtest.wait_for(lambda: (crowd.pump(0.2), crowd.ok() == STREAMS and
                              len(crowd.probs) == STREAMS)[1], 15)
    print(f"     {crowd.ok()} streams answered 200 and {len(crowd.probs)} got a genre.probs "
          f"in {time.monotonic() - t:.2f} s (information)", flush=True)
    check(crowd.ok() == STREAMS, f"all {STREAMS} event streams are served ({crowd.ok()} got 200)")
    check(len(crowd.probs) == STREAMS,
          f"every stream gets genred's messages ({len(crowd.probs)} of {STREAMS})")

    page, first = page_and_stream(url)
    print(f"     GET / took {page} s, a new stream's first genre.probs {first} s, genre-web "
          f"RSS {rss_mib(web.pid):.1f} MiB, {established(u.port)} connections "
          "(information)", flush=True)
    check(page is not None, f"GET / answers with {STREAMS} streams and {SLOW} slow clients on")
    check(first is not None, "the page's own event stream opens and gets genre.probs")

    ends = cut_after(slow, slow_start, slow_start + (DEADLINE_S + 10) * webtest.SLOW)
    crowd.pump(0.1)
    done = [e for e in ends if e is not None]
    print(f"     slow clients cut after {min(done, default=0):.1f} .. "
          f"{max(done, default=0):.1f} s (information)", flush=True)
    check(len(done) == SLOW, f"every slow client is cut ({len(done)} of {SLOW})")
    check(done and all(DEADLINE_S - 0.5 <= e <= DEADLINE_S + 3 * webtest.SLOW for e in done),
          f"... at the {DEADLINE_S} s request deadline, not sooner and not much later")
    freed = webtest.wait_for(lambda: established(u.port) <= STREAMS, 5)
    check(freed, f"their connections are freed ({established(u.port)} left, {STREAMS} streams)")
    crowd.pump(0.5)
    check(len(crowd.sel.get_map()) == STREAMS, "the streams stay open meanwhile")
    web.terminate()
    err = web.communicate(timeout=10 * webtest.SLOW)[1]
    crowd.close()
    lines = err.strip().splitlines()
    # Start-up and stop lines, and at most web_http.c's LOGGED_HTTP_ERRORS (10)
    # HTTP errors: a cut slow client's socket may or may not still be open
    # when libmicrohttpd reads it, so 0 to 64 errors, of which 10 are logged.
    check(web.returncode == 0 and len(lines) <= 5 + 10,
          f"genre-web stops cleanly and logged {len(lines)} lines, not one per connection: "
          f"{lines[:16]}")


def refused_beyond_limit(procs):
    endpoint = f"ipc://{procs.tmp}/few.ipc"
    web, url = webtest.start_genre_web(procs, "--endpoint", endpoint, "--max-streams", "8")
    u = urllib.parse.urlsplit(url)
    crowd = Crowd(u.hostname, u.port, 8)
    webtest.wait_for(lambda: (crowd.pump(0.1), len(crowd.status) == 8)[1], 10)
    check(crowd.ok() == 8, f"--max-streams 8: 8 streams are served ({crowd.ok()})")
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = b""
        while chunk := s.recv(4096):  # the 503 closes the connection
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    check(head.startswith(b"HTTP/1.1 503") and b"Retry-After: 10" in head,
          f"the 9th stream gets a 503 with Retry-After: {head[:80]!r}")
    check(b"no event stream free" in body, f"... that says why: {body!r}")
    status, _, _ = webtest.http_get(url, timeout=5 * webtest.SLOW)
    check(status == 200, "the page still loads")
    crowd.close()
    # A closed stream frees its place.
    check(webtest.wait_for(lambda: stream_status(u) == 200, 5),
          "once the streams close, a new one is served")


def stream_status(u):
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        line = s.recv(64).split(b"\r\n", 1)[0]
    return int(line.split()[1]) if line.startswith(b"HTTP/") else None


def main():
    if not raise_file_limit(STREAMS + SLOW + 100):
        print("SKIP: the file limit (ulimit -n) is too low for the crowd", flush=True)
        raise SystemExit(webtest.SKIP)
    with webtest.Processes() as procs:
        refused_beyond_limit(procs)
        crowd_and_slowloris(procs)
    webtest.finish()


if __name__ == "__main__":
    main()
