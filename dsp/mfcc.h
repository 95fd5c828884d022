/* mfcc: streaming MFCC, one frame per completed hop.
 *
 * The definition (defaults in brackets), in torchaudio terms:
 * MelSpectrogram(n_fft, hop_length, n_mels, center=False, norm='slaney',
 * mel_scale='slaney', power=2, periodic Hann window), then
 * 10*log10(max(S, 1e-10)) without top_db clipping, then an orthonormal DCT-II
 * keeping n_coeffs. Frame k covers samples [k*hop, k*hop + n_fft). */
#ifndef GENRED_MFCC_H
#define GENRED_MFCC_H

#include "simd.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double sample_rate; /* [22050] */
    unsigned n_fft;     /* [2048] */
    unsigned hop;       /* [512] */
    unsigned n_mels;    /* [128] */
    unsigned n_coeffs;  /* [13] */
    double fmin;        /* [0] Hz */
    double fmax;        /* [sample_rate / 2] Hz; 0 means sample_rate / 2 */
} mfcc_params;

/* The defaults above. */
mfcc_params mfcc_params_default(void);

/* Returns NULL and writes a one-line reason naming the parameter to err when
 * a parameter is out of range. */
typedef struct mfcc mfcc_t;
mfcc_t *mfcc_create(const mfcc_params *params, char *err, size_t err_len);
/* The same on the kernels of `level` (vec_ops_for), for tests and
 * benchmarks comparing levels; mfcc_create takes simd_level_get(). */
mfcc_t *mfcc_create_at(const mfcc_params *params, simd_level level, char *err, size_t err_len);
void mfcc_destroy(mfcc_t *m);

/* Feeds up to n samples. Stops as soon as a frame completes: writes
 * n_coeffs values to frame and returns 1; otherwise returns 0 once all input
 * is consumed. *consumed says how many samples were taken. Callers loop:
 *   while (n) { m = mfcc_process(..., &used, frame); x += used; n -= used; ... }
 * NaN and Inf samples are replaced by 0 and counted. */
int mfcc_process(mfcc_t *m, const float *x, size_t n, size_t *consumed, float *frame);

uint64_t mfcc_nonfinite_count(const mfcc_t *m);
const mfcc_params *mfcc_get_params(const mfcc_t *m);
void mfcc_reset(mfcc_t *m);

#endif
