/* gru_f32: the float32 GRU kernel (gru_kernel.h), exactly as PyTorch's
 * nn.GRU computes it (gates r, z, n; b_hn inside r * (W_hn h + b_hn);
 * h' = (1 - z) * n + z * h). Portable C with libm's expf/tanhf is the
 * reference; AVX2+FMA, AVX-512 and NEON tables (gru_f32_avx.c,
 * gru_f32_neon.c) repack the weights and use tanh_fast's gates. */
#ifndef GENRED_GRU_F32_H
#define GENRED_GRU_F32_H

#include "gru_kernel.h"
#include "simd.h"

/* One instruction set's kernels (dsp/simd.h's dispatch shape). */
typedef struct {
    const char *name; /* "portable", "avx2", "avx512", "neon" */
    /* y[r] = b[r] + sum_c w[r][c] x[c] for r < rows (w as this table packed
     * it, rows_pad rows); nothing is written past y[rows - 1] */
    void (*matvec)(const float *w, const float *b, unsigned rows_pad, unsigned rows, unsigned cols,
                   const float *x, float *y);
    /* h = GRU update of h from xg = W_ih x + b_ih and hg = W_hh h + b_hh */
    void (*gates)(const float *xg, const float *hg, float *h, unsigned hidden);
    /* w (rows x cols, row-major) into this table's layout, rows padded */
    void (*pack)(const float *w, unsigned rows, unsigned cols, float *out);
} gru_f32_ops;

/* The table for the best level at or below `level` this CPU runs that
 * has one; gru_f32_ops_get: for simd_level_get(). */
const gru_f32_ops *gru_f32_ops_for(simd_level level);
const gru_f32_ops *gru_f32_ops_get(void);

/* The kernel for MODEL_WEIGHTS_F32 GRU layers. */
extern const gru_kernel_ops gru_f32_kernel;

#endif
