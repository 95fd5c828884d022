#include "classifier.h"

#include "gru_layer.h"
#include "model_input.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct classifier {
    const model_t *m;
    unsigned max_frames;
    gru_layer_t **layers;
    model_input_spec input;
    float *x;      /* max_frames x n_inputs, normalised */
    float *seq[2]; /* max_frames x widest hidden: layer outputs, ping-pong */
    float *pooled; /* last layer's hidden */
};

void classifier_destroy(classifier_t *c)
{
    if (!c) return;
    if (c->layers)
        for (uint32_t i = 0; i < c->m->n_layers; i++)
            gru_layer_destroy(c->layers[i]);
    free(c->layers);
    free(c->x);
    free(c->seq[0]);
    free(c->seq[1]);
    free(c->pooled);
    free(c);
}

classifier_t *classifier_create(const model_t *m, unsigned max_frames, char *err, size_t err_len)
{
    return classifier_create_at(m, max_frames, simd_level_get(), err, err_len);
}

classifier_t *classifier_create_at(const model_t *m, unsigned max_frames, simd_level level,
                                   char *err, size_t err_len)
{
    if (!m || !m->n_layers || !max_frames) {
        snprintf(err, err_len, "classifier: %s",
                 !max_frames ? "max_frames: must be at least 1" : "model: has no layers");
        return NULL;
    }
    classifier_t *c = calloc(1, sizeof *c);
    if (!c) goto oom;
    c->m = m;
    c->input = model_input_spec_of(m);
    c->max_frames = max_frames;
    c->layers = calloc(m->n_layers, sizeof *c->layers);
    if (!c->layers) goto oom;
    size_t widest = 0;
    for (uint32_t i = 0; i < m->n_layers; i++) {
        const model_layer *l = &m->layers[i];
        if (l->hidden > widest) widest = l->hidden;
        c->layers[i] = gru_layer_create_at(l, max_frames, 1, level);
        if (!c->layers[i]) goto oom;
    }
    c->x = malloc((size_t)max_frames * m->n_inputs * sizeof(float));
    c->seq[0] = malloc((size_t)max_frames * widest * sizeof(float));
    c->seq[1] = malloc((size_t)max_frames * widest * sizeof(float));
    c->pooled = malloc(widest * sizeof(float));
    if (!c->x || !c->seq[0] || !c->seq[1] || !c->pooled) goto oom;
    return c;
oom:
    classifier_destroy(c);
    snprintf(err, err_len, "classifier: memory: out of memory");
    return NULL;
}

const model_t *classifier_model(const classifier_t *c)
{
    return c->m;
}

static void pool(const model_t *m, const float *seq, unsigned n, unsigned H, float *out)
{
    if (m->pool == MODEL_POOL_LAST) {
        memcpy(out, seq + (size_t)(n - 1) * H, H * sizeof(float));
        return;
    }
    for (unsigned j = 0; j < H; j++) {
        float acc = 0;
        for (unsigned t = 0; t < n; t++)
            acc += seq[(size_t)t * H + j];
        out[j] = acc / (float)n;
    }
}

void classifier_head(const model_t *m, const float *p, float *probs)
{
    unsigned H = model_output_hidden(m);
    float max = -INFINITY;
    for (uint32_t k = 0; k < m->n_labels; k++) {
        const float *w = m->fc_w + (size_t)k * H;
        float acc = 0;
        for (unsigned j = 0; j < H; j++)
            acc += w[j] * p[j];
        probs[k] = acc + m->fc_b[k];
        if (probs[k] > max) max = probs[k];
    }
    double sum = 0;
    for (uint32_t k = 0; k < m->n_labels; k++) {
        probs[k] = expf(probs[k] - max);
        sum += probs[k];
    }
    /* Absurd weights can overflow to Inf/NaN; callers are promised a distribution. */
    int finite = isfinite(sum) && sum > 0;
    for (uint32_t k = 0; k < m->n_labels; k++)
        probs[k] = finite ? (float)(probs[k] / sum) : 1.0f / (float)m->n_labels;
}

void classifier_process(classifier_t *c, const float *window, unsigned n_frames, float *probs)
{
    const model_t *m = c->m;
    if (!n_frames) {
        for (uint32_t k = 0; k < m->n_labels; k++)
            probs[k] = 1.0f / (float)m->n_labels;
        return;
    }
    if (n_frames > c->max_frames) { /* keep the newest frames */
        window += (size_t)(n_frames - c->max_frames) * m->frontend.mfcc.n_coeffs;
        n_frames = c->max_frames;
    }
    model_input(&c->input, window, n_frames, c->x);
    const float *in = c->x;
    float *out = c->seq[0];
    for (uint32_t i = 0; i < m->n_layers; i++) {
        gru_layer_process(c->layers[i], in, n_frames, out);
        in = out;
        out = c->seq[(i + 1) & 1];
    }
    unsigned H = model_output_hidden(m);
    pool(m, in, n_frames, H, c->pooled);
    classifier_head(m, c->pooled, probs);
}
