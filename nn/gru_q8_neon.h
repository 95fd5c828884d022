/* gru_q8_neon: the int8 GRU kernel's three steps (quantize, matvec, gates;
 * see gru_q8.c) with AArch64 NEON, chosen by gru_q8's dispatch.
 *
 * NEON (Advanced SIMD) is part of every ARMv8-A core, so there is no run-time
 * check. Only base ARMv8.0 instructions: the Raspberry Pi 4's Cortex-A72 has
 * no SDOT. Each step gives the portable path's results bit for bit: the same
 * exact integer sums, and the same float operations in the same order with
 * no fused multiply-add (the portable path is built with ISO C's
 * -ffp-contract=off, gcc's default for -std=c11). Built for aarch64 only. */
#ifndef GENRED_GRU_Q8_NEON_H
#define GENRED_GRU_Q8_NEON_H

#include <stdint.h>

/* q[0..n) = x quantised with scale max|x| / 127, which is returned. */
float gru_q8_neon_quantize(const float *x, unsigned n, int8_t *q);

/* y = (w q) * row_scale * q_scale + bias for w rows x cols_pad (a multiple of 32). */
void gru_q8_neon_matvec(const int8_t *w, unsigned rows, unsigned cols_pad, const int8_t *q,
                        float q_scale, const float *row_scale, const float *bias, float *y);

/* The GRU update of h (hidden values) from the input and state gate rows. */
void gru_q8_neon_gates(const float *xg, const float *hg, float *h, unsigned hidden);

#endif
