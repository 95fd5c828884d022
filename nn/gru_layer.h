/* gru_layer: one GRU layer of a model on the kernel its weights need
 * (gru_f32 for float layers, gru_q8 for int8 ones), behind one interface
 * for the classifiers. */
#ifndef GENRED_GRU_LAYER_H
#define GENRED_GRU_LAYER_H

#include "model.h"

typedef struct gru_layer gru_layer_t;

/* max_frames bounds process's and project's n, max_states step's. NULL
 * when out of memory. */
gru_layer_t *gru_layer_create(const model_gru_layer *l, unsigned max_frames, unsigned max_states);
void gru_layer_destroy(gru_layer_t *g);

/* x: n x input; h_seq: n x hidden, from a zero state. */
void gru_layer_process(gru_layer_t *g, const float *x, unsigned n, float *h_seq);
/* xg (n x 3H): the input projections of n frames. */
void gru_layer_project(gru_layer_t *g, const float *x, unsigned n, float *xg);
/* One frame for n states h[k] from xg[k]; each as process would advance it. */
void gru_layer_step(gru_layer_t *g, const float *const *xg, float *const *h, unsigned n);

#endif
