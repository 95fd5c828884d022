#!/usr/bin/python3
"""tools/examples/subscribe.js (Node, npm zeromq) against the real daemon
playing the demo clip. Skipped (77) where node or the npm binding is absent:
installing it needs the network, which CI does not have."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile

BUILD = os.environ.get("GENRED_BUILD_DIR", "build")
SOURCE = os.environ.get("GENRED_SOURCE_DIR", ".")
SLOW = 1 if os.environ.get("GENRED_FLAVOUR", "release") == "release" else 4
EXAMPLES = os.path.join(SOURCE, "tools", "examples")

node = shutil.which("node")
if not node:
    print("SKIP: no `node` on PATH (Debian package nodejs); the Node example is not tested")
    sys.exit(77)
if not os.path.isdir(os.path.join(EXAMPLES, "node_modules", "zeromq")):
    print("SKIP: node is here but not the npm module zeromq in tools/examples/node_modules "
          "(`npm install --prefix tools/examples` needs the network once; README says how "
          "offline); the Node example is not tested")
    sys.exit(77)

tmp = tempfile.mkdtemp(prefix="genred-node-")
ep = "ipc://%s/pub.ipc" % tmp
clip = os.path.join(SOURCE, "tests", "data", "music_excerpt.wav")
genred = subprocess.Popen([os.path.join(BUILD, "bin", "genred"), "--input", "file:" + clip,
                           "--realtime", "--loop", "--publish", ep, "--hop", "0.25"],
                          stderr=subprocess.DEVNULL)
try:
    out = subprocess.run([node, os.path.join(EXAMPLES, "subscribe.js"), ep, "--count", "3",
                          "--timeout", str(8 * SLOW)], capture_output=True, text=True,
                         timeout=30 * SLOW)
finally:
    genred.send_signal(signal.SIGTERM)
    genred.wait(10)
    shutil.rmtree(tmp, ignore_errors=True)

lines = out.stdout.splitlines()
print(out.stdout + out.stderr)
if out.returncode != 0 or len(lines) != 3:
    sys.exit("FAIL: subscribe.js exit %d, %d lines" % (out.returncode, len(lines)))
for l in lines:
    words = l.split()
    if words[0] not in ("genre.probs", "genre.change") or words[1] != "main":
        sys.exit("FAIL: unexpected line %r" % l)
print("ok: the Node example prints the daemon's messages")

# Music, digital silence, music on stdin (test_genred.py's silence_change):
# the changes into and out of silence read "(none)"/"(silence)", not null.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
from test_genred import tone  # noqa: E402

rate = 22050
x = np.concatenate([tone(5, rate), np.zeros((6 * rate, 1), np.float32), tone(5, rate, seed=2)])
tmp = tempfile.mkdtemp(prefix="genred-node-")
ep = "ipc://%s/pub.ipc" % tmp
genred = subprocess.Popen([os.path.join(BUILD, "bin", "genred"), "--input",
                           "stdin:s16le:%d:1" % rate, "--publish", ep, "--change-hold", "1",
                           "--smoothing", "1.5", "--wait-subscriber"],
                          stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
try:
    sub = subprocess.Popen([node, os.path.join(EXAMPLES, "subscribe.js"), ep, "--timeout",
                            str(3 * SLOW)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    genred.stdin.write((x * 32767).astype("<i2").tobytes())
    genred.stdin.close()
    genred.wait(20 * SLOW)
    text, _ = sub.communicate(timeout=30 * SLOW)
finally:
    if genred.poll() is None:
        genred.kill()
    shutil.rmtree(tmp, ignore_errors=True)
changes = [" ".join(l.split()[2:]) for l in text.splitlines() if l.startswith("genre.change")]
print(changes)
if (len(changes) != 3 or not changes[0].startswith("(none) -> ") or
        not changes[1].endswith("-> (silence)") or not changes[2].startswith("(silence) -> ")):
    sys.exit("FAIL: the changes into and out of silence: %r" % changes)
print("ok: the Node example shows (none) and (silence) for null labels")
