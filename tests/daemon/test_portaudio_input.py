#!/usr/bin/python3
"""The `portaudio` input, seeing a real JACK server through PortAudio's JACK
host API (no sound card here): device listing, capture of a player's signal
at the device's rate, and the device vanishing (jackd killed) — no crash or
hang, one clear line, a prompt clean stop.

PortAudio's JACK host cannot release a stream whose server died (see
daemon/input_portaudio.c), so the input reports 'failed' rather than
resuming; `jack` input covers resumption (test_jack_restart.py)."""

import subprocess
import time

from jackenv import JackTest, check, event_deadline
from probe_lines import ProbeReader

with JackTest() as jt:
    # Without a server there is no device, and probing stays quiet.
    r = subprocess.run([jt.bin("input_probe"), "--list-devices"], env=jt.env,
                       capture_output=True, text=True, timeout=20)
    check(r.returncode == 0 and "no capture devices" in r.stdout,
          "--list-devices with no device says so")
    check(r.stderr == "", "no ALSA/JACK probing noise on stderr (got %r)" % r.stderr[:200])

    r = subprocess.run([jt.bin("input_probe"), "portaudio", "1"], env=jt.env,
                       capture_output=True, text=True, timeout=20)
    check(r.returncode == 1 and "no default capture device" in r.stderr,
          "no device: one clear error, exit 1 (%s)" % r.stderr.strip())

    jt.start_server(rate=48000)
    r = subprocess.run([jt.bin("input_probe"), "--list-devices"], env=jt.env,
                       capture_output=True, text=True, timeout=20)
    line = [l for l in r.stdout.split("\n") if "JACK Audio Connection Kit" in l]
    check(line and "system" in line[0] and "48000" in line[0] and "(default)" in line[0],
          "--list-devices shows JACK's system device: %s" % (line[0] if line else r.stdout))

    r = subprocess.run([jt.bin("input_probe"), "portaudio:nosuchdevice", "1"], env=jt.env,
                       capture_output=True, text=True, timeout=20)
    check(r.returncode == 1 and "no capture device matches 'nosuchdevice'" in r.stderr,
          "unknown device named in the error")

    jt.spawn("player", [jt.bin("jack_play"), "-n", "src"])
    jt.wait_port("src:out")
    # Runs until stopped below, however long a loaded machine makes the waits.
    p = jt.spawn("probe", [jt.bin("input_probe"), "portaudio:sys", "600", "genred-pa"],
                 env=jt.abandoning_env(), stdout=subprocess.PIPE)
    r = ProbeReader(p, time.monotonic)
    jt.wait_port("genred-pa:in_0")
    jt.connect("src:out", "genred-pa:in_0")
    t_conn = time.monotonic()
    # Three reports (one each 0.5 s) after the first, which may straddle the
    # connection: the rate is measured over the last two.
    r.wait_for(lambda l: True, event_deadline(), since=t_conn + 0.6, count=3)
    lines = r.since(t_conn + 0.6)
    check(len(lines) >= 2, "%d report lines" % len(lines))
    check(all(l["state"] == "running" and l["rate"] == 48000 and l["ch"] == 2 for l in lines),
          "running, 48000 Hz, 2 channels")
    check(all(0.08 < l["ch_rms"][0] < 0.13 and l["ch_rms"][1] < 1e-6 for l in lines),
          "player's signal on channel 1 only (%s)" % [l["ch_rms"] for l in lines])
    measured = sum(l["frames"] for l in lines[1:]) / (lines[-1]["t"] - lines[0]["t"])
    check(abs(measured - 48000) < jt.rate_tolerance * 48000, "%.0f frames/s delivered" % measured)

    t_gone = time.monotonic()
    jt.kill_server()
    r.wait_for(lambda l: l["state"] == "failed", event_deadline(), since=t_gone)
    check(p.poll() is None, "no crash when the device vanishes")
    check(r.lines[-1]["state"] == "failed", "state 'failed' (%s)" % r.lines[-1]["state"])
    jt.start_server(rate=48000)  # also frees the killed server's registry slot
    t_back = time.monotonic()
    # Two reports since the server's return: the input had the time to see it.
    r.wait_for(lambda l: True, event_deadline(), since=t_back, count=2)
    check(p.poll() is None and r.lines[-1]["state"] == "failed",
          "the server's return does not disturb the failed input")
    code, took = jt.stop("probe")
    check(code == 0 and took < jt.stop_limit, "stops cleanly in %.2f s (exit %s)" % (took, code))
    log = jt.read_log("probe")
    check(log.count("its JACK server went away") == 1, "one clear line about it")
