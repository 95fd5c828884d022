/* vec: float vector kernels for the resampler and the MFCC, with one
 * table of implementations per instruction set (see simd.h).
 *
 * A caller takes a table once, when its object is created, and calls
 * through it in its processing path. Every table computes the same sums;
 * only the rounding differs (accumulation order, FMA). */
#ifndef GENRED_VEC_H
#define GENRED_VEC_H

#include "simd.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name; /* the level's name (simd.h): "portable", "avx2", ... */
    /* sum over i < n of a[i] b[i] */
    float (*dot)(const float *a, const float *b, size_t n);
    /* sum over i < n of g[i] (a[i] + b[i]): a symmetric filter's taps
     * folded, a and b the inputs that share tap g[i]. */
    float (*dot_sum)(const float *a, const float *b, const float *g, size_t n);
    /* y[i] = a[i] b[i], i < n */
    void (*mul)(const float *a, const float *b, float *y, size_t n);
    /* y[i] = z[2i]^2 + z[2i+1]^2, i < n: |z|^2 of interleaved complex values */
    void (*norm2)(const float *z, float *y, size_t n);
    /* mono[i] = mean over c < channels of in[i * channels + c], i < frames,
     * each sample first through sample_sanitize (sample.h), which counts
     * NaN/Inf in *nonfinite: the same floats as that loop on every path. */
    void (*mix)(const float *in, size_t frames, unsigned channels, float *mono,
                uint64_t *nonfinite);
} vec_ops;

/* The table for the best level at or below `level` that this CPU runs
 * (simd_level_best) and that has one. */
const vec_ops *vec_ops_for(simd_level level);

/* vec_ops_for(simd_level_get()). */
const vec_ops *vec_ops_get(void);

#endif
