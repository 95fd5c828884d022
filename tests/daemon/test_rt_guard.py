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

from jackenv import JackTest, check, fail, load_factor, skip

if os.environ.get("GENRED_FLAVOUR", "release") != "release":
    skip("rt_guard needs the release flavour (sanitizers interpose malloc too)")


STOP_DEADLINE_S = 60


def run_guarded(jt, runs, seconds):
    """Starts every run {name: (argv, extra env, (src, dst) to connect or
    None)} at once under the guard, lets them work for `seconds` (more on a
    loaded machine, whose dummy server runs fewer cycles), stops them
    with SIGTERM, and returns {name: (callbacks, violations, first call,
    allowed eventfd wake-ups)}."""
    started = {}
    for name, (argv, extra_env, connect) in runs.items():
        report = jt.log(name + ".rtguard")
        if os.path.exists(report):
            os.remove(report)
        env = dict(extra_env, LD_PRELOAD=jt.bin("rt_guard.so"), RT_GUARD_REPORT=report)
        started[name] = (jt.spawn(name, argv, env=env), report)
    for name, (argv, extra_env, connect) in runs.items():
        if connect:
            jt.wait_port(connect[1])
            jt.connect(*connect)
    time.sleep(seconds * min(4.0, load_factor()))
    results = {}
    for name, (p, report) in started.items():
        # Whether it exits, not how fast (jt.stop_limit is for that, in the
        # tests of the back-ends): the guard's interposed calls and a loaded
        # machine once made genred take over 5 s.
        code, took = jt.stop(name, timeout=STOP_DEADLINE_S)
        check(code == 0, "%s exits 0 under the guard (%.1f s after SIGTERM; jackd: %d cycles "
              "where PortAudio's client genred-p did not finish)"
              % (name, took, jt.unfinished_cycles("genred-p")))
        with open(report) as f:
            for line in f:
                m = re.match(r"pid=(\d+) callbacks=(\d+) violations=(\d+) first=(\S+) "
                             r"wakeups=(\d+)", line)
                if m and int(m.group(1)) == p.pid:
                    results[name] = (int(m.group(2)), int(m.group(3)), m.group(4),
                                     int(m.group(5)))
        if name not in results:
            fail("no rt_guard report line for %s (pid %d)" % (name, p.pid))
    return results


def check_clean(result, what, at_least):
    cb, bad, first, wakeups = result
    check(cb >= at_least and bad == 0, "%s: %d callbacks, %d violations (first %s), "
          "%d eventfd wake-ups" % (what, cb, bad, first, wakeups))


with JackTest() as jt:
    jt.start_server()

    r = run_guarded(jt, {
        "dirty": ([jt.bin("jack_play"), "-n", "dirty"], {"JACK_PLAY_RT_MALLOC": "1"}, None),
        "clean": ([jt.bin("jack_play"), "-n", "src"], {}, None),
        "wake": ([jt.bin("jack_play"), "-n", "wake"], {"JACK_PLAY_RT_WRITE": "eventfd"}, None),
        "blocking": ([jt.bin("jack_play"), "-n", "blocking"], {"JACK_PLAY_RT_WRITE": "blocking"},
                     None),
    }, 2.0)  # four clients: 2 s, so a loaded machine's server still runs > 10 cycles
    cb, bad, first, _ = r["dirty"]
    check(cb > 10 and bad >= cb and first == "malloc",
          "self-check: a callback that allocates is caught (%d callbacks, %d violations, "
          "first %s)" % (cb, bad, first))
    check_clean(r["clean"], "self-check: the same client without allocation is clean", 10)
    # The one allowed syscall is exactly that: 8 bytes to a non-blocking
    # eventfd pass (and are counted), the same to a blocking one do not.
    # (A loaded machine's dummy server runs few cycles a second: 5 suffice.)
    check_clean(r["wake"], "self-check: a non-blocking eventfd write is allowed", 5)
    check(r["wake"][3] >= r["wake"][0], "self-check: each wake-up counted: %r" % (r["wake"],))
    cb, bad, first, _ = r["blocking"]
    check(cb >= 5 and bad >= cb and first == "write",
          "self-check: a write to a blocking eventfd is caught (%d callbacks, %d violations, "
          "first %s)" % (cb, bad, first))

    jt.spawn("player", [jt.bin("jack_play"), "-n", "src"])
    jt.wait_port("src:out")

    # The back-ends through input.h: one port (the port buffer straight into
    # the ring), two ports (interleaved through the preallocated scratch),
    # and PortAudio (genred's stream callback inside PortAudio's JACK host).
    probe = jt.bin("input_probe")
    r = run_guarded(jt, {
        "jack-mono": ([probe, "jack:src:out", "30", "genred-mono"], {}, None),
        "jack-stereo": ([probe, "jack:src:out,src:out", "30", "genred-stereo"], {}, None),
        "portaudio": ([probe, "portaudio", "30", "genred-pa"], {}, ("src:out", "genred-pa:in_0")),
    }, 1.5)
    check_clean(r["jack-mono"], "jack input, one port", 30)
    check_clean(r["jack-stereo"], "jack input, two ports", 30)
    check_clean(r["portaudio"], "portaudio input", 30)

    # The daemon itself: the same callbacks with the whole pipeline, publisher
    # and supervision threads running around them. Three streams of one
    # genred process: two JACK streams (one port, two ports) whose ports share
    # the client genred, so its one callback serves both, and PortAudio on
    # its own client genred-p.
    genred = os.path.join(jt.build, "bin", "genred")
    if os.path.exists(genred):
        tmp = tempfile.mkdtemp(prefix="genred-rtguard-")
        try:
            conf = os.path.join(tmp, "genred.conf")
            with open(conf, "w") as f:
                f.write('streams = ( { name = "j"; input = "jack:src:out"; },\n'
                        '            { name = "k"; input = "jack:src:out,src:out"; },\n'
                        '            { name = "p"; input = "portaudio"; } );\n')
            args = [genred, "--config", conf, "--publish", "ipc://%s/pub.ipc" % tmp,
                    "--hop", "0.25"]
            r = run_guarded(jt, {"genred": (args, {}, ("src:out", "genred-p:in_0"))}, 2.0)
            check_clean(r["genred"], "genred on two jack streams of one client and portaudio",
                        100)
            # The workers sleep until a hop's audio is in: the callbacks
            # wake them, a few times per hop, never once per period.
            cb, _, _, wakeups = r["genred"]
            check(0 < wakeups < cb, "genred's callbacks wake its workers: %d wake-ups in %d "
                  "callbacks" % (wakeups, cb))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
