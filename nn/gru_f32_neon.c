/* gru_f32_neon: gru_f32's AArch64 table (gru_f32_isa.h): the AVX2 table's
 * column-major product on four lanes, where 32 vector registers hold 16
 * accumulators (64 rows) with room for the loads, and the gates four at a
 * time (gru_gates.h). */
#include "gru_f32_isa.h"
#include "gru_gates.h"

#include <arm_neon.h>
#include <string.h>

/* y[r .. r + 4) = v, as far as r < rows. */
static inline void store4(float *y, float32x4_t v, unsigned r, unsigned rows)
{
    if (r + 4 <= rows) {
        vst1q_f32(y + r, v);
    } else if (r < rows) {
        float lanes[4];
        vst1q_f32(lanes, v);
        memcpy(y + r, lanes, (rows - r) * sizeof *y);
    }
}

__attribute__((always_inline)) static inline void
rows_neon(const float *w, const float *b, unsigned stride, unsigned r0, unsigned rows,
          unsigned cols, const float *x, float *y, const unsigned NV)
{
    float32x4_t acc[16];
    for (unsigned k = 0; k < NV; k++)
        acc[k] = vld1q_f32(b + r0 + 4 * k);
    for (unsigned c = 0; c < cols; c++) {
        const float *col = w + (size_t)c * stride + r0;
        float32x4_t xc = vld1q_dup_f32(x + c);
        for (unsigned k = 0; k < NV; k++)
            acc[k] = vfmaq_f32(acc[k], vld1q_f32(col + 4 * k), xc);
    }
    for (unsigned k = 0; k < NV; k++)
        store4(y, acc[k], r0 + 4 * k, rows);
}

/* rows_pad: a multiple of 16, the packed column stride. */
static void matvec_neon(const float *w, const float *b, unsigned rows_pad, unsigned rows,
                        unsigned cols, const float *x, float *y)
{
    unsigned r = 0;
    for (; r + 64 <= rows_pad; r += 64)
        rows_neon(w, b, rows_pad, r, rows, cols, x, y, 16);
    if (r + 32 <= rows_pad) {
        rows_neon(w, b, rows_pad, r, rows, cols, x, y, 8);
        r += 32;
    }
    for (; r < rows_pad; r += 16)
        rows_neon(w, b, rows_pad, r, rows, cols, x, y, 4);
}

const gru_f32_ops gru_f32_ops_neon = {"neon", matvec_neon, gru_gates_neon, gru_f32_pack_cols};
