#!/usr/bin/python3
"""The programs as a user meets them on the command line (issue 17): every
program's --help, --version and usage-error exit status; tools/dev's usage;
genre-sub's arguments, --count 0 and Ctrl-C (with the Python example);
genre-classify on folders, with --jobs and --json error lines.

    test_cli.py SCENARIO      (see SCENARIOS at the bottom)

Environment: GENRED_BUILD_DIR, GENRED_SOURCE_DIR, GENRED_FLAVOUR."""
import json
import math
import os
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import wave

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scenario import check, load_factor, main  # noqa: E402

BUILD = os.environ.get("GENRED_BUILD_DIR", "build")
SOURCE = os.environ.get("GENRED_SOURCE_DIR", ".")
SLOW = 1 if os.environ.get("GENRED_FLAVOUR", "release") == "release" else 4
BIN = os.path.join(BUILD, "bin")
TMP = tempfile.mkdtemp(prefix="genred-cli-")

# Every program in build/bin: the user-facing ones and the benchmarks
# (genre-queue and genre-replay only where libnats was found; those not built
# are skipped).
PROGRAMS = ["genred", "genre-sub", "genre-web", "genre-classify", "genre-eval", "genre-features",
            "genre-model-info", "genre-import-torch", "genre-train", "genre-hub", "genre-queue",
            "genre-replay", "bench_model", "bench_gru", "bench_frontend", "bench_stream"]


def run(args, timeout=30 * SLOW, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)


def version():
    with open(os.path.join(SOURCE, "CMakeLists.txt")) as f:
        for line in f:
            if line.startswith("project(genred VERSION "):
                return line.split()[2]
    raise SystemExit("no project version in CMakeLists.txt")


def test_help_version():
    want = version()
    present = [p for p in PROGRAMS if os.path.exists(os.path.join(BIN, p))]
    check("genred" in present and "genre-classify" in present, "programs built: %r" % present)
    for p in present:
        exe = os.path.join(BIN, p)
        out = run([exe, "--help"])
        check(out.returncode == 0 and out.stdout.lower().startswith("usage:"),
              "%s --help: exit 0 and usage on stdout (rc %d, %r)" % (p, out.returncode,
                                                                   out.stdout[:60]))
        # argparse reports missing required arguments before unknown ones.
        required = ["sd.pt", "--labels", "a,b", "--out", "m.gmdl"] if p == "genre-import-torch" else []
        out = run([exe] + required + ["--bogus-option"])
        check(out.returncode == 2 and "--bogus-option" in out.stderr and out.stdout == "",
              "%s --bogus-option: exit 2 naming it (rc %d, %r)" % (p, out.returncode, out.stderr))
        out = run([exe, "--version"])
        check(out.returncode == 0 and out.stdout.startswith("%s %s" % (p, want)),
              "%s --version: '%s %s' (rc %d, %r)" % (p, p, want, out.returncode, out.stdout))


def test_dev_usage():
    dev = os.path.join(SOURCE, "tools", "dev")
    out = run([dev, "--help"])
    check(out.returncode == 0 and out.stdout.startswith("usage: tools/dev COMMAND") and
          "tools/dev test" in out.stdout, "tools/dev --help: %d %r" % (out.returncode, out.stdout))
    # No argument: the usage, not the whole suite.
    out = run([dev])
    check(out.returncode == 2 and "usage:" in out.stderr and out.stdout == "",
          "tools/dev alone: %d %r %r" % (out.returncode, out.stdout, out.stderr))
    out = run([dev, "frobnicate"])
    check(out.returncode == 2 and "unknown command 'frobnicate'" in out.stderr,
          "tools/dev frobnicate: %d %r" % (out.returncode, out.stderr))


def test_train_model():
    """tools/train-model on a tiny synthetic corpus laid out as ../shared/data
    is: the model where --out says, its report beside it in MODEL.report/ (as
    genre-train puts it), not in --work; and --help is the usage alone."""
    tool = os.path.join(SOURCE, "tools", "train-model")
    out = run([tool, "--help"])
    lines = out.stdout.splitlines()
    check(out.returncode == 0 and lines and lines[0].startswith("The shipped default model"),
          "train-model --help: %d %r" % (out.returncode, out.stdout[:80]))
    check(not any(l.startswith(("set ", "cd ", "#!")) for l in lines),
          "--help holds no shell: %r" % lines[-3:])
    check(sum("--work DIR" in l for l in lines) >= 2 and "MODEL.report/" in out.stdout,
          "--help names --work for both modes and the report beside MODEL: %r" % out.stdout)
    data = os.path.join(TMP, "corpus")
    freqs = {"low": 220.0, "high": 1760.0}
    lists = {}
    for label, f in freqs.items():
        for i in range(3):
            for sub, lst in (("gtzan/audio", "gtzan/train.txt"), ("gtzan/audio", "gtzan/valid.txt"),
                             ("gtzan/short", "gtzan/train_short.txt"),
                             ("gtzan/short", "gtzan/valid_short.txt"),
                             ("extra/audio", "extra/train.txt")):
                name = "%s/%s%d-%s.wav" % (label, label, i, os.path.basename(lst)[:-4])
                write_wav(os.path.join(data, sub, name), 3.5, freq=f * (1 + 0.05 * i))
                lists.setdefault(lst, []).append(name)
                if lst == "extra/train.txt":
                    lists.setdefault("extra/labels.tsv", []).append("%s\t%s%d" % (name, label, i))
    for lst, names in lists.items():
        with open(os.path.join(data, lst), "w") as f:
            f.write("\n".join(names) + "\n")
    model = os.path.join(TMP, "models", "tiny.gmdl")
    work = os.path.join(TMP, "work")
    os.makedirs(os.path.dirname(model))
    out = run([tool, "--data", data, "--out", model, "--work", work, "--teachers",
               os.path.join(TMP, "no-teachers")],
              env=dict(os.environ, GENRED_BIN=BIN), timeout=60 * SLOW)
    check(out.returncode == 2 and "no-teachers/musicnn_msd.h5: missing (--teachers DIR, or "
          "--no-teacher)" in out.stderr, "no teachers: %d %r" % (out.returncode, out.stderr))
    out = run([tool, "--data", data, "--out", model, "--work", work, "--no-teacher", "--hidden", "8",
               "--epochs", "1", "--epoch-windows", "64", "--variants", "0", "--qat-epochs", "0",
               "--threads", "1"], env=dict(os.environ, GENRED_BIN=BIN), timeout=120 * SLOW)
    report = os.path.join(TMP, "models", "tiny.report")
    check(out.returncode == 0 and os.path.exists(model), "train-model ran: %d %r" % (
        out.returncode, out.stderr[-400:]))
    check(os.path.exists(os.path.join(report, "metrics.json")) and
          os.path.exists(os.path.join(report, "model-float.gmdl")),
          "the report is beside --out: %r" % (os.listdir(report) if os.path.isdir(report) else []))
    check(sorted(os.listdir(work)) == ["cache"], "--work holds the feature cache only: %r" %
          os.listdir(work))
    check("report in %s/" % report in out.stdout, "it says where the report is: %r" % out.stdout)


def test_eval_equals_train():
    """genre-eval on the lists genre-train validated on, with genre-train's
    --hop and no other flag, scores exactly what genre-train's int8 report
    says, window level too: both scale --data clips to -19 dBFS by default
    (genre-eval once took them as recorded), and both score a clip of more
    than 4096 windows (genre-train once left it out)."""
    data = os.path.join(TMP, "levels")
    lists = {"train": [], "valid": []}
    for label, freq in (("low", 200.0), ("mid", 700.0), ("high", 2500.0)):
        for i in range(4):
            for split in lists:
                name = "%s/%s%d.wav" % (label, split, i)
                path = write_wav(os.path.join(data, split, name), 4 + 1.5 * i,
                                 freq=freq * (1 + 0.07 * i))
                lists[split].append(name)
                if i % 2:  # quiet clips: the level normalisation matters
                    with wave.open(path, "rb") as w:
                        params, frames = w.getparams(), w.readframes(w.getnframes())
                    quiet = struct.pack("<%dh" % (len(frames) // 2), *(
                        v // 40 for v in struct.unpack("<%dh" % (len(frames) // 2), frames)))
                    with wave.open(path, "wb") as w:
                        w.setparams(params)
                        w.writeframes(quiet)
    # More than 4096 windows: one a frame (23 ms) past the first 3 s.
    long_clip = os.path.join(data, "valid", "mid", "long.wav")
    t = np.arange(int(100 * 22050)) / 22050
    with wave.open(long_clip, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes((9000 * np.sin(2 * np.pi * 650 * t)).astype("<i2").tobytes())
    lists["valid"].append("mid/long.wav")
    for split, names in lists.items():
        with open(os.path.join(data, split + ".txt"), "w") as f:
            f.write("\n".join(names) + "\n")
    model = os.path.join(TMP, "levels.gmdl")
    sets = ["%s:%s" % (os.path.join(data, "valid"), os.path.join(data, "valid.txt"))]
    out = run([os.path.join(BIN, "genre-train"), "--data", "%s:%s" % (
        os.path.join(data, "train"), os.path.join(data, "train.txt")), "--valid-data", sets[0],
        "--out", model, "--hidden", "8", "--coeffs", "13", "--epochs", "2", "--epoch-windows", "96",
        "--variants", "0", "--qat-epochs", "0", "--threads", "1", "--hop", "0.01"],
        timeout=120 * SLOW)
    check(out.returncode == 0, "genre-train: %r" % out.stderr[-400:])
    with open(os.path.join(TMP, "levels.report", "metrics.json")) as f:
        reported = json.load(f)["valid_int8"]["all"]

    def evaluate(*flags):
        r = run([os.path.join(BIN, "genre-eval"), "--model", model, "--data", sets[0], "--hop",
                 "0.01", "--json"] + list(flags), timeout=60 * SLOW)
        check(r.returncode == 0, "genre-eval %r: %r" % (flags, r.stderr[-300:]))
        return json.loads(r.stdout) if r.returncode == 0 else {}

    got = evaluate()
    mine = {"clips": got.get("clips"), "windows": got.get("windows"),
            "window": [got.get("window_accuracy"), got.get("window_balanced_accuracy")],
            "clip": [got.get("clip_accuracy"), got.get("clip_balanced_accuracy")]}
    theirs = {"clips": reported["clips"], "windows": reported["windows"],
              "window": [reported["window"]["accuracy"], reported["window"]["balanced_accuracy"]],
              "clip": [reported["clip"]["accuracy"], reported["clip"]["balanced_accuracy"]]}
    close = all(abs(a - b) < 1e-6 for k in ("window", "clip") for a, b in zip(mine[k], theirs[k]))
    check(mine["clips"] == theirs["clips"] == 13 and mine["windows"] == theirs["windows"] and
          mine["windows"] > 4096 and close,
          "genre-eval %r equals genre-train's int8 report %r" % (mine, theirs))
    as_is = evaluate("--level-db", "as-is")
    check(as_is.get("windows") == got.get("windows") and
          as_is.get("window_accuracy") != got.get("window_accuracy"),
          "and the level matters here: as recorded %r vs %r" % (
              as_is.get("window_accuracy"), got.get("window_accuracy")))


def changes_from_genred(path):
    """The states genred announces for a file (genre.change, in order): a
    label, or None for silence."""
    import zmq
    ep = "ipc://%s/changes.ipc" % TMP
    genred = subprocess.Popen([os.path.join(BIN, "genred"), "--input", "file:" + path,
                               "--publish", ep, "--wait-subscriber", "--log-level", "warn"])
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"genre.change")
    sub.setsockopt(zmq.RCVTIMEO, 200)
    sub.connect(ep)
    states = []
    end = time.monotonic() + 60 * SLOW
    while time.monotonic() < end:
        exited = genred.poll() is not None
        try:
            states.append(json.loads(sub.recv_multipart()[1])["new"])
        except zmq.Again:
            if exited:  # and nothing more in flight
                break
    check(genred.wait(timeout=30 * SLOW) == 0, "genred ran the file")
    sub.close(linger=0)
    ctx.term()
    return states


def test_classify_segments():
    """genre-classify's compact output: per file the verdict and the genre
    segments genred's tracker finds (start, end, label), on a file made of
    parts the model labels differently; by default for folders, every
    window for files named one by one; --windows=none the verdict alone."""
    rate = 22050
    rng = np.random.default_rng(3)

    def part(kind, seconds):
        t = np.arange(int(seconds * rate)) / rate
        if kind == "tone":
            return 0.3 * sum(np.sin(2 * np.pi * 220 * k * t) / k for k in (1, 2, 3))
        if kind == "beat":
            return 0.8 * np.sin(2 * np.pi * 60 * t) * np.exp(-(t % 0.5) * 20)
        if kind == "clicks":
            return 0.5 * np.where(np.arange(t.size) % (rate // 4) < 60, rng.standard_normal(t.size), 0)
        return np.zeros(t.size)

    def write(path, x):
        with wave.open(path, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
        return path

    def classify_json(*args):
        r = classify("--json", *args)
        check(r.returncode == 0, "genre-classify %r: %r" % (args, r.stderr))
        return [json.loads(l) for l in r.stdout.splitlines()]

    plan = [("tone", 20), ("beat", 20), ("clicks", 20), ("silence", 10), ("tone", 12)]
    tops = {}
    for kind in ("tone", "beat", "clicks"):
        tops[kind] = classify_json("--windows=none", write(os.path.join(TMP, kind + ".wav"),
                                                           part(kind, 20)))[0]["top"]
    check(len(set(tops.values())) == 3, "the parts read as three genres: %r" % tops)
    folder = os.path.join(TMP, "set")
    os.makedirs(folder)
    path = write(os.path.join(folder, "set.wav"), np.concatenate([part(k, s) for k, s in plan]))
    want = [tops.get(k) for k, _ in plan]
    starts = np.cumsum([0] + [s for _, s in plan[:-1]])
    line = classify_json("--windows=changes", path)[0]
    seg = line.get("segments", [])
    check([s["label"] for s in seg] == want and "windows" not in line,
          "segments' labels %r, the parts' %r" % ([s["label"] for s in seg], want))
    if len(seg) == len(plan):
        check(all(abs(s["start"] - t) <= 1.5 for s, t in zip(seg, starts)),
              "segments start where the parts do (%r): %r" % (list(starts), seg))
        check(seg[-1]["end"] == 82 and all(a["end"] == b["start"] for a, b in zip(seg, seg[1:])),
              "segments tile the file: %r" % seg)
    announced = changes_from_genred(path)
    check([s["label"] for s in seg] == announced,
          "the segments are the changes genred announces for the file: %r" % announced)
    print("segments: %r" % seg)
    by_folder = classify_json(folder)[0]
    check(by_folder.get("segments") == seg and "windows" not in by_folder,
          "a folder gives segments by default: %r" % sorted(by_folder))
    by_file = classify_json(path)[0]
    check(len(by_file.get("windows", [])) > 150 and "segments" not in by_file,
          "a file named alone gives every window, as before: %r" % sorted(by_file))
    bare = classify_json("--windows=none", folder)[0]
    check(sorted(bare) == ["file", "labels", "probs", "top"], "--windows=none: %r" % bare)
    text = classify("--windows=changes", path)
    check(len(text.stdout.splitlines()) == 1 + len(plan) and "(silence)" in text.stdout,
          "text: a line per segment: %r" % text.stdout)
    hold = classify_json("--windows=changes", "--change-hold", "30", path)[0]["segments"]
    check(len(hold) == 1, "a hold longer than any part: one segment: %r" % hold)
    bad = classify("--windows=some", path)
    check(bad.returncode == 2 and "--windows: expected all, changes or none" in bad.stderr,
          "--windows=some: %r" % bad.stderr)


def test_sub_args():
    sub = os.path.join(BIN, "genre-sub")
    out = run([sub, "foo"])
    check(out.returncode == 2 and "expected an endpoint like tcp://" in out.stderr,
          "genre-sub foo: %d %r" % (out.returncode, out.stderr))
    # A topic alone: the default endpoint, subscribed to that topic.
    out = run([sub, "genre.probs", "--timeout", "0.3"])
    check(out.returncode == 1 and "nothing received for 0.3 s" in out.stderr,
          "genre-sub genre.probs: %d %r" % (out.returncode, out.stderr))
    out = run([sub, "--count", "-1"])
    check(out.returncode == 2 and "--count" in out.stderr, "--count -1: %r" % out.stderr)
    # A topic longer than any (daemon/protocol_limits.h: 79 bytes) would get
    # the subscriber dropped by the publisher: refused up front.
    out = run([sub, "genre.status." + "x" * 67, "--timeout", "0.3"])
    check(out.returncode == 2 and "longer than any topic (79 bytes at most)" in out.stderr
          and len(out.stderr.splitlines()) == 1, "an 80-byte topic: %r" % out.stderr)
    out = run([sub, "genre.status." + "x" * 66, "--timeout", "0.3"])
    check(out.returncode == 1 and "nothing received" in out.stderr,
          "a 79-byte topic is taken: %r" % out.stderr)


def write_wav(path, seconds, rate=22050, channels=1, freq=330.0):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with wave.open(path, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = bytearray()
        for i in range(int(seconds * rate)):
            t = i / rate
            x = 0.3 * math.sin(2 * math.pi * freq * t) * (0.6 + 0.4 * math.sin(2 * math.pi * 2 * t))
            frames += struct.pack("<h", int(32767 * x)) * channels
        w.writeframes(bytes(frames))
    return path


def test_sub_count_zero():
    """--count 0 means no limit in genre-sub and subscribe.py alike, and
    Ctrl-C ends both quietly with status 0."""
    ep = "ipc://%s/pub.ipc" % TMP
    clip = os.path.join(SOURCE, "tests", "data", "music_excerpt.wav")
    genred = subprocess.Popen([os.path.join(BIN, "genred"), "--input", "file:" + clip,
                               "--realtime", "--loop", "--publish", ep, "--hop", "0.1",
                               "--log-level", "warn"])
    subs = [[os.path.join(BIN, "genre-sub"), ep, "genre.probs", "--count", "0"],
            ["/usr/bin/python3", os.path.join(SOURCE, "tools", "examples", "subscribe.py"), ep,
             "--count", "0"]]
    procs = [subprocess.Popen(a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for a in subs]
    outs = [[] for _ in procs]
    readers = [threading.Thread(target=lambda p=p, o=o: o.extend(p.stdout), daemon=True)
               for p, o in zip(procs, outs)]
    for r in readers:
        r.start()
    try:
        # The first window takes 3 s of audio, then 10 hops a second: wait
        # for 3 lines from each (both flush per message), however long a
        # loaded machine takes; an early exit shows below.
        end = time.monotonic() + 30 * SLOW * load_factor()
        while time.monotonic() < end and any(len(o) < 3 and p.poll() is None
                                             for p, o in zip(procs, outs)):
            time.sleep(0.05)
        for p in procs:
            check(p.poll() is None, "%s --count 0 still running" % p.args[0])
            p.send_signal(signal.SIGINT)
        for p, o, r in zip(procs, outs, readers):
            p.wait(timeout=10 * SLOW * load_factor())
            r.join(10)  # stdout is the reader's: only stderr is left to read
            err = p.stderr.read()
            name = os.path.basename(p.args[1] if p.args[0].endswith("python3") else p.args[0])
            check(p.returncode == 0 and err == "", "%s Ctrl-C: exit %d, %r" % (name, p.returncode,
                                                                              err))
            check(len(o) >= 3, "%s printed messages: %r" % (name, "".join(o)[:200]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        genred.send_signal(signal.SIGTERM)
        genred.wait(10)


def classify(*args):
    return run([os.path.join(BIN, "genre-classify")] + list(args))


def test_classify_folders():
    root = os.path.join(TMP, "archive")
    write_wav(os.path.join(root, "b", "two.wav"), 4, freq=220)
    write_wav(os.path.join(root, "a", "deep", "one.wav"), 5, 44100, 2, freq=440)
    write_wav(os.path.join(root, "c.wav"), 3.5, freq=880)
    write_wav(os.path.join(root, "short.wav"), 1.5)
    open(os.path.join(root, "cover.jpg"), "w").write("not audio, not listed")
    open(os.path.join(root, "notes.txt"), "w").write("not audio, not listed")
    open(os.path.join(root, "a", "empty.flac"), "w").close()
    open(os.path.join(root, "a", "notes.wav"), "w").write("a text file renamed .wav\n")
    with open(os.path.join(root, "b", "song.m4a"), "wb") as f:
        f.write(b"\0\0\0\x20ftypM4A " + bytes(range(256)) * 8)
    os.makedirs(os.path.join(root, ".hidden"))
    write_wav(os.path.join(root, ".hidden", "x.wav"), 3)

    want = [os.path.join(root, p) for p in ("a/deep/one.wav", "a/empty.flac", "a/notes.wav",
                                            "b/song.m4a", "b/two.wav", "c.wav", "short.wav")]
    one = classify("--json", "--jobs", "1", root)
    two = classify("--json", "--jobs", "2", root)
    check(one.returncode == 1 and two.returncode == 1, "a failed file: exit 1 (%d, %d)" %
          (one.returncode, two.returncode))
    check(one.stdout == two.stdout, "--jobs 2 prints what --jobs 1 does, in order")
    lines = [json.loads(l) for l in one.stdout.splitlines()]
    check([l["file"] for l in lines] == want, "files in sorted order, audio only: %r" %
          [l["file"] for l in lines])
    by = {os.path.relpath(l["file"], root): l for l in lines}
    check(by.get("a/empty.flac", {}).get("error") == "empty file", "empty: %r" % by.get(
        "a/empty.flac"))
    check(by.get("a/notes.wav", {}).get("error") == "not an audio file (it holds text)",
          "text renamed .wav: %r" % by.get("a/notes.wav"))
    check(by.get("b/song.m4a", {}).get("error", "").startswith("codec not supported"),
          "m4a: %r" % by.get("b/song.m4a"))
    check("shorter than the 3 s window" in by.get("short.wav", {}).get("warning", ""),
          "short clip warned: %r" % by.get("short.wav"))
    for name in ("a/deep/one.wav", "b/two.wav", "c.wav"):
        l = by.get(name, {})
        # A folder: genre segments by default, not every window.
        check("error" not in l and l.get("top") in l.get("labels", []) and l.get("segments")
              and "windows" not in l, "%s classified: %r" % (name, l))
    # The text form names errors and warnings on stderr, in the same order.
    text = classify("--jobs", "2", root)
    errs = [l for l in text.stderr.splitlines()]
    check(len(errs) == 4 and "empty.flac: empty file" in errs[0] and
          "notes.wav: not an audio file" in errs[1] and "song.m4a" in errs[2] and
          "short.wav: warning:" in errs[3], "stderr: %r" % errs)
    check(len(text.stdout.splitlines()) == 4, "four verdicts: %r" % text.stdout)
    # Every file good: exit 0.
    ok = classify("--jobs", "2", os.path.join(root, "b", "two.wav"), os.path.join(root, "c.wav"))
    check(ok.returncode == 0 and len(ok.stdout.splitlines()) == 2, "good files: %d %r" %
          (ok.returncode, ok.stderr))
    empty = os.path.join(TMP, "nothing")
    os.makedirs(empty)
    out = classify(empty)
    check(out.returncode == 1 and "no audio files found" in out.stderr, "empty folder: %r" %
          out.stderr)


if __name__ == "__main__":
    main(globals(), cleanup=[TMP])
