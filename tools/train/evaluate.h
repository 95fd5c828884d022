/* evaluate: windows of a clip through a classifier, the clip verdict, and
 * the window- and clip-level confusion matrices genre-eval and genre-train
 * report. A clip gives the windows genred would classify over it (the front
 * end's window/hop rule, dsp/frontend.h) while a whole window fits; a clip
 * shorter than a window but at least min_frames long gives one window of
 * all its frames. The clip verdict is the mean of its
 * window probabilities. */
#ifndef GENRED_EVALUATE_H
#define GENRED_EVALUATE_H

#include "classifier.h"
#include "dataset.h"
#include "metrics.h"

typedef struct {
    unsigned window_frames, min_frames;
    frontend_params frontend;
    uint64_t hop_samples; /* window i starts at frontend_window_start(.., i) */
} eval_geometry;

/* Geometry for a model's front-end and a hop in seconds. */
eval_geometry eval_geometry_for(const mfcc_params *p, double window_seconds, double hop_seconds);
/* The model file at path, or the built-in default when path is NULL. */
model_t *eval_load_model(const char *path, char *err, size_t err_len);
/* The front-end parameters a model was trained on. */
mfcc_params eval_model_params(const model_t *m);

/* Number of windows and their length (n_frames when shorter than a window). */
unsigned eval_window_count(const eval_geometry *g, unsigned n_frames, unsigned *length);
unsigned eval_window_start(const eval_geometry *g, unsigned i);

/* Runs every window of f through c: window_probs gets count x n_labels (may
 * be NULL), clip_probs the mean. Returns the number of windows (0: too
 * short, clip_probs untouched). */
unsigned eval_clip(classifier_t *c, const eval_geometry *g, const dataset_features *f,
                   float *window_probs, float *clip_probs);

typedef struct {
    metrics_confusion window, clip;
} eval_totals;

int eval_totals_init(eval_totals *t, unsigned n_labels);
void eval_totals_free(eval_totals *t);
/* Adds one clip's windows (count x n_labels) and its verdict. */
void eval_totals_add(eval_totals *t, int truth, const float *window_probs, unsigned count,
                     const float *clip_probs);
/* {"clips", "windows", "window": metrics_json, "clip": metrics_json} */
json_t *eval_totals_json(const eval_totals *t, const char (*labels)[64]);

#endif
