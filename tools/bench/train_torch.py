#!/usr/bin/python3
"""train_torch: one genre-train epoch done in PyTorch, for issue 8 item 6
(tools/bench/run times it against genre-train on the same features).

Reads the features genre-train cached (--cache DIR) for the clips of the
same lists: a cache entry is named CRC-PARAMS-SIZE.f32 after the audio
file's zlib CRC-32 and size (tools/dataset.c), and holds the magic "GRDF",
frame count, coefficient count, the clip's level (double), then the frames
as float32. Every entry of a training clip is one of its variants (clean and
augmented); a validation clip has one. The epoch is genre-train's:
  --epoch-windows / --batch steps, each a class-balanced batch (a label
  uniformly, a clip of it, a variant, a random 126-frame window, a gain
  shift of c0 in +-12 dB), GRU of the same size and pooling, dropout before
  the dense layer, cross-entropy, gradient clipping, AdamW with decay on
  matrices only;
  then validation: every clip's windows at --hop through the network
  (no dropout), batches of 64, loss and probabilities.
torch.set_num_threads(--threads). Prints one JSON line with the epoch's
process CPU and wall time, split into steps and validation.

  /usr/bin/python3 tools/bench/train_torch.py --cache DIR --root DIR --train LIST --valid LIST
"""
import argparse
import glob
import json
import math
import os
import random
import struct
import time
import zlib

import numpy as np
import torch

MAGIC = 0x46445247


def cache_entries(cache, path):
    crc = 0
    size = 0
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 16)
            if not b:
                break
            crc = zlib.crc32(b, crc)
            size += len(b)
    out = []
    for name in sorted(glob.glob(os.path.join(cache, "%08x-*-%d.f32" % (crc, size)))):
        with open(name, "rb") as f:
            magic, frames, coeffs = struct.unpack("<3I", f.read(12))
            f.read(8)  # level, double
            if magic != MAGIC:
                raise SystemExit("train_torch: %s: not a genre-train cache entry" % name)
            out.append(np.frombuffer(f.read(), dtype="<f4").reshape(frames, coeffs).copy())
    return out


def load(cache, root, lst, labels):
    clips = []
    with open(lst) as f:
        for line in f:
            rel = line.strip()
            if not rel or rel.startswith("#"):
                continue
            label = rel.split("/")[0]
            feats = cache_entries(cache, os.path.join(root, rel))
            if not feats:
                raise SystemExit("train_torch: no cache entry for %s (run genre-train with "
                                 "--cache %s first)" % (rel, cache))
            clips.append((labels.setdefault(label, len(labels)), feats))
    return clips


class Net(torch.nn.Module):
    def __init__(self, n_in, hidden, layers, n_labels, dropout, pool):
        super().__init__()
        self.pool = pool
        self.gru = torch.nn.GRU(n_in, hidden, layers, batch_first=True,
                                dropout=dropout if layers > 1 else 0.0)
        self.drop = torch.nn.Dropout(dropout)
        self.fc = torch.nn.Linear(hidden, n_labels)

    def forward(self, x):
        h, _ = self.gru(x)
        return self.fc(self.drop(h.mean(dim=1) if self.pool == "mean" else h[:, -1]))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cache", required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--train", required=True)
    p.add_argument("--valid", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--pool", choices=("mean", "last"), default="mean")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--epoch-windows", type=int, default=3072)
    p.add_argument("--window", type=int, default=126, help="frames per window")
    p.add_argument("--hop-frames", type=float, default=0.5 * 22050 / 512)
    p.add_argument("--mels", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.002)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--clip-norm", type=float, default=2.0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(1)
    rng = random.Random(1)

    labels = {}
    train = load(a.cache, a.root, a.train, labels)
    valid = load(a.cache, a.root, a.valid, labels)
    C = train[0][1][0].shape[1]
    # Normalisation as genre-train: mean and std of the training frames.
    allf = np.concatenate([v[0] for _, v in train])
    mean, std = allf.mean(axis=0), allf.std(axis=0) + 1e-12
    train = [(y, [torch.from_numpy((f - mean) / std) for f in v]) for y, v in train]
    valid = [(y, torch.from_numpy((v[0] - mean) / std)) for y, v in valid]
    by_label = {}
    for i, (y, _) in enumerate(train):
        by_label.setdefault(y, []).append(i)
    present = sorted(by_label)
    c0_per_db = math.sqrt(a.mels) / float(std[0])

    net = Net(C, a.hidden, a.layers, len(labels), a.dropout, a.pool)
    decay = [q for n, q in net.named_parameters() if "weight" in n]
    no_decay = [q for n, q in net.named_parameters() if "weight" not in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=a.lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    W = a.window
    steps = (a.epoch_windows + a.batch - 1) // a.batch

    c0, w0 = time.process_time(), time.monotonic()
    net.train()
    xb = torch.empty(a.batch, W, C)
    yb = torch.empty(a.batch, dtype=torch.long)
    for _ in range(steps):
        for b in range(a.batch):
            k = present[rng.randrange(len(present))]
            y, variants = train[by_label[k][rng.randrange(len(by_label[k]))]]
            f = variants[rng.randrange(len(variants))]
            s = rng.randrange(f.shape[0] - W + 1)
            xb[b] = f[s:s + W]
            xb[b, :, 0] += (rng.random() * 24 - 12) * c0_per_db
            yb[b] = y
        opt.zero_grad()
        loss = loss_fn(net(xb), yb)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), a.clip_norm)
        opt.step()
    c1 = time.process_time()

    net.eval()
    windows, vloss = 0, 0.0
    with torch.inference_mode():
        for y, f in valid:
            n = 0
            while math.floor(n * a.hop_frames + 0.5) + W <= f.shape[0]:
                n += 1
            starts = [math.floor(i * a.hop_frames + 0.5) for i in range(n)]
            for i in range(0, n, 64):
                x = torch.stack([f[s:s + W] for s in starts[i:i + 64]])
                pr = torch.softmax(net(x), dim=1)
                vloss -= torch.log(pr[:, y] + 1e-12).sum().item()
            windows += n
    c2, w2 = time.process_time(), time.monotonic()
    print(json.dumps({"cpu_s": c2 - c0, "wall_s": w2 - w0, "steps_cpu_s": c1 - c0,
                      "valid_cpu_s": c2 - c1, "steps": steps, "batch": a.batch,
                      "train_clips": len(train), "valid_clips": len(valid),
                      "valid_windows": windows, "threads": a.threads, "hidden": a.hidden,
                      "layers": a.layers, "pool": a.pool,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
