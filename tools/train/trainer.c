/* trainer: batches, AdamW steps over threads, validation, selection. */
#include "trainer.h"

#include "cli.h"
#include "clock.h"
#include "metrics.h"
#include "model.h"
#include "sampler.h"
#include "splitmix.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROG        "genre-train"
#define fail(...)   cli_error(PROG, __VA_ARGS__)
#define MAX_THREADS 256
#define MAX_BATCH   4096

typedef struct {
    float *m1, *m2;       /* Adam moments */
    unsigned char *decay; /* weight decay mask */
    unsigned long t;      /* steps taken */
} adam_state;

/* One step's batch, split into a full-window group and a group of shorter
 * windows (from clips shorter than a window), each contiguous. */
typedef struct {
    float *x_long, *x_short;
    int *y_long, *y_short;
    float *soft_long, *soft_short; /* teacher rows under --soft-labels */
    unsigned n_long, n_short, t_short;
} batch;

struct trainer {
    const train_opts *o;
    const corpus *c;
    const eval_geometry *g;
    gru_shape shape;
    size_t n_params;
    unsigned threads, win, C, NI, L;
    double frame_seconds; /* MFCC hop */
    int distil;           /* every training clip has teacher rows */
    model_input_spec input;
    sampler_t *sampler;
    float *params, *chosen, *raw;
    double *average; /* --average-last: the sum of the last epochs' weights */
    adam_state adam;
    batch b;
    /* Per thread. */
    gru_work **work;
    real **grad;
    float **probs, **vx;
    double loss[MAX_THREADS];
    unsigned long correct[MAX_THREADS];
    const float *step_params; /* the weights the passes run on */
    gru_train_opts step;
    /* EQ augmentation: each band's octaves from 1 kHz, and the DCT rows. */
    double *octaves, *dct;
    unsigned n_mels;
    /* Validation: window probabilities of every clip. */
    float *window_probs;
    size_t *offsets;
    unsigned *counts, max_batch;
    eval_totals total, *per_source;
    train_history h;
    double *hist;
};

/* ---- threads -------------------------------------------------------------- */

typedef struct {
    trainer_t *t;
    unsigned index;
} thread_arg;

static void run_threads(trainer_t *t, void *(*fn)(void *))
{
    thread_arg args[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    unsigned started = 1;
    for (unsigned i = 0; i < t->threads; i++)
        args[i] = (thread_arg){t, i};
    for (unsigned i = 1; i < t->threads; i++, started++)
        if (pthread_create(&tid[i], NULL, fn, &args[i])) break;
    fn(&args[0]);
    for (unsigned i = started; i < t->threads; i++)
        fn(&args[i]); /* threads that failed to start run here */
    for (unsigned i = 1; i < started; i++)
        pthread_join(tid[i], NULL);
}

static void shard(unsigned n, unsigned t, unsigned threads, unsigned *from, unsigned *count)
{
    *from = (unsigned)((unsigned long)n * t / threads);
    *count = (unsigned)((unsigned long)n * (t + 1) / threads) - *from;
}

/* ---- augmentation on MFCCs ------------------------------------------------ */

/* Slaney mel scale (the front end's): linear to 1 kHz, logarithmic above. */
static double mel_to_hz(double mel)
{
    const double f_sp = 200.0 / 3, logstep = log(6.4) / 27;
    return mel < 15 ? f_sp * mel : 1000 * exp(logstep * (mel - 15));
}

static double hz_to_mel(double hz)
{
    const double f_sp = 200.0 / 3, logstep = log(6.4) / 27;
    return hz < 1000 ? hz / f_sp : 15 + log(hz / 1000) / logstep;
}

/* A level or EQ change of e[b] dB on mel band b adds DCT(e) to the MFCCs
 * (10 log10 of the band energies, orthonormal DCT-II: mfcc.h), exactly for
 * a change that is flat across each band, so it costs nothing to apply to
 * every training window and needs no audio copy. */
static int eq_init(trainer_t *t, const mfcc_params *p)
{
    unsigned M = p->n_mels, C = p->n_coeffs;
    double top = p->fmax > 0 ? p->fmax : p->sample_rate / 2;
    t->n_mels = M;
    t->octaves = malloc(M * sizeof *t->octaves);
    t->dct = malloc((size_t)M * C * sizeof *t->dct);
    if (!t->octaves || !t->dct) return -1;
    double lo = hz_to_mel(p->fmin), hi = hz_to_mel(top);
    for (unsigned b = 0; b < M; b++) {
        double centre = mel_to_hz(lo + (hi - lo) * (b + 1) / (M + 1));
        t->octaves[b] = log2(fmax(centre, 20) / 1000);
    }
    for (unsigned k = 0; k < C; k++)
        for (unsigned b = 0; b < M; b++)
            t->dct[(size_t)k * M + b] = sqrt((k ? 2.0 : 1.0) / M) * cos(M_PI / M * (b + 0.5) * k);
    return 0;
}

/* A random gain (+-12 dB), tilt (+-2 dB per octave about 1 kHz) and one
 * bell (+-6 dB, 0.5-2 octaves wide): the spread of levels, masterings,
 * speakers and radio processing between the sources. */
static void eq_draw(const trainer_t *t, uint64_t *rng, float *shift)
{
    const train_opts *o = t->o;
    double gain = o->aug_gain ? 24 * splitmix64_unit(rng) - 12 : 0, tilt = 0, bell = 0;
    double centre = 0, width = 1;
    if (o->aug_eq && splitmix64_unit(rng) < 0.7) {
        tilt = 4 * splitmix64_unit(rng) - 2;
        bell = 12 * splitmix64_unit(rng) - 6;
        centre = -3 + 6.5 * splitmix64_unit(rng);
        width = 0.5 + 1.5 * splitmix64_unit(rng);
    }
    for (unsigned k = 0; k < t->C; k++) {
        double s = 0;
        for (unsigned b = 0; b < t->n_mels; b++) {
            double x = t->octaves[b], d = (x - centre) / width;
            s += t->dct[(size_t)k * t->n_mels + b] * (gain + tilt * x + bell * exp(-0.5 * d * d));
        }
        shift[k] = (float)s;
    }
}

/* ---- training step -------------------------------------------------------- */

/* The teacher's row for a window starting at frame `start` of variant f of
 * clip c. A speed-changed copy is shorter or longer than the clean clip the
 * teacher heard, so its position is scaled back to the clean one. */
static void teacher_row(const trainer_t *t, const clip_data *c, const dataset_features *f,
                        unsigned start, float *out)
{
    double stretch = (double)c->variants[0].n_frames / (f->n_frames ? f->n_frames : 1);
    memcpy(out, soft_labels_at(c->soft, start * t->frame_seconds * stretch), t->L * sizeof *out);
}

/* Fills one batch: picks in balance, then each raw window (augmented on
 * MFCCs) becomes network input as the classifier makes it. */
static void fill_batch(trainer_t *t, uint64_t *rng)
{
    sampler_pick picks[MAX_BATCH];
    batch *b = &t->b;
    b->n_long = b->n_short = 0;
    b->t_short = t->win;
    for (unsigned i = 0; i < t->o->batch; i++) {
        picks[i] = sampler_draw(t->sampler, rng);
        unsigned n = t->c->tset.clips[picks[i].clip].variants[picks[i].variant].n_frames;
        if (n < t->win) {
            b->n_short++;
            if (n < b->t_short) b->t_short = n;
        } else {
            b->n_long++;
        }
    }
    unsigned nl = 0, ns = 0;
    float shift[256];
    for (unsigned i = 0; i < t->o->batch; i++) {
        const clip_data *c = &t->c->tset.clips[picks[i].clip];
        const dataset_features *f = &c->variants[picks[i].variant];
        int is_short = f->n_frames < t->win;
        unsigned T = is_short ? b->t_short : t->win, span = f->n_frames - T + 1;
        unsigned start = (unsigned)(splitmix64_unit(rng) * span) % span;
        float *x =
            is_short ? b->x_short + (size_t)ns * T * t->NI : b->x_long + (size_t)nl * T * t->NI;
        memcpy(t->raw, f->frames + (size_t)start * t->C, (size_t)T * t->C * sizeof *x);
        eq_draw(t, rng, shift);
        for (unsigned r = 0; r < T; r++)
            for (unsigned k = 0; k < t->C; k++)
                t->raw[(size_t)r * t->C + k] += shift[k];
        model_input(&t->input, t->raw, T, x);
        if (t->distil)
            teacher_row(t, c, f, start,
                        is_short ? b->soft_short + (size_t)ns * t->L
                                 : b->soft_long + (size_t)nl * t->L);
        if (is_short)
            b->y_short[ns++] = c->label;
        else
            b->y_long[nl++] = c->label;
    }
}

static void *step_worker(void *arg)
{
    thread_arg *a = arg;
    trainer_t *t = a->t;
    unsigned i = a->index, from, n;
    memset(t->grad[i], 0, t->n_params * sizeof *t->grad[i]);
    t->loss[i] = 0;
    t->correct[i] = 0;
    for (int g = 0; g < 2; g++) {
        unsigned total = g ? t->b.n_short : t->b.n_long, T = g ? t->b.t_short : t->win;
        const float *x = g ? t->b.x_short : t->b.x_long;
        const int *y = g ? t->b.y_short : t->b.y_long;
        const float *soft = g ? t->b.soft_short : t->b.soft_long;
        shard(total, i, t->threads, &from, &n);
        if (!n) continue;
        t->loss[i] +=
            gru_train_step(t->work[i], t->step_params, x + (size_t)from * T * t->NI, n, T, y + from,
                           NULL, t->distil ? soft + (size_t)from * t->L : NULL, &t->step,
                           (g ? t->b.n_long : 0) + from, t->grad[i], t->probs[i]);
        for (unsigned k = 0; k < n; k++)
            t->correct[i] +=
                metrics_argmax(t->probs[i] + (size_t)k * t->L, t->L) == (unsigned)y[from + k];
    }
    return NULL;
}

/* One optimiser step on a fresh batch: gradients taken at t->step_params
 * and applied to params. Returns the loss. */
static double train_batch(trainer_t *t, uint64_t *rng, float *params, adam_state *as,
                          const gru_adam_opts *adam, unsigned long *correct)
{
    fill_batch(t, rng);
    t->step =
        (gru_train_opts){(real)t->o->dropout, splitmix64_mix(*rng ^ 0x5eed), (real)1 / t->o->batch,
                         (real)t->o->soft_weight, (real)t->o->temperature};
    run_threads(t, step_worker);
    double loss = 0;
    for (unsigned i = 0; i < t->threads; i++) {
        if (i)
            for (size_t k = 0; k < t->n_params; k++)
                t->grad[0][k] += t->grad[i][k];
        loss += t->loss[i];
        *correct += t->correct[i];
    }
    gru_clip_grad(t->grad[0], t->n_params, t->o->clip_norm);
    gru_adam_update(params, t->grad[0], as->m1, as->m2, as->decay, t->n_params, adam, ++as->t);
    return loss;
}

/* ---- validation ----------------------------------------------------------- */

static void *valid_worker(void *arg)
{
    thread_arg *a = arg;
    trainer_t *t = a->t;
    const clip_set *set = &t->c->vset;
    float *x = t->vx[a->index];
    for (size_t i = a->index; i < set->n; i += t->threads) {
        const dataset_features *f = &set->clips[i].variants[0];
        unsigned length, count = eval_window_count(t->g, f->n_frames, &length);
        for (unsigned w0 = 0; w0 < count; w0 += t->max_batch) {
            unsigned nb = count - w0 < t->max_batch ? count - w0 : t->max_batch;
            for (unsigned b = 0; b < nb; b++)
                model_input(&t->input, f->frames + (size_t)eval_window_start(t->g, w0 + b) * t->C,
                            length, x + (size_t)b * length * t->NI);
            gru_forward(t->work[a->index], t->params, x, nb, length,
                        t->window_probs + t->offsets[i] + (size_t)w0 * t->L);
        }
    }
    return NULL;
}

static double both(const eval_totals *e)
{
    return 0.5 * (metrics_balanced_accuracy(&e->clip) + metrics_balanced_accuracy(&e->window));
}

/* Fills epoch e's validation history. The selection score is the mean over
 * sources of clip- and window-level balanced accuracy: every source counts
 * the same however many clips it has, and the clip score alone moves in big
 * steps on small sets. */
static double validate(trainer_t *t, unsigned e)
{
    run_threads(t, valid_worker);
    unsigned S = t->c->n_sources;
    metrics_clear(&t->total.window);
    metrics_clear(&t->total.clip);
    for (unsigned s = 0; s < S; s++) {
        metrics_clear(&t->per_source[s].window);
        metrics_clear(&t->per_source[s].clip);
    }
    double loss = 0;
    size_t windows = 0;
    float clip[MODEL_MAX_LABELS];
    for (size_t i = 0; i < t->c->vset.n; i++) {
        const clip_data *c = &t->c->vset.clips[i];
        const float *wp = t->window_probs + t->offsets[i];
        memset(clip, 0, sizeof clip);
        for (unsigned w = 0; w < t->counts[i]; w++) {
            for (unsigned k = 0; k < t->L; k++)
                clip[k] += wp[(size_t)w * t->L + k] / (float)t->counts[i];
            loss -= log((double)wp[(size_t)w * t->L + c->label] + 1e-12);
        }
        windows += t->counts[i];
        eval_totals_add(&t->total, c->label, wp, t->counts[i], clip);
        eval_totals_add(&t->per_source[c->source], c->label, wp, t->counts[i], clip);
    }
    double score = 0;
    unsigned scored = 0;
    for (unsigned s = 0; s < S; s++)
        if (metrics_total(&t->per_source[s].clip)) {
            score += both(&t->per_source[s]);
            scored++;
            t->h.source_clip_bal[(size_t)e * CORPUS_MAX_SOURCES + s] =
                metrics_balanced_accuracy(&t->per_source[s].clip);
        }
    train_history *h = &t->h;
    h->valid_loss[e] = loss / (double)(windows ? windows : 1);
    h->valid_win_bal[e] = metrics_balanced_accuracy(&t->total.window);
    h->valid_win_acc[e] = metrics_accuracy(&t->total.window);
    h->valid_clip_bal[e] = metrics_balanced_accuracy(&t->total.clip);
    h->valid_clip_acc[e] = metrics_accuracy(&t->total.clip);
    h->valid_score[e] = scored ? score / scored : 0;
    return h->valid_score[e];
}

/* ---- create, run ---------------------------------------------------------- */

static int valid_init(trainer_t *t)
{
    const clip_set *v = &t->c->vset;
    size_t total = 0;
    t->offsets = calloc(v->n ? v->n : 1, sizeof *t->offsets);
    t->counts = calloc(v->n ? v->n : 1, sizeof *t->counts);
    t->per_source = calloc(CORPUS_MAX_SOURCES, sizeof *t->per_source);
    if (!t->offsets || !t->counts || !t->per_source || eval_totals_init(&t->total, t->L)) return -1;
    for (unsigned s = 0; s < t->c->n_sources; s++)
        if (eval_totals_init(&t->per_source[s], t->L)) return -1;
    for (size_t i = 0; i < v->n; i++) {
        unsigned length;
        t->offsets[i] = total * t->L;
        t->counts[i] = eval_window_count(t->g, v->clips[i].variants[0].n_frames, &length);
        total += t->counts[i];
    }
    t->window_probs = malloc((total ? total : 1) * t->L * sizeof *t->window_probs);
    return t->window_probs ? 0 : -1;
}

static int threads_init(trainer_t *t)
{
    unsigned shard_max = (t->o->batch + t->threads - 1) / t->threads;
    t->work = calloc(t->threads, sizeof *t->work);
    t->grad = calloc(t->threads, sizeof *t->grad);
    t->probs = calloc(t->threads, sizeof *t->probs);
    t->vx = calloc(t->threads, sizeof *t->vx);
    if (!t->work || !t->grad || !t->probs || !t->vx) return -1;
    for (unsigned i = 0; i < t->threads; i++) {
        t->work[i] =
            gru_work_create(&t->shape, shard_max > t->max_batch ? shard_max : t->max_batch, t->win);
        t->grad[i] = malloc(t->n_params * sizeof(real));
        t->probs[i] = malloc((size_t)shard_max * t->L * sizeof(float));
        t->vx[i] = malloc((size_t)t->max_batch * t->win * t->NI * sizeof(float));
        if (!t->work[i] || !t->grad[i] || !t->probs[i] || !t->vx[i]) return -1;
    }
    return 0;
}

static int buffers_init(trainer_t *t)
{
    size_t NP = t->n_params, B = t->o->batch, E = t->o->epochs;
    t->params = malloc(NP * sizeof *t->params);
    t->chosen = malloc(NP * sizeof *t->chosen);
    t->adam = (adam_state){calloc(NP, sizeof(float)), calloc(NP, sizeof(float)), malloc(NP), 0};
    t->raw = malloc((size_t)t->win * t->C * sizeof *t->raw);
    t->b.x_long = malloc(B * t->win * t->NI * sizeof(float));
    t->b.x_short = malloc(B * t->win * t->NI * sizeof(float));
    t->b.y_long = malloc(B * sizeof(int));
    t->b.y_short = malloc(B * sizeof(int));
    t->b.soft_long = malloc(B * t->L * sizeof(float));
    t->b.soft_short = malloc(B * t->L * sizeof(float));
    t->hist = calloc((9 + CORPUS_MAX_SOURCES) * E, sizeof *t->hist);
    if (t->o->average_last && !(t->average = calloc(NP, sizeof *t->average))) return -1;
    if (!t->params || !t->chosen || !t->adam.m1 || !t->adam.m2 || !t->adam.decay || !t->raw ||
        !t->b.x_long || !t->b.x_short || !t->b.y_long || !t->b.y_short || !t->b.soft_long ||
        !t->b.soft_short || !t->hist)
        return -1;
    double *h = t->hist;
    t->h = (train_history){.train_loss = h,
                           .train_acc = h + E,
                           .valid_loss = h + 2 * E,
                           .valid_win_bal = h + 3 * E,
                           .valid_win_acc = h + 4 * E,
                           .valid_clip_bal = h + 5 * E,
                           .valid_clip_acc = h + 6 * E,
                           .valid_score = h + 7 * E,
                           .lr = h + 8 * E,
                           .source_clip_bal = h + 9 * E};
    gru_params_init(&t->shape, t->params, t->o->seed * 7919 + 17);
    gru_params_decay_mask(&t->shape, t->adam.decay);
    memcpy(t->chosen, t->params, NP * sizeof *t->params);
    return 0;
}

trainer_t *trainer_create(const train_opts *o, const corpus *c, const mfcc_params *p,
                          const eval_geometry *g, const model_input_spec *input)
{
    trainer_t *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->o = o;
    t->c = c;
    t->g = g;
    t->threads = o->threads;
    t->win = g->window_frames;
    t->C = p->n_coeffs;
    t->NI = model_input_width(input);
    t->L = c->n_labels;
    t->frame_seconds = p->hop / p->sample_rate;
    t->distil = o->soft_labels && c->tset.n && c->tset.clips[0].soft;
    t->input = *input;
    t->max_batch = 64;
    t->shape = (gru_shape){t->NI, o->hidden, o->layers, t->L, o->pool_mean};
    t->n_params = gru_param_count(&t->shape);
    t->sampler = sampler_create(&c->tset, c->n_labels, c->n_sources);
    if (!t->sampler || o->batch > MAX_BATCH || buffers_init(t) || threads_init(t) ||
        valid_init(t) || eq_init(t, p)) {
        trainer_destroy(t);
        return NULL;
    }
    return t;
}

void trainer_destroy(trainer_t *t)
{
    if (!t) return;
    for (unsigned i = 0; i < t->threads; i++) {
        if (t->work) gru_work_destroy(t->work[i]);
        if (t->grad) free(t->grad[i]);
        if (t->probs) free(t->probs[i]);
        if (t->vx) free(t->vx[i]);
    }
    free(t->work);
    free(t->grad);
    free(t->probs);
    free(t->vx);
    for (unsigned s = 0; t->per_source && s < t->c->n_sources; s++)
        eval_totals_free(&t->per_source[s]);
    free(t->per_source);
    eval_totals_free(&t->total);
    sampler_destroy(t->sampler);
    free(t->params);
    free(t->chosen);
    free(t->average);
    free(t->adam.m1);
    free(t->adam.m2);
    free(t->adam.decay);
    free(t->raw);
    free(t->b.x_long);
    free(t->b.x_short);
    free(t->b.y_long);
    free(t->b.y_short);
    free(t->b.soft_long);
    free(t->b.soft_short);
    free(t->hist);
    free(t->octaves);
    free(t->dct);
    free(t->window_probs);
    free(t->offsets);
    free(t->counts);
    free(t);
}

static void progress(const trainer_t *t, unsigned e, unsigned st, unsigned steps, double loss,
                     double start, double epoch_start)
{
    double elapsed = monotonic_s() - start, done = (double)e * steps + st + 1;
    double rate = (double)(st + 1) * t->o->batch / (monotonic_s() - epoch_start);
    unsigned long eta =
        (unsigned long)fmax(0, elapsed / done * ((double)t->o->epochs * steps - done));
    int bar = (int)(20.0 * (st + 1) / steps);
    fprintf(stderr, "\repoch %u/%u [%.*s%*s] %u/%u loss %.3f %.0f win/s ETA %lum%02lus   ", e + 1,
            t->o->epochs, bar, "####################", 20 - bar, "", st + 1, steps, loss, rate,
            eta / 60, eta % 60);
}

static void epoch_line(const trainer_t *t, unsigned e, int improved, double seconds, double cpu,
                       double cpu_steps)
{
    const train_history *h = &t->h;
    if (isnan(h->valid_loss[e])) {
        fprintf(stderr, "%sepoch %u/%u: train loss %.4f acc %.1f%% | not validated | %.1f s\n",
                isatty(2) ? "\r" : "", e + 1, t->o->epochs, h->train_loss[e], 100 * h->train_acc[e],
                seconds);
        return;
    }
    fprintf(stderr,
            "%sepoch %u/%u: train loss %.4f acc %.1f%% | valid loss %.4f window bal %.1f%% "
            "clip bal %.1f%% (acc %.1f%%)",
            isatty(2) ? "\r" : "", e + 1, t->o->epochs, h->train_loss[e], 100 * h->train_acc[e],
            h->valid_loss[e], 100 * h->valid_win_bal[e], 100 * h->valid_clip_bal[e],
            100 * h->valid_clip_acc[e]);
    for (unsigned s = 0; t->c->n_sources > 1 && s < t->c->n_sources; s++)
        if (metrics_total(&t->per_source[s].clip))
            fprintf(stderr, "%s%s %.1f", s ? ", " : " [clip bal: ", t->c->sources[s],
                    100 * metrics_balanced_accuracy(&t->per_source[s].clip));
    fprintf(stderr, "%s%s | %.1f s, cpu %.2f s (steps %.2f, validation %.2f)\n",
            t->c->n_sources > 1 ? "]" : "", improved ? " *" : "", seconds, cpu, cpu_steps,
            cpu - cpu_steps);
}

/* --valid-every N: every Nth epoch and the last; selecting the best epoch
 * needs them all. */
static int validated(const trainer_t *t, unsigned e)
{
    const train_opts *o = t->o;
    return !o->select_last || o->valid_every <= 1 || (e + 1) % o->valid_every == 0 ||
           e + 1 == o->epochs;
}

/* An epoch not validated: its history holds NaN (plots and metrics.json
 * leave it out) and its score can never be the best. */
static double skip_validation(trainer_t *t, unsigned e)
{
    train_history *h = &t->h;
    h->valid_loss[e] = h->valid_win_bal[e] = h->valid_win_acc[e] = NAN;
    h->valid_clip_bal[e] = h->valid_clip_acc[e] = h->valid_score[e] = NAN;
    for (unsigned s = 0; s < CORPUS_MAX_SOURCES; s++)
        h->source_clip_bal[(size_t)e * CORPUS_MAX_SOURCES + s] = NAN;
    return -INFINITY;
}

/* --average-last N: the weights at the end of each of the last N epochs are
 * summed, and their mean is the model: the usual answer to late-epoch
 * validation scores that swing from epoch to epoch. On our corpus it changed
 * nothing measurable (nn/default_model/README.md), so it is off by default. */
static void average_epoch(trainer_t *t, unsigned e)
{
    unsigned n = t->o->average_last, first = t->o->epochs - n;
    if (!n || e < first) return;
    for (size_t i = 0; i < t->n_params; i++)
        t->average[i] += t->params[i];
    if (e + 1 < t->o->epochs) return;
    for (size_t i = 0; i < t->n_params; i++)
        t->chosen[i] = (float)(t->average[i] / n);
}

void trainer_run(trainer_t *t)
{
    const train_opts *o = t->o;
    unsigned steps = (o->epoch_windows + o->batch - 1) / o->batch;
    double best = -1, start = monotonic_s();
    t->step_params = t->params;
    for (unsigned e = 0; e < o->epochs; e++) {
        double lr = o->lr * (0.05 + 0.95 * 0.5 * (1 + cos(M_PI * e / o->epochs)));
        gru_adam_opts adam = {(real)lr, 0.9f, 0.999f, 1e-8f, (real)o->weight_decay};
        uint64_t rng = splitmix64_mix(o->seed * 1000003ull + e);
        /* CPU of all threads: the epoch line reports it next to wall time,
         * which a shared machine inflates. */
        double loss = 0, epoch_start = monotonic_s(), cpu_start = process_cpu_s();
        unsigned long correct = 0;
        for (unsigned st = 0; st < steps; st++) {
            loss += train_batch(t, &rng, t->params, &t->adam, &adam, &correct);
            if (isatty(2)) progress(t, e, st, steps, loss / (st + 1), start, epoch_start);
        }
        double cpu_steps = process_cpu_s() - cpu_start;
        t->h.train_loss[e] = loss / steps;
        t->h.train_acc[e] = (double)correct / ((double)steps * o->batch);
        t->h.lr[e] = lr;
        double score = validated(t, e) ? validate(t, e) : skip_validation(t, e);
        t->h.epochs_run = e + 1;
        int improved = score > best;
        if (o->select_last || improved) {
            best = score;
            t->h.best_epoch = e + 1;
            memcpy(t->chosen, t->params, t->n_params * sizeof *t->params);
        }
        average_epoch(t, e);
        epoch_line(t, e, improved, monotonic_s() - epoch_start, process_cpu_s() - cpu_start,
                   cpu_steps);
        if (!o->select_last && e + 1 - t->h.best_epoch >= o->patience) {
            fprintf(stderr, "genre-train: early stop: no better validation score for %u epochs\n",
                    o->patience);
            break;
        }
    }
    t->h.seconds = monotonic_s() - start;
}

/* Replaces a matrix by what its int8 image decodes to. */
static void round_trip_int8(float *w, size_t rows, size_t cols, int8_t *q, float *scale)
{
    model_quantize_rows(w, rows, cols, q, scale);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            w[r * cols + c] = (float)q[r * cols + c] * scale[r];
}

static void int8_image(const gru_shape *sh, const float *params, float *image, int8_t *q,
                       float *scale)
{
    size_t rows = 3 * (size_t)sh->hidden;
    memcpy(image, params, gru_param_count(sh) * sizeof *image);
    gru_params v = gru_params_view(sh, image);
    for (unsigned l = 0; l < sh->n_layers; l++) {
        round_trip_int8(v.layer[l].w_ih, rows, l ? sh->hidden : sh->n_inputs, q, scale);
        round_trip_int8(v.layer[l].w_hh, rows, sh->hidden, q, scale);
    }
}

int trainer_finetune_int8(trainer_t *t, float *params)
{
    const train_opts *o = t->o;
    const gru_shape *sh = &t->shape;
    size_t NP = t->n_params, rows = 3 * (size_t)sh->hidden;
    size_t cols = sh->n_inputs > sh->hidden ? sh->n_inputs : sh->hidden;
    float *image = malloc(NP * sizeof *image), *scale = malloc(rows * sizeof *scale);
    int8_t *q = malloc(rows * cols);
    adam_state as = {calloc(NP, sizeof(float)), calloc(NP, sizeof(float)), t->adam.decay, 0};
    int rc = !image || !scale || !q || !as.m1 || !as.m2 ? fail("out of memory") : 0;
    gru_adam_opts adam = {(real)(0.05 * o->lr), 0.9f, 0.999f, 1e-8f, (real)o->weight_decay};
    unsigned steps = (o->epoch_windows + o->batch - 1) / o->batch;
    memcpy(params, t->chosen, NP * sizeof *params);
    t->step_params = image;
    for (unsigned e = 0; !rc && e < o->qat_epochs; e++) {
        uint64_t rng = splitmix64_mix(o->seed * 1000003ull + 0x9a7u + e);
        double loss = 0;
        unsigned long correct = 0;
        for (unsigned st = 0; st < steps; st++) {
            int8_image(sh, params, image, q, scale);
            loss += train_batch(t, &rng, params, &as, &adam, &correct);
        }
        fprintf(stderr, "qat epoch %u/%u: train loss %.4f acc %.1f%%\n", e + 1, o->qat_epochs,
                loss / steps, 100.0 * (double)correct / ((double)steps * o->batch));
    }
    t->step_params = t->params;
    free(image);
    free(scale);
    free(q);
    free(as.m1);
    free(as.m2);
    return rc;
}

const gru_shape *trainer_shape(const trainer_t *t)
{
    return &t->shape;
}

const float *trainer_chosen(const trainer_t *t)
{
    return t->chosen;
}

const train_history *trainer_history(const trainer_t *t)
{
    return &t->h;
}
