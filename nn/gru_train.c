/* gru_train: forward with caches, BPTT backward, AdamW and clipping. */
#include "gru_train.h"

#include "splitmix.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef GRU_TRAIN_DOUBLE
#define GEMM        cblas_dgemm
#define REXP        exp
#define RTANH       tanh
#define RSIGMOID(x) (1.0 / (1.0 + exp(-(x))))
#else
/* The float trainer's gates use the same rational tanh as the int8
 * kernels; the double build (the gradient check) keeps libm's. */
#include "tanh_fast.h"
#define GEMM        cblas_sgemm
#define REXP        expf
#define RTANH       tanh_fast
#define RSIGMOID(x) sigmoid_fast(x)
#endif

struct gru_work {
    gru_shape s;
    unsigned max_batch, max_frames;
    /* Per layer, time-major [t][b][.]: the layer input, the input
     * projection, gates and the state sequence h[0..T] (h[0] = 0). */
    real *xin[GRU_TRAIN_MAX_LAYERS];
    real *gi[GRU_TRAIN_MAX_LAYERS], *ghn[GRU_TRAIN_MAX_LAYERS];
    real *r[GRU_TRAIN_MAX_LAYERS], *z[GRU_TRAIN_MAX_LAYERS], *n[GRU_TRAIN_MAX_LAYERS];
    real *h[GRU_TRAIN_MAX_LAYERS];
    real *drop[GRU_TRAIN_MAX_LAYERS]; /* inverted-dropout factors feeding layer l+1 */
    real *gh;                         /* one step's recurrent projection [B x 3H] */
    real *pool, *pool_drop, *pooled, *logits;
    real *dlogits, *dpool, *dhout, *dgi, *dgh, *dh;
};

int gru_shape_check(const gru_shape *s, char *err, size_t err_len)
{
    const char *why = NULL;
    if (s->n_inputs < 1 || s->n_inputs > 4096)
        why = "n_inputs must be 1..4096";
    else if (s->hidden < 1 || s->hidden > 4096)
        why = "hidden must be 1..4096";
    else if (s->n_layers < 1 || s->n_layers > GRU_TRAIN_MAX_LAYERS)
        why = "layers must be 1..4";
    else if (s->n_labels < 2 || s->n_labels > 256)
        why = "labels must be 2..256";
    if (!why) return 0;
    snprintf(err, err_len, "gru shape: %s", why);
    return -1;
}

static unsigned layer_input(const gru_shape *s, unsigned l)
{
    return l ? s->hidden : s->n_inputs;
}

size_t gru_param_count(const gru_shape *s)
{
    size_t h3 = 3 * (size_t)s->hidden, total = 0;
    for (unsigned l = 0; l < s->n_layers; l++)
        total += h3 * layer_input(s, l) + h3 * s->hidden + 2 * h3;
    return total + (size_t)s->n_labels * s->hidden + s->n_labels;
}

gru_params gru_params_view(const gru_shape *s, real *flat)
{
    gru_params p;
    size_t h3 = 3 * (size_t)s->hidden;
    memset(&p, 0, sizeof p);
    for (unsigned l = 0; l < s->n_layers; l++) {
        p.layer[l].w_ih = flat;
        flat += h3 * layer_input(s, l);
        p.layer[l].w_hh = flat;
        flat += h3 * s->hidden;
        p.layer[l].b_ih = flat;
        flat += h3;
        p.layer[l].b_hh = flat;
        flat += h3;
    }
    p.fc_w = flat;
    p.fc_b = flat + (size_t)s->n_labels * s->hidden;
    return p;
}

void gru_params_init(const gru_shape *s, real *flat, uint64_t seed)
{
    real bound = (real)(1.0 / sqrt((double)s->hidden));
    uint64_t st = seed;
    size_t n = gru_param_count(s);
    for (size_t i = 0; i < n; i++)
        flat[i] = (real)((2.0 * splitmix64_unit(&st) - 1.0) * bound);
}

void gru_params_decay_mask(const gru_shape *s, unsigned char *mask)
{
    size_t h3 = 3 * (size_t)s->hidden, at = 0;
    for (unsigned l = 0; l < s->n_layers; l++) {
        size_t w = h3 * layer_input(s, l) + h3 * s->hidden;
        memset(mask + at, 1, w);
        memset(mask + at + w, 0, 2 * h3);
        at += w + 2 * h3;
    }
    memset(mask + at, 1, (size_t)s->n_labels * s->hidden);
    memset(mask + at + (size_t)s->n_labels * s->hidden, 0, s->n_labels);
}

void gru_work_destroy(gru_work *w)
{
    if (!w) return;
    for (unsigned l = 0; l < GRU_TRAIN_MAX_LAYERS; l++) {
        free(w->xin[l]);
        free(w->gi[l]);
        free(w->ghn[l]);
        free(w->r[l]);
        free(w->z[l]);
        free(w->n[l]);
        free(w->h[l]);
        free(w->drop[l]);
    }
    free(w->gh);
    free(w->pool);
    free(w->pool_drop);
    free(w->pooled);
    free(w->logits);
    free(w->dlogits);
    free(w->dpool);
    free(w->dhout);
    free(w->dgi);
    free(w->dgh);
    free(w->dh);
    free(w);
}

static real *alloc_real(size_t n, int *fail)
{
    real *p = calloc(n ? n : 1, sizeof *p);
    if (!p) *fail = 1;
    return p;
}

gru_work *gru_work_create(const gru_shape *s, unsigned max_batch, unsigned max_frames)
{
    char err[128];
    if (gru_shape_check(s, err, sizeof err) || !max_batch || !max_frames) return NULL;
    gru_work *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->s = *s;
    w->max_batch = max_batch;
    w->max_frames = max_frames;
    size_t tb = (size_t)max_batch * max_frames, H = s->hidden, L = s->n_labels;
    int fail = 0;
    for (unsigned l = 0; l < s->n_layers; l++) {
        w->xin[l] = alloc_real(tb * layer_input(s, l), &fail);
        w->gi[l] = alloc_real(tb * 3 * H, &fail);
        w->ghn[l] = alloc_real(tb * H, &fail);
        w->r[l] = alloc_real(tb * H, &fail);
        w->z[l] = alloc_real(tb * H, &fail);
        w->n[l] = alloc_real(tb * H, &fail);
        w->h[l] = alloc_real((tb + max_batch) * H, &fail);
        if (l + 1 < s->n_layers) w->drop[l] = alloc_real(tb * H, &fail);
    }
    w->gh = alloc_real((size_t)max_batch * 3 * H, &fail);
    w->pool = alloc_real((size_t)max_batch * H, &fail);
    w->pool_drop = alloc_real((size_t)max_batch * H, &fail);
    w->pooled = alloc_real((size_t)max_batch * H, &fail);
    w->logits = alloc_real((size_t)max_batch * L, &fail);
    w->dlogits = alloc_real((size_t)max_batch * L, &fail);
    w->dpool = alloc_real((size_t)max_batch * H, &fail);
    w->dhout = alloc_real(tb * H, &fail);
    w->dgi = alloc_real(tb * 3 * H, &fail);
    w->dgh = alloc_real(tb * 3 * H, &fail);
    w->dh = alloc_real((size_t)max_batch * H, &fail);
    if (fail) {
        gru_work_destroy(w);
        return NULL;
    }
    return w;
}

static real sigmoid(real x)
{
    return RSIGMOID(x);
}

/* Inverted dropout factors: 0 or 1/(1-p), drawn from a stream that depends
 * only on (seed, site, sample), so shards and whole batches agree. */
static void dropout_factors(real *out, size_t stride, unsigned batch, unsigned frames,
                            unsigned width, real p, uint64_t seed, unsigned site,
                            unsigned first_sample)
{
    real keep = (real)1 / ((real)1 - p);
    for (unsigned b = 0; b < batch; b++) {
        uint64_t st = seed ^ ((uint64_t)site << 56) ^ ((uint64_t)(first_sample + b) << 20);
        splitmix64(&st);
        for (unsigned t = 0; t < frames; t++) {
            real *o = out + (size_t)t * stride + (size_t)b * width;
            for (unsigned j = 0; j < width; j++)
                o[j] = splitmix64_unit(&st) < (double)p ? 0 : keep;
        }
    }
}

static void add_bias(real *y, const real *bias, size_t rows, size_t cols)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            y[i * cols + j] += bias[j];
}

static void add_colsum(real *acc, const real *x, size_t rows, size_t cols)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            acc[j] += x[i * cols + j];
}

/* One sample's gates for one time step. Separate arrays that never
 * overlap (restrict) and branch-free arithmetic let the compiler vectorise
 * it: the gates are most of the trainer's time outside the GEMMs. */
static void gate_step(unsigned H, const real *restrict gi, const real *restrict gh,
                      const real *restrict b_hh, const real *restrict hprev, real *restrict r_out,
                      real *restrict z_out, real *restrict n_out, real *restrict ghn_out,
                      real *restrict hnext)
{
    for (unsigned j = 0; j < H; j++) {
        real r = sigmoid(gi[j] + gh[j] + b_hh[j]);
        real z = sigmoid(gi[H + j] + gh[H + j] + b_hh[H + j]);
        real ghn = gh[2 * H + j] + b_hh[2 * H + j];
        real n = RTANH(gi[2 * H + j] + r * ghn);
        r_out[j] = r;
        z_out[j] = z;
        n_out[j] = n;
        ghn_out[j] = ghn;
        hnext[j] = ((real)1 - z) * n + z * hprev[j];
    }
}

static void layer_forward(gru_work *w, const gru_layer_params *p, unsigned l, unsigned batch,
                          unsigned frames)
{
    const unsigned H = w->s.hidden, in = layer_input(&w->s, l);
    const size_t bh = (size_t)batch * H, tb = (size_t)batch * frames;
    real *gi = w->gi[l], *h = w->h[l];
    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)tb, (int)(3 * H), (int)in, 1, w->xin[l],
         (int)in, p->w_ih, (int)in, 0, gi, (int)(3 * H));
    add_bias(gi, p->b_ih, tb, 3 * H);
    memset(h, 0, bh * sizeof *h);
    for (unsigned t = 0; t < frames; t++) {
        const real *hprev = h + t * bh;
        real *hnext = h + (t + 1) * bh;
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)batch, (int)(3 * H), (int)H, 1, hprev,
             (int)H, p->w_hh, (int)H, 0, w->gh, (int)(3 * H));
        for (unsigned b = 0; b < batch; b++) {
            size_t at = t * bh + (size_t)b * H;
            gate_step(H, gi + ((size_t)t * batch + b) * 3 * H, w->gh + (size_t)b * 3 * H, p->b_hh,
                      hprev + (size_t)b * H, w->r[l] + at, w->z[l] + at, w->n[l] + at,
                      w->ghn[l] + at, hnext + (size_t)b * H);
        }
    }
}

/* Runs every layer, pools and applies the dense layer; leaves softmax
 * probabilities in w->logits. drop_p 0 disables dropout. */
static void forward(gru_work *w, const real *params, const real *x, unsigned batch, unsigned frames,
                    real drop_p, uint64_t seed, unsigned first_sample)
{
    const gru_shape *s = &w->s;
    const unsigned H = s->hidden, L = s->n_labels, in = s->n_inputs;
    const size_t bh = (size_t)batch * H;
    gru_params p = gru_params_view(s, (real *)params);
    for (unsigned b = 0; b < batch; b++)
        for (unsigned t = 0; t < frames; t++)
            memcpy(w->xin[0] + ((size_t)t * batch + b) * in, x + ((size_t)b * frames + t) * in,
                   in * sizeof *x);
    for (unsigned l = 0; l < s->n_layers; l++) {
        layer_forward(w, &p.layer[l], l, batch, frames);
        if (l + 1 == s->n_layers) break;
        const real *out = w->h[l] + bh;
        size_t n = bh * frames;
        if (drop_p > 0) {
            dropout_factors(w->drop[l], bh, batch, frames, H, drop_p, seed, l, first_sample);
            for (size_t i = 0; i < n; i++)
                w->xin[l + 1][i] = out[i] * w->drop[l][i];
        } else {
            memcpy(w->xin[l + 1], out, n * sizeof *out);
        }
    }
    const real *hs = w->h[s->n_layers - 1];
    if (s->pool_mean) {
        memset(w->pool, 0, bh * sizeof *w->pool);
        for (unsigned t = 1; t <= frames; t++)
            for (size_t i = 0; i < bh; i++)
                w->pool[i] += hs[t * bh + i];
        for (size_t i = 0; i < bh; i++)
            w->pool[i] /= (real)frames;
    } else {
        memcpy(w->pool, hs + frames * bh, bh * sizeof *w->pool);
    }
    if (drop_p > 0) {
        dropout_factors(w->pool_drop, 0, batch, 1, H, drop_p, seed, GRU_TRAIN_MAX_LAYERS,
                        first_sample);
        for (size_t i = 0; i < bh; i++)
            w->pooled[i] = w->pool[i] * w->pool_drop[i];
    } else {
        memcpy(w->pooled, w->pool, bh * sizeof *w->pool);
    }
    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)batch, (int)L, (int)H, 1, w->pooled, (int)H,
         p.fc_w, (int)H, 0, w->logits, (int)L);
    add_bias(w->logits, p.fc_b, batch, L);
    for (unsigned b = 0; b < batch; b++) {
        real *y = w->logits + (size_t)b * L, top = y[0], sum = 0;
        for (unsigned k = 1; k < L; k++)
            if (y[k] > top) top = y[k];
        for (unsigned k = 0; k < L; k++)
            sum += (y[k] = REXP(y[k] - top));
        for (unsigned k = 0; k < L; k++)
            y[k] /= sum;
    }
}

static void layer_backward(gru_work *w, const gru_layer_params *p, gru_layer_params *g, unsigned l,
                           unsigned batch, unsigned frames)
{
    const unsigned H = w->s.hidden, in = layer_input(&w->s, l);
    const size_t bh = (size_t)batch * H, tb = (size_t)batch * frames;
    real *dh = w->dh;
    memset(dh, 0, bh * sizeof *dh);
    for (unsigned t = frames; t-- > 0;) {
        const real *hprev = w->h[l] + t * bh;
        for (unsigned b = 0; b < batch; b++) {
            size_t at = t * bh + (size_t)b * H;
            real *dgi = w->dgi + ((size_t)t * batch + b) * 3 * H;
            real *dgh = w->dgh + ((size_t)t * batch + b) * 3 * H;
            for (unsigned j = 0; j < H; j++) {
                real r = w->r[l][at + j], z = w->z[l][at + j], n = w->n[l][at + j];
                real d = dh[(size_t)b * H + j] + w->dhout[at + j];
                real dan = d * ((real)1 - z) * ((real)1 - n * n);
                real daz = d * (hprev[(size_t)b * H + j] - n) * z * ((real)1 - z);
                real dar = dan * w->ghn[l][at + j] * r * ((real)1 - r);
                dgi[j] = dgh[j] = dar;
                dgi[H + j] = dgh[H + j] = daz;
                dgi[2 * H + j] = dan;
                dgh[2 * H + j] = dan * r;
                dh[(size_t)b * H + j] = d * z;
            }
        }
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)batch, (int)H, (int)(3 * H), 1,
             w->dgh + (size_t)t * batch * 3 * H, (int)(3 * H), p->w_hh, (int)H, 1, dh, (int)H);
    }
    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(3 * H), (int)H, (int)tb, 1, w->dgh,
         (int)(3 * H), w->h[l], (int)H, 1, g->w_hh, (int)H);
    add_colsum(g->b_hh, w->dgh, tb, 3 * H);
    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(3 * H), (int)in, (int)tb, 1, w->dgi,
         (int)(3 * H), w->xin[l], (int)in, 1, g->w_ih, (int)in);
    add_colsum(g->b_ih, w->dgi, tb, 3 * H);
    if (l == 0) return;
    /* The gradient w.r.t. this layer's input is the one w.r.t. the previous
     * layer's output, through its dropout. */
    GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)tb, (int)H, (int)(3 * H), 1, w->dgi,
         (int)(3 * H), p->w_ih, (int)H, 0, w->dhout, (int)H);
}

/* x^(1/T) renormalised, in double, from probabilities floored where a
 * float softmax underflowed. */
static void temper(const real *x, unsigned L, double inv_t, double *out)
{
    double top = -INFINITY, sum = 0;
    for (unsigned k = 0; k < L; k++) {
        out[k] = inv_t * log((double)x[k] + 1e-30);
        if (out[k] > top) top = out[k];
    }
    for (unsigned k = 0; k < L; k++)
        sum += out[k] = exp(out[k] - top);
    for (unsigned k = 0; k < L; k++)
        out[k] /= sum;
}

/* Turns the hard term already in db (wb (p - y), its loss the caller's)
 * into the distillation mix: scales it by (1 - a) and adds
 * a T^2 d KL(q^T || p^T) / d logits = a T (p^T - q^T). Returns the mix's
 * loss minus the hard loss the caller counted. */
static double distill(const real *p, const real *q, unsigned L, int label, real wb,
                      const gru_train_opts *o, real *db)
{
    enum { MAX_L = 256 };
    double pt[MAX_L], qt[MAX_L], kl = 0;
    double a = o->soft_weight, t = o->temperature > 0 ? o->temperature : 1;
    temper(p, L, 1 / t, pt);
    temper(q, L, 1 / t, qt);
    for (unsigned k = 0; k < L; k++) {
        if (qt[k] > 0) kl += qt[k] * (log(qt[k]) - log(pt[k] + 1e-300));
        db[k] = (real)((1 - a) * db[k] + a * t * wb * (pt[k] - qt[k]));
    }
    double ce = -log((double)p[label] + 1e-30);
    return (double)wb * (a * t * t * kl - a * ce);
}

double gru_train_step(gru_work *w, const real *params, const real *x, unsigned batch,
                      unsigned frames, const int *labels, const real *weight, const real *soft,
                      const gru_train_opts *o, unsigned first_sample, real *grad, real *probs)
{
    const gru_shape *s = &w->s;
    const unsigned H = s->hidden, L = s->n_labels;
    const size_t bh = (size_t)batch * H;
    if (batch > w->max_batch || frames > w->max_frames || !batch || !frames) return NAN;
    forward(w, params, x, batch, frames, o->dropout, o->seed, first_sample);
    if (probs) memcpy(probs, w->logits, (size_t)batch * L * sizeof *probs);

    double loss = 0;
    for (unsigned b = 0; b < batch; b++) {
        real wb = (weight ? weight[b] : 1) * o->loss_scale;
        const real *pb = w->logits + (size_t)b * L;
        real *db = w->dlogits + (size_t)b * L;
        loss -= (double)wb * log((double)pb[labels[b]] + 1e-30);
        for (unsigned k = 0; k < L; k++)
            db[k] = wb * (pb[k] - (k == (unsigned)labels[b]));
        if (soft && o->soft_weight > 0)
            loss += distill(pb, soft + (size_t)b * L, L, labels[b], wb, o, db);
    }

    const real *cp = params;
    gru_params p = gru_params_view(s, (real *)cp), g = gru_params_view(s, grad);
    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)L, (int)H, (int)batch, 1, w->dlogits, (int)L,
         w->pooled, (int)H, 1, g.fc_w, (int)H);
    add_colsum(g.fc_b, w->dlogits, batch, L);
    GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)batch, (int)H, (int)L, 1, w->dlogits,
         (int)L, p.fc_w, (int)H, 0, w->dpool, (int)H);
    if (o->dropout > 0)
        for (size_t i = 0; i < bh; i++)
            w->dpool[i] *= w->pool_drop[i];

    memset(w->dhout, 0, bh * frames * sizeof *w->dhout);
    if (s->pool_mean) {
        for (unsigned t = 0; t < frames; t++)
            for (size_t i = 0; i < bh; i++)
                w->dhout[t * bh + i] = w->dpool[i] / (real)frames;
    } else {
        memcpy(w->dhout + (frames - 1) * bh, w->dpool, bh * sizeof *w->dpool);
    }
    for (unsigned l = s->n_layers; l-- > 0;) {
        layer_backward(w, &p.layer[l], &g.layer[l], l, batch, frames);
        if (l > 0 && o->dropout > 0)
            for (size_t i = 0; i < bh * frames; i++)
                w->dhout[i] *= w->drop[l - 1][i];
    }
    return loss;
}

void gru_forward(gru_work *w, const real *params, const real *x, unsigned batch, unsigned frames,
                 real *probs)
{
    if (batch > w->max_batch || frames > w->max_frames || !batch || !frames) return;
    forward(w, params, x, batch, frames, 0, 0, 0);
    memcpy(probs, w->logits, (size_t)batch * w->s.n_labels * sizeof *probs);
}

void gru_adam_update(real *params, const real *grad, real *m, real *v, const unsigned char *decay,
                     size_t n, const gru_adam_opts *o, unsigned long t)
{
    double c1 = 1.0 - pow((double)o->beta1, (double)t);
    double c2 = 1.0 - pow((double)o->beta2, (double)t);
    real step = (real)((double)o->lr / c1), root_c2 = (real)sqrt(c2);
    for (size_t i = 0; i < n; i++) {
        m[i] = o->beta1 * m[i] + ((real)1 - o->beta1) * grad[i];
        v[i] = o->beta2 * v[i] + ((real)1 - o->beta2) * grad[i] * grad[i];
        if (decay && decay[i]) params[i] -= o->lr * o->weight_decay * params[i];
        params[i] -= step * m[i] / ((real)sqrt((double)v[i]) / root_c2 + o->eps);
    }
}

double gru_clip_grad(real *grad, size_t n, double max_norm)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (double)grad[i] * grad[i];
    double norm = sqrt(sum);
    if (max_norm > 0 && norm > max_norm) {
        real k = (real)(max_norm / norm);
        for (size_t i = 0; i < n; i++)
            grad[i] *= k;
    }
    return norm;
}
