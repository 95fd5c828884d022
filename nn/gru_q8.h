/* gru_q8: the int8 GRU kernel (gru_kernel.h).
 *
 * Weights are int8 with one float scale per output row (the model's Q8
 * layers). Each input frame and each state vector is quantised to int8 with
 * its own scale (max|v| / 127) right before its matrix product, so products
 * are exact integer sums scaled once per row. Gates use a rational tanh
 * approximation (|error| < 1e-6) instead of libm.
 *
 * One table per instruction set: AVX-512 VNNI and AVX2+FMA
 * (gru_q8_avx.c), NEON (gru_q8_neon.c) and portable C (gru_q8.c). All give
 * the same integer sums and float results within rounding (VNNI and AVX2
 * bit for bit with each other, NEON with portable C). A batch of states
 * reads the weights once per frame; each state gets bit for bit what it
 * would get alone. */
#ifndef GENRED_GRU_Q8_H
#define GENRED_GRU_Q8_H

#include "gru_kernel.h"
#include "simd.h"

#include <stdint.h>

/* One instruction set's kernels (dsp/simd.h's dispatch shape). */
typedef struct {
    const char *name; /* "portable", "avx2", "avx512vnni", "neon" */
    /* q = round(x * 127 / max|x|), zero when x is; returns the scale max|x| / 127. */
    float (*quantize)(const float *x, unsigned n, int8_t *q);
    /* For each of n vectors q[k] (cols_pad bytes, zero padded):
     * y[k * rows + r] = sum_c w[r][c] q[k][c] * (row_scale[r] * q_scale[k]) + bias[r].
     * row_sum[r] = sum_c w[r][c], for tables that offset the vectors. */
    void (*matmul)(const int8_t *w, const int32_t *row_sum, unsigned rows, unsigned cols_pad,
                   const int8_t *q, unsigned n, const float *q_scale, const float *row_scale,
                   const float *bias, float *y);
    /* h = GRU update from xg = W_ih x + b_ih and hg = W_hh h + b_hh (3H each). */
    void (*gates)(const float *xg, const float *hg, float *h, unsigned hidden);
} gru_q8_ops;

/* The table for the best level at or below `level` this CPU runs that
 * has one (AVX-512 without VNNI takes AVX2's); gru_q8_ops_get: for
 * simd_level_get(). */
const gru_q8_ops *gru_q8_ops_for(simd_level level);
const gru_q8_ops *gru_q8_ops_get(void);

/* The kernel for MODEL_WEIGHTS_Q8 GRU layers (q in -127..127). */
extern const gru_kernel_ops gru_q8_kernel;

#endif
