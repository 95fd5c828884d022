#!/usr/bin/python3
"""genre-web's Server-Sent Events relay under load, with no browser: several
readers keep up with a fast publisher while another client never reads; every
relayed message is valid JSON with "v":1 and malformed messages are dropped."""
import json
import signal
import socket
import subprocess
import threading
import time
import urllib.parse

import webtest
from webtest import check

HOP = 0.01  # 100 messages a second
PAD = 30000  # bytes, so the stalled clients' buffers fill within a second or two
RUN_S = 4.0


class Reader(threading.Thread):
    """Reads /events over a raw socket and keeps what arrives, and when."""

    def __init__(self, host, port):
        super().__init__(daemon=True)
        self.sock = socket.create_connection((host, port), timeout=10)
        self.sock.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        self.events = []  # (arrival time, event name, parsed data or None)
        self.stop = False

    def run(self):
        buf = b""
        while not self.stop:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            while b"\n\n" in buf:
                block, buf = buf.split(b"\n\n", 1)
                name, data = None, None
                for line in block.decode("utf-8", "replace").splitlines():
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: "):
                        try:
                            data = json.loads(line[6:])
                        except ValueError:
                            data = "INVALID"
                if name:
                    self.events.append((time.time(), name, data))


def stalled_client(host, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((host, port))
    s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
    return s  # and never read from it


def stalled_queues(port):
    """Server-side send queues of genre-web's connections that hold data."""
    out = subprocess.run(["ss", "-tnH", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True).stdout
    queues = [int(line.split()[1]) for line in out.splitlines() if line.split()]
    return [q for q in queues if q > 0]


def main():
    with webtest.Processes() as procs:
        endpoint = f"ipc://{procs.tmp}/genred.ipc"
        publisher = webtest.start_fake_genred(procs, endpoint, "--hop", str(HOP), "--pad",
                                              str(PAD), "--duration", str(RUN_S), "--garbage")
        web, url = webtest.start_genre_web(procs, "--endpoint", endpoint)
        u = urllib.parse.urlsplit(url)
        stalled = [stalled_client(u.hostname, u.port) for _ in range(2)]
        readers = [Reader(u.hostname, u.port) for _ in range(3)]
        for r in readers:
            r.start()
        # Had a stalled client blocked the relay, the readers would never see
        # the last message; how long they take is the machine's business.
        last = int(publisher.stdout.readline().split()[1].split(":")[1])
        final = lambda r: any(name == "genre.probs" and d.get("position") == last
                              for _, name, d in r.events if isinstance(d, dict))
        for i, r in enumerate(readers):
            check(webtest.wait_for(lambda: final(r), 20),
                  f"reader {i}: got the publisher's last message despite the stalled clients")
        for r in readers:
            r.stop = True

        step = int(22050 * HOP)
        for i, r in enumerate(readers):
            probs = [d for _, name, d in r.events if name == "genre.probs"]
            check(all(isinstance(d, dict) and d.get("v") == 1 for _, _, d in r.events),
                  f"reader {i}: every relayed message is a JSON object with v=1")
            positions = [d["position"] for d in probs if isinstance(d, dict)]
            if not check(len(positions) > 20, f"reader {i}: {len(positions)} genre.probs"):
                continue
            expected = (positions[-1] - positions[0]) // step + 1
            check(len(set(positions)) >= 0.95 * expected,
                  f"reader {i}: kept up, {len(set(positions))} of {expected} messages "
                  "despite the stalled clients")
            lags = sorted(t - d["time_ms"] / 1000 for t, name, d in r.events
                          if name == "genre.probs")
            print(f"     reader {i}: median delay {lags[len(lags) // 2]:.3f} s (information)")
            names = {name for _, name, _ in r.events}
            check(names <= {"genre.probs", "genre.change", "genre.status", "genre-web.history"},
                  f"reader {i}: only genred's topics (and history) are sent {sorted(names)}")

        # Readers have stopped too by now, so look for the big queues only.
        stuck = [q for q in stalled_queues(u.port) if q > 1000000]
        check(len(stuck) == len(stalled),
              f"the stalled clients really are stalled (send queues {stuck})")

        start = time.monotonic()
        web.send_signal(signal.SIGTERM)
        rc = web.wait(10)
        took = time.monotonic() - start
        err = web.stderr.read()
        if not check(rc == 0 and took < 3 * webtest.SLOW,
                     f"SIGTERM with stalled clients attached stops it in {took:.2f} s, rc {rc}"):
            print(err)
        drops = [line for line in err.splitlines() if "dropped a" in line]
        check(1 <= len(drops) <= 5, f"malformed messages are logged, but only a few ({len(drops)})")
        check("rejected 0" not in err, "malformed messages are counted")
        for s in stalled:
            s.close()
        cache_replay(procs)
    webtest.finish()


def cache_replay(procs):
    """A browser that connects between two hops gets the latest genre.probs
    at once from genre-web's cache instead of waiting for the next hop."""
    endpoint = f"ipc://{procs.tmp}/slow.ipc"
    web, url = webtest.start_genre_web(procs, "--endpoint", endpoint)
    u = urllib.parse.urlsplit(url)
    webtest.start_fake_genred(procs, endpoint, "--hop", "3", "--duration", "30")
    first = Reader(u.hostname, u.port)
    first.start()
    got = lambda r: [t for t, name, _ in r.events if name == "genre.probs"]
    if not check(webtest.wait_for(lambda: got(first), 6), "a first genre.probs arrives"):
        return
    late = Reader(u.hostname, u.port)
    joined = time.time()
    late.start()
    webtest.wait_for(lambda: got(late), 2.5)
    arrived = got(late)
    # While the first reader has only one message, the late one's can only
    # have come from the cache.
    from_cache = bool(arrived) and len([t for t in got(first) if t <= arrived[0]]) == 1
    check(from_cache, "a late browser gets the latest genre.probs at once "
          f"({arrived[0] - joined if arrived else -1:.2f} s), not at the next hop")
    history = [d for _, name, d in late.events if name == "genre-web.history"]
    segments = history[0].get("segments") if len(history) == 1 else None
    check(isinstance(segments, list) and len(segments) == 1 and history[0]["stream"] == "main"
          and history[0]["labels"] == first.events[0][2]["labels"],
          f"the late browser gets the stream's history: {history}")
    if segments:
        start_age, end_age, top = segments[0]
        probs = [d for _, name, d in first.events if name == "genre.probs"][0]
        check(start_age >= end_age >= 0 and probs["labels"][top] == probs["top"],
              "its one run ends with the label genred last sent")
    first.stop = late.stop = True


if __name__ == "__main__":
    main()
