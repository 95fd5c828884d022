/* gru_layer: the kernel table and the sequence loop every kernel shares. */
#include "gru_layer.h"

#include "gru_f32.h"
#include "gru_q8.h"

#include <stdlib.h>
#include <string.h>

/* Which kernel computes a layer: one row per kind and weight type. */
static const struct {
    model_layer_kind kind;
    model_weights weights;
    const gru_kernel_ops *ops;
} kernels[] = {
    {MODEL_LAYER_GRU, MODEL_WEIGHTS_F32, &gru_f32_kernel},
    {MODEL_LAYER_GRU, MODEL_WEIGHTS_Q8, &gru_q8_kernel},
};

struct gru_layer {
    const model_layer *l;
    const gru_kernel_ops *ops;
    void *kernel;
    unsigned max_frames;
    float *xg; /* max_frames x G: process's input projections */
};

static const gru_kernel_ops *kernel_for(const model_layer *l)
{
    for (size_t i = 0; i < sizeof kernels / sizeof *kernels; i++)
        if (kernels[i].kind == l->kind && kernels[i].weights == l->weights) return kernels[i].ops;
    return NULL;
}

gru_layer_t *gru_layer_create_at(const model_layer *l, unsigned max_frames, unsigned max_states,
                                 simd_level level)
{
    const gru_kernel_ops *ops = l ? kernel_for(l) : NULL;
    if (!ops || !max_frames || !max_states) return NULL;
    gru_layer_t *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->l = l;
    g->ops = ops;
    g->max_frames = max_frames;
    g->kernel = ops->create(l, max_frames, max_states, level);
    g->xg = malloc((size_t)max_frames * model_layer_rows(l) * sizeof *g->xg);
    if (!g->kernel || !g->xg) {
        gru_layer_destroy(g);
        return NULL;
    }
    return g;
}

gru_layer_t *gru_layer_create(const model_layer *l, unsigned max_frames, unsigned max_states)
{
    return gru_layer_create_at(l, max_frames, max_states, simd_level_get());
}

void gru_layer_destroy(gru_layer_t *g)
{
    if (!g) return;
    if (g->kernel) g->ops->destroy(g->kernel);
    free(g->xg);
    free(g);
}

/* Every frame's projection in one batch (it does not depend on the state),
 * then the state a frame at a time, each step on a copy of the last. */
void gru_layer_process(gru_layer_t *g, const float *x, unsigned n, float *h_seq)
{
    size_t H = g->l->hidden, G = model_layer_rows(g->l);
    if (n > g->max_frames) n = g->max_frames;
    g->ops->project(g->kernel, x, n, g->xg);
    for (unsigned t = 0; t < n; t++) {
        float *h = h_seq + t * H;
        if (t)
            memcpy(h, h - H, H * sizeof *h);
        else
            memset(h, 0, H * sizeof *h);
        const float *const xg[1] = {g->xg + t * G};
        float *const hp[1] = {h};
        g->ops->step(g->kernel, xg, hp, 1);
    }
}

void gru_layer_project(gru_layer_t *g, const float *x, unsigned n, float *xg)
{
    g->ops->project(g->kernel, x, n, xg);
}

void gru_layer_step(gru_layer_t *g, const float *const *xg, float *const *h, unsigned n)
{
    g->ops->step(g->kernel, xg, h, n);
}

const char *gru_layer_kernel(const gru_layer_t *g)
{
    return g->ops->name;
}

const char *gru_layer_isa(const gru_layer_t *g)
{
    return g->ops->isa(g->kernel);
}
