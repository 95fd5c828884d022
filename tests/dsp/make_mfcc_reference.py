#!/usr/bin/python3
"""Reference MFCCs for tests/dsp/test_mfcc.c, computed by torchaudio in
float64 (run with Debian's python3-torch / python3-torchaudio):

    /usr/bin/python3 tests/dsp/make_mfcc_reference.py

Writes tests/data/mfcc_ref_<signal>.txt: '#' comment lines (the parameters),
then one line per frame: the frame's smallest mel band power (the test
skips synthetic frames where it is <= 1e-8), then the coefficients, all
tab-separated. The synthetic signals are regenerated bit-identically by
tests/dsp/signals.h (Python's math.sin is the C library's sin, and the
noise generator is integer xorshift32); the music is tests/data/music_excerpt.wav."""
import math
from pathlib import Path

import numpy as np
import scipy.io.wavfile
import torch
import torchaudio

DATA = Path(__file__).resolve().parents[1] / "data"
RATE = 22050


def xorshift32(x):
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    x ^= (x << 5) & 0xFFFFFFFF
    return x


def uniform(x):
    # xorshift32 state -> [-1, 1)
    return (x / 4294967296.0) * 2.0 - 1.0


def chirp(n=3 * RATE, f0=50.0, f1=10000.0, seed=777):
    # Linear sweep f0 -> f1, amplitude 0.5, over a -60 dB white noise floor so
    # that every mel band has measurable power (signals.h: signal_chirp)
    T = n / RATE
    k = (f1 - f0) / (2.0 * T)
    out = np.empty(n, np.float32)
    x = seed
    for i in range(n):
        t = i / RATE
        x = xorshift32(x)
        out[i] = 0.5 * math.sin(2.0 * math.pi * (f0 * t + k * t * t)) + 0.001 * uniform(x)
    return out


def noise(n=3 * RATE, seed=12345):
    # Uniform white noise in [-0.5, 0.5) (signals.h: signal_noise)
    out = np.empty(n, np.float32)
    x = seed
    for i in range(n):
        x = xorshift32(x)
        out[i] = 0.5 * uniform(x)
    return out


def music():
    rate, pcm = scipy.io.wavfile.read(DATA / "music_excerpt.wav")
    assert rate == RATE and pcm.dtype == np.int16
    return (pcm / 32768.0).astype(np.float32)  # libsndfile's int16 -> float scale


def mfcc(x, sr, n_fft, hop, n_mels, n_coeffs, fmin, fmax):
    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels, f_min=fmin, f_max=fmax,
        center=False, norm="slaney", mel_scale="slaney", power=2.0,
        window_fn=torch.hann_window).double()
    S = mel(torch.from_numpy(x.astype(np.float64)))  # n_mels x frames
    db = 10.0 * torch.log10(torch.clamp(S, min=1e-10))
    dct = torchaudio.functional.create_dct(n_coeffs, n_mels, "ortho").double()
    coeffs = (db.T @ dct).numpy()  # frames x n_coeffs
    return S.min(dim=0).values.numpy(), coeffs


def write(name, x, sr=RATE, n_fft=2048, hop=512, n_mels=128, n_coeffs=13, fmin=0.0, fmax=None):
    fmax = sr / 2 if fmax is None else fmax
    minmel, coeffs = mfcc(x, sr, n_fft, hop, n_mels, n_coeffs, fmin, fmax)
    path = DATA / f"mfcc_ref_{name}.txt"
    with open(path, "w") as f:
        f.write(f"# torchaudio {torchaudio.__version__} float64 reference, "
                "tests/dsp/make_mfcc_reference.py\n")
        f.write(f"# sample_rate={sr} n_fft={n_fft} hop={hop} n_mels={n_mels} "
                f"n_coeffs={n_coeffs} fmin={fmin} fmax={fmax}\n")
        for m, row in zip(minmel, coeffs):
            f.write("\t".join([f"{m:.6e}"] + [f"{v:.6f}" for v in row]) + "\n")
    print(f"{path}: {coeffs.shape[0]} frames")


write("chirp", chirp())
write("noise", noise())
write("music", music())
# Non-default framing and band limits: every parameter is honoured.
write("noise_alt", noise(), n_fft=1024, hop=256, n_mels=40, n_coeffs=20, fmin=30.0, fmax=8000.0)
