#!/usr/bin/python3
"""genred on a PortAudio whose Pa_OpenStream never returns (pa_stuck.so),
as PortAudio's JACK host API does when jackd never runs its client (seen
beside a CPU hog, 1 run in about 15). genred must not hang with it:

1. SIGTERM while PortAudio is opening: genred stops promptly, exit 0.
2. Left alone: genred gives up after 20 s with one line that says why and
   what to do, exit 1, so that systemd's Restart=on-failure gets a fresh
   client.

Release flavour only: an LD_PRELOAD library must not come before a
sanitizer's runtime."""

import os
import time

from jackenv import JackTest, check, event_deadline, skip

if os.environ.get("GENRED_FLAVOUR", "release") != "release":
    skip("pa_stuck.so needs the release flavour (LD_PRELOAD before a sanitizer runtime)")

GIVE_UP_S = 20  # FIRST_OPEN_MS in daemon/input_portaudio.c


def wait_log(jt, name, text, deadline):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if text in jt.read_log(name):
            return True
        if jt.procs[name].poll() is not None:
            return text in jt.read_log(name)
        time.sleep(0.05)
    return False


def stuck_genred(jt, name):
    ep = "ipc://%s/%s.ipc" % (jt.logdir, name)
    return jt.spawn(name, [jt.bin("genred"), "--input", "portaudio", "--publish", ep],
                    env={"LD_PRELOAD": jt.bin("pa_stuck.so")})


with JackTest() as jt:
    jt.start_server()

    stuck_genred(jt, "stopped")
    # Logged just before the input starts, i.e. before the open that hangs.
    check(wait_log(jt, "stopped", "stream 'main': portaudio", event_deadline()),
          "genred reaches the PortAudio open")
    code, took = jt.stop("stopped", timeout=10)
    log = jt.read_log("stopped")
    check(code == 0 and took < 1 + jt.stop_limit,
          "SIGTERM while PortAudio opens: exit %s in %.2f s" % (code, took))
    check("SIGTERM: stopping during start-up" in log, "says it stopped: %r" % log[-300:])

    t0 = time.monotonic()
    p = stuck_genred(jt, "abandoned")
    p.wait(GIVE_UP_S + event_deadline())
    took = time.monotonic() - t0
    log = jt.read_log("abandoned")
    jt.procs.pop("abandoned")
    check(p.returncode == 1, "gives up with exit 1 (exit %s after %.1f s)" % (p.returncode, took))
    check(took >= GIVE_UP_S - 1, "not before %d s (%.1f s)" % (GIVE_UP_S, took))
    # (The stream's own closing line, "stream 'main': input failed: ...",
    # may repeat it when its worker sees the failure before the stop.)
    lines = [l for l in log.splitlines() if l.startswith("genred: error: input 'portaudio': ")]
    check(len(lines) == 1 and "has not opened the device" in lines[0] and
          "Restart=on-failure" in lines[0] and "--input jack" in lines[0],
          "one line saying why and what to do: %r" % lines)
