/* gru_export: a trained float network (gru_train's flat parameters) as a
 * model_t the classifier, the model file and the daemon use. */
#ifndef GENRED_GRU_EXPORT_H
#define GENRED_GRU_EXPORT_H

#include "gru_train.h"
#include "model.h"

/* inputs: MODEL_INPUT_* flags (s->n_inputs == model_input_count(n_coeffs,
 * inputs)); mean/std: n_inputs; labels: n_labels names. NULL with the reason
 * in err. */
model_t *gru_export(const gru_shape *s, const float *params, const frontend_params *fe,
                    unsigned inputs, const float *mean, const float *std,
                    const char (*labels)[MODEL_MAX_LABEL_LEN + 1], const char *id, char *err,
                    size_t err_len);

#endif
