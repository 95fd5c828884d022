/* gru_train: the trainable network of nn/model.h (GRU layers, pooling, dense,
 * softmax) with forward caches and backpropagation through time.
 *
 * Parameters live in one flat array (so Adam and clipping are one loop) in
 * the order, per layer: W_ih [3H x in], W_hh [3H x H], b_ih [3H], b_hh [3H];
 * then fc_w [L x H], fc_b [L]. Gate rows are ordered r, z, n as in PyTorch:
 *   r = sig(W_ir x + b_ir + W_hr h + b_hr)
 *   z = sig(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
 *   h' = (1 - z) * n + z * h
 * A batch is processed time-major so that every matrix product is one GEMM
 * over the whole batch. The same source compiles in float (the trainer) or,
 * with GRU_TRAIN_DOUBLE, in double (the gradient check). */
#ifndef GENRED_GRU_TRAIN_H
#define GENRED_GRU_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef GRU_TRAIN_DOUBLE
typedef double real;
#else
typedef float real;
#endif

#define GRU_TRAIN_MAX_LAYERS 4

typedef struct {
    unsigned n_inputs, hidden, n_layers, n_labels;
    int pool_mean; /* 0: last state, 1: mean over time */
} gru_shape;

typedef struct {
    real *w_ih, *w_hh, *b_ih, *b_hh;
} gru_layer_params;

typedef struct {
    gru_layer_params layer[GRU_TRAIN_MAX_LAYERS];
    real *fc_w, *fc_b;
} gru_params;

/* 0 when the shape is usable, else -1 with the reason in err. */
int gru_shape_check(const gru_shape *s, char *err, size_t err_len);
size_t gru_param_count(const gru_shape *s);
/* Pointers into a flat parameter (or gradient) array. */
gru_params gru_params_view(const gru_shape *s, real *flat);
/* PyTorch's default init: U(-1/sqrt(H), 1/sqrt(H)) for GRU and dense. */
void gru_params_init(const gru_shape *s, real *flat, uint64_t seed);
/* 1 for matrix entries, 0 for biases: what weight decay applies to. */
void gru_params_decay_mask(const gru_shape *s, unsigned char *mask);

/* Scratch and caches for one batch shard; one per thread. */
typedef struct gru_work gru_work;
gru_work *gru_work_create(const gru_shape *s, unsigned max_batch, unsigned max_frames);
void gru_work_destroy(gru_work *w);

typedef struct {
    real dropout;    /* drop probability between layers and before dense */
    uint64_t seed;   /* dropout masks: a function of seed and sample index */
    real loss_scale; /* loss = loss_scale * sum_b weight_b * loss_b */
    /* Distillation (Hinton et al. 2015), used where soft targets are given:
     * loss_b = (1 - soft_weight) CE(label_b, p_b)
     *        + soft_weight T^2 KL(q_b^T || p_b^T),
     * where x^T is the distribution x^(1/T) renormalised (softmax of the
     * log-probabilities over T). T^2 keeps the soft term's gradient on the
     * scale of the hard one's whatever T is. */
    real soft_weight, temperature; /* 0 and (0 = 1) when unused */
} gru_train_opts;

/* x: batch x frames x n_inputs (normalised), labels: batch, weight: batch
 * (NULL = all 1), soft: batch x n_labels teacher probabilities, each row
 * summing to 1 (NULL = hard labels only). Adds d loss / d params to grad and
 * returns the loss of the batch. first_sample offsets the dropout streams so
 * a shard of a batch draws the same masks as the whole batch. probs
 * (batch x n_labels) may be NULL. */
double gru_train_step(gru_work *w, const real *params, const real *x, unsigned batch,
                      unsigned frames, const int *labels, const real *weight, const real *soft,
                      const gru_train_opts *o, unsigned first_sample, real *grad, real *probs);

/* Inference without dropout: probs is batch x n_labels. */
void gru_forward(gru_work *w, const real *params, const real *x, unsigned batch, unsigned frames,
                 real *probs);

/* Adam with decoupled weight decay (AdamW). t counts steps from 1. */
typedef struct {
    real lr, beta1, beta2, eps, weight_decay;
} gru_adam_opts;
void gru_adam_update(real *params, const real *grad, real *m, real *v, const unsigned char *decay,
                     size_t n, const gru_adam_opts *o, unsigned long t);

/* Scales grad so that its L2 norm is at most max_norm; returns the norm
 * before clipping. */
double gru_clip_grad(real *grad, size_t n, double max_norm);

#endif
