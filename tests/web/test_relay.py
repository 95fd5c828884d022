#!/usr/bin/python3
"""genre-web relays genred's JSON byte for byte (no re-encoded floats), logs
when genred goes quiet and when it is back, and gives a page that connects
while genred is down the history it kept (issue 17 item 15). The publisher
is a real ZeroMQ XPUB socket in this script, so the bytes are known."""
import socket
import threading
import time
import urllib.parse

import zmq

import webtest
from webtest import check

LABELS = '["blues","jazz","rock"]'


def probs_body(position, top="jazz", extra=""):
    # Floats as a C printer writes them: genre-web must not turn 0.9812354
    # into 0.98123539999999998.
    return ('{"v":1,"stream":"main","time_ms":1700000000000,"position":%d,"model":"m",'
            '"rate":22050.0,"labels":%s,"top":"%s","p":0.9812354,'
            '"probs":[0.0087646,0.9812354,0.01],"raw":[0.1,0.8,0.1],"silence":false,'
            '"level_dbfs":-18.25%s}' % (position, LABELS, top, extra))


class Reader(threading.Thread):
    """Keeps the raw data lines of /events, with their event names."""

    def __init__(self, url):
        super().__init__(daemon=True)
        u = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=10)
        self.sock.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        self.events = []  # (name, data line)
        # genre-web's first frame ("retry:") is sent once it has made this
        # client, which gets every message from then on.
        self.connected = threading.Event()

    def run(self):
        buf = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while b"\n\n" in buf:
                block, buf = buf.split(b"\n\n", 1)
                lines = block.decode().split("\n")
                if any(l.startswith("retry: ") for l in lines):
                    self.connected.set()
                name = [l[7:] for l in lines if l.startswith("event: ")]
                data = [l[6:] for l in lines if l.startswith("data: ")]
                if name and data:
                    self.events.append((name[0], data[0]))

    def data(self, name):
        return [d for n, d in self.events if n == name]


class Publisher:
    def __init__(self, endpoint):
        self.ctx = zmq.Context()
        self.endpoint = endpoint
        self.sock = None

    def start(self):
        self.sock = self.ctx.socket(zmq.XPUB)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.bind(self.endpoint)

    def wait_subscriber(self, timeout=5):
        """Until genre-web's genre.probs subscription arrives (it sends one
        per topic; a message sent before its own arrives is dropped)."""
        self.sock.setsockopt(zmq.RCVTIMEO, int(timeout * 1000 * webtest.SLOW))
        try:
            while self.sock.recv() != b"\x01genre.probs":
                pass
        except zmq.Again:
            return False
        return True

    def send(self, topic, body):
        self.sock.send_multipart([topic.encode(), body.encode()])

    def stop(self):
        self.sock.close()
        self.sock = None


def stderr_lines(web, store, stop):
    for line in web.stderr:
        store.append(line.rstrip("\n"))
        if stop.is_set():
            return


def main():
    with webtest.Processes() as procs:
        endpoint = f"ipc://{procs.tmp}/genred.ipc"
        pub = Publisher(endpoint)
        pub.start()
        web, url = webtest.start_genre_web(procs, "--endpoint", endpoint)
        log, stop = [], threading.Event()
        threading.Thread(target=stderr_lines, args=(web, log, stop), daemon=True).start()
        reader = Reader(url)
        reader.start()
        check(pub.wait_subscriber(), "genre-web subscribes")
        check(reader.connected.wait(5 * webtest.SLOW), "the page's event stream is open")
        bodies = [probs_body(11025 * i) for i in range(1, 5)]
        # Legal JSON with a raw line break: it must still be one SSE data line.
        broken = probs_body(11025 * 5).replace(',"model"', ',\n "model"')
        for b in bodies + [broken]:
            pub.send("genre.probs", b)
            time.sleep(0.2)
        webtest.wait_for(lambda: len(reader.data("genre.probs")) >= 5, 5)
        got = reader.data("genre.probs")
        check(got[:4] == bodies, "genred's JSON is relayed byte for byte: %r" % got[:1])
        check(len(got) == 5 and "\n" not in got[4] and '"position":55125' in got[4],
              "a body with a raw newline is relayed as one data line: %r" % got[4:])
        check(webtest.wait_for(lambda: any("receiving from genred" in l for l in log), 3),
              "the first message is logged: %r" % log)

        pub.stop()  # genred goes away
        gone = webtest.wait_for(
            lambda: [l for l in log if "nothing from genred for 6 s" in l], 10)
        check(gone and "No signal" in gone[0], "genred's absence is logged once: %r" % log)
        # A page opened now, with genred down, still gets the history.
        late = Reader(url)
        late.start()
        webtest.wait_for(lambda: late.data("genre-web.history"), 3)
        history = late.data("genre-web.history")
        check(len(history) == 1 and '"stream":"main"' in history[0] and
              '"labels":%s' % LABELS in history[0] and ",1]]" in history[0],
              "a page opened while genred is down gets the history: %r" % history)

        pub.start()  # genred is back
        check(pub.wait_subscriber(10), "genre-web resubscribes")
        pub.send("genre.probs", probs_body(99999))
        check(webtest.wait_for(lambda: any("genred is back" in l for l in log), 5),
              "genred's return is logged: %r" % log)
        check(len([l for l in log if "nothing from genred" in l]) == 1,
              "one absence, one line: %r" % log)
        stop.set()
        pub.stop()
    webtest.finish()


if __name__ == "__main__":
    main()
