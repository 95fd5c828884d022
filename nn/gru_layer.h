/* gru_layer: one recurrent layer of a model on the kernel its kind and
 * weights need (gru_kernel.h: gru_f32 for float GRU layers, gru_q8 for
 * int8 ones), behind one interface for the classifiers. */
#ifndef GENRED_GRU_LAYER_H
#define GENRED_GRU_LAYER_H

#include "model.h"
#include "simd.h"

typedef struct gru_layer gru_layer_t;

/* max_frames bounds process's and project's n, max_states step's. NULL
 * when out of memory or when no kernel computes the layer's kind and
 * weights. The layer must outlive the object. */
gru_layer_t *gru_layer_create(const model_layer *l, unsigned max_frames, unsigned max_states);
/* The same on the kernel's table for `level` (dsp/simd.h), for tests and
 * benchmarks comparing levels; gru_layer_create takes simd_level_get(). */
gru_layer_t *gru_layer_create_at(const model_layer *l, unsigned max_frames, unsigned max_states,
                                 simd_level level);
void gru_layer_destroy(gru_layer_t *g);

/* x: n x input; h_seq: n x hidden, the state after each frame, from a zero
 * state. Made of project and step, so their callers get these very states. */
void gru_layer_process(gru_layer_t *g, const float *x, unsigned n, float *h_seq);
/* xg (n x G): the input projections of n frames. */
void gru_layer_project(gru_layer_t *g, const float *x, unsigned n, float *xg);
/* One frame for n states h[k] from xg[k]; each as process would advance it. */
void gru_layer_step(gru_layer_t *g, const float *const *xg, float *const *h, unsigned n);

/* The kernel's name and its instruction-set table's ("gru int8", "avx2"). */
const char *gru_layer_kernel(const gru_layer_t *g);
const char *gru_layer_isa(const gru_layer_t *g);

#endif
