"""Teacher outputs on 3 s windows every 0.5 s of any audio file, cached.

For window i (starting at i * 0.5 s; a file under 3 s has one window, its
whole length) the cache holds the tag probabilities of all four teachers
and the 1506-d pooled embedding of each MusiCNN.

MusiCNN runs once over the whole file and its 753 x T map is pooled per
window (187 frames for the .h5 models, 188 for Jamendo's 48,000 samples):
about 6x cheaper than one run per overlapping window. The difference from
the authors' per-patch run is at the window edges only: there the convolutions
(7-frame timbral and mid-end, up to 128-frame temporal) see the neighbouring
audio instead of zero padding, and a window starts on the nearest 16 ms frame
(0.5 s = 31.25 frames). On the reference clip this moves the mean tag
probabilities by at most MUSICNN_EDGE_NOTE (reference.py --edges measures it).

FCN takes 29.1 s (464,000 samples): a file of that length or more is cut
into ceil(length / 29.1 s - 0.1) segments spread evenly from start to end
(one central segment up to 32 s, as for the reference); each window takes
the segment whose centre is nearest its own. A shorter file is looped
(repeated end to end) to 464,000 samples: the authors never feed a short
clip, and looping keeps the input music where zero padding would feed
minutes of -100 dB silence the network never saw.

    /usr/bin/python3 tools/teacher/extract.py --cache DIR [--jobs N] FILE...
"""
import argparse
import hashlib
import multiprocessing
import os
import sys
import time

import numpy as np
import torch

import corpus
import frontend
import teachers

VERSION = "v1"
HOP = 0.5
WINDOW = 3.0
HOP_SAMPLES = int(HOP * frontend.RATE)
WINDOW_SAMPLES = int(WINDOW * frontend.RATE)


def window_count(samples):
    return 1 if samples < WINDOW_SAMPLES else (samples - WINDOW_SAMPLES) // HOP_SAMPLES + 1


def pool_windows(fmap, count, length):
    """Max and mean of fmap (753, T) over `length` frames from each window's
    start frame; a map shorter than one window is pooled whole."""
    frames = fmap.shape[1]
    if frames <= length:
        return fmap.max(dim=1).values[None].expand(count, -1), \
            fmap.mean(dim=1)[None].expand(count, -1)
    starts = np.floor(np.arange(count) * HOP_SAMPLES / frontend.HOP + 0.5).astype(np.int64)
    starts = torch.from_numpy(np.minimum(starts, frames - length))
    view = fmap.unfold(1, length, 1)  # (753, T - length + 1, length), no copy
    maxima, means = torch.empty(count, fmap.shape[0]), torch.empty(count, fmap.shape[0])
    for a in range(0, count, 16):  # 16 windows: a 9 MB copy at a time
        part = view[:, starts[a:a + 16]]
        maxima[a:a + 16] = part.max(dim=2).values.t()
        means[a:a + 16] = part.mean(dim=2).t()
    return maxima, means


def fcn_windows(fcn, audio, count):
    """(count, 50): each window's nearest 29.1 s segment's tags."""
    n = fcn.samples
    if audio.size < n:
        audio = np.resize(audio, n)  # loops the clip
    segments = max(1, int(np.ceil(audio.size / n - 0.1)))
    if segments == 1:
        starts = np.array([(audio.size - n) // 2])
    else:
        starts = np.round(np.arange(segments) * (audio.size - n) / (segments - 1)).astype(int)
    tags = torch.stack([fcn.tags(audio[s:s + n]) for s in starts])
    centres = np.arange(count) * HOP_SAMPLES + WINDOW_SAMPLES / 2
    nearest = np.abs(centres[:, None] - (starts[None, :] + n / 2)).argmin(axis=1)
    return tags[torch.from_numpy(nearest)]


def analyse(t, audio, names):
    """{teacher: {"tags": (n, 50), "emb": (n, 1506) for MusiCNNs}} of one
    decoded file, for the teachers named; see the module's text."""
    count = window_count(audio.size)
    out, logmel = {}, None
    with torch.no_grad():
        for name in names:
            net = t.nets[name]
            if name == "fcn_msd":
                out[name] = {"tags": fcn_windows(net, audio, count).numpy()}
                continue
            if name == "musicnn_jamendo":
                fmap = net.feature_map(net.mel(audio))
            else:
                logmel = frontend.keras_logmel(audio) if logmel is None else logmel
                fmap = net.feature_map(logmel)
            emb = net.pool(*pool_windows(fmap, count, net.patch_frames))
            out[name] = {"tags": net.tags(emb).numpy(), "emb": emb.numpy().astype(np.float16)}
    return out


def content_hash(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:20]


def cache_path(cache, digest, name):
    """One file per audio content and teacher, so teachers can be computed
    in separate passes; VERSION changes whenever the outputs would."""
    return os.path.join(cache, "%s-%s-%s.npz" % (digest, name, VERSION))


def load(cache, path, names=teachers.NAMES):
    """{"tags_<teacher>", "emb_<teacher>", "seconds"} of one file, None when
    any named teacher's outputs are not cached."""
    digest, out = content_hash(path), {}
    for name in names:
        p = cache_path(cache, digest, name)
        if not os.path.exists(p):
            return None
        with np.load(p) as z:
            out.update({k + "_" + name: z[k] for k in ("tags", "emb") if k in z.files})
            out["seconds"] = z["seconds"]
    return out


_TEACHERS = None


def _worker_init(folder):
    global _TEACHERS
    torch.set_num_threads(1)
    _TEACHERS = teachers.Teachers(folder)


def _compute(job):
    """Caches one file's missing teachers; returns (path, audio seconds,
    CPU seconds), both None when nothing was missing."""
    cache, path, names = job
    digest = content_hash(path)
    todo = [n for n in names if not os.path.exists(cache_path(cache, digest, n))]
    if not todo:
        return path, None, None
    cpu = time.process_time()
    audio = frontend.load_audio(path)
    seconds = np.float32(audio.size / frontend.RATE)
    for name, arrays in analyse(_TEACHERS, audio, todo).items():
        target = cache_path(cache, digest, name)
        tmp = "%s.%d.tmp.npz" % (target[:-4], os.getpid())
        np.savez(tmp, seconds=seconds, hop=np.float32(HOP), window=np.float32(WINDOW), **arrays)
        os.replace(tmp, target)
    return path, float(seconds), time.process_time() - cpu


def compute_all(folder, cache, paths, jobs, names=teachers.NAMES, log=sys.stderr):
    """Fills the cache for every path and named teacher, `jobs` processes of
    one thread each. Returns (files computed, audio seconds, CPU seconds)."""
    os.makedirs(cache, exist_ok=True)
    todo = [(cache, p, names) for p in paths]
    done, audio_s, cpu_s, start = 0, 0.0, 0.0, time.time()
    with multiprocessing.get_context("fork").Pool(jobs, _worker_init, (folder,)) as pool:
        for n, (path, seconds, cpu) in enumerate(pool.imap_unordered(_compute, todo), 1):
            if cpu is not None:
                done, audio_s, cpu_s = done + 1, audio_s + seconds, cpu_s + cpu
            if cpu is not None and (done % 20 == 0 or n == len(todo)):
                print("teacher cache (%s): %d/%d files, %.0f s audio, %.2f CPU s per minute of "
                      "audio, %.0f s wall" % (",".join(names), n, len(todo), audio_s,
                                              60 * cpu_s / audio_s, time.time() - start),
                      file=log, flush=True)
    return done, audio_s, cpu_s


def main():
    ap = argparse.ArgumentParser(description="Teacher outputs per 3 s window, cached.")
    ap.add_argument("--cache", required=True)
    ap.add_argument("--teachers", default=teachers.default_folder())
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--data", help="also every listed clip of this data folder")
    ap.add_argument("--only", default=",".join(teachers.NAMES),
                    help="comma-separated teachers to compute (default: all four)")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    files = list(a.files)
    if a.data:
        files += [c.path for c in corpus.read_corpus(a.data)]
    files = list(dict.fromkeys(files))
    done, audio_s, cpu_s = compute_all(a.teachers, a.cache, files, a.jobs,
                                       tuple(a.only.split(",")))
    if done:
        print("%d files, %.1f min of audio, %.2f CPU s per minute" % (
            done, audio_s / 60, 60 * cpu_s / audio_s))
    return 0


if __name__ == "__main__":
    sys.exit(main())
