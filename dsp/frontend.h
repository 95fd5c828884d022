/* frontend: everything between raw audio and the classifier's input.
 *
 * Interleaved audio at the source's rate and channel count goes in; it is
 * mixed to mono and resampled (resampler), cut into MFCC frames (mfcc), and
 * the newest window_seconds of frames are kept (mfcc_window). The daemon, the
 * trainer and every tool use this one object, so features are computed the
 * same way everywhere. */
#ifndef GENRED_FRONTEND_H
#define GENRED_FRONTEND_H

#include "mfcc.h"

#include <stddef.h>
#include <stdint.h>

/* What a classifier's input is made from: the MFCC definition and the
 * window length. A model file carries one (nn/model.h), and every program
 * builds its front end from it, so training and serving cannot drift. */
typedef struct {
    mfcc_params mfcc;
    double window_seconds; /* the classifier's window, seconds of audio */
} frontend_params;

/* Frames in a window: mfcc_window_frames of window_seconds at the MFCC
 * framing (126 for 3 s at the defaults); 0 when shorter than one frame. */
unsigned frontend_params_window_frames(const frontend_params *p);
/* 1 when a and b would compute the same features (field by field). */
int frontend_params_equal(const frontend_params *a, const frontend_params *b);

/* The window/hop rule every program follows (genred's hops, genre-eval,
 * genre-classify and genre-train's windows over a clip): over a stream of
 * MFCC frames, the first window is due when the window first fills; after
 * that, one is due at the first frame ending at or after each further `hop`
 * model-rate samples, so a hop that is not a whole number of frames keeps
 * its average rate (hops shorter than a frame: a window every frame).
 * Stated on a window's first frame s: due when s = 0 or a multiple of hop
 * lies in ((s - 1) * frame_hop, s * frame_hop]. */
/* hop_seconds at the model rate, rounded, at least 1 sample. */
uint64_t frontend_hop_samples(const frontend_params *p, double hop_seconds);
/* 1 when the window whose first frame is `frame` will be due. */
int frontend_window_starts_at(const frontend_params *p, uint64_t hop_samples, uint64_t frame);
/* First frame of the i-th due window (i from 0). */
uint64_t frontend_window_start(const frontend_params *p, uint64_t hop_samples, uint64_t i);
/* The most due windows that share a frame: windows live at once for a
 * consumer that follows each from its first frame to its last. */
unsigned frontend_windows_live(const frontend_params *p, uint64_t hop_samples);

typedef struct frontend frontend_t;

/* NULL with a one-line reason in err on bad parameters. */
frontend_t *frontend_create(const frontend_params *params, double in_rate, unsigned channels,
                            char *err, size_t err_len);
void frontend_destroy(frontend_t *fe);

/* The classification hop (the rule above); until set, a window is due at
 * every frame once the window is full. Takes effect from the next frame. */
void frontend_set_hop(frontend_t *fe, double hop_seconds);

/* frontend_process's result: bits of what the frame just completed did. */
enum {
    FRONTEND_FRAME = 1,        /* a new frame entered the window */
    FRONTEND_WINDOW_DUE = 2,   /* the window now held is due for classification */
    FRONTEND_WINDOW_START = 4, /* the new frame is the first of a window that will be due */
};

/* Consumes up to `frames` interleaved input frames, stopping right after an
 * MFCC frame completes. Returns FRONTEND_* bits (non-zero) when a new frame
 * entered the window, 0 when all input was used. *consumed tells how many
 * input frames were taken. Typical loop:
 *   while (frames) {
 *       size_t used; int got = frontend_process(fe, in, frames, &used);
 *       in += used * channels; frames -= used;
 *       if (got & FRONTEND_WINDOW_DUE) classify(frontend_window(fe));
 *   } */
int frontend_process(frontend_t *fe, const float *in, size_t frames, size_t *consumed);

/* Window geometry and contents: n_frames x n_coeffs, oldest first. */
unsigned frontend_window_frames(const frontend_t *fe);
unsigned frontend_coeffs(const frontend_t *fe);
int frontend_window_full(const frontend_t *fe);
/* The newest frame (n_coeffs values); valid until the next process. */
const float *frontend_newest_frame(const frontend_t *fe);
const float *frontend_window(const frontend_t *fe);

/* MFCC frames produced since create/reset; frame k ends at model-rate
 * sample k * hop + n_fft. */
uint64_t frontend_frame_count(const frontend_t *fe);
/* Model-rate sample at which the newest frame ends (0 before the first). */
uint64_t frontend_frame_end(const frontend_t *fe);
/* Model-rate samples the resampler has still to produce before the next
 * window is due (0 when it has them already). */
uint64_t frontend_samples_to_due(const frontend_t *fe);
/* Input frames still to come before the next window is due: what the
 * resampler needs to produce frontend_samples_to_due, exactly, so a caller
 * that waits for this much is woken by the block that completes the
 * window, once. */
uint64_t frontend_input_to_due(const frontend_t *fe);
/* RMS level of the audio covered by the window about its mean (so a DC
 * offset alone reads as silence), dBFS (-inf..0, floored at -200). */
double frontend_level_dbfs(const frontend_t *fe);
/* Non-finite input samples replaced by 0 so far. */
uint64_t frontend_nonfinite_count(const frontend_t *fe);
const mfcc_params *frontend_mfcc_params(const frontend_t *fe);

void frontend_reset(frontend_t *fe);

#endif
