#!/usr/bin/python3
"""A stand-in for genred's ZeroMQ publisher (fields as documented in
daemon/messages.h): XPUB, two frames (topic, JSON with
"v":1), genre.probs every hop per stream, genre.change when the top label
changes, genre.status every 5 s. Used where the real daemon is not built, and
for load shapes genred cannot produce on demand (huge or very fast messages).
Prints "ready" on stdout once bound."""
import argparse
import json
import math
import sys
import time

import zmq

GTZAN = ["blues", "classical", "country", "disco", "hiphop",
         "jazz", "metal", "pop", "reggae", "rock"]


GARBAGE = [
    [b"genre.probs", b"{not json"],
    [b"genre.probs", b'{"v":2,"stream":"main"}'],
    [b"genre.probs", b'[1,2,3]'],
    [b"genre.probs"],
    [b"genre.change", b'{"v":1}', b"extra frame"],
    [b"genre.probsXL", b'{"v":1,"stream":"main"}'],
    [b"genre.status", b'{"v":1,"dup":1,"dup":2}'],
]


def softmax(xs):
    m = max(xs)
    e = [math.exp(x - m) for x in xs]
    s = sum(e)
    return [v / s for v in e]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--streams", default="main")
    ap.add_argument("--labels", default=",".join(GTZAN))
    ap.add_argument("--hop", type=float, default=0.5)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--silence-stream", default="",
                    help="stream that reports silence")
    ap.add_argument("--pad", type=int, default=0,
                    help="extra bytes per message, for load tests")
    ap.add_argument("--garbage", action="store_true",
                    help="interleave malformed messages a relay must drop")
    args = ap.parse_args()

    labels = args.labels.split(",")
    streams = args.streams.split(",")
    ctx = zmq.Context()
    sock = ctx.socket(zmq.XPUB)
    sock.setsockopt(zmq.LINGER, 0)
    sock.bind(args.endpoint)
    print("ready", flush=True)

    start = time.time()
    position = {s: 0 for s in streams}
    top = {s: None for s in streams}
    next_status = start
    tick = 0
    while time.time() - start < args.duration:
        now = time.time()
        for si, s in enumerate(streams):
            silent = s == args.silence_stream
            # A slowly wandering favourite so the strip shows changes.
            fav = int(now / 4 + si * 3) % len(labels)
            logits = [0.3 * math.sin(now + i) for i in range(len(labels))]
            logits[fav] += 2.5
            probs = softmax(logits)
            raw = softmax([x * 1.3 for x in logits])
            best = max(range(len(labels)), key=lambda i: probs[i])
            position[s] += int(22050 * args.hop)
            msg = {"v": 1, "stream": s, "time_ms": int(now * 1000),
                   "position": position[s], "model": "fake-gtzan",
                   "rate": 22050.0, "labels": labels,
                   "top": None if silent else labels[best],
                   "p": 0.0 if silent else probs[best],
                   "probs": probs, "raw": raw, "silence": silent,
                   "level_dbfs": -80.0 if silent else -18.0 + 3 * math.sin(now)}
            if args.pad:
                msg["pad"] = "x" * args.pad
            sock.send_multipart([b"genre.probs", json.dumps(msg).encode()])
            if not silent and top[s] is not None and top[s] != labels[best]:
                change = {"v": 1, "stream": s, "time_ms": int(now * 1000),
                          "position": position[s], "model": "fake-gtzan",
                          "previous": top[s], "new": labels[best],
                          "p": probs[best]}
                sock.send_multipart([b"genre.change",
                                     json.dumps(change).encode()])
            top[s] = labels[best]
        if args.garbage and tick % 10 == 0:
            for frames in GARBAGE:
                sock.send_multipart(frames)
        if now >= next_status:
            status = {"v": 1, "time_ms": int(now * 1000), "version": "fake",
                      "uptime_s": now - start, "model": "fake-gtzan",
                      "cpu_percent": 2.0, "sent": tick, "dropped": 0,
                      "streams": [{"name": s, "input": "fake", "state": "running",
                                   "error": "", "note": "", "rate": 22050.0, "channels": 1,
                                   "position": position[s], "level_dbfs": -18.0,
                                   "overruns": 0, "nonfinite": 0} for s in streams]}
            sock.send_multipart([b"genre.status", json.dumps(status).encode()])
            next_status += 5
        tick += 1
        time.sleep(max(0.0, start + tick * args.hop - time.time()))
    # Linger so the last messages still reach subscribers, then say which was last.
    sock.close(linger=2000)
    ctx.term()
    print("last " + " ".join(f"{s}:{p}" for s, p in position.items()), flush=True)


if __name__ == "__main__":
    sys.exit(main())
