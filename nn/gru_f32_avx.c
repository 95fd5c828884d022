/* gru_f32_avx: gru_f32's x86 tables (gru_f32_isa.h). The weights are
 * packed column-major (3H rows padded to whole vectors), so that one
 * broadcast input value feeds eight (AVX2) or sixteen (AVX-512) FMAs into
 * row accumulators and every weight is loaded once per frame, with no
 * horizontal sums; the gates are tanh_fast's rational tanh on eight lanes
 * (gru_gates.h), for AVX-512 too: H values a frame against 3H x H
 * multiply-adds. */
#include "gru_f32_isa.h"
#include "gru_gates.h"

#include <immintrin.h>

/* ---- AVX2 + FMA ---- */

/* y[r .. r + 8) = v, as far as r < rows. */
SIMD_TARGET_AVX2 static inline void store8(float *y, __m256 v, unsigned r, unsigned rows)
{
    if (r + 8 <= rows)
        _mm256_storeu_ps(y + r, v);
    else if (r < rows)
        _mm256_maskstore_ps(y + r,
                            _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(rows - r)),
                                               _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)),
                            v);
}

/* NV x 8 rows from row r0: NV independent FMA chains, one broadcast of
 * x[c] per column. Inlined with NV constant, so acc stays in registers. */
__attribute__((always_inline)) SIMD_TARGET_AVX2 static inline void
rows_avx2(const float *w, const float *b, unsigned stride, unsigned r0, unsigned rows,
          unsigned cols, const float *x, float *y, const unsigned NV)
{
    __m256 acc[8];
    for (unsigned k = 0; k < NV; k++)
        acc[k] = _mm256_loadu_ps(b + r0 + 8 * k);
    for (unsigned c = 0; c < cols; c++) {
        const float *col = w + (size_t)c * stride + r0;
        __m256 xc = _mm256_broadcast_ss(x + c);
        for (unsigned k = 0; k < NV; k++)
            acc[k] = _mm256_fmadd_ps(_mm256_loadu_ps(col + 8 * k), xc, acc[k]);
    }
    for (unsigned k = 0; k < NV; k++)
        store8(y, acc[k], r0 + 8 * k, rows);
}

/* rows_pad: a multiple of 16, the packed column stride. */
SIMD_TARGET_AVX2 static void matvec_avx2(const float *w, const float *b, unsigned rows_pad,
                                         unsigned rows, unsigned cols, const float *x, float *y)
{
    unsigned r = 0;
    for (; r + 64 <= rows_pad; r += 64)
        rows_avx2(w, b, rows_pad, r, rows, cols, x, y, 8);
    if (r + 32 <= rows_pad) {
        rows_avx2(w, b, rows_pad, r, rows, cols, x, y, 4);
        r += 32;
    }
    for (; r < rows_pad; r += 8)
        rows_avx2(w, b, rows_pad, r, rows, cols, x, y, 1);
}

const gru_f32_ops gru_f32_ops_avx2 = {"avx2", matvec_avx2, gru_gates_avx2, gru_f32_pack_cols};

/* ---- AVX-512: the same matrix-vector product on 16 lanes, AVX2's gates ---- */

/* y[r .. r + 16) = v, as far as r < rows. */
SIMD_TARGET_AVX512 static inline void store16(float *y, __m512 v, unsigned r, unsigned rows)
{
    if (r + 16 <= rows)
        _mm512_storeu_ps(y + r, v);
    else if (r < rows)
        _mm512_mask_storeu_ps(y + r, (__mmask16)((1u << (rows - r)) - 1), v);
}

__attribute__((always_inline)) SIMD_TARGET_AVX512 static inline void
rows_avx512(const float *w, const float *b, unsigned stride, unsigned r0, unsigned rows,
            unsigned cols, const float *x, float *y, const unsigned NV)
{
    __m512 acc[8];
    for (unsigned k = 0; k < NV; k++)
        acc[k] = _mm512_loadu_ps(b + r0 + 16 * k);
    for (unsigned c = 0; c < cols; c++) {
        const float *col = w + (size_t)c * stride + r0;
        __m512 xc = _mm512_set1_ps(x[c]);
        for (unsigned k = 0; k < NV; k++)
            acc[k] = _mm512_fmadd_ps(_mm512_loadu_ps(col + 16 * k), xc, acc[k]);
    }
    for (unsigned k = 0; k < NV; k++)
        store16(y, acc[k], r0 + 16 * k, rows);
}

SIMD_TARGET_AVX512 static void matvec_avx512(const float *w, const float *b, unsigned rows_pad,
                                             unsigned rows, unsigned cols, const float *x, float *y)
{
    unsigned r = 0;
    for (; r + 128 <= rows_pad; r += 128)
        rows_avx512(w, b, rows_pad, r, rows, cols, x, y, 8);
    if (r + 64 <= rows_pad) {
        rows_avx512(w, b, rows_pad, r, rows, cols, x, y, 4);
        r += 64;
    }
    for (; r < rows_pad; r += 16)
        rows_avx512(w, b, rows_pad, r, rows, cols, x, y, 1);
}

const gru_f32_ops gru_f32_ops_avx512 = {"avx512", matvec_avx512, gru_gates_avx2, gru_f32_pack_cols};
