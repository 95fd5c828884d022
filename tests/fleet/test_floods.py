#!/usr/bin/python3
"""Hostile subscribers on loopback TCP (issue 27, blocker 1): a peer that may
connect must not be able to take a host down through its subscriptions.

    test_floods.py hub      50 distinct 2 MB subscriptions to genre-hub (a
                            genred behind it): both stay under 64 MiB, keep
                            serving an honest subscriber, and stop promptly
                            on SIGTERM
    test_floods.py genred   20 distinct 1 MB subscriptions straight to genred:
                            the same
    test_floods.py topic_cap  a subscription as long as a topic can be is
                            served; one byte longer is refused

Memory is the kernel's own figure (/proc/PID/status: VmHWM, the peak RSS).
Under a sanitizer, whose runtime takes tens of MiB before main, the growth
over the idle peak is judged against the same 64 MiB instead."""
import os
import signal
import socket
import struct
import subprocess
import sys
import time

import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fleetlib  # noqa: E402
from fleetlib import (BIN, FLAVOUR, SLOW, TMP, Proc, free_ports, genred_config,  # noqa: E402
                      hub_config, music_and_silence)
from scenario import check, main  # noqa: E402

LIMIT_MIB = 64
# The longest topic (daemon/protocol_limits.h: PROTOCOL_TOPIC_MAX).
TOPIC_MAX = 79
STOP_DEADLINE_S = 10  # generous: the target is a second or two


def vm(pid, field):
    """A /proc/PID/status figure in MiB (VmRSS, VmHWM); NaN, which fails
    every comparison, once the process is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


class Honest:
    """A subscriber to genre.status (and any extra topics)."""

    def __init__(self, ctx, ep, extra=()):
        self.sock = ctx.socket(zmq.SUB)
        self.sock.connect(ep)
        # The extra topics first: a connection dropped for one of them must
        # not have had its genre.status subscription applied before.
        for t in tuple(extra) + ("genre.status",):
            self.sock.setsockopt(zmq.SUBSCRIBE, t.encode() if isinstance(t, str) else t)

    def received(self, timeout):
        """Whether a message came within timeout s."""
        if self.sock.poll(int(timeout * 1000 * SLOW)):
            self.sock.recv_multipart()
            return True
        return False


def zmtp_subscriber(port):
    """A TCP connection that has done ZMTP 3.0's handshake as a SUB with no
    security, written out by hand: a hostile peer need not use libzmq (and
    libzmq's own SUB crashes on its way out with megabyte topics)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10 * SLOW)
    sock.sendall(b"\xff" + b"\0" * 8 + b"\x7f\x03\x00" + b"NULL".ljust(20, b"\0") + b"\0" * 32)
    body = b"\x05READY\x0bSocket-Type" + struct.pack(">I", 3) + b"SUB"
    sock.sendall(b"\x04" + bytes([len(body)]) + body)
    greeting = b""
    while len(greeting) < 64:
        more = sock.recv(64 - len(greeting))
        if not more:
            raise OSError("closed during the greeting")
        greeting += more
    return sock


def flood(port, n, size):
    """n distinct subscriptions of size bytes, one frame each, as ZMTP 3.0
    sends them ("\\x01" + topic). A peer dropped for one connects again and
    goes on with the next, as an attacker would. Returns how many frames
    went out whole, and the connection still open (or None)."""
    whole, sock = 0, None
    for i in range(n):
        frame = b"\x01" + (b"%04d" % i) * ((size - 1) // 4)
        try:
            sock = sock or zmtp_subscriber(port)
            sock.sendall(b"\x02" + struct.pack(">Q", len(frame)) + frame)
            whole += 1
        except OSError:
            if sock:
                sock.close()
            sock = None
    return whole, sock


def judge(procs, idle, what):
    """procs: {name: Proc}; idle: {name: VmHWM before the flood}."""
    for name, p in procs.items():
        hwm = vm(p.proc.pid, "VmHWM")
        rss = vm(p.proc.pid, "VmRSS")
        grown = hwm - idle[name]
        print("%s: %s VmRSS %.1f MiB, VmHWM %.1f MiB (idle %.1f MiB)"
              % (what, name, rss, hwm, idle[name]), file=sys.stderr, flush=True)
        judged = hwm if FLAVOUR == "release" else grown
        check(judged < LIMIT_MIB, "%s: %s peak %s %.1f MiB < %d MiB"
              % (what, name, "RSS" if FLAVOUR == "release" else "RSS growth", judged, LIMIT_MIB))


def stop_promptly(p):
    t0 = time.monotonic()
    p.send(signal.SIGTERM)
    try:
        rc = p.proc.wait(timeout=STOP_DEADLINE_S * SLOW)
    except subprocess.TimeoutExpired:
        rc = None
    took = time.monotonic() - t0
    print("%s exited %s %.2f s after SIGTERM" % (p.name, rc, took), file=sys.stderr, flush=True)
    check(rc == 0, "%s exits 0 within %g s of SIGTERM (%.2f s)"
          % (p.name, STOP_DEADLINE_S * SLOW, took))


def start_genred(port):
    clip = os.path.join(TMP, "clip.wav")
    music_and_silence(clip, 1.0)
    ep = "tcp://127.0.0.1:%d" % port
    conf = genred_config(os.path.join(TMP, "genred.conf"), [("h1/s1", "file:" + clip)], ep,
                         "realtime = true;\nloop = 1000000;\nstatus_interval = 0.2;\n")
    return ep, Proc("genred", [os.path.join(BIN, "genred"), "--config", conf])


def run_flood(ctx, target_ep, procs, n, size):
    honest = Honest(ctx, target_ep)
    check(honest.received(20), "an honest subscriber gets genre.status before the flood")
    time.sleep(0.5)  # the idle peak, after start-up's allocations
    idle = {name: vm(p.proc.pid, "VmHWM") for name, p in procs.items()}
    whole, hostile = flood(int(target_ep.rsplit(":", 1)[1]), n, size)
    print("%d of %d subscriptions of %d bytes went out whole" % (whole, n, size),
          file=sys.stderr, flush=True)
    time.sleep(1 * SLOW)  # for what was sent to be read
    for name, p in procs.items():
        check(p.alive(), "%s survives the flood" % name)
    judge(procs, idle, "during the flood")
    if hostile:
        hostile.close()
    time.sleep(1 * SLOW)
    judge(procs, idle, "after the peer left")
    # The honest subscriber is still served: drain what queued, then a new
    # message must come.
    while honest.sock.poll(0):
        honest.sock.recv_multipart()
    check(honest.received(10), "the honest subscriber is still served after the flood")
    honest.sock.close(linger=0)


def start_fleet():
    """A genred and a genre-hub in front of it, both on loopback TCP: the
    endpoints and the processes."""
    ports = free_ports(2)
    host_ep, genred = start_genred(ports[0])
    hub_ep = "tcp://127.0.0.1:%d" % ports[1]
    conf = hub_config(os.path.join(TMP, "hub.conf"), [("h1", host_ep, None)], hub_ep,
                      "status_interval = 0.2;\n")
    return host_ep, genred, hub_ep, Proc("hub", [os.path.join(BIN, "genre-hub"), "--config", conf])


def test_hub():
    _, genred, hub_ep, hub = start_fleet()
    ctx = zmq.Context()
    run_flood(ctx, hub_ep, {"genre-hub": hub, "genred": genred}, 50, 2 << 20)
    stop_promptly(hub)
    stop_promptly(genred)
    ctx.term()


def test_genred():
    host_ep, genred = start_genred(free_ports(1)[0])
    ctx = zmq.Context()
    run_flood(ctx, host_ep, {"genred": genred}, 20, 1 << 20)
    stop_promptly(genred)
    ctx.term()


def test_topic_cap():
    """Through the hub too: what it forwards to genred must pass genred's
    cap, and what genred forwards back must reach the subscriber."""
    host_ep, genred, hub_ep, hub = start_fleet()
    ctx = zmq.Context()
    for ep in (host_ep, hub_ep):
        longest = Honest(ctx, ep, [b"genre.status." + b"x" * (TOPIC_MAX - 13)])
        too_long = Honest(ctx, ep, [b"genre.status." + b"x" * (TOPIC_MAX - 12)])
        check(longest.received(20), "%s: a subscriber with a %d-byte topic is served"
              % (ep, TOPIC_MAX))
        check(not too_long.received(3),
              "%s: one with a %d-byte topic is refused (the connection is dropped)"
              % (ep, TOPIC_MAX + 1))
        longest.sock.close(linger=0)
        too_long.sock.close(linger=0)
    stop_promptly(hub)
    stop_promptly(genred)
    ctx.term()


def kill_leftovers(scenario):
    try:
        scenario()
    finally:
        fleetlib.cleanup()


if __name__ == "__main__":
    main(globals(), cleanup=[TMP], call=kill_leftovers)
