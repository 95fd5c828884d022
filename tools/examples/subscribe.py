#!/usr/bin/python3
"""Minimal genred subscriber (python3-zmq): prints the current genre of each
stream and every genre change.

    tools/examples/subscribe.py [ENDPOINT] [--count N] [--timeout S]

--count 0 (the default) means no limit, as in genre-sub and subscribe.js;
Ctrl-C stops it quietly with status 0.

It follows the two rules every genred client should (README, "ZeroMQ
protocol"): subscribe to a snapshot/NONCE/ topic of its own to get the
current state at once, and drop a message it has already seen, by its
stream, topic, started_ms and seq.
"""
import argparse
import json
import os

import zmq

TOPICS = ("genre.probs", "genre.change")


def is_new(seen, topic, msg):
    """The duplicate rule: per (topic, stream), a message with the run
    (started_ms) last taken and a seq not above that one's was seen."""
    if "seq" not in msg:
        return True  # from a genred before sequence numbers
    key, mark = (topic, msg["stream"]), (msg["started_ms"], msg["seq"])
    last = seen.get(key)
    if last and last[0] == mark[0] and mark[1] <= last[1]:
        return False
    seen[key] = mark
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("endpoint", nargs="?", default="tcp://127.0.0.1:5556")
    ap.add_argument("--count", type=int, default=0, help="stop after N messages (0: no limit)")
    ap.add_argument("--timeout", type=float, default=0, help="give up after S quiet seconds")
    args = ap.parse_args()
    if args.count < 0:
        ap.error("--count must be 0 (no limit) or more")

    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.connect(args.endpoint)
    snapshot = "snapshot/%s/" % os.urandom(8).hex()  # a topic only we subscribe to
    for topic in TOPICS:
        sub.setsockopt_string(zmq.SUBSCRIBE, topic)
        sub.setsockopt_string(zmq.SUBSCRIBE, snapshot + topic)
    if args.timeout:
        sub.setsockopt(zmq.RCVTIMEO, int(args.timeout * 1000))

    seen, printed = {}, 0
    while not args.count or printed < args.count:
        try:
            frames = sub.recv_multipart()
        except zmq.Again:
            raise SystemExit("subscribe.py: nothing received for %g s" % args.timeout)
        if len(frames) != 2:
            continue  # not the protocol
        topic = frames[0].decode(errors="replace").removeprefix(snapshot)
        msg = json.loads(frames[1])  # UTF-8 JSON, "v": 1
        if topic not in TOPICS or not is_new(seen, topic, msg):
            continue
        if topic == "genre.probs":
            what = "(silence)" if msg["silence"] else "%s %.0f%%" % (msg["top"], 100 * msg["p"])
            print("%s %-10s %s" % (topic, msg["stream"], what), flush=True)
        else:
            # null labels: silence, or (previous only) nothing announced yet
            before = msg["previous"] or ("(silence)" if msg["previous_silence"] else "(none)")
            print("%s %-10s %s -> %s" % (topic, msg["stream"], before,
                                         msg["new"] or "(silence)"), flush=True)
        printed += 1


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a subscriber is stopped: no traceback
