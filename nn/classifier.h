/* classifier: runs a model on one MFCC window and returns probabilities.
 *
 * All scratch state is sized at create time from the model; process does
 * no allocation, locking or I/O. The model must outlive the classifier and
 * may be shared read-only by many classifiers (one per stream). Each layer
 * runs on the kernel its kind and weights need (gru_layer.h), on the
 * instruction-set table dsp/simd.h's level picks at create time. */
#ifndef GENRED_CLASSIFIER_H
#define GENRED_CLASSIFIER_H

#include "model.h"
#include "simd.h"

#include <stddef.h>

typedef struct classifier classifier_t;

/* max_frames: the longest window that will be passed (the trainer and
 * tools may pass shorter ones). */
classifier_t *classifier_create(const model_t *m, unsigned max_frames, char *err, size_t err_len);
/* The same on the kernels of `level`, for tests and benchmarks comparing
 * levels; classifier_create takes simd_level_get(). */
classifier_t *classifier_create_at(const model_t *m, unsigned max_frames, simd_level level,
                                   char *err, size_t err_len);
void classifier_destroy(classifier_t *c);

/* window: n_frames x n_coeffs raw MFCCs, row-major, oldest first (the model
 * input, deltas and normalisation included, is computed from it: model_input.h).
 * probs: n_labels, summing to 1. */
void classifier_process(classifier_t *c, const float *window, unsigned n_frames, float *probs);

const model_t *classifier_model(const classifier_t *c);

/* The model's head: probs (n_labels) = softmax(fc_w pooled + fc_b), pooled
 * being the last layer's pooled state; uniform if that overflows. */
void classifier_head(const model_t *m, const float *pooled, float *probs);

#endif
