"""tools/bench/run's fleet items (issue 18):

  8. genre-hub and its JetStream bridge: simulated genred hosts (ZeroMQ XPUB
     sockets speaking protocol v1, 5 hosts x 100 streams) publish
     genre.probs at the default hop (0.5 s: 1000 messages/s) through the hub
     to a subscriber and, with probs_interval 0, into a one-node JetStream;
     then as fast as the simulator can. Counts loss per stream by position.
  9. archive tagging with genre-queue on a one-node JetStream: the same
     files with 1, 2 and 3 workers (GTZAN clips from --gtzan when there,
     else synthetic 30 s clips).

The simulator and the subscriber are Python (python3-zmq): at the fastest
rate they, not the hub, may be what limits the figure; the report says the
simulator's own send rate next to the hub's."""
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

LABELS = ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae",
          "rock"]


class StepFailed(Exception):
    pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_nats(tmp, name):
    if not shutil.which("nats-server"):
        raise StepFailed("nats-server not installed")
    port = free_port()
    log = open(os.path.join(tmp, name + ".log"), "w")
    p = subprocess.Popen(["nats-server", "-a", "127.0.0.1", "-p", str(port), "-js", "-sd",
                          os.path.join(tmp, name)], stdout=log, stderr=log)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return p, "nats://127.0.0.1:%d" % port
        except OSError:
            time.sleep(0.05)
    p.kill()
    raise StepFailed("nats-server did not start")


def probs_body(stream, position, i):
    p = [0.02] * 10
    p[i % 10] = 0.82
    return json.dumps({"v": 1, "stream": stream, "time_ms": int(time.time() * 1000),
                       "position": position, "rate": 44100.0, "model": "bench",
                       "labels": LABELS, "top": LABELS[i % 10], "p": 0.82, "probs": p,
                       "raw": p, "silence": False, "level_dbfs": -18.5})


def simulate(zmq, eps, streams_per_host, rate, seconds, stop, sent):
    """Publishes genre.probs round-robin over every stream at `rate`/s total
    (0: as fast as it can) for `seconds`; genre.status per host each second."""
    ctx = zmq.Context()
    socks = []
    for ep in eps:
        s = ctx.socket(zmq.XPUB)
        s.setsockopt(zmq.SNDHWM, 1000000)
        s.bind(ep)
        socks.append(s)
    time.sleep(1.5)  # the hub connects and subscribes
    names = [["h%d/s%d" % (h, k) for k in range(streams_per_host)] for h in range(len(eps))]
    t0 = time.monotonic()
    n, next_status = 0, t0
    while time.monotonic() - t0 < seconds and not stop.is_set():
        if time.monotonic() >= next_status:
            for h, s in enumerate(socks):
                s.send_multipart([b"genre.status", json.dumps(
                    {"v": 1, "time_ms": int(time.time() * 1000),
                     "streams": [{"name": x} for x in names[h]]}).encode()])
            next_status += 1.0
        h, k = n % len(socks), (n // len(socks)) % streams_per_host
        pos = (n // (len(socks) * streams_per_host) + 1) * 22050
        socks[h].send_multipart([b"genre.probs", probs_body(names[h][k], pos, n).encode()])
        n += 1
        sent[0] = n
        if rate:
            ahead = t0 + n / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    sent[1] = time.monotonic() - t0
    time.sleep(1.0)
    for s in socks:
        s.close(linger=1000)
    ctx.term()


def collect(zmq, ep, stop, got, topics=("genre.probs",)):
    ctx = zmq.Context()
    s = ctx.socket(zmq.SUB)
    s.setsockopt(zmq.RCVHWM, 1000000)
    s.connect(ep)
    for t in topics:
        s.setsockopt_string(zmq.SUBSCRIBE, t)
    while not stop.is_set():
        if s.poll(100):
            topic, body = s.recv_multipart()
            got.append((time.monotonic(), topic, body))
    s.close(0)
    ctx.term()


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hub_run(a, tmp, rate, seconds, tag):
    import zmq
    nats, url = start_nats(tmp, "nats-" + tag)  # one stream per server: same subjects
    try:
        return hub_measure(zmq, a, tmp, rate, seconds, url, tag)
    finally:
        nats.terminate()
        nats.wait()


def hub_measure(zmq, a, tmp, rate, seconds, url, tag):
    hosts = 5
    eps = ["ipc://%s/%s-host%d" % (tmp, tag, h) for h in range(hosts)]
    hub_ep = "ipc://%s/%s-hub" % (tmp, tag)
    conf = os.path.join(tmp, tag + ".conf")
    with open(conf, "w") as f:
        f.write("hosts = (%s);\npublish = \"%s\";\nstatus_interval = 1.0;\nlost_after = 5;\n"
                % (", ".join('{ name = "h%d"; endpoint = "%s"; }' % (h, ep)
                             for h, ep in enumerate(eps)), hub_ep))
        f.write('jetstream = { url = "%s"; stream = "BENCH_%s"; probs_interval = 0.0; '
                "buffer = 1000000; };\n" % (url, tag.upper()))
    log = open(os.path.join(tmp, tag + "-hub.log"), "w")
    hub = subprocess.Popen([os.path.join(a.build, "bin", "genre-hub"), "--config", conf],
                           stderr=log)
    stop, got, status, sent = threading.Event(), [], [], [0, 0.0]
    threads = [threading.Thread(target=collect, args=(zmq, hub_ep, stop, got)),
               threading.Thread(target=collect, args=(zmq, hub_ep, stop, status,
                                                      ("genre.hub",)))]
    for t in threads:
        t.start()
    time.sleep(0.5)
    c0, t0 = cpu_s(hub.pid), time.monotonic()
    sim = threading.Thread(target=simulate, args=(zmq, eps, 100, rate, seconds, stop, sent))
    sim.start()
    sim.join()
    # Wait for the bridge to store what it buffered (its genre.hub says).
    bridge = {}
    for _ in range(600):
        time.sleep(0.1)
        if status:
            bridge = json.loads(status[-1][2])["jetstream"]
            if bridge["buffered"] == 0 and bridge["published"] + bridge["lost"] >= sent[0]:
                break
    c1, t1 = cpu_s(hub.pid), time.monotonic()
    stop.set()
    for t in threads:
        t.join()
    hub.send_signal(signal.SIGTERM)
    hub.wait(timeout=30)
    probs = [g for g in got if g[1] == b"genre.probs"]
    seen = {}
    for _, _, body in probs:
        m = json.loads(body)
        seen.setdefault(m["stream"], set()).add(m["position"])
    received = sum(len(v) for v in seen.values())
    span = (probs[-1][0] - probs[0][0]) if len(probs) > 1 else 0
    return {"rate_goal": rate, "sent": sent[0], "send_s": sent[1],
            "send_rate": sent[0] / sent[1] if sent[1] else 0, "received": received,
            "streams": len(seen), "lost_hub": sent[0] - received,
            "hub_rate": received / span if span else 0, "hub_cpu_s": c1 - c0,
            "bridge": bridge, "bridge_lost": sent[0] - bridge.get("published", 0),
            "bridge_rate": bridge.get("published", 0) / (t1 - t0 - 1.5)}


def step_fleet(a, tmp, res):
    seconds = 10 if a.quick else 30
    paced = hub_run(a, tmp, 1000, seconds, "paced")
    fast = hub_run(a, tmp, 0, 5 if a.quick else 10, "fast")
    res["fleet"] = {"paced": paced, "fast": fast, "load": os.getloadavg()}
    ok = paced["lost_hub"] == 0 and paced["bridge_lost"] == 0 and paced["streams"] == 500
    return [("8. genre-hub, 500 simulated streams at the default hop (1000 genre.probs/s), "
             "%d s, through the hub and the JetStream bridge" % seconds,
             "hub: %d of %d received (%d streams), hub CPU %.1f %% of a core; bridge: %d "
             "stored, %d lost" % (paced["received"], paced["sent"], paced["streams"],
                                  100 * paced["hub_cpu_s"] / max(paced["send_s"], 1e-9),
                                  paced["bridge"].get("published", 0), paced["bridge_lost"]),
             "zero loss at 1000/s", "met" if ok else "MISSED"),
            ("8b. genre-hub as fast as the (Python) simulator sends",
             "simulator sent %.0f msg/s; the hub passed %.0f msg/s (%d lost); the bridge stored "
             "%d of %d (%d lost) at %.0f msg/s" % (
                 fast["send_rate"], fast["hub_rate"], fast["lost_hub"],
                 fast["bridge"].get("published", 0), fast["sent"], fast["bridge_lost"],
                 fast["bridge_rate"]), "-", "")]


def archive_files(a, tmp, n):
    src = os.path.join(a.gtzan, "audio")
    if os.path.isdir(src):
        files = []
        for genre in sorted(os.listdir(src)):
            d = os.path.join(src, genre)
            files += [os.path.join(d, f) for f in sorted(os.listdir(d))[:n // 10 + 1]]
        return files[:n], "GTZAN clips from %s" % src
    import numpy as np
    import wave
    d = os.path.join(tmp, "archive")
    os.makedirs(d, exist_ok=True)
    files = []
    for i in range(n):
        t = np.arange(30 * 22050) / 22050
        x = 0.3 * np.sin(2 * np.pi * (110 + 10 * i) * t)
        path = os.path.join(d, "clip%03d.wav" % i)
        with wave.open(path, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(22050)
            w.writeframes((x * 32767).astype("<i2").tobytes())
        files.append(path)
    return files, "synthetic 30 s tones"


def archive_run(a, tmp, url, files, workers, tag):
    q = os.path.join(a.build, "bin", "genre-queue")
    folder = os.path.join(tmp, "jobs-" + tag)
    os.makedirs(folder)
    for i, f in enumerate(files):  # links: the same audio, new paths per run
        os.symlink(f, os.path.join(folder, "%03d-%s" % (i, os.path.basename(f))))
    subprocess.run([q, "enqueue", "--nats", url, "--queue", tag, folder], check=True,
                   capture_output=True)
    t0 = time.monotonic()
    procs = [subprocess.Popen([q, "work", "--nats", url, "--queue", tag, "--idle-exit", "1"],
                              stderr=subprocess.DEVNULL) for _ in range(workers)]
    done = 0
    while done < len(files) and time.monotonic() - t0 < 600:
        time.sleep(0.2)
        r = subprocess.run([q, "results", "--nats", url, "--queue", tag], capture_output=True,
                           text=True)
        done = len(r.stdout.splitlines())
    wall = time.monotonic() - t0
    for p in procs:
        p.wait(timeout=60)
    return {"workers": workers, "files": len(files), "done": done, "wall_s": wall,
            "files_per_s": done / wall}


def step_archive(a, tmp, res):
    nats, url = start_nats(tmp, "nats-archive")
    try:
        files, what = archive_files(a, tmp, 20 if a.quick else 60)
        runs = [archive_run(a, tmp, url, files, k, "w%d" % k) for k in (1, 2, 3)]
    finally:
        nats.terminate()
        nats.wait()
    res["archive"] = {"runs": runs, "what": what, "load": os.getloadavg()}
    return ("9. archive tagging, genre-queue on JetStream, %d files (%s)" % (len(files), what),
            "; ".join("%d worker%s %.2f files/s" % (r["workers"], "s" if r["workers"] > 1 else "",
                                                     r["files_per_s"]) for r in runs)
            + " (%.2fx with 3)" % (runs[2]["files_per_s"] / runs[0]["files_per_s"]),
            "-", "")


def report(res):
    L = []
    if "fleet" in res:
        f = res["fleet"]
        L += ["8. genre-hub (tools/bench/fleet_bench.py step_fleet): 5 simulated hosts x 100 "
              "streams on ipc://, the hub with a JetStream bridge (probs_interval 0) to one "
              "nats-server -js on loopback; a subscriber counts (stream, position) pairs. "
              "Load average at the end %.2f %.2f %.2f. Raw:" % tuple(f["load"]), "", "```",
              "paced " + json.dumps(f["paced"]), "fast  " + json.dumps(f["fast"]), "```", ""]
    if "archive" in res:
        r = res["archive"]
        L += ["9. genre-queue (tools/bench/fleet_bench.py step_archive): `genre-queue enqueue`, "
              "then N `genre-queue work --idle-exit 1` on one nats-server -js; wall from the "
              "workers' start to the last result stored. Load average at the end %.2f %.2f "
              "%.2f. Raw:" % tuple(r["load"]), "", "```"]
        L += [json.dumps(x) for x in r["runs"]] + ["```", ""]
    return L
