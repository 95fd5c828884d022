#!/usr/bin/python3
"""Pathological audio through the real genred (file: inputs written here):
digital silence, DC (which must read as silence: a biased interface is
quiet), a full-scale square wave, full-scale white noise,
clicks, and two files at different rates and channel counts in sequence.
Every genre.probs must hold finite probabilities in [0, 1] that sum to 1,
the count must be what the audio length gives, and silence must be
reported as silence.

    test_pathological.py {signals,rates}

Environment as for test_genred.py (whose helpers this uses)."""
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_genred as tg  # noqa: E402

SECONDS = 6 if tg.SLOW == 1 else 4


def signal(kind, rate, channels=1, seconds=SECONDS):
    n = int(seconds * rate)
    t = np.arange(n) / rate
    if kind == "silence":
        x = np.zeros(n)
    elif kind.startswith("dc"):
        x = np.full(n, 0.5)
    elif kind == "music_on_dc":  # quiet music on a large negative offset
        return 0.05 * tg.tone(seconds, rate, channels) - 0.4
    elif kind == "square":  # 441 Hz, the full 16-bit range
        x = np.where(np.sin(2 * np.pi * 441 * t) >= 0, 1.0, -1.0)
    elif kind == "noise":
        x = np.random.default_rng(5).uniform(-1, 1, n)
    elif kind == "clicks":  # one full-scale sample every 0.25 s, zeros between
        x = np.zeros(n)
        x[:: rate // 4] = 1.0
    elif kind == "music":
        return tg.tone(seconds, rate, channels)
    return np.repeat(x[:, None], channels, axis=1)


def finite_numbers(m):
    """Every number in a message, nested lists included, is finite (Python's
    json accepts NaN and Infinity, which genred must never send)."""
    def walk(v):
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return True
        if isinstance(v, (int, float)):
            return math.isfinite(v)
        if isinstance(v, list):
            return all(walk(e) for e in v)
        if isinstance(v, dict):
            return all(walk(e) for e in v.values())
        return False
    return walk(m)


def check_messages(probs, info, name, want, silent):
    """want: the exact count, or a (lo, hi) range where a resampler's delay
    makes the last hop depend on filter details."""
    lo, hi = want if isinstance(want, tuple) else (want, want)
    tg.check(lo <= len(probs) <= hi, "%s: %d genre.probs, expected %d..%d" % (
        name, len(probs), lo, hi))
    for m in probs:
        tg.check_probs_message(m, info)
        tg.check(finite_numbers(m), "%s: a non-finite number in %r" % (name, m))
        for key in ("probs", "raw"):
            tg.check(all(0 <= p <= 1 for p in m[key]), "%s: %s outside [0,1]: %r" % (
                name, key, m[key]))
        if silent is not None:
            tg.check(m["silence"] == silent, "%s: silence is %r, expected %r (level %r)" % (
                name, m["silence"], silent, m["level_dbfs"]))


def test_signals():
    """Seven streams in one process, each pathological, at rates that put
    the resampler in the path for most."""
    info = tg.model_info()
    model_rate = int(info["frontend"]["sample_rate"])
    streams = (  # name, rate, channels, silent
        ("silence", model_rate, 1, True),
        ("dc", 44100, 2, True),
        ("dc_model_rate", model_rate, 1, True),
        ("music_on_dc", 44100, 2, False),
        ("square", 48000, 1, False),
        ("noise", 16000, 1, False),
        ("clicks", model_rate, 1, False),
    )
    entries = []
    for name, rate, channels, _ in streams:
        path = tg.write_wav(os.path.join(tg.TMP, name + ".wav"), signal(name, rate, channels),
                            rate)
        entries.append('{ name = "%s"; input = "file:%s"; }' % (name, path))
    ep = tg.endpoint()
    conf = tg.write_config("patho.conf", "streams = ( %s );\npublish = \"%s\";\n" % (
        ",\n  ".join(entries), ep))
    g = tg.Genred("--wait-subscriber", config=conf)
    sub = tg.Subscriber(ep)
    rc = g.wait(30 * tg.SLOW)
    tg.check(rc == 0, "exit 0 (rc %r)\n%s" % (rc, g.stderr()))
    status = tg.final_status(sub)
    sub.close()
    tg.check(not sub.bad, "every message is two frames of valid JSON")
    exact = tg.expected_hops(SECONDS * model_rate, info, 0.5)
    for name, rate, _, silent in streams:
        probs = [m[2] for m in sub.of("genre.probs") if m[2]["stream"] == name]
        want = exact if rate == model_rate else (exact - 1, exact)
        check_messages(probs, info, name, want, silent)
    tg.check(status is not None and finite_numbers(status), "a finite closing genre.status: %r"
             % (status,))
    if status:
        for s in status["streams"]:
            tg.check(s["nonfinite"] == 0 and s["overruns"] == 0, "%s: clean counters %r" % (
                s["name"], s))


def test_rates():
    """Two files at different rates and channel counts, one after the
    other, to one subscriber that stays connected (as a client does across
    a restart), then silence at a third rate."""
    info = tg.model_info()
    model_rate = int(info["frontend"]["sample_rate"])
    exact = tg.expected_hops(SECONDS * model_rate, info, 0.5)
    ep = tg.endpoint()
    sub = tg.Subscriber(ep, topics=("genre.probs",))
    seen = 0
    for kind, rate, channels, silent in (("music", 8000, 1, False), ("music", 44100, 2, False),
                                         ("silence", 96000, 2, True)):
        name = "%s_%d_%d" % (kind, rate, channels)
        path = tg.write_wav(os.path.join(tg.TMP, name + ".wav"), signal(kind, rate, channels),
                            rate)
        g = tg.Genred("--input", "file:" + path, "--publish", ep, "--wait-subscriber")
        rc = g.wait(30 * tg.SLOW)
        tg.check(rc == 0, "%s: exit 0 (rc %r)\n%s" % (name, rc, g.stderr()))
        sub.wait_for("genre.probs", seen + exact - 1, 2 * tg.SLOW)
        probs = [m[2] for m in sub.of("genre.probs")[seen:]]
        seen += len(probs)
        check_messages(probs, info, name, (exact - 1, exact), silent)
        tg.check(all(abs(m["rate"] - rate) < 1e-6 for m in probs), "%s: rate reported" % name)
    sub.close()


if __name__ == "__main__":
    tg.main(globals(), cleanup=[tg.TMP])
