#!/usr/bin/python3
"""pipeline_torch: genred's file pipeline written in PyTorch/torchaudio, for
issue 8 item 2 (tools/bench/run times it against genred on the same file).

The same work genred does on `--input file:WAV --hop 0.5`, in the same
definitions:
  decode 16-bit WAV, mix to mono, resample to the model rate with the
  filter dsp/resampler designs (torchaudio.functional.resample with a
  Kaiser-windowed sinc, 80 dB, cutoff mid-transition at 0.96 of the lower
  Nyquist, +-126 input samples at 2:1: torchaudio's default, 6 zero
  crossings, is 10x shorter and does not reach genred's stopband; --fast-
  resample uses it anyway),
  MFCC as dsp/mfcc.h defines it (MelSpectrogram n_fft 2048, hop 512, 128
  mels, center=False, slaney norm and scale, power 2, periodic Hann; then
  10*log10(max(S, 1e-10)); orthonormal DCT-II, n_coeffs), one window of the
  newest 126 frames every 0.5 s of audio, with the model's deltas
  (torchaudio.functional.compute_deltas per window, as nn/model_input.h
  defines them) when it has them, normalised, through nn.GRU of the
  model's size, pooled like the model (mean over time or last state), a
  dense layer and softmax.
The sizes come from `genre-model-info` (--info) of the model genred runs
(--model FILE, default the built-in one).
Windows are batched (--batch, 256) and torch runs one thread. The audio is
streamed in blocks of --block seconds like genred streams it, so memory
stays small; the resampler restarts per block (its edge error is irrelevant
to timing). The weights are random: the cost does not depend on them.

Prints one JSON line: windows, frames, cpu_s (process CPU from the first
read to the last window, after imports and set-up), wall_s, and the
split per stage.

  /usr/bin/python3 tools/bench/pipeline_torch.py --info build/bin/genre-model-info WAV
"""
import argparse
import json
import time
import wave

import numpy as np
import torch
import torchaudio

from modelinfo import model_sizes


class Pipeline:
    def __init__(self, s, in_rate, hop_s, batch, fast_resample):
        self.s, self.in_rate, self.batch = s, in_rate, batch
        # dsp/resampler.c: passband to 0.92 of the lower Nyquist, 80 dB, so
        # cutoff 0.96 and Kaiser beta 0.1102 * (80 - 8.7); its semi-length
        # m = 126 input samples at 2:1 is lowpass_filter_width * 2 / 0.96.
        ratio = max(in_rate, s["rate"]) / min(in_rate, s["rate"])
        self.resample = {} if fast_resample else {
            "lowpass_filter_width": max(6, round(126 * 0.96 / ratio)), "rolloff": 0.96,
            "resampling_method": "kaiser_window", "beta": 0.1102 * (80 - 8.7)}
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=s["rate"], n_fft=s["n_fft"], hop_length=s["hop"], n_mels=s["n_mels"],
            f_min=s["fmin"], f_max=s["fmax"], center=False, norm="slaney", mel_scale="slaney",
            power=2.0, window_fn=torch.hann_window)
        self.dct = torchaudio.functional.create_dct(s["n_coeffs"], s["n_mels"], "ortho")
        torch.manual_seed(0)
        n_inputs = s["n_coeffs"] * (2 if s["deltas"] else 1)
        self.gru = torch.nn.GRU(n_inputs, s["hidden"], s["layers"], batch_first=True).eval()
        self.fc = torch.nn.Linear(s["hidden"], s["labels"]).eval()
        self.mean = torch.zeros(n_inputs)
        self.std = torch.ones(n_inputs)
        self.pending = torch.zeros(0)  # model-rate samples not yet in a frame
        self.frames = []               # MFCC frames, n_coeffs each, kept for windows
        self.n_frames = 0
        self.hop_samples = round(hop_s * s["rate"])
        # Like daemon/pipeline.c: the first window when 126 frames exist,
        # then one each time a frame ends at or past the next due sample.
        self.next_due = (s["frames"] - 1) * s["hop"] + s["n_fft"]
        self.due_ends = []             # frame index each window ends at
        self.windows = 0
        self.t = {"decode": 0.0, "resample": 0.0, "mfcc": 0.0, "gru": 0.0}

    def feed(self, pcm16, channels):
        t0 = time.process_time()
        x = torch.from_numpy(pcm16.astype(np.float32) / 32768.0).view(-1, channels).mean(dim=1)
        t1 = time.process_time()
        y = torchaudio.functional.resample(x, self.in_rate, self.s["rate"], **self.resample)
        t2 = time.process_time()
        buf = torch.cat([self.pending, y])
        n = (len(buf) - self.s["n_fft"]) // self.s["hop"] + 1 if len(buf) >= self.s["n_fft"] else 0
        if n > 0:
            S = self.mel(buf[:(n - 1) * self.s["hop"] + self.s["n_fft"]])  # n_mels x n
            mfcc = (10.0 * torch.log10(torch.clamp(S, min=1e-10))).T @ self.dct  # n x n_coeffs
            self.frames.append(mfcc)
            self.pending = buf[n * self.s["hop"]:]
            for k in range(self.n_frames, self.n_frames + n):
                end = k * self.s["hop"] + self.s["n_fft"]
                if end >= self.next_due:
                    self.due_ends.append(k)
                    while self.next_due <= end:
                        self.next_due += self.hop_samples
            self.n_frames += n
        else:
            self.pending = buf
        t3 = time.process_time()
        self.t["decode"] += t1 - t0
        self.t["resample"] += t2 - t1
        self.t["mfcc"] += t3 - t2
        self.classify(final=False)

    def classify(self, final):
        """Runs every due window in batches of self.batch (all at the end)."""
        if not self.due_ends or (len(self.due_ends) < self.batch and not final):
            return
        t0 = time.process_time()
        feats = torch.cat(self.frames)
        base = self.n_frames - len(feats)  # global index of feats[0]
        W = self.s["frames"]
        while self.due_ends and (final or len(self.due_ends) >= self.batch):
            ends = self.due_ends[:self.batch]
            del self.due_ends[:self.batch]
            idx = torch.tensor(ends)[:, None] - base - (W - 1) + torch.arange(W)[None, :]
            x = feats[idx]  # batch x W x n_coeffs
            if self.s["deltas"]:  # over each window's frames (time is the last axis)
                d = torchaudio.functional.compute_deltas(x.transpose(1, 2), 5, "replicate")
                x = torch.cat([x, d.transpose(1, 2)], dim=2)
            x = (x - self.mean) / self.std
            with torch.inference_mode():
                h, _ = self.gru(x)
                p = h.mean(dim=1) if self.s["pool"] == "mean" else h[:, -1]
                torch.softmax(self.fc(p), dim=1)
            self.windows += len(ends)
        # Keep only the frames a later window can still need.
        first = (self.due_ends[0] if self.due_ends else self.n_frames) - (W - 1)
        self.frames = [feats[max(0, first - base):]]
        self.t["gru"] += time.process_time() - t0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("wav")
    p.add_argument("--info", default="build/bin/genre-model-info",
                   help="genre-model-info binary (its built-in model sets the sizes)")
    p.add_argument("--model", default=None,
                   help="model file whose sizes to use (default: genre-model-info's built-in one)")
    p.add_argument("--hop", type=float, default=0.5)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--block", type=float, default=10.0, help="seconds of audio per read")
    p.add_argument("--fast-resample", action="store_true",
                   help="torchaudio's default (shorter, weaker) resampling filter")
    a = p.parse_args()
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    sizes = model_sizes(a.info, a.model)
    with wave.open(a.wav) as w:
        if w.getsampwidth() != 2:
            raise SystemExit("pipeline_torch: %s: 16-bit WAV only" % a.wav)
        pipe = Pipeline(sizes, w.getframerate(), a.hop, a.batch, a.fast_resample)
        block = int(a.block * w.getframerate())
        c0, w0 = time.process_time(), time.monotonic()
        while True:
            t0 = time.process_time()
            raw = w.readframes(block)
            if not raw:
                break
            pcm = np.frombuffer(raw, dtype="<i2")
            pipe.t["decode"] += time.process_time() - t0
            pipe.feed(pcm, w.getnchannels())
        pipe.classify(final=True)
        cpu, wall = time.process_time() - c0, time.monotonic() - w0
    print(json.dumps({"resample": pipe.resample or "torchaudio default", "windows": pipe.windows, "frames": pipe.n_frames, "cpu_s": cpu,
                      "wall_s": wall, "stages_cpu_s": pipe.t, "sizes": sizes,
                      "torch": torch.__version__, "torchaudio": torchaudio.__version__}))


if __name__ == "__main__":
    main()
