#include "gru_layer.h"

#include "gru_f32.h"
#include "gru_q8.h"

#include <stdlib.h>

struct gru_layer {
    const model_gru_layer *l;
    gru_f32_t *f32;
    gru_q8_t *q8;
};

gru_layer_t *gru_layer_create(const model_gru_layer *l, unsigned max_frames, unsigned max_states)
{
    gru_layer_t *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->l = l;
    if (l->weights == MODEL_WEIGHTS_Q8)
        g->q8 = gru_q8_create(l, max_frames, max_states);
    else
        g->f32 = gru_f32_create(l, max_frames);
    if (!g->q8 && !g->f32) {
        free(g);
        return NULL;
    }
    return g;
}

void gru_layer_destroy(gru_layer_t *g)
{
    if (!g) return;
    gru_f32_destroy(g->f32);
    gru_q8_destroy(g->q8);
    free(g);
}

void gru_layer_process(gru_layer_t *g, const float *x, unsigned n, float *h_seq)
{
    if (g->q8)
        gru_q8_process(g->q8, x, n, h_seq);
    else
        gru_f32_process(g->f32, x, n, h_seq);
}

void gru_layer_project(gru_layer_t *g, const float *x, unsigned n, float *xg)
{
    if (g->q8) {
        gru_q8_project(g->q8, x, n, xg);
        return;
    }
    for (unsigned k = 0; k < n; k++)
        gru_f32_project(g->f32, x + (size_t)k * g->l->input, xg + (size_t)k * 3 * g->l->hidden);
}

void gru_layer_step(gru_layer_t *g, const float *const *xg, float *const *h, unsigned n)
{
    if (g->q8) {
        gru_q8_step(g->q8, xg, h, n);
        return;
    }
    for (unsigned k = 0; k < n; k++)
        gru_f32_step(g->f32, xg[k], h[k]);
}
