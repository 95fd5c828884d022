/* gru_gates: the GRU state update from the two projections, with
 * tanh_fast's rational tanh (tanh_fast.h), shared by the int8 (gru_q8) and
 * float (gru_f32) vector kernels: one value at a time, eight at a time with
 * AVX2+FMA (lane by lane the same function), and four at a time with NEON
 * (bit for bit the one-value version, whose multiplies and adds must then
 * not be fused: gcc fuses none at -std=c11, and nn/CMakeLists.txt builds
 * the int8 kernel's portable and NEON files with -ffp-contract=off for
 * clang). The AVX2 functions carry their level's target attribute
 * (dsp/simd.h), so only a table chosen for that level calls them; NEON is
 * in every AArch64 core.
 *
 * xg = W_ih x + b_ih and hg = W_hh h + b_hh, gates r, z, n in that order
 * (H values each); h becomes n + z (h - n), PyTorch's (1 - z) n + z h. */
#ifndef GENRED_GRU_GATES_H
#define GENRED_GRU_GATES_H

#include "simd.h"
#include "tanh_fast.h"

static inline void gru_gate_one(const float *xg, const float *hg, float *h, unsigned H, unsigned j)
{
    float r = sigmoid_fast(xg[j] + hg[j]);
    float z = sigmoid_fast(xg[H + j] + hg[H + j]);
    float c = tanh_fast(xg[2 * H + j] + r * hg[2 * H + j]);
    h[j] = c + z * (h[j] - c);
}

#ifdef SIMD_ARCH_X86
#include <immintrin.h>

SIMD_TARGET_AVX2 static inline __m256 tanh8(__m256 x)
{
    x = _mm256_min_ps(_mm256_set1_ps(TANH_CLAMP), _mm256_max_ps(_mm256_set1_ps(-TANH_CLAMP), x));
    __m256 x2 = _mm256_mul_ps(x, x);
    __m256 p = _mm256_fmadd_ps(x2, _mm256_set1_ps(TANH_A13), _mm256_set1_ps(TANH_A11));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(TANH_A9));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(TANH_A7));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(TANH_A5));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(TANH_A3));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(TANH_A1));
    __m256 q = _mm256_fmadd_ps(x2, _mm256_set1_ps(TANH_B6), _mm256_set1_ps(TANH_B4));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(TANH_B2));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(TANH_B0));
    return _mm256_div_ps(_mm256_mul_ps(x, p), q);
}

SIMD_TARGET_AVX2 static inline __m256 sigmoid8(__m256 x)
{
    const __m256 half = _mm256_set1_ps(0.5f);
    return _mm256_fmadd_ps(tanh8(_mm256_mul_ps(half, x)), half, half);
}

SIMD_TARGET_AVX2 static inline void gru_gates_avx2(const float *xg, const float *hg, float *h,
                                                   unsigned H)
{
    unsigned j = 0;
    for (; j + 8 <= H; j += 8) {
        __m256 r = sigmoid8(_mm256_add_ps(_mm256_loadu_ps(xg + j), _mm256_loadu_ps(hg + j)));
        __m256 z =
            sigmoid8(_mm256_add_ps(_mm256_loadu_ps(xg + H + j), _mm256_loadu_ps(hg + H + j)));
        __m256 c = tanh8(
            _mm256_fmadd_ps(r, _mm256_loadu_ps(hg + 2 * H + j), _mm256_loadu_ps(xg + 2 * H + j)));
        __m256 hv = _mm256_loadu_ps(h + j);
        _mm256_storeu_ps(h + j, _mm256_fmadd_ps(z, _mm256_sub_ps(hv, c), c));
    }
    for (; j < H; j++)
        gru_gate_one(xg, hg, h, H, j);
}
#endif

#ifdef SIMD_ARCH_ARM64
#include <arm_neon.h>
#include <string.h>

/* tanh_fast lane by lane, in its order of operations. FMAX/FMIN (not the
 * maxNum forms) let a NaN through, as tanh_fast's comparisons do. */
static inline float32x4_t tanh4(float32x4_t x)
{
    x = vminq_f32(vmaxq_f32(x, vdupq_n_f32(-TANH_CLAMP)), vdupq_n_f32(TANH_CLAMP));
    float32x4_t x2 = vmulq_f32(x, x);
    float32x4_t p = vaddq_f32(vmulq_f32(x2, vdupq_n_f32(TANH_A13)), vdupq_n_f32(TANH_A11));
    p = vaddq_f32(vmulq_f32(p, x2), vdupq_n_f32(TANH_A9));
    p = vaddq_f32(vmulq_f32(p, x2), vdupq_n_f32(TANH_A7));
    p = vaddq_f32(vmulq_f32(p, x2), vdupq_n_f32(TANH_A5));
    p = vaddq_f32(vmulq_f32(p, x2), vdupq_n_f32(TANH_A3));
    p = vaddq_f32(vmulq_f32(p, x2), vdupq_n_f32(TANH_A1));
    float32x4_t d = vaddq_f32(vmulq_f32(x2, vdupq_n_f32(TANH_B6)), vdupq_n_f32(TANH_B4));
    d = vaddq_f32(vmulq_f32(d, x2), vdupq_n_f32(TANH_B2));
    d = vaddq_f32(vmulq_f32(d, x2), vdupq_n_f32(TANH_B0));
    return vdivq_f32(vmulq_f32(x, p), d);
}

static inline float32x4_t sigmoid4(float32x4_t x)
{
    const float32x4_t half = vdupq_n_f32(0.5f);
    return vaddq_f32(vmulq_f32(half, tanh4(vmulq_f32(half, x))), half);
}

/* Hidden units j..j+3: xg and hg hold the r, z and n rows H apart. */
static inline void gru_gates4_neon(const float *xg, const float *hg, float *h, unsigned H,
                                   unsigned j)
{
    float32x4_t r = sigmoid4(vaddq_f32(vld1q_f32(xg + j), vld1q_f32(hg + j)));
    float32x4_t z = sigmoid4(vaddq_f32(vld1q_f32(xg + H + j), vld1q_f32(hg + H + j)));
    float32x4_t c =
        tanh4(vaddq_f32(vld1q_f32(xg + 2 * H + j), vmulq_f32(r, vld1q_f32(hg + 2 * H + j))));
    float32x4_t hv = vld1q_f32(h + j);
    vst1q_f32(h + j, vaddq_f32(c, vmulq_f32(z, vsubq_f32(hv, c))));
}

static inline void gru_gates_neon(const float *xg, const float *hg, float *h, unsigned H)
{
    unsigned j = 0;
    for (; j + 4 <= H; j += 4)
        gru_gates4_neon(xg, hg, h, H, j);
    if (j == H) return;
    /* The last few units through zero-padded copies laid out as H = 4. */
    unsigned n = H - j;
    float x4[12] = {0}, h4g[12] = {0}, h4[4] = {0};
    for (unsigned g = 0; g < 3; g++) {
        memcpy(x4 + 4 * g, xg + g * H + j, n * sizeof *xg);
        memcpy(h4g + 4 * g, hg + g * H + j, n * sizeof *hg);
    }
    memcpy(h4, h + j, n * sizeof *h);
    gru_gates4_neon(x4, h4g, h4, 4, 0);
    memcpy(h + j, h4, n * sizeof *h);
}
#endif

#endif
