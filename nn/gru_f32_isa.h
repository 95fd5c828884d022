/* gru_f32_isa: gru_f32's tables, one per instruction set (internal to
 * nn/gru_f32*.c). gru_f32.c holds the portable one and picks one;
 * gru_f32_avx.c and gru_f32_neon.c, each built for its architecture only,
 * hold the others. */
#ifndef GENRED_GRU_F32_ISA_H
#define GENRED_GRU_F32_ISA_H

#include "gru_f32.h"

/* The rows of a matrix-vector product, padded to a multiple of ROW_PAD
 * (whole AVX-512 vectors; the padding rows are zero weights and bias). */
#define GRU_F32_ROW_PAD 16

/* Column-major, rows padded: out[c * rows_pad + r] = w[r][c], the layout
 * of every vector table: one broadcast input value feeds a column. */
void gru_f32_pack_cols(const float *w, unsigned rows, unsigned cols, float *out);

extern const gru_f32_ops gru_f32_ops_portable;
#ifdef SIMD_ARCH_X86
extern const gru_f32_ops gru_f32_ops_avx2, gru_f32_ops_avx512;
#endif
#ifdef SIMD_ARCH_ARM64
extern const gru_f32_ops gru_f32_ops_neon;
#endif

#endif
