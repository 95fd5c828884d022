#!/usr/bin/python3
"""The `jack` input on a real JACK server (dummy driver): the samples a
player sends arrive in the ring at the server's rate, for one and for two
ports, and a source port that appears after genred is connected then."""

import subprocess
import time

from jackenv import EVENT_DEADLINE_S, JackTest, check, load_factor
from probe_lines import ProbeReader


def probe(jt, name, spec, seconds, client):
    p = jt.spawn(name, [jt.bin("input_probe"), spec, str(seconds), client],
                 stdout=subprocess.PIPE)
    return p, ProbeReader(p, time.monotonic)


def steady(lines):
    """Report lines after the first, which may cover start-up."""
    return lines[1:]


def check_flow(jt, lines, rate, channels, what):
    t0 = lines[0]["t"]
    lines = steady(lines)
    check(len(lines) >= 3, "%s: %d report lines" % (what, len(lines)))
    check(all(l["state"] == "running" for l in lines), "%s: state running" % what)
    check(all(l["rate"] == rate and l["ch"] == channels for l in lines),
          "%s: %g Hz, %d channel(s)" % (what, rate, channels))
    # Over the whole run: one report's count jitters by a period or two.
    measured = sum(l["frames"] for l in lines) / (lines[-1]["t"] - t0)
    check(abs(measured - rate) < jt.rate_tolerance * rate,
          "%s: %.0f frames/s delivered, expected %.0f" % (what, measured, rate))
    check(all(l["overruns"] == 0 for l in lines), "%s: no ring overruns" % what)


with JackTest() as jt:
    jt.start_server()
    jt.spawn("player", [jt.bin("jack_play"), "-n", "src"])
    jt.wait_port("src:out")

    # Three inputs at once, each its own client: one port auto-connected to
    # the player; two ports interleaved (the player on in_1, the dummy's
    # silent capture on in_2); and a source that appears only after genred.
    # The probes run for a fixed wall time, which the set-up below must not
    # outlast on a loaded machine: it grows with the load.
    slow = min(4.0, load_factor())
    mono, r_mono = probe(jt, "mono", "jack:src:out", 3.2 * slow, "genred-mono")
    stereo, r_stereo = probe(jt, "stereo", "jack:src:out,system:capture_1", 3.2 * slow,
                             "genred-stereo")
    late, r_late = probe(jt, "late", "jack:late:out", 4.5 * slow, "genred-late")
    for port in ("genred-mono:in_1", "genred-stereo:in_2", "genred-late:in_1"):
        jt.wait_port(port)
    check(jt.wait_connection("genred-mono:in_1", "src:out"), "in_1 auto-connected to src:out")
    jt.spawn("late-player", [jt.bin("jack_play"), "-n", "late"])
    jt.wait_port("late:out")
    t_player = time.monotonic()
    for p in (mono, stereo, late):
        p.wait(EVENT_DEADLINE_S)
        check(p.returncode == 0, "probe exits 0")

    check_flow(jt, r_mono.lines, 48000, 1, "mono")
    # The synthesised clip has an RMS near 0.107; silence or garbage would not.
    rms = [l["rms"] for l in steady(r_mono.lines)]
    check(all(0.08 < x < 0.13 for x in rms), "mono: the player's signal arrives (rms %s)" % rms)

    check_flow(jt, r_stereo.lines, 48000, 2, "stereo")
    rms = [l["ch_rms"] for l in steady(r_stereo.lines)]
    check(all(0.08 < a < 0.13 and b < 1e-6 for a, b in rms),
          "stereo: player on channel 1, silence on channel 2, interleaved (rms %s)" % rms)

    after = r_late.since(t_player + 1.0)
    check(after and all(l["rms"] > 0.08 for l in after),
          "late source connected once it appeared (rms %s)" % [l["rms"] for l in after])
    check("does not exist (yet)" in jt.read_log("late"), "genred said the source was missing")
