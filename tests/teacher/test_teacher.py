"""tools/teacher: the pretrained taggers and the probe's folds.

    test_teacher.py reference   the four teachers reproduce the reference
                                clip's expected.json to 1e-3 (per patch)
    test_teacher.py windows     windowed outputs on that clip: window count,
                                pooling, FCN segment, cache reuse, .soft rows
    test_teacher.py folds       folds.py deals extra's groups into the folds
                                genre-eval --fold holds out (a made-up corpus)

The teachers folder is ../shared/teachers beside the repository, or
$GENRED_TEACHERS; reference and windows exit 77 (skip) only where its files
are absent."""
import os
import random
import subprocess
import sys
import tempfile

SRC = os.environ.get("GENRED_SOURCE_DIR",
                     os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get("GENRED_BUILD_DIR", os.path.join(SRC, "build"))
sys.path.insert(0, os.path.join(SRC, "tools", "teacher"))

import teachers  # noqa: E402

FOLDER = teachers.default_folder()
NEEDED = ["musicnn_msd.h5", "musicnn_mtt.h5", "musicnn_jamendo.pth", "fcn_msd.pth", "tags.txt",
          "reference/expected.json"]


def need_teachers():
    missing = [f for f in NEEDED if not os.path.exists(os.path.join(FOLDER, f))]
    if missing:
        print("SKIP: no teacher files in %s (%s; set GENRED_TEACHERS)" % (FOLDER, missing[0]))
        sys.exit(77)


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def test_reference():
    need_teachers()
    rc = subprocess.call([sys.executable, os.path.join(SRC, "tools", "teacher", "reference.py"),
                          FOLDER])
    if rc:
        fail("reference.py exited %d" % rc)


def test_windows():
    need_teachers()
    import numpy as np
    import torch
    import extract
    import frontend
    import probe
    torch.set_num_threads(1)
    ref = os.path.join(FOLDER, "reference", "joram-moments_of_clarity-08-solipsism-59-88.mp3")
    with tempfile.TemporaryDirectory() as cache:
        done, _, _ = extract.compute_all(FOLDER, cache, [ref], 1)
        again, _, _ = extract.compute_all(FOLDER, cache, [ref], 1)
        if (done, again) != (1, 0):
            fail("computed %d then %d files, expected 1 then 0 (cache reuse)" % (done, again))
        out = extract.load(cache, ref)
    n = (465984 - 48000) // 8000 + 1
    for name in teachers.NAMES:
        if out["tags_" + name].shape != (n, 50):
            fail("%s tags %s, expected (%d, 50)" % (name, out["tags_" + name].shape, n))
        if "fcn" not in name and out["emb_" + name].shape != (n, 1506):
            fail("%s embedding %s" % (name, out["emb_" + name].shape))
    t = teachers.Teachers(FOLDER)
    audio = frontend.load_audio(ref)
    check_fcn_segment(t, audio, out["tags_fcn_msd"])
    check_pooling(np, torch, extract)
    check_edges(t, audio, out, np, torch)
    check_soft_rows(np, probe)


def check_fcn_segment(t, audio, tags):
    """A 29.1 s clip is one central segment, broadcast to every window."""
    import torch
    with torch.no_grad():
        start = (audio.size - 464000) // 2
        want = t.nets["fcn_msd"].tags(audio[start:start + 464000]).numpy()
    worst = abs(tags - want[None]).max()
    if worst > 1e-5:
        fail("FCN windows differ from the central segment by %g" % worst)


def check_pooling(np, torch, extract):
    """Each window's max and mean are over its own 187 frames."""
    fmap = torch.randn(753, 900)
    count = 20
    maxima, means = extract.pool_windows(fmap, count, 187)
    for i in (0, 7, count - 1):
        s = int(np.floor(i * 31.25 + 0.5))
        if (maxima[i] - fmap[:, s:s + 187].max(dim=1).values).abs().max() > 0 or \
                (means[i] - fmap[:, s:s + 187].mean(dim=1)).abs().max() > 1e-5:
            fail("window %d not pooled over frames %d..%d" % (i, s, s + 186))


def check_edges(t, audio, out, np, torch):
    """Whole-file maps pooled per window against the authors' per-patch
    run: the same up to edge effects (README.md gives the figure)."""
    import frontend
    mel = frontend.keras_logmel(audio)
    net, worst = t.nets["musicnn_msd"], 0.0
    with torch.no_grad():
        for i in range(0, len(out["tags_musicnn_msd"]), 6):
            s = int(np.floor(i * 31.25 + 0.5))
            p = net.tags(net.embed_patch(mel[s:s + 187]))[0].numpy()
            worst = max(worst, abs(p - out["tags_musicnn_msd"][i]).max())
    print("musicnn_msd: whole-file windows vs per patch, max |diff| %.4f" % worst)
    if worst > 0.15:
        fail("windowed MusiCNN-MSD tags differ from per-patch ones by %.3f" % worst)


def check_soft_rows(np, probe):
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(10) * 0.3, size=200)
    for row in probe.format_rows(p):
        cells = row.split("\t")
        if len(cells) != 10 or any(len(c.split(".")[1]) != 5 for c in cells):
            fail("malformed row %r" % row)
        if sum(int(c.replace(".", "")) for c in cells) != 100000:
            fail("row does not sum to 1: %r" % row)


class _Clip:
    def __init__(self, rel, group):
        self.rel, self.label, self.group = rel, rel.split("/")[0], group


def made_up_corpus(folder):
    """80 empty clips of 10 labels in 23 groups (one spanning two labels,
    names with spaces and non-ASCII letters), a list and a labels.tsv."""
    rng = random.Random(5)
    labels = ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop",
              "reggae", "rock"]
    groups = ["panda-Artist %d" % i for i in range(20)] + ["panda-Björk", "song-Æ 1", "emotify-7"]
    clips = []
    for i in range(80):
        group = groups[i % len(groups)] if i < 70 else "emotify-7"
        label = labels[rng.randrange(10)] if group != "emotify-7" else ("pop", "rock")[i % 2]
        clips.append(_Clip("%s/clip-%02d.ogg" % (label, i), group))
    rng.shuffle(clips)
    for c in clips:
        os.makedirs(os.path.join(folder, "audio", c.label), exist_ok=True)
        open(os.path.join(folder, "audio", c.rel), "w").close()
    with open(os.path.join(folder, "train.txt"), "w") as f:
        f.write("".join(c.rel + "\n" for c in clips))
    with open(os.path.join(folder, "labels.tsv"), "w", encoding="utf-8") as f:
        f.write("file\tgroup\tlabel source\n")
        f.write("".join("%s\t%s\tmade up\n" % (c.rel, c.group) for c in clips))
    return clips


def held_out_by_genre_eval(folder, k):
    """The clips genre-eval --fold k/4 scores: with empty files, each one
    is named in a 'skipping' warning."""
    run = subprocess.run([os.path.join(BUILD, "bin", "genre-eval"), "--model",
                          os.path.join(SRC, "nn", "default_model.gmdl"), "--data",
                          os.path.join(folder, "audio") + ":" + os.path.join(folder, "train.txt"),
                          "--groups", os.path.join(folder, "labels.tsv"), "--fold", "%d/4" % k],
                         capture_output=True, text=True)
    root = os.path.join(folder, "audio") + "/"
    return {line.split(root, 1)[1].split(":")[0] for line in run.stderr.splitlines()
            if "warning: skipping" in line and root in line}


def test_folds():
    import folds
    with tempfile.TemporaryDirectory() as folder:
        clips = made_up_corpus(folder)
        mine = folds.fold_of_groups(clips, 4)
        for k in range(4):
            want = {c.rel for c, f in zip(clips, mine) if f == k}
            got = held_out_by_genre_eval(folder, k)
            if got != want:
                fail("fold %d: genre-eval holds out %d clips, folds.py %d; differ on %s" % (
                    k, len(got), len(want), sorted(got ^ want)[:5]))
            print("fold %d: the same %d clips" % (k, len(got)))


if __name__ == "__main__":
    tests = {"reference": test_reference, "windows": test_windows, "folds": test_folds}
    if len(sys.argv) != 2 or sys.argv[1] not in tests:
        print("usage: test_teacher.py %s" % "|".join(tests))
        sys.exit(2)
    tests[sys.argv[1]]()
    print("ok")
