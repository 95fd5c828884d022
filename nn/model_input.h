/* model_input: turns a raw MFCC window into a model's network input.
 *
 * The one implementation of the model's input transform, shared by the
 * classifier (daemon, tools) and the trainer so that both compute exactly
 * the same numbers. Per frame t of a window of n frames: the n_coeffs
 * coefficients, then (deltas = 1) their deltas over the same window
 *   d[t] = (c[t+1] - c[t-1] + 2 * (c[t+2] - c[t-2])) / 10,
 * frame indices clamped to 0..n-1 (torchaudio.functional.compute_deltas
 * with win_length=5, mode="replicate"); never across windows. With no_c0
 * coefficient 0 is left out of the first group (its delta stays). Each
 * input is then normalised with the model's mean/std, non-finite values
 * become 0. */
#ifndef GENRED_MODEL_INPUT_H
#define GENRED_MODEL_INPUT_H

#include "model.h"

/* What the transform needs: filled from a model_t, or by the trainer
 * before a model exists. mean/std hold model_input_width values. */
typedef struct {
    unsigned n_coeffs, deltas, no_c0;
    const float *mean, *std;
} model_input_spec;

model_input_spec model_input_spec_of(const model_t *m);

/* Number of network inputs per frame: n_coeffs * (1 + deltas) - no_c0. */
unsigned model_input_width(const model_input_spec *s);
/* The spec's MODEL_INPUT_* flags, as model_create takes them. */
unsigned model_input_flags(const model_input_spec *s);

/* c: n x n_coeffs raw coefficients; d: n x n_coeffs deltas (not normalised). */
void model_input_deltas(const float *c, unsigned n, unsigned n_coeffs, float *d);

/* window: n x n_coeffs raw coefficients, oldest first; x: n x width. */
void model_input(const model_input_spec *s, const float *window, unsigned n, float *x);
/* Row t of model_input's x alone (width values). */
void model_input_row(const model_input_spec *s, const float *window, unsigned n, unsigned t,
                     float *row);

#endif
