"""What the fleet tests share: real programs from the build, a NATS
cluster on loopback ports, network namespaces, synthetic audio.

Tests that cannot run here (no nats-server, not root, no netns) print one
line starting with SKIP and exit 77, which ctest reports as skipped."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import wave

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scenario import load_factor  # noqa: E402  (tests/scenario.py)

BUILD = os.environ.get("GENRED_BUILD_DIR", "build")
SOURCE = os.environ.get("GENRED_SOURCE_DIR", ".")
FLAVOUR = os.environ.get("GENRED_FLAVOUR", "release")
SLOW = 1 if FLAVOUR == "release" else 3  # sanitizer slow-down allowance
BIN = os.path.join(BUILD, "bin")
TMP = tempfile.mkdtemp(prefix="genred-fleet-")
failures = []
T0 = time.monotonic()
_procs = []
_logs = []  # every Proc, for the logs of a failed run


def check(cond, what):
    print("%6.1f s %s%s" % (time.monotonic() - T0, "ok:   " if cond else "FAIL: ", what),
          file=sys.stderr, flush=True)
    if not cond:
        failures.append(what)


def skip(why):
    print("SKIP: " + why, flush=True)
    cleanup()
    sys.exit(77)


def finish():
    if failures:
        for p in _logs:
            with open(p.log_path, errors="replace") as f:
                tail = f.read().splitlines()[-6:]
            if tail:
                print("--- %s (last lines of its log):\n%s" % (p.name, "\n".join(tail)),
                      file=sys.stderr)
    cleanup()
    if failures:
        print("%d check(s) failed" % len(failures), file=sys.stderr)
        sys.exit(1)
    print("all checks passed")
    sys.exit(0)


def cleanup():
    for p in reversed(_procs):
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(TMP, ignore_errors=True)


def free_ports(n):
    """n TCP ports free on 127.0.0.1 now (bound together so they differ)."""
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Proc:
    """A program of ours (or nats-server), its stderr in a log file."""

    def __init__(self, name, argv, netns=None, stdout=None, session=False):
        self.name = name
        self.log_path = os.path.join(TMP, "%s-%d.log" % (name, time.monotonic_ns()))
        self.log = open(self.log_path, "w")
        cmd = (["ip", "netns", "exec", netns] if netns else []) + argv
        # session: its own process group, which stop_group signals whole, as
        # Ctrl-C in a terminal or a service manager's stop does.
        self.proc = subprocess.Popen(cmd, stdout=stdout or subprocess.DEVNULL, stderr=self.log,
                                     start_new_session=session)
        _procs.append(self.proc)
        _logs.append(self)

    def text(self):
        self.log.flush()
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def send(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def stop_group(self, sig):
        if self.alive():
            os.killpg(self.proc.pid, sig)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        self.send(sig)
        try:
            return self.proc.wait(timeout=timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            check(False, "%s stopped within %g s" % (self.name, timeout * SLOW))
            return None


def write_wav(path, samples, rate=22050):
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def music_and_silence(path, silence_s=5.0):
    """The demo clip followed by silence: a stream that changes genre.change
    (music, then silence) every few seconds when played in a loop."""
    with wave.open(os.path.join(SOURCE, "tests", "data", "music_excerpt.wav")) as w:
        rate, ch, n = w.getframerate(), w.getnchannels(), w.getnframes()
        x = np.frombuffer(w.readframes(n), "<i2").astype(np.float32) / 32768
    x = x.reshape(-1, ch).mean(axis=1)
    write_wav(path, np.concatenate([x, np.zeros(int(silence_s * rate), np.float32)]), rate)


def genred_config(path, streams, publish, extra=""):
    """streams: [(name, input)]; publish: one endpoint."""
    body = ",\n".join('  { name = "%s"; input = "%s"; }' % s for s in streams)
    with open(path, "w") as f:
        f.write('streams = (\n%s\n);\npublish = "%s";\n%s\n' % (body, publish, extra))
    return path


def hub_config(path, hosts, publish, extra=""):
    """hosts: [(name, endpoint, server_key or None)]."""
    entries = []
    for name, ep, key in hosts:
        k = ' server_key = "%s";' % key if key else ""
        entries.append('  { name = "%s"; endpoint = "%s";%s }' % (name, ep, k))
    with open(path, "w") as f:
        f.write('hosts = (\n%s\n);\npublish = "%s";\n%s\n' % (",\n".join(entries), publish, extra))
    return path


class NatsCluster:
    """n nats-server processes with JetStream, clustered on loopback ports."""

    def __init__(self, n=3, config=""):
        """config: nats-server configuration text for every node (as
        "max_payload: 4096")."""
        if not shutil.which("nats-server"):
            skip("nats-server is not installed (Debian: nats-server)")
        self.config = None
        if config:
            self.config = os.path.join(TMP, "nats-%d.conf" % time.monotonic_ns())
            with open(self.config, "w") as f:
                f.write(config + "\n")
        ports = free_ports(2 * n)
        self.client = ports[:n]
        self.route = ports[n:]
        self.procs = [None] * n
        for i in range(n):
            self.start(i)

    def url(self):
        return ",".join("nats://127.0.0.1:%d" % p for p in self.client)

    def start(self, i):
        routes = ",".join("nats://127.0.0.1:%d" % p for j, p in enumerate(self.route) if j != i)
        argv = ["nats-server", "-a", "127.0.0.1", "-p", str(self.client[i]), "-n", "n%d" % i,
                "-js", "-sd", os.path.join(TMP, "nats-%d" % self.client[i])]
        if self.config:
            argv += ["-c", self.config]
        if len(self.client) > 1:
            argv += ["--cluster_name", "genred-test", "--cluster",
                     "nats://127.0.0.1:%d" % self.route[i], "--routes", routes]
        self.procs[i] = Proc("nats%d" % i, argv)
        wait_port(self.client[i])

    def stop(self, i, sig=signal.SIGKILL):
        self.procs[i].stop(sig)


class FakeHost:
    """A genred stand-in for genre-hub to connect to, bound at endpoint: an
    XPUB that sends whatever frames a test gives it, hostile ones too."""

    def __init__(self, endpoint):
        import zmq
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.XPUB)
        self.sock.setsockopt(zmq.SNDHWM, 100000)
        self.sock.bind(endpoint)
        self.snapshot = None  # the hub's snapshot topic, once it has subscribed

    def wait_subscribed(self, timeout=10):
        """Until the hub has subscribed to genre. and to a snapshot."""
        end = time.monotonic() + timeout * SLOW
        seen = set()
        while time.monotonic() < end and not ("genre." in seen and self.snapshot):
            if self.sock.poll(100):
                sub = self.sock.recv()
                if sub[:1] == b"\x01":
                    seen.add(sub[1:].decode(errors="replace"))
                    if sub[1:].startswith(b"snapshot/"):
                        self.snapshot = sub[1:]
        return "genre." in seen and self.snapshot is not None

    def send(self, *frames):
        self.sock.send_multipart([f if isinstance(f, bytes) else f.encode() for f in frames])

    def send_json(self, topic, body):
        self.send(topic, json.dumps(body))

    def close(self):
        self.sock.close(linger=0)
        self.ctx.term()


def repeated(received):
    """The messages of received [(id, came in a snapshot, arrival time)]
    that came more than once, beyond what README's "Duplicates" allows a
    subscriber that joins: a message live and again in the snapshot
    answered a moment later. Twice live, twice in snapshots, or a snapshot's
    message live again afterwards are all listed."""
    live, snap, bad = {}, {}, []
    for key, snapshot, t in received:
        seen = snap if snapshot else live
        if key in seen or (not snapshot and key in snap):
            bad.append(key)
        seen.setdefault(key, t)
    return bad


def rss_mib(pid, field="VmRSS"):
    """A process's resident memory now (VmRSS) or at its peak (VmHWM)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def wait_port(port, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def wait_until(cond, timeout, step=0.05):
    """Polls cond until it holds or timeout (longer on a sanitizer build or
    a loaded machine, up to 4 times: waiting costs nothing when the event
    comes at once; the cap keeps a failure inside ctest's timeout)."""
    end = time.monotonic() + timeout * SLOW * min(4.0, load_factor())
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


def run(argv, timeout=60, netns=None):
    cmd = (["ip", "netns", "exec", netns] if netns else []) + argv
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout * SLOW)


def replay(url, stream, durable, subject="genre.>", idle=2, most=None):
    """The events stored in `stream` (all, or the next `most`), through
    genre-replay."""
    r = run([os.path.join(BIN, "genre-replay"), "--nats", url, "--stream", stream, "--durable",
             durable, "--subject", subject, "--idle-exit", str(idle)]
            + (["--max", str(most)] if most else []))
    check(r.returncode == 0, "genre-replay %s exits 0 (%s)" % (stream, r.stderr.strip()[-300:]))
    return [json.loads(line) for line in r.stdout.splitlines()]


class Collector:
    """A ZeroMQ SUB in a thread: (monotonic time, topic, JSON, came in a
    snapshot) tuples, duplicates kept (tests count them). snapshot: ask for
    the cached messages whose topic starts with it (daemon/protocol.h); a
    snapshot's messages are listed under their own topic. other: messages
    that are not two frames of JSON, as frame lists; nbytes: bytes of every
    frame. extra: more subscriptions, as they are."""

    def __init__(self, endpoint, topics=("",), curve=None, snapshot=None, extra=()):
        import zmq
        self.zmq = zmq
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.SUB)
        if curve:
            server_public, public, secret = curve
            self.sock.curve_serverkey = server_public
            self.sock.curve_publickey = public
            self.sock.curve_secretkey = secret
        self.sock.connect(endpoint)
        for t in topics:
            self.sock.setsockopt_string(zmq.SUBSCRIBE, t)
        self.nonce = "snapshot/%s/" % os.urandom(8).hex()
        if snapshot is not None:
            self.sock.setsockopt_string(zmq.SUBSCRIBE, self.nonce + snapshot)
        for t in extra:
            self.sock.setsockopt_string(zmq.SUBSCRIBE, t)
        self.messages, self.other, self.nbytes = [], [], 0
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        poller = self.zmq.Poller()
        poller.register(self.sock, self.zmq.POLLIN)
        while self.running:
            if poller.poll(50):
                frames = self.sock.recv_multipart()
                self.nbytes += sum(len(f) for f in frames)
                try:
                    topic, body = frames[0].decode(), json.loads(frames[1])
                except (ValueError, IndexError):
                    topic = None
                if len(frames) != 2 or topic is None:
                    self.other.append(frames)
                    continue
                snapshot = topic.startswith(self.nonce)
                self.messages.append((time.monotonic(), topic[len(self.nonce):] if snapshot
                                      else topic, body, snapshot))

    def ids(self, snapshot=None):
        """(topic, key, started_ms, seq) of the sequenced messages, which name
        them: all, or those of (snapshot=True) or not of the snapshot."""
        return [(m[1], m[2].get("stream", m[2].get("host")), m[2]["started_ms"], m[2]["seq"])
                for m in list(self.messages)
                if "seq" in m[2] and (snapshot is None or m[3] == snapshot)]

    def of(self, topic, since=0.0):
        return [m[2] for m in list(self.messages) if m[1] == topic and m[0] >= since]

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close(linger=0)
        self.ctx.term()
