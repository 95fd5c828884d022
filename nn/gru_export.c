/* gru_export: copies flat training parameters into a model_t. */
#include "gru_export.h"

#include <stdio.h>
#include <string.h>

model_t *gru_export(const gru_shape *s, const float *params, const frontend_params *fe,
                    unsigned inputs, const float *mean, const float *std,
                    const char (*labels)[MODEL_MAX_LABEL_LEN + 1], const char *id, char *err,
                    size_t err_len)
{
    if (gru_shape_check(s, err, err_len)) return NULL;
    if (model_input_count(fe->mfcc.n_coeffs, inputs) != s->n_inputs) {
        snprintf(err, err_len,
                 "gru_export: front-end has %u coefficients (input flags %u), network %u inputs",
                 fe->mfcc.n_coeffs, inputs, s->n_inputs);
        return NULL;
    }
    model_t *m =
        model_create(fe, s->n_layers, s->hidden, s->n_labels,
                     s->pool_mean ? MODEL_POOL_MEAN : MODEL_POOL_LAST, inputs, err, err_len);
    if (!m) return NULL;
    gru_params v = gru_params_view(s, (real *)params);
    size_t h3 = 3 * (size_t)s->hidden;
    for (unsigned l = 0; l < s->n_layers; l++) {
        size_t in = l ? s->hidden : s->n_inputs;
        memcpy(m->layers[l].w_ih, v.layer[l].w_ih, h3 * in * sizeof(float));
        memcpy(m->layers[l].w_hh, v.layer[l].w_hh, h3 * s->hidden * sizeof(float));
        memcpy(m->layers[l].b_ih, v.layer[l].b_ih, h3 * sizeof(float));
        memcpy(m->layers[l].b_hh, v.layer[l].b_hh, h3 * sizeof(float));
    }
    memcpy(m->fc_w, v.fc_w, (size_t)s->n_labels * s->hidden * sizeof(float));
    memcpy(m->fc_b, v.fc_b, s->n_labels * sizeof(float));
    memcpy(m->mean, mean, s->n_inputs * sizeof(float));
    memcpy(m->std, std, s->n_inputs * sizeof(float));
    for (unsigned k = 0; k < s->n_labels; k++)
        snprintf(m->labels[k], sizeof m->labels[k], "%s", labels[k]);
    snprintf(m->id, sizeof m->id, "%s", id);
    return m;
}
