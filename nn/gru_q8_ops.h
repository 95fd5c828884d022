/* gru_q8_ops: the int8 GRU's kernel paths, one table each (internal to
 * gru_q8). A path is three steps; gru_q8.c picks one from the level
 * dsp/simd.h gives, once per kernel at create time. Adding a path means one
 * table in its own file and one case in gru_q8.c's choose_ops. Every path gives the same integer
 * sums; float results differ between paths only by rounding (FMA or not), and within a path the
 * matrix product treats each vector exactly as a product with that vector
 * alone, so a batch of states gives bit for bit what one at a time does. */
#ifndef GENRED_GRU_Q8_OPS_H
#define GENRED_GRU_Q8_OPS_H

#include "gru_gates.h"

#include <math.h>
#include <stdint.h>

typedef struct {
    const char *name;
    /* q = round(x * 127 / max|x|), zero when x is; returns the scale max|x| / 127. */
    float (*quantize)(const float *x, unsigned n, int8_t *q);
    /* For each of n vectors q[k] (cols_pad bytes, zero padded):
     * y[k * rows + r] = sum_c w[r][c] q[k][c] * (row_scale[r] * q_scale[k]) + bias[r].
     * row_sum[r] = sum_c w[r][c], for paths that offset the vectors. */
    void (*matmul)(const int8_t *w, const int32_t *row_sum, unsigned rows, unsigned cols_pad,
                   const int8_t *q, unsigned n, const float *q_scale, const float *row_scale,
                   const float *bias, float *y);
    /* h = GRU update from xg = W_ih x + b_ih and hg = W_hh h + b_hh (3H each). */
    void (*gates)(const float *xg, const float *hg, float *h, unsigned hidden);
} q8_ops;

extern const q8_ops q8_ops_c;
#if defined(__x86_64__) || defined(__i386__)
#define GRU_Q8_X86 1
extern const q8_ops q8_ops_avx2, q8_ops_avx512vnni;
/* Whether this CPU has AVX-512 VNNI: more than dsp/simd.h's AVX-512 level. */
int q8_vnni_usable(void);
#endif
#ifdef __aarch64__
#define GRU_Q8_NEON 1
extern const q8_ops q8_ops_neon; /* gru_q8_neon.c */
#endif

/* Round half to even, as cvtps2dq does; exact for |v| < 2^22. Clamped so
 * that no input, even NaN or Inf from absurd weights, reaches an undefined
 * float-to-int conversion; NaN becomes -127 on every path. */
static inline int8_t q8_quantize_one(float v)
{
    const float magic = 12582912.0f; /* 1.5 * 2^23 */
    v = fminf(127, fmaxf(v, -127));
    return (int8_t)((v + magic) - magic);
}

/* The exact integer dot product of one padded row with one vector. */
static inline int32_t q8_dot(const int8_t *row, const int8_t *q, unsigned cols_pad)
{
    int32_t acc = 0;
    /* Fixed-length blocks: the compiler vectorises these. */
    for (unsigned c = 0; c < cols_pad; c += 32)
        for (unsigned k = 0; k < 32; k++)
            acc += row[c + k] * q[c + k];
    return acc;
}

#endif
