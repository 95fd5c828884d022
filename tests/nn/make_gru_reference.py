#!/usr/bin/python3
"""Writes the GRU reference vectors under tests/nn/data/ (committed, so CI
needs no torch). Run from anywhere: /usr/bin/python3 tests/nn/make_gru_reference.py

For each case: CASE.gmdl, a float32 model written by tools/genre-import-torch's
encoder, and CASE.ref, a text file:
    n_frames n_inputs n_windows n_labels
    n_windows x (n_frames x n_inputs window values, then n_labels probabilities)
The probabilities come from nn.GRU + nn.Linear + softmax run in float64 on
the float32 weights, so they are an independent reference for the C kernels.
h32_1l_last also gets h32_1l_last_q8.gmdl, the importer's --quantize output,
which the C test compares with model_quantize().
"""
import importlib.machinery
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
importer = importlib.machinery.SourceFileLoader(
    "importer", os.path.join(ROOT, "tools", "genre-import-torch")).load_module()

N_FRAMES, N_INPUTS, N_WINDOWS = 126, 13, 2
CASES = [  # name, hidden, layers, pool, labels
    ("h32_1l_last", 32, 1, "last", 10),
    ("h32_2l_mean", 32, 2, "mean", 7),
    ("h128_1l_mean", 128, 1, "mean", 10),
    ("h128_2l_last", 128, 2, "last", 4),
]


class Net(torch.nn.Module):
    def __init__(self, hidden, layers, labels):
        super().__init__()
        self.gru = torch.nn.GRU(N_INPUTS, hidden, layers, batch_first=True)
        self.fc = torch.nn.Linear(hidden, labels)


def make_case(name, hidden, layers, pool, n_labels, seed):
    torch.manual_seed(seed)
    net = Net(hidden, layers, n_labels)
    with torch.no_grad():  # larger than PyTorch's init, so gates saturate and classes separate
        for p in net.gru.parameters():
            p.mul_(3.0)
        net.fc.weight.mul_(4.0)
    mean = torch.randn(N_INPUTS) * 10
    std = torch.rand(N_INPUTS) * 19 + 1
    labels = ["genre%d" % k for k in range(n_labels)]
    labels[0] = "hip-hop/rap ünïcode"
    state = net.state_dict()
    fe = importer.default_frontend()
    args = (fe, mean, std, labels, importer.gru_layers(state), importer.POOLS[pool],
            state["fc.weight"], state["fc.bias"])
    with open(os.path.join(HERE, "data", name + ".gmdl"), "wb") as f:
        f.write(importer.build(*args, False, "reference-" + name))
    if name == "h32_1l_last":
        with open(os.path.join(HERE, "data", name + "_q8.gmdl"), "wb") as f:
            f.write(importer.build(*args, True, "reference-" + name))

    windows = mean + std * torch.randn(N_WINDOWS, N_FRAMES, N_INPUTS)
    net = net.double()
    with torch.no_grad():
        h, _ = net.gru((windows.double() - mean.double()) / std.double())
        pooled = h[:, -1] if pool == "last" else h.mean(dim=1)
        probs = torch.softmax(net.fc(pooled), dim=1)
    with open(os.path.join(HERE, "data", name + ".ref"), "w") as f:
        f.write("%d %d %d %d\n" % (N_FRAMES, N_INPUTS, N_WINDOWS, n_labels))
        for w in range(N_WINDOWS):
            for row in windows[w]:
                f.write(" ".join("%.9g" % v for v in row.tolist()) + "\n")
            f.write(" ".join("%.12g" % v for v in probs[w].tolist()) + "\n")
    print(name, "max prob", [round(float(v), 3) for v in probs.max(dim=1).values])


def main():
    os.makedirs(os.path.join(HERE, "data"), exist_ok=True)
    for i, case in enumerate(CASES):
        make_case(*case, seed=1000 + i)


if __name__ == "__main__":
    main()
