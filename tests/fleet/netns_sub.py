#!/usr/bin/python3
"""A ZeroMQ subscriber for test_hub_netns.py, run inside a network
namespace: subscribes to every topic and asks for a snapshot (protocol.h);
prints one JSON line per message ({"t", "topic", "body", "snapshot"}, the
topic without the snapshot/NONCE/ of a snapshot's messages), a first line
with topic "_started" once it has connected, and stops on SIGTERM. Only zmq
is imported, so it starts quickly on a loaded machine. It keeps duplicates:
the tests count them.

    netns_sub.py ENDPOINT SERVER_KEY|- PUBLIC|- SECRET|-"""
import json
import os
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
    snapshot = b"snapshot/%s/" % os.urandom(8).hex().encode()
    s.setsockopt(zmq.SUBSCRIBE, b"genre.")
    s.setsockopt(zmq.SUBSCRIBE, snapshot)
    print(json.dumps({"t": time.time(), "topic": "_started", "body": {}}), flush=True)
    while running:
        try:
            if not s.poll(50):
                continue
        except zmq.ZMQError:
            continue
        frames = s.recv_multipart()
        if len(frames) != 2:
            continue
        topic, body = frames
        print(json.dumps({"t": time.time(), "topic": topic.removeprefix(snapshot).decode(),
                          "body": json.loads(body), "snapshot": topic.startswith(snapshot)}),
              flush=True)
    s.close(linger=0)
    ctx.term()


if __name__ == "__main__":
    main(*sys.argv[1:5])
