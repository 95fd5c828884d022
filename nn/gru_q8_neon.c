/* gru_q8_neon: the int8 GRU's AArch64 table (gru_q8_isa.h).
 *
 * NEON (Advanced SIMD) is part of every ARMv8-A core, so the path is always
 * usable there. Only base ARMv8.0 instructions: the Raspberry Pi 4's
 * Cortex-A72 has no SDOT. Each step gives the portable path's results bit
 * for bit: the same exact integer sums, and the same float operations in the
 * same order with no fused multiply-add (both files are built with
 * -ffp-contract=off, nn/CMakeLists.txt). Built for aarch64 only. */
#include "gru_q8_isa.h"

#include <arm_neon.h>
#include <string.h>

/* ---- quantize ---- */

/* maxNum (vmaxnm) ignores a NaN operand, as fmaxf does. */
static float abs_max(const float *x, unsigned n)
{
    float32x4_t m = vdupq_n_f32(0);
    unsigned i = 0;
    for (; i + 4 <= n; i += 4)
        m = vmaxnmq_f32(m, vabsq_f32(vld1q_f32(x + i)));
    float tail[4] = {0};
    memcpy(tail, x + i, (n - i) * sizeof *x);
    return vmaxnmvq_f32(vmaxnmq_f32(m, vabsq_f32(vld1q_f32(tail))));
}

/* The portable quantize_one: clamped by maxNum/minNum as by fmaxf/fminf (so
 * NaN becomes -127), then rounded half to even (vcvtn). */
static int32x4_t quantize4(const float *x, float32x4_t inv)
{
    float32x4_t v = vmaxnmq_f32(vmulq_f32(vld1q_f32(x), inv), vdupq_n_f32(-127));
    return vcvtnq_s32_f32(vminnmq_f32(v, vdupq_n_f32(127)));
}

/* Values are within -127..127, so plain narrowing is exact. */
static int8x8_t quantize8(const float *x, float32x4_t inv)
{
    int16x8_t h = vcombine_s16(vmovn_s32(quantize4(x, inv)), vmovn_s32(quantize4(x + 4, inv)));
    return vmovn_s16(h);
}

static float quantize_neon(const float *x, unsigned n, int8_t *q)
{
    float max = abs_max(x, n);
    if (!(max > 0)) {
        memset(q, 0, n);
        return 0;
    }
    const float32x4_t inv = vdupq_n_f32(127.0f / max);
    unsigned i = 0;
    for (; i + 8 <= n; i += 8)
        vst1_s8(q + i, quantize8(x + i, inv));
    if (i < n) {
        /* The last few through zero-padded copies: 0 quantises to 0. */
        float tail[8] = {0};
        int8_t out[8];
        memcpy(tail, x + i, (n - i) * sizeof *x);
        vst1_s8(out, quantize8(tail, inv));
        memcpy(q + i, out, n - i);
    }
    return max / 127.0f;
}

/* ---- matvec ---- */

/* acc += the 16 products w[k] * a[k], pairwise: one int16 lane holds two
 * products, at most 2 * 127 * 127, so it cannot overflow. */
static inline int32x4_t dot16(int32x4_t acc, int8x16_t a, const int8_t *w)
{
    int8x16_t wv = vld1q_s8(w);
    int16x8_t p = vmull_s8(vget_low_s8(wv), vget_low_s8(a));
    p = vmlal_high_s8(p, wv, a); /* SMLAL2: no move of the high halves */
    return vpadalq_s16(acc, p);
}

/* Four rows at a time, so each load of q serves four rows; the four sums
 * are named, not an array, so that gcc keeps them in registers (an array
 * went through the stack on every step: half the speed). cols_pad is a
 * multiple of 32 (gru_q8.c), so each step takes 32 columns. */
static int32x4_t row_sums4(const int8_t *w, unsigned cols_pad, const int8_t *q)
{
    const int8_t *w1 = w + cols_pad, *w2 = w1 + cols_pad, *w3 = w2 + cols_pad;
    int32x4_t a0 = vdupq_n_s32(0), a1 = a0, a2 = a0, a3 = a0;
    for (unsigned c = 0; c < cols_pad; c += 32) {
        int8x16_t x = vld1q_s8(q + c), y = vld1q_s8(q + c + 16);
        a0 = dot16(dot16(a0, x, w + c), y, w + c + 16);
        a1 = dot16(dot16(a1, x, w1 + c), y, w1 + c + 16);
        a2 = dot16(dot16(a2, x, w2 + c), y, w2 + c + 16);
        a3 = dot16(dot16(a3, x, w3 + c), y, w3 + c + 16);
    }
    return vpaddq_s32(vpaddq_s32(a0, a1), vpaddq_s32(a2, a3));
}

static int32_t row_sum(const int8_t *w, unsigned cols_pad, const int8_t *q)
{
    int32x4_t acc = vdupq_n_s32(0);
    for (unsigned c = 0; c < cols_pad; c += 16)
        acc = dot16(acc, vld1q_s8(q + c), w + c);
    return vaddvq_s32(acc);
}

/* y = (w q) * row_scale * q_scale + bias for one vector q. */
static void matvec(const int8_t *w, unsigned rows, unsigned cols_pad, const int8_t *q,
                   float q_scale, const float *row_scale, const float *bias, float *y)
{
    const float32x4_t qs = vdupq_n_f32(q_scale);
    unsigned r = 0;
    for (; r + 4 <= rows; r += 4) {
        float32x4_t sum = vcvtq_f32_s32(row_sums4(w + (size_t)r * cols_pad, cols_pad, q));
        float32x4_t scale = vmulq_f32(vld1q_f32(row_scale + r), qs);
        vst1q_f32(y + r, vaddq_f32(vmulq_f32(sum, scale), vld1q_f32(bias + r)));
    }
    for (; r < rows; r++) {
        int32_t sum = row_sum(w + (size_t)r * cols_pad, cols_pad, q);
        y[r] = (float)sum * (row_scale[r] * q_scale) + bias[r];
    }
}

/* Each vector on its own, so a batch gives what one at a time does. */
static void matmul_neon(const int8_t *w, const int32_t *row_sum, unsigned rows, unsigned cols_pad,
                        const int8_t *q, unsigned n, const float *q_scale, const float *row_scale,
                        const float *bias, float *y)
{
    (void)row_sum; /* for paths that offset the vectors; NEON multiplies signed */
    for (unsigned k = 0; k < n; k++)
        matvec(w, rows, cols_pad, q + (size_t)k * cols_pad, q_scale[k], row_scale, bias,
               y + (size_t)k * rows);
}

const gru_q8_ops gru_q8_ops_neon = {"neon", quantize_neon, matmul_neon, gru_gates_neon};
