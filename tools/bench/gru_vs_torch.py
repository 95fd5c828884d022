#!/usr/bin/python3
"""gru_vs_torch: our GRU classifier against PyTorch on one 3 s window.

Times nn.GRU + mean over time + nn.Linear + softmax on one (1, 126, 40)
window (the shipped model's input: 20 MFCCs and their deltas, which
PyTorch is given ready made and ours computes; mean pooling) with
torch.set_num_threads(1) for hidden 64/128/192 and 1/2 layers (median thread CPU
time of many runs, like bench_gru), runs build/bin/bench_gru for our
figures, and prints PyTorch's time over ours (how many times faster we are).
Both sides run in --rounds alternating rounds; each figure is the median
over the rounds of the per-round medians. Needs Debian's python3-torch; not
part of CI.

  /usr/bin/python3 tools/bench/gru_vs_torch.py [--bench build/bin/bench_gru] [--runs 300] [--rounds 3]
"""
import argparse
import os
import statistics
import subprocess
import time

import torch

FRAMES, INPUTS, LABELS = 126, 40, 10


def torch_us(hidden, layers, runs):
    torch.manual_seed(0)
    gru = torch.nn.GRU(INPUTS, hidden, layers, batch_first=True).eval()
    fc = torch.nn.Linear(hidden, LABELS).eval()
    x = torch.randn(1, FRAMES, INPUTS)

    def once():
        h, _ = gru(x)
        return torch.softmax(fc(h.mean(dim=1)), dim=1)

    times = []
    with torch.inference_mode():
        for _ in range(10):
            once()
        for _ in range(runs):
            t0 = time.thread_time_ns()
            once()
            times.append((time.thread_time_ns() - t0) / 1000)
    return statistics.median(times)


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bench", default=os.path.join(root, "build", "bin", "bench_gru"))
    p.add_argument("--runs", type=int, default=300)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(1)
    ours, theirs = {}, {}
    for _ in range(a.rounds):
        out = subprocess.run([a.bench, str(a.runs)], check=True, capture_output=True,
                             text=True).stdout
        for line in out.splitlines():
            if line.startswith("#"):
                continue
            h, l, f32, q8, _, _ = line.split()
            key = (int(h), int(l))
            ours.setdefault(key, []).append((float(f32), float(q8)))
            theirs.setdefault(key, []).append(torch_us(key[0], key[1], a.runs))
    print("# CPU microseconds per %d-frame window (%d inputs, mean pooling), median of %d runs "
          "per round, median of %d alternating rounds, one thread; torch %s"
          % (FRAMES, INPUTS, a.runs, a.rounds, torch.__version__))
    print("# hidden layers torch_us float_us int8_us torch/float torch/int8")
    for key in sorted(ours):
        t = statistics.median(theirs[key])
        f32 = statistics.median(x[0] for x in ours[key])
        q8 = statistics.median(x[1] for x in ours[key])
        print("%d %d %.1f %.1f %.1f %.2f %.2f" % (key[0], key[1], t, f32, q8, t / f32, t / q8))


if __name__ == "__main__":
    main()
