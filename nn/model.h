/* model: a genre classifier's weights and everything needed to feed it.
 *
 * The network, in PyTorch terms:
 *   f = mfcc_window, or with deltas         N frames x n_coeffs
 *       cat(f, compute_deltas(f))           (nn/model_input.h)
 *   x = (f - mean) / std                    N frames x n_inputs
 *   h = GRU layers (nn.GRU, batch_first)    gates r, z, n; rows ordered r,z,n
 *   p = pool(h)                             last state, or mean over time
 *   y = softmax(fc_w p + fc_b)              n_labels
 *
 * A model is one allocation-owning struct, plain data so that the loader,
 * the trainer and the importer can all fill it. Weights of a layer are
 * either float32 (w_*) or int8 with one float scale per output row (q_*,
 * s_*: w[r][c] ~ q[r][c] * s[r]); biases and the dense layer stay float. */
#ifndef GENRED_MODEL_H
#define GENRED_MODEL_H

#include "frontend.h"

#include <stddef.h>
#include <stdint.h>

#define MODEL_FORMAT_VERSION 3
#define MODEL_MAX_LABELS     256
#define MODEL_MAX_LABEL_LEN  63
#define MODEL_ID_LEN         127

typedef enum { MODEL_POOL_LAST = 0, MODEL_POOL_MEAN = 1 } model_pool;
typedef enum { MODEL_WEIGHTS_F32 = 0, MODEL_WEIGHTS_Q8 = 1 } model_weights;

/* What a layer computes (the file's per-layer `kind`, version 3). A kind
 * has a name and a gate count (model.c's table) and, for each weight
 * type, a kernel (nn/gru_layer.c's table): a new kind is an enumerator
 * and those two rows, plus its kernel. */
typedef enum { MODEL_LAYER_GRU = 0 } model_layer_kind;

/* One recurrent layer: G = gates x hidden rows per matrix, in the kind's
 * gate order (a GRU's: PyTorch's r, z, n). */
typedef struct {
    model_layer_kind kind;
    uint32_t input, hidden;
    model_weights weights;
    float *w_ih, *w_hh;  /* F32: [G x input], [G x H], row-major */
    int8_t *q_ih, *q_hh; /* Q8: same shapes */
    float *s_ih, *s_hh;  /* Q8: per-row scales [G] */
    float *b_ih, *b_hh;  /* [G] */
} model_layer;

/* "GRU"; NULL for a kind this build does not know. */
const char *model_layer_kind_name(uint32_t kind);
/* Rows of a layer's matrices and biases: gates x hidden. */
size_t model_layer_rows(const model_layer *l);

/* What a frame's network inputs are, as model_create's and the file's
 * `inputs` flags: the coefficients, then with MODEL_INPUT_DELTAS their
 * deltas. MODEL_INPUT_NO_C0 leaves coefficient 0 out (with an orthonormal
 * DCT of log-mel energies it is the frame's level, so a gain moves it
 * alone) and keeps its delta: the input no longer sees the level, only its
 * changes. Value 1 is the version-2 file's `deltas = 1`. */
#define MODEL_INPUT_DELTAS 1u
#define MODEL_INPUT_NO_C0  2u

typedef struct {
    frontend_params frontend; /* what it was trained on; every program computes exactly this */
    uint32_t deltas;          /* 0 or 1: each frame's coefficients followed by their deltas */
    uint32_t no_c0;           /* 0 or 1: coefficient 0 left out (MODEL_INPUT_NO_C0) */
    uint32_t n_inputs;        /* == n_coeffs * (1 + deltas) - no_c0 */
    float *mean, *std;        /* [n_inputs] */
    uint32_t n_layers;
    model_layer *layers;
    model_pool pool;
    uint32_t n_labels;
    char (*labels)[MODEL_MAX_LABEL_LEN + 1];
    float *fc_w, *fc_b;        /* [n_labels x hidden of last layer], [n_labels] */
    char id[MODEL_ID_LEN + 1]; /* "name date shorthash" */
    uint32_t file_version;     /* the format version it was loaded from; 0 if not loaded */
} model_t;

/* A zeroed float model with every array allocated for the given shape
 * (mean 0, std 1). inputs: MODEL_INPUT_* flags (0: the coefficients alone).
 * NULL on bad shape with the reason in err. */
model_t *model_create(const frontend_params *fe, uint32_t n_layers, uint32_t hidden,
                      uint32_t n_labels, model_pool pool, uint32_t inputs, char *err,
                      size_t err_len);
/* Network inputs per frame for n_coeffs coefficients and MODEL_INPUT_* flags. */
uint32_t model_input_count(uint32_t n_coeffs, uint32_t inputs);
void model_destroy(model_t *m);

/* One matrix: q[r][c] = round(w[r][c] / scale[r]), scale[r] = max|w[r]| / 127;
 * what model_quantize does to each GRU matrix (the trainer's quantisation-aware
 * fine-tuning sees exactly the weights the int8 model will hold). */
void model_quantize_rows(const float *w, size_t rows, size_t cols, int8_t *q, float *scale);
/* Deep copy with every GRU layer quantized to int8 (symmetric per row). */
model_t *model_quantize(const model_t *m, char *err, size_t err_len);

/* Parse a model file image / file. On failure NULL, with one line
 * "NAME: field: what was wrong" in err (NAME is the path or `name`). */
model_t *model_load_memory(const void *data, size_t size, const char *name, char *err,
                           size_t err_len);
model_t *model_load_file(const char *path, char *err, size_t err_len);

/* Serialise; model_save writes atomically (temp file + rename). */
int model_save(const model_t *m, const char *path, char *err, size_t err_len);
/* Malloc'd file image, for tests and the embedded default model. */
void *model_serialize(const model_t *m, size_t *size, char *err, size_t err_len);
/* The image in format `version` (1..MODEL_FORMAT_VERSION), for files an
 * older build must read and for tests of old files; NULL naming the field
 * when the model needs a newer version (version 1 holds no `inputs` flags,
 * version 2 no layer kind other than GRU). */
void *model_serialize_version(const model_t *m, uint32_t version, size_t *size, char *err,
                              size_t err_len);

/* The built-in default model (compiled into the library). */
model_t *model_load_default(char *err, size_t err_len);

/* Hidden size of the last layer: the dense layer's input. */
uint32_t model_output_hidden(const model_t *m);

/* The one way to build the front end a model needs, for audio at in_rate
 * with `channels` interleaved channels. NULL with a one-line reason in err. */
frontend_t *model_frontend_create(const model_t *m, double in_rate, unsigned channels, char *err,
                                  size_t err_len);
/* Frames in the model's window (frontend_params_window_frames). */
unsigned model_window_frames(const model_t *m);

#endif
