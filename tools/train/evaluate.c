/* evaluate: clip-level and window-level scoring through the classifier. */
#include "evaluate.h"

#include <math.h>
#include <string.h>

eval_geometry eval_geometry_for(const mfcc_params *p, double window_seconds, double hop_seconds)
{
    eval_geometry g = {
        dataset_window_frames(p, window_seconds), dataset_min_frames(p), {*p, window_seconds}, 0};
    g.hop_samples = frontend_hop_samples(&g.frontend, hop_seconds);
    return g;
}

model_t *eval_load_model(const char *path, char *err, size_t err_len)
{
    return path ? model_load_file(path, err, err_len) : model_load_default(err, err_len);
}

mfcc_params eval_model_params(const model_t *m)
{
    return m->frontend.mfcc;
}

unsigned eval_window_start(const eval_geometry *g, unsigned i)
{
    return (unsigned)frontend_window_start(&g->frontend, g->hop_samples, i);
}

unsigned eval_window_count(const eval_geometry *g, unsigned n_frames, unsigned *length)
{
    if (n_frames >= g->window_frames) {
        unsigned n = 0;
        *length = g->window_frames;
        while (eval_window_start(g, n) + g->window_frames <= n_frames)
            n++;
        return n;
    }
    *length = n_frames;
    return n_frames >= g->min_frames ? 1 : 0;
}

unsigned eval_clip(classifier_t *c, const eval_geometry *g, const dataset_features *f,
                   float *window_probs, float *clip_probs)
{
    unsigned length, count = eval_window_count(g, f->n_frames, &length);
    unsigned L = classifier_model(c)->n_labels;
    float probs[MODEL_MAX_LABELS];
    if (!count) return 0;
    memset(clip_probs, 0, L * sizeof *clip_probs);
    for (unsigned w = 0; w < count; w++) {
        const float *x = f->frames + (size_t)eval_window_start(g, w) * f->n_coeffs;
        classifier_process(c, x, length, probs);
        for (unsigned k = 0; k < L; k++)
            clip_probs[k] += probs[k] / (float)count;
        if (window_probs) memcpy(window_probs + (size_t)w * L, probs, L * sizeof *probs);
    }
    return count;
}

int eval_totals_init(eval_totals *t, unsigned n_labels)
{
    if (metrics_init(&t->window, n_labels)) return -1;
    if (metrics_init(&t->clip, n_labels)) {
        metrics_free(&t->window);
        return -1;
    }
    return 0;
}

void eval_totals_free(eval_totals *t)
{
    metrics_free(&t->window);
    metrics_free(&t->clip);
}

void eval_totals_add(eval_totals *t, int truth, const float *window_probs, unsigned count,
                     const float *clip_probs)
{
    unsigned L = t->clip.n;
    for (unsigned w = 0; w < count; w++)
        metrics_add(&t->window, (unsigned)truth, metrics_argmax(window_probs + (size_t)w * L, L));
    metrics_add(&t->clip, (unsigned)truth, metrics_argmax(clip_probs, L));
}

json_t *eval_totals_json(const eval_totals *t, const char (*labels)[64])
{
    return json_pack("{s:I, s:I, s:o, s:o}", "clips", (json_int_t)metrics_total(&t->clip),
                     "windows", (json_int_t)metrics_total(&t->window), "window",
                     metrics_json(&t->window, labels), "clip", metrics_json(&t->clip, labels));
}
