#!/usr/bin/python3
"""genre-web's command line and plain HTTP behaviour, with no genred running:
bad flags are one clear line and exit 2, the page and the event stream are
served, other paths and methods are refused, and it stops on SIGTERM."""
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import webtest
from webtest import GENRE_WEB, check


def run(*args):
    return subprocess.run([GENRE_WEB, *args], capture_output=True, text=True, timeout=10)


def bad_flag(args, must_mention):
    r = run(*args)
    lines = r.stderr.strip().splitlines()
    check(r.returncode == 2 and len(lines) == 1 and lines[0].startswith("genre-web: ")
          and must_mention in lines[0] and not r.stdout,
          f"{' '.join(args)!r} -> exit 2, one line naming {must_mention!r}: {r.stderr.strip()!r}")


def flags():
    bad_flag(["--bogus"], "--bogus")
    bad_flag(["--listen"], "--listen")
    bad_flag(["--listen", "127.0.0.1"], "127.0.0.1")
    bad_flag(["--listen", "127.0.0.1:http"], "port")
    bad_flag(["--listen", "127.0.0.1:70000"], "port")
    bad_flag(["--listen", "[::1:8080"], "[::1:8080")
    bad_flag(["--endpoint", ""], "--endpoint")
    bad_flag(["stray"], "stray")
    # Serving beyond this machine must be asked for.
    bad_flag(["--listen", "0.0.0.0:8080"], "--allow-remote")
    r = run("--help")
    check(r.returncode == 0 and "--listen" in r.stdout and "--allow-remote" in r.stdout,
          "--help prints usage and exits 0")
    r = run("--version")
    check(r.returncode == 0 and r.stdout.startswith("genre-web "), "--version")


def bad_endpoint(procs):
    r = run("--listen", "127.0.0.1:0", "--endpoint", "carrier-pigeon://roof")
    check(r.returncode == 1 and "carrier-pigeon://roof" in r.stderr,
          f"an unusable endpoint is named in the error: {r.stderr.strip()!r}")


def port_in_use(procs):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = run("--listen", f"127.0.0.1:{port}")
        check(r.returncode == 1 and f"127.0.0.1:{port}" in r.stderr
              and len(r.stderr.strip().splitlines()) == 1,
              f"a busy port is a clear error, exit 1: {r.stderr.strip()!r}")


def serving(procs):
    web, url = webtest.start_genre_web(procs, "--endpoint", f"ipc://{procs.tmp}/nobody.ipc")
    status, headers, body = webtest.http_get(url)
    check(status == 200 and headers["Content-Type"].startswith("text/html"), "GET / is the page")
    check(b"<script>" in body and b"EventSource" in body, "the page script is embedded")
    check(b"http://" not in body and b"https://" not in body, "the page links nothing outside")
    check("default-src 'none'" in headers.get("Content-Security-Policy", ""),
          "a CSP keeps the page from loading anything from elsewhere")

    req = urllib.request.urlopen(url + "events", timeout=5)
    check(req.headers["Content-Type"].startswith("text/event-stream"), "/events is an SSE stream")
    check(req.readline() == b"retry: 1000\n", "the stream asks browsers to retry after 1 s")
    req.close()

    for path, code in (("nothing-here", 404), ("events/x", 404)):
        try:
            urllib.request.urlopen(url + path, timeout=5)
            check(False, f"/{path} -> {code}")
        except urllib.error.HTTPError as e:
            check(e.code == code, f"/{path} -> {code}")
    try:
        urllib.request.urlopen(urllib.request.Request(url, data=b"x", method="POST"), timeout=5)
        check(False, "POST is refused")
    except urllib.error.HTTPError as e:
        check(e.code == 405 and e.headers["Allow"] == "GET, HEAD", "POST -> 405 with Allow")

    # A browser still attached must not hold up a stop.
    held = urllib.request.urlopen(url + "events", timeout=5)
    start = time.monotonic()
    web.send_signal(signal.SIGTERM)
    rc = web.wait(10)
    took = time.monotonic() - start
    check(rc == 0 and took < 3 * webtest.SLOW, f"SIGTERM stops it cleanly in {took:.2f} s")
    held.close()


def raw_status(url, request):
    """The status code of a raw request (None when the server just closes)."""
    u = urllib.parse.urlsplit(url)
    with socket.create_connection((u.hostname, u.port), timeout=5) as s:
        s.sendall(request)
        reply = b""
        while b"\r\n" not in reply and (chunk := s.recv(4096)):
            reply += chunk
    line = reply.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) > 1 and line[0].startswith(b"HTTP/") else None


def http_errors(procs):
    """What a hostile or broken client sends gets the right refusal (issue 27
    keeps these), nothing outside the two paths is served, and junk is
    logged only a few times."""
    web, url = webtest.start_genre_web(procs, "--endpoint", f"ipc://{procs.tmp}/nobody.ipc")
    cases = ((b"GET / HTTP/1.1\r\nHost x\r\n\r\n", 400, "a header line without a colon"),
             (b"GET /" + b"a" * 40000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "a huge URL"),
             (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 40000 + b"\r\n\r\n", 431,
              "a huge header"),
             (b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 404, "a path up the tree"),
             (b"GET /%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 404, "an encoded one"))
    for request, code, what in cases:
        got = raw_status(url, request)
        check(got == code, f"{what} -> {code} ({got})")
    for _ in range(40):
        raw_status(url, b"GET / HTTP/1.1\r\nHost x\r\n\r\n")
    web.terminate()
    lines = [l for l in web.communicate(timeout=10)[1].splitlines() if "http:" in l]
    check(len(lines) <= 10 and "counted silently" in lines[-1],
          f"45 bad requests log {len(lines)} lines, the last saying the rest are counted")


def remote_allowed(procs):
    web = procs.start([GENRE_WEB, "--listen", "0.0.0.0:0", "--allow-remote", "--endpoint",
                       f"ipc://{procs.tmp}/nobody.ipc"])
    line = web.stdout.readline()
    check(line.startswith("genre-web: serving http://0.0.0.0:"),
          f"--allow-remote permits a non-loopback address: {line.strip()!r}")


def main():
    flags()
    with webtest.Processes() as procs:
        bad_endpoint(procs)
        port_in_use(procs)
        serving(procs)
        http_errors(procs)
        remote_allowed(procs)
    webtest.finish()


if __name__ == "__main__":
    main()
