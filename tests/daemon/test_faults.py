#!/usr/bin/python3
"""Fault injection on the real genred (issue 9): a SIGHUP storm while it
publishes, the model file rewritten while it is being reloaded, every key of
config/genred.conf given a wrong value in turn (at startup and as a reload),
and stdin cut inside a frame or stalled. In every case: no crash, the right
message, and where genred keeps running it keeps publishing.

    test_faults.py {sighup_storm,model_swap,config_keys,stdin_cut,stdin_stall,
                    stalled_subscriber}

Environment as for test_genred.py (whose helpers this uses)."""
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_genred as tg  # noqa: E402

RATE = 22050  # the built-in model's rate: no resampler, exact hop arithmetic
HOP = 0.1
STEP = round(HOP * RATE)
MFCC_HOP = 512  # a hop ends on the first MFCC frame at or after its target


class Feeder:
    """Live-like s16le mono on genred's stdin: 3.2 s at once (a full window,
    so genre.probs start at once), then 50 ms every 50 ms until stopped."""

    def __init__(self, g):
        self.g = g
        self.audio = tg.pcm(8)
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        chunk = int(0.05 * RATE) * 2
        pos = int(3.2 * RATE) * 2
        try:
            self.g.proc.stdin.write(self.audio[:pos])
            while self.running:
                if pos + chunk > len(self.audio):
                    pos = 0
                self.g.proc.stdin.write(self.audio[pos:pos + chunk])
                self.g.proc.stdin.flush()
                pos += chunk
                time.sleep(0.05)
        except (BrokenPipeError, ValueError):
            pass

    def stop(self):
        self.running = False
        self.thread.join()
        self.g.proc.stdin.close()


def live(extra_args=(), config=None):
    """genred on a fed stdin at HOP, publishing to a fresh endpoint, with a
    subscriber that has seen it publish."""
    ep = tg.endpoint("live-%d" % time.monotonic_ns())
    args = ["--input", "stdin:s16le:%d:1" % RATE, "--publish", ep, "--hop", str(HOP)]
    g = tg.Genred(*(args + list(extra_args)), stdin=subprocess.PIPE, config=config)
    sub = tg.Subscriber(ep, topics=("genre.probs",))
    feeder = Feeder(g)
    tg.check(sub.wait_for("genre.probs", 3, 10 * tg.SLOW), "publishing before the fault")
    return g, sub, feeder


def keeps_publishing(sub, what, seconds=1.0):
    n = len(sub.of("genre.probs"))
    want = max(2, int(seconds / HOP / 2))
    tg.check(sub.wait_for("genre.probs", n + want, seconds * tg.SLOW + 1),
             "%s: still publishing (%d genre.probs, wanted %d more)" % (
                 what, len(sub.of("genre.probs")), want))


def check_positions(sub, what, step=STEP):
    """No hop lost or repeated: each genre.probs is one hop after the last.
    A hop ends on an MFCC frame, and position also counts the rest of the
    resampling chunk in flight (at most one frame hop), so allow two."""
    pos = [m[2]["position"] for m in sub.of("genre.probs")]
    bad = [(a, b) for a, b in zip(pos, pos[1:]) if not 0 < b - a <= step + 2 * MFCC_HOP]
    tg.check(not bad, "%s: positions step by one hop (%d samples); broken at %r" % (
        what, step, bad[:5]))


def sane_log(g, what):
    """Every stderr line is one of genred's own: no sanitizer report, no
    crash dump, no interleaved half lines."""
    odd = [l for l in g.stderr().splitlines() if not l.startswith("genred: ")]
    tg.check(not odd, "%s: stray log lines %r" % (what, odd[:5]))


def finish(g, sub, feeder, what):
    alive = g.proc.poll() is None
    tg.check(alive, "%s: genred alive (rc %r)\n%s" % (what, g.proc.returncode, g.stderr()[-3000:]))
    feeder.stop()
    rc = g.stop()
    sub.close()
    tg.check(rc == 0, "%s: clean stop (rc %r)\n%s" % (what, rc, g.stderr()[-3000:]))
    sane_log(g, what)


def test_sighup_storm():
    """100 SIGHUPs within 1 s, each re-reading the config and model files."""
    model = os.path.join(tg.TMP, "model.gmdl")
    shutil.copy(os.path.join(tg.SOURCE, "nn", "default_model.gmdl"), model)
    conf = tg.write_config("storm.conf", 'model = "%s";\n' % model)
    g, sub, feeder = live(config=conf)
    before = len(sub.of("genre.probs"))
    start = time.monotonic()
    for i in range(100):
        g.proc.send_signal(signal.SIGHUP)
        time.sleep(max(0.0, start + (i + 1) * 0.0099 - time.monotonic()))
    took = time.monotonic() - start
    # The storm's density is this sender's: on a loaded machine Python itself
    # is late, which says nothing about genred.
    tg.check(took < tg.deadline(1.05), "100 SIGHUPs sent in %.2f s" % took)
    keeps_publishing(sub, "after the storm")
    during = len(sub.of("genre.probs")) - before
    log = g.stderr()
    done, failed = log.count("reload: done"), log.count("reload failed")
    print("storm: %d reloads done (signals coalesce), %d failed, %d genre.probs since it began"
          % (done, failed, during))
    tg.check(done >= 2 and failed == 0, "reloads done %d (>= 2), failed %d" % (done, failed))
    check_positions(sub, "storm")
    finish(g, sub, feeder, "storm")


def with_id(model_bytes, old_id, new_id):
    """The same model under another id: the id is the last field before the
    CRC32 of everything preceding it (see nn/model.c)."""
    old, new = old_id.encode(), new_id.encode()
    cut = len(model_bytes) - 4 - len(old) - 1
    assert model_bytes[cut] == len(old) and model_bytes[cut + 1:-4] == old
    body = model_bytes[:cut] + bytes([len(new)]) + new
    return body + struct.pack("<I", zlib.crc32(body))


def test_model_swap():
    """Reloads while another process rewrites the model file: first in place
    (truncate, then slow writes), then by rename. Each reload loads a whole
    valid model or keeps the old one with one line naming the file."""
    with open(os.path.join(tg.SOURCE, "nn", "default_model.gmdl"), "rb") as f:
        a = f.read()
    id_a = tg.model_info()["id"]
    id_b = id_a.replace("genred", "genred-b", 1)
    b = with_id(a, id_a, id_b)
    model = os.path.join(tg.TMP, "swap.gmdl")
    with open(model, "wb") as f:
        f.write(a)
    conf = tg.write_config("swap.conf", 'model = "%s";\n' % model)
    g, sub, feeder = live(config=conf)

    def in_place(data):
        with open(model, "r+b") as f:
            f.truncate(0)
            for i in range(0, len(data), 2048):
                f.write(data[i:i + 2048])
                f.flush()
                time.sleep(0.002)

    def by_rename(data):
        tmp = model + ".new"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, model)

    for name, write in (("in place", in_place), ("rename", by_rename)):
        stop = threading.Event()

        def writer():
            n = 0
            while not stop.is_set():
                write(b if n % 2 else a)
                n += 1
            write(b)

        log_before = g.stderr()
        t = threading.Thread(target=writer)
        t.start()
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            g.proc.send_signal(signal.SIGHUP)
            time.sleep(0.03)
        stop.set()
        t.join()

        def reloads():
            log = g.stderr()
            return log.count("reload: done") + log.count("reload failed")

        # Every reload begun while the file was being written has ended (one
        # still pending starts now, on the whole file, and so goes through).
        end = time.monotonic() + tg.deadline(10)
        while g.stderr().count("reload: SIGHUP received") > reloads() and time.monotonic() < end:
            time.sleep(0.01)

        before = reloads()
        g.proc.send_signal(signal.SIGHUP)  # the file now holds b, whole
        end = time.monotonic() + tg.deadline(10)
        while reloads() == before and time.monotonic() < end:
            time.sleep(0.01)
        keeps_publishing(sub, name)
        new = g.stderr()[len(log_before):].splitlines()
        done = [l for l in new if "reload: done" in l]
        failed = [l for l in new if "reload failed" in l]
        print("%s: %d reloads done, %d kept the old model" % (name, len(done), len(failed)))
        # In place, most reloads may catch the file half written; the last
        # one, of a whole file, must go through.
        results = [l for l in new if "reload: done" in l or "reload failed" in l]
        tg.check(len(done) >= (2 if name == "rename" else 1) and bool(results) and
                 "reload: done" in results[-1],
                 "%s: reloads went through (%d), the last one too" % (name, len(done)))
        tg.check(all(model in l for l in failed), "%s: failures name the file: %r" % (
            name, failed[:3]))
        if name == "rename":
            tg.check(not failed, "rename is atomic, so no reload fails: %r" % failed[:3])
        last = sub.of("genre.probs")[-1][2]["model"]
        tg.check(last == id_b, "%s: the final file's model is in use (%r)" % (name, last))
    ids = {m[2]["model"] for m in sub.of("genre.probs")}
    tg.check(ids <= {id_a, id_b}, "only whole models were ever used: %r" % ids)
    check_positions(sub, "model swap")
    finish(g, sub, feeder, "model swap")


# For each key of config/genred.conf: wrong values and a word the error must
# contain. Every key the shipped file sets must be here (checked), so a new
# key cannot go untested.
NO_KEY = "/nonexistent/curve.key"
BAD_VALUES = {
    "input": [("5", "must be a string"), ('"tape:1"', "unknown source 'tape'"),
              ('"stdin:s16le:5:2"', "rate '5'"), ('"file:/nonexistent.wav"', "No such file"),
              ('"jack:a,,b"', "empty JACK port name")],
    "name": [("3", "must be a string"), ('""', "empty")],
    "publish": [("5", "must be a string"), ('"bogus://x"', "expected tcp://"),
                ('"tcp://127.0.0.1:99999"', "port"), ('[ ]', "no endpoint"),
                ('"tcp://0.0.0.0:5556"', "not loopback")],
    "curve_secret_key": [("true", "must be a string"), ('"%s"' % NO_KEY, "No such file"),
                         ('"@LOOSE_KEY@"', "chmod 600")],
    "curve_allow": [("1", "must be a string"), ('"/etc/hosts"', "needs curve_secret_key")],
    "allow_plaintext_remote": [('"yes"', "true or false"), ("1", "true or false")],
    "model": [("5", "must be a string"), ('"/nonexistent.gmdl"', "No such file"),
              ('"@BAD_MODEL@"', "crc")],
    "hop": [('"fast"', "must be a number"), ("0.0", "must be in"), ("61", "must be in")],
    "smoothing": [("-1.0", "must be in"), ("false", "must be a number")],
    "change_hold": [("3601", "must be in"), ('"2"', "must be a number")],
    "change_decoder": [('"viterbi"', "change_decoder must be hold or hmm, not 'viterbi'"),
                       ("1", "must be a string")],
    "hmm_segment": [("0.5", "hmm_segment must be in 1..36000"), ('"30"', "must be a number")],
    "hmm_exponent": [("0.0", "hmm_exponent must be in 0.01..1"), ("1.5", "must be in")],
    "hmm_threshold": [("1.0", "hmm_threshold must be in 0..0.999"), ("-0.1", "must be in")],
    "hmm_hold": [("-1.0", "hmm_hold must be in 0..3600"), ("true", "must be a number")],
    "silence_dbfs": [("1.0", "must be in"), ("-201", "must be in")],
    "status_interval": [("0.01", "must be in"), ("[ 1 ]", "must be a number")],
    "send_hwm": [("0", "must be in"), ("1.5", "must be an integer"), ('"x"', "must be an integer")],
    "drop_policy": [('"never"', "count or isolate"), ("1", "must be a string")],
    "jack_clients": [('"one"', "shared or per_stream"), ("true", "must be a string")],
    "ring_seconds": [("0.0", "must be in"), ("61", "must be in")],
    "realtime": [("1", "true or false"), ('"yes"', "true or false")],
    "loop": [("0", "must be in"), ("2.5", "true, false or a number of plays"),
             ('"yes"', "true, false or a number of plays")],
    "print": [('"no"', "true or false")],
    "log_level": [('"loud"', "error, warn, info or debug"), ("3", "must be a string")],
    "streams": [("5", "streams must be a list"), ('( { name = "a"; } )', "stream 'a' has no input"),
                ('( { name = "a"; input = "tape"; } )', "input 'tape': unknown source"),
                ('( { name = "a"; input = "stdin"; }, { name = "a"; input = "stdin"; } )',
                 "streams: the name 'a' is used twice")],
}


def shipped_config():
    with open(os.path.join(tg.SOURCE, "config", "genred.conf")) as f:
        lines = f.read().splitlines()
    keys = {}
    for i, l in enumerate(lines):
        m = re.match(r"^(\w+) = .*;$", l)
        if m:
            keys[m.group(1)] = i
    return lines, keys


def bad_cases(lines, keys, replacements):
    """(key, file text, line number, words the message must hold) for every
    wrong value and a misspelling of every key."""
    tg.check(set(keys) <= set(BAD_VALUES), "keys without wrong values to test: %r" % (
        sorted(set(keys) - set(BAD_VALUES))))
    for key, values in sorted(BAD_VALUES.items()):
        for value, needle in values:
            for k, v in replacements.items():
                value = value.replace(k, v)
            text = list(lines)
            if key in keys:
                i = keys[key]
            else:  # streams: in place of input, which it cannot be combined with
                i = keys["input"]
                text[keys["name"]] = ""
            text[i] = "%s = %s;" % (key, value)
            yield key, "\n".join(text) + "\n", i + 1, (needle,)
    for key, i in sorted(keys.items()):
        text = list(lines)
        text[i] = text[i].replace(key, key + "x", 1)
        yield key + "x", "\n".join(text) + "\n", i + 1, ("unknown key '%sx'" % key,)


def fixtures():
    """A secret key others can read, and a model with a broken CRC."""
    keys = os.path.join(tg.TMP, "keys")
    subprocess.run(tg.GENRED + ["--gen-keys", keys], check=True, capture_output=True)
    os.chmod(os.path.join(keys, "curve.key"), 0o644)
    bad_model = os.path.join(tg.TMP, "bad.gmdl")
    with open(os.path.join(tg.SOURCE, "nn", "default_model.gmdl"), "rb") as f:
        data = bytearray(f.read())
    data[100] ^= 0xFF
    with open(bad_model, "wb") as f:
        f.write(data)
    return {"@LOOSE_KEY@": os.path.join(keys, "curve.key"), "@BAD_MODEL@": bad_model}


def check_message(line, path, lineno, key, needles, what):
    named = key == "streams" or key in line  # its needles name the stream instead
    tg.check("%s:%d:" % (path, lineno) in line and named and
             all(n in line for n in needles),
             "%s: the message names %s:%d, %s and %r: %r" % (what, path, lineno, key, needles,
                                                            line))


def test_config_keys():
    lines, keys = shipped_config()
    extra = fixtures()
    # At startup: --check-config exits 1 with one line.
    cases = list(enumerate(bad_cases(lines, keys, extra)))

    def startup(case):
        i, (key, text, lineno, needles) = case
        path = os.path.join(tg.TMP, "wrong%d.conf" % i)
        with open(path, "w") as f:
            f.write(text)
        out = subprocess.run(tg.GENRED + ["--config", path, "--check-config"], capture_output=True,
                             text=True, timeout=10 * tg.SLOW)
        err = out.stderr.strip().splitlines()
        tg.check(out.returncode == 1 and len(err) == 1, "%s: exit 1 and one line, got %d %r" % (
            key, out.returncode, err))
        check_message(err[0] if err else "", path, lineno, key, needles, "startup " + key)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(startup, cases))
    print("startup: %d wrong configurations refused" % len(cases))

    # As reloads of a running genred: each is refused, the old settings stay.
    ep = tg.endpoint("keys")
    base = list(lines)
    base[keys["input"]] = 'input = "stdin:s16le:%d:1";' % RATE
    base[keys["publish"]] = 'publish = "%s";' % ep
    base[keys["hop"]] = "hop = %g;" % HOP
    good = tg.write_config("good.conf", "\n".join(base) + "\n")
    g = tg.Genred(stdin=subprocess.PIPE, config=good)
    sub = tg.Subscriber(ep, topics=("genre.probs",))
    feeder = Feeder(g)
    tg.check(sub.wait_for("genre.probs", 3, 10 * tg.SLOW), "publishing before the reloads")
    n0, t0 = len(sub.of("genre.probs")), time.monotonic()
    for key, text, lineno, needles in bad_cases(base, keys, extra):
        tmp = good + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, good)  # genred never reads a half-written file here
        before = g.stderr().count("reload failed")
        g.proc.send_signal(signal.SIGHUP)
        end = time.monotonic() + 3 * tg.SLOW
        while g.stderr().count("reload failed") == before and time.monotonic() < end:
            time.sleep(0.005)
        failed = [l for l in g.stderr().splitlines() if "reload failed" in l]
        tg.check(len(failed) == before + 1, "reload with a wrong %s refused" % key)
        if len(failed) > before:
            check_message(failed[before], good, lineno, key, needles, "reload " + key)
    log = g.stderr()
    tg.check("reload: done" not in log, "no wrong reload went through")
    print("reloads: %d refused in %.2f s, %d genre.probs meanwhile" % (
        log.count("reload failed"), time.monotonic() - t0, len(sub.of("genre.probs")) - n0))
    keeps_publishing(sub, "after the refused reloads")
    check_positions(sub, "refused reloads")  # the old hop all along
    # A good file with another hop still goes through afterwards.
    base[keys["hop"]] = "hop = %g;" % (2 * HOP)
    tg.write_config("good.conf", "\n".join(base) + "\n")
    g.proc.send_signal(signal.SIGHUP)
    keeps_publishing(sub, "after a good reload", 2.0)
    tg.check("reload: done" in g.stderr(), "the good reload went through")
    pos = [m[2]["position"] for m in sub.of("genre.probs")[-3:]]
    tg.check(all(b - a >= 2 * STEP - 2 * MFCC_HOP for a, b in zip(pos, pos[1:])),
             "the new hop applies: %r" % pos)
    finish(g, sub, feeder, "config reloads")


def test_stdin_cut():
    """stdin closed inside a frame: every whole frame is classified, one
    line says how many bytes were left over, exit 0."""
    info = tg.model_info()
    for fmt, channels, width, extra in (("s16le", 2, 2, 3), ("f32le", 1, 4, 2)):
        x = tg.tone(5, RATE, channels)
        data = (x * 32767).astype("<i2").tobytes() if fmt == "s16le" else x.astype(
            "<f4").tobytes()
        ep = tg.endpoint(fmt)
        g = tg.Genred("--input", "stdin:%s:%d:%d" % (fmt, RATE, channels), "--publish", ep,
                      "--wait-subscriber", stdin=subprocess.PIPE)
        sub = tg.Subscriber(ep, topics=("genre.probs",))
        g.proc.stdin.write(data + b"\x7f" * extra)
        g.proc.stdin.close()
        rc = g.wait(20 * tg.SLOW)
        want = tg.expected_hops(len(x), info, 0.5)
        sub.wait_for("genre.probs", want, 2)
        sub.close()
        tg.check(rc == 0, "%s: exit 0 (rc %r)" % (fmt, rc))
        got = len(sub.of("genre.probs"))
        tg.check(got == want, "%s: %d genre.probs for the whole frames, expected %d" % (
            fmt, got, want))
        lines = [l for l in g.stderr().splitlines() if "inside a frame" in l]
        tg.check(len(lines) == 1 and "%d trailing bytes ignored" % extra in lines[0],
                 "%s: one line about the cut frame: %r" % (fmt, lines))
        sane_log(g, fmt)


def stream_state_since(sub, t0, state, timeout):
    """The first genre.status after t0 whose stream is in state, or None."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for m in sub.of("genre.status"):
            if m[0] > t0 and m[2]["streams"][0]["state"] == state:
                return m[2]["streams"][0]
        time.sleep(0.05)
    return None


def test_stdin_stall():
    """No bytes on stdin for a while: genred stays up, genre.status keeps
    coming and says the stream is waiting (no audio for 4 hops, 2 s at
    least) rather than running with its last genre, and classification
    resumes when bytes come back, losing none."""
    info = tg.model_info()
    ep = tg.endpoint()
    g = tg.Genred("--input", "stdin:s16le:%d:1" % RATE, "--publish", ep, "--status-interval",
                  "0.25", "--wait-subscriber", stdin=subprocess.PIPE)
    sub = tg.Subscriber(ep)
    audio = tg.pcm(6)
    half = int(4 * RATE) * 2
    g.proc.stdin.write(audio[:half] + audio[half:half + 3])  # stalls inside a frame
    g.proc.stdin.flush()
    tg.check(sub.wait_for("genre.probs", 2, 10 * tg.SLOW), "publishing before the stall")
    t0 = time.monotonic()
    n0 = len(sub.of("genre.probs"))
    waiting = stream_state_since(sub, t0, "waiting", 10 * tg.SLOW)
    stalled_s = time.monotonic() - t0
    tg.check(waiting is not None and waiting["note"].startswith("no audio for"),
             "the stalled stream goes 'waiting' with a note: %r" % waiting)
    status = [m[2] for m in sub.of("genre.status") if m[0] > t0]
    tg.check(g.proc.poll() is None, "alive through the stall")
    # Every 0.25 s; half that rate is plenty for "kept coming" on a loaded
    # machine under a sanitizer.
    tg.check(len(status) >= max(2, 2 * stalled_s), "genre.status kept coming: %d in %.1f s"
             % (len(status), stalled_s))
    tg.check(len(sub.of("genre.probs")) == n0, "no genre.probs without audio")
    g.proc.stdin.write(audio[half + 3:half + 3 + 2 * RATE])
    g.proc.stdin.flush()
    t1 = time.monotonic()
    running = stream_state_since(sub, t1, "running", 10 * tg.SLOW)
    tg.check(running is not None and not running["note"].startswith("no audio"),
             "running again once audio comes: %r" % running)
    g.proc.stdin.write(audio[half + 3 + 2 * RATE:])
    g.proc.stdin.close()
    rc = g.wait(20 * tg.SLOW)
    want = tg.expected_hops(len(audio) // 2, info, 0.5)
    sub.wait_for("genre.probs", want, 2)
    sub.close()
    tg.check(rc == 0, "exit 0 after the stall (rc %r)\n%s" % (rc, g.stderr()))
    got = len(sub.of("genre.probs"))
    tg.check(got == want, "resumed with nothing lost: %d genre.probs, expected %d" % (got, want))
    log = g.stderr()
    tg.check("no audio for" in log and "audio again after" in log,
             "the stall's start and end are logged")
    sane_log(g, "stall")


def test_stalled_subscriber():
    """One subscriber that never reads next to one that does, with
    drop_policy "isolate": the stalled one's queue fills and overflows, the
    other still gets every genre.probs (test_genred.py slow_subscriber covers
    "count", where the drops are counted instead). A hop under one MFCC
    frame classifies every frame (43 a second of audio); stdin at 40x real
    time makes about 1700 messages a second: enough to overflow a queue of
    send_hwm (1000) in a second, slow enough that the reading subscriber's
    ZeroMQ thread never falls send_hwm behind, even on a loaded machine."""
    info = tg.model_info()
    seconds, hop = 60, 0.01
    audio = tg.pcm(seconds)
    ep = tg.endpoint()
    g = tg.Genred("--input", "stdin:s16le:%d:1" % RATE, "--publish", ep, "--hop", str(hop),
                  "--drop-policy", "isolate", "--wait-subscriber", stdin=subprocess.PIPE)
    stalled = tg.Subscriber(ep, topics=("genre.probs",), rcvhwm=1, read=False)
    healthy = tg.Subscriber(ep, topics=("genre.probs",), rcvhwm=0)
    step = RATE // 2 * 2  # half a second of s16le mono
    start = time.monotonic()
    for i, at in enumerate(range(0, len(audio), step)):
        time.sleep(max(0.0, start + i * 0.0125 - time.monotonic()))
        g.proc.stdin.write(audio[at:at + step])
        g.proc.stdin.flush()
    want = tg.expected_hops(seconds * RATE, info, hop)
    healthy.wait_for("genre.probs", want, 10 * tg.SLOW)
    # Still running: what genred kept for the stalled one is in flight now.
    queued = 0
    while stalled.sock.poll(500 * tg.SLOW):
        stalled.sock.recv_multipart()
        queued += 1
    g.proc.stdin.close()
    rc = g.wait(30 * tg.SLOW)
    healthy.close()
    stalled.close()
    tg.check(rc == 0, "exit 0 (rc %r)\n%s" % (rc, g.stderr()[-2000:]))
    got = len(healthy.of("genre.probs"))
    print("stalled subscriber: %d of %d genre.probs were kept for it; the other got %d" % (
        queued, want, got))
    tg.check(0 < queued < want / 2, "the stalled subscriber's queue overflowed (%d of %d kept)"
             % (queued, want))
    tg.check(got == want, "the reading subscriber got every genre.probs: %d of %d" % (got, want))
    sane_log(g, "stalled subscriber")


if __name__ == "__main__":
    tg.main(globals(), cleanup=[tg.TMP])
