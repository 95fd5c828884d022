#!/usr/bin/python3
"""A ZeroMQ subscriber for test_hub_netns.py, run inside a network
namespace: prints one JSON line per message ({"t", "topic", "body"}), a
first line with topic "_started" once it has connected, and stops on
SIGTERM. Only zmq is imported, so it starts quickly on a loaded machine.

    netns_sub.py ENDPOINT SERVER_KEY|- PUBLIC|- SECRET|-"""
import json
import signal
import sys
import time

import zmq

running = True


def stop(signum, frame):
    global running
    running = False


def main(endpoint, server_key, public, secret):
    signal.signal(signal.SIGTERM, stop)
    ctx = zmq.Context()
    s = ctx.socket(zmq.SUB)
    if server_key != "-":
        s.curve_serverkey = server_key.encode()
        s.curve_publickey = public.encode()
        s.curve_secretkey = secret.encode()
    s.connect(endpoint)
    s.setsockopt(zmq.SUBSCRIBE, b"")
    print(json.dumps({"t": time.time(), "topic": "_started", "body": {}}), flush=True)
    while running:
        try:
            if not s.poll(50):
                continue
        except zmq.ZMQError:
            continue
        topic, body = s.recv_multipart()
        print(json.dumps({"t": time.time(), "topic": topic.decode(), "body": json.loads(body)}),
              flush=True)
    s.close(linger=0)
    ctx.term()


if __name__ == "__main__":
    main(*sys.argv[1:5])
