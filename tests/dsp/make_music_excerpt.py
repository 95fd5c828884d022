#!/usr/bin/python3
"""Cuts the music fixture tests/data/music_excerpt.wav (6 s, 22050 Hz mono,
16-bit) from Debian's pathological package (GPL-2+, see tests/data/README.md).

    apt-get download pathological && dpkg-deb -x pathological_*.deb /tmp/p
    /usr/bin/python3 tests/dsp/make_music_excerpt.py \
        /tmp/p/usr/share/games/pathological/music/background.ogg

Resampling uses scipy's polyphase resampler, independent of ours."""
import sys
from pathlib import Path

import numpy as np
import scipy.io.wavfile
import scipy.signal
import torchaudio

OFFSET_S, LENGTH_S, RATE = 60.0, 6.0, 22050

audio, rate = torchaudio.load(sys.argv[1])
mono = audio.double().mean(dim=0).numpy()
start = int(OFFSET_S * rate)
clip = mono[start:start + int((LENGTH_S + 1) * rate)]
clip = scipy.signal.resample_poly(clip, RATE, rate)[: int(LENGTH_S * RATE)]
pcm = np.clip(np.round(clip * 32767.0), -32768, 32767).astype(np.int16)
out = Path(__file__).resolve().parents[1] / "data" / "music_excerpt.wav"
scipy.io.wavfile.write(out, RATE, pcm)
print(f"{out}: {len(pcm)} samples, peak {np.abs(pcm).max() / 32768:.3f}")
