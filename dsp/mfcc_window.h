/* mfcc_window: the newest n_frames MFCC frames, handed out as one
 * contiguous oldest-first matrix (n_frames x n_coeffs, row-major) without
 * copying on read. */
#ifndef GENRED_MFCC_WINDOW_H
#define GENRED_MFCC_WINDOW_H

#include <stddef.h>

typedef struct mfcc_window mfcc_window_t;

mfcc_window_t *mfcc_window_create(unsigned n_frames, unsigned n_coeffs);
void mfcc_window_destroy(mfcc_window_t *w);

void mfcc_window_push(mfcc_window_t *w, const float *frame);
/* Frames held so far, at most n_frames. */
unsigned mfcc_window_count(const mfcc_window_t *w);
/* Oldest-first view of the held frames; valid until the next push. */
const float *mfcc_window_view(const mfcc_window_t *w);
void mfcc_window_reset(mfcc_window_t *w);

/* Frames in a window of `seconds` at the given rate and framing:
 * 1 + (round(seconds * rate) - n_fft) / hop, e.g. 126 for 3 s at the defaults;
 * 0 when the window is shorter than one frame. */
unsigned mfcc_window_frames(double seconds, double sample_rate, unsigned n_fft, unsigned hop);

#endif
