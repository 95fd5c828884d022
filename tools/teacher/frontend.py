"""Audio decoding and the teachers' mel front ends, as the teachers README
(../shared/teachers/README.md) describes them: 16 kHz mono, STFT n_fft 512,
hop 256, Hann, 96 mel bands 0..8 kHz of the power spectrum, centred frames
with reflect padding."""
import numpy as np
import soundfile
import torch
from scipy.signal import resample_poly

RATE = 16000
N_FFT = 512
HOP = 256
N_MELS = 96


def load_audio(path):
    """Mono float32 at 16 kHz. libsndfile decodes (its MP3 decoder delay is
    what the reference outputs were made with); other rates go through a
    polyphase resampler with a long Kaiser filter."""
    audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    if rate != RATE:
        g = np.gcd(rate, RATE)
        audio = resample_poly(audio.astype(np.float64), RATE // g, rate // g,
                              window=("kaiser", 8.0)).astype(np.float32)
    return audio


def _hz_to_mel_slaney(f):
    f = np.asarray(f, dtype=np.float64)
    lin = f / (200.0 / 3)
    log_step = np.log(6.4) / 27.0
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-9) / 1000.0) / log_step, lin)


def _mel_to_hz_slaney(m):
    m = np.asarray(m, dtype=np.float64)
    log_step = np.log(6.4) / 27.0
    return np.where(m >= 15.0, 1000.0 * np.exp(log_step * (m - 15.0)), m * 200.0 / 3)


def slaney_filterbank():
    """96 x 257 triangular filters on the Slaney mel scale, each scaled to
    unit area (2 / bandwidth in Hz), as librosa's default filters."""
    edges = _mel_to_hz_slaney(np.linspace(_hz_to_mel_slaney(0.0),
                                          _hz_to_mel_slaney(RATE / 2), N_MELS + 2))
    freqs = np.linspace(0, RATE / 2, N_FFT // 2 + 1)
    width = np.diff(edges)
    ramps = edges[:, None] - freqs[None, :]
    fb = np.zeros((N_MELS, freqs.size), dtype=np.float32)
    for i in range(N_MELS):
        rising = -ramps[i] / width[i]
        falling = ramps[i + 2] / width[i + 1]
        fb[i] = np.maximum(0, np.minimum(rising, falling))
    fb *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return fb


def power_spectrogram(audio, window):
    """|STFT|^2, (257, frames), frame i centred on sample i * 256."""
    x = torch.from_numpy(np.ascontiguousarray(audio))
    spec = torch.stft(x, N_FFT, hop_length=HOP, win_length=N_FFT, window=window,
                      center=True, pad_mode="reflect", return_complex=True)
    return spec.abs() ** 2


_SLANEY = None


def keras_logmel(audio):
    """The .h5 MusiCNNs' input, (frames, 96): Slaney mel power rounded to
    float16, then log10(1 + 10000 x) in float16 as the authors' numpy code
    does (a float16 array times a Python scalar stays float16)."""
    global _SLANEY
    if _SLANEY is None:
        _SLANEY = torch.from_numpy(slaney_filterbank())
    window = torch.hann_window(N_FFT, periodic=True)
    power = power_spectrogram(audio, window)
    mel = (_SLANEY @ power).numpy().T.astype(np.float16)
    return np.log10(10000 * mel + 1).astype(np.float32)


def torch_db_mel(audio, fb, window):
    """The .pth models' input, (96, frames): the stored filterbank (257 x 96)
    on the power spectrum, then 10 log10 with a 1e-10 floor."""
    power = power_spectrogram(audio, window)
    mel = fb.t() @ power
    return 10.0 * torch.log10(torch.clamp(mel, min=1e-10))
