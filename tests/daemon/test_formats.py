#!/usr/bin/python3
"""Files libsndfile reads badly or not at all, decoded through FFmpeg:
Opus (libsndfile stopped partway through valid files), AAC in M4A, WMA,
and the audio of video containers (MP4 with H.264, Matroska); and FLAC,
which libsndfile reads, for its tags. Each file is made here by ffmpeg from
the test clip; genre-classify must classify all of it without a warning,
and genred's file: input must read it to the end and give the title tag's
one genre.track.

    test_formats.py {flac,opus,m4a,wma,video}

Skips (77) without ffmpeg. Environment as for test_genred.py."""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_genred as tg  # noqa: E402

CLIP = os.path.join(tg.SOURCE, "tests", "data", "music_excerpt.wav")
SECONDS = 20
WINDOW = 3.0


def make(name, *codec, video=False):
    """SECONDS of the clip looped, encoded by ffmpeg, with a title tag."""
    if not shutil.which("ffmpeg"):
        print("SKIPPED: needs ffmpeg (Debian package ffmpeg)")
        sys.exit(77)
    path = os.path.join(tg.TMP, name)
    argv = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-stream_loop", "-1", "-i", CLIP]
    if video:
        argv += ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-map", "0:a", "-map",
                 "1:v"]
    argv += ["-t", str(SECONDS), *codec, "-metadata", "title=Excerpt", "-metadata",
             "artist=Pathological", path]
    subprocess.run(argv, check=True)
    return path


def classify_whole(path):
    r = subprocess.run(tg.EMULATOR + [os.path.join(tg.BUILD, "bin", "genre-classify"), "--json",
                                      path], capture_output=True, text=True, timeout=60 * tg.SLOW)
    tg.check(r.returncode == 0, "%s: genre-classify exit %d: %s" % (path, r.returncode, r.stderr))
    if r.returncode:
        return
    out = json.loads(r.stdout)
    tg.check("warning" not in out and "error" not in out, "%s: no warning: %r" % (
        path, {k: v for k, v in out.items() if k in ("warning", "error")}))
    end = out["windows"][-1]["start"] + WINDOW if out.get("windows") else 0
    print("%s: %s, last window ends at %.2f s of %d s" % (os.path.basename(path), out.get("top"),
                                                          end, SECONDS))
    tg.check(abs(end - SECONDS) < 0.6, "%s: decoded to the end (%.2f s of %d)" % (
        path, end, SECONDS))


def daemon_reads(path):
    """genred's file: input takes the same decoder: to the end, and the tag
    gives one genre.track."""
    ep = tg.endpoint()
    sub = tg.Subscriber(ep, topics=("genre.track",))
    g = tg.Genred("--input", "file:" + path, "--publish", ep, "--wait-subscriber")
    rc = g.wait(30 * tg.SLOW)
    sub.wait_for("genre.track", 1, 5 * tg.SLOW)
    sub.close()
    tracks = [m for _, _, m, _ in sub.of("genre.track")]
    tg.check(rc == 0, "%s: genred exit %r: %s" % (path, rc, g.stderr()[-800:]))
    tg.check(len(tracks) == 1 and tracks[0]["title"] == "Pathological - Excerpt" and
             tracks[0]["start"] == 0 and abs(tracks[0]["seconds"] - SECONDS) < 0.1 and
             tracks[0]["windows"] > 0,
             "%s: one genre.track for the whole file: %r" % (
                 path, [(t["title"], t["start"], t["seconds"], t["windows"]) for t in tracks]))


def test_flac():
    """libsndfile's own format: its tags give the title too."""
    path = make("clip.flac")
    classify_whole(path)
    daemon_reads(path)


def test_opus():
    path = make("clip.opus", "-c:a", "libopus", "-b:a", "96k")
    classify_whole(path)
    daemon_reads(path)


def test_m4a():
    path = make("clip.m4a", "-c:a", "aac", "-b:a", "128k")
    classify_whole(path)
    daemon_reads(path)


def test_wma():
    path = make("clip.wma", "-c:a", "wmav2", "-b:a", "128k")
    classify_whole(path)
    daemon_reads(path)


def test_video():
    for name, codec in (("clip.mp4", ("-c:v", "libx264", "-c:a", "aac")),
                        ("clip.mkv", ("-c:v", "mpeg4", "-c:a", "libvorbis"))):
        path = make(name, *codec, video=True)
        classify_whole(path)
        daemon_reads(path)


if __name__ == "__main__":
    tg.main(globals(), cleanup=[tg.TMP])
