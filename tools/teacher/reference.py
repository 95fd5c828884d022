"""Runs the four teachers on ../shared/teachers/reference/ exactly as its
expected.json was cut (per patch, the authors' way) and compares every
listed probability. Exit 0 when all agree to 1e-3, 1 otherwise.

    /usr/bin/python3 tools/teacher/reference.py [TEACHERS_DIR]"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import frontend  # noqa: E402
import teachers  # noqa: E402

TOLERANCE = 1e-3


def reference_tags(t, audio):
    """Mean tag probabilities per model, cut as expected.json says."""
    out = {}
    mel = frontend.keras_logmel(audio)
    n = mel.shape[0] // 187
    for name in ("musicnn_msd", "musicnn_mtt"):
        net = t.nets[name]
        probs = [net.tags(net.embed_patch(mel[i * 187:(i + 1) * 187])) for i in range(n)]
        out[name] = (len(probs), torch.cat(probs).mean(0))
    net, seg = t.nets["musicnn_jamendo"], 48000
    probs = [net.tags(net.embed_patch(net.mel(audio[i * seg:(i + 1) * seg])))
             for i in range(audio.size // seg)]
    out["musicnn_jamendo"] = (len(probs), torch.cat(probs).mean(0))
    start = (audio.size - t.nets["fcn_msd"].samples) // 2
    out["fcn_msd"] = (1, t.nets["fcn_msd"].tags(audio[start:start + t.nets["fcn_msd"].samples]))
    return out


def compare(t, expected, got):
    worst = 0.0
    for name, (windows, probs) in got.items():
        ref = expected[name]
        top = ref.get("top10_mean_over_windows", ref.get("top10"))
        if windows != ref["windows"]:
            print("%s: %d windows, expected %d" % (name, windows, ref["windows"]))
            worst = 1.0
        for tag, want in top:
            have = float(probs[t.tags[name].index(tag)])
            worst = max(worst, abs(have - want))
            if abs(have - want) > TOLERANCE:
                print("%s: %s %.4f, expected %.4f" % (name, tag, have, want))
        print("%s: %d windows, top-10 max |diff| %.5f" % (
            name, windows, max(abs(float(probs[t.tags[name].index(tg)]) - w) for tg, w in top)))
    return worst


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else teachers.default_folder()
    torch.set_num_threads(1)
    with open(os.path.join(folder, "reference", "expected.json")) as f:
        expected = json.load(f)
    t = teachers.Teachers(folder)
    audio = frontend.load_audio(os.path.join(folder, "reference", expected["file"]))
    if abs(audio.size / frontend.RATE - expected["seconds"]) > 1e-3:
        print("decoded %.3f s, expected %.3f s" % (audio.size / frontend.RATE, expected["seconds"]))
        return 1
    with torch.no_grad():
        worst = compare(t, expected, reference_tags(t, np.asarray(audio)))
    print("worst |diff| %.5f (tolerance %g): %s" % (worst, TOLERANCE,
                                                   "ok" if worst <= TOLERANCE else "FAIL"))
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
