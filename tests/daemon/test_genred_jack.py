#!/usr/bin/python3
"""genred end to end on live audio back-ends (issue 6, tests 1, 2 and 4):
a JACK server (dummy driver) per test, jack_play playing the music excerpt,
genred on `jack` or `portaudio`, and a ZeroMQ subscriber checking what it
publishes.

    test_genred_jack.py {jack_and_portaudio,jack_restart,portaudio_gone,
                         jack_shared_restart,jack_per_stream}
"""

import os
import subprocess
import sys
import tempfile
import time

from jackenv import JackTest, check, event_deadline, fail, load_factor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_genred as tg  # noqa: E402  (its Subscriber and message checks)
from scenario import failures  # noqa: E402  (tests/, on the path test_genred set)

HOP = 0.5
# Issue 6 asks for 10%; sanitized builds on a loaded machine stretch the
# dummy server's cycle (see jackenv.py), so they get more slack.
RATE_TOLERANCE = 0.1 if os.environ.get("GENRED_FLAVOUR", "release") == "release" else 0.3
TMP = tempfile.mkdtemp(prefix="genred-jack-")
EP = "ipc://%s/pub.ipc" % TMP


def clip(jt):
    return os.path.join(jt.source, "tests", "data", "music_excerpt.wav")


def genred(jt, spec, env=None):
    return jt.spawn("genred", [jt.bin("genred"), "--input", spec, "--publish", EP,
                               "--hop", str(HOP), "--status-interval", "1"], env=env)


def probs_since(sub, t):
    return [m for m in sub.of("genre.probs") if m[0] >= t]


def check_publishing(sub, info, seconds, what, streams=("main",)):
    """Publishing at 1/hop per stream, valid messages with the model's
    fields, audio heard (not silence)."""
    n0 = len(sub.of("genre.probs"))
    sub.wait_for("genre.probs", n0 + len(streams), event_deadline())
    start = sub.of("genre.probs")[-1][0]
    time.sleep(seconds)
    check(not sub.bad, "%s: every message is two frames of valid JSON" % what)
    for stream in streams:
        label = "%s, stream %s" % (what, stream)
        msgs = [m for m in probs_since(sub, start) if m[2]["stream"] == stream]
        check(len(msgs) >= 4, "%s: %d genre.probs in %.0f s" % (label, len(msgs), seconds))
        wall = msgs[-1][0] - msgs[0][0]
        audio = (msgs[-1][2]["position"] - msgs[0][2]["position"]) / msgs[-1][2]["rate"]
        # One message per hop of the audio the server delivered. Per wall
        # second it is the same only while the dummy server keeps time, which
        # on a loaded machine it does not (its cycle waits for its clients):
        # audio genred lost would show as ring overruns, not here.
        rate = (len(msgs) - 1) / audio
        check(abs(rate - 1 / HOP) <= RATE_TOLERANCE / HOP,
              "%s: %.2f messages per second of audio, expected %.2f +- %d%% (%.2f per wall "
              "second; server clock at %.2fx real time)"
              % (label, rate, 1 / HOP, RATE_TOLERANCE * 100, (len(msgs) - 1) / wall, audio / wall))
        for m in msgs:
            tg.check_probs_message(m[2], info)
        if failures:
            fail("%s: message checks: %s" % (label, "; ".join(failures[:5])))
        loud = [m for m in msgs if not m[2]["silence"]]
        check(len(loud) == len(msgs), "%s: the music is heard (%d of %d not silent, %.1f dBFS)"
              % (label, len(loud), len(msgs), msgs[-1][2]["level_dbfs"]))
        print("%s: top labels %s" % (label, sorted({m[2]["top"] for m in msgs})), flush=True)


def start_jack_and_portaudio(jt, sub, conf):
    """Starts genred on conf, connects the player to its PortAudio client,
    and waits for a genre.probs of each stream, j and p (or genred's exit)."""
    n0 = len(sub.of("genre.probs"))

    def streams_heard():
        return {m[2]["stream"] for m in sub.of("genre.probs")[n0:]}

    p = jt.spawn("genred", [jt.bin("genred"), "--config", conf, "--publish", EP, "--hop", str(HOP)])
    end = time.monotonic() + event_deadline()
    while "genred-p:in_1" not in jt.ports():
        if p.poll() is not None or time.monotonic() > end:
            return False
        time.sleep(0.1)
    jt.connect("src:out", "genred-p:in_0")
    jt.connect("src:out", "genred-p:in_1")
    while streams_heard() != {"j", "p"}:
        if p.poll() is not None or time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def scenario_jack_and_portaudio(jt, sub, info):
    """Tests 1 and 2 at once: one genred with two streams, `jack` (j) and
    `portaudio` (p), both fed by the player; j's port genred:j_in_1 on the
    shared client, p's own client genred-p."""
    jt.start_server()
    jt.spawn("player", [jt.bin("jack_play"), "-n", "src", "-f", clip(jt)])
    jt.wait_port("src:out")
    conf = os.path.join(TMP, "genred.conf")
    with open(conf, "w") as f:
        f.write('streams = ( { name = "j"; input = "jack:src:out"; },\n'
                '            { name = "p"; input = "portaudio"; } );\n')
    for attempt in (1, 2):
        if start_jack_and_portaudio(jt, sub, conf):
            break
        # Seen beside a CPU hog (1 run in about 15): PortAudio's JACK client
        # never finishes a cycle ("was not finished, state = Triggered" in
        # jackd's log, for ever) and Pa_OpenStream waits for it. genred gives
        # up after 20 s with a line saying so (test_portaudio_stuck.py) and
        # systemd restarts it: do what systemd does, once.
        log = jt.read_log("genred")
        gave_up = jt.procs["genred"].poll() == 1 and "has not opened the device" in log
        if attempt == 2 or not gave_up:
            fail("no genre.probs within %.0f s; genred's log %r; jackd: %d cycles where genred-p "
                 "(PortAudio's client) did not finish"
                 % (event_deadline(), log[-300:], jt.unfinished_cycles("genred-p")))
        print("ok: PortAudio's JACK client never ran (jackd: %d unfinished cycles); genred said "
              "so and exited 1; restarting it as systemd would" % jt.unfinished_cycles("genred-p"))
        jt.procs.pop("genred")
    check(jt.wait_connection("genred:j_in_1", "src:out"), "genred:j_in_1 auto-connected to src:out")
    check_publishing(sub, info, 4.5, "live", streams=("j", "p"))
    code, took = jt.stop("genred")
    check(code == 0 and took < jt.stop_limit, "SIGTERM: exit %s in %.2f s" % (code, took))
    # Nothing lost inside genred (the rate above is per second of audio).
    final = tg.final_status(sub)
    lost = {s["name"]: s["overruns"] for s in (final or {}).get("streams", [])}
    check(lost == {"j": 0, "p": 0}, "no ring overruns in the closing genre.status: %r" % lost)


def scenario_jack_restart(jt, sub, info):
    jt.start_server()
    jt.spawn("player", [jt.bin("jack_play"), "-n", "src", "-f", clip(jt)])
    jt.wait_port("src:out")
    genred(jt, "jack:src:out")
    check(sub.wait_for("genre.probs", 3, event_deadline()), "publishing before the crash")

    jt.kill_server()
    jt.procs.pop("player").wait(5)
    t_gone = time.monotonic()
    states = []
    end = t_gone + event_deadline()
    while "waiting" not in states and time.monotonic() < end:
        time.sleep(0.05)
        status = [m[2] for m in sub.of("genre.status") if m[0] > t_gone]
        states = [s["streams"][0].get("state") for s in status if s.get("streams")]
    check("waiting" in states, "genre.status reports the stream waiting (%s)" % states)
    check(jt.procs["genred"].poll() is None, "genred keeps running without a server")

    jt.start_server()
    t_back = time.monotonic()
    jt.spawn("player2", [jt.bin("jack_play"), "-n", "src", "-f", clip(jt)])
    while time.monotonic() < t_back + event_deadline() and not probs_since(sub, t_back):
        time.sleep(0.05)
    resumed = probs_since(sub, t_back)
    delay = resumed[0][0] - t_back if resumed else None
    # 5 s on an idle machine; a CPU hog slows the server, player and retry.
    limit = 5.0 * load_factor()
    check(resumed and delay <= limit, "publishing resumed %.2f s after the server returned "
          "(limit %.1f s)" % (delay if resumed else -1, limit))
    jt.wait_port("src:out")
    check(jt.wait_connection("genred:in_1", "src:out"), "reconnected to the restarted player")
    check_publishing(sub, info, 3.0, "after restart")
    code, took = jt.stop("genred")
    check(code == 0, "SIGTERM after the restart: exit %s" % code)


def write_streams(name, streams, extra=""):
    """A config of {stream: input} (in order), returns its path."""
    conf = os.path.join(TMP, name)
    with open(conf, "w") as f:
        f.write(extra + "streams = (\n%s\n);\n" % ",\n".join(
            '  { name = "%s"; input = "%s"; }' % kv for kv in streams.items()))
    return conf


def jack_clients(jt):
    """JACK client names from jack_lsp (the part before the first colon).
    jack_lsp itself can fail or time out on a busy machine (an empty list:
    seen once in a CI run, with every port connected a moment before), so it
    is asked again until it answers, within the event deadline."""
    deadline = time.monotonic() + event_deadline()
    while True:
        ports = [p for p in jt.ports() if ":" in p]
        if ports or time.monotonic() > deadline:
            return {p.split(":", 1)[0] for p in ports}
        time.sleep(0.2)


def check_connected(jt, pairs, what):
    for ours, source in pairs:
        check(jt.wait_connection(ours, source), "%s: %s connected to %s" % (what, ours, source))


SHARED = {"a": "jack:src:out", "b": "jack:src:out,src:out", "c": "jack:src:out"}
SHARED_PORTS = [("genred:a_in_1", "src:out"), ("genred:b_in_1", "src:out"),
                ("genred:b_in_2", "src:out"), ("genred:c_in_1", "src:out")]


def scenario_jack_shared_restart(jt, sub, info):
    """Three JACK streams (one stereo) are ports of one client, genred:
    a_in_1, b_in_1, b_in_2, c_in_1. The server is killed and restarted: all
    three wait, then come back on one client, reconnected, by themselves."""
    jt.start_server()
    jt.spawn("player", [jt.bin("jack_play"), "-n", "src", "-f", clip(jt)])
    jt.wait_port("src:out")
    conf = write_streams("shared.conf", SHARED)
    jt.spawn("genred", [jt.bin("genred"), "--config", conf, "--publish", EP, "--hop", str(HOP),
                        "--status-interval", "1"])
    check_connected(jt, SHARED_PORTS, "before the crash")
    clients = jack_clients(jt)
    check(clients == {"system", "src", "genred"}, "one JACK client for three streams: %s"
          % sorted(clients))
    check_publishing(sub, info, 4.0, "shared client", streams=tuple(SHARED))

    jt.kill_server()
    jt.procs.pop("player").wait(5)
    t_gone = time.monotonic()
    deadline = t_gone + event_deadline()
    waiting = set()
    while time.monotonic() < deadline and waiting != set(SHARED):
        time.sleep(0.2)
        for m in sub.of("genre.status"):
            if m[0] > t_gone:
                waiting |= {st["name"] for st in m[2]["streams"] if st["state"] == "waiting"}
    check(waiting == set(SHARED), "every stream reported waiting: %s" % sorted(waiting))

    jt.start_server()
    t_back = time.monotonic()
    jt.spawn("player2", [jt.bin("jack_play"), "-n", "src", "-f", clip(jt)])
    check_connected(jt, SHARED_PORTS, "after the restart")
    check(jack_clients(jt) == {"system", "src", "genred"}, "still one client after the restart")
    check_publishing(sub, info, 4.0, "after restart", streams=tuple(SHARED))
    print("resumed within %.1f s of the server's return" % (time.monotonic() - t_back))
    code, took = jt.stop("genred")
    check(code == 0 and took < jt.stop_limit, "SIGTERM: exit %s in %.2f s" % (code, took))


def scenario_jack_per_stream(jt, sub, info):
    """jack_clients = "per_stream": the old naming, a client per stream
    (genred-a, genred-b) with ports in_1..in_N."""
    jt.start_server()
    jt.spawn("player", [jt.bin("jack_play"), "-n", "src", "-f", clip(jt)])
    jt.wait_port("src:out")
    streams = {"a": SHARED["a"], "b": SHARED["b"]}
    conf = write_streams("per_stream.conf", streams, 'jack_clients = "per_stream";\n')
    jt.spawn("genred", [jt.bin("genred"), "--config", conf, "--publish", EP, "--hop", str(HOP)])
    check_connected(jt, [("genred-a:in_1", "src:out"), ("genred-b:in_1", "src:out"),
                         ("genred-b:in_2", "src:out")], "per_stream")
    clients = jack_clients(jt)
    check(clients == {"system", "src", "genred-a", "genred-b"}, "a client per stream: %s"
          % sorted(clients))
    check_publishing(sub, info, 4.0, "per_stream", streams=tuple(streams))
    code, took = jt.stop("genred")
    check(code == 0 and took < jt.stop_limit, "SIGTERM: exit %s in %.2f s" % (code, took))


def scenario_portaudio_gone(jt, sub, info):
    """PortAudio cannot reopen a JACK device in-process (see
    input_portaudio.c): genred must say so clearly and exit non-zero without
    crashing or hanging, so that systemd (Restart=on-failure) brings it back."""
    jt.start_server()
    genred(jt, "portaudio", env=jt.abandoning_env())
    check(sub.wait_for("genre.probs", 2, event_deadline()), "publishing through PortAudio")
    jt.kill_server()
    p = jt.procs["genred"]
    try:
        p.wait(10 * load_factor())
    except subprocess.TimeoutExpired:
        fail("genred neither recovered nor exited %.0f s after its device vanished"
             % (10 * load_factor()))
    check(p.returncode not in (0, None) and p.returncode > 0,
          "genred exits with failure status %s, not a signal" % p.returncode)
    log = jt.read_log("genred")
    check(log.count("its JACK server went away") == 1, "one clear line says why")
    check("Sanitizer" not in log and "Assertion" not in log, "no sanitizer report or assertion")
    jt.procs.pop("genred")
    jt.start_server()  # frees the killed server's registry slot


def run(scenario):
    with JackTest(tag="genred_" + sys.argv[1]) as jt:
        info = tg.model_info()
        sub = tg.Subscriber(EP)
        try:
            scenario(jt, sub, info)
        finally:
            sub.close()


if __name__ == "__main__":
    tg.main(globals(), prefix="scenario_", cleanup=[TMP, tg.TMP], call=run)
