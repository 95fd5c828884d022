#!/usr/bin/python3
"""Issue 6, test 9: the audio callback path makes no allocation, lock,
blocking or I/O call. rt_guard.so (LD_PRELOAD) wraps the callbacks handed to
JACK and PortAudio and counts such calls made inside them.

First the guard proves it can fail: a client whose callback allocates
(JACK_PLAY_RT_MALLOC=1) must be caught, and the same client without it must
be clean. Then genred's back-ends run under it. Release flavour only: the
sanitizers interpose the same functions."""

import os
import re
import shutil
import tempfile
import time

from jackenv import JackTest, check, fail, skip

if os.environ.get("GENRED_FLAVOUR", "release") != "release":
    skip("rt_guard needs the release flavour (sanitizers interpose malloc too)")


def guarded(jt, name, argv, seconds, extra_env=None, connect=None):
    """Runs argv under the guard for about `seconds`, stops it with SIGTERM,
    and returns (callbacks, violations, first offending call) for its pid."""
    report = jt.log(name + ".rtguard")
    if os.path.exists(report):
        os.remove(report)
    env = dict(extra_env or {}, LD_PRELOAD=jt.bin("rt_guard.so"), RT_GUARD_REPORT=report)
    p = jt.spawn(name, argv, env=env)
    if connect:
        jt.wait_port(connect[1])
        jt.connect(*connect)
    time.sleep(seconds)
    code, _ = jt.stop(name)
    check(code == 0, "%s exits 0 under the guard" % name)
    with open(report) as f:
        for line in f:
            m = re.match(r"pid=(\d+) callbacks=(\d+) violations=(\d+) first=(\S+)", line)
            if m and int(m.group(1)) == p.pid:
                return int(m.group(2)), int(m.group(3)), m.group(4)
    fail("no rt_guard report line for %s (pid %d)" % (name, p.pid))


with JackTest() as jt:
    jt.start_server()

    cb, bad, first = guarded(jt, "dirty", [jt.bin("jack_play"), "-n", "dirty"], 1.0,
                             {"JACK_PLAY_RT_MALLOC": "1"})
    check(cb > 10 and bad >= cb and first == "malloc",
          "self-check: a callback that allocates is caught (%d callbacks, %d violations, "
          "first %s)" % (cb, bad, first))

    cb, bad, first = guarded(jt, "clean", [jt.bin("jack_play"), "-n", "src"], 1.0)
    check(cb > 10 and bad == 0, "self-check: the same client without allocation is clean "
          "(%d callbacks, %d violations, first %s)" % (cb, bad, first))

    jt.spawn("player", [jt.bin("jack_play"), "-n", "src"])
    jt.wait_port("src:out")

    # One port: the callback pushes the port buffer straight into the ring.
    cb, bad, first = guarded(jt, "jack-mono", [jt.bin("input_probe"), "jack:src:out", "30",
                                               "genred-mono"], 1.2, {"RT_GUARD_ONLY": "jack"})
    check(cb > 30 and bad == 0, "jack input, one port: %d callbacks, %d violations (first %s)"
          % (cb, bad, first))

    # Two ports: interleaving through the preallocated scratch buffer.
    cb, bad, first = guarded(jt, "jack-stereo",
                             [jt.bin("input_probe"), "jack:src:out,src:out", "30",
                              "genred-stereo"], 1.2, {"RT_GUARD_ONLY": "jack"})
    check(cb > 30 and bad == 0, "jack input, two ports: %d callbacks, %d violations (first %s)"
          % (cb, bad, first))

    # PortAudio: genred's stream callback, inside PortAudio's JACK host.
    cb, bad, first = guarded(jt, "portaudio", [jt.bin("input_probe"), "portaudio", "30",
                                               "genred-pa"], 1.2, {"RT_GUARD_ONLY": "portaudio"},
                             connect=("src:out", "genred-pa:in_0"))
    check(cb > 30 and bad == 0, "portaudio input: %d callbacks, %d violations (first %s)"
          % (cb, bad, first))

    # The daemon itself: the same callbacks with the whole pipeline, publisher
    # and supervision threads running around them.
    genred = os.path.join(jt.build, "bin", "genred")
    if os.path.exists(genred):
        tmp = tempfile.mkdtemp(prefix="genred-rtguard-")
        try:
            args = ["--publish", "ipc://%s/pub.ipc" % tmp, "--hop", "0.25"]
            cb, bad, first = guarded(jt, "genred-jack",
                                     [genred, "--input", "jack:src:out"] + args, 2.0,
                                     {"RT_GUARD_ONLY": "jack"})
            check(cb > 50 and bad == 0, "genred on jack: %d callbacks, %d violations (first %s)"
                  % (cb, bad, first))
            cb, bad, first = guarded(jt, "genred-portaudio", [genred, "--input", "portaudio"] + args,
                                     2.0, {"RT_GUARD_ONLY": "portaudio"},
                                     connect=("src:out", "genred:in_0"))
            check(cb > 50 and bad == 0,
                  "genred on portaudio: %d callbacks, %d violations (first %s)" % (cb, bad, first))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
