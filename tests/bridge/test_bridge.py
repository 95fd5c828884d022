#!/usr/bin/python3
"""genre-bridge against real receivers: liblo's oscdump and Debian's
mosquitto broker with mosquitto_sub, fed by a real genred (music, silence,
music: three genre.change) or, for what genred on this branch does not send
yet (genre.track, seq), by a publisher in this script.

    test_bridge.py osc       genred with CURVE -> the bridge -> oscdump over
                             UDP and TCP: every address and argument list as
                             documented; each receiver killed and restarted
                             gets the state again by itself; a bridge given
                             another server's key says so in one line
    test_bridge.py mqtt      -> mosquitto: events, the retained state topic;
                             the broker killed and restarted (it keeps
                             nothing): the bridge reconnects and publishes
                             the retained state and "online" again
    test_bridge.py protocol  genre.track's fields, the publisher's snapshot
                             forwarded, duplicates by (stream, topic, seq)
                             dropped, a restarted publisher's seq taken
                             again, genre.probs rate-limited, names made
                             safe for OSC and MQTT

oscdump listens on every address and cannot be told otherwise, so the whole
test runs in a network namespace of its own that has only loopback
(unshare -n); where that is not allowed (not root) it is skipped."""
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fleet"))

if os.environ.get("GENRED_BRIDGE_NETNS") != "1":
    # Re-run this script inside a new network namespace, where oscdump's
    # wildcard address is loopback only.
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, text=True)
    if probe.returncode:
        print("SKIP: needs a network namespace of its own (unshare --net: %s)"
              % probe.stderr.strip(), flush=True)
        sys.exit(77)
    env = dict(os.environ, GENRED_BRIDGE_NETNS="1")
    os.execvpe("unshare", ["unshare", "--net", "--", sys.executable] + sys.argv, env)

from fleetlib import (BIN, SLOW, SOURCE, TMP, Proc, check, cleanup, finish, free_ports,  # noqa: E402
                      skip, wait_port, wait_until, write_wav)

subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
for tool in ("oscdump", "mosquitto", "mosquitto_sub"):
    if not subprocess.run(["sh", "-c", "command -v " + tool], capture_output=True).stdout:
        skip("%s is not installed (Debian: liblo-tools, mosquitto, mosquitto-clients)" % tool)
if not os.path.exists(os.path.join(BIN, "genre-bridge")):
    skip("genre-bridge was not built (liblo-dev or libmosquitto-dev missing)")

GENRED_EP = "ipc://%s/genred" % TMP
LABELS = ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae",
          "rock"]


def clip():
    """Music, 7 s of digital silence, music: three genre.change (start ->
    genre, genre -> silence, silence -> genre)."""
    import wave
    with wave.open(os.path.join(SOURCE, "tests", "data", "music_excerpt.wav")) as w:
        rate, n = w.getframerate(), w.getnframes()
        x = np.frombuffer(w.readframes(n), "<i2").astype(np.float32) / 32768
    path = os.path.join(TMP, "clip.wav")
    write_wav(path, np.concatenate([x, np.zeros(7 * rate, np.float32), x]), rate)
    return path


def start_genred(extra_conf=""):
    """At full speed, once the bridge has subscribed (--wait-subscriber)."""
    conf = os.path.join(TMP, "genred.conf")
    with open(conf, "w") as f:
        f.write('input = "file:%s";\npublish = "%s";\nchange_hold = 1.0;\nsmoothing = 1.5;\n%s'
                % (clip(), GENRED_EP, extra_conf))
    return Proc("genred", [os.path.join(BIN, "genred"), "--config", conf, "--wait-subscriber"])


def bridge(*args):
    return Proc("bridge", [os.path.join(BIN, "genre-bridge"), "--log-level", "debug"]
                + list(args))


class Lines:
    """A receiver program whose stdout lines are collected in a thread."""

    def __init__(self, name, argv, parse):
        self.parse = parse
        self.items = []
        self.p = Proc(name, argv, stdout=subprocess.PIPE)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.p.proc.stdout:
            item = self.parse(line.decode("utf-8", "replace").rstrip("\n"))
            if item:
                self.items.append(item)

    def stop(self):
        self.p.stop(signal.SIGKILL)


def osc_line(line):
    """oscdump -L: TIMETAG ADDRESS TYPES ARG... -> (address, types, args)."""
    parts = shlex.split(line)
    if len(parts) < 3 or not parts[1].startswith("/"):
        return None
    args = []
    for t, a in zip(parts[2], parts[3:]):
        args.append(a if t == "s" else float(a) if t == "f" else int(a))
    return parts[1], parts[2], args


def oscdump(url):
    return Lines("oscdump", ["oscdump", "-L", url], osc_line)


def at(dump, address):
    return [(types, args) for a, types, args in list(dump.items) if a == address]


def mqtt_line(line):
    """mosquitto_sub -F '%r %t %p' -> (retained, topic, payload)."""
    parts = line.split(" ", 2)
    return (parts[0] == "1", parts[1], parts[2]) if len(parts) == 3 else None


def mqtt_sub(port, topic="genred/#"):
    return Lines("mosquitto_sub", ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t",
                                   topic, "-F", "%r %t %p"], mqtt_line)


def on(sub, topic):
    return [(retained, payload) for retained, t, payload in list(sub.items) if t == topic]


class Broker:
    """mosquitto on 127.0.0.1 only, keeping nothing across restarts."""

    def __init__(self):
        self.port = free_ports(1)[0]
        self.conf = os.path.join(TMP, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n" % self.port)
        self.start()

    def start(self):
        self.p = Proc("mosquitto", ["mosquitto", "-c", self.conf])
        check(wait_port(self.port, 10 * SLOW), "mosquitto listens on 127.0.0.1:%d" % self.port)

    def kill(self):
        self.p.stop(signal.SIGKILL)


def change_kinds(changes):
    """(from, to) per change: "start", "silence" or "genre"."""
    return [("start" if c["previous"] is None and not c["previous_silence"] else
             "silence" if c["previous"] is None else "genre",
             "silence" if c["new"] is None and c["silence"] else "genre") for c in changes]


def expected_kinds(kinds):
    """The clip: start -> genre, maybe genre -> genre within the music,
    genre -> silence, silence -> genre."""
    return (len(kinds) >= 3 and kinds[0] == ("start", "genre") and
            kinds[-2:] == [("genre", "silence"), ("silence", "genre")] and
            all(k == ("genre", "genre") for k in kinds[1:-2]))


def check_changes(changes, where):
    """The clip's changes as OSC /change argument lists: new, p, previous,
    silence, previous_silence, title."""
    check(changes and all(t == "sfsiis" for t, _ in changes), "%s: /change, types sfsiis: %r"
          % (where, changes))
    as_json = [{"new": a[0] or None, "p": a[1], "previous": a[2] or None, "silence": a[3] == 1,
                "previous_silence": a[4] == 1, "title": a[5]} for _, a in changes]
    check(expected_kinds(change_kinds(as_json)) and
          all(c["new"] in LABELS and 0 < c["p"] <= 1 for c in as_json if not c["silence"]),
          "%s: start -> genre ... -> silence -> genre: %r" % (where, change_kinds(as_json)))


def check_probs(dump, where):
    probs = at(dump, "/genred/main/probs")
    check(probs and all(t == "sfif" + "sf" * len(LABELS) for t, _ in probs),
          "%s: /probs as s top, f p, i silence, f level, then label/probability pairs (%d)"
          % (where, len(probs)))
    if probs:
        args = probs[0][1]
        check(args[4::2] == LABELS and abs(sum(args[5::2]) - 1) < 1e-3,
              "%s: the pairs are the model's labels, probabilities summing to 1" % where)
        one = at(dump, "/genred/main/prob/" + LABELS[0])
        check(one and one[0][0] == "f" and abs(one[0][1][0] - args[5]) < 1e-6,
              "%s: /prob/%s carries the same value" % (where, LABELS[0]))


def last_state(dump, address="/genred/main/state"):
    states = at(dump, address)
    return states[-1] if states else None


def restarted_receiver_gets_state(dump, url, want, what):
    dump.stop()
    time.sleep(0.5)
    again = oscdump(url)
    check(wait_until(lambda: last_state(again) is not None, 10),
          "%s restarted: gets the state again by itself" % what)
    check(last_state(again) == ("sfis", want), "%s: state %r" % (what, last_state(again)))
    return again


def gen_keys(name):
    keys = os.path.join(TMP, name)
    r = subprocess.run([os.path.join(BIN, "genred"), "--gen-keys", keys], capture_output=True)
    check(r.returncode == 0, "genred --gen-keys " + name)
    return keys


def handshake_lines(b):
    return [line for line in b.text().splitlines() if "handshake" in line]


def test_osc():
    keys, other = gen_keys("keys"), gen_keys("other")
    udp_port, tcp_port, unused_port = free_ports(3)
    udp, tcp = "osc.udp://127.0.0.1:%d" % udp_port, "osc.tcp://127.0.0.1:%d" % tcp_port
    dumps = {udp: oscdump("osc.udp://:%d" % udp_port), tcp: oscdump("osc.tcp://:%d" % tcp_port)}
    wait_port(tcp_port)
    # genred waits for a subscriber, which the wrong key never makes it:
    # libzmq's retries go on until the right bridge comes.
    wrong = bridge("--osc", "127.0.0.1:%d" % unused_port, "--server-key",
                   os.path.join(other, "curve.pub"), GENRED_EP)
    g = start_genred('curve_secret_key = "%s";\n' % os.path.join(keys, "curve.key"))
    check(wait_until(lambda: handshake_lines(wrong), 10 * SLOW),
          "another server's key: the bridge says why nothing arrives")
    b = bridge("--osc", udp, "--osc", tcp, "--state-interval", "1", "--server-key",
               os.path.join(keys, "curve.pub"), GENRED_EP)
    check(g.proc.wait(60 * SLOW) == 0, "genred played the clip and exited 0")
    lines = handshake_lines(wrong)
    check(len(lines) == 1 and GENRED_EP in lines[0] and
          "--server-key is not its public key" in lines[0], "in one line: %r" % lines)
    check(not handshake_lines(b), "the right key: no handshake complaint")
    for url, dump in dumps.items():
        kind = url[:7]
        check(wait_until(lambda: len(at(dump, "/genred/main/change")) >= 3, 10),
              "%s: the changes arrived (through CURVE)" % kind)
        changes = at(dump, "/genred/main/change")
        check_changes(changes, kind)
        check_probs(dump, kind)
        want = [changes[-1][1][0], changes[-1][1][1], 0, ""] if changes else None
        check(wait_until(lambda: last_state(dump) == ("sfis", want), 5),
              "%s: /state = the last change: %r" % (kind, last_state(dump)))
        dumps[url] = restarted_receiver_gets_state(dump, url.replace("127.0.0.1", ""), want,
                                                   kind + " receiver")
    check(b.alive(), "the bridge kept running through both receivers' restarts")
    check(b.stop() == 0, "the bridge exits 0 on SIGTERM")


def mqtt_state(sub):
    states = on(sub, "genred/main/state")
    return states[-1] if states else None


def test_mqtt():
    broker = Broker()
    watch = mqtt_sub(broker.port)
    b = bridge("--mqtt", "127.0.0.1:%d" % broker.port, GENRED_EP)
    check(wait_until(lambda: [p for _, p in on(watch, "genred/bridge")] == ["online"], 10),
          "the bridge says online: %r" % on(watch, "genred/bridge"))
    g = start_genred()
    check(g.proc.wait(60 * SLOW) == 0, "genred played the clip and exited 0")
    check(wait_until(lambda: expected_kinds(change_kinds(
        [json.loads(p) for _, p in on(watch, "genred/main/change")])), 10),
        "genre.change on genred/main/change: start -> genre ... -> silence -> genre, "
        "genred's JSON as sent")
    changes = [json.loads(p) for _, p in on(watch, "genred/main/change")]
    check(on(watch, "genred/main/probs") and
          all(json.loads(p)["labels"] == LABELS for _, p in on(watch, "genred/main/probs")),
          "genre.probs on genred/main/probs (%d)" % len(on(watch, "genred/main/probs")))
    late = mqtt_sub(broker.port, "genred/main/state")
    check(wait_until(lambda: mqtt_state(late) is not None, 10), "a late subscriber gets the state")
    retained, payload = mqtt_state(late) or (False, "{}")
    state = json.loads(payload)
    check(retained and state["genre"] == changes[-1]["new"] and not state["silence"] and
          state["stream"] == "main" and state["since_ms"] == changes[-1]["time_ms"],
          "retained state = the last change: %r" % state)

    broker.kill()
    check(wait_until(lambda: "MQTT broker" in b.text() and "reconnecting" in b.text(), 10),
          "the bridge says the broker went away")
    time.sleep(2)
    broker.start()
    check(wait_until(lambda: b.text().count("connected; publishing") == 2, 40),
          "the bridge reconnects to the restarted broker by itself")
    fresh = mqtt_sub(broker.port)
    check(wait_until(lambda: mqtt_state(fresh) is not None, 10),
          "after the broker's restart the state is retained again (republished by the bridge)")
    check(mqtt_state(fresh) == (True, payload), "the same state: %r" % (mqtt_state(fresh),))
    check(on(fresh, "genred/bridge") == [(True, "online")], "and online, retained")
    check(b.stop() == 0, "the bridge exits 0 on SIGTERM")
    after = mqtt_sub(broker.port, "genred/bridge")
    check(wait_until(lambda: on(after, "genred/bridge") == [(True, "offline")], 10),
          "offline once the bridge stopped: %r" % on(after, "genred/bridge"))


class Publisher:
    """genred's side of the protocol, by hand: an XPUB that waits for the
    bridge's subscriptions."""

    def __init__(self, ep):
        import zmq
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.XPUB)
        self.sock.bind(ep)
        self.poller = zmq.Poller()
        self.poller.register(self.sock, zmq.POLLIN)
        self.subs = set()

    def wait_subscribed(self, n):
        end = time.monotonic() + 10 * SLOW
        while len(self.subs) < n and time.monotonic() < end:
            if self.poller.poll(100):
                self.subs.add(self.sock.recv()[1:].decode())
        return len(self.subs) >= n

    def snapshot_topic(self, topic):
        """The bridge's "snapshot/NONCE/TOPIC" subscription, or None."""
        return next((s for s in self.subs if s.startswith("snapshot/") and
                     s.endswith("/" + topic)), None)

    def send(self, topic, version=1, **body):
        self.sock.send_multipart([topic.encode(), json.dumps(dict(v=version, **body)).encode()])


def track(started, seq, title, top, share):
    probs = [0.02] * len(LABELS)
    probs[LABELS.index(top)] = 1 - 0.02 * (len(LABELS) - 1)
    return dict(stream="studio A/1", time_ms=int(time.time() * 1000), model="m", rate=44100.0,
                labels=LABELS, position=44100 * 200, title=title, start=44100 * 20,
                end=44100 * 200, seconds=180.0, windows=350, silent_windows=2, probs=probs,
                top=top, share=share, seq=seq, started_ms=started)


def change(started, seq, new, previous, stream="studio A/1"):
    return dict(stream=stream, time_ms=int(time.time() * 1000), position=seq * 1000,
                model="m", previous=previous, new=new, silence=False, previous_silence=False,
                p=0.7, seq=seq, started_ms=started, title="Artist - Song")


def send_protocol(pub):
    """What the bridge must forward, dropping the repeats."""
    # What a late subscriber is sent first (protocol.h), then the same live.
    snapshot = pub.snapshot_topic("genre.change")
    check(snapshot, "the bridge asked for a snapshot of genre.change: %r" % sorted(pub.subs))
    if snapshot:
        pub.sock.send_multipart([snapshot.encode(), json.dumps(
            dict(v=1, **change(500, 7, "blues", None, stream="late"))).encode()])
    pub.send("genre.change", **change(500, 7, "blues", None, stream="late"))
    pub.send("genre.change", **change(1000, 1, "rock", None))
    pub.send("genre.change", **change(1000, 1, "rock", None))  # resent to a late subscriber
    pub.send("genre.track", **track(1000, 1, "Artist - Song", "rock", 0.8))
    pub.send("genre.track", **track(1000, 1, "Artist - Song", "rock", 0.8))  # again
    # Not genred's, and must not swallow the message after them.
    pub.sock.send_multipart([b"genre.change", b"{}", b"extra"])  # a frame too many
    pub.send("genre.change", stream="x", version=2)  # protocol version 2
    pub.sock.send(b"genre.change")  # a topic frame alone
    pub.send("genre.change", **change(1000, 2, "jazz", "rock"))
    pub.send("genre.change", **change(1000, 1, "rock", None))  # old
    pub.send("genre.change", **change(2000, 1, "pop", None))  # genred restarted: new


def send_probs(pub, seconds, per_second):
    for i in range(int(seconds * per_second)):
        pub.send("genre.probs", stream="fast", time_ms=int(time.time() * 1000), position=i,
                 rate=44100.0, model="m", labels=LABELS, top="rock", p=0.9,
                 probs=[0.1] * len(LABELS), raw=[0.1] * len(LABELS), silence=False,
                 level_dbfs=-20.0, seq=i + 1, started_ms=1000)
        time.sleep(1.0 / per_second)


def test_protocol():
    broker = Broker()
    port = free_ports(1)[0]
    dump = oscdump("osc.udp://:%d" % port)
    watch = mqtt_sub(broker.port, "#")
    pub = Publisher(GENRED_EP)
    bridge("--osc", "127.0.0.1:%d" % port, "--mqtt", "127.0.0.1:%d" % broker.port,
           "--mqtt-prefix", "site/genred", "--probs-interval", "1", "--state-interval", "0",
           GENRED_EP)
    check(pub.wait_subscribed(6), "the bridge subscribed to genre.probs, .change and .track, "
          "each with a snapshot: %r" % sorted(pub.subs))
    check(wait_until(lambda: on(watch, "site/genred/bridge"), 10), "the bridge is on MQTT")
    send_protocol(pub)
    send_probs(pub, 3.2, 10)
    base = "/genred/studio_A_1/"
    check(wait_until(lambda: len(at(dump, base + "change")) >= 3, 10), "changes at " + base)
    time.sleep(1)
    late = [args[0] for _, args in at(dump, "/genred/late/change")]
    check(late == ["blues"], "the snapshot's change once, not again live: %r" % late)
    got = [args[0] for _, args in at(dump, base + "change")]
    check(got == ["rock", "jazz", "pop"], "each (stream, topic, seq) once, a restart's again: %r"
          % got)
    tracks = at(dump, base + "track")
    want = ["Artist - Song", "rock", 0.8, 180.0, 20.0, 200.0, 350]
    check(len(tracks) == 1 and tracks[0][0] == "ssffffi" + "sf" * len(LABELS) and
          [round(a, 4) if isinstance(a, float) else a for a in tracks[0][1][:7]] == want and
          tracks[0][1][7::2] == LABELS, "one /track: title, top, share, seconds, start_s, "
          "end_s, windows, then label/mean pairs: %r" % tracks)
    mq = [json.loads(p) for _, p in on(watch, "site/genred/studio_A_1/change")]
    check([m["new"] for m in mq] == ["rock", "jazz", "pop"], "MQTT: the same three changes")
    check(len(on(watch, "site/genred/studio_A_1/track")) == 1, "MQTT: one track")
    retained = [json.loads(p) for r, p in on(watch, "site/genred/studio_A_1/state")]
    check(retained and retained[-1]["genre"] == "pop" and retained[-1]["title"] ==
          "Artist - Song" and retained[-1]["track"]["top"] == "rock" and
          retained[-1]["stream"] == "studio A/1", "state: genre, title, last track: %r"
          % retained[-1:])
    fast = at(dump, "/genred/fast/probs")
    check(3 <= len(fast) <= 5, "32 genre.probs in 3.2 s at --probs-interval 1: %d forwarded"
          % len(fast))


SCENARIOS = {"osc": test_osc, "mqtt": test_mqtt, "protocol": test_protocol}

if __name__ == "__main__":
    try:
        SCENARIOS[sys.argv[1]]()
    except BaseException:
        cleanup()  # the receivers and broker too, not only on a clean finish
        raise
    finish()
