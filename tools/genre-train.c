/* genre-train: trains a genre model on MFCC windows of listed clips, with
 * the same front-end the daemon runs, and writes the int8 model plus a
 * report (metrics.json, curves and confusion matrix as SVG). */
#include "dataset.h"
#include "evaluate.h"
#include "gru_export.h"
#include "gru_train.h"
#include "metrics.h"
#include "model.h"
#include "model_input.h"
#include "plot.h"

#include <cblas.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "cli.h"

#define PROG      "genre-train"
#define fail(...) cli_error(PROG, __VA_ARGS__)

#define MAX_EXTRA 8

typedef struct {
    const char *root, *out, *report, *cache;
    const char *train[MAX_EXTRA], *valid[MAX_EXTRA]; /* lists under root */
    unsigned n_train, n_valid;
    const char *train_extra[MAX_EXTRA], *valid_extra[MAX_EXTRA];
    unsigned n_train_extra, n_valid_extra;
    double extra_level_db;
    unsigned hidden, layers, coeffs, mels;
    int pool_mean, select_last, deltas;
    unsigned epochs, batch, epoch_windows, patience, threads, variants;
    double lr, weight_decay, dropout, clip_norm, hop_seconds;
    unsigned qat_epochs;
    int qat_always;
    unsigned long seed;
    int aug_gain, aug_noise, aug_lowpass, aug_speed;
    const char *name;
} train_opts;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: genre-train --root DIR --train LIST --valid LIST --out MODEL [options]\n"
            "  --train, --valid          lists under --root (repeatable)\n"
            "  --train-extra ROOT:LIST   more training clips from another root (repeatable);\n"
            "  --valid-extra ROOT:LIST   more validation clips (repeatable); extra clips are\n"
            "                            level-normalised (--extra-level-db, default -19 dBFS)\n"
            "  --report DIR              metrics.json and SVG plots (default: MODEL's folder)\n"
            "  --cache DIR               feature cache (default: REPORT/cache; 'none' disables)\n"
            "  --hidden N (128) --layers N (1) --pool last|mean (mean) --coeffs N (20)\n"
            "  --deltas | --no-deltas    inputs: coefficients and their deltas (default), or\n"
            "                            the coefficients alone\n"
            "  --mels N (128) --epochs N (40) --batch N (64) --epoch-windows N (3072)\n"
            "  --patience N (15) --lr X (0.002) --weight-decay X (0.01) --dropout X (0.2)\n"
            "  --clip-norm X (2) --hop S (0.5: validation window hop) --seed N (1)\n"
            "  --threads N (all cores) --variants N (3 augmented copies per clip)\n"
            "  --no-augment | --no-gain --no-noise --no-lowpass --no-speed\n"
            "  --name NAME (genred) model id prefix\n"
            "  --qat-epochs N (5): quantisation-aware fine-tuning epochs, run when the int8\n"
            "                     model loses more than 0.5 points of clip balanced accuracy\n"
            "                     to the float one (0: never); --qat-always: run them anyway\n"
            "  --select best|last (best): keep the epoch with the best validation score, or\n"
            "                     the last one (for a final run on train+valid)\n");
}

static int parse_args(int argc, char **argv, train_opts *o)
{
    static const struct option longs[] = {
        {"root", 1, 0, 'r'},          {"train", 1, 0, 't'},       {"valid", 1, 0, 'v'},
        {"out", 1, 0, 'o'},           {"report", 1, 0, 'R'},      {"cache", 1, 0, 'C'},
        {"train-extra", 1, 0, 'T'},   {"valid-extra", 1, 0, 'V'}, {"extra-level-db", 1, 0, 'E'},
        {"hidden", 1, 0, 'H'},        {"layers", 1, 0, 'L'},      {"pool", 1, 0, 'P'},
        {"coeffs", 1, 0, 'c'},        {"mels", 1, 0, 'm'},        {"deltas", 0, 0, 'Y'},
        {"no-deltas", 0, 0, 'y'},     {"epochs", 1, 0, 'e'},      {"batch", 1, 0, 'b'},
        {"epoch-windows", 1, 0, 'w'}, {"patience", 1, 0, 'p'},    {"lr", 1, 0, 'l'},
        {"weight-decay", 1, 0, 'd'},  {"dropout", 1, 0, 'D'},     {"clip-norm", 1, 0, 'n'},
        {"hop", 1, 0, 'h'},           {"seed", 1, 0, 's'},        {"threads", 1, 0, 'j'},
        {"variants", 1, 0, 'k'},      {"no-augment", 0, 0, 'A'},  {"no-gain", 0, 0, 'G'},
        {"no-noise", 0, 0, 'N'},      {"no-lowpass", 0, 0, 'W'},  {"no-speed", 0, 0, 'S'},
        {"name", 1, 0, 'x'},          {"select", 1, 0, 'Z'},      {"qat-epochs", 1, 0, 'Q'},
        {"qat-always", 0, 0, 'K'},    {"help", 0, 0, '?'},        {0, 0, 0, 0}};
    unsigned u;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    *o = (train_opts){.extra_level_db = -19,
                      .hidden = 128,
                      .layers = 1,
                      .coeffs = 20,
                      .mels = 128,
                      .pool_mean = 1,
                      .deltas = 1,
                      .epochs = 40,
                      .batch = 64,
                      .epoch_windows = 3072,
                      .patience = 15,
                      .threads = cores > 0 ? (unsigned)cores : 1,
                      .variants = 3,
                      .lr = 0.002,
                      .weight_decay = 0.01,
                      .dropout = 0.2,
                      .qat_epochs = 5,
                      .clip_norm = 2,
                      .hop_seconds = 0.5,
                      .seed = 1,
                      .aug_gain = 1,
                      .aug_noise = 1,
                      .aug_lowpass = 1,
                      .aug_speed = 1,
                      .name = "genred"};
    int c, rc = 0;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        const char *name = optind > 0 && optind <= argc ? argv[optind - 1] + 2 : "?";
        switch (c) {
        case 'r':
            o->root = optarg;
            break;
        case 't':
            if (o->n_train == MAX_EXTRA) return fail("--train: at most %d", MAX_EXTRA);
            o->train[o->n_train++] = optarg;
            break;
        case 'v':
            if (o->n_valid == MAX_EXTRA) return fail("--valid: at most %d", MAX_EXTRA);
            o->valid[o->n_valid++] = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'R':
            o->report = optarg;
            break;
        case 'C':
            o->cache = optarg;
            break;
        case 'T':
        case 'V': {
            unsigned *n = c == 'T' ? &o->n_train_extra : &o->n_valid_extra;
            if (!strchr(optarg, ':'))
                return fail("--%s: expected ROOT:LIST, got '%s'", name, optarg);
            if (*n == MAX_EXTRA) return fail("--%s: at most %d", name, MAX_EXTRA);
            (c == 'T' ? o->train_extra : o->valid_extra)[(*n)++] = optarg;
            break;
        }
        case 'E':
            rc = cli_real(PROG, "extra-level-db", optarg, -80, 0, &o->extra_level_db);
            break;
        case 'H':
            rc = cli_uint(PROG, "hidden", optarg, 4, 512, &o->hidden);
            break;
        case 'L':
            rc = cli_uint(PROG, "layers", optarg, 1, GRU_TRAIN_MAX_LAYERS, &o->layers);
            break;
        case 'P':
            if (strcmp(optarg, "last") && strcmp(optarg, "mean"))
                return fail("--pool: '%s' is not last or mean", optarg);
            o->pool_mean = !strcmp(optarg, "mean");
            break;
        case 'c':
            rc = cli_uint(PROG, "coeffs", optarg, 2, 128, &o->coeffs);
            break;
        case 'm':
            rc = cli_uint(PROG, "mels", optarg, 8, 256, &o->mels);
            break;
        case 'Y':
        case 'y':
            o->deltas = c == 'Y';
            break;
        case 'e':
            rc = cli_uint(PROG, "epochs", optarg, 1, 100000, &o->epochs);
            break;
        case 'b':
            rc = cli_uint(PROG, "batch", optarg, 1, 4096, &o->batch);
            break;
        case 'w':
            rc = cli_uint(PROG, "epoch-windows", optarg, 1, 10000000, &o->epoch_windows);
            break;
        case 'p':
            rc = cli_uint(PROG, "patience", optarg, 1, 100000, &o->patience);
            break;
        case 'l':
            rc = cli_real(PROG, "lr", optarg, 1e-7, 1, &o->lr);
            break;
        case 'd':
            rc = cli_real(PROG, "weight-decay", optarg, 0, 1, &o->weight_decay);
            break;
        case 'Q':
            rc = cli_uint(PROG, "qat-epochs", optarg, 0, 1000, &o->qat_epochs);
            break;
        case 'K':
            o->qat_always = 1;
            break;
        case 'D':
            rc = cli_real(PROG, "dropout", optarg, 0, 0.9, &o->dropout);
            break;
        case 'n':
            rc = cli_real(PROG, "clip-norm", optarg, 0, 1e6, &o->clip_norm);
            break;
        case 'h':
            rc = cli_real(PROG, "hop", optarg, 0.01, 60, &o->hop_seconds);
            break;
        case 's':
            if (cli_uint(PROG, "seed", optarg, 0, UINT_MAX, &u)) return 2;
            o->seed = u;
            break;
        case 'j':
            rc = cli_uint(PROG, "threads", optarg, 1, 256, &o->threads);
            break;
        case 'k':
            rc = cli_uint(PROG, "variants", optarg, 0, 32, &o->variants);
            break;
        case 'A':
            o->aug_gain = o->aug_noise = o->aug_lowpass = o->aug_speed = 0;
            break;
        case 'G':
            o->aug_gain = 0;
            break;
        case 'N':
            o->aug_noise = 0;
            break;
        case 'W':
            o->aug_lowpass = 0;
            break;
        case 'S':
            o->aug_speed = 0;
            break;
        case 'Z':
            if (strcmp(optarg, "best") && strcmp(optarg, "last"))
                return fail("--select: '%s' is not best or last", optarg);
            o->select_last = !strcmp(optarg, "last");
            break;
        case 'x':
            if (strlen(optarg) > 64 || strchr(optarg, ' '))
                return fail("--name: '%s' must be at most 64 characters without spaces", optarg);
            o->name = optarg;
            break;
        case '?':
            if (optopt == 0 && !strcmp(argv[optind - 1], "--help")) {
                usage(stdout);
                exit(0);
            }
            usage(stderr);
            return fail("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (rc) return 2;
    if (optind < argc) return fail("unexpected argument '%s'", argv[optind]);
    if (!o->root || !o->n_train || !o->n_valid || !o->out) {
        usage(stderr);
        return fail("--root, --train, --valid and --out are required");
    }
    if (!o->aug_noise && !o->aug_lowpass && !o->aug_speed) o->variants = 0;
    return 0;
}

/* ---- data ---------------------------------------------------------------- */

typedef struct {
    dataset_features *variants; /* [0] clean, then augmented copies */
    unsigned n_variants;
    int label;
    const char *path;
} clip_data;

typedef struct {
    clip_data *clips;
    size_t n;
} clip_set;

static int load_lists(dataset *d, const char *root, const char *const *lists, unsigned n_lists,
                      const char *const *extra, unsigned n_extra, double level_db, char *err,
                      size_t err_len)
{
    for (unsigned i = 0; i < n_lists; i++)
        if (dataset_add_list(d, root, lists[i], -1000, err, err_len)) return -1;
    for (unsigned i = 0; i < n_extra; i++) {
        char spec[4096];
        snprintf(spec, sizeof spec, "%s", extra[i]);
        char *colon = strrchr(spec, ':');
        *colon = 0;
        if (dataset_add_list(d, spec, colon + 1, level_db, err, err_len)) return -1;
    }
    return 0;
}

typedef struct {
    const dataset *d;
    const mfcc_params *p;
    const char *cache;
    const train_opts *o;
    unsigned variants;     /* per clip, including the clean one */
    dataset_features *out; /* n_clips x variants */
    char (*errors)[512];   /* per clip */
    size_t next;
    pthread_mutex_t lock;
    size_t done, total;
} extract_job;

static uint64_t mix64(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static double unit(uint64_t *st)
{
    *st += 0x9E3779B97F4A7C15ull;
    return (double)(mix64(*st) >> 11) / 9007199254740992.0;
}

/* Augmentation of copy v of a clip: a fixed function of the clip's list line
 * and v (not of --seed, nor of where the corpus is mounted), so cached copies
 * stay valid across runs and a run repeats on another machine. */
static void variant_augment(const train_opts *o, const char *rel, unsigned v, dataset_augment *a)
{
    dataset_augment_none(a);
    if (v == 0) return;
    uint64_t st = crc32(0, (const unsigned char *)rel, (unsigned)strlen(rel)) * 1000003ull + v;
    if (o->aug_noise && unit(&st) < 0.5) a->snr_db = 5 + 25 * unit(&st);
    if (o->aug_lowpass && unit(&st) < 0.5) a->lowpass_hz = 2500 + 5500 * unit(&st);
    /* Few distinct speeds, so the front-ends (one per rate) can be reused. */
    if (o->aug_speed) a->speed = 0.92 + 0.02 * (unsigned)(unit(&st) * 8.999);
    a->seed = mix64(st);
}

static void *extract_worker(void *arg)
{
    extract_job *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        size_t i = j->next++;
        pthread_mutex_unlock(&j->lock);
        if (i >= j->total) break;
        size_t clip = i / j->variants;
        unsigned v = (unsigned)(i % j->variants);
        const dataset_clip *c = &j->d->clips[clip];
        dataset_augment a;
        variant_augment(j->o, c->rel, v, &a);
        char err[512];
        if (dataset_features_cached(j->cache, c->path, j->p, c->level_dbfs, &a, &j->out[i], err,
                                    sizeof err))
            snprintf(j->errors[clip], sizeof j->errors[clip], "%s", err);
        pthread_mutex_lock(&j->lock);
        j->done++;
        if (isatty(2) && (j->done % 16 == 0 || j->done == j->total))
            fprintf(stderr, "\rfeatures: %zu/%zu", j->done, j->total);
        pthread_mutex_unlock(&j->lock);
    }
    dataset_thread_release();
    return NULL;
}

/* Features of every clip of d (variants copies each); clips that cannot be
 * decoded or are too short are skipped with a warning naming them. */
static int extract(const dataset *d, const mfcc_params *p, const train_opts *o, unsigned variants,
                   unsigned min_frames, const char *what, clip_set *set)
{
    extract_job j = {.d = d, .p = p, .cache = o->cache, .o = o, .variants = variants};
    j.total = d->n_clips * variants;
    j.out = calloc(j.total, sizeof *j.out);
    j.errors = calloc(d->n_clips, sizeof *j.errors);
    set->clips = calloc(d->n_clips, sizeof *set->clips);
    if (!j.out || !j.errors || !set->clips) return fail("out of memory");
    pthread_mutex_init(&j.lock, NULL);
    pthread_t tid[256];
    unsigned n = o->threads;
    for (unsigned t = 1; t < n; t++)
        if (pthread_create(&tid[t], NULL, extract_worker, &j)) n = t;
    extract_worker(&j);
    for (unsigned t = 1; t < n; t++)
        pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&j.lock);
    if (isatty(2)) fprintf(stderr, "\n");
    set->n = 0;
    for (size_t i = 0; i < d->n_clips; i++) {
        dataset_features *f = j.out + i * variants;
        int ok = !j.errors[i][0];
        if (!ok) {
            fprintf(stderr, "genre-train: warning: skipping %s\n", j.errors[i]);
        } else if (f[0].n_frames < min_frames) {
            fprintf(stderr, "genre-train: warning: skipping %s: shorter than 1 s\n",
                    d->clips[i].path);
            ok = 0;
        }
        if (!ok) {
            for (unsigned v = 0; v < variants; v++)
                dataset_features_free(&f[v]);
            continue;
        }
        clip_data *c = &set->clips[set->n++];
        c->variants = malloc(variants * sizeof *c->variants);
        if (!c->variants) return fail("out of memory");
        memcpy(c->variants, f, variants * sizeof *f);
        c->n_variants = variants;
        c->label = d->clips[i].label_index;
        c->path = d->clips[i].path;
    }
    free(j.out);
    free(j.errors);
    fprintf(stderr, "genre-train: %s: %zu clips usable of %zu\n", what, set->n, d->n_clips);
    return set->n ? 0 : fail("%s: no usable clips", what);
}

static void clip_set_free(clip_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        for (unsigned v = 0; v < s->clips[i].n_variants; v++)
            dataset_features_free(&s->clips[i].variants[v]);
        free(s->clips[i].variants);
    }
    free(s->clips);
}

/* Per-input mean and standard deviation over the clean training clips, cut
 * into consecutive windows of W frames so that deltas are taken exactly as
 * the network will see them (within a window, edges clamped). */
static int feature_stats(const clip_set *s, unsigned C, unsigned deltas, unsigned W, float *mean,
                         float *std)
{
    unsigned NI = C * (1 + deltas);
    double sum[256] = {0}, sq[256] = {0};
    size_t count = 0;
    float *d = malloc((size_t)W * C * sizeof *d);
    if (!d) return fail("out of memory");
    for (size_t i = 0; i < s->n; i++) {
        const dataset_features *f = &s->clips[i].variants[0];
        for (size_t r0 = 0; r0 < f->n_frames; r0 += W) {
            unsigned n = f->n_frames - r0 < W ? (unsigned)(f->n_frames - r0) : W;
            const float *c = f->frames + r0 * C;
            if (deltas) model_input_deltas(c, n, C, d);
            for (unsigned r = 0; r < n; r++)
                for (unsigned k = 0; k < NI; k++) {
                    double x = k < C ? c[(size_t)r * C + k] : d[(size_t)r * C + k - C];
                    sum[k] += x;
                    sq[k] += x * x;
                }
            count += n;
        }
    }
    free(d);
    for (unsigned k = 0; k < NI; k++) {
        double m = sum[k] / (double)count, var = sq[k] / (double)count - m * m;
        mean[k] = (float)m;
        std[k] = (float)(var > 1e-12 ? sqrt(var) : 1);
    }
    return 0;
}

/* ---- training ------------------------------------------------------------ */

typedef struct {
    gru_shape shape;
    size_t n_params;
    unsigned threads, batch, win, C, NI; /* NI: network inputs per frame */
    model_input_spec input;              /* raw window -> network input */
    float *raw;                          /* one raw window, win x C */
    gru_work **work;
    real **grad;
    /* One step's batch, split into a full-window group and a group of
     * shorter windows (from short clips), each contiguous. */
    float *x_long, *x_short;
    int *y_long, *y_short;
    unsigned n_long, n_short, t_short;
    const float *params;
    gru_train_opts opts;
    double loss[256];
    unsigned long correct[256];
    float *probs[256];
} step_ctx;

typedef struct {
    step_ctx *s;
    unsigned t;
} step_arg;

static void shard(unsigned n, unsigned t, unsigned threads, unsigned *from, unsigned *count)
{
    *from = (unsigned)((unsigned long)n * t / threads);
    *count = (unsigned)((unsigned long)n * (t + 1) / threads) - *from;
}

static void *step_worker(void *arg)
{
    step_arg *a = arg;
    step_ctx *s = a->s;
    unsigned t = a->t, from, n;
    memset(s->grad[t], 0, s->n_params * sizeof *s->grad[t]);
    s->loss[t] = 0;
    s->correct[t] = 0;
    unsigned L = s->shape.n_labels;
    for (int g = 0; g < 2; g++) {
        unsigned total = g ? s->n_short : s->n_long, T = g ? s->t_short : s->win;
        const float *x = g ? s->x_short : s->x_long;
        const int *y = g ? s->y_short : s->y_long;
        shard(total, t, s->threads, &from, &n);
        if (!n) continue;
        s->loss[t] +=
            gru_train_step(s->work[t], s->params, x + (size_t)from * T * s->NI, n, T, y + from,
                           NULL, &s->opts, (g ? s->n_long : 0) + from, s->grad[t], s->probs[t]);
        for (unsigned b = 0; b < n; b++)
            s->correct[t] +=
                metrics_argmax(s->probs[t] + (size_t)b * L, L) == (unsigned)y[from + b];
    }
    return NULL;
}

static void run_threads(unsigned threads, void *(*fn)(void *), void *ctx, size_t arg_size,
                        void *args)
{
    pthread_t tid[256];
    unsigned started = 1;
    for (unsigned t = 1; t < threads; t++, started++)
        if (pthread_create(&tid[t], NULL, fn, (char *)args + t * arg_size)) break;
    fn(args);
    for (unsigned t = started; t < threads; t++)
        fn((char *)args + t * arg_size); /* threads that failed to start run here */
    for (unsigned t = 1; t < started; t++)
        pthread_join(tid[t], NULL);
    (void)ctx;
}

/* Labels present in the training set, and its clips grouped by label, for
 * class-balanced sampling: a label uniformly, then a clip of it. */
typedef struct {
    unsigned n_labels, present;
    unsigned *label_of; /* [present] */
    size_t **clips;     /* [n_labels] lists */
    size_t *count;      /* [n_labels] */
} sampler;

static int sampler_init(sampler *s, const clip_set *set, unsigned n_labels)
{
    s->n_labels = n_labels;
    s->label_of = calloc(n_labels, sizeof *s->label_of);
    s->clips = calloc(n_labels, sizeof *s->clips);
    s->count = calloc(n_labels, sizeof *s->count);
    if (!s->label_of || !s->clips || !s->count) return -1;
    for (unsigned k = 0; k < n_labels; k++) {
        s->clips[k] = malloc((set->n ? set->n : 1) * sizeof **s->clips);
        if (!s->clips[k]) return -1;
    }
    for (size_t i = 0; i < set->n; i++) {
        unsigned k = (unsigned)set->clips[i].label;
        s->clips[k][s->count[k]++] = i;
    }
    s->present = 0;
    for (unsigned k = 0; k < n_labels; k++)
        if (s->count[k]) s->label_of[s->present++] = k;
    return 0;
}

static void sampler_free(sampler *s)
{
    for (unsigned k = 0; k < s->n_labels && s->clips; k++)
        free(s->clips[k]);
    free(s->clips);
    free(s->label_of);
    free(s->count);
}

/* Fills one training batch. Full windows start at a random frame; clips
 * shorter than a window go to the short group, all cut to the shortest of
 * them. Each raw window becomes network input as the classifier makes it
 * (model_input). Gain augmentation is exact on MFCCs: a gain of g dB adds
 * g * sqrt(n_mels) to c0 of the orthonormal DCT and changes nothing else
 * (its deltas, of a constant, stay 0). */
static void fill_batch(step_ctx *s, const clip_set *set, const sampler *sm, const train_opts *o,
                       uint64_t *rng)
{
    size_t picks[4096];
    unsigned variants[4096];
    s->n_long = s->n_short = 0;
    s->t_short = s->win;
    for (unsigned b = 0; b < s->batch; b++) {
        unsigned k = sm->label_of[(unsigned)(unit(rng) * sm->present) % sm->present];
        size_t i = sm->clips[k][(size_t)(unit(rng) * (double)sm->count[k]) % sm->count[k]];
        const clip_data *c = &set->clips[i];
        unsigned v = (unsigned)(unit(rng) * c->n_variants) % c->n_variants;
        picks[b] = i;
        variants[b] = v;
        if (c->variants[v].n_frames < s->win) {
            s->n_short++;
            if (c->variants[v].n_frames < s->t_short) s->t_short = c->variants[v].n_frames;
        } else {
            s->n_long++;
        }
    }
    unsigned nl = 0, ns = 0;
    double c0_per_db = sqrt((double)o->mels);
    for (unsigned b = 0; b < s->batch; b++) {
        const clip_data *c = &set->clips[picks[b]];
        const dataset_features *f = &c->variants[variants[b]];
        int is_short = f->n_frames < s->win;
        unsigned T = is_short ? s->t_short : s->win;
        unsigned start = (unsigned)(unit(rng) * (f->n_frames - T + 1)) % (f->n_frames - T + 1);
        float *x =
            is_short ? s->x_short + (size_t)ns * T * s->NI : s->x_long + (size_t)nl * T * s->NI;
        memcpy(s->raw, f->frames + (size_t)start * s->C, (size_t)T * s->C * sizeof *x);
        if (o->aug_gain) {
            float shift = (float)((unit(rng) * 24 - 12) * c0_per_db);
            for (unsigned r = 0; r < T; r++)
                s->raw[(size_t)r * s->C] += shift;
        }
        model_input(&s->input, s->raw, T, x);
        if (is_short)
            s->y_short[ns++] = c->label;
        else
            s->y_long[nl++] = c->label;
    }
}

/* ---- validation (float, batched) ----------------------------------------- */

typedef struct {
    float *m1, *m2;             /* Adam moments */
    const unsigned char *decay; /* weight decay mask */
    unsigned long t;            /* steps taken */
} adam_state;

/* One optimiser step on a fresh batch: gradients taken at s->params (the
 * weights, or their int8 image during quantisation-aware fine-tuning: the
 * straight-through estimator) and applied to params. Returns the loss. */
static double train_batch(step_ctx *s, step_arg *sargs, const train_opts *o, const clip_set *tset,
                          const sampler *sm, uint64_t *rng, float *params, adam_state *as,
                          const gru_adam_opts *adam, unsigned long *correct)
{
    fill_batch(s, tset, sm, o, rng);
    s->opts = (gru_train_opts){(real)o->dropout, mix64(*rng ^ 0x5eed), (real)1 / o->batch};
    run_threads(o->threads, step_worker, s, sizeof sargs[0], sargs);
    for (unsigned t = 1; t < o->threads; t++)
        for (size_t i = 0; i < s->n_params; i++)
            s->grad[0][i] += s->grad[t][i];
    double loss = 0;
    for (unsigned t = 0; t < o->threads; t++) {
        loss += s->loss[t];
        *correct += s->correct[t];
    }
    gru_clip_grad(s->grad[0], s->n_params, o->clip_norm);
    gru_adam_update(params, s->grad[0], as->m1, as->m2, as->decay, s->n_params, adam, ++as->t);
    return loss;
}

/* Replaces a matrix by what its int8 image decodes to. */
static void round_trip_int8(float *w, size_t rows, size_t cols, int8_t *q, float *scale)
{
    model_quantize_rows(w, rows, cols, q, scale);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            w[r * cols + c] = (float)q[r * cols + c] * scale[r];
}

/* Fine-tunes params for o->qat_epochs epochs with every forward and backward
 * pass run on the GRU weights as the int8 model will hold them, at the
 * schedule's final learning rate, with fresh Adam moments. Activations are
 * quantised per step by the int8 kernels and not modelled here. */
static int qat_finetune(step_ctx *s, step_arg *sargs, const train_opts *o, const clip_set *tset,
                        const sampler *sm, float *params, const unsigned char *decay)
{
    const gru_shape *sh = &s->shape;
    size_t NP = s->n_params, rows = 3 * (size_t)sh->hidden;
    size_t cols = sh->n_inputs > sh->hidden ? sh->n_inputs : sh->hidden;
    float *image = malloc(NP * sizeof *image), *scale = malloc(rows * sizeof *scale);
    int8_t *q = malloc(rows * cols);
    adam_state as = {calloc(NP, sizeof(float)), calloc(NP, sizeof(float)), decay, 0};
    int rc = !image || !scale || !q || !as.m1 || !as.m2 ? fail("out of memory") : 0;
    gru_adam_opts adam = {(real)(0.05 * o->lr), 0.9f, 0.999f, 1e-8f, (real)o->weight_decay};
    unsigned steps = (o->epoch_windows + o->batch - 1) / o->batch;
    s->params = image;
    for (unsigned e = 0; !rc && e < o->qat_epochs; e++) {
        uint64_t rng = mix64(o->seed * 1000003ull + 0x9a7u + e);
        double loss = 0;
        unsigned long correct = 0;
        for (unsigned st = 0; st < steps; st++) {
            memcpy(image, params, NP * sizeof *image);
            gru_params v = gru_params_view(sh, image);
            for (unsigned l = 0; l < sh->n_layers; l++) {
                round_trip_int8(v.layer[l].w_ih, rows, l ? sh->hidden : sh->n_inputs, q, scale);
                round_trip_int8(v.layer[l].w_hh, rows, sh->hidden, q, scale);
            }
            loss += train_batch(s, sargs, o, tset, sm, &rng, params, &as, &adam, &correct);
        }
        fprintf(stderr, "qat epoch %u/%u: train loss %.4f acc %.1f%%\n", e + 1, o->qat_epochs,
                loss / steps, 100.0 * (double)correct / ((double)steps * o->batch));
    }
    s->params = params;
    free(image);
    free(scale);
    free(q);
    free(as.m1);
    free(as.m2);
    return rc;
}

typedef struct {
    const clip_set *set;
    const eval_geometry *g;
    gru_work **work;
    const float *params;
    unsigned threads, L, C, NI, max_batch;
    model_input_spec input;
    float **x;           /* per thread, max_batch windows of network input */
    float *window_probs; /* per clip: offsets[i] */
    size_t *offsets;
    unsigned *counts;
} valid_ctx;

typedef struct {
    valid_ctx *v;
    unsigned t;
} valid_arg;

static void *valid_worker(void *arg)
{
    valid_arg *a = arg;
    valid_ctx *v = a->v;
    for (size_t i = a->t; i < v->set->n; i += v->threads) {
        const dataset_features *f = &v->set->clips[i].variants[0];
        unsigned length, count = eval_window_count(v->g, f->n_frames, &length);
        for (unsigned w0 = 0; w0 < count; w0 += v->max_batch) {
            unsigned nb = count - w0 < v->max_batch ? count - w0 : v->max_batch;
            for (unsigned b = 0; b < nb; b++)
                model_input(&v->input, f->frames + (size_t)eval_window_start(v->g, w0 + b) * v->C,
                            length, v->x[a->t] + (size_t)b * length * v->NI);
            gru_forward(v->work[a->t], v->params, v->x[a->t], nb, length,
                        v->window_probs + v->offsets[i] + (size_t)w0 * v->L);
        }
    }
    return NULL;
}

typedef struct {
    double loss, window_acc, window_bal, clip_acc, clip_bal;
} valid_scores;

static valid_scores validate(valid_ctx *v, eval_totals *totals)
{
    valid_arg args[256];
    for (unsigned t = 0; t < v->threads; t++)
        args[t] = (valid_arg){v, t};
    run_threads(v->threads, valid_worker, v, sizeof args[0], args);
    metrics_clear(&totals->window);
    metrics_clear(&totals->clip);
    double loss = 0;
    size_t windows = 0;
    float clip[MODEL_MAX_LABELS];
    for (size_t i = 0; i < v->set->n; i++) {
        const float *wp = v->window_probs + v->offsets[i];
        int y = v->set->clips[i].label;
        memset(clip, 0, sizeof clip);
        for (unsigned w = 0; w < v->counts[i]; w++) {
            for (unsigned k = 0; k < v->L; k++)
                clip[k] += wp[(size_t)w * v->L + k] / (float)v->counts[i];
            loss -= log((double)wp[(size_t)w * v->L + y] + 1e-12);
        }
        windows += v->counts[i];
        eval_totals_add(totals, y, wp, v->counts[i], clip);
    }
    return (valid_scores){loss / (double)(windows ? windows : 1), metrics_accuracy(&totals->window),
                          metrics_balanced_accuracy(&totals->window),
                          metrics_accuracy(&totals->clip),
                          metrics_balanced_accuracy(&totals->clip)};
}

/* ---- model, report -------------------------------------------------------- */

static model_t *make_model(const train_opts *o, const gru_shape *s, const float *params,
                           const mfcc_params *p, double window_seconds, const float *mean,
                           const float *std, char (*labels)[DATASET_LABEL_LEN + 1], char *err,
                           size_t err_len)
{
    frontend_params fe = {*p, window_seconds};
    if (fe.mfcc.fmax <= 0) fe.mfcc.fmax = p->sample_rate / 2;
    char date[32], id[MODEL_ID_LEN + 1];
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d", gmtime(&now));
    uint32_t hash = (uint32_t)crc32(0, (const unsigned char *)params,
                                    (unsigned)(gru_param_count(s) * sizeof(float)));
    snprintf(id, sizeof id, "%s %s %08x", o->name, date, hash);
    return gru_export(s, params, &fe, (unsigned)o->deltas, mean, std,
                      (const char(*)[MODEL_MAX_LABEL_LEN + 1]) labels, id, err, err_len);
}

/* Clip- and window-level scores of a model through the real classifier
 * (float or int8 kernels, exactly what the daemon runs). */
static int evaluate_model(const model_t *m, const clip_set *raw_valid, const eval_geometry *g,
                          eval_totals *totals)
{
    char err[256];
    classifier_t *c = classifier_create(m, g->window_frames, err, sizeof err);
    if (!c) return fail("%s", err);
    float *wp = malloc(((size_t)4096) * m->n_labels * sizeof *wp), clip[MODEL_MAX_LABELS];
    if (!wp) return fail("out of memory");
    metrics_clear(&totals->window);
    metrics_clear(&totals->clip);
    for (size_t i = 0; i < raw_valid->n; i++) {
        unsigned length;
        const dataset_features *f = &raw_valid->clips[i].variants[0];
        if (eval_window_count(g, f->n_frames, &length) > 4096) continue;
        unsigned n = eval_clip(c, g, f, wp, clip);
        if (n) eval_totals_add(totals, raw_valid->clips[i].label, wp, n, clip);
    }
    free(wp);
    classifier_destroy(c);
    return 0;
}

typedef struct {
    double *train_loss, *train_acc, *valid_loss, *valid_win_bal, *valid_clip_bal, *valid_clip_acc,
        *valid_win_acc, *lr;
} history;

static json_t *series_json(const double *y, unsigned n)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < n; i++)
        json_array_append_new(a, isfinite(y[i]) ? json_real(y[i]) : json_null());
    return a;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static void format_eta(char *buf, size_t len, double seconds)
{
    if (!isfinite(seconds) || seconds < 0) seconds = 0;
    unsigned long s = (unsigned long)seconds;
    if (s >= 3600)
        snprintf(buf, len, "%luh%02lum", s / 3600, s / 60 % 60);
    else
        snprintf(buf, len, "%lum%02lus", s / 60, s % 60);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU of all threads: the epoch line reports it next to wall time, which a
 * shared machine inflates (tools/bench/run compares it with PyTorch). */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static char *dir_of(const char *path)
{
    char *d = strdup(path);
    if (!d) return NULL;
    char *slash = strrchr(d, '/');
    if (!slash) {
        free(d);
        return strdup(".");
    }
    if (slash == d)
        slash[1] = 0;
    else
        *slash = 0;
    return d;
}

static int check_outputs(train_opts *o, char **report_dir)
{
    char err[512];
    char *out_dir = dir_of(o->out);
    struct stat st;
    if (!out_dir) return fail("out of memory");
    if (stat(out_dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(out_dir, W_OK) != 0) {
        fail("%s: cannot write the model there: folder %s is missing or not writable", o->out,
             out_dir);
        free(out_dir);
        return 2;
    }
    if (stat(o->out, &st) == 0 && (S_ISDIR(st.st_mode) || access(o->out, W_OK) != 0)) {
        free(out_dir);
        return fail("%s: exists and is not a writable file", o->out);
    }
    *report_dir = o->report ? strdup(o->report) : out_dir;
    if (o->report) free(out_dir);
    if (dataset_mkdirs(*report_dir, err, sizeof err)) return fail("--report: %s", err);
    static char cache_buf[4096];
    if (!o->cache) {
        snprintf(cache_buf, sizeof cache_buf, "%s/cache", *report_dir);
        o->cache = cache_buf;
    }
    if (!strcmp(o->cache, "none"))
        o->cache = NULL;
    else if (dataset_mkdirs(o->cache, err, sizeof err))
        return fail("--cache: %s", err);
    return 0;
}

int main(int argc, char **argv)
{
    train_opts o;
    char err[1024];
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc;
    openblas_set_num_threads(1); /* parallel over batch shards instead */

    dataset train = {0}, valid = {0};
    char(*labels)[DATASET_LABEL_LEN + 1] = NULL;
    char *report_dir = NULL;
    clip_set tset = {0}, vset = {0};
    unsigned L = 0;
    /* Everything that can be wrong with the input is checked before work. */
    if (load_lists(&train, o.root, o.train, o.n_train, o.train_extra, o.n_train_extra,
                   o.extra_level_db, err, sizeof err) ||
        load_lists(&valid, o.root, o.valid, o.n_valid, o.valid_extra, o.n_valid_extra,
                   o.extra_level_db, err, sizeof err)) {
        rc = fail("%s", err);
        goto early_out;
    }
    labels = dataset_label_set(&train, &L);
    if (!labels) {
        rc = fail("out of memory");
        goto early_out;
    }
    if (L < 2) {
        rc = fail("%s: training lists hold %u label(s); need at least 2", o.train[0], L);
        goto early_out;
    }
    if (dataset_resolve(&train, labels, L, "train", err, sizeof err)) {
        rc = fail("%s", err);
        goto early_out;
    }
    if (dataset_resolve(&valid, labels, L, "valid", err, sizeof err)) {
        rc = fail("%s (it is not in the training lists)", err);
        goto early_out;
    }
    mfcc_params p = mfcc_params_default();
    p.n_coeffs = o.coeffs;
    p.n_mels = o.mels;
    const double window_seconds = 3.0;
    {
        mfcc_t *probe = mfcc_create(&p, err, sizeof err);
        if (!probe) {
            rc = fail("front-end: %s", err);
            goto early_out;
        }
        mfcc_destroy(probe);
        if (o.coeffs > o.mels) {
            rc = fail("--coeffs %u exceeds --mels %u", o.coeffs, o.mels);
            goto early_out;
        }
    }
    if ((rc = check_outputs(&o, &report_dir))) goto early_out;

    eval_geometry geo = eval_geometry_for(&p, window_seconds, o.hop_seconds);
    const unsigned C = p.n_coeffs, W = geo.window_frames;
    fprintf(stderr,
            "genre-train: %zu train and %zu valid clips, %u labels; %u coefficients, %u-frame "
            "windows; GRU %ux%u pool %s; %u threads\n",
            train.n_clips, valid.n_clips, L, C, W, o.layers, o.hidden,
            o.pool_mean ? "mean" : "last", o.threads);

    double t0 = now_seconds();
    if ((rc = extract(&train, &p, &o, 1 + o.variants, geo.min_frames, "train", &tset)))
        goto early_out;
    if ((rc = extract(&valid, &p, &o, 1, geo.min_frames, "valid", &vset))) goto early_out;
    fprintf(stderr, "genre-train: features ready in %.1f s\n", now_seconds() - t0);

    /* Features stay raw: every window, in training and validation, becomes
     * network input through model_input, as in the classifier. */
    const unsigned NI = C * (1 + (unsigned)o.deltas);
    float mean[256], std[256];
    if ((rc = feature_stats(&tset, C, (unsigned)o.deltas, W, mean, std))) goto early_out;
    const model_input_spec input = {C, (unsigned)o.deltas, mean, std};

    gru_shape shape = {NI, o.hidden, o.layers, L, o.pool_mean};
    size_t NP = gru_param_count(&shape);
    float *params = malloc(NP * sizeof *params), *best = malloc(NP * sizeof *best);
    float *m1 = calloc(NP, sizeof *m1), *m2 = calloc(NP, sizeof *m2);
    unsigned char *decay = malloc(NP);
    step_ctx s = {.shape = shape,
                  .n_params = NP,
                  .threads = o.threads,
                  .batch = o.batch,
                  .win = W,
                  .C = C,
                  .NI = NI,
                  .input = input};
    s.raw = malloc((size_t)W * C * sizeof(float));
    s.work = calloc(o.threads, sizeof *s.work);
    s.grad = calloc(o.threads, sizeof *s.grad);
    s.x_long = malloc((size_t)o.batch * W * NI * sizeof(float));
    s.x_short = malloc((size_t)o.batch * W * NI * sizeof(float));
    s.y_long = malloc(o.batch * sizeof(int));
    s.y_short = malloc(o.batch * sizeof(int));
    if (!params || !best || !m1 || !m2 || !decay || !s.work || !s.grad || !s.raw || !s.x_long ||
        !s.x_short || !s.y_long || !s.y_short)
        return fail("out of memory");
    unsigned shard_max = (o.batch + o.threads - 1) / o.threads;
    for (unsigned t = 0; t < o.threads; t++) {
        s.work[t] = gru_work_create(&shape, shard_max > 64 ? shard_max : 64, W);
        s.grad[t] = malloc(NP * sizeof(float));
        s.probs[t] = malloc((size_t)shard_max * L * sizeof(float));
        if (!s.work[t] || !s.grad[t] || !s.probs[t]) return fail("out of memory");
    }
    gru_params_init(&shape, params, o.seed * 7919 + 17);
    gru_params_decay_mask(&shape, decay);
    memcpy(best, params, NP * sizeof *best);

    valid_ctx vc = {.set = &vset,
                    .g = &geo,
                    .work = s.work,
                    .params = params,
                    .threads = o.threads,
                    .L = L,
                    .C = C,
                    .NI = NI,
                    .input = input,
                    .max_batch = 64};
    vc.x = calloc(o.threads, sizeof *vc.x);
    vc.offsets = calloc(vset.n, sizeof *vc.offsets);
    vc.counts = calloc(vset.n, sizeof *vc.counts);
    if (!vc.x || !vc.offsets || !vc.counts) return fail("out of memory");
    size_t total_windows = 0;
    for (size_t i = 0; i < vset.n; i++) {
        unsigned length;
        vc.offsets[i] = total_windows * L;
        vc.counts[i] = eval_window_count(&geo, vset.clips[i].variants[0].n_frames, &length);
        total_windows += vc.counts[i];
    }
    vc.window_probs = malloc((total_windows ? total_windows : 1) * L * sizeof(float));
    for (unsigned t = 0; t < o.threads; t++)
        vc.x[t] = malloc((size_t)vc.max_batch * W * NI * sizeof(float));
    for (unsigned t = 0; t < o.threads; t++)
        if (!vc.x[t] || !vc.window_probs) return fail("out of memory");

    sampler sm;
    if (sampler_init(&sm, &tset, L)) return fail("out of memory");
    eval_totals totals;
    if (eval_totals_init(&totals, L)) return fail("out of memory");
    history h;
    double *hist = calloc(8 * (size_t)o.epochs, sizeof *hist);
    if (!hist) return fail("out of memory");
    h = (history){hist,
                  hist + o.epochs,
                  hist + 2 * o.epochs,
                  hist + 3 * o.epochs,
                  hist + 4 * o.epochs,
                  hist + 5 * o.epochs,
                  hist + 6 * o.epochs,
                  hist + 7 * o.epochs};

    unsigned steps = (o.epoch_windows + o.batch - 1) / o.batch, epochs_run = 0, best_epoch = 0;
    double best_score = -1, train_start = now_seconds();
    int tty = isatty(2);
    adam_state as = {m1, m2, decay, 0};
    step_arg sargs[256];
    for (unsigned t = 0; t < o.threads; t++)
        sargs[t] = (step_arg){&s, t};
    s.params = params;
    for (unsigned e = 0; e < o.epochs; e++) {
        double lr = o.lr * (0.05 + 0.95 * 0.5 * (1 + cos(M_PI * e / o.epochs)));
        gru_adam_opts adam = {(real)lr, 0.9f, 0.999f, 1e-8f, (real)o.weight_decay};
        uint64_t rng = mix64(o.seed * 1000003ull + e);
        double loss_sum = 0, epoch_start = now_seconds(), cpu_start = cpu_seconds();
        unsigned long correct = 0, seen = 0;
        for (unsigned st = 0; st < steps; st++) {
            loss_sum += train_batch(&s, sargs, &o, &tset, &sm, &rng, params, &as, &adam, &correct);
            seen += o.batch;
            if (tty) {
                double elapsed = now_seconds() - train_start;
                double done = (double)e * steps + st + 1,
                       rate = seen / (now_seconds() - epoch_start);
                char eta[32];
                format_eta(eta, sizeof eta, elapsed / done * ((double)o.epochs * steps - done));
                int bar = (int)(20.0 * (st + 1) / steps);
                fprintf(stderr, "\repoch %u/%u [%.*s%*s] %u/%u loss %.3f %.0f win/s ETA %s   ",
                        e + 1, o.epochs, bar, "####################", 20 - bar, "", st + 1, steps,
                        loss_sum / (st + 1), rate, eta);
            }
        }
        double cpu_steps = cpu_seconds() - cpu_start;
        valid_scores vs = validate(&vc, &totals);
        double cpu_epoch = cpu_seconds() - cpu_start;
        h.train_loss[e] = loss_sum / steps;
        h.train_acc[e] = (double)correct / (double)seen;
        h.valid_loss[e] = vs.loss;
        h.valid_win_bal[e] = vs.window_bal;
        h.valid_win_acc[e] = vs.window_acc;
        h.valid_clip_bal[e] = vs.clip_bal;
        h.valid_clip_acc[e] = vs.clip_acc;
        h.lr[e] = lr;
        epochs_run = e + 1;
        /* Clip- and window-level balanced accuracy together: the clip score
         * alone moves in big steps on a small validation set. */
        double score = 0.5 * (vs.clip_bal + vs.window_bal);
        int improved = score > best_score;
        if (o.select_last || improved) {
            best_score = score;
            best_epoch = e + 1;
            memcpy(best, params, NP * sizeof *best);
        }
        fprintf(stderr,
                "%sepoch %u/%u: train loss %.4f acc %.1f%% | valid loss %.4f window bal %.1f%% "
                "clip bal %.1f%% (acc %.1f%%)%s | %.1f s, cpu %.2f s (steps %.2f, validation "
                "%.2f)\n",
                tty ? "\r" : "", e + 1, o.epochs, h.train_loss[e], 100 * h.train_acc[e], vs.loss,
                100 * vs.window_bal, 100 * vs.clip_bal, 100 * vs.clip_acc, improved ? " *" : "",
                now_seconds() - epoch_start, cpu_epoch, cpu_steps, cpu_epoch - cpu_steps);
        if (!o.select_last && e + 1 - best_epoch >= o.patience) {
            fprintf(stderr, "genre-train: early stop: no better validation score for %u epochs\n",
                    o.patience);
            break;
        }
    }
    double train_seconds = now_seconds() - train_start;

    model_t *mf =
        make_model(&o, &shape, best, &p, window_seconds, mean, std, labels, err, sizeof err);
    if (!mf) return fail("model: %s", err);
    model_t *mq = model_quantize(mf, err, sizeof err);
    if (!mq) return fail("quantize: %s", err);
    eval_totals tf, tq;
    if (eval_totals_init(&tf, L) || eval_totals_init(&tq, L)) return fail("out of memory");
    if ((rc = evaluate_model(mf, &vset, &geo, &tf)) || (rc = evaluate_model(mq, &vset, &geo, &tq)))
        return rc;
    double loss_points =
        100 * (metrics_balanced_accuracy(&tf.clip) - metrics_balanced_accuracy(&tq.clip));
    json_t *qat_json = json_null();
    if (o.qat_epochs && (loss_points > 0.5 || o.qat_always)) {
        fprintf(stderr, "genre-train: int8 loses %.2f points; quantisation-aware fine-tuning\n",
                loss_points);
        memcpy(params, best, NP * sizeof *params);
        if ((rc = qat_finetune(&s, sargs, &o, &tset, &sm, params, decay))) return rc;
        model_t *qf =
            make_model(&o, &shape, params, &p, window_seconds, mean, std, labels, err, sizeof err);
        model_t *qq = qf ? model_quantize(qf, err, sizeof err) : NULL;
        eval_totals tqat;
        if (!qq || eval_totals_init(&tqat, L)) return fail("qat model: %s", err);
        if ((rc = evaluate_model(qq, &vset, &geo, &tqat))) return rc;
        double ptq = metrics_balanced_accuracy(&tq.clip),
               qat = metrics_balanced_accuracy(&tqat.clip);
        int kept = qat > ptq;
        fprintf(stderr,
                "genre-train: int8 clip balanced accuracy %.2f%% after fine-tuning, %.2f%% "
                "without: keeping %s\n",
                100 * qat, 100 * ptq, kept ? "the fine-tuned" : "the first");
        qat_json = json_pack("{s:I, s:f, s:f, s:b}", "epochs", (json_int_t)o.qat_epochs,
                             "ptq_int8_clip_balanced_accuracy", ptq,
                             "qat_int8_clip_balanced_accuracy", qat, "kept", kept);
        if (kept) {
            eval_totals swap = tq;
            tq = tqat;
            tqat = swap;
            model_t *m = mq;
            mq = qq;
            qq = m;
            loss_points = 100 * (metrics_balanced_accuracy(&tf.clip) - qat);
        }
        eval_totals_free(&tqat);
        model_destroy(qq);
        model_destroy(qf);
    }
    fprintf(stderr,
            "genre-train: best epoch %u; validation (clip / window balanced accuracy):\n"
            "  float %.2f%% / %.2f%%   int8 %.2f%% / %.2f%%  (int8 loses %.2f points)\n",
            best_epoch, 100 * metrics_balanced_accuracy(&tf.clip),
            100 * metrics_balanced_accuracy(&tf.window), 100 * metrics_balanced_accuracy(&tq.clip),
            100 * metrics_balanced_accuracy(&tq.window), loss_points);
    metrics_print(&tq.clip, (const char(*)[64])labels, "int8, clip level", stdout);
    metrics_print(&tq.window, (const char(*)[64])labels, "int8, window level", stdout);

    char *float_path = join(report_dir, "model-float.gmdl");
    if (model_save(mq, o.out, err, sizeof err)) return fail("%s", err);
    if (!float_path || model_save(mf, float_path, err, sizeof err)) return fail("%s", err);

    /* Report. */
    json_t *cmd = json_array();
    for (int i = 0; i < argc; i++)
        json_array_append_new(cmd, json_string(argv[i]));
    json_t *hist_json =
        json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "train_loss",
                  series_json(h.train_loss, epochs_run), "train_window_accuracy",
                  series_json(h.train_acc, epochs_run), "valid_loss",
                  series_json(h.valid_loss, epochs_run), "valid_window_balanced_accuracy",
                  series_json(h.valid_win_bal, epochs_run), "valid_window_accuracy",
                  series_json(h.valid_win_acc, epochs_run), "valid_clip_balanced_accuracy",
                  series_json(h.valid_clip_bal, epochs_run), "valid_clip_accuracy",
                  series_json(h.valid_clip_acc, epochs_run), "lr", series_json(h.lr, epochs_run));
    json_t *label_json = json_array();
    for (unsigned k = 0; k < L; k++)
        json_array_append_new(label_json, json_string(labels[k]));
    json_t *report = json_pack(
        "{s:s, s:o, s:o, s:{s:I, s:b, s:I, s:I, s:s, s:I, s:I, s:f}, s:{s:I, s:I, s:I, s:I}, "
        "s:I, s:I, s:f, s:o, s:o, s:o, s:f, s:o}",
        "model", mq->id, "command", cmd, "labels", label_json, "architecture", "coeffs",
        (json_int_t)C, "deltas", o.deltas, "hidden", (json_int_t)o.hidden, "layers",
        (json_int_t)o.layers, "pool", o.pool_mean ? "mean" : "last", "window_frames", (json_int_t)W,
        "parameters", (json_int_t)NP, "window_seconds", window_seconds, "data", "train_clips",
        (json_int_t)tset.n, "valid_clips", (json_int_t)vset.n, "train_skipped",
        (json_int_t)(train.n_clips - tset.n), "valid_skipped", (json_int_t)(valid.n_clips - vset.n),
        "epochs_run", (json_int_t)epochs_run, "best_epoch", (json_int_t)best_epoch, "train_seconds",
        train_seconds, "valid_float", eval_totals_json(&tf, (const char(*)[64])labels),
        "valid_int8", eval_totals_json(&tq, (const char(*)[64])labels), "history", hist_json,
        "int8_clip_balanced_accuracy_loss_points", loss_points, "qat", qat_json);
    char *metrics_path = join(report_dir, "metrics.json");
    if (!report || !metrics_path ||
        json_dump_file(report, metrics_path, JSON_INDENT(2) | JSON_REAL_PRECISION(6)))
        return fail("%s: cannot write metrics", metrics_path ? metrics_path : report_dir);
    plot_series loss_series[] = {{"train", h.train_loss}, {"valid", h.valid_loss}};
    plot_series acc_series[] = {{"train window acc", h.train_acc},
                                {"valid window bal", h.valid_win_bal},
                                {"valid clip bal", h.valid_clip_bal},
                                {"valid clip acc", h.valid_clip_acc}};
    char *loss_svg = join(report_dir, "loss.svg"), *acc_svg = join(report_dir, "accuracy.svg");
    char *conf_svg = join(report_dir, "confusion.svg");
    char *conf_win_svg = join(report_dir, "confusion-window.svg");
    if (!loss_svg || !acc_svg || !conf_svg || !conf_win_svg ||
        plot_lines(loss_svg, "cross-entropy per window", "loss", loss_series, 2, epochs_run) ||
        plot_lines(acc_svg, "accuracy (balanced where marked)", "share", acc_series, 4,
                   epochs_run) ||
        plot_confusion(conf_svg, "validation, clip level, int8 model", tq.clip.counts,
                       (const char(*)[64])labels, L) ||
        plot_confusion(conf_win_svg, "validation, window level, int8 model", tq.window.counts,
                       (const char(*)[64])labels, L))
        return fail("%s: cannot write plots", report_dir);
    fprintf(stderr, "genre-train: wrote %s (int8), %s, report in %s (%.1f s training)\n", o.out,
            float_path, report_dir, train_seconds);

    json_decref(report);
    free(metrics_path);
    free(loss_svg);
    free(acc_svg);
    free(conf_svg);
    free(conf_win_svg);
    free(float_path);
    eval_totals_free(&tf);
    eval_totals_free(&tq);
    eval_totals_free(&totals);
    model_destroy(mf);
    model_destroy(mq);
    sampler_free(&sm);
    free(hist);
    for (unsigned t = 0; t < o.threads; t++) {
        gru_work_destroy(s.work[t]);
        free(s.grad[t]);
        free(s.probs[t]);
        free(vc.x[t]);
    }
    free(vc.x);
    free(vc.offsets);
    free(vc.counts);
    free(vc.window_probs);
    free(s.work);
    free(s.grad);
    free(s.raw);
    free(s.x_long);
    free(s.x_short);
    free(s.y_long);
    free(s.y_short);
    free(params);
    free(best);
    free(m1);
    free(m2);
    free(decay);
    clip_set_free(&tset);
    clip_set_free(&vset);
    dataset_free(&train);
    dataset_free(&valid);
    free(labels);
    free(report_dir);
    return 0;

early_out:
    clip_set_free(&tset);
    clip_set_free(&vset);
    dataset_free(&train);
    dataset_free(&valid);
    free(labels);
    free(report_dir);
    return rc;
}
