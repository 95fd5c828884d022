#!/usr/bin/python3
"""Minimal genred subscriber (python3-zmq): prints the current genre of each
stream and every genre change.

    tools/examples/subscribe.py [ENDPOINT] [--count N] [--timeout S]

--count 0 (the default) means no limit, as in genre-sub and subscribe.js;
Ctrl-C stops it quietly with status 0.
"""
import argparse
import json

import zmq


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
    for topic in ("genre.probs", "genre.change"):
        sub.setsockopt_string(zmq.SUBSCRIBE, topic)
    if args.timeout:
        sub.setsockopt(zmq.RCVTIMEO, int(args.timeout * 1000))

    seen = 0
    while not args.count or seen < args.count:
        try:
            topic, body = sub.recv_multipart()
        except zmq.Again:
            raise SystemExit("subscribe.py: nothing received for %g s" % args.timeout)
        msg = json.loads(body)  # UTF-8 JSON, "v": 1
        if topic == b"genre.probs":
            what = "(silence)" if msg["silence"] else "%s %.0f%%" % (msg["top"], 100 * msg["p"])
            print("%s %-10s %s" % (topic.decode(), msg["stream"], what), flush=True)
        else:
            # null labels: silence, or (previous only) nothing announced yet
            before = msg["previous"] or ("(silence)" if msg["previous_silence"] else "(none)")
            print("%s %-10s %s -> %s" % (topic.decode(), msg["stream"], before,
                                         msg["new"] or "(silence)"), flush=True)
        seen += 1


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a subscriber is stopped: no traceback
