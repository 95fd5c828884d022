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
import time
import wave

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scenario import check, main  # noqa: E402

BUILD = os.environ.get("GENRED_BUILD_DIR", "build")
SOURCE = os.environ.get("GENRED_SOURCE_DIR", ".")
SLOW = 1 if os.environ.get("GENRED_FLAVOUR", "release") == "release" else 4
BIN = os.path.join(BUILD, "bin")
TMP = tempfile.mkdtemp(prefix="genred-cli-")

# Every program in build/bin: the user-facing ones and the benchmarks
# (genre-queue and genre-replay only where libnats was found; those not built
# are skipped). genre-train's options belong to the trainer's owner; its
# --version is checked once it has one (issue 17 item 10, noted for the lead).
PROGRAMS = ["genred", "genre-sub", "genre-web", "genre-classify", "genre-eval", "genre-features",
            "genre-model-info", "genre-import-torch", "genre-train", "genre-hub", "genre-queue",
            "genre-replay", "bench_model", "bench_gru", "bench_frontend", "bench_stream"]
NO_VERSION_YET = {"genre-train"}


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=30 * SLOW, **kw)


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
        if p in NO_VERSION_YET:
            continue
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
    try:
        time.sleep(4 * SLOW)  # the first window takes 3 s of audio; then 10 hops a second
        for p in procs:
            check(p.poll() is None, "%s --count 0 still running" % p.args[0])
            p.send_signal(signal.SIGINT)
        for p in procs:
            out, err = p.communicate(timeout=10 * SLOW)
            name = os.path.basename(p.args[1] if p.args[0].endswith("python3") else p.args[0])
            check(p.returncode == 0 and err == "", "%s Ctrl-C: exit %d, %r" % (name, p.returncode,
                                                                              err))
            check(len(out.splitlines()) >= 3, "%s printed messages: %r" % (name, out[:200]))
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
    with open(os.path.join(root, "b", "song.m4a"), "wb") as f:
        f.write(b"\0\0\0\x20ftypM4A " + bytes(range(256)) * 8)
    os.makedirs(os.path.join(root, ".hidden"))
    write_wav(os.path.join(root, ".hidden", "x.wav"), 3)

    want = [os.path.join(root, p) for p in ("a/deep/one.wav", "a/empty.flac", "b/song.m4a",
                                            "b/two.wav", "c.wav", "short.wav")]
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
    check(by.get("b/song.m4a", {}).get("error", "").startswith("codec not supported"),
          "m4a: %r" % by.get("b/song.m4a"))
    check("shorter than the 3 s window" in by.get("short.wav", {}).get("warning", ""),
          "short clip warned: %r" % by.get("short.wav"))
    for name in ("a/deep/one.wav", "b/two.wav", "c.wav"):
        l = by.get(name, {})
        check("error" not in l and l.get("top") in l.get("labels", []) and l.get("windows"),
              "%s classified: %r" % (name, l))
    # The text form names errors and warnings on stderr, in the same order.
    text = classify("--jobs", "2", root)
    errs = [l for l in text.stderr.splitlines()]
    check(len(errs) == 3 and "empty.flac: empty file" in errs[0] and "song.m4a" in errs[1] and
          "short.wav: warning:" in errs[2], "stderr: %r" % errs)
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
