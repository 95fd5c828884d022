/* mfcc_window: every frame is written twice, at slot i and i + n_frames of
 * a 2 x n_frames buffer, so the newest n_frames are always one contiguous
 * oldest-first run and reading never copies. */
#include "mfcc_window.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct mfcc_window {
    unsigned n_frames, n_coeffs;
    unsigned next; /* slot the next frame goes to, < n_frames */
    unsigned count;
    float *buf; /* 2 x n_frames x n_coeffs */
};

mfcc_window_t *mfcc_window_create(unsigned n_frames, unsigned n_coeffs)
{
    if (!n_frames || !n_coeffs) return NULL;
    mfcc_window_t *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->n_frames = n_frames;
    w->n_coeffs = n_coeffs;
    w->buf = calloc((size_t)2 * n_frames * n_coeffs, sizeof *w->buf);
    if (!w->buf) {
        free(w);
        return NULL;
    }
    return w;
}

void mfcc_window_destroy(mfcc_window_t *w)
{
    if (!w) return;
    free(w->buf);
    free(w);
}

void mfcc_window_push(mfcc_window_t *w, const float *frame)
{
    size_t row = (size_t)w->n_coeffs * sizeof *frame;
    memcpy(w->buf + (size_t)w->next * w->n_coeffs, frame, row);
    memcpy(w->buf + (size_t)(w->next + w->n_frames) * w->n_coeffs, frame, row);
    w->next = (w->next + 1) % w->n_frames;
    if (w->count < w->n_frames) w->count++;
}

unsigned mfcc_window_count(const mfcc_window_t *w)
{
    return w->count;
}

const float *mfcc_window_view(const mfcc_window_t *w)
{
    /* Until the window fills, frames sit at slots 0..count-1. */
    if (w->count < w->n_frames) return w->buf;
    return w->buf + (size_t)w->next * w->n_coeffs;
}

void mfcc_window_reset(mfcc_window_t *w)
{
    w->next = 0;
    w->count = 0;
}

unsigned mfcc_window_frames(double seconds, double sample_rate, unsigned n_fft, unsigned hop)
{
    if (!(seconds > 0.0) || !(sample_rate > 0.0) || !hop) return 0;
    double samples = round(seconds * sample_rate);
    if (samples < n_fft || samples > 1e9) return 0;
    return 1 + (unsigned)(((uint64_t)samples - n_fft) / hop);
}
