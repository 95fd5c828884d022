#include "gru_f32.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct gru_f32 {
    const model_gru_layer *l;
    unsigned max_frames;
    float *xg; /* max_frames x 3H: W_ih x + b_ih for every frame */
    float *hg; /* 3H: W_hh h + b_hh */
    float *h;  /* H */
};

gru_f32_t *gru_f32_create(const model_gru_layer *layer, unsigned max_frames)
{
    if (!layer || layer->weights != MODEL_WEIGHTS_F32 || !max_frames) return NULL;
    gru_f32_t *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    size_t g3 = 3 * (size_t)layer->hidden;
    g->l = layer;
    g->max_frames = max_frames;
    g->xg = malloc(max_frames * g3 * sizeof(float));
    g->hg = malloc(g3 * sizeof(float));
    g->h = malloc(layer->hidden * sizeof(float));
    if (!g->xg || !g->hg || !g->h) {
        gru_f32_destroy(g);
        return NULL;
    }
    return g;
}

void gru_f32_destroy(gru_f32_t *g)
{
    if (!g) return;
    free(g->xg);
    free(g->hg);
    free(g->h);
    free(g);
}

/* y[r] = b[r] + sum_c w[r][c] x[c]. Eight partial sums break the add
 * latency chain (and let the compiler use vector registers) without
 * depending on -ffast-math. */
static void matvec(const float *w, const float *b, unsigned rows, unsigned cols, const float *x,
                   float *y)
{
    enum { LANES = 8 };
    for (unsigned r = 0; r < rows; r++) {
        const float *row = w + (size_t)r * cols;
        float part[LANES] = {0};
        unsigned c = 0;
        for (; c + LANES <= cols; c += LANES)
            for (unsigned k = 0; k < LANES; k++)
                part[k] += row[c + k] * x[c + k];
        float acc = 0;
        for (; c < cols; c++)
            acc += row[c] * x[c];
        for (unsigned k = 0; k < LANES; k++)
            acc += part[k];
        y[r] = acc + b[r];
    }
}

static float sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

void gru_f32_project(const gru_f32_t *g, const float *x, float *xg)
{
    const model_gru_layer *l = g->l;
    matvec(l->w_ih, l->b_ih, 3 * l->hidden, l->input, x, xg);
}

void gru_f32_step(gru_f32_t *g, const float *xg, float *h)
{
    const model_gru_layer *l = g->l;
    unsigned H = l->hidden;
    matvec(l->w_hh, l->b_hh, 3 * H, H, h, g->hg);
    for (unsigned j = 0; j < H; j++) {
        float r = sigmoid(xg[j] + g->hg[j]);
        float z = sigmoid(xg[H + j] + g->hg[H + j]);
        float c = tanhf(xg[2 * H + j] + r * g->hg[2 * H + j]);
        h[j] = (1 - z) * c + z * h[j];
    }
}

void gru_f32_process(gru_f32_t *g, const float *x, unsigned n, float *h_seq)
{
    const model_gru_layer *l = g->l;
    unsigned H = l->hidden, G = 3 * H;
    if (n > g->max_frames) n = g->max_frames;
    /* The input projection does not depend on the state: do it for all frames first. */
    for (unsigned t = 0; t < n; t++)
        gru_f32_project(g, x + (size_t)t * l->input, g->xg + (size_t)t * G);
    memset(g->h, 0, H * sizeof(float));
    for (unsigned t = 0; t < n; t++) {
        gru_f32_step(g, g->xg + (size_t)t * G, g->h);
        memcpy(h_seq + (size_t)t * H, g->h, H * sizeof(float));
    }
}
