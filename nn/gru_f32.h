/* gru_f32: one float32 GRU layer over a sequence, exactly as PyTorch's
 * nn.GRU computes it (gates r, z, n; b_hn inside r * (W_hn h + b_hn);
 * h' = (1 - z) * n + z * h; h0 = 0). Portable C with libm's expf/tanhf
 * is the reference; AVX2+FMA where the CPU has it (GENRED_NO_SIMD=1 or
 * GENRED_SIMD=portable force the portable kernel, read at create time). */
#ifndef GENRED_GRU_F32_H
#define GENRED_GRU_F32_H

#include "model.h"

typedef struct gru_f32 gru_f32_t;

/* The layer (MODEL_WEIGHTS_F32) must outlive the kernel. */
gru_f32_t *gru_f32_create(const model_gru_layer *layer, unsigned max_frames);
void gru_f32_destroy(gru_f32_t *g);

/* Whether this kernel took a vector path (not the portable C). */
int gru_f32_uses_simd(const gru_f32_t *g);

/* x: n x input; h_seq: n x hidden, the state after each frame. n <= max_frames. */
void gru_f32_process(gru_f32_t *g, const float *x, unsigned n, float *h_seq);

/* The steps process is made of, for callers that run several states (one
 * per overlapping window, nn/stream_classifier.h): the input projection of
 * one frame, xg (3H) = W_ih x + b_ih, and one frame's update of a state h
 * (hidden) from it. process gives bit for bit what these give. */
void gru_f32_project(const gru_f32_t *g, const float *x, float *xg);
void gru_f32_step(gru_f32_t *g, const float *xg, float *h);

#endif
