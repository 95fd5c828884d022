/* tanh_avx2: tanh_fast and sigmoid_fast (tanh_fast.h) on eight floats with
 * AVX2+FMA, lane by lane the same rational function, for the GRU gates of
 * the int8 (gru_q8) and float (gru_f32) kernels. Functions carry their own
 * target attribute: callers check the CPU (dsp/simd.h) before calling. */
#ifndef GENRED_TANH_AVX2_H
#define GENRED_TANH_AVX2_H

#if defined(__x86_64__) || defined(__i386__)
#include "tanh_fast.h"

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
#endif

#endif
