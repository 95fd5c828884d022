#!/usr/bin/python3
"""End-to-end tests of the genred daemon: the real binary, real ZeroMQ
sockets (ipc:// in a private temp dir, so parallel tests never collide),
real files and pipes. Audio is synthesised here.

    test_genred.py SCENARIO      (see SCENARIOS at the bottom)

Environment: GENRED_BUILD_DIR, GENRED_SOURCE_DIR, GENRED_FLAVOUR (sanitizer
builds are slower: timing margins widen, sizes shrink)."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import wave

import numpy as np
import zmq

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scenario import check, load_factor, main  # noqa: E402

BUILD = os.environ.get("GENRED_BUILD_DIR", "build")
SOURCE = os.environ.get("GENRED_SOURCE_DIR", ".")
FLAVOUR = os.environ.get("GENRED_FLAVOUR", "release")
SLOW = 1 if FLAVOUR == "release" else 4  # sanitizer slow-down allowance
# A cross build's tests run the target's programs under qemu-user
# (GENRED_EMULATOR, set by tests/CMakeLists.txt); emulation is slower.
EMULATOR = [os.environ["GENRED_EMULATOR"]] if os.environ.get("GENRED_EMULATOR") else []
if EMULATOR:
    SLOW = 4
GENRED = EMULATOR + [os.path.join(BUILD, "bin", "genred")]
TMP = tempfile.mkdtemp(prefix="genred-test-")
def deadline(seconds):
    """How long to wait for something an idle machine does in `seconds`:
    more on a sanitizer build or a loaded machine (up to 4 times, so that a
    failure still comes within ctest's timeout)."""
    return seconds * SLOW * min(4.0, load_factor())


def endpoint(name="pub"):
    return "ipc://%s/%s.ipc" % (TMP, name)


def model_info():
    out = subprocess.run(GENRED + ["--model-info"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def tone(seconds, rate, channels=1, amplitude=0.3, seed=1):
    """A few partials plus a little noise: music-like enough to be loud and
    to give the model something to chew on."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    x = sum(amplitude / k * np.sin(2 * np.pi * 220 * k * t) for k in (1, 2, 3))
    x = x * (0.6 + 0.4 * np.sin(2 * np.pi * 1.5 * t)) + 0.02 * rng.standard_normal(len(t))
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


def write_wav(path, samples, rate):
    with wave.open(path, "wb") as w:
        w.setnchannels(samples.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def expected_hops(n_samples, info, hop_s):
    """genre.probs count for n model-rate samples: frame k ends at
    k*hop + n_fft; the first hop is the first full window, then every
    round(hop_s * rate) samples while a frame ends at or after it; several
    hops due within one frame make one."""
    fe = info["frontend"]
    if n_samples < fe["n_fft"]:
        return 0
    frames = (n_samples - fe["n_fft"]) // fe["hop"] + 1
    if frames < fe["window_frames"]:
        return 0
    first = (fe["window_frames"] - 1) * fe["hop"] + fe["n_fft"]
    last = (frames - 1) * fe["hop"] + fe["n_fft"]
    step = round(hop_s * fe["sample_rate"])
    if step <= fe["hop"]:  # a hop shorter than a frame: one per frame
        return frames - fe["window_frames"] + 1
    return (last - first) // step + 1


class Genred:
    def __init__(self, *args, stdin=None, config=None):
        self.log_path = os.path.join(TMP, "genred-%d.log" % time.monotonic_ns())
        cmd = GENRED + (["--config", config] if config else []) + list(args)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.DEVNULL,
                                     stderr=self.log)

    def stderr(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            check(False, "genred did not exit within %g s" % timeout)
            return None

    def wait_log(self, needle, count=1, timeout=10):
        """Waits until stderr holds needle `count` times (a reload done or
        failed): the event itself, however slow the machine."""
        end = time.monotonic() + deadline(timeout)
        while self.stderr().count(needle) < count:
            if time.monotonic() > end or self.proc.poll() is not None:
                return False
            time.sleep(0.02)
        return True

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait(5 * SLOW)


class Subscriber:
    """Collects (receive time, topic, message, came in a snapshot) in a
    background thread, keeping duplicates: tests count them. snapshot: ask
    for the cached messages whose topic starts with it (protocol.h)."""

    def __init__(self, ep, topics=("",), rcvhwm=None, read=True, snapshot=None):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.SUB)
        if rcvhwm is not None:
            self.sock.setsockopt(zmq.RCVHWM, rcvhwm)
            self.sock.setsockopt(zmq.RCVBUF, 4096)
        self.sock.connect(ep)
        for t in topics:
            self.sock.setsockopt_string(zmq.SUBSCRIBE, t)
        self.nonce = "snapshot/%s/" % os.urandom(8).hex()
        if snapshot is not None:
            self.sock.setsockopt_string(zmq.SUBSCRIBE, self.nonce + snapshot)
        self.messages = []
        self.bad = []
        self.running = read
        if read:
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()

    def _run(self):
        poller = zmq.Poller()
        poller.register(self.sock, zmq.POLLIN)
        while self.running:
            if not poller.poll(50):
                continue
            frames = self.sock.recv_multipart()
            now = time.monotonic()
            if len(frames) != 2:
                self.bad.append(frames)
                continue
            topic = frames[0].decode()
            snapshot = topic.startswith(self.nonce)
            try:
                self.messages.append((now, topic[len(self.nonce):] if snapshot else topic,
                                      json.loads(frames[1]), snapshot))
            except ValueError:
                self.bad.append(frames)

    def of(self, topic):
        return [m for m in self.messages if m[1] == topic]

    def wait_for(self, topic, count, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end and len(self.of(topic)) < count:
            time.sleep(0.02)
        return len(self.of(topic)) >= count

    def close(self):
        self.running = False
        if hasattr(self, "thread"):
            self.thread.join()
        self.sock.close(linger=0)
        self.ctx.term()


def check_probs_message(m, info):
    labels = info["labels"]
    for key, kind in (("v", int), ("stream", str), ("time_ms", int), ("position", int),
                      ("rate", float), ("model", str), ("labels", list), ("probs", list),
                      ("raw", list), ("silence", bool), ("level_dbfs", float), ("p", float)):
        check(isinstance(m.get(key), kind), "genre.probs field %s is %r" % (key, m.get(key)))
    check(m["v"] == 1, "v is 1")
    check(m["labels"] == labels, "labels in model order")
    check(len(m["probs"]) == len(labels) and len(m["raw"]) == len(labels), "one prob per label")
    check(abs(sum(m["probs"]) - 1) < 1e-4, "smoothed probs sum to 1 (%r)" % sum(m["probs"]))
    check(abs(sum(m["raw"]) - 1) < 1e-4, "raw probs sum to 1 (%r)" % sum(m["raw"]))
    check(abs(m["time_ms"] / 1000 - time.time()) < 60, "time_ms is wall-clock ms")
    if m["silence"]:
        check(m["top"] is None, "no top label while silent")
    else:
        best = max(range(len(labels)), key=lambda i: m["probs"][i])
        check(m["top"] == labels[best], "top is the most probable label")
        check(abs(m["p"] - m["probs"][best]) < 1e-6, "p is the top probability")


def final_status(sub, timeout=3):
    sub.wait_for("genre.status", 1, deadline(timeout))
    st = sub.of("genre.status")
    return st[-1][2] if st else None


# ---- scenarios ----

def run_stdin(fmt, channels, inject_nonfinite):
    info = model_info()
    rate = int(info["frontend"]["sample_rate"])
    seconds = 8
    x = tone(seconds, rate, channels)
    bad = 0
    if fmt == "s16le":
        data = (x * 32767).astype("<i2").tobytes()
    else:
        if inject_nonfinite:
            x[1000, 0] = np.nan
            x[2000:2003, -1] = np.inf
            x[5000, 0] = -np.inf
            bad = 5
        data = x.astype("<f4").tobytes()
    data += b"\x01"  # a partial frame at the end
    ep = endpoint()
    g = Genred("--input", "stdin:%s:%d:%d" % (fmt, rate, channels), "--publish", ep,
               "--wait-subscriber", stdin=subprocess.PIPE)
    sub = Subscriber(ep)  # --wait-subscriber: the pipe holds the audio till it joins
    g.proc.stdin.write(data)
    g.proc.stdin.close()
    rc = g.wait(20 * SLOW)
    check(rc == 0, "genred exits 0 at end of stdin (rc %r)\n%s" % (rc, g.stderr()))
    status = final_status(sub)
    sub.close()
    probs = [m[2] for m in sub.of("genre.probs")]
    want = expected_hops(len(x), info, 0.5)
    check(len(probs) == want, "%d genre.probs for %d s of audio, expected %d" % (len(probs),
                                                                              seconds, want))
    check(not sub.bad, "every message is two frames of valid JSON")
    for m in probs:
        check_probs_message(m, info)
    positions = [m["position"] for m in probs]
    check(positions == sorted(positions) and len(set(positions)) == len(positions),
          "positions increase")
    check(status is not None, "a closing genre.status")
    if status:
        s = status["streams"][0]
        check(s["nonfinite"] == bad, "non-finite samples counted: %r, injected %d" % (
            s["nonfinite"], bad))
        check(s["overruns"] == 0, "no overruns")
        check(s["channels"] == channels and s["rate"] == rate, "format reported")


def test_stdin_s16le():
    run_stdin("s16le", 2, False)


def test_stdin_f32le():
    run_stdin("f32le", 1, True)


def test_stdin_garbage():
    """Random bytes as f32 (NaNs, Infs, huge values), closed mid-frame, and
    an empty stdin: no crash, a clean exit."""
    ep = endpoint()
    rng = np.random.default_rng(7)
    data = rng.integers(0, 256, 22050 * 4 * 4 * 5 + 7, dtype=np.uint8).tobytes()
    g = Genred("--input", "stdin:f32le:22050:4", "--publish", ep, stdin=subprocess.PIPE)
    g.proc.stdin.write(data)
    g.proc.stdin.close()
    rc = g.wait(20 * SLOW)
    check(rc == 0, "garbage on stdin: exit 0 (rc %r)\n%s" % (rc, g.stderr()))
    check("trailing bytes ignored" in g.stderr(), "partial frame reported:\n" + g.stderr())
    g = Genred("--input", "stdin", "--publish", ep, stdin=subprocess.DEVNULL)
    rc = g.wait(5 * SLOW)
    check(rc == 0, "empty stdin: exit 0 (rc %r)\n%s" % (rc, g.stderr()))


def test_file_fast():
    info = model_info()
    rate = int(info["frontend"]["sample_rate"])
    seconds = 30 if SLOW == 1 else 10
    x = tone(seconds, rate, 1)
    path = write_wav(os.path.join(TMP, "fast.wav"), x, rate)
    ep = endpoint()
    g = Genred("--input", "file:" + path, "--publish", ep, "--wait-subscriber", "--hop", "0.25")
    sub = Subscriber(ep)
    start = time.monotonic()
    rc = g.wait(30 * SLOW)
    took = time.monotonic() - start
    check(rc == 0, "genred exits 0 at end of file (rc %r)\n%s" % (rc, g.stderr()))
    status = final_status(sub)
    sub.close()
    probs = [m[2] for m in sub.of("genre.probs")]
    want = expected_hops(len(x), info, 0.25)
    check(len(probs) == want, "%d genre.probs, expected exactly %d" % (len(probs), want))
    check(took < seconds / 2, "full speed: %g s of audio took %.2f s" % (seconds, took))
    for m in probs:
        check_probs_message(m, info)
    check(status and status["streams"][0]["hops"] == want, "status counts the hops")
    check(status and status["streams"][0]["state"] == "ended", "state ended")
    check(status and status["streams"][0]["error"] == "" and
          status["streams"][0]["note"] == path + ": end of file",
          "end of file is a note, not an error: %r" % (status and status["streams"][0]))


def test_file_realtime():
    info = model_info()
    rate = 44100  # not the model rate: the resampler is in the path
    hop = 0.5
    path = write_wav(os.path.join(TMP, "rt.wav"), tone(5.2, rate, 2), rate)
    ep = endpoint()
    g = Genred("--input", "file:" + path, "--publish", ep, "--wait-subscriber", "--realtime",
               "--hop", str(hop))
    sub = Subscriber(ep, topics=("genre.probs",))
    start = time.monotonic()
    rc = g.wait(15 * SLOW)
    took = time.monotonic() - start
    sub.wait_for("genre.probs", 5, 1)
    sub.close()
    check(rc == 0, "exit 0 (rc %r)\n%s" % (rc, g.stderr()))
    # Not faster than real time; slower only by start-up, which a loaded
    # machine stretches (load_factor: a CPU hog beside the suite).
    check(5.0 <= took < 5.2 + 1.0 * SLOW * load_factor(),
          "realtime pacing: 5.2 s clip took %.2f s (load %.1f)" % (took, os.getloadavg()[0]))
    times = [m[0] for m in sub.of("genre.probs")]
    check(len(times) >= 5, "at least 5 messages (%d)" % len(times))
    if len(times) >= 3:
        period = (times[-1] - times[0]) / (len(times) - 1)
        # Each message waits on an inference that a CPU hog delays, a first
        # one (the window's) the most: 10 %, or more as the load grows.
        tolerance = 0.1 * SLOW * load_factor()
        check(abs(period - hop) <= tolerance * hop,
              "message period %.3f s within %.0f%% of hop %g s" % (period, 100 * tolerance, hop))
    for _, _, m, _ in sub.of("genre.probs"):
        check_probs_message(m, info)


def write_config(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def test_reload_corrupt_model():
    model = os.path.join(TMP, "model.gmdl")
    shutil.copy(os.path.join(SOURCE, "nn", "default_model.gmdl"), model)
    rate = 22050
    clip = write_wav(os.path.join(TMP, "loop.wav"), tone(4, rate, 1), rate)
    ep = endpoint()
    conf = write_config("reload.conf", 'input = "file:%s";\npublish = "%s";\nmodel = "%s";\n'
                        'hop = 0.25;\nrealtime = true;\nloop = true;\n' % (clip, ep, model))
    g = Genred(config=conf)
    sub = Subscriber(ep, topics=("genre.probs",))
    check(sub.wait_for("genre.probs", 2, deadline(8)), "publishing before the reload")
    before = sub.of("genre.probs")[-1][2]["model"]
    with open(model, "r+b") as f:  # corrupt the weights in place
        f.seek(64)
        f.write(b"\xff" * 256)
    g.proc.send_signal(signal.SIGHUP)
    check(g.wait_log("reload failed"), "the bad reload is refused:\n" + g.stderr())
    n = len(sub.of("genre.probs"))
    check(sub.wait_for("genre.probs", n + 4, deadline(3)), "still publishing after a bad reload")
    after = sub.of("genre.probs")[-1][2]["model"]
    check(after == before, "old model kept (%r, %r)" % (before, after))
    errors = [l for l in g.stderr().splitlines() if "reload failed" in l]
    check(len(errors) == 1, "one clear error line, got %r" % errors)
    check(errors and model in errors[0], "the error names the model file: %r" % errors)
    # And a good reload goes through.
    shutil.copy(os.path.join(SOURCE, "nn", "default_model.gmdl"), model)
    g.proc.send_signal(signal.SIGHUP)
    check(g.wait_log("reload: done"), "good reload logged:\n" + g.stderr())
    n = len(sub.of("genre.probs"))
    check(sub.wait_for("genre.probs", n + 2, deadline(3)), "publishing after a good reload")
    rc = g.stop()
    sub.close()
    check(rc == 0, "clean stop after reloads (rc %r)\n%s" % (rc, g.stderr()[-6000:]))


def hmm_step(before, raw, hop, segment, exponent):
    """The sticky HMM's forward step, the long way: the whole transition
    matrix, then Bayes' rule with the tempered likelihoods."""
    n = len(raw)
    stay = np.exp(-hop / segment)
    transition = np.full((n, n), (1 - stay) / (n - 1))
    np.fill_diagonal(transition, stay)
    joint = (np.asarray(before) @ transition) * np.asarray(raw) ** exponent
    return joint / joint.sum()


def test_reload_decoder():
    """SIGHUP switches the change decoder both ways on a running stream: with
    the hold decoder and no smoothing genre.probs carries the raw
    probabilities; after the switch to hmm every message's probabilities are
    the forward filter's step from the one before (the first one's from the
    last smoothed vector, which the filter takes over), with the reloaded
    segment and exponent; after the switch back they are raw again."""
    rate = 22050
    clip = write_wav(os.path.join(TMP, "decoder.wav"), tone(4, rate, 1), rate)
    ep = endpoint()
    base = ('input = "file:%s";\npublish = "%s";\nhop = 0.25;\nrealtime = true;\nloop = true;\n'
            'smoothing = 0;\n' % (clip, ep))
    conf = write_config("decoder.conf", base + 'change_decoder = "hold";\n')
    g = Genred(config=conf)
    sub = Subscriber(ep, topics=("genre.probs",))

    def raw_again(after, what):
        check(sub.wait_for("genre.probs", after + 4, deadline(8)), "publishing " + what)
        m = sub.of("genre.probs")[-1][2]
        check(np.allclose(m["probs"], m["raw"], atol=1e-6), "%s: probs are raw: %r" % (what, m))

    def reload(text, count):
        write_config("decoder.conf", base + text)
        n = len(sub.of("genre.probs"))
        g.proc.send_signal(signal.SIGHUP)
        check(g.wait_log("reload: done", count) and g.stderr().count("reload: done") == count,
              "reload %d done" % count)
        return n

    raw_again(0, "with the hold decoder")
    n = reload('change_decoder = "hmm";\nhmm_segment = 20.0;\nhmm_exponent = 0.5;\n', 1)
    check(sub.wait_for("genre.probs", n + 12, deadline(8)), "publishing with the hmm decoder")
    ms = [m[2] for m in sub.of("genre.probs")[n - 1:]]
    start = next((i for i, m in enumerate(ms) if not np.allclose(m["probs"], m["raw"], atol=1e-6)),
                 None)
    check(start is not None and start >= 1, "the hmm decoder took over: %r" % ms[-1])
    steps = list(zip(ms[start - 1:], ms[start:])) if start else []
    for a, b in steps:
        # No hop missed (positions are where the worker's block ended).
        check(0 < b["position"] - a["position"] < 1.5 * 0.25 * rate,
              "consecutive hops: %d, %d" % (a["position"], b["position"]))
        want = hmm_step(a["probs"], b["raw"], 0.25, 20.0, 0.5)
        check(np.allclose(b["probs"], want, atol=2e-5),
              "filtered probs %r, the forward step gives %r" % (b["probs"], want.tolist()))
    check(len(steps) >= 8, "%d filtered messages checked" % len(steps))
    raw_again(reload('change_decoder = "hold";\n', 2), "back on the hold decoder")
    rc = g.stop()
    sub.close()
    check(rc == 0, "clean stop after the reloads (rc %r)\n%s" % (rc, g.stderr()[-6000:]))


def test_slow_subscriber():
    """A subscriber that never reads: the pipeline does not slow down, the
    ring never overruns, and the drops are counted."""
    rate = 22050
    seconds = 120 if SLOW == 1 else 40
    path = write_wav(os.path.join(TMP, "long.wav"), tone(seconds, rate, 1), rate)
    ep = endpoint()
    conf = write_config("slow.conf", 'send_hwm = 2;\ndrop_policy = "count";\n')
    g = Genred("--input", "file:" + path, "--publish", ep, "--hop", "0.02", "--wait-subscriber",
               config=conf)
    stalled = Subscriber(ep, rcvhwm=1, read=False)
    start = time.monotonic()
    rc = g.wait(30 * SLOW)
    took = time.monotonic() - start
    stalled.close()
    log = g.stderr()
    check(rc == 0, "exit 0 (rc %r)\n%s" % (rc, log))
    check(took < seconds / 4, "%d s of audio took %.1f s despite the stalled subscriber" % (
        seconds, took))
    line = [l for l in log.splitlines() if "published" in l and "dropped" in l]
    dropped = int(line[0].split("dropped")[1]) if line else 0
    check(dropped > 0, "drops counted: %r" % line)
    check(" 0 overruns" in log, "no ring overruns:\n" + log)


def sequence_ids(messages):
    """(topic, stream, started_ms, seq) of each message, which names it."""
    return [(m[1], m[2]["stream"], m[2]["started_ms"], m[2]["seq"]) for m in messages
            if m[1] in ("genre.probs", "genre.change")]


def test_late_subscriber():
    """With a 5 s hop, a subscriber joining between hops with a snapshot
    request gets the last genre.probs at once from the cache, not 5 s later,
    and only it: the subscribers already there see nothing twice. One asking
    for genre.change alone gets the current state (the last change) the same
    way, and nothing else; one asking for no snapshot gets none."""
    rate = 22050
    clip = write_wav(os.path.join(TMP, "late.wav"), tone(4, rate, 1), rate)
    ep = endpoint()
    g = Genred("--input", "file:" + clip, "--publish", ep, "--realtime", "--loop", "--hop", "5",
               "--change-hold", "0")
    first = Subscriber(ep, topics=("genre.probs", "genre.change"))
    check(first.wait_for("genre.probs", 1, deadline(6)), "first genre.probs")
    check(first.wait_for("genre.change", 1, deadline(1)), "first genre.change")
    # At once: within 0.5 s on an idle machine, and always well before the
    # next hop (5 s), which a late subscriber would otherwise wait for.
    at_once = min(4.0, deadline(0.5))
    joined = time.monotonic()
    changes = Subscriber(ep, topics=("genre.change",), snapshot="genre.change")
    plain = Subscriber(ep, topics=("genre.change",))
    got = changes.wait_for("genre.change", 1, deadline(1.0))
    delay = changes.of("genre.change")[0][0] - joined if got else None
    check(got and delay < at_once, "late genre.change subscriber got the state after %r s" %
          delay)
    if got:
        check(changes.of("genre.change")[0][2] == first.of("genre.change")[-1][2] and
              changes.of("genre.change")[0][3], "the snapshot holds the latest genre.change")
    check(not changes.of("genre.probs"), "a genre.change snapshot holds no genre.probs")
    time.sleep(0.3)
    check(not plain.of("genre.change"), "a subscriber that asks for no snapshot gets none")
    changes.close()
    plain.close()
    joined = time.monotonic()
    late = Subscriber(ep, topics=("genre.",), snapshot="")
    got = late.wait_for("genre.probs", 1, deadline(1.0))
    delay = late.of("genre.probs")[0][0] - joined if got else None
    check(got and delay < at_once, "late subscriber got genre.probs after %r s" % delay)
    if got:
        check(late.of("genre.probs")[0][2]["position"] == first.of("genre.probs")[-1][2][
            "position"], "the cached message is the latest one")
    late.close()
    time.sleep(0.3)
    ids = sequence_ids(first.messages)
    check(len(ids) == len(set(ids)), "the first subscriber saw nothing twice: %r" % ids)
    first.close()
    check(g.stop() == 0, "clean stop")


def music_then_silence(path, rate, music_s=3, silence_s=3):
    x = np.concatenate([tone(music_s, rate), np.zeros((int(silence_s * rate), 1), np.float32)])
    return write_wav(path, x, rate)


def test_change_log():
    """A day's genre.change log in miniature: `genre-sub --json
    genre.change` writes it while five subscribers join (each with its
    snapshot) and leave; the log holds each change once, none missing, and a
    raw subscriber that drops nothing receives none twice."""
    rate = 22050
    clip = music_then_silence(os.path.join(TMP, "changes.wav"), rate)
    ep = endpoint()
    g = Genred("--input", "file:" + clip, "--publish", ep, "--realtime", "--loop", "--hop",
               "0.25", "--change-hold", "0.5", "--smoothing", "0.5")
    raw = Subscriber(ep, topics=("genre.change",))
    tool = EMULATOR + [os.path.join(BUILD, "bin", "genre-sub")]
    log_path = os.path.join(TMP, "day.jsonl")
    with open(log_path, "w") as log:
        logger = subprocess.Popen(tool + ["--json", ep, "genre.change"], stdout=log,
                                  stderr=subprocess.PIPE, text=True)
        check(raw.wait_for("genre.change", 2, deadline(15)), "changes come")
        for i in range(5):
            joiner = subprocess.run(tool + ["--json", "--count", "1", "--timeout",
                                            str(10 * SLOW), ep, "genre.change"],
                                    capture_output=True, text=True, timeout=20 * SLOW)
            check(joiner.returncode == 0 and '"genre.change"' in joiner.stdout,
                  "subscriber %d got the current state from its snapshot: %r %r"
                  % (i, joiner.stdout, joiner.stderr))
            time.sleep(0.5)
        n = len(raw.of("genre.change"))
        check(raw.wait_for("genre.change", n + 2, deadline(15)), "changes go on")
        time.sleep(0.5)
        logger.send_signal(signal.SIGINT)
        logger.communicate(timeout=10 * SLOW)
    with open(log_path) as f:
        logged = [json.loads(line) for line in f]
    ids = [(m["stream"], m["started_ms"], m["seq"]) for m in logged]
    check(len(logged) >= 4 and len(ids) == len(set(ids)),
          "the log holds each change once: %r" % ids)
    seqs = [m["seq"] for m in logged]
    check(seqs == list(range(seqs[0], seqs[0] + len(seqs))), "and none is missing: %r" % seqs)
    raw_ids = sequence_ids(raw.messages)
    check(len(raw_ids) == len(set(raw_ids)), "a raw subscriber got none twice: %r" % raw_ids)
    raw.close()
    check(g.stop() == 0, "clean stop")


class FakePublisher:
    """An XPUB that plays a script of genre.change messages to one client:
    the same message live, in the client's snapshot and live again, a next
    one, a restarted genred's first, and one from a genred before seq."""

    def __init__(self, ep):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.XPUB)
        self.sock.bind(ep)

    def snapshot_topic(self, timeout):
        """The client's snapshot subscription that covers genre.change, once
        its live one that does has come too (an XPUB passes a subscription
        on once it applies it): then nothing the script sends is filtered
        out."""
        end = time.monotonic() + timeout
        snapshot, live = None, False
        while time.monotonic() < end and not (snapshot and live):
            if self.sock.poll(100):
                sub = self.sock.recv()
                if sub[:1] == b"\x01" and sub[1:].startswith(b"snapshot/"):
                    nonce, rest = sub[1:].rsplit(b"/", 1)
                    if b"genre.change".startswith(rest):
                        snapshot = nonce + b"/genre.change"
                elif sub[:1] == b"\x01" and b"genre.change".startswith(sub[1:]):
                    live = True
        return snapshot if live else None

    def play(self, snapshot):
        def change(started, seq, new):
            m = {"v": 1, "stream": "main", "time_ms": 0, "position": 0, "model": "m",
                 "previous": None, "new": new, "silence": False, "previous_silence": False,
                 "p": 0.9}
            if seq:
                m.update(started_ms=started, seq=seq)
            return json.dumps(m).encode()
        script = [(b"genre.change", change(100, 1, "jazz")),
                  (snapshot, change(100, 1, "jazz")),
                  (b"genre.change", change(100, 1, "jazz")),
                  (b"genre.change", change(100, 2, "rock")),
                  (b"genre.change", change(100, 1, "jazz")),
                  (b"genre.change", change(200, 1, "blues")),
                  (b"genre.change", change(0, 0, "metal")),
                  (b"genre.change", change(0, 0, "metal"))]
        for frames in script:
            self.sock.send_multipart(frames)

    def close(self):
        self.sock.close(linger=0)
        self.ctx.term()


def test_clients_drop_duplicates():
    """genre-sub and the Python and Node examples print each message once,
    by (topic, stream, started_ms, seq): what they saw live does not come
    again from their snapshot, a restarted genred's messages do come, and so
    does everything from a genred that sends no seq."""
    want = ["jazz", "rock", "blues", "metal", "metal"]
    tool = EMULATOR + [os.path.join(BUILD, "bin", "genre-sub")]
    clients = {"genre-sub": tool + ["--json", "--timeout", str(2 * SLOW)],
               "subscribe.py": ["/usr/bin/python3", os.path.join(SOURCE, "tools", "examples",
                                                                 "subscribe.py"),
                                "--timeout", str(2 * SLOW)]}
    node = shutil.which("node")
    if node and os.path.isdir(os.path.join(SOURCE, "tools", "examples", "node_modules",
                                           "zeromq")):
        clients["subscribe.js"] = [node, os.path.join(SOURCE, "tools", "examples",
                                                      "subscribe.js"), "--timeout",
                                   str(2 * SLOW)]
    for name, argv in clients.items():
        ep = endpoint("dups")
        pub = FakePublisher(ep)
        proc = subprocess.Popen(argv + [ep] + (["genre.change"] if name == "genre-sub" else []),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        snapshot = pub.snapshot_topic(10 * SLOW)
        check(snapshot is not None, "%s asks for a snapshot and subscribes" % name)
        if snapshot:
            pub.play(snapshot)
        out, err = proc.communicate(timeout=20 * SLOW)
        pub.close()
        if name == "genre-sub":
            got = [json.loads(l)["new"] for l in out.splitlines()]
        else:
            got = [l.split()[-1] for l in out.splitlines() if l.startswith("genre.change")]
        check(got == want, "%s printed each once: %r (%r)" % (name, got, err))


def expect_config_error(text, *needles):
    path = write_config("bad.conf", text)
    out = subprocess.run(GENRED + ["--config", path, "--check-config"], capture_output=True,
                         text=True)
    lines = out.stderr.strip().splitlines()
    check(out.returncode == 1, "bad config %r: exit 1, got %d" % (text, out.returncode))
    check(len(lines) == 1, "one line: %r" % out.stderr)
    for n in needles:
        check(n in out.stderr, "%r in %r" % (n, out.stderr))


def test_bad_config():
    p = os.path.join(TMP, "bad.conf")
    expect_config_error("hop = 0.5;\nsmoothing = ;\n", p + ":2:")
    expect_config_error("hop = 0.5;\n\nhopp = 1.0;\n", p + ":3:", "unknown key 'hopp'")
    expect_config_error('hop = "fast";\n', p + ":1:", "hop must be a number")
    expect_config_error("print = 1;\n", p + ":1:", "print must be true or false")
    expect_config_error("hop = -1.0;\n", p + ":1:", "hop must be in")
    expect_config_error('drop_policy = "never";\n', p + ":1:", "drop_policy")
    expect_config_error('streams = ( { name = "a"; input = "stdin"; bogus = 1; } );\n', p + ":1:",
                        "unknown key 'bogus'")
    expect_config_error('input = "stdin";\nstreams = ( { name = "a"; input = "stdin"; } );\n',
                        "cannot be combined")
    # 1024 streams at most (genre.status, one message, is sized for them):
    # 1000 parse; none, or 1025, is an error naming the line.
    def many(n):
        return "streams = (%s);\n" % ", ".join(
            '{ name = "s%d"; input = "stdin"; }' % i for i in range(n))

    expect_config_error("streams = ();\n", p + ":1:", "at least one stream")
    out = subprocess.run(GENRED + ["--check-config", "--config",
                          write_config("many.conf", many(1000))], capture_output=True, text=True)
    check(out.returncode == 0 and "1000 stream(s)" in out.stdout, "1000 streams: " + out.stdout
          + out.stderr)
    expect_config_error(many(1025), p + ":1:", "1025 streams", "at most 1024")
    out = subprocess.run(GENRED + ["--config", os.path.join(TMP, "missing.conf")],
                         capture_output=True, text=True)
    check(out.returncode == 1 and "missing.conf" in out.stderr, "missing file: " + out.stderr)
    # A text file renamed .wav is "not an audio file", in one line at start.
    notes = write_config("notes.wav", "track list\n1. intro\n")
    out = subprocess.run(GENRED + ["--input", "file:" + notes, "--publish", endpoint()],
                         capture_output=True, text=True, timeout=10 * SLOW)
    err = out.stderr.strip().splitlines()
    check(out.returncode == 1 and len(err) == 1 and
          err[0].endswith("%s: not an audio file (it holds text)" % notes),
          "text file as file: input: rc %d, %r" % (out.returncode, out.stderr))
    # The shipped example parses.
    out = subprocess.run(GENRED + ["--check-config", "--config",
                          os.path.join(SOURCE, "config", "genred.conf")],
                         capture_output=True, text=True)
    check(out.returncode == 0, "config/genred.conf is valid: " + out.stdout + out.stderr)
    # Bad flags.
    for args, needle in ((["--hop", "abc"], "--hop: expected a number"),
                         (["--hop"], "needs a value"), (["--frobnicate"], "unknown option"),
                         (["--input", "stdin:s17le"], "unknown sample format 's17le'"),
                         (["--input", "stdin:s16le:5:2"], "rate '5'"),
                         (["--input", "tape:1"], "unknown source 'tape'"),
                         (["--input", "file:/nonexistent.wav"], "/nonexistent.wav"),
                         (["--log-level", "loud"], "log_level")):
        out = subprocess.run(GENRED + ["--publish", endpoint("flags")] + args,
                             capture_output=True, text=True, timeout=10 * SLOW)
        # A bad flag is a command-line error: exit 2 (genred.8).
        check(out.returncode == 2 and needle in out.stderr,
              "%r: rc %d, %r" % (args, out.returncode, out.stderr))
        check(len(out.stderr.strip().splitlines()) == 1, "%r: one line: %r" % (args, out.stderr))


def check_one_line_error(args, what, *needles, timeout=10):
    """genred ARGS --check-config: exit 1 within timeout s (generous: the
    point is that it returns), one line containing every needle."""
    start = time.monotonic()
    try:
        out = subprocess.run(GENRED + args + ["--check-config"], capture_output=True, text=True,
                             errors="replace", timeout=timeout * SLOW)
    except subprocess.TimeoutExpired:
        check(False, "%s: --check-config still running after %g s" % (what, timeout * SLOW))
        return
    lines = out.stderr.strip().splitlines()
    check(out.returncode == 1 and len(lines) == 1 and all(n in out.stderr for n in needles),
          "%s: exit 1 with one line naming %r in %.1f s (rc %d, %r)"
          % (what, needles, time.monotonic() - start, out.returncode, out.stderr))


def test_settings_files():
    """What a config names that cannot work is refused at once with one
    line (issue 27): a FIFO as config or model (it used to block), a config
    too large to parse in reasonable time, stream names that are not
    printable UTF-8, an ipc:// endpoint whose directory cannot take the
    socket. A reload onto a FIFO is refused and SIGTERM still answered."""
    fifo = os.path.join(TMP, "fifo")
    os.mkfifo(fifo)
    check_one_line_error(["--config", fifo], "config FIFO", fifo, "FIFO")
    check_one_line_error(["--input", "stdin", "--model", fifo], "model FIFO", fifo,
                         "not a regular file")
    big = write_config("big.conf", 'model = "%s";\n' % ("x" * (2 << 20)))
    check_one_line_error(["--config", big], "a 2 MiB config", big, "more than the 1048576")
    newline = write_config("newline.conf",
                           'streams = ( { name = "a\\nforged: line"; input = "stdin"; } );\n')
    check_one_line_error(["--config", newline], "a newline in a name", newline + ":1:",
                         "'a\\x0Aforged: line'", "not printable UTF-8")
    latin = os.path.join(TMP, "latin1.conf")
    with open(latin, "wb") as f:
        f.write(b'name = "caf\xe9";\ninput = "stdin";\n')
    check_one_line_error(["--config", latin], "a Latin-1 name", latin + ":1:", "'caf\\xE9'")
    check_one_line_error(["--input", "stdin", "--publish", "ipc://%s/no/such/dir/pub" % TMP],
                         "ipc in a missing directory", "/no/such/dir", "No such file")
    check_one_line_error(["--input", "stdin", "--publish", "ipc://%s/pub" % big],
                         "ipc under a file", "is not a directory")
    # Reloads: the model, then the config itself, replaced by a FIFO.
    model = os.path.join(TMP, "fifo-model.gmdl")
    shutil.copy(os.path.join(SOURCE, "nn", "default_model.gmdl"), model)
    ep = endpoint()
    conf = write_config("fifo-reload.conf", 'input = "stdin:s16le:22050:1";\npublish = "%s";\n'
                        'model = "%s";\n' % (ep, model))
    g = Genred(config=conf, stdin=subprocess.PIPE)
    sub = Subscriber(ep, topics=("genre.status",))
    check(sub.wait_for("genre.status", 1, deadline(10)), "running")
    for path in (model, conf):
        os.rename(path, path + ".real")
        os.mkfifo(path)
        n = g.stderr().count("reload failed")
        g.proc.send_signal(signal.SIGHUP)
        end = time.monotonic() + 10 * SLOW
        while g.stderr().count("reload failed") == n and time.monotonic() < end:
            time.sleep(0.05)
        errors = [l for l in g.stderr().splitlines() if "reload failed" in l][n:]
        check(len(errors) == 1 and path in errors[0] and "regular file" in errors[0],
              "a reload onto a FIFO %s fails at once, one line: %r" % (path, errors))
        os.remove(path)
        os.rename(path + ".real", path)
    start = time.monotonic()
    g.proc.send_signal(signal.SIGTERM)
    rc = g.wait(10 * SLOW)
    check(rc == 0, "SIGTERM after the FIFO reloads: exit 0 in %.2f s (rc %r)"
          % (time.monotonic() - start, rc))
    g.proc.stdin.close()
    sub.close()


def test_odd_input_name():
    """A file input whose name is not UTF-8 (a Latin-1 archive): genre.status
    still carries the stream, the name made readable with U+FFFD."""
    rate = 22050
    path = os.path.join(TMP, "caf\udce9.wav")  # surrogateescape: the byte 0xE9
    write_wav(path, tone(4, rate, 1), rate)
    ep = endpoint()
    g = Genred("--input", "file:" + path, "--publish", ep, "--wait-subscriber",
               "--status-interval", "0.2")
    sub = Subscriber(ep, topics=("genre.status",))
    rc = g.wait(20 * SLOW)
    check(rc == 0, "exit 0 (rc %r)" % rc)
    status = final_status(sub)
    sub.close()
    streams = status["streams"] if status else []
    check(len(streams) == 1 and streams[0]["input"].endswith("caf\ufffd.wav"),
          "genre.status has the stream, its input readable: %r" % streams)
def settings_in_effect(*args):
    """--check-config's `settings:` line as {key: value text}."""
    out = subprocess.run(GENRED + ["--check-config"] + list(args), capture_output=True, text=True)
    check(out.returncode == 0, "--check-config %r: %r" % (args, out.stderr))
    line = [l for l in out.stdout.splitlines() if l.startswith("genred: settings: ")]
    check(len(line) == 1, "one settings line: %r" % out.stdout)
    pairs = line[0][len("genred: settings: "):].rstrip(";").split("; ") if line else []
    return dict(p.split(" = ", 1) for p in pairs)


def test_help_defaults():
    """Every default --help shows is the one the parser starts from (they
    once said smoothing 1.5 and change-hold 2 while the real ones were 0 and
    5), and config/genred.conf, whose values say they are the defaults, sets
    exactly the same."""
    empty = write_config("empty.conf", "")
    defaults = settings_in_effect("--config", empty)
    help_text = subprocess.run(GENRED + ["--help"], capture_output=True, text=True).stdout
    shown = {}
    for line in help_text.splitlines():
        opt = line[6:].split()[0] if line.startswith("      --") else ""
        value = line.rsplit("(", 1)[-1].split(";")[0].rstrip(")") if line.endswith(")") else None
        if opt and value is not None and opt[2:].replace("-", "_") in defaults:
            shown[opt[2:].replace("-", "_")] = value
    check(set(shown) == {"hop", "smoothing", "change_hold", "change_decoder", "silence_dbfs",
                         "status_interval", "send_hwm", "drop_policy", "ring_seconds",
                         "log_level"},
          "--help shows the defaults of the scalar flags: %r" % shown)
    for key, value in shown.items():
        want = defaults[key].strip('"')
        same = value == want
        if not same:
            try:
                same = float(value) == float(want)
            except ValueError:
                pass
        check(same, "--help says --%s defaults to %s; the parser's default is %s" % (
            key.replace("_", "-"), value, want))
    example = settings_in_effect("--config", os.path.join(SOURCE, "config", "genred.conf"))
    check(example == defaults, "config/genred.conf sets the built-in defaults: %r vs %r" % (
        {k: v for k, v in example.items() if defaults.get(k) != v},
        {k: v for k, v in defaults.items() if example.get(k) != v}))
    flags = settings_in_effect("--config", empty, "--smoothing", "1.5", "--loop=3")
    check(flags["smoothing"] == "1.5" and flags["loop"] == "3",
          "the settings line shows flags in effect: %r" % flags)


def test_endpoint_in_use():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    port = s.getsockname()[1]
    ep = "tcp://127.0.0.1:%d" % port
    out = subprocess.run(GENRED + ["--input", "stdin", "--publish", ep], stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=10 * SLOW)
    s.close()
    check(out.returncode == 1, "endpoint in use: exit 1 (rc %d)" % out.returncode)
    check("publish '%s'" % ep in out.stderr and "in use" in out.stderr,
          "clear error: %r" % out.stderr)


def test_sigterm():
    ep = endpoint()
    g = Genred("--input", "stdin:s16le:22050:1", "--publish", ep, stdin=subprocess.PIPE)
    sub = Subscriber(ep, snapshot="")  # the audio may all be done before it joins
    g.proc.stdin.write((tone(5, 22050) * 32767).astype("<i2").tobytes())
    g.proc.stdin.flush()
    check(sub.wait_for("genre.probs", 1, deadline(5)), "publishing")
    start = time.monotonic()
    g.proc.send_signal(signal.SIGTERM)  # stdin still open: the reader is waiting
    rc = g.wait(30 * SLOW)
    took = time.monotonic() - start
    check(rc == 0, "SIGTERM: exit 0 (rc %r)" % rc)
    # Prompt: the reader's wait on stdin does not hold the stop up. The limit
    # grows with the machine's load (a CPU hog beside the suite).
    limit = 1.0 * SLOW * load_factor()
    check(took < limit, "stopped in %.2f s (limit %.1f s)" % (took, limit))
    g.proc.stdin.close()
    # The closing status says the stream ended and why, not "running".
    status = final_status(sub)
    sub.close()
    s = status["streams"][0] if status else {}
    check(s.get("state") == "ended" and s.get("note") == "genred stopped by SIGTERM" and
          s.get("error") == "", "closing status after SIGTERM: %r" % s)
    # 64 streams stop together, not one after another: each worker and file
    # reader may be asleep for up to 50 ms, 6 s in a row. About 2 s.
    wav = write_wav(os.path.join(TMP, "many.wav"), tone(2, 22050, 1), 22050)
    conf = write_config("many-stop.conf", "streams = (%s);\npublish = \"%s\";\n" % (", ".join(
        '{ name = "s%d"; input = "file:%s"; }' % (i, wav) for i in range(64)), endpoint("many")))
    status_sub = Subscriber(endpoint("many"), topics=("genre.status",))
    g = Genred("--realtime", "--loop", "--status-interval", "0.2", config=conf)
    check(all_running(status_sub, 64, deadline(30)),
          "64 streams running: " + g.stderr()[-300:])
    status_sub.close()
    start = time.monotonic()
    g.proc.send_signal(signal.SIGTERM)
    rc = g.wait(30 * SLOW)
    took = time.monotonic() - start
    # One after another they would sleep 1.6 s on average before any work.
    limit = 1.0 * SLOW * load_factor()
    check(rc == 0 and took < limit, "64 streams: exit %r in %.2f s (limit %.1f s, load %.1f)"
          % (rc, took, limit, os.getloadavg()[0]))


def all_running(sub, n, timeout):
    """Waits for a genre.status with n streams, all running."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for m in sub.of("genre.status"):
            streams = m[2].get("streams", [])
            if len(streams) == n and all(s.get("state") == "running" for s in streams):
                return True
        time.sleep(0.05)
    return False


def pcm(seconds, rate=22050):
    return (tone(seconds, rate, 1) * 32767).astype("<i2").tobytes()


def test_example_subscriber():
    """tools/examples/subscribe.py against the real daemon."""
    ep = endpoint()
    g = Genred("--input", "stdin:s16le:22050:1", "--publish", ep, "--wait-subscriber",
               stdin=subprocess.PIPE)
    sub = subprocess.Popen(["/usr/bin/python3", os.path.join(SOURCE, "tools", "examples",
                                                             "subscribe.py"), ep, "--count", "3",
                            "--timeout", str(8 * SLOW)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    g.proc.stdin.write(pcm(5))
    g.proc.stdin.flush()
    out, err = sub.communicate(timeout=20 * SLOW)
    g.proc.stdin.close()
    check(g.wait(10 * SLOW) == 0, "clean exit")
    lines = out.splitlines()
    check(sub.returncode == 0 and len(lines) == 3, "subscribe.py: %r %r" % (lines, err))
    check(all(l.startswith("genre.") and " main " in l for l in lines), "lines: %r" % lines)


def test_genre_sub():
    ep = endpoint()
    g = Genred("--input", "stdin:s16le:22050:1", "--publish", ep, "--status-interval", "0.2",
               "--log-level", "debug", stdin=subprocess.PIPE)
    tool = EMULATOR + [os.path.join(BUILD, "bin", "genre-sub")]
    js = subprocess.Popen(tool + ["--json", "--count", "3", "--timeout", str(8 * SLOW), ep,
                           "genre.probs"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
    pretty = subprocess.Popen(tool + ["--count", "2", "--timeout", str(8 * SLOW), ep,
                               "genre.status"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    # Both subscribed before the audio comes (genred logs each subscription).
    check(wait_subscriptions(g, ["genre.probs", "genre.status"], deadline(30)),
          "both genre-subs have subscribed\n" + g.stderr())
    g.proc.stdin.write(pcm(5))
    g.proc.stdin.flush()
    js_out, js_err = js.communicate(timeout=20 * SLOW)
    pretty_out, pretty_err = pretty.communicate(timeout=20 * SLOW)
    g.proc.stdin.close()
    check(g.wait(10 * SLOW) == 0, "clean exit")
    lines = js_out.splitlines()
    check(js.returncode == 0 and len(lines) == 3, "genre-sub --json: %r" % js_err)
    for l in lines:
        m = json.loads(l)
        check(m["topic"] == "genre.probs" and m["stream"] == "main", "json line: %r" % l)
    check(pretty.returncode == 0 and pretty_out.count("status:") == 2,
          "genre-sub pretty: %r %r" % (pretty_out, pretty_err))


def page_status(port, deadline):
    """The first genre.status genre-web relays on /events, parsed; None if
    none comes before the deadline (time.monotonic()). HTTP/1.0, so that
    the events come unchunked."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"GET /events HTTP/1.0\r\n\r\n")
    buf, mark = b"", b"event: genre.status\ndata: "
    try:
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(1 << 20)
            except socket.timeout:
                continue
            if not chunk:
                return None
            buf += chunk
            at = buf.find(mark)
            end = buf.find(b"\n\n", at) if at >= 0 else -1
            if end >= 0:
                return json.loads(buf[at + len(mark):end])
    finally:
        sock.close()
    return None


def test_many_streams_status():
    """genre.status lists every stream in one message, over the 256 KiB of
    the other topics: 400 file: streams with 63-byte names and 500-byte
    paths (about 0.8 kB a stream, 0.3 MB in all) reach genre-sub (its
    receive cap and the protocol's parse) whole, and genre-web's page gets
    every stream's state (the fields it shows: a whole status no longer
    fits its frames). The files are shorter than a window, so genred does
    little more than open them and play them 10 times in real time."""
    n = 400 if SLOW == 1 else 100
    folder = os.path.join(TMP, "d" * 230, "e" * 230)
    os.makedirs(folder)
    rate = int(model_info()["frontend"]["sample_rate"])
    path = write_wav(os.path.join(folder, "short.wav"), tone(0.2, rate), rate)
    names = ["s%03d-" % i + "n" * 58 for i in range(n)]
    conf = write_config("many_status.conf", "realtime = true;\nloop = 10;\nstreams = (\n%s\n);\n"
                        % ",\n".join('  { name = "%s"; input = "file:%s"; }' % (name, path)
                                     for name in names))
    ep = endpoint("many")
    web = subprocess.Popen(EMULATOR + [os.path.join(BUILD, "bin", "genre-web"), "--listen",
                                       "127.0.0.1:0", "--endpoint", ep],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    port = int(web.stdout.readline().strip().rsplit(":", 1)[1].split("/")[0])
    page = {}
    reader = threading.Thread(target=lambda: page.update(
        status=page_status(port, time.monotonic() + 60 * SLOW)), daemon=True)
    reader.start()
    sub = subprocess.Popen(EMULATOR + [os.path.join(BUILD, "bin", "genre-sub"), "--json",
                                       "--count", "1", "--timeout", str(30 * SLOW), ep,
                                       "genre.status"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)  # both subscribed (a missed first status only costs a second)
    g = Genred("--publish", ep, "--status-interval", "1", config=conf)
    out, err = sub.communicate(timeout=60 * SLOW)
    reader.join(60 * SLOW)
    g.wait(60 * SLOW)
    web.terminate()
    web_log = web.communicate(timeout=10)[1]
    check(sub.returncode == 0 and out.strip(), "genre-sub got a genre.status: %r %r\n%s"
          % (out[-300:], err[-300:], g.stderr()[-600:]))
    if sub.returncode or not out.strip():
        return
    line = out.strip()
    status = json.loads(line)
    got = [st["name"] for st in status["streams"]]
    check(got == names, "every stream, in config order (%d of %d)" % (len(got), n))
    check(all(st["input"] == "file:" + path for st in status["streams"]), "inputs whole")
    if SLOW == 1:
        check(len(line) > 256 * 1024, "over the other topics' 256 KiB: %d bytes" % len(line))
    print("genre.status of %d streams: %d bytes, %.0f a stream" % (n, len(line), len(line) / n))
    check("over the protocol" not in g.stderr(), "genred dropped nothing: " + g.stderr()[-300:])
    shown = page.get("status") or {"streams": []}
    check([st.get("name") for st in shown["streams"]] == names and
          all(st.get("state") in ("starting", "running", "ended") for st in shown["streams"]),
          "genre-web's page gets every stream's state (%d of %d)\n%s"
          % (len(shown["streams"]), n, web_log[-600:]))


def test_streams_and_silence():
    """Two streams from a config file share one model: each message names
    its stream, and the silent one reports silence instead of a genre."""
    info = model_info()
    rate = int(info["frontend"]["sample_rate"])
    music = write_wav(os.path.join(TMP, "music.wav"), tone(6, rate, 1), rate)
    hiss = np.random.default_rng(3).standard_normal((6 * rate, 1)) * 3e-4  # about -70 dBFS
    quiet = write_wav(os.path.join(TMP, "quiet.wav"), hiss, rate)
    ep = endpoint()
    conf = write_config("two.conf", 'streams = ( { name = "music"; input = "file:%s"; },\n'
                        '            { name = "quiet"; input = "file:%s"; } );\n'
                        'publish = "%s";\n'
                        # 6 s files: a hold shorter than the default's 5 s.
                        'smoothing = 1.5;\nchange_hold = 1.0;\n' % (music, quiet, ep))
    g = Genred("--wait-subscriber", "--print", config=conf)
    g.proc.stdout = None
    sub = Subscriber(ep)
    rc = g.wait(20 * SLOW)
    check(rc == 0, "exit 0 (rc %r)\n%s" % (rc, g.stderr()))
    status = final_status(sub)
    sub.close()
    want = expected_hops(6 * rate, info, 0.5)
    for name, silent in (("music", False), ("quiet", True)):
        probs = [m[2] for m in sub.of("genre.probs") if m[2]["stream"] == name]
        check(len(probs) == want, "%s: %d genre.probs, expected %d" % (name, len(probs), want))
        for m in probs:
            check_probs_message(m, info)
            check(m["silence"] == silent, "%s: silence is %r" % (name, silent))
        if silent and probs:
            check(probs[0]["level_dbfs"] < -60, "quiet level %r" % probs[0]["level_dbfs"])
    changes = [m[2] for m in sub.of("genre.change")]
    check(any(c["stream"] == "music" and c["new"] in info["labels"] for c in changes),
          "music stream announced its genre: %r" % changes)
    check(any(c["stream"] == "quiet" and c["new"] is None and c["silence"] for c in changes),
          "quiet stream announced silence: %r" % changes)
    check(status and [s["name"] for s in status["streams"]] == ["music", "quiet"],
          "status lists both streams")


def wait_subscriptions(g, topics, timeout):
    """Waits until genred (at --log-level debug) has logged a subscription
    for each of topics (a topic twice for two subscribers)."""
    end = time.monotonic() + timeout
    while True:
        seen = [l.split("subscription '", 1)[1][:-1] for l in g.stderr().splitlines()
                if ": debug: subscription '" in l]
        if all(seen.count(t) >= topics.count(t) for t in topics):
            return True
        if time.monotonic() > end or g.proc.poll() is not None:
            return False
        time.sleep(0.02)


def test_silence_change():
    """Music, digital silence, music again on stdin: the change into silence
    and the one out of it are both visible (previous_silence; genre-sub
    prints "(silence) ->"), and the closing status keeps the ordinary end of
    input out of `error`."""
    rate = 22050
    # Silence long enough for whole 3 s windows of it to hold 1 s.
    quiet = np.zeros((6 * rate, 1), np.float32)
    x = np.concatenate([tone(5, rate), quiet, tone(5, rate, seed=2)])
    data = (x * 32767).astype("<i2").tobytes()
    ep = endpoint()
    g = Genred("--input", "stdin:s16le:%d:1" % rate, "--publish", ep, "--change-hold", "1",
               "--smoothing", "1.5", "--log-level", "debug", stdin=subprocess.PIPE)
    tool = os.path.join(BUILD, "bin", "genre-sub")
    pretty = subprocess.Popen([tool, "--count", "3", "--timeout", str(20 * SLOW), ep,
                               "genre.change"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    # README's Python example, which stops once nothing came for a while.
    example = subprocess.Popen(["/usr/bin/python3", os.path.join(SOURCE, "tools", "examples",
                                                                 "subscribe.py"), ep,
                                "--timeout", str(6 * SLOW)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    sub = Subscriber(ep)
    # All three subscribed before the audio comes (genred takes it in a few
    # ms): genred logs each subscription it gets at debug level.
    check(wait_subscriptions(g, ["", "genre.change", "genre.change", "genre.probs"], 30 * SLOW),
          "the three subscribers have subscribed")
    g.proc.stdin.write(data)
    g.proc.stdin.close()
    check(g.wait(20 * SLOW) == 0, "clean exit\n" + g.stderr())
    out, err = pretty.communicate(timeout=20 * SLOW)
    status = final_status(sub)
    sub.close()
    changes = [m[2] for m in sub.of("genre.change")]
    kinds = [(c["previous"] is None, c["previous_silence"], c["new"] is None, c["silence"])
             for c in changes]
    check(kinds == [(True, False, False, False), (False, False, True, True),
                    (True, True, False, False)],
          "start -> genre, genre -> silence, silence -> genre: %r" % changes)
    lines = out.splitlines()
    check(pretty.returncode == 0 and len(lines) == 3, "genre-sub: %r %r" % (out, err))
    if len(lines) == 3:
        check("(none) -> " in lines[0] and "-> (silence)" in lines[1] and
              "(silence) -> " in lines[2], "genre-sub shows silence: %r" % lines)
    out, _ = example.communicate(timeout=20 * SLOW)
    lines = [l for l in out.splitlines() if l.startswith("genre.change")]
    check(len(lines) == 3 and "main (none) -> " in " ".join(lines[0].split()) and
          lines[1].endswith("-> (silence)") and "main (silence) -> " in " ".join(lines[2].split()),
          "subscribe.py shows silence, not None: %r" % lines)
    check(status is not None, "a closing genre.status")
    if status:
        s = status["streams"][0]
        check(s["error"] == "" and s["note"] == "stdin: end of input",
              "an ordinary end is a note, not an error: %r" % s)


def test_print():
    info = model_info()
    rate = int(info["frontend"]["sample_rate"])
    path = write_wav(os.path.join(TMP, "print.wav"), tone(5, rate, 1), rate)
    out = subprocess.run(GENRED + ["--input", "file:" + path, "--publish", endpoint(), "--print",
                          "--log-level", "warn"], capture_output=True, text=True,
                         timeout=20 * SLOW)
    lines = out.stdout.splitlines()
    check(out.returncode == 0, "exit 0: %r" % out.stderr)
    check(len(lines) == expected_hops(5 * rate, info, 0.5), "one line per hop: %r" % lines)
    check(all(l.startswith("main ") and "dBFS" in l and
              any(lab in l for lab in info["labels"]) for l in lines), "lines: %r" % lines)
    check(out.stderr == "", "--log-level warn keeps stderr quiet: %r" % out.stderr)


def test_print_closed():
    """genred --print | head -2: one warning when the reader goes, and genred
    carries on publishing to the end of the input."""
    info = model_info()
    rate = int(info["frontend"]["sample_rate"])
    path = write_wav(os.path.join(TMP, "closed.wav"), tone(5, rate, 1), rate)
    sub = Subscriber(endpoint())
    proc = subprocess.Popen(GENRED + ["--input", "file:" + path, "--loop=4", "--publish", endpoint(),
                             "--print", "--log-level", "warn", "--wait-subscriber"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    proc.stdout.close()  # the reader goes away after one line
    err = proc.communicate(timeout=30 * SLOW)[1]
    sub.wait_for("genre.status", 1, deadline(5))
    closed = [l for l in err.splitlines() if "standard output closed" in l]
    check(first.startswith("main "), "a first line: %r" % first)
    check(proc.returncode == 0, "exit 0: %r" % err)
    check(len(closed) == 1 and "still publishing" in closed[0], "one warning: %r" % err)
    check(len(sub.of("genre.probs")) == expected_hops(20 * rate, info, 0.5),
          "every hop still published: %d" % len(sub.of("genre.probs")))
    sub.close()


def test_short_input():
    """A file shorter than the model's window: nothing to publish, so a
    warning saying why, not info lines alone."""
    info = model_info()
    rate = int(info["frontend"]["sample_rate"])
    path = write_wav(os.path.join(TMP, "short.wav"), tone(1.7, rate, 1), rate)
    out = subprocess.run(GENRED + ["--input", "file:" + path, "--publish", endpoint(),
                          "--log-level", "warn"], capture_output=True, text=True,
                         timeout=20 * SLOW)
    check(out.returncode == 0, "exit 0: %r" % out.stderr)
    check("input ended after 1.70 s of audio, shorter than the 3 s window: nothing classified"
          in out.stderr, "warned: %r" % out.stderr)


def test_log_order():
    """Log lines come in the order of the events: per stream its start,
    "audio is flowing", its genre changes, its end; then "all inputs ended".
    (Main's poll used to log "audio is flowing" after a fast file had
    already logged its changes and its end.)"""
    rate = 22050
    noise = np.random.default_rng(5).standard_normal((8 * rate, 1)).astype(np.float32) * 0.2
    two = write_wav(os.path.join(TMP, "order.wav"), np.concatenate([tone(8, rate), noise]), rate)
    one = write_wav(os.path.join(TMP, "order1.wav"), tone(6, rate, seed=3), rate)
    conf = write_config("order.conf", 'streams = ( { name = "a"; input = "file:%s"; },\n'
                        '            { name = "b"; input = "file:%s"; } );\n'
                        'publish = "%s";\nchange_hold = 1.0;\n' % (two, one, endpoint()))
    g = Genred(config=conf)
    check(g.wait(30 * SLOW) == 0, "exit 0\n" + g.stderr())
    lines = g.stderr().splitlines()
    for name in ("a", "b"):
        mine = [l.split("stream '%s': " % name, 1)[1] for l in lines
                if "stream '%s': " % name in l]
        kinds = ["start" if l.startswith("file:") else "flowing" if l == "audio is flowing" else
                 "change" if " -> " in l else "ended" if l.startswith("input ended") else
                 "summary" if " hops, " in l else l for l in mine]
        changes = kinds.count("change")
        check(changes >= 1 and kinds == ["start", "flowing"] + ["change"] * changes +
              ["ended", "summary"], "stream %s logs in event order: %r" % (name, mine))
    ended = [i for i, l in enumerate(lines) if "input ended" in l]
    everything = [i for i, l in enumerate(lines) if "all inputs ended" in l]
    check(len(everything) == 1 and len(ended) == 2 and max(ended) < everything[0],
          "'all inputs ended' after both ends: %r" % lines)


def test_systemd_notify():
    """READY=1 once audio flows, STATUS= with the genre, WATCHDOG=1 from the
    worker loop, RELOADING=1 then READY=1 around SIGHUP, through a real
    notification socket."""
    path = os.path.join(TMP, "notify.sock")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(path)
    ns.settimeout(0.2)
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="400000")
    log = open(os.path.join(TMP, "notify.log"), "w")
    proc = subprocess.Popen(GENRED + ["--input", "stdin:s16le:22050:1", "--publish", endpoint()],
                            env=env, stdin=subprocess.PIPE, stderr=log,
                            stdout=subprocess.DEVNULL)
    proc.stdin.write(pcm(5))
    proc.stdin.flush()
    got = []

    def drain(seconds, until=lambda: False):
        end = time.monotonic() + seconds
        while time.monotonic() < end and not until():
            try:
                got.extend(ns.recv(4096).decode().splitlines())
            except socket.timeout:
                pass

    # Wait for what the checks need rather than a fixed time: sanitizer
    # builds are slower to start, release builds need not wait for them.
    # STATUS= first says "running", and names the genre a second later at
    # the earliest (genred sends it at most once a second).
    labels = model_info()["labels"]
    drain(2.5 * SLOW, lambda: got.count("WATCHDOG=1") >= 4 and
          any(l.startswith("STATUS=main: ") and l[13:] in labels for l in got))
    proc.send_signal(signal.SIGHUP)
    drain(1.0 * SLOW, lambda: "RELOADING=1" in got and "READY=1" in got[got.index("RELOADING=1"):])
    proc.send_signal(signal.SIGTERM)
    check(proc.wait(5 * SLOW) == 0, "clean exit")
    proc.stdin.close()
    drain(0.3)
    ns.close()
    check("READY=1" in got, "READY=1 sent: %r" % got[:10])
    check(got.count("WATCHDOG=1") >= 4, "watchdog pings: %d" % got.count("WATCHDOG=1"))
    check(any(l.startswith("STATUS=main: ") and l[13:] in model_info()["labels"] for l in got),
          "STATUS= names the genre: %r" % [l for l in got if l.startswith("STATUS")])
    if "RELOADING=1" in got:
        i = got.index("RELOADING=1")
        check("READY=1" in got[i:], "READY=1 after RELOADING=1")
    else:
        check(False, "RELOADING=1 on SIGHUP: %r" % got)
    check("STOPPING=1" in got, "STOPPING=1 on SIGTERM")


if __name__ == "__main__":
    main(globals(), cleanup=[TMP])
