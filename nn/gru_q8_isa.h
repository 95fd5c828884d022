/* gru_q8_isa: gru_q8's tables, one per instruction set (internal to
 * nn/gru_q8*.c). gru_q8.c holds the portable one and picks one;
 * gru_q8_avx.c and gru_q8_neon.c, each built for its architecture only,
 * hold the others. Every table gives the same integer sums; float results
 * differ between tables only by rounding (FMA or not), and within a table
 * the matrix product treats each vector exactly as a product with that
 * vector alone, so a batch of states gives bit for bit what one at a time
 * does. */
#ifndef GENRED_GRU_Q8_ISA_H
#define GENRED_GRU_Q8_ISA_H

#include "gru_gates.h"
#include "gru_q8.h"

#include <math.h>
#include <stdint.h>

extern const gru_q8_ops gru_q8_ops_portable;
#ifdef SIMD_ARCH_X86
extern const gru_q8_ops gru_q8_ops_avx2, gru_q8_ops_avx512vnni;
#endif
#ifdef SIMD_ARCH_ARM64
extern const gru_q8_ops gru_q8_ops_neon;
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
    /* Fixed-length blocks, meant for the vectoriser; gcc 12 does not take
     * them (scalar code at -O2 and -O3 for the x86-64 baseline), which is
     * why the portable table is 20-60x slower than AVX2's (bench_gru). */
    for (unsigned c = 0; c < cols_pad; c += 32)
        for (unsigned k = 0; k < 32; k++)
            acc += row[c + k] * q[c + k];
    return acc;
}

#endif
