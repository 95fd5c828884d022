#!/usr/bin/python3
"""Archive tagging on a JetStream work queue (genre-queue) with a real
nats-server: 200 short synthetic files, four workers, one killed mid-run
(SIGKILL) and one stopped mid-file as systemd or Ctrl-C stops it (SIGTERM to
its whole process group, genre-classify included). Every file must have
exactly one result, equal to the line genre-classify --json prints for it
locally: the stopped worker's file comes back, not as an error.

    test_queue.py killed_worker
    test_queue.py odd_names     names are bytes (issue 27): a folder with a
                                Latin-1 name (audio and not), a newline in a
                                name, and a job whose file became a folder:
                                every job gets its result, the real name
                                kept in file_b64, and --idle-exit ends the
                                worker"""
import base64
import collections
import json
import os
import signal
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fleetlib import (BIN, SLOW, TMP, NatsCluster, Proc, check, finish, run, skip, wait_until,
                      write_wav)

if not os.path.exists(os.path.join(BIN, "genre-queue")):
    skip("genre-queue was not built (libnats-dev missing: GENRED_WITH_NATS is OFF)")

# Enough that the kills below land mid-queue (30 results first, then 50
# files left); each is a genre-classify run, seconds of start-up under the
# sanitizers and about 0.1 s of CPU in release (200 files cost the suite
# 25 s of CPU).
N_FILES = 80


def make_files(folder):
    """Short clips that differ: tones, chords and noise at several levels."""
    rng = np.random.default_rng(7)
    rate = 22050
    t = np.arange(int(1.2 * rate)) / rate
    paths = []
    for i in range(N_FILES):
        sub = os.path.join(folder, "set%d" % (i % 4))
        os.makedirs(sub, exist_ok=True)
        f = 110 * 2 ** (i % 24 / 12)
        x = 0.3 * np.sin(2 * np.pi * f * t) + 0.2 * np.sin(2 * np.pi * 1.5 * f * t)
        x += (i % 5) * 0.05 * rng.standard_normal(t.size)
        path = os.path.join(sub, "clip%03d.wav" % i)
        write_wav(path, x, rate)
        paths.append(path)
    return paths


def results(url, queue="t"):
    r = run([os.path.join(BIN, "genre-queue"), "results", "--nats", url, "--queue", queue])
    return r.stdout.splitlines() if r.returncode == 0 else []


def enqueue(url, queue, folder, jobs, what):
    """genre-queue enqueue, checked to add `jobs` new jobs."""
    r = run([os.path.join(BIN, "genre-queue"), "enqueue", "--nats", url, "--queue", queue, folder])
    check(r.returncode == 0 and " %d jobs" % jobs in r.stdout,
          "%s: %s%s" % (what, r.stdout.strip(), r.stderr.strip()))


def test_killed_worker():
    nats = NatsCluster(1)
    url = nats.url()
    folder = os.path.join(TMP, "archive")
    paths = make_files(folder)
    enqueue(url, "t", folder, N_FILES, "enqueue a folder")
    enqueue(url, "t", folder, 0, "the same folder again (a retried command) adds no job")
    worker = [os.path.join(BIN, "genre-queue"), "work", "--nats", url, "--queue", "t",
              "--ack-wait", "2", "--idle-exit", str(4 * SLOW)]
    # Worker 0 takes a second per file, so that when it is killed it is
    # almost surely in the middle of one: that job must come back.
    slow = os.path.join(TMP, "slow-classify")
    with open(slow, "w") as f:
        f.write('#!/bin/sh\nsleep 1\nexec "%s" "$@"\n' % os.path.join(BIN, "genre-classify"))
    os.chmod(slow, 0o755)
    workers = [Proc("worker0", worker + ["--classify", slow])]
    workers += [Proc("worker%d" % i, worker) for i in (1, 2)]
    stopped = Proc("worker3", worker + ["--classify", slow], session=True)
    check(wait_until(lambda: len(results(url)) >= 30, 60, step=0.2), "workers store results")
    workers[0].stop(signal.SIGKILL)
    stopped.stop_group(signal.SIGTERM)
    check(stopped.stop(timeout=10) == 0, "a worker stopped mid-file exits 0")
    check("the job is back on the queue" in stopped.text(),
          "it says its file went back: %r" % stopped.text()[-300:])
    check(wait_until(lambda: len(results(url)) >= N_FILES, 60, step=0.2),
          "the other workers finish the queue")
    for w in workers[1:]:
        w.proc.wait(timeout=120 * SLOW)
        check(w.proc.returncode == 0, "%s exits 0 when the queue is empty" % w.name)
    lines = results(url)
    files = collections.Counter(json.loads(line)["file"] for line in lines)
    check(len(lines) == N_FILES and set(files) == {os.path.realpath(p) for p in paths},
          "every file has a result (%d results for %d files)" % (len(lines), N_FILES))
    check(max(files.values()) == 1, "no file has two results")
    local = run([os.path.join(BIN, "genre-classify"), "--json"] + paths, timeout=120)
    want = {json.loads(line)["file"]: line for line in local.stdout.splitlines()}
    got = {json.loads(line)["file"]: line for line in lines}
    same = sum(got.get(os.path.realpath(p)) == want.get(p).replace(p, os.path.realpath(p))
               for p in paths)
    check(same == N_FILES, "results equal genre-classify --json run locally (%d of %d)"
          % (same, N_FILES))


def odd_names_folder(folder):
    """name (bytes) -> what its result must be: "audio" or an error text."""
    rate = 22050
    t = np.arange(int(1.2 * rate)) / rate
    tone = 0.3 * np.sin(2 * np.pi * 220 * t)
    want = {}
    os.makedirs(folder.encode())
    for name in (b"a_plain.wav", b"b_caf\xe9.wav", b"c_line\nbreak.wav", b"c_line\nother.wav",
                 b"e_caf\xc3\xa9.wav"):
        write_wav(os.path.join(folder.encode(), name).decode("utf-8", "surrogateescape"), tone, rate)
        want[name] = "audio"
    with open(os.path.join(folder.encode(), b"d_na\xefve.wav"), "w") as f:
        f.write("not audio\n")
    want[b"d_na\xefve.wav"] = "error"
    write_wav(os.path.join(folder, "f_later_a_folder.wav"), tone, rate)
    want[b"f_later_a_folder.wav"] = "a directory"
    return want


def real_name(result):
    """The exact bytes of a result's file name."""
    if "file_b64" in result:
        return base64.b64decode(result["file_b64"])
    return result["file"].encode()


def test_odd_names():
    nats = NatsCluster(1)
    url = nats.url()
    folder = os.path.join(TMP, "odd")
    want = odd_names_folder(folder)
    enqueue(url, "odd", folder, len(want), "enqueue a folder with odd names")
    # The file becomes a folder after it was enqueued: that job names a
    # folder, which must not be answered with its first file's result.
    became = os.path.join(folder, "f_later_a_folder.wav")
    os.rename(became, became + ".x")
    os.makedirs(became)
    os.rename(became + ".x", os.path.join(became, "inside.wav"))
    worker = Proc("worker", [os.path.join(BIN, "genre-queue"), "work", "--nats", url, "--queue",
                             "odd", "--ack-wait", "5", "--idle-exit", str(3 * SLOW)])
    try:
        rc = worker.proc.wait(timeout=60 * SLOW)
    except subprocess.TimeoutExpired:
        rc = None
    check(rc == 0, "the worker finishes and --idle-exit ends it (rc %r): %r"
          % (rc, worker.text()[-400:]))
    worker.stop()
    got = {}
    for line in results(url, "odd"):
        m = json.loads(line)
        got.setdefault(os.path.basename(real_name(m)), []).append(m)
    check(sorted(got) == sorted(want), "one result per file, under its real name: %r"
          % sorted(got))
    for name, kind in want.items():
        m = got.get(name, [{}])[0]
        if kind == "audio":
            ok = "top" in m and "error" not in m
        else:
            ok = kind in m.get("error", "") if kind != "error" else "error" in m
        check(ok and len(got.get(name, [])) == 1, "%r: %s (%r)" % (name, kind, m))
        if name.decode("utf-8", "replace").encode() != name:  # not UTF-8
            check("\ufffd" in m.get("file", ""), "%r: a readable file name beside the real one"
                  % name)
        else:
            check("file_b64" not in m, "%r: no file_b64 for a UTF-8 name" % name)



def test_error_results():
    """A file genre-classify cannot read: the stored result is exactly its
    --json line ({"file","error":"empty file"}), not its stderr message."""
    nats = NatsCluster(1)
    url = nats.url()
    folder = os.path.join(TMP, "bad")
    os.makedirs(folder)
    paths = [os.path.join(folder, n) for n in ("empty.wav", "notes.wav")]
    open(paths[0], "w").close()
    with open(paths[1], "w") as f:
        f.write("a text file renamed .wav\n")
    queue = ["--nats", url, "--queue", "t"]
    r = run([os.path.join(BIN, "genre-queue"), "enqueue"] + queue + [folder])
    check(r.returncode == 0, "enqueue: %s%s" % (r.stdout, r.stderr))
    r = run([os.path.join(BIN, "genre-queue"), "work"] + queue + ["--idle-exit", str(2 * SLOW)],
            timeout=60 * SLOW)
    check(r.returncode == 0, "the worker empties the queue: %s" % r.stderr[-300:])
    got = sorted(results(url))
    local = run([os.path.join(BIN, "genre-classify"), "--json"] + paths)
    want = sorted(line.replace(folder, os.path.realpath(folder))
                  for line in local.stdout.splitlines())
    check(got == want and '"error":"empty file"' in "".join(got),
          "results are genre-classify's --json lines: %r, want %r" % (got, want))


SCENARIOS = {"killed_worker": test_killed_worker, "error_results": test_error_results,
             "odd_names": test_odd_names}

if __name__ == "__main__":
    SCENARIOS[sys.argv[1]]()
    finish()
