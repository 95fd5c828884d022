/* vec_avx: the x86 tables of vec.h, AVX2+FMA and AVX-512 (vec_isa.h).
 * Tails shorter than a vector go through the portable kernels. */
#include "sample.h"
#include "vec_isa.h"

#include <immintrin.h>
#include <math.h>

/* ---- AVX2 + FMA ---- */

SIMD_TARGET_AVX2 static float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

/* Four accumulators: FMA latency 4-5 cycles, two issued per cycle. */
SIMD_TARGET_AVX2 static float dot_avx2(const float *a, const float *b, size_t n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float sum = hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++)
        sum = fmaf(a[i], b[i], sum);
    return sum;
}

SIMD_TARGET_AVX2 static __m256 fold8(const float *a, const float *b, const float *g, __m256 acc)
{
    __m256 pair = _mm256_add_ps(_mm256_loadu_ps(a), _mm256_loadu_ps(b));
    return _mm256_fmadd_ps(_mm256_loadu_ps(g), pair, acc);
}

SIMD_TARGET_AVX2 static float dot_sum_avx2(const float *a, const float *b, const float *g, size_t n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = fold8(a + i, b + i, g + i, s0);
        s1 = fold8(a + i + 8, b + i + 8, g + i + 8, s1);
        s2 = fold8(a + i + 16, b + i + 16, g + i + 16, s2);
        s3 = fold8(a + i + 24, b + i + 24, g + i + 24, s3);
    }
    for (; i + 8 <= n; i += 8)
        s0 = fold8(a + i, b + i, g + i, s0);
    float sum = hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++)
        sum = fmaf(g[i], a[i] + b[i], sum);
    return sum;
}

SIMD_TARGET_AVX2 static void mul_avx2(const float *a, const float *b, float *y, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    vec_ops_portable.mul(a + i, b + i, y + i, n - i);
}

/* Eight complex values: squares, then pairs summed by hadd, whose lane
 * order (128-bit halves) the permute undoes. */
SIMD_TARGET_AVX2 static void norm2_avx2(const float *z, float *y, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 lo = _mm256_loadu_ps(z + 2 * i), hi = _mm256_loadu_ps(z + 2 * i + 8);
        __m256 s = _mm256_hadd_ps(_mm256_mul_ps(lo, lo), _mm256_mul_ps(hi, hi));
        _mm256_storeu_ps(y + i, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(s), 0xd8)));
    }
    vec_ops_portable.norm2(z + 2 * i, y + i, n - i);
}

/* sample_sanitize on eight lanes: NaN and +-Inf (|x| not below Inf) become
 * 0 and are counted, the rest clamped to +-SAMPLE_LIMIT. */
SIMD_TARGET_AVX2 static __m256 sanitize8(__m256 x, uint64_t *nonfinite)
{
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 finite = _mm256_cmp_ps(_mm256_and_ps(x, abs_mask), _mm256_set1_ps(INFINITY), _CMP_LT_OQ);
    *nonfinite += 8 - (unsigned)__builtin_popcount((unsigned)_mm256_movemask_ps(finite));
    x = _mm256_and_ps(x, finite);
    x = _mm256_min_ps(x, _mm256_set1_ps(SAMPLE_LIMIT));
    return _mm256_max_ps(x, _mm256_set1_ps(-SAMPLE_LIMIT));
}

/* Mono and stereo, the common cases, eight frames at a time; (l + r) * 0.5
 * is the portable loop's ((0 + l) + r) * 0.5 exactly. */
SIMD_TARGET_AVX2 static void mix_avx2(const float *in, size_t frames, unsigned channels,
                                      float *mono, uint64_t *nonfinite)
{
    size_t i = 0;
    if (channels == 1)
        for (; i + 8 <= frames; i += 8)
            _mm256_storeu_ps(mono + i, sanitize8(_mm256_loadu_ps(in + i), nonfinite));
    if (channels == 2)
        for (; i + 8 <= frames; i += 8) {
            __m256 a = sanitize8(_mm256_loadu_ps(in + 2 * i), nonfinite);
            __m256 b = sanitize8(_mm256_loadu_ps(in + 2 * i + 8), nonfinite);
            __m256d s = _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_hadd_ps(a, b)), 0xd8);
            _mm256_storeu_ps(mono + i, _mm256_mul_ps(_mm256_castpd_ps(s), _mm256_set1_ps(0.5f)));
        }
    vec_ops_portable.mix(in + i * channels, frames - i, channels, mono + i, nonfinite);
}

const vec_ops vec_ops_avx2 = {"avx2", dot_avx2, dot_sum_avx2, mul_avx2, norm2_avx2, mix_avx2};

/* ---- AVX-512 ----
 * For the dot products; the element-wise kernels are memory bound at the
 * MFCC's sizes, so the AVX2 ones serve here too. */

/* The last n % 16 elements through a masked load: no scalar tail, and no
 * read past the end (masked lanes do not fault). */
SIMD_TARGET_AVX512 static __m512 load_tail(const float *p, size_t left)
{
    return _mm512_maskz_loadu_ps((__mmask16)((1u << left) - 1), p);
}

SIMD_TARGET_AVX512 static float dot_avx512(const float *a, const float *b, size_t n)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
    }
    for (; i + 16 <= n; i += 16)
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < n) s1 = _mm512_fmadd_ps(load_tail(a + i, n - i), load_tail(b + i, n - i), s1);
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

SIMD_TARGET_AVX512 static __m512 fold16(__m512 a, __m512 b, __m512 g, __m512 acc)
{
    return _mm512_fmadd_ps(g, _mm512_add_ps(a, b), acc);
}

SIMD_TARGET_AVX512 static float dot_sum_avx512(const float *a, const float *b, const float *g,
                                               size_t n)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = fold16(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), _mm512_loadu_ps(g + i), s0);
        s1 = fold16(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16),
                    _mm512_loadu_ps(g + i + 16), s1);
    }
    for (; i + 16 <= n; i += 16)
        s0 = fold16(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), _mm512_loadu_ps(g + i), s0);
    if (i < n)
        s1 = fold16(load_tail(a + i, n - i), load_tail(b + i, n - i), load_tail(g + i, n - i), s1);
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

const vec_ops vec_ops_avx512 = {"avx512", dot_avx512, dot_sum_avx512,
                                mul_avx2, norm2_avx2, mix_avx2};
