#!/usr/bin/python3
"""Fault injection on the `jack` input: the server is killed (SIGKILL, as in
a crash) and comes back at another rate. The input must say so, wait, and
resume within 5 s of the server's return, reconnected to its source, with
the new rate published under a new generation; and it still stops cleanly."""

import subprocess
import time

from jackenv import JackTest, check
from probe_lines import ProbeReader

with JackTest() as jt:
    jt.start_server(rate=48000)
    jt.spawn("player", [jt.bin("jack_play"), "-n", "src"])
    jt.wait_port("src:out")
    p = jt.spawn("probe", [jt.bin("input_probe"), "jack:src:out", "30", "genred"],
                 stdout=subprocess.PIPE)
    r = ProbeReader(p, time.monotonic)
    time.sleep(1.6)
    before = r.lines[-1]
    check(before["state"] == "running" and before["rms"] > 0.08, "running before the crash")

    jt.kill_server()
    jt.procs.pop("player").wait(5)  # the player dies with its server
    time.sleep(1.5)
    check(r.lines[-1]["state"] == "waiting", "state 'waiting' while the server is away")

    jt.start_server(rate=44100)
    t_back = time.monotonic()
    jt.spawn("player2", [jt.bin("jack_play"), "-n", "src"])
    deadline = t_back + 5.0
    resumed = None
    while time.monotonic() < deadline + 0.6 and resumed is None:
        time.sleep(0.1)
        for l in r.since(t_back):
            if l["state"] == "running" and l["rms"] > 0.08:
                resumed = l
                break
    check(resumed is not None and resumed["at"] <= deadline + 0.5,
          "audio flows again %.1f s after the server returned"
          % ((resumed["at"] - t_back) if resumed else -1))
    check(resumed["rate"] == 44100, "new rate 44100 published")
    check(resumed["gen"] > before["gen"], "generation bumped (%d -> %d)"
          % (before["gen"], resumed["gen"]))

    code, took = jt.stop("probe")
    check(code == 0 and took < jt.stop_limit, "stops cleanly in %.2f s (exit %s)" % (took, code))
    log = jt.read_log("probe")
    check("JACK server went away" in log, "logged the server going away")
    check(log.count("running at 44100 Hz") == 1, "logged the reconnection once")
