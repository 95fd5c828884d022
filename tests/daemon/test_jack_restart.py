#!/usr/bin/python3
"""Fault injection on the `jack` input: the server is killed (SIGKILL, as in
a crash) and comes back at another rate. The input must say so, wait, and
resume within 5 s of the server's return (longer as the machine's load
grows), reconnected to its source, with
the new rate published under a new generation; and it still stops cleanly."""

import subprocess
import time

from jackenv import JackTest, check, event_deadline, load_factor
from probe_lines import ProbeReader

with JackTest() as jt:
    jt.start_server(rate=48000)
    jt.spawn("player", [jt.bin("jack_play"), "-n", "src"])
    jt.wait_port("src:out")
    # Runs until stopped below, however long a loaded machine makes the waits.
    p = jt.spawn("probe", [jt.bin("input_probe"), "jack:src:out", "600", "genred"],
                 stdout=subprocess.PIPE)
    r = ProbeReader(p, time.monotonic)
    before = r.wait_for(lambda l: l["state"] == "running" and l["rms"] > 0.08, event_deadline())
    check(before is not None, "running before the crash (%s)" % r.lines[-1:])

    jt.kill_server()
    t_gone = time.monotonic()
    jt.procs.pop("player").wait(5)  # the player dies with its server
    check(r.wait_for(lambda l: l["state"] == "waiting", event_deadline(), since=t_gone),
          "state 'waiting' while the server is away (%s)" % r.lines[-1:])

    jt.start_server(rate=44100)
    t_back = time.monotonic()
    jt.spawn("player2", [jt.bin("jack_play"), "-n", "src"])
    # The input retries on its own schedule; a CPU hog slows the new
    # server, the player and the retry alike.
    deadline = t_back + 5.0 * load_factor()
    resumed = r.wait_for(lambda l: l["state"] == "running" and l["rms"] > 0.08,
                         event_deadline(), since=t_back)
    check(resumed is not None and resumed["at"] <= deadline + 0.5,
          "audio flows again %.1f s after the server returned"
          % ((resumed["at"] - t_back) if resumed else -1))
    check(resumed is not None and resumed["rate"] == 44100, "new rate 44100 published")
    check(resumed is not None and before is not None and resumed["gen"] > before["gen"],
          "generation bumped (%s -> %s)" % (before and before["gen"], resumed and resumed["gen"]))

    code, took = jt.stop("probe")
    check(code == 0 and took < jt.stop_limit, "stops cleanly in %.2f s (exit %s)" % (took, code))
    log = jt.read_log("probe")
    check("JACK server went away" in log, "logged the server going away")
    check(log.count("running at 44100 Hz") == 1, "logged the reconnection once")
