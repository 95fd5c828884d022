/* gru_kernel: the one interface every recurrent layer kernel implements,
 * batched (gru_f32 for float GRU layers, gru_q8 for int8 ones).
 *
 * A kernel computes, for a layer whose G = gates x hidden rows are laid
 * out as the model file has them (model.h), the input projections of
 * several frames at once, xg = W_ih x + b_ih, and one frame's update of
 * several states at once from them (the overlapping windows of one
 * stream, nn/stream_classifier.h). A batch gives each state bit for bit
 * what it would get alone. nn/gru_layer.c holds one kernel as an ops
 * pointer, picked from its table by the layer's kind and weights: a new
 * layer type is one new kernel and one row there. */
#ifndef GENRED_GRU_KERNEL_H
#define GENRED_GRU_KERNEL_H

#include "model.h"
#include "simd.h"

typedef struct {
    const char *name; /* "gru f32", "gru int8" */
    /* The kernel's state for `layer` (which must outlive it) on its
     * instruction-set table for `level` (dsp/simd.h); max_frames bounds
     * project's n, max_states step's. NULL when out of memory. */
    void *(*create)(const model_layer *layer, unsigned max_frames, unsigned max_states,
                    simd_level level);
    void (*destroy)(void *kernel);
    /* xg (n x G): the input projections of the n frames x (n x input). */
    void (*project)(void *kernel, const float *x, unsigned n, float *xg);
    /* One frame for n states: h[k] (hidden) is updated from xg[k] (G). */
    void (*step)(void *kernel, const float *const *xg, float *const *h, unsigned n);
    /* The name of the instruction-set table in use ("avx2", ...). */
    const char *(*isa)(const void *kernel);
} gru_kernel_ops;

#endif
