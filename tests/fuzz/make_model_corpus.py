#!/usr/bin/python3
"""Writes the fuzz_model seed corpus (tests/fuzz/corpus/model/): a few tiny
valid models (float and int8, 1 and 2 layers, both pools, UTF-8 labels;
version 1 as the importer writes them, version 2 with deltas, and version 3
with layer kinds) and truncations of one. Run: /usr/bin/python3 tests/fuzz/make_model_corpus.py"""
import importlib.machinery
import os
import struct
import zlib

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
importer = importlib.machinery.SourceFileLoader(
    "importer", os.path.join(ROOT, "tools", "genre-import-torch")).load_module()
OUT = os.path.join(HERE, "corpus", "model")


def tiny(n_coeffs, hidden, layers, labels, pool, quantize, seed):
    torch.manual_seed(seed)
    gru = torch.nn.GRU(n_coeffs, hidden, layers, batch_first=True)
    fc = torch.nn.Linear(hidden, len(labels))
    state = {"gru." + k: v for k, v in gru.state_dict().items()}
    state.update({"fc." + k: v for k, v in fc.state_dict().items()})
    fe = importer.default_frontend()
    fe.update(n_coeffs=n_coeffs, n_mels=max(n_coeffs, 8), fmax=0.0)
    mean, std = torch.randn(n_coeffs), torch.rand(n_coeffs) + 0.5
    return importer.build(fe, mean, std, labels, importer.gru_layers(state),
                          importer.POOLS[pool], state["fc.weight"], state["fc.bias"], quantize,
                          "seed%d" % seed)


def with_deltas(image):
    """A version 1 model of 2C inputs as the version 2 model of C coefficients
    and their deltas (nn/model.c): n_coeffs halved, deltas = 1 after n_inputs."""
    body = bytearray(image[:-4])
    n_inputs = struct.unpack_from("<I", body, 60)[0]
    struct.pack_into("<I", body, 8, 2)               # version
    struct.pack_into("<I", body, 32, n_inputs // 2)  # n_coeffs
    body[64:64] = struct.pack("<I", 1)               # deltas
    return bytes(body) + struct.pack("<I", zlib.crc32(bytes(body)))


def as_version3(image):
    """A version 1 or 2 model as version 3 (nn/model.c): an inputs field of 0
    after n_inputs where version 1 has none, and each layer's kind (0 = GRU)
    before its input size."""
    body = bytearray(image[:-4])
    if struct.unpack_from("<I", body, 8)[0] == 1:
        body[64:64] = struct.pack("<I", 0)
    struct.pack_into("<I", body, 8, 3)
    at = 68 + 8 * struct.unpack_from("<I", body, 60)[0]  # past mean and std
    n_labels = struct.unpack_from("<I", body, at)[0]
    at += 4
    for _ in range(n_labels):
        at += 1 + body[at]
    n_layers = struct.unpack_from("<I", body, at)[0]
    at += 4
    for _ in range(n_layers):
        n_in, hidden, weights = struct.unpack_from("<III", body, at)
        body[at:at] = struct.pack("<I", 0)
        rows, at = 3 * hidden, at + 16
        w = rows * (n_in + hidden)
        at += (4 * w if weights == 0 else w + 8 * rows) + 8 * rows
    return bytes(body) + struct.pack("<I", zlib.crc32(bytes(body)))


def main():
    os.makedirs(OUT, exist_ok=True)
    models = [
        tiny(2, 2, 1, ["a", "b"], "last", False, 1),
        tiny(2, 2, 1, ["a", "b", "c"], "mean", True, 2),
        tiny(3, 4, 2, ["rock", "jazz", "ünï"], "last", True, 3),
        tiny(1, 3, 2, ["x", "y"], "mean", False, 4),
    ]
    models.append(with_deltas(tiny(4, 3, 1, ["p", "q", "r"], "mean", True, 5)))
    models += [as_version3(models[2]), as_version3(models[3]), as_version3(models[4])]
    for i, m in enumerate(models):
        with open(os.path.join(OUT, "valid%d.gmdl" % i), "wb") as f:
            f.write(m)
    for cut in (10, 40, 70, len(models[2]) // 2, len(models[2]) - 5):
        with open(os.path.join(OUT, "cut%d.gmdl" % cut), "wb") as f:
            f.write(models[2][:cut])


if __name__ == "__main__":
    main()
