/* gru_gates: the GRU state update from the two projections, with
 * tanh_fast's rational tanh (tanh_fast.h), shared by the int8 (gru_q8) and
 * float (gru_f32) vector kernels: one value at a time, and eight at a time
 * with AVX2+FMA (lane by lane the same function). The AVX2 functions carry
 * their own target attribute: callers check the CPU (dsp/simd.h) first.
 *
 * xg = W_ih x + b_ih and hg = W_hh h + b_hh, gates r, z, n in that order
 * (H values each); h becomes n + z (h - n), PyTorch's (1 - z) n + z h. */
#ifndef GENRED_GRU_GATES_H
#define GENRED_GRU_GATES_H

#include "tanh_fast.h"

static inline void gru_gate_one(const float *xg, const float *hg, float *h, unsigned H, unsigned j)
{
    float r = sigmoid_fast(xg[j] + hg[j]);
    float z = sigmoid_fast(xg[H + j] + hg[H + j]);
    float c = tanh_fast(xg[2 * H + j] + r * hg[2 * H + j]);
    h[j] = c + z * (h[j] - c);
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TANH_AVX2 __attribute__((target("avx2,fma")))

TANH_AVX2 static inline __m256 tanh8(__m256 x)
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

TANH_AVX2 static inline __m256 sigmoid8(__m256 x)
{
    const __m256 half = _mm256_set1_ps(0.5f);
    return _mm256_fmadd_ps(tanh8(_mm256_mul_ps(half, x)), half, half);
}

TANH_AVX2 static inline void gru_gates_avx2(const float *xg, const float *hg, float *h, unsigned H)
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

#endif
