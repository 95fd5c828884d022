"""icecast: a real Icecast server on a loopback port for the url: tests and
the radio benchmark: Debian's icecast2 with a config file written here,
ffmpeg as the source client, titles set through Icecast's admin interface.

    with Icecast(folder) as ice:
        src = ice.source("/a.mp3", clip)        # ffmpeg, paced in real time
        ice.wait_mount("/a.mp3", 20)
        ice.set_title("/a.mp3", "Artist - Song")
        url = ice.url("/a.mp3")

missing() names what is not installed (a test then exits 77).
StalledStation is a station whose network stalls: it sends each stream a
little audio, then nothing."""
import base64
import os
import selectors
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

PASSWORD = "hackme"  # loopback only, a throw-away server

CONFIG = """<icecast>
  <location>genred test</location>
  <admin>test@localhost</admin>
  <limits>
    <clients>{clients}</clients>
    <sources>{sources}</sources>
    <queue-size>524288</queue-size>
    <client-timeout>30</client-timeout>
    <header-timeout>15</header-timeout>
    <source-timeout>{source_timeout}</source-timeout>
    <burst-on-connect>1</burst-on-connect>
    <burst-size>65535</burst-size>
  </limits>
  <authentication>
    <source-password>{password}</source-password>
    <admin-user>admin</admin-user>
    <admin-password>{password}</admin-password>
  </authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket>
    <port>{port}</port>
    <bind-address>127.0.0.1</bind-address>
  </listen-socket>
  <!-- A title reaches listeners at the next metadata point: every 2000
       bytes is a quarter of a second at 64 kbit/s. -->
  <mount type="default">
    <mp3-metadata-interval>2000</mp3-metadata-interval>
  </mount>
  <fileserve>1</fileserve>
  <paths>
    <basedir>/usr/share/icecast2</basedir>
    <logdir>{logdir}</logdir>
    <webroot>/usr/share/icecast2/web</webroot>
    <adminroot>/usr/share/icecast2/admin</adminroot>
    <pidfile>{logdir}/icecast.pid</pidfile>
  </paths>
  <logging>
    <accesslog>access.log</accesslog>
    <errorlog>error.log</errorlog>
    <loglevel>2</loglevel>
  </logging>
  <security>
    <chroot>0</chroot>
    {changeowner}
  </security>
</icecast>
"""


def missing():
    """What the tests need and this machine lacks, or None."""
    need = [p for p in ("icecast2", "ffmpeg") if not shutil.which(p)]
    return " and ".join(need) + " (Debian packages icecast2, ffmpeg)" if need else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Icecast:
    def __init__(self, folder, clients=1000, sources=20, source_timeout=10):
        self.folder = os.path.join(folder, "icecast")
        os.makedirs(self.folder, exist_ok=True)
        # Icecast refuses to run as root and drops to nobody, who must write
        # its logs here, and get here (others may pass through, not list).
        os.chmod(folder, os.stat(folder).st_mode | 0o011)
        os.chmod(self.folder, 0o777)
        self.port = free_port()
        self.conf = os.path.join(self.folder, "icecast.xml")
        owner = ("<changeowner><user>nobody</user><group>nogroup</group></changeowner>"
                 if os.geteuid() == 0 else "")
        with open(self.conf, "w") as f:
            f.write(CONFIG.format(clients=clients, sources=sources, port=self.port,
                                  password=PASSWORD, logdir=self.folder, changeowner=owner,
                                  source_timeout=source_timeout))
        self.proc = None
        self.sources = []

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, timeout=20):
        log = open(os.path.join(self.folder, "stdout.log"), "a")
        self.proc = subprocess.Popen(["icecast2", "-c", self.conf], stdout=log,
                                     stderr=subprocess.STDOUT)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("icecast2 exited %d: %s" % (
                    self.proc.returncode, self.log_tail()))
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("icecast2 not listening on %d within %g s" % (self.port, timeout))

    def log_tail(self):
        path = os.path.join(self.folder, "error.log")
        if not os.path.exists(path):
            path = os.path.join(self.folder, "stdout.log")
        with open(path, errors="replace") as f:
            return f.read()[-1000:]

    def kill(self):
        """The server dies at once (SIGKILL), its sources with it."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.stop_sources()

    def stop_sources(self):
        for p in self.sources:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.sources = []

    def stop(self):
        self.stop_sources()
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def url(self, mount):
        return "http://127.0.0.1:%d%s" % (self.port, mount)

    def source(self, mount, audio, bitrate=64):
        """ffmpeg plays `audio` in a loop, in real time, to the mount as MP3."""
        argv = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
                "-stream_loop", "-1", "-i", audio, "-ac", "2", "-ar", "44100", "-c:a", "libmp3lame",
                "-b:a", "%dk" % bitrate, "-content_type", "audio/mpeg", "-f", "mp3",
                "icecast://source:%s@127.0.0.1:%d%s" % (PASSWORD, self.port, mount)]
        log = open(os.path.join(self.folder, "source%s.log" % mount.replace("/", "_")), "a")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        self.sources.append(p)
        return p

    def wait_mount(self, mount, timeout):
        """Until the mount serves audio (a source is connected)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                with urllib.request.urlopen(self.url(mount), timeout=2) as r:
                    if r.status == 200 and r.read(1024):
                        return True
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        return False

    def set_title(self, mount, title):
        query = urllib.parse.urlencode({"mount": mount, "mode": "updinfo", "song": title})
        req = urllib.request.Request("http://127.0.0.1:%d/admin/metadata?%s" % (self.port, query))
        auth = base64.b64encode(("admin:%s" % PASSWORD).encode()).decode()
        req.add_header("Authorization", "Basic " + auth)
        with urllib.request.urlopen(req, timeout=5) as r:
            body = r.read().decode(errors="replace")
        if "<return>1</return>" not in body:
            raise RuntimeError("icecast refused the title: %s" % body)


class StalledStation:
    """Answers a path's first connection with HTTP headers and `head` (two
    seconds of MP3), then sends nothing and keeps the connection open: a
    station whose network stalled; later connections get no answer at all.
    One thread, selectors."""

    def __init__(self, head):
        self.head = (b"HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\n\r\n" + head)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.sock, selectors.EVENT_READ)
        self.conns, self.served, self.paths = set(), 0, set()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            for key, _ in self.sel.select(0.2):
                if key.fileobj is self.sock:
                    try:
                        c, _ = self.sock.accept()
                    except OSError:
                        continue
                    c.setblocking(True)
                    try:
                        path = c.recv(4096).split(b" ")[1]  # GET PATH HTTP/1.1
                        if path not in self.paths:
                            c.sendall(self.head)
                            self.paths.add(path)
                            self.served += 1
                    except (OSError, IndexError):
                        c.close()
                        continue
                    c.setblocking(False)
                    self.sel.register(c, selectors.EVENT_READ)
                    self.conns.add(c)
                else:  # the client closed (timed out): forget it
                    c = key.fileobj
                    try:
                        if c.recv(4096):
                            continue
                    except OSError:
                        pass
                    self.sel.unregister(c)
                    self.conns.discard(c)
                    c.close()

    def close(self):
        self.running = False
        self.thread.join(2)
        for c in list(self.conns):
            c.close()
        self.sock.close()
