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
