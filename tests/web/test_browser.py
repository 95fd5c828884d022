#!/usr/bin/python3
"""genre-web in a real browser.

  test_browser.py live    genred (or, where it is not built, fake_genred.py)
                          publishes; the page must show the genre and bars,
                          then "no signal" once the publisher stops, then
                          "reconnecting" once genre-web itself goes away.
  test_browser.py absent  no genred at all: the page must still load and say
                          "no signal".
Screenshots land in <build>/tests/web/ as artifacts."""
import os
import sys
import time
import urllib.parse

import webtest
from webtest import PAGE_STATE_JS, check, wait_for


def start_publisher(procs, endpoint, streams):
    # TODO: switch to the real genred (--input file:CLIP --realtime) once it
    # is on main; the fake speaks the same protocol.
    return webtest.start_fake_genred(procs, endpoint, "--streams", streams,
                                     "--duration", "120")


def check_live_panel(panel):
    bars = panel["bars"]
    labels = [b["label"] for b in bars]
    check(panel["state"] in ("live", "silence"), f"panel {panel['stream']!r} is live")
    check(len(bars) >= 2, f"panel {panel['stream']!r} has a bar per label ({len(bars)})")
    check(panel["genre"] in labels, f"current genre {panel['genre']!r} is one of the labels")
    tops = [b["label"] for b in bars if b["top"]]
    check(tops == [panel["genre"]], f"the highlighted bar {tops} is the current genre")
    total = sum(b["p"] for b in bars)
    check(abs(total - 1) < 0.01, f"bar probabilities sum to 1 ({total:.4f})")
    best = max(bars, key=lambda b: b["p"])
    check(best["label"] == panel["genre"], "the current genre has the longest bar")
    # Bars are drawn in proportion: the widest fill belongs to the top label.
    widest = max(bars, key=lambda b: b["width"])
    check(widest["label"] == panel["genre"] and widest["width"] > 0.1 * widest["track"],
          "bar widths are drawn from the probabilities")


def live(procs, chrome):
    endpoint = f"ipc://{procs.tmp}/genred.ipc"
    streams = os.environ.get("GENRE_WEB_TEST_STREAMS", "studio-a")
    publisher = start_publisher(procs, endpoint, streams)
    web, url = webtest.start_genre_web(procs, "--endpoint", endpoint)
    chrome.navigate(url)

    def populated():
        s = chrome.eval(PAGE_STATE_JS)
        ok = s["state"] == "live" and s["panels"] and all(p["bars"] for p in s["panels"])
        return s if ok else None

    state = wait_for(populated, 10)
    # Bars glide to new values; measure where they are, not where they were.
    chrome.eval("document.head.insertAdjacentHTML('beforeend', "
                "'<style>* { transition: none !important; }</style>')")
    state = chrome.eval(PAGE_STATE_JS) if state else state
    if not check(state is not None, "page turns live with genre and bars"):
        print(chrome.eval(PAGE_STATE_JS))
        return
    check(not state["banner"], "no 'no signal' banner while genred publishes")
    for panel in state["panels"]:
        check_live_panel(panel)
    check(sorted(p["stream"] for p in state["panels"]) == sorted(streams.split(",")),
          "one panel per stream")
    origin = urllib.parse.urlsplit(url).netloc
    foreign = [r for r in state["resources"] if urllib.parse.urlsplit(r).netloc != origin]
    check(not foreign, f"the page loads nothing from elsewhere {foreign}")

    # Let a few seconds of history fill the strip before the picture.
    time.sleep(float(os.environ.get("GENRE_WEB_TEST_HISTORY_S", "3")))
    state = chrome.eval(PAGE_STATE_JS)
    check(all(p["stripInk"] > 0 for p in state["panels"]), "the history strip is drawn")
    chrome.screenshot(os.path.join(webtest.ARTIFACTS, "genre-web-live.png"))

    publisher.terminate()
    publisher.wait(5)
    stopped = time.monotonic()
    state = wait_for(lambda: (lambda s: s if s["state"] == "nosignal" else None)(
        chrome.eval(PAGE_STATE_JS)), 8)
    if check(state is not None, "page says 'no signal' after genred stops"):
        after = time.monotonic() - stopped
        check(after < 6 * webtest.SLOW, f"... within {after:.1f} s")
        check("No signal from genred" in state["banner"], "the banner is shown")
        check(all(p["state"] == "nosignal" and p["badge"] == "NO SIGNAL"
                  for p in state["panels"]), "every panel is marked NO SIGNAL")
        chrome.screenshot(os.path.join(webtest.ARTIFACTS, "genre-web-nosignal.png"))

    web.terminate()
    check(web.wait(5) == 0, "genre-web exits cleanly on SIGTERM with a browser attached")
    state = wait_for(lambda: (lambda s: s if s["state"] == "offline" else None)(
        chrome.eval(PAGE_STATE_JS)), 8)
    check(state is not None and "cannot reach genre-web" in state["banner"],
          "page says it cannot reach genre-web once genre-web is gone")


def absent(procs, chrome):
    web, url = webtest.start_genre_web(procs, "--endpoint", f"ipc://{procs.tmp}/nobody.ipc")
    status, headers, body = webtest.http_get(url)
    check(status == 200 and b"No signal from genred" in body, "genre-web serves the page")
    chrome.navigate(url)
    state = wait_for(lambda: (lambda s: s if s["state"] == "nosignal" else None)(
        chrome.eval(PAGE_STATE_JS)), 8)
    if check(state is not None, "page says 'no signal' with no genred"):
        check("No signal from genred" in state["banner"], "the banner is shown")
        check(not state["panels"], "no stale panels")
    chrome.screenshot(os.path.join(webtest.ARTIFACTS, "genre-web-absent.png"))


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "live"
    webtest.chromium_or_skip()
    with webtest.Processes() as procs:
        chrome = webtest.Chromium(procs)
        {"live": live, "absent": absent}[mode](procs, chrome)
    webtest.finish()


if __name__ == "__main__":
    main()
