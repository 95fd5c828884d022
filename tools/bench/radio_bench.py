"""tools/bench/run's internet radio items (issue 24):

  11. 300 url: streams in one genred on 2 cores, from a local Icecast
      (tests/daemon/icecast.py: Debian's icecast2 on loopback, 4 mounts fed
      by ffmpeg at 128 kbit/s MP3, 75 listeners each): genred's CPU, and
      audio lost inside genred (ring overruns, and the slowest stream's
      audio against the wall clock over the run); icecast2's and the ffmpeg
      sources' CPU beside it.
  11b. 1000 stalled url: streams: a loopback server sends each stream two
      seconds of MP3 on its first connection and then nothing, and answers
      no later connection, so once each has timed out every stream spends
      its time blocked in FFmpeg's connect or read (until its 15 s open
      timeout) or in its back-off before the next try: genred's idle CPU
      with 1000 reader threads that have nothing to do, and its threads and
      memory.

Needs icecast2 and ffmpeg (Debian packages); without them the item says
"FAILED: ... missing"."""
import os
import statistics
import subprocess
import sys
import threading
import time

import icecast  # tests/daemon: the Icecast server and a stalled station


class StepFailed(Exception):
    pass


def write_config(path, urls):
    with open(path, "w") as f:
        f.write("streams = (\n%s\n);\n" % ",\n".join(
            '  { name = "r%d"; input = "url:%s"; }' % (i, u) for i, u in enumerate(urls)))


def cpu_ticks(pids):
    """utime + stime of processes, in seconds."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK")


def run_genred(build, conf, tmp, name, until, seconds, status_messages, proc_kb):
    """genred on conf under taskset 0,1; waits for until(statuses) (at most
    `seconds` more than the run), then measures `seconds`. Returns (the
    statuses from the one until() accepted on, the pid's VmHWM kB, threads,
    and the CPU seconds of `others` is up to the caller)."""
    ep = "ipc://%s/%s.ipc" % (tmp, name)
    argv = ["taskset", "-c", "0,1", os.path.join(build, "bin", "genred"), "--config", conf,
            "--publish", ep, "--hop", "0.5", "--status-interval", "5", "--log-level", "warn"]
    stop = threading.Event()
    msgs = []
    t = threading.Thread(target=status_messages, args=(ep, stop, msgs), daemon=True)
    t.start()
    log = open(os.path.join(tmp, name + ".log"), "w")
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline, base = time.monotonic() + 180, None
        while base is None:
            if p.poll() is not None:
                raise StepFailed("genred exited %d" % p.returncode)
            if time.monotonic() > deadline:
                raise StepFailed("not ready within 180 s: %s" % (
                    msgs and [s["state"] for s in msgs[-1][1]["streams"]][:5]))
            base = next((i for i, (_, m) in enumerate(msgs) if until(m)), None)
            time.sleep(0.2)
        end = time.monotonic() + seconds
        while time.monotonic() < end and p.poll() is None:
            time.sleep(0.5)
        n = len(msgs)
        while len(msgs) == n and p.poll() is None:  # one status covering the end
            time.sleep(0.2)
        last = len(msgs)  # not the closing status, which says the streams stopped
        hwm = proc_kb(p.pid, "VmHWM")
        threads = len(os.listdir("/proc/%d/task" % p.pid))
    finally:
        if p.poll() is None:
            p.terminate()
            p.wait(60)
        stop.set()
        t.join(2)
    return [m for _, m in msgs[base:last]], hwm, threads, " ".join(argv).replace(tmp, "/tmp/…")


def step_radio(a, tmp, res, status_messages, proc_kb, root):
    why = icecast.missing()
    if why:
        raise StepFailed("%s missing" % why)
    n, mounts = (60, 2) if a.quick else (300, 4)
    seconds = 15 if a.quick else 60
    clip = os.path.join(root, "tests", "data", "music_excerpt.wav")
    with icecast.Icecast(tmp, clients=n + 50) as ice:
        srcs = [ice.source("/r%d.mp3" % m, clip, bitrate=128) for m in range(mounts)]
        if not all(ice.wait_mount("/r%d.mp3" % m, 30) for m in range(mounts)):
            raise StepFailed("the ffmpeg sources did not come on air: %s" % ice.log_tail())
        for m in range(mounts):
            ice.set_title("/r%d.mp3" % m, "Station %d - Song" % m)
        conf = os.path.join(tmp, "radio.conf")
        write_config(conf, [ice.url("/r%d.mp3" % (i % mounts)) for i in range(n)])
        others = [ice.proc.pid] + [s.pid for s in srcs]
        c0, t0 = cpu_ticks(others), time.monotonic()
        sts, hwm, threads, cmd = run_genred(
            a.build, conf, tmp, "radio",
            lambda m: all(s["state"] == "running" and s["hops"] > 0 for s in m["streams"]),
            seconds, status_messages, proc_kb)
        others_pct = 100 * (cpu_ticks(others) - c0) / (time.monotonic() - t0)
    first, last = sts[0], sts[-1]
    wall = (last["time_ms"] - first["time_ms"]) / 1000.0
    paces = sorted((b["position"] - f["position"]) / b["rate"] / wall
                   for f, b in zip(first["streams"], last["streams"]))
    pace, pace_median = paces[0], statistics.median(paces)
    over = sum(s["overruns"] for s in last["streams"])
    running = sum(1 for s in last["streams"] if s["state"] == "running")
    cpu = statistics.median(m["cpu_percent"] for m in sts[1:] or sts)
    with open(os.path.join(tmp, "radio.log"), errors="replace") as f:
        drops = f.read().count("stream lost")
    res["radio"] = {"n": n, "mounts": mounts, "seconds": wall, "cpu": cpu, "pace": pace,
                    "pace_median": pace_median,
                    "overruns": over, "running": running, "hwm_kb": hwm, "threads": threads,
                    "others_pct": others_pct, "drops": drops, "cmd": cmd,
                    "cpus": [round(m["cpu_percent"], 1) for m in sts]}
    rows = [("11. radio: %d url: streams from a local Icecast (%d mounts, MP3 128 kbit/s), "
             "%.0f s, 2 cores" % (n, mounts, wall),
             "genred %.1f %% of one core (median of 5 s statuses; %.2f %% per stream); lost "
             "inside genred: %d overruns; %d/%d running, %d drops; audio over wall clock per "
             "stream: median %.3fx, slowest %.3fx; icecast2 + ffmpeg sources %.1f %%"
             % (cpu, cpu / n, over, running, n, drops, pace_median, pace, others_pct),
             "< 100 %, zero lost", "met" if cpu < 100 and over == 0 and drops == 0 and
             running == n else "MISSED")]
    rows.append(step_stalled(a, tmp, res, proc_kb))
    return rows


# ---- 11b: stalled streams ----

def stalled_ready(log_path, n):
    """Every stream has had its audio and timed out since: n drops logged."""
    with open(log_path, errors="replace") as f:
        return f.read().count("stream lost: nothing received") >= n


def cpu_samples(pid, seconds, every=5.0):
    """genred's CPU, % of one core, per `every` s over `seconds`, from
    /proc, sampled at the same moments whatever the status interval."""
    out = []
    for _ in range(int(seconds / every)):
        c0, t0 = cpu_ticks([pid]), time.monotonic()
        time.sleep(every)
        out.append(100 * (cpu_ticks([pid]) - c0) / (time.monotonic() - t0))
    return out


def step_stalled(a, tmp, res, proc_kb):
    n = 200 if a.quick else 1000
    seconds = 20 if a.quick else 60
    head = os.path.join(tmp, "head.mp3")
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=2", "-ac", "2", "-c:a", "libmp3lame", "-b:a",
                    "128k", head], check=True)
    with open(head, "rb") as f:
        srv = icecast.StalledStation(f.read())
    conf, log_path = os.path.join(tmp, "stalled.conf"), os.path.join(tmp, "stalled.log")
    write_config(conf, ["http://127.0.0.1:%d/s%d" % (srv.port, i) for i in range(n)])
    argv = ["taskset", "-c", "0,1", os.path.join(a.build, "bin", "genred"), "--config", conf,
            "--publish", "ipc://%s/stalled.ipc" % tmp, "--log-level", "warn"]
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=open(log_path, "w"))
    try:
        deadline = time.monotonic() + 180
        while not stalled_ready(log_path, n):
            if p.poll() is not None or time.monotonic() > deadline:
                raise StepFailed("%d streams not all stalled within 180 s (genred %s)" % (
                    n, "exited %d" % p.returncode if p.poll() is not None else "running"))
            time.sleep(0.5)
        cpus = cpu_samples(p.pid, seconds)
        hwm = proc_kb(p.pid, "VmHWM")
        threads = len(os.listdir("/proc/%d/task" % p.pid))
    finally:
        if p.poll() is None:
            p.terminate()
            p.wait(60)
        srv.close()
    cpu = statistics.median(cpus)
    res["stalled"] = {"n": n, "cpu": cpu, "hwm_kb": hwm, "threads": threads,
                      "cmd": " ".join(argv).replace(tmp, "/tmp/…"), "served": srv.served,
                      "cpus": [round(c, 1) for c in cpus]}
    return ("11b. radio: %d stalled url: streams (2 s of audio, then silence on the wire), "
            "%d s" % (n, seconds),
            "genred %.1f %% of one core (median of 5 s samples; %.3f %% per stream), %d threads, "
            "VmHWM %.0f MB" % (cpu, cpu / n, threads, (hwm or 0) / 1024.0), "report", "n/a")


def report(res):
    L = []
    if "radio" in res:
        r = res["radio"]
        L += ["11. `%s` (CONF: %d streams, url: of %d Icecast mounts in turn; icecast2 with "
              "tests/daemon/icecast.py's config, each mount fed by `ffmpeg -re -stream_loop -1 "
              "-i tests/data/music_excerpt.wav -c:a libmp3lame -b:a 128k -f mp3 icecast://...`); "
              "measured from the first genre.status in which every stream runs and has "
              "classified. Lost audio inside genred: ring overruns (the url: reader waits for "
              "room, so there should be none); drops: \"stream lost\" lines (reconnections). "
              "Audio over wall clock: each stream's input position over the run; under 1 when "
              "genred (or the source, ffmpeg -re on the same busy cores) fell behind, the "
              "difference waiting in the socket and Icecast, not lost. genred's CPU per "
              "5 s status: %s; VmHWM %.0f MB, %d threads." % (
                  r["cmd"], r["n"], r["mounts"], r["cpus"], (r["hwm_kb"] or 0) / 1024.0,
                  r["threads"]), ""]
    if "stalled" in res:
        s = res["stalled"]
        L += ["11b. `%s` (CONF: %d url: streams to one loopback server that sends each "
              "stream HTTP headers and 2 s of MP3 on its first connection, then nothing, and "
              "never answers again); measured once every stream has had its audio and is "
              "waiting. Each reader waits in FFmpeg's poll(2), woken ten times a second to ask "
              "whether to give up, until its 15 s open timeout, then sleeps its back-off (1, 2, "
              "4 ... 30 s) on a condition variable; the workers sleep on their eventfd, waking "
              "twice a second. Measured once every stream has logged its drop; genred's CPU "
              "from /proc per 5 s: %s."
              % (s["cmd"], s["n"], s["cpus"]), ""]
    return L


if __name__ == "__main__":
    sys.exit("run through tools/bench/run --steps radio")
