#!/usr/bin/python3
"""The `jack` input on a real JACK server (dummy driver): the samples a
player sends arrive in the ring at the server's rate, for one and for two
ports, and a source port that appears after genred is connected then."""

import subprocess
import time

from jackenv import JackTest, check, event_deadline
from probe_lines import ProbeReader


def probe(jt, name, spec, client):
    """input_probe until stopped (SIGTERM: exit 0), however long a loaded
    machine makes the set-up: its report lines are what is waited for."""
    p = jt.spawn(name, [jt.bin("input_probe"), spec, "600", client], stdout=subprocess.PIPE)
    return p, ProbeReader(p, time.monotonic)


def steady(lines):
    """Report lines after the first, which may cover start-up."""
    return lines[1:]


def overall_rms(lines, per_channel):
    """Each channel's RMS over all the lines, from each line's RMS and
    frame count."""
    frames = sum(l["frames"] for l in lines) or 1
    channels = zip(*[[x * x * l["frames"] for x in per_channel(l)] for l in lines])
    return [(sum(c) / frames) ** 0.5 for c in channels]


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
    mono, r_mono = probe(jt, "mono", "jack:src:out", "genred-mono")
    stereo, r_stereo = probe(jt, "stereo", "jack:src:out,system:capture_1", "genred-stereo")
    late, r_late = probe(jt, "late", "jack:late:out", "genred-late")
    for port in ("genred-mono:in_1", "genred-stereo:in_2", "genred-late:in_1"):
        jt.wait_port(port)
    check(jt.wait_connection("genred-mono:in_1", "src:out"), "in_1 auto-connected to src:out")
    jt.spawn("late-player", [jt.bin("jack_play"), "-n", "late"])
    jt.wait_port("late:out")
    t_player = time.monotonic()
    # About 3 s of reports (one each 0.5 s) from each, the late source's
    # counted from 1 s after it appeared.
    r_mono.wait_for(lambda l: True, event_deadline(), count=7)
    r_stereo.wait_for(lambda l: True, event_deadline(), count=7)
    r_late.wait_for(lambda l: True, event_deadline(), since=t_player + 1.0, count=3)
    for name in ("mono", "stereo", "late"):
        code, _ = jt.stop(name)
        check(code == 0, "probe %s exits 0 on SIGTERM" % name)

    check_flow(jt, r_mono.lines, 48000, 1, "mono")
    # The synthesised clip has an RMS near 0.107; silence or garbage would not.
    # Over the run, weighted by frames: on a loaded machine one report may
    # cover no frames (rms 0) and the next a few periods' worth.
    rms = overall_rms(steady(r_mono.lines), lambda l: [l["rms"]])
    check(0.08 < rms[0] < 0.13, "mono: the player's signal arrives (rms %.4f)" % rms[0])

    check_flow(jt, r_stereo.lines, 48000, 2, "stereo")
    rms = overall_rms(steady(r_stereo.lines), lambda l: l["ch_rms"])
    check(0.08 < rms[0] < 0.13 and rms[1] < 1e-6,
          "stereo: player on channel 1, silence on channel 2, interleaved (rms %s)" % rms)

    after = r_late.since(t_player + 1.0)
    rms = overall_rms(after, lambda l: [l["rms"]]) if after else [0.0]
    check(rms[0] > 0.08, "late source connected once it appeared (rms %.4f over %d lines)"
          % (rms[0], len(after)))
    check("does not exist (yet)" in jt.read_log("late"), "genred said the source was missing")
