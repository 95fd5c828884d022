#!/usr/bin/python3
"""genre-hub joining three genred hosts, each in its own network namespace
(veth pairs to the hub's namespace), with CURVE on every link since none of
them is loopback. Runs as root; without `ip netns` it is skipped.

    test_hub_netns.py fleet   every stream arrives through the hub; a host
                              killed is reported lost while the others keep
                              flowing, and up again when restarted; a late
                              subscriber gets every stream at once, also a
                              host's that has gone; subscribers without an
                              allowed key get nothing
(the subscribers are netns_sub.py, run inside the hub's namespace)"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fleetlib import (BIN, SLOW, TMP, Proc, check, finish, genred_config, hub_config,  # noqa: E402
                      load_factor, music_and_silence, repeated, skip, wait_until)

HOSTS = ("h1", "h2", "h3")
PREFIX = "grf%d" % os.getpid()
NS_HUB = PREFIX + "-hub"


def ns(host):
    return "%s-%s" % (PREFIX, host)


def sh(*argv):
    return subprocess.run(argv, capture_output=True, text=True)


def make_network():
    """hub namespace --veth<i>-- host i namespace, 10.77.i.1 <-> 10.77.i.2."""
    if os.geteuid() != 0:
        skip("needs root for ip netns (CI runs as root)")
    r = sh("ip", "netns", "add", NS_HUB)
    if r.returncode:
        skip("ip netns add failed: %s" % r.stderr.strip())
    for i, host in enumerate(HOSTS, 1):
        steps = [("ip", "netns", "add", ns(host)),
                 ("ip", "-n", NS_HUB, "link", "add", "veth%d" % i, "type", "veth", "peer", "name",
                  "eth0", "netns", ns(host)),
                 ("ip", "-n", NS_HUB, "addr", "add", "10.77.%d.1/24" % i, "dev", "veth%d" % i),
                 ("ip", "-n", NS_HUB, "link", "set", "veth%d" % i, "up"),
                 ("ip", "-n", ns(host), "addr", "add", "10.77.%d.2/24" % i, "dev", "eth0"),
                 ("ip", "-n", ns(host), "link", "set", "eth0", "up"),
                 ("ip", "-n", ns(host), "link", "set", "lo", "up")]
        for step in steps:
            r = sh(*step)
            if r.returncode:
                remove_network()
                skip("%s failed: %s" % (" ".join(step), r.stderr.strip()))
    sh("ip", "-n", NS_HUB, "link", "set", "lo", "up")


def remove_network():
    for name in [NS_HUB] + [ns(h) for h in HOSTS]:
        sh("ip", "netns", "del", name)


def gen_keys(name):
    d = os.path.join(TMP, name + "-keys")
    r = sh(os.path.join(BIN, "genred"), "--gen-keys", d)
    check(r.returncode == 0, "genred --gen-keys %s" % name)
    with open(os.path.join(d, "curve.pub")) as f:
        public = [l.strip() for l in f if l.strip() and not l.startswith("#")][0]
    return d, public


def write_allow(name, keys):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write("\n".join(keys) + "\n")
    os.chmod(path, 0o644)
    return path


def start_host(i, host, clip, hub_public):
    keys, _ = HOST_KEYS[host]
    conf = genred_config(
        os.path.join(TMP, host + ".conf"),
        [("%s/s1" % host, "file:" + clip), ("%s/s2" % host, "file:" + clip)],
        "tcp://10.77.%d.2:5556" % i,
        'realtime = true;\nloop = 1000;\nstatus_interval = 0.5;\n'
        'curve_secret_key = "%s/curve.key";\ncurve_allow = "%s";\n'
        % (keys, write_allow(host + ".allow", [hub_public])))
    return Proc(host, [os.path.join(BIN, "genred"), "--config", conf], netns=ns(host))


def subscriber(name, server_key=None, keypair=None):
    """A subscriber in the hub's namespace; returns once it has connected."""
    out = os.path.join(TMP, name + ".out")
    argv = ["/usr/bin/python3", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                             "netns_sub.py"), "tcp://10.77.1.1:5570",
            server_key or "-", keypair[0] if keypair else "-", keypair[1] if keypair else "-"]
    p = Proc(name, argv, netns=NS_HUB, stdout=open(out, "w"))
    p.out = out
    check(wait_until(lambda: os.path.getsize(out) > 0, 30), "subscriber %s starts" % name)
    return p


def so_far(p):
    """p's messages up to now (a line still being written is not one yet)."""
    with open(p.out) as f:
        return [json.loads(line) for line in f.read().split("\n")[1:-1]]


def received(p):
    """What p got, after stopping it."""
    p.stop()
    return so_far(p)


def probs_streams(msgs, t0=0, t1=1e18):
    return {m["body"]["stream"] for m in msgs
            if m["topic"] == "genre.probs" and t0 <= m["t"] < t1}


SEQUENCED = ("genre.probs", "genre.change", "genre.host")


def sequence_ids(msgs):
    """What names a message of a sequenced topic: topic, key, run, seq."""
    return [(m["topic"], m["body"].get("stream", m["body"].get("host")),
             m["body"]["started_ms"], m["body"]["seq"])
            for m in msgs if m["topic"] in SEQUENCED]


def host_events(msgs, host, state, t0=0):
    return [m for m in msgs if m["topic"] == "genre.host" and m["body"]["host"] == host
            and m["body"]["state"] == state and m["t"] >= t0]


HOST_KEYS = {}


def test_fleet():
    import zmq
    make_network()
    try:
        run_fleet(zmq)
    finally:
        from fleetlib import _procs
        for p in _procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        remove_network()


def run_fleet(zmq):
    clip = os.path.join(TMP, "clip.wav")
    music_and_silence(clip, 1.0)
    for h in HOSTS + ("hub",):
        HOST_KEYS[h] = gen_keys(h)
    hub_keys, hub_public = HOST_KEYS["hub"]
    sub_public, sub_secret = (k.decode() for k in zmq.curve_keypair())
    stranger = tuple(k.decode() for k in zmq.curve_keypair())
    conf = hub_config(
        os.path.join(TMP, "hub.conf"),
        [(h, "tcp://10.77.%d.2:5556" % i, os.path.join(HOST_KEYS[h][0], "curve.pub"))
         for i, h in enumerate(HOSTS, 1)],
        "tcp://10.77.1.1:5570",
        'status_interval = 0.5;\ncurve_secret_key = "%s/curve.key";\ncurve_allow = "%s";\n'
        % (hub_keys, write_allow("hub.allow", [sub_public])))
    hosts = {h: start_host(i, h, clip, hub_public) for i, h in enumerate(HOSTS, 1)}
    hub = Proc("hub", [os.path.join(BIN, "genre-hub"), "--config", conf], netns=NS_HUB)
    good = subscriber("good", hub_public, (sub_public, sub_secret))
    wrong = subscriber("wrong-key", hub_public, stranger)
    plain = subscriber("plain")
    every = {"%s/s%d" % (h, k) for h in HOSTS for k in (1, 2)}
    check(wait_until(lambda: probs_streams(so_far(good)) == every, 20),
          "every stream of every host arrives through the hub (%s)"
          % sorted(probs_streams(so_far(good))))
    time.sleep(1)
    t_kill = time.time()
    hosts["h2"].stop(signal.SIGKILL)
    # Down until the hub has said so and the others have flowed for a while
    # since (the events, however slow a loaded machine makes them).
    others = {"h1/s1", "h1/s2", "h3/s1", "h3/s2"}
    wait_until(lambda: host_events(so_far(good), "h2", "lost", t_kill) and
               others <= probs_streams(so_far(good), t_kill + 2), 30)
    t_back = time.time()
    hosts["h2"] = start_host(2, "h2", clip, hub_public)
    # Back, and flowing steadily (6 hops a stream): the late subscriber
    # below joins a settled fleet. (Joining within a second of h2's return,
    # it once got one of h2's messages twice, in its snapshot and live.)
    wait_until(lambda: host_events(so_far(good), "h2", "up", t_back) and all(
        len([m for m in so_far(good) if m["topic"] == "genre.probs" and m["t"] >= t_back and
             m["body"]["stream"] == s]) >= 6 for s in ("h2/s1", "h2/s2")), 30)
    hosts["h3"].stop()
    late = subscriber("late", hub_public, (sub_public, sub_secret))
    wait_until(lambda: probs_streams(so_far(late)) == every and set(HOSTS) <= {
        m["body"]["host"] for m in so_far(late) if m["topic"] == "genre.host"}, 10)
    time.sleep(1.0)  # for a message twice, which would come with the rest
    late_msgs = received(late)
    msgs = received(good)
    lost = host_events(msgs, "h2", "lost", t_kill)
    # Detection takes a few missed statuses (0.5 s apart): a CPU hog
    # delays them, so the limit grows with the load.
    limit = 3 * SLOW * load_factor()
    check(lost and lost[0]["t"] - t_kill < limit,
          "a killed host is reported lost on genre.host (after %.1f s, limit %.1f s)"
          % (lost[0]["t"] - t_kill if lost else -1, limit))
    during = probs_streams(msgs, t_kill + 2, t_back)
    check({"h1/s1", "h1/s2", "h3/s1", "h3/s2"} <= during and not during & {"h2/s1", "h2/s2"},
          "the other hosts keep flowing while it is down (%s)" % sorted(during))
    check(host_events(msgs, "h2", "up", t_back), "the restarted host is reported up again")
    check({"h2/s1", "h2/s2"} <= probs_streams(msgs, t_back),
          "its streams flow through the hub again")
    check(probs_streams(late_msgs) == every,
          "a late subscriber gets every stream at once, the stopped host's too (%s)"
          % sorted(probs_streams(late_msgs)))
    check({m["body"]["host"] for m in late_msgs if m["topic"] == "genre.host"} == set(HOSTS),
          "and every host's state")
    twice = repeated(list(zip(sequence_ids(late_msgs), [m["snapshot"] for m in late_msgs
                                                        if m["topic"] in SEQUENCED],
                              [m["t"] for m in late_msgs if m["topic"] in SEQUENCED])))
    check(not twice, "and each message once (or live and then in its snapshot): %r" % twice)
    ids = sequence_ids(msgs)
    check(len(ids) == len(set(ids)), "the first subscriber got each message once, snapshots "
          "included, whoever joined (%d messages)" % len(ids))
    check(not received(wrong), "a subscriber whose key is not allowed gets nothing")
    check(not received(plain), "a subscriber without CURVE gets nothing")
    hub.stop()
    check(hub.proc.returncode == 0, "genre-hub exits 0 on SIGTERM")
    for h in hosts.values():
        h.stop()


if __name__ == "__main__":
    {"fleet": test_fleet}[sys.argv[1]]()
    finish()
