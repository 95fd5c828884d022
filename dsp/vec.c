/* vec: the kernels of vec.h. Portable C always; AVX2+FMA and AVX-512 on
 * x86-64, compiled with target attributes and chosen at run time, so the
 * build needs no -march flag; NEON on AArch64, where every core has it. */
#include "vec.h"

#include "sample.h"

#include <math.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VEC_X86 1
#endif
#ifdef __aarch64__
#include <arm_neon.h>
#define VEC_NEON 1
#endif

/* ---- portable ---- */

/* Eight independent partial sums: one serial sum is latency bound (4x
 * slower), and the fixed-width inner loop lets the compiler use whatever
 * vector registers the baseline ISA has. */
enum { LANES = 8 };

static float sum_lanes(const float *part)
{
    return ((part[0] + part[4]) + (part[1] + part[5])) +
           ((part[2] + part[6]) + (part[3] + part[7]));
}

static float dot_c(const float *a, const float *b, size_t n)
{
    float part[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (unsigned k = 0; k < LANES; k++)
            part[k] += a[i + k] * b[i + k];
    for (; i < n; i++)
        part[i % LANES] += a[i] * b[i];
    return sum_lanes(part);
}

static float dot_sum_c(const float *a, const float *b, const float *g, size_t n)
{
    float part[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (unsigned k = 0; k < LANES; k++)
            part[k] += g[i + k] * (a[i + k] + b[i + k]);
    for (; i < n; i++)
        part[i % LANES] += g[i] * (a[i] + b[i]);
    return sum_lanes(part);
}

static void mul_c(const float *a, const float *b, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] * b[i];
}

static void norm2_c(const float *z, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = z[2 * i] * z[2 * i] + z[2 * i + 1] * z[2 * i + 1];
}

static void mix_c(const float *in, size_t frames, unsigned channels, float *mono,
                  uint64_t *nonfinite)
{
    if (channels == 1) {
        for (size_t i = 0; i < frames; i++)
            mono[i] = sample_sanitize(in[i], nonfinite);
        return;
    }
    float scale = 1.0f / (float)channels;
    for (size_t i = 0; i < frames; i++) {
        float sum = 0.0f;
        for (unsigned c = 0; c < channels; c++)
            sum += sample_sanitize(in[i * channels + c], nonfinite);
        mono[i] = sum * scale;
    }
}

static const vec_ops ops_c = {dot_c, dot_sum_c, mul_c, norm2_c, mix_c};

#ifdef VEC_X86

/* ---- AVX2 + FMA ---- */

#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

/* Four accumulators: FMA latency 4-5 cycles, two issued per cycle. */
AVX2 static float dot_avx2(const float *a, const float *b, size_t n)
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

AVX2 static __m256 fold8(const float *a, const float *b, const float *g, __m256 acc)
{
    __m256 pair = _mm256_add_ps(_mm256_loadu_ps(a), _mm256_loadu_ps(b));
    return _mm256_fmadd_ps(_mm256_loadu_ps(g), pair, acc);
}

AVX2 static float dot_sum_avx2(const float *a, const float *b, const float *g, size_t n)
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

AVX2 static void mul_avx2(const float *a, const float *b, float *y, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    mul_c(a + i, b + i, y + i, n - i);
}

/* Eight complex values: squares, then pairs summed by hadd, whose lane
 * order (128-bit halves) the permute undoes. */
AVX2 static void norm2_avx2(const float *z, float *y, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 lo = _mm256_loadu_ps(z + 2 * i), hi = _mm256_loadu_ps(z + 2 * i + 8);
        __m256 s = _mm256_hadd_ps(_mm256_mul_ps(lo, lo), _mm256_mul_ps(hi, hi));
        _mm256_storeu_ps(y + i, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(s), 0xd8)));
    }
    norm2_c(z + 2 * i, y + i, n - i);
}

/* sample_sanitize on eight lanes: NaN and +-Inf (|x| not below Inf) become
 * 0 and are counted, the rest clamped to +-SAMPLE_LIMIT. */
AVX2 static __m256 sanitize8(__m256 x, uint64_t *nonfinite)
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
AVX2 static void mix_avx2(const float *in, size_t frames, unsigned channels, float *mono,
                          uint64_t *nonfinite)
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
    mix_c(in + i * channels, frames - i, channels, mono + i, nonfinite);
}

static const vec_ops ops_avx2 = {dot_avx2, dot_sum_avx2, mul_avx2, norm2_avx2, mix_avx2};

/* ---- AVX-512 ----
 * For the dot products; the element-wise kernels are memory bound at the
 * MFCC's sizes, so the AVX2 ones serve here too. */

#define AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")))

/* The last n % 16 elements through a masked load: no scalar tail, and no
 * read past the end (masked lanes do not fault). */
AVX512 static __m512 load_tail(const float *p, size_t left)
{
    return _mm512_maskz_loadu_ps((__mmask16)((1u << left) - 1), p);
}

AVX512 static float dot_avx512(const float *a, const float *b, size_t n)
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

AVX512 static __m512 fold16(__m512 a, __m512 b, __m512 g, __m512 acc)
{
    return _mm512_fmadd_ps(g, _mm512_add_ps(a, b), acc);
}

AVX512 static float dot_sum_avx512(const float *a, const float *b, const float *g, size_t n)
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

static const vec_ops ops_avx512 = {dot_avx512, dot_sum_avx512, mul_avx2, norm2_avx2, mix_avx2};
#endif

#ifdef VEC_NEON

/* ---- NEON (AArch64) ----
 * Four lanes a vector and 32 registers: four accumulators of FMAs, as on
 * AVX2, keep the multiply-add pipes full (latency 4 on a Cortex-A72). */

static float dot_neon(const float *a, const float *b, size_t n)
{
    float32x4_t s0 = vdupq_n_f32(0), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
        s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
        s2 = vfmaq_f32(s2, vld1q_f32(a + i + 8), vld1q_f32(b + i + 8));
        s3 = vfmaq_f32(s3, vld1q_f32(a + i + 12), vld1q_f32(b + i + 12));
    }
    for (; i + 4 <= n; i += 4)
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
    float sum = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
    for (; i < n; i++)
        sum = fmaf(a[i], b[i], sum);
    return sum;
}

static float32x4_t fold4(const float *a, const float *b, const float *g, float32x4_t acc)
{
    return vfmaq_f32(acc, vld1q_f32(g), vaddq_f32(vld1q_f32(a), vld1q_f32(b)));
}

static float dot_sum_neon(const float *a, const float *b, const float *g, size_t n)
{
    float32x4_t s0 = vdupq_n_f32(0), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = fold4(a + i, b + i, g + i, s0);
        s1 = fold4(a + i + 4, b + i + 4, g + i + 4, s1);
        s2 = fold4(a + i + 8, b + i + 8, g + i + 8, s2);
        s3 = fold4(a + i + 12, b + i + 12, g + i + 12, s3);
    }
    for (; i + 4 <= n; i += 4)
        s0 = fold4(a + i, b + i, g + i, s0);
    float sum = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
    for (; i < n; i++)
        sum = fmaf(g[i], a[i] + b[i], sum);
    return sum;
}

static void mul_neon(const float *a, const float *b, float *y, size_t n)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vmulq_f32(vld1q_f32(a + i), vld1q_f32(b + i)));
    mul_c(a + i, b + i, y + i, n - i);
}

/* vld2 splits the interleaved values into real and imaginary parts. */
static void norm2_neon(const float *z, float *y, size_t n)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4x2_t v = vld2q_f32(z + 2 * i);
        vst1q_f32(y + i, vfmaq_f32(vmulq_f32(v.val[0], v.val[0]), v.val[1], v.val[1]));
    }
    norm2_c(z + 2 * i, y + i, n - i);
}

/* sample_sanitize on four lanes, as sanitize8 does it. */
static float32x4_t sanitize4(float32x4_t x, uint64_t *nonfinite)
{
    uint32x4_t finite = vcltq_f32(vabsq_f32(x), vdupq_n_f32(INFINITY));
    *nonfinite += 4 - vaddvq_u32(vshrq_n_u32(finite, 31));
    x = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(x), finite));
    return vmaxq_f32(vminq_f32(x, vdupq_n_f32(SAMPLE_LIMIT)), vdupq_n_f32(-SAMPLE_LIMIT));
}

/* Mono and stereo four frames at a time; the pairwise add is l + r, then
 * the portable loop's * 0.5, so the floats are the same. */
static void mix_neon(const float *in, size_t frames, unsigned channels, float *mono,
                     uint64_t *nonfinite)
{
    size_t i = 0;
    if (channels == 1)
        for (; i + 4 <= frames; i += 4)
            vst1q_f32(mono + i, sanitize4(vld1q_f32(in + i), nonfinite));
    if (channels == 2)
        for (; i + 4 <= frames; i += 4) {
            float32x4_t a = sanitize4(vld1q_f32(in + 2 * i), nonfinite);
            float32x4_t b = sanitize4(vld1q_f32(in + 2 * i + 4), nonfinite);
            vst1q_f32(mono + i, vmulq_f32(vpaddq_f32(a, b), vdupq_n_f32(0.5f)));
        }
    mix_c(in + i * channels, frames - i, channels, mono + i, nonfinite);
}

static const vec_ops ops_neon = {dot_neon, dot_sum_neon, mul_neon, norm2_neon, mix_neon};
#endif

const vec_ops *vec_ops_for(simd_level level)
{
    switch (level) {
#ifdef VEC_NEON
    case SIMD_NEON:
        return &ops_neon;
#endif
#ifdef VEC_X86
    case SIMD_AVX512:
        return &ops_avx512;
    case SIMD_AVX2:
        return &ops_avx2;
#endif
    default:
        return &ops_c;
    }
}

const vec_ops *vec_ops_get(void)
{
    return vec_ops_for(simd_level_get());
}
