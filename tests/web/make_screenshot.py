#!/usr/bin/python3
"""Takes the README picture of genre-web (tools/web/screenshot.png): genred
plays each INPUT in turn, in real time, for --each seconds, while headless
Chromium shows the page; then one 1280x720 screenshot. Not a test: it runs
for minutes.

  make_screenshot.py [--each S] [--minutes M] [--out PNG] [--model FILE] CLIP...
"""
import argparse
import os
import subprocess
import time

import webtest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("clips", nargs="*",
                    default=[os.path.join(webtest.HERE, "..", "data", "music_excerpt.wav")])
    ap.add_argument("--each", type=float, default=20, help="seconds per clip")
    ap.add_argument("--minutes", type=float, default=2, help="strip length on the page")
    ap.add_argument("--model", help="model file for genred (default: built in)")
    ap.add_argument("--out", default=os.path.join(webtest.HERE, "..", "..", "tools", "web",
                                                  "screenshot.png"))
    args = ap.parse_args()
    genred = os.path.join(webtest.BUILD, "bin", "genred")
    with webtest.Processes() as procs:
        endpoint = f"ipc://{procs.tmp}/genred.ipc"
        web, url = webtest.start_genre_web(procs, "--endpoint", endpoint)
        chrome = webtest.Chromium(procs)
        chrome.navigate(f"{url}?minutes={args.minutes:g}")
        for i, clip in enumerate(args.clips):
            argv = [genred, "--input", f"file:{clip}", "--realtime", "--loop",
                    "--name", "studio", "--publish", endpoint]
            if args.model:
                argv += ["--model", args.model]
            p = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
            time.sleep(args.each)
            if i == len(args.clips) - 1:
                # The last one keeps playing for the picture.
                chrome.screenshot(os.path.abspath(args.out))
            p.terminate()
            p.wait(5)


if __name__ == "__main__":
    main()
