/* gru_q8: one int8 GRU layer over a sequence.
 *
 * Weights are int8 with one float scale per output row (the model's Q8
 * layers). Each input frame and each state vector is quantised to int8 with
 * its own scale (max|v| / 127) right before its matrix product, so products
 * are exact integer sums scaled once per row. Gates use a rational tanh
 * approximation (|error| < 1e-6) instead of libm.
 *
 * Three paths give the same integer sums: AVX2 (maddubs on |a| and
 * sign(w, a)) chosen at create time when the CPU has AVX2 and FMA, with
 * float results within rounding (FMA); NEON on AArch64 (gru_q8_neon.c),
 * bit-identical to the portable path; and portable C. Setting
 * GENRED_NO_SIMD=1 in the environment before create forces the portable path
 * (for tests). */
#ifndef GENRED_GRU_Q8_H
#define GENRED_GRU_Q8_H

#include "model.h"

typedef struct gru_q8 gru_q8_t;

/* The layer (MODEL_WEIGHTS_Q8, q in -127..127) must outlive the kernel. */
gru_q8_t *gru_q8_create(const model_gru_layer *layer, unsigned max_frames);
void gru_q8_destroy(gru_q8_t *g);

/* x: n x input; h_seq: n x hidden, the state after each frame. n <= max_frames. */
void gru_q8_process(gru_q8_t *g, const float *x, unsigned n, float *h_seq);

/* 1 when this kernel runs the AVX2 path. */
int gru_q8_uses_avx2(const gru_q8_t *g);

/* The path this kernel runs: "avx2", "neon" or "portable". */
const char *gru_q8_path(const gru_q8_t *g);

#endif
