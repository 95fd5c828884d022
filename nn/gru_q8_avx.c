/* gru_q8_avx: the int8 GRU's x86 tables, AVX2+FMA and AVX-512 VNNI
 * (gru_q8_isa.h).
 *
 * AVX2 multiplies |a| (unsigned) by sign(w, a) with maddubs (pairwise int16
 * sums that cannot saturate, as both magnitudes are <= 127) and madd; VNNI
 * offsets a by 128 and takes dpbusd's int32 sums of four products. The
 * integer sums are exact and equal, and the float steps around them are the
 * same code, so the two paths agree bit for bit. */
#include "gru_gates.h"
#include "gru_q8_isa.h"

#include <immintrin.h>
#include <string.h>

/* Fully unrolled, the eight accumulators stay in registers (at -O2 GCC
 * would otherwise keep them on the stack). */
#define UNROLL8 _Pragma("GCC unroll 8")

SIMD_TARGET_AVX2 static float hmax8(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

/* As q8_quantize_one: max_ps returns its second operand when the first is NaN. */
SIMD_TARGET_AVX2 static __m256i quantize8(const float *x, __m256 inv)
{
    __m256 v = _mm256_max_ps(_mm256_mul_ps(_mm256_loadu_ps(x), inv), _mm256_set1_ps(-127));
    return _mm256_cvtps_epi32(_mm256_min_ps(v, _mm256_set1_ps(127)));
}

SIMD_TARGET_AVX2 static float quantize_avx2(const float *x, unsigned n, int8_t *q)
{
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 vmax = _mm256_setzero_ps();
    unsigned i = 0;
    for (; i + 8 <= n; i += 8)
        vmax = _mm256_max_ps(vmax, _mm256_and_ps(abs_mask, _mm256_loadu_ps(x + i)));
    float max = hmax8(vmax);
    for (; i < n; i++)
        max = fmaxf(max, fabsf(x[i]));
    if (!(max > 0)) {
        memset(q, 0, n);
        return 0;
    }
    float inv = 127.0f / max;
    const __m256 vinv = _mm256_set1_ps(inv);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (i = 0; i + 32 <= n; i += 32) {
        __m256i a = quantize8(x + i, vinv), b = quantize8(x + i + 8, vinv);
        __m256i c = quantize8(x + i + 16, vinv), d = quantize8(x + i + 24, vinv);
        __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
        _mm256_storeu_si256((__m256i *)(q + i), _mm256_permutevar8x32_epi32(packed, order));
    }
    for (; i < n; i++)
        q[i] = q8_quantize_one(x[i] * inv);
    return max / 127.0f;
}

/* Sums of eight accumulators, one per lane of the result. */
SIMD_TARGET_AVX2 static __m256i hsum8x8(const __m256i *a)
{
    __m256i u0 = _mm256_hadd_epi32(_mm256_hadd_epi32(a[0], a[1]), _mm256_hadd_epi32(a[2], a[3]));
    __m256i u1 = _mm256_hadd_epi32(_mm256_hadd_epi32(a[4], a[5]), _mm256_hadd_epi32(a[6], a[7]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(u0, u1, 0x20),
                            _mm256_permute2x128_si256(u0, u1, 0x31));
}

SIMD_TARGET_AVX2 static __m256i dot32_avx2(__m256i acc, __m256i abs_a, __m256i a, const int8_t *w)
{
    __m256i wv = _mm256_loadu_si256((const __m256i *)w);
    __m256i p = _mm256_maddubs_epi16(abs_a, _mm256_sign_epi8(wv, a));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

/* y = sum * (row_scale * q_scale) + bias for eight rows of one vector. */
SIMD_TARGET_AVX2 static void finish8(__m256i sum, const float *row_scale, float q_scale,
                                     const float *bias, float *y)
{
    __m256 scale = _mm256_mul_ps(_mm256_loadu_ps(row_scale), _mm256_set1_ps(q_scale));
    _mm256_storeu_ps(y, _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), scale, _mm256_loadu_ps(bias)));
}

/* Rows left over after the blocks of eight: exact integer sums in C. */
SIMD_TARGET_AVX2 static void tail_rows(const int8_t *w, unsigned r, unsigned rows,
                                       unsigned cols_pad, const int8_t *q, unsigned n,
                                       const float *q_scale, const float *row_scale,
                                       const float *bias, float *y)
{
    for (; r < rows; r++)
        for (unsigned k = 0; k < n; k++) {
            int32_t acc = q8_dot(w + (size_t)r * cols_pad, q + (size_t)k * cols_pad, cols_pad);
            y[(size_t)k * rows + r] = (float)acc * (row_scale[r] * q_scale[k]) + bias[r];
        }
}

/* Eight rows at a time, every vector against them while they sit in L1, so
 * each weight is read from memory once per call. */
SIMD_TARGET_AVX2 static void matmul_avx2(const int8_t *w, const int32_t *row_sum, unsigned rows,
                                         unsigned cols_pad, const int8_t *q, unsigned n,
                                         const float *q_scale, const float *row_scale,
                                         const float *bias, float *y)
{
    (void)row_sum;
    unsigned r = 0;
    for (; r + 8 <= rows; r += 8)
        for (unsigned k = 0; k < n; k++) {
            const int8_t *qk = q + (size_t)k * cols_pad;
            __m256i acc[8];
            UNROLL8
            for (int i = 0; i < 8; i++)
                acc[i] = _mm256_setzero_si256();
            for (unsigned c = 0; c < cols_pad; c += 32) {
                __m256i a = _mm256_loadu_si256((const __m256i *)(qk + c));
                __m256i abs_a = _mm256_abs_epi8(a);
                UNROLL8
                for (unsigned i = 0; i < 8; i++)
                    acc[i] = dot32_avx2(acc[i], abs_a, a, w + (size_t)(r + i) * cols_pad + c);
            }
            finish8(hsum8x8(acc), row_scale + r, q_scale[k], bias + r, y + (size_t)k * rows + r);
        }
    tail_rows(w, r, rows, cols_pad, q, n, q_scale, row_scale, bias, y);
}

/* VNNI multiplies unsigned by signed bytes, so each vector goes in offset
 * by 128 (a ^ 0x80 = a + 128, 1..255) against the weights as they are, and
 * 128 * (the row's sum) comes off the int32 total: exact, with no per-weight
 * sign fix-up. Two vectors share each weight load; the 8 x 2 accumulators,
 * the row sums and the operands fit AVX-512's 32 vector registers. */
SIMD_TARGET_AVX512VNNI static __m256i offset8(const int8_t *q)
{
    return _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)q), _mm256_set1_epi8((char)0x80));
}

/* Rows r..r+7 against one vector. */
SIMD_TARGET_AVX512VNNI static __m256i block1_vnni(const int8_t *w, unsigned cols_pad,
                                                  const int8_t *q)
{
    __m256i a[8];
    UNROLL8
    for (int i = 0; i < 8; i++)
        a[i] = _mm256_setzero_si256();
    for (unsigned c = 0; c < cols_pad; c += 32) {
        __m256i u = offset8(q + c);
        UNROLL8
        for (unsigned i = 0; i < 8; i++)
            a[i] = _mm256_dpbusd_epi32(
                a[i], u, _mm256_loadu_si256((const __m256i *)(w + (size_t)i * cols_pad + c)));
    }
    return hsum8x8(a);
}

/* Rows r..r+7 against two vectors, sharing each weight load. */
SIMD_TARGET_AVX512VNNI static void block2_vnni(const int8_t *w, unsigned cols_pad, const int8_t *q0,
                                               const int8_t *q1, __m256i *s0, __m256i *s1)
{
    __m256i a0[8], a1[8];
    UNROLL8
    for (int i = 0; i < 8; i++)
        a0[i] = a1[i] = _mm256_setzero_si256();
    for (unsigned c = 0; c < cols_pad; c += 32) {
        __m256i u0 = offset8(q0 + c), u1 = offset8(q1 + c);
        UNROLL8
        for (unsigned i = 0; i < 8; i++) {
            __m256i wv = _mm256_loadu_si256((const __m256i *)(w + (size_t)i * cols_pad + c));
            a0[i] = _mm256_dpbusd_epi32(a0[i], u0, wv);
            a1[i] = _mm256_dpbusd_epi32(a1[i], u1, wv);
        }
    }
    *s0 = hsum8x8(a0);
    *s1 = hsum8x8(a1);
}

SIMD_TARGET_AVX512VNNI static void matmul_vnni(const int8_t *w, const int32_t *row_sum,
                                               unsigned rows, unsigned cols_pad, const int8_t *q,
                                               unsigned n, const float *q_scale,
                                               const float *row_scale, const float *bias, float *y)
{
    unsigned r = 0;
    for (; r + 8 <= rows; r += 8) {
        const int8_t *wr = w + (size_t)r * cols_pad;
        __m256i offset = _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(row_sum + r)), 7);
        unsigned k = 0;
        for (; k + 2 <= n; k += 2) {
            __m256i s0, s1;
            block2_vnni(wr, cols_pad, q + (size_t)k * cols_pad, q + (size_t)(k + 1) * cols_pad, &s0,
                        &s1);
            finish8(_mm256_sub_epi32(s0, offset), row_scale + r, q_scale[k], bias + r,
                    y + (size_t)k * rows + r);
            finish8(_mm256_sub_epi32(s1, offset), row_scale + r, q_scale[k + 1], bias + r,
                    y + (size_t)(k + 1) * rows + r);
        }
        if (k < n)
            finish8(_mm256_sub_epi32(block1_vnni(wr, cols_pad, q + (size_t)k * cols_pad), offset),
                    row_scale + r, q_scale[k], bias + r, y + (size_t)k * rows + r);
    }
    tail_rows(w, r, rows, cols_pad, q, n, q_scale, row_scale, bias, y);
}

const gru_q8_ops gru_q8_ops_avx2 = {"avx2", quantize_avx2, matmul_avx2, gru_gates_avx2};
const gru_q8_ops gru_q8_ops_avx512vnni = {"avx512vnni", quantize_avx2, matmul_vnni, gru_gates_avx2};
