/* gru_q8: one int8 GRU layer, over a sequence or a frame at a time for
 * several states at once.
 *
 * Weights are int8 with one float scale per output row (the model's Q8
 * layers). Each input frame and each state vector is quantised to int8 with
 * its own scale (max|v| / 127) right before its matrix product, so products
 * are exact integer sums scaled once per row. Gates use a rational tanh
 * approximation (|error| < 1e-6) instead of libm.
 *
 * The kernels (gru_q8_ops.h) are chosen at create time from dsp/simd.h's
 * level: AVX-512 VNNI where the CPU has it, else AVX2+FMA, NEON on AArch64,
 * else portable C; all give the same integer sums and float results within
 * rounding (VNNI and AVX2 bit for bit with each other, NEON with portable
 * C). GENRED_NO_SIMD=1 in the environment forces the portable path,
 * GENRED_SIMD=avx2 the AVX2 one (for tests).
 *
 * gru_q8_step advances several independent states (overlapping windows of
 * one stream, nn/stream_classifier.h) with one matrix product, reading the
 * weights once per frame; each state gets bit for bit what gru_q8_process
 * computes for it. */
#ifndef GENRED_GRU_Q8_H
#define GENRED_GRU_Q8_H

#include "model.h"

typedef struct gru_q8 gru_q8_t;

/* The layer (MODEL_WEIGHTS_Q8, q in -127..127) must outlive the kernel.
 * max_frames bounds process's and project's n, max_states step's. */
gru_q8_t *gru_q8_create(const model_gru_layer *layer, unsigned max_frames, unsigned max_states);
void gru_q8_destroy(gru_q8_t *g);

/* x: n x input; h_seq: n x hidden, the state after each frame, from a zero
 * state. n <= max_frames. */
void gru_q8_process(gru_q8_t *g, const float *x, unsigned n, float *h_seq);

/* The input projection of n frames: xg (n x 3H) = W_ih x + b_ih, quantised
 * as process does. n <= max_frames. */
void gru_q8_project(gru_q8_t *g, const float *x, unsigned n, float *xg);
/* One frame for n states: h[k] (hidden) is updated from xg[k] (3H, from
 * project). n <= max_states. */
void gru_q8_step(gru_q8_t *g, const float *const *xg, float *const *h, unsigned n);

/* The kernel path in use: "avx512vnni", "avx2", "neon" or "c". */
const char *gru_q8_path(const gru_q8_t *g);
/* 1 when this kernel runs an x86 SIMD path (AVX2 or AVX-512 VNNI). */
int gru_q8_uses_avx2(const gru_q8_t *g);

#endif
