#!/usr/bin/python3
"""Seeds for fuzz_frontend (tests/fuzz/corpus/frontend): a header of 4
configuration bytes, then float32 samples: a sine, silence with NaN/Inf,
denormals and huge values, full-scale square waves.
    /usr/bin/python3 tests/fuzz/make_frontend_corpus.py"""
import math
import struct
from pathlib import Path

out = Path(__file__).resolve().parent / "corpus" / "frontend"
out.mkdir(parents=True, exist_ok=True)


def seed(name, header, samples):
    (out / name).write_bytes(bytes(header) + struct.pack(f"<{len(samples)}f", *samples))


seed("sine_44k_stereo", [5, 1, 0, 2], [0.5 * math.sin(i // 2 * 0.06) for i in range(2 * 6000)])
seed("nonfinite_22k", [3, 0, 3, 1],
     [float("nan") if i % 97 == 0 else float("inf") if i % 89 == 0 else 0.0 for i in range(3000)])
seed("extremes_8k", [0, 2, 1, 3],
     [(1e-40, -1e-45, 3e38, -3e38, 1.0, -1.0)[i % 6] for i in range(3 * 2000)])
seed("square_48k", [6, 3, 2, 8], [1.0 if (i // 40) % 2 else -1.0 for i in range(4 * 3000)])
