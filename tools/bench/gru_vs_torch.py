#!/usr/bin/python3
"""gru_vs_torch: our GRU classifier against PyTorch on one 3 s window.

Times nn.GRU + nn.Linear + softmax on one (1, 126, 13) window with
torch.set_num_threads(1) for hidden 64/128 and 1/2 layers (median thread CPU
time of many runs, like bench_gru), runs build/bin/bench_gru for our
figures, and prints PyTorch's time over ours (how many times faster we are).
Needs Debian's python3-torch; not part of CI.

  /usr/bin/python3 tools/bench/gru_vs_torch.py [--bench build/bin/bench_gru] [--runs 300]
"""
import argparse
import os
import statistics
import subprocess
import time

import torch

FRAMES, INPUTS, LABELS = 126, 13, 10


def torch_us(hidden, layers, runs):
    torch.manual_seed(0)
    gru = torch.nn.GRU(INPUTS, hidden, layers, batch_first=True).eval()
    fc = torch.nn.Linear(hidden, LABELS).eval()
    x = torch.randn(1, FRAMES, INPUTS)

    def once():
        h, _ = gru(x)
        return torch.softmax(fc(h[:, -1]), dim=1)

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
    a = p.parse_args()
    torch.set_num_threads(1)
    out = subprocess.run([a.bench, str(a.runs)], check=True, capture_output=True, text=True).stdout
    ours = {}
    for line in out.splitlines():
        if line.startswith("#"):
            continue
        h, l, f32, q8, q8c, _ = line.split()
        ours[(int(h), int(l))] = (float(f32), float(q8), float(q8c))
    print("# CPU microseconds per %d-frame window, median of %d, one thread; torch %s"
          % (FRAMES, a.runs, torch.__version__))
    print("# hidden layers torch_us float_us int8_us torch/float torch/int8")
    for (h, l), (f32, q8, _) in sorted(ours.items()):
        t = torch_us(h, l, a.runs)
        print("%d %d %.1f %.1f %.1f %.2f %.2f" % (h, l, t, f32, q8, t / f32, t / q8))


if __name__ == "__main__":
    main()
