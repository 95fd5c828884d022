#!/usr/bin/python3
"""genre-hub's JetStream bridge against real nats-server processes on
loopback ports, fed by a real genred playing a clip at real-time pace.

    test_jetstream.py cluster   three nodes, one killed and restarted while
                                the bridge writes: every genre.change and
                                genre.probs genred published is stored
                                exactly once; a consumer that was down
                                replays what it missed
    test_jetstream.py outage    NATS down for 10 s: a hub whose buffer holds
                                the outage loses nothing, one whose buffer
                                is too small loses exactly what it counts
    test_jetstream.py oversized events that can never be stored (over the
                                server's max_payload, or over the stream's
                                max_msg_size) are dropped, counted and
                                logged once per cause; the rest go on
    test_jetstream.py durable_filter  genre-replay under a durable name with
                                another --subject: a clear error, --reset
    test_jetstream.py track     genre.track (the song log) is stored beside
                                genre.change, also in a stream an older hub
                                made for genre.change and genre.probs only"""
import collections
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fleetlib import (BIN, TMP, Collector, NatsCluster, Proc, check, finish, free_ports,
                      genred_config, hub_config, music_and_silence, replay, run, skip,
                      wait_until)

if not os.path.exists(os.path.join(BIN, "genre-replay")):
    skip("genre-replay was not built (libnats-dev missing: GENRED_WITH_NATS is OFF)")

CLIP = os.path.join(TMP, "clip.wav")
music_and_silence(CLIP)


def start_genred(name, n_streams):
    ep = "ipc://%s/%s" % (TMP, name)
    streams = [("%s/s%d" % (name, i), "file:" + CLIP) for i in range(n_streams)]
    conf = genred_config(os.path.join(TMP, name + ".conf"), streams, ep,
                         "realtime = true;\nloop = 1000;\nstatus_interval = 0.5;\n"
                         "change_hold = 0.5;\n")
    return ep, Proc(name, [os.path.join(BIN, "genred"), "--config", conf])


def start_hub(name, host_ep, url, stream, buffer, replicas):
    ep = "ipc://%s/%s" % (TMP, name)
    js = ('jetstream = { url = "%s"; stream = "%s"; replicas = %d; probs_interval = 0.0; '
          "buffer = %d; };\nstatus_interval = 0.5;\n" % (url, stream, replicas, buffer))
    conf = hub_config(os.path.join(TMP, name + ".conf"), [("h1", host_ep, None)], ep, js)
    return ep, Proc(name, [os.path.join(BIN, "genre-hub"), "--config", conf])


def key(m, topic):
    return (topic, m["stream"], m["position"], m["time_ms"])


def truth(direct):
    return [key(m, t) for t in ("genre.change", "genre.probs") for m in direct.of(t)]


def stored(events):
    return [key(m, m["subject"].rsplit(".", 2)[0]) for m in events]


def exactly_once(got, want, what):
    counts = collections.Counter(got)
    dups = sum(c - 1 for c in counts.values())
    check(dups == 0, "%s: no event stored twice (%d duplicates)" % (what, dups))
    check(set(got) == set(want),
          "%s: the stored events are the published ones (%d stored, %d published, %d missing, "
          "%d extra)" % (what, len(set(got)), len(set(want)), len(set(want) - set(got)),
                         len(set(got) - set(want))))


def stored_all(col, n):
    """Whether the bridge has stored or counted lost n events, all it got."""
    js = last_hub_status(col)
    return js and js["buffered"] == 0 and js["published"] + js["lost"] >= n


def last_hub_status(col):
    status = col.of("genre.hub")
    return status[-1]["jetstream"] if status else None


def test_cluster():
    cluster = NatsCluster(3)
    url = cluster.url()
    host_ep, genred = start_genred("h1", 6)
    direct = Collector(host_ep, ("genre.change", "genre.probs"))
    # The hub is given node 0 only, so killing it breaks the bridge's
    # connection; it learns the others from the cluster and fails over.
    node0 = url.split(",")[0]
    hub_ep, hub = start_hub("hub", host_ep, node0, "GENRE", 100000, 3)
    watch = Collector(hub_ep, ("genre.hub",))
    check(wait_until(lambda: len(direct.of("genre.probs")) >= 6, 15),
          "genred publishes through the hub")
    first = replay(url, "GENRE", "late", most=30)  # a consumer that then goes down
    check(len(first) == 30, "a consumer reads the first 30 events (%d)" % len(first))
    cluster.stop(0)  # the node listed first, most likely the bridge's
    time.sleep(3)
    cluster.start(0)
    time.sleep(6)
    genred.stop()
    want = truth(direct)
    check(wait_until(lambda: stored_all(watch, len(want)), 20),
          "the bridge stores all %d events" % len(want))
    js = last_hub_status(watch)
    check(hub.stop() == 0, "genre-hub exits 0 (no sanitizer report)")
    changes = len([k for k in want if k[0] == "genre.change"])
    check(changes >= 6, "genred published genre.change events (%d)" % changes)
    exactly_once(stored(replay(url, "GENRE", "all")), want, "cluster, node 0 killed")
    check(js and js["lost"] == 0, "the bridge lost nothing (%s)" % js)
    rest = replay(url, "GENRE", "late")
    exactly_once(stored(first) + stored(rest), want, "a consumer down half the time")
    direct.close()
    watch.close()


def test_outage():
    # One server per hub: two streams of one server cannot take the same
    # subjects. Both go down and come back together.
    servers = [NatsCluster(1), NatsCluster(1)]
    url_big, url_small = (s.url() for s in servers)
    host_ep, genred = start_genred("h1", 8)
    direct = Collector(host_ep, ("genre.change", "genre.probs"))
    big_ep, big = start_hub("big", host_ep, url_big, "GENRE_BIG", 100000, 1)
    small_ep, small = start_hub("small", host_ep, url_small, "GENRE_SMALL", 40, 1)
    watch_big, watch_small = Collector(big_ep, ("genre.hub",)), Collector(small_ep, ("genre.hub",))
    stores = lambda w: (last_hub_status(w) or {}).get("published", 0) > 0
    check(wait_until(lambda: stores(watch_big) and stores(watch_small), 15),
          "both bridges store events")
    for s in servers:
        s.stop(0)
    time.sleep(10)
    for s in servers:
        s.start(0)
    drained = lambda w: (lambda s: s and s["connected"] and s["buffered"] == 0)(last_hub_status(w))
    check(wait_until(lambda: drained(watch_big) and drained(watch_small), 20),
          "after the outage both buffers drain")
    genred.stop()
    want = truth(direct)
    check(wait_until(lambda: stored_all(watch_big, len(want)) and
                     stored_all(watch_small, len(want)), 20),
          "the last events are stored or counted lost")
    js_big, js_small = last_hub_status(watch_big), last_hub_status(watch_small)
    check(big.stop() == 0 and small.stop() == 0, "both hubs exit 0 (no sanitizer report)")
    exactly_once(stored(replay(url_big, "GENRE_BIG", "c")), want, "10 s outage, buffer 100000")
    check(js_big["lost"] == 0, "the big buffer lost nothing (%s)" % js_big)
    got = stored(replay(url_small, "GENRE_SMALL", "c"))
    check(len(got) == len(set(got)), "small buffer: no event stored twice")
    check(set(got) <= set(want), "small buffer: only published events stored")
    check(js_small["lost"] > 0, "the small buffer overflowed (lost %d)" % js_small["lost"])
    check(len(set(want)) - len(set(got)) == js_small["lost"],
          "small buffer: missing events (%d) = the count it reports lost (%d)"
          % (len(set(want)) - len(set(got)), js_small["lost"]))
    direct.close()
    watch_big.close()
    watch_small.close()


def make_stream(port, name, max_msg_size):
    """Creates a JetStream stream over the plain NATS protocol (no Python
    NATS client in Debian) with the subjects of the topics genre-hub
    bridged before genre.track: the bridge uses it as it is, adding only
    the subjects it lacks."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.recv(4096)  # INFO
    config = json.dumps({"name": name, "subjects": ["genre.change.>", "genre.probs.>"],
                         "storage": "file", "num_replicas": 1, "max_msg_size": max_msg_size})
    sock.sendall(b'CONNECT {"verbose":false,"headers":true}\r\nSUB _INBOX.make 1\r\n'
                 b"PUB $JS.API.STREAM.CREATE.%s _INBOX.make %d\r\n%s\r\n"
                 % (name.encode(), len(config), config.encode()))
    answer = b""
    while b"stream_create_response" not in answer:
        more = sock.recv(65536)
        if not more:
            break
        answer += more
    sock.close()
    return b"stream_create_response" in answer and b'"error"' not in answer


def fake_host(port):
    """An XPUB standing in for a genred, so the test chooses every event;
    returns once the hub has subscribed."""
    import zmq
    ctx = zmq.Context()
    pub = ctx.socket(zmq.XPUB)
    pub.bind("tcp://127.0.0.1:%d" % port)
    check(pub.poll(20000) and pub.recv().startswith(b"\x01"), "the hub subscribes to the host")
    return ctx, pub


def test_oversized():
    # 4 kB messages at most on this server; its stream takes 2 kB at most.
    nats = NatsCluster(1, "max_payload: 4096")
    check(make_stream(nats.client[0], "GENRE_SMALL", 2048), "a stream with max_msg_size 2048")
    host_port = free_ports(1)[0]
    hub_ep, hub = start_hub("hub", "tcp://127.0.0.1:%d" % host_port, nats.url(), "GENRE_SMALL",
                            1000, 1)
    watch = Collector(hub_ep, ("genre.hub",))
    ctx, pub = fake_host(host_port)
    # Normal changes, with one over the stream's limit (3 kB) and one over
    # the server's (8 kB) twice among them: each cause is logged once.
    pads = [0] * 4 + [3000] + [0] * 3 + [8000] + [0] * 3 + [3000, 8000] + [0] * 3
    for i, pad in enumerate(pads):
        change = {"v": 1, "stream": "h1/s1", "time_ms": 1000 + i, "position": 1000 * i,
                  "model": "m", "previous": None, "new": "rock", "silence": False,
                  "previous_silence": False, "p": 0.9, "pad": "x" * pad}
        pub.send_multipart([b"genre.change", json.dumps(change).encode()])
    normal = pads.count(0)
    done = lambda: (lambda js: js and js["buffered"] == 0 and
                    js["published"] + js["dropped"] >= len(pads))(last_hub_status(watch))
    check(wait_until(done, 20), "the bridge gets through every event (%s)"
          % last_hub_status(watch))
    js = last_hub_status(watch) or {}
    check(js.get("published") == normal and js.get("dropped") == len(pads) - normal,
          "%d stored, %d dropped (%s)" % (normal, len(pads) - normal, js))
    got = replay(nats.url(), "GENRE_SMALL", "c")
    check(sorted(e["position"] for e in got) == [1000 * i for i, p in enumerate(pads) if not p],
          "the stored events are the normal ones, in full (%d)" % len(got))
    log = hub.text()
    check(log.count("over the server's max_payload") == 1, "max_payload logged once")
    check(log.count("JetStream refused it (error 10054") == 1,
          "the stream's refusal logged once: %r" % log[-600:])
    check(hub.stop() == 0, "genre-hub exits 0 (no sanitizer report)")
    watch.close()
    pub.close(linger=0)
    ctx.term()



def track_through(older_stream):
    """A fake host's songs and changes through a hub into JetStream: the
    songs are stored under genre.track.HOST.STREAM, whole, once each."""
    nats = NatsCluster(1)
    if older_stream:
        check(make_stream(nats.client[0], "GENRE", 1 << 20),
              "a stream of genre.change and genre.probs only")
    host_port = free_ports(1)[0]
    hub_ep, hub = start_hub("hub", "tcp://127.0.0.1:%d" % host_port, nats.url(), "GENRE", 1000, 1)
    watch = Collector(hub_ep, ("genre.hub",))
    ctx, pub = fake_host(host_port)
    sent = []
    for i in range(3):
        base = {"v": 1, "stream": "h1/s1", "time_ms": 1000 + i, "position": 48000 * (i + 1),
                "model": "m", "seq": i + 1, "started_ms": 500}
        track = dict(base, title="Artist - Song %d" % i, start=48000 * i, end=48000 * (i + 1),
                     seconds=1.0, rate=48000.0, windows=2, silent_windows=0,
                     labels=["jazz", "rock"], probs=[0.25, 0.75], top="rock", share=1.0)
        change = dict(base, previous=None, new="rock", silence=False, previous_silence=False,
                      p=0.9, title=track["title"])
        for topic, body in (("genre.track", track), ("genre.change", change)):
            pub.send_multipart([topic.encode(), json.dumps(body).encode()])
            sent.append((topic, body))
    done = lambda: (lambda js: js and js["buffered"] == 0 and
                    js["published"] + js["dropped"] >= len(sent))(last_hub_status(watch))
    check(wait_until(done, 20), "the bridge gets through every event (%s)"
          % last_hub_status(watch))
    js = last_hub_status(watch) or {}
    check(js.get("published") == len(sent) and js.get("dropped") == 0,
          "all %d stored (%s)" % (len(sent), js))
    got = replay(nats.url(), "GENRE", "c")
    tracks = [e for e in got if e["subject"] == "genre.track.h1.s1"]
    check([e["title"] for e in tracks] == ["Artist - Song %d" % i for i in range(3)],
          "the songs are stored in order under genre.track.h1.s1: %r"
          % [e.get("subject") for e in got])
    check(all(e["probs"] == [0.25, 0.75] and e["top"] == "rock" for e in tracks),
          "each song whole: %r" % tracks[:1])
    exactly_once(stored(got), [key(b, t) for t, b in sent], "tracks and changes")
    check(hub.stop() == 0, "genre-hub exits 0 (no sanitizer report)")
    watch.close()
    pub.close(linger=0)
    ctx.term()
    nats.stop(0)


def test_track():
    track_through(older_stream=False)
    track_through(older_stream=True)


def test_durable_filter():
    """A durable made without --subject, then asked for another filter: one
    line saying it exists with another filter, and what to do (a new name or
    --reset), not libnats's words; --reset starts it again from the oldest
    event under the new filter."""
    url = NatsCluster(1).url()
    host_ep, genred = start_genred("h1", 1)
    hub_ep, hub = start_hub("hub", host_ep, url, "GENRE", 100000, 1)
    watch = Collector(hub_ep, ("genre.hub",))
    check(wait_until(lambda: (last_hub_status(watch) or {}).get("published", 0) >= 3, 20),
          "the bridge stores events")
    tool = [os.path.join(BIN, "genre-replay"), "--nats", url, "--durable", "dj1", "--idle-exit",
            "1"]
    made = run(tool + ["--max", "1"])
    check(made.returncode == 0 and len(made.stdout.splitlines()) == 1,
          "dj1 made with the default filter reads an event: %s" % made.stderr)
    other = run(tool + ["--subject", "genre.change.h1.>"])
    lines = other.stderr.strip().splitlines()
    check(other.returncode == 1 and len(lines) == 1 and other.stdout == "" and
          "durable 'dj1' already exists on stream 'GENRE' with --subject 'genre.change.>', not "
          "'genre.change.h1.>'" in lines[0] and "new --durable name" in lines[0] and
          "--reset" in lines[0] and "js.c" not in lines[0], "another filter: %r" % other.stderr)
    reset = run(tool + ["--subject", "genre.change.h1.>", "--reset", "--max", "1"])
    check(reset.returncode == 0 and reset.stdout == made.stdout,
          "--reset starts again from the oldest event: %r, first was %r (%s)" % (
              reset.stdout, made.stdout, reset.stderr))
    # The next change may not be stored yet: wait for it (the clip changes
    # every few seconds).
    again = run(tool + ["--subject", "genre.change.h1.>", "--max", "1", "--idle-exit", "20"])
    check(again.returncode == 0 and again.stdout and again.stdout != made.stdout,
          "then dj1 goes on under its new filter: %r (%s)" % (again.stdout, again.stderr))
    genred.stop()
    check(hub.stop() == 0, "genre-hub exits 0")
    watch.close()


SCENARIOS = {"cluster": test_cluster, "outage": test_outage, "durable_filter": test_durable_filter,
             "oversized": test_oversized, "track": test_track}

if __name__ == "__main__":
    SCENARIOS[sys.argv[1]]()
    finish()
