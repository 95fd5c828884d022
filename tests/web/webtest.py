"""Shared helpers for the genre-web tests: start genre-web, a publisher and a
headless Chromium driven over the DevTools protocol."""
import base64
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from scenario import load_factor  # noqa: E402,F401  (tests/scenario.py; the web tests use it)
BUILD = os.environ.get("GENRED_BUILD_DIR", os.path.join(HERE, "..", "..", "build"))
GENRE_WEB = os.path.join(BUILD, "bin", "genre-web")
ARTIFACTS = os.path.join(BUILD, "tests", "web")
# Sanitizer builds run several times slower; give them room.
SLOW = 3.0 if os.path.basename(os.path.normpath(BUILD)).startswith("build-") else 1.0

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def finish():
    if failures:
        print(f"{len(failures)} check(s) failed", flush=True)
        sys.exit(1)
    print("all checks passed", flush=True)
    sys.exit(0)


def wait_for(predicate, timeout, step=0.1):
    """Polls predicate until it returns something truthy; returns the last
    value. The deadline grows on a sanitizer build and a loaded machine (up
    to 4 times, so that a failure still says what it waited for within
    ctest's timeout): waiting costs nothing when the event comes at once."""
    deadline = time.monotonic() + timeout * SLOW * min(4.0, load_factor())
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(step)
        value = predicate()
    return value


class Processes:
    """Starts child processes and makes sure none outlives the test."""

    def __init__(self):
        self.children = []
        self.tmp = tempfile.mkdtemp(prefix="genre-web-test-")

    def start(self, argv, **kw):
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, **kw)
        self.children.append(p)
        return p

    def close(self):
        for p in reversed(self.children):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def start_genre_web(procs, *args):
    """Starts genre-web on a free loopback port; returns (process, base URL)."""
    p = procs.start([GENRE_WEB, "--listen", "127.0.0.1:0", *args])
    line = p.stdout.readline().strip()
    prefix = "genre-web: serving "
    if not line.startswith(prefix):
        p.wait(5)
        raise RuntimeError(f"genre-web did not start: {line!r} {p.stderr.read()!r}")
    return p, line[len(prefix):]


def start_fake_genred(procs, endpoint, *args):
    p = procs.start(["/usr/bin/python3", os.path.join(HERE, "fake_genred.py"),
                     "--endpoint", endpoint, *args])
    if p.stdout.readline().strip() != "ready":
        raise RuntimeError("fake genred did not start: " + p.stderr.read())
    return p


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, dict(r.headers), r.read()


class Chromium:
    """Headless Chromium with one page, driven over the DevTools protocol."""

    def __init__(self, procs, width=1280, height=720):
        import websocket  # Debian python3-websocket

        exe = os.environ.get("CHROMIUM") or shutil.which("chromium")
        profile = os.path.join(procs.tmp, "chromium-profile")
        os.makedirs(profile)
        self.proc = procs.start([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                                 "--remote-debugging-port=0", f"--window-size={width},{height}",
                                 "--hide-scrollbars", "about:blank"])
        port_file = os.path.join(profile, "DevToolsActivePort")
        if not wait_for(lambda: os.path.exists(port_file) and open(port_file).read().strip(), 30):
            raise RuntimeError("chromium did not open its DevTools port")
        port = open(port_file).read().split()[0]
        targets = json.loads(http_get(f"http://127.0.0.1:{port}/json/list")[2])
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30,
                                              suppress_origin=True)
        self.next_id = 0
        self.call("Runtime.enable")
        # A fixed viewport so screenshots look the same on every machine.
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def navigate(self, url):
        self.call("Page.enable")
        self.call("Page.navigate", url=url)
        wait_for(lambda: self.eval("document.readyState") == "complete", 10)

    def eval(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"page threw: {r['exceptionDetails']}")
        return r["result"].get("value")

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        print(f"screenshot: {path}", flush=True)


def chromium_or_skip():
    if not (os.environ.get("CHROMIUM") or shutil.which("chromium")):
        print("SKIP: chromium is not installed (apt-get install chromium)", flush=True)
        sys.exit(SKIP)
    if importlib.util.find_spec("websocket") is None:
        print("SKIP: python3-websocket is not installed", flush=True)
        sys.exit(SKIP)


# What the page looks like, as plain data, read from its DOM.
PAGE_STATE_JS = """(() => {
  const panels = [...document.querySelectorAll('.panel')].map(p => ({
    stream: p.dataset.stream, state: p.dataset.state, hidden: p.hidden,
    genre: p.querySelector('.genre').textContent,
    badge: p.querySelector('.badge').textContent,
    bars: [...p.querySelectorAll('.bar')].map(b => ({
      label: b.dataset.label, p: Number(b.dataset.p), top: b.classList.contains('top'),
      width: b.querySelector('.fill').getBoundingClientRect().width,
      track: b.querySelector('.track').getBoundingClientRect().width})),
    stripInk: (() => {
      const c = p.querySelector('.strip');
      if (!c.width || !c.height) return 0;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let ink = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i]) ink++;
      return ink / (c.width * c.height);
    })()}));
  const banner = document.getElementById('banner');
  return {state: document.body.dataset.state, panels,
          banner: getComputedStyle(banner).display !== 'none' ? banner.innerText : '',
          resources: performance.getEntriesByType('resource').map(r => r.name)};
})()"""
