#!/usr/bin/python3
"""genre-web in a real browser.

  test_browser.py live    genred classifies tests/data/music_excerpt.wav in
                          real time (fake_genred.py where genred is not
                          built); the page must show the genre and bars, then
                          "no signal" once genred stops, then "cannot reach"
                          once genre-web itself goes away.
  test_browser.py streams two streams, one silent (fake_genred.py): a panel
                          each, the silence state, and the stream selector.
  test_browser.py absent  no genred at all: the page must still load and say
                          "no signal".
  test_browser.py first_frame
                          genred has stopped, genre-web remembers its last
                          seconds: the page's strip shows them in the first
                          frame drawn after they arrive (the page's own
                          timer is switched off, so nothing draws later),
                          checked on a screenshot taken right then.
Screenshots land in <build>/tests/web/ as artifacts."""
import os
import sys
import time
import urllib.parse

import webtest
from test_sse import Reader
from webtest import PAGE_STATE_JS, check, wait_for


def start_genred(procs, endpoint):
    """The real daemon on a clip, paced like a live source; returns the
    process and its stream name."""
    genred = os.path.join(webtest.BUILD, "bin", "genred")
    clip = os.path.join(webtest.HERE, "..", "data", "music_excerpt.wav")
    if not os.path.exists(genred) or os.environ.get("GENRE_WEB_TEST_FAKE"):
        print("note: genred is not built; fake_genred.py publishes instead", flush=True)
        return webtest.start_fake_genred(procs, endpoint, "--streams", "kiosk",
                                         "--duration", "120"), "kiosk"
    p = procs.start([genred, "--input", f"file:{clip}", "--realtime", "--loop",
                     "--name", "kiosk", "--publish", endpoint])
    return p, "kiosk"


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
    publisher, streams = start_genred(procs, endpoint)
    web, url = webtest.start_genre_web(procs, "--endpoint", endpoint)
    chrome.navigate(url)

    def populated():
        s = chrome.eval(PAGE_STATE_JS)
        ok = s["state"] == "live" and s["panels"] and all(p["bars"] for p in s["panels"])
        return s if ok else None

    state = wait_for(populated, 15)
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
    state = wait_for(lambda: (lambda s: s if all(p["stripInk"] > 0 for p in s["panels"])
                              else None)(chrome.eval(PAGE_STATE_JS)), 10)
    check(state is not None, "the history strip is drawn")
    chrome.screenshot(os.path.join(webtest.ARTIFACTS, "genre-web-live.png"))

    publisher.terminate()
    check(publisher.wait(5) == 0, "the publisher stops cleanly")
    stopped = time.monotonic()
    state = wait_for(lambda: (lambda s: s if s["state"] == "nosignal" else None)(
        chrome.eval(PAGE_STATE_JS)), 8)
    if check(state is not None, "page says 'no signal' after genred stops"):
        after = time.monotonic() - stopped
        limit = 6 * webtest.SLOW * webtest.load_factor()
        check(after < limit, f"... within {after:.1f} s (limit {limit:.0f} s)")
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


def two_streams(procs, chrome):
    endpoint = f"ipc://{procs.tmp}/genred.ipc"
    webtest.start_fake_genred(procs, endpoint, "--streams", "hall,lobby",
                              "--silence-stream", "lobby", "--duration", "60")
    web, url = webtest.start_genre_web(procs, "--endpoint", endpoint)
    chrome.navigate(url)
    both = lambda s: s if len(s["panels"]) == 2 and all(p["bars"] for p in s["panels"]) else None
    state = wait_for(lambda: both(chrome.eval(PAGE_STATE_JS)), 10)
    if not check(state is not None, "a panel per stream"):
        return
    panels = {p["stream"]: p for p in state["panels"]}
    check(sorted(panels) == ["hall", "lobby"], f"panels for hall and lobby {sorted(panels)}")
    check(panels["hall"]["state"] == "live" and panels["hall"]["genre"] in
          [b["label"] for b in panels["hall"]["bars"]], "hall shows its genre")
    check(panels["lobby"]["state"] == "silence" and panels["lobby"]["genre"] == "Silence"
          and panels["lobby"]["badge"] == "SILENCE", "lobby shows silence, not a guess")
    check(not any(b["top"] for b in panels["lobby"]["bars"]), "no bar is picked while silent")
    time.sleep(2)
    chrome.screenshot(os.path.join(webtest.ARTIFACTS, "genre-web-streams.png"))

    chips = chrome.eval("[...document.querySelectorAll('#chips button')].map(b => b.textContent)")
    check(chips == ["all streams", "hall", "lobby"], f"a selector lists the streams {chips}")
    chrome.eval("[...document.querySelectorAll('#chips button')][1].click()")
    shown = lambda: [p["stream"] for p in chrome.eval(PAGE_STATE_JS)["panels"] if not p["hidden"]]
    check(wait_for(lambda: shown() == ["hall"], 3), "choosing hall shows only hall")
    check("stream=hall" in chrome.eval("location.hash"), "the choice is in the URL, for kiosks")
    chrome.eval("[...document.querySelectorAll('#chips button')][0].click()")
    check(wait_for(lambda: len(shown()) == 2, 3), "'all streams' shows both again")

    # A kiosk that reloads gets the strip's past from genre-web at once.
    heard_s = chrome.eval("(Date.now() - streams.get('hall').history[0].start) / 1000")
    chrome.navigate(url)
    has_past = ("streams.has('hall') && streams.get('hall').history.length && "
                "(Date.now() - streams.get('hall').history[0].start) / 1000")
    past_s = wait_for(lambda: chrome.eval(has_past), 2)
    check(past_s and past_s > heard_s - 1.5,
          f"after a reload the strip goes back {past_s} s (the page had heard {heard_s:.1f} s)")
    lobby = "streams.get('lobby').history"
    check(chrome.eval(f"{lobby}.length > 0 && {lobby}.every(r => r.top === SILENT)"),
          "the silent stream's past is silence")


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


def first_frame(procs, chrome):
    endpoint = f"ipc://{procs.tmp}/genred.ipc"
    publisher = webtest.start_fake_genred(procs, endpoint, "--streams", "hall", "--hop", "0.25",
                                          "--duration", "60")
    web, url = webtest.start_genre_web(procs, "--endpoint", endpoint)
    u = urllib.parse.urlsplit(url)
    reader = Reader(u.hostname, u.port)  # to know when genre-web has heard enough
    reader.start()
    heard = wait_for(lambda: sum(name == "genre.probs" for _, name, _ in reader.events) >= 12, 15)
    reader.stop = True
    check(heard, "genre-web hears three seconds of hall")
    publisher.terminate()
    publisher.wait(5)
    # No periodic redraw: what the page shows is what it drew on arrival.
    chrome.call("Page.enable")
    chrome.call("Page.addScriptToEvaluateOnNewDocument", source="window.setInterval = () => 0;")
    chrome.navigate(url + "?minutes=0.5")  # 30 s strip: a few seconds are visible
    arrived = wait_for(lambda: chrome.eval(
        "streams.has('hall') && streams.get('hall').history.length > 0"), 5)
    if not check(arrived, "the remembered history arrives"):
        return
    rect = chrome.eval("(() => { const r = document.querySelector('.strip')"
                       ".getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })()")
    clip = dict(x=rect[0], y=rect[1], width=rect[2], height=rect[3], scale=1)
    shown = chrome.call("Page.captureScreenshot", format="png", clip=clip)["data"]
    chrome.screenshot(os.path.join(webtest.ARTIFACTS, "genre-web-first-frame.png"))
    ink = chrome.eval(PAGE_STATE_JS)["panels"][0]["stripInk"]
    chrome.eval("(() => { const c = document.querySelector('.strip');"
                " c.getContext('2d').clearRect(0, 0, c.width, c.height); })()")
    blank = chrome.call("Page.captureScreenshot", format="png", clip=clip)["data"]
    check(ink > 0.03, f"the strip is drawn from the history at once ({ink:.1%} of it inked)")
    check(shown != blank, "the screenshot shows the strip (it differs from the same area "
          "with the strip cleared)")


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "live"
    webtest.chromium_or_skip()
    with webtest.Processes() as procs:
        chrome = webtest.Chromium(procs)
        {"live": live, "streams": two_streams, "absent": absent,
         "first_frame": first_frame}[mode](procs, chrome)
    webtest.finish()


if __name__ == "__main__":
    main()
