#include "stream_classifier.h"

#include "classifier.h"
#include "gru_layer.h"
#include "model_input.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HISTORY 5 /* frames t - 2 .. t + 2: what one input row needs */

typedef struct {
    int live;
    uint64_t first, last; /* frame indices of the window's ends */
    float *state;         /* every layer's hidden state, then the pooled sum */
} window_slot;

struct stream_classifier {
    const model_t *m;
    model_input_spec input;
    unsigned n_frames, n_slots, width;
    gru_layer_t **layers;
    window_slot *slots;
    size_t *state_at; /* offset of layer l's state in a slot; [n_layers]: pooled */
    float *hist;      /* the newest HISTORY frames, oldest first */
    unsigned n_hist;
    uint64_t count; /* frames pushed */
    /* Scratch for one step of up to n_slots windows. */
    float *rows;   /* n_slots x widest input: input rows or lower layers' states */
    float *xg;     /* n_slots x widest G (a layer's rows, model_layer_rows) */
    float *shared; /* an interior input row and its first-layer projection */
    float *shared_xg;
    const float **xgp;
    float **hp;
    unsigned *batch;
};

void stream_classifier_destroy(stream_classifier_t *s)
{
    if (!s) return;
    if (s->layers)
        for (uint32_t l = 0; l < s->m->n_layers; l++)
            gru_layer_destroy(s->layers[l]);
    free(s->layers);
    if (s->slots) free(s->slots[0].state);
    free(s->slots);
    free(s->state_at);
    free(s->hist);
    free(s->rows);
    free(s->xg);
    free(s->shared);
    free(s->shared_xg);
    free(s->xgp);
    free(s->hp);
    free(s->batch);
    free(s);
}

/* Per-slot state layout; returns floats per slot. */
static size_t layout(stream_classifier_t *s, size_t *widest_h, size_t *widest_g)
{
    const model_t *m = s->m;
    size_t at = 0;
    *widest_h = *widest_g = 0;
    for (uint32_t l = 0; l < m->n_layers; l++) {
        s->state_at[l] = at;
        at += m->layers[l].hidden;
        if (m->layers[l].hidden > *widest_h) *widest_h = m->layers[l].hidden;
        if (model_layer_rows(&m->layers[l]) > *widest_g)
            *widest_g = model_layer_rows(&m->layers[l]);
    }
    s->state_at[m->n_layers] = at;
    return at + model_output_hidden(m);
}

static int alloc_all(stream_classifier_t *s, simd_level level)
{
    const model_t *m = s->m;
    unsigned K = s->n_slots;
    s->layers = calloc(m->n_layers, sizeof *s->layers);
    s->state_at = calloc(m->n_layers + 1, sizeof *s->state_at);
    s->slots = calloc(K, sizeof *s->slots);
    if (!s->layers || !s->state_at || !s->slots) return -1;
    for (uint32_t l = 0; l < m->n_layers; l++)
        if (!(s->layers[l] = gru_layer_create_at(&m->layers[l], K, K, level))) return -1;
    size_t widest_h, widest_g, per_slot = layout(s, &widest_h, &widest_g);
    size_t widest_in = widest_h > s->width ? widest_h : s->width;
    float *state = calloc(K * per_slot, sizeof *state);
    if (!state) return -1;
    for (unsigned k = 0; k < K; k++)
        s->slots[k].state = state + k * per_slot;
    s->hist = calloc((size_t)HISTORY * m->frontend.mfcc.n_coeffs, sizeof *s->hist);
    s->rows = malloc(K * widest_in * sizeof *s->rows);
    s->xg = malloc(K * widest_g * sizeof *s->xg);
    s->shared = malloc(s->width * sizeof *s->shared);
    s->shared_xg = malloc(model_layer_rows(&m->layers[0]) * sizeof *s->shared_xg);
    s->xgp = malloc(K * sizeof *s->xgp);
    s->hp = malloc(K * sizeof *s->hp);
    s->batch = malloc(K * sizeof *s->batch);
    return s->hist && s->rows && s->xg && s->shared && s->shared_xg && s->xgp && s->hp && s->batch
               ? 0
               : -1;
}

stream_classifier_t *stream_classifier_create(const model_t *m, unsigned window_frames,
                                              unsigned max_windows, char *err, size_t err_len)
{
    return stream_classifier_create_at(m, window_frames, max_windows, simd_level_get(), err,
                                       err_len);
}

stream_classifier_t *stream_classifier_create_at(const model_t *m, unsigned window_frames,
                                                 unsigned max_windows, simd_level level, char *err,
                                                 size_t err_len)
{
    if (!m || !m->n_layers || !window_frames || !max_windows) {
        snprintf(err, err_len, "stream_classifier: %s",
                 !m || !m->n_layers ? "model: has no layers"
                                    : "window_frames and max_windows must be at least 1");
        return NULL;
    }
    stream_classifier_t *s = calloc(1, sizeof *s);
    if (s) {
        s->m = m;
        s->input = model_input_spec_of(m);
        s->width = model_input_width(&s->input);
        s->n_frames = window_frames;
        s->n_slots = max_windows;
    }
    if (!s || alloc_all(s, level)) {
        stream_classifier_destroy(s);
        snprintf(err, err_len, "stream_classifier: out of memory");
        return NULL;
    }
    return s;
}

void stream_classifier_reset(stream_classifier_t *s)
{
    for (unsigned k = 0; k < s->n_slots; k++)
        s->slots[k].live = 0;
    s->n_hist = 0;
    s->count = 0;
}

/* Frame g (an index still in the history). */
static const float *frame_at(const stream_classifier_t *s, uint64_t g)
{
    uint64_t oldest = s->count - s->n_hist;
    return s->hist + (size_t)(g - oldest) * s->m->frontend.mfcc.n_coeffs;
}

/* The first layer's input projections for window slots idx at frame t:
 * shared when t is interior to the window, else from the window's own row. */
static void first_layer_inputs(stream_classifier_t *s, const unsigned *idx, unsigned n, uint64_t t)
{
    size_t G = model_layer_rows(&s->m->layers[0]);
    unsigned n_edge = 0;
    int shared = 0;
    for (unsigned k = 0; k < n; k++) {
        const window_slot *w = &s->slots[idx[k]];
        uint64_t lo = t >= w->first + 2 ? t - 2 : w->first;
        uint64_t hi = t + 2 <= w->last ? t + 2 : w->last;
        if (lo + 2 == t && hi == t + 2) {
            s->xgp[k] = s->shared_xg;
            shared = 1;
            continue;
        }
        /* Clamping to [lo, hi] is clamping to the window for t - 2 .. t + 2. */
        model_input_row(&s->input, frame_at(s, lo), (unsigned)(hi - lo + 1), (unsigned)(t - lo),
                        s->rows + (size_t)n_edge * s->width);
        s->xgp[k] = s->xg + n_edge++ * G;
    }
    if (shared) {
        model_input_row(&s->input, frame_at(s, t - 2), HISTORY, 2, s->shared);
        gru_layer_project(s->layers[0], s->shared, 1, s->shared_xg);
    }
    if (n_edge) gru_layer_project(s->layers[0], s->rows, n_edge, s->xg);
}

/* Advances windows idx (n of them) by their frame t, through every layer. */
static void advance(stream_classifier_t *s, const unsigned *idx, unsigned n, uint64_t t)
{
    const model_t *m = s->m;
    first_layer_inputs(s, idx, n, t);
    for (uint32_t l = 0; l < m->n_layers; l++) {
        size_t G = model_layer_rows(&m->layers[l]);
        if (l > 0) {
            unsigned below = m->layers[l - 1].hidden;
            for (unsigned k = 0; k < n; k++) {
                memcpy(s->rows + (size_t)k * below, s->slots[idx[k]].state + s->state_at[l - 1],
                       below * sizeof(float));
                s->xgp[k] = s->xg + k * G;
            }
            gru_layer_project(s->layers[l], s->rows, n, s->xg);
        }
        for (unsigned k = 0; k < n; k++)
            s->hp[k] = s->slots[idx[k]].state + s->state_at[l];
        gru_layer_step(s->layers[l], s->xgp, s->hp, n);
    }
    /* Mean pooling as classifier_process sums: in frame order, from 0. */
    uint32_t top = m->n_layers - 1;
    unsigned H = m->layers[top].hidden;
    for (unsigned k = 0; k < n; k++) {
        float *st = s->slots[idx[k]].state;
        for (unsigned j = 0; j < H; j++)
            st[s->state_at[top + 1] + j] += st[s->state_at[top] + j];
    }
}

static void open_window(stream_classifier_t *s, uint64_t f)
{
    for (unsigned k = 0; k < s->n_slots; k++) {
        window_slot *w = &s->slots[k];
        if (w->live) continue;
        w->live = 1;
        w->first = f;
        w->last = f + s->n_frames - 1;
        size_t floats = s->state_at[s->m->n_layers] + model_output_hidden(s->m);
        memset(w->state, 0, floats * sizeof(float));
        return;
    }
}

/* Runs the window in slot k from its last frame to its probabilities. */
static void finish(stream_classifier_t *s, unsigned k, float *probs)
{
    const model_t *m = s->m;
    window_slot *w = &s->slots[k];
    uint32_t top = m->n_layers - 1;
    unsigned H = m->layers[top].hidden;
    float *pooled = w->state + s->state_at[top + 1];
    if (m->pool == MODEL_POOL_LAST)
        memcpy(pooled, w->state + s->state_at[top], H * sizeof(float));
    else
        for (unsigned j = 0; j < H; j++)
            pooled[j] = pooled[j] / (float)s->n_frames;
    classifier_head(m, pooled, probs);
    w->live = 0;
}

static void remember(stream_classifier_t *s, const float *frame)
{
    unsigned C = s->m->frontend.mfcc.n_coeffs;
    if (s->n_hist == HISTORY)
        memmove(s->hist, s->hist + C, (HISTORY - 1) * C * sizeof(float));
    else
        s->n_hist++;
    memcpy(s->hist + (size_t)(s->n_hist - 1) * C, frame, C * sizeof(float));
    s->count++;
}

int stream_classifier_push(stream_classifier_t *s, const float *frame, int start, float *probs)
{
    remember(s, frame);
    uint64_t f = s->count - 1;
    if (start) open_window(s, f);
    /* Every window with frame f - 2 away from its end advances by it at once. */
    unsigned n = 0;
    for (unsigned k = 0; k < s->n_slots; k++) {
        const window_slot *w = &s->slots[k];
        if (w->live && w->first + 2 <= f && f <= w->last) s->batch[n++] = k;
    }
    if (n) advance(s, s->batch, n, f - 2);
    /* The window ending here catches up with its last frames and is done. */
    for (unsigned k = 0; k < s->n_slots; k++) {
        const window_slot *w = &s->slots[k];
        if (!w->live || w->last != f) continue;
        for (uint64_t t = w->first + 2 <= f ? f - 1 : w->first; t <= f; t++)
            advance(s, &k, 1, t);
        finish(s, k, probs);
        return 1;
    }
    return 0;
}
