/* corpus: datasets, group split, features and augmented copies. */
#include "corpus.h"

#include "cli.h"
#include "model_input.h"
#include "splitmix.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define PROG      "genre-train"
#define fail(...) cli_error(PROG, __VA_ARGS__)

static int add_lists(dataset *d, const train_list *l, unsigned n, char *err, size_t err_len)
{
    for (unsigned i = 0; i < n; i++)
        if (dataset_add_source(d, l[i].source, l[i].root, l[i].list, l[i].level_dbfs, err, err_len))
            return -1;
    return 0;
}

static int source_index(corpus *c, const char *name)
{
    for (unsigned k = 0; k < c->n_sources; k++)
        if (!strcmp(c->sources[k], name)) return (int)k;
    if (c->n_sources == CORPUS_MAX_SOURCES) return -1;
    snprintf(c->sources[c->n_sources], sizeof c->sources[0], "%s", name);
    return (int)c->n_sources++;
}

static int split(corpus *c, const train_opts *o)
{
    char err[1024];
    for (unsigned i = 0; i < o->n_groups; i++)
        if (dataset_load_groups(&c->train, o->groups[i], err, sizeof err)) return fail("%s", err);
    if (!o->folds) return 0;
    long moved = dataset_split_fold(&c->train, &c->valid, o->fold, o->folds);
    if (moved < 0) return fail("out of memory");
    if (moved == 0)
        return fail("--fold %u/%u: no training clip has a group in --groups", o->fold, o->folds);
    fprintf(stderr, "genre-train: fold %u of %u: %ld grouped clips held out for validation\n",
            o->fold, o->folds, moved);
    return 0;
}

int corpus_load(corpus *c, const train_opts *o)
{
    char err[1024];
    memset(c, 0, sizeof *c);
    if (add_lists(&c->train, o->train, o->n_train, err, sizeof err) ||
        add_lists(&c->valid, o->valid, o->n_valid, err, sizeof err))
        return fail("%s", err);
    if (split(c, o)) return 2;
    c->labels = dataset_label_set(&c->train, &c->n_labels);
    if (!c->labels) return fail("out of memory");
    if (c->n_labels < 2)
        return fail("%s: the training lists hold %u label(s); need at least 2", o->train[0].list,
                    c->n_labels);
    if (dataset_resolve(&c->train, c->labels, c->n_labels, "train", err, sizeof err))
        return fail("%s", err);
    if (dataset_resolve(&c->valid, c->labels, c->n_labels, "valid", err, sizeof err))
        return fail("%s (it is not in the training lists)", err);
    return 0;
}

/* Augmentation of copy v of a clip: a fixed function of the clip's list line
 * and v (not of --seed, nor of where the corpus is mounted), so cached copies
 * stay valid across runs and a run repeats on another machine. The ranges
 * are those of the sources: previews band-limited to 4-11 kHz, loud
 * limited masters, rooms and radio noise, slightly off-speed transfers. */
static void variant_augment(const train_opts *o, const char *rel, unsigned v, dataset_augment *a)
{
    dataset_augment_none(a);
    if (v == 0) return;
    uint64_t st = crc32(0, (const unsigned char *)rel, (unsigned)strlen(rel)) * 1000003ull + v;
    if (o->aug_noise && splitmix64_unit(&st) < 0.5) a->snr_db = 5 + 25 * splitmix64_unit(&st);
    if (o->aug_lowpass && splitmix64_unit(&st) < 0.5)
        a->lowpass_hz = 4000 + 7000 * splitmix64_unit(&st);
    /* Few distinct speeds, so the front-ends (one per rate) can be reused. */
    if (o->aug_speed) a->speed = 0.92 + 0.02 * (unsigned)(splitmix64_unit(&st) * 8.999);
    if (o->aug_drive && splitmix64_unit(&st) < 0.4) a->drive_db = 2 + 10 * splitmix64_unit(&st);
    a->seed = splitmix64_mix(st);
}

typedef struct {
    const dataset *d;
    const mfcc_params *p;
    const train_opts *o;
    unsigned variants;     /* per clip, including the clean one */
    dataset_features *out; /* n_clips x variants */
    char (*errors)[512];   /* per clip */
    size_t next;
    pthread_mutex_t lock;
    size_t done, total;
} extract_job;

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
        if (dataset_features_cached(j->o->cache, c->path, j->p, c->level_dbfs, &a, &j->out[i], err,
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

static void run_extract(extract_job *j, unsigned threads)
{
    pthread_t tid[256];
    unsigned n = threads;
    pthread_mutex_init(&j->lock, NULL);
    for (unsigned t = 1; t < n; t++)
        if (pthread_create(&tid[t], NULL, extract_worker, j)) n = t;
    extract_worker(j);
    for (unsigned t = 1; t < n; t++)
        pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&j->lock);
    if (isatty(2)) fprintf(stderr, "\n");
}

/* Moves clip i's features into the set, or frees them with a warning. */
static int keep_clip(corpus *c, const dataset *d, size_t i, dataset_features *f, unsigned variants,
                     const char *error, unsigned min_frames, double min_seconds, clip_set *set)
{
    const dataset_clip *dc = &d->clips[i];
    int usable = !error[0] && f[0].n_frames >= min_frames;
    if (error[0])
        fprintf(stderr, "genre-train: warning: skipping %s\n", error);
    else if (!usable)
        fprintf(stderr, "genre-train: warning: skipping %s: shorter than %.2f s\n", dc->path,
                min_seconds);
    int source = usable ? source_index(c, dc->source) : 0;
    if (source < 0) {
        fprintf(stderr, "genre-train: warning: skipping %s: more than %d sources\n", dc->path,
                CORPUS_MAX_SOURCES);
        usable = 0;
    }
    if (!usable) {
        for (unsigned v = 0; v < variants; v++)
            dataset_features_free(&f[v]);
        return 0;
    }
    clip_data *cd = &set->clips[set->n++];
    cd->variants = malloc(variants * sizeof *cd->variants);
    if (!cd->variants) return -1;
    memcpy(cd->variants, f, variants * sizeof *f);
    *cd = (clip_data){cd->variants, variants, dc->label_index, (unsigned)source, dc->path,
                      dc->rel,      NULL};
    return 0;
}

static int extract(corpus *c, const dataset *d, const mfcc_params *p, const train_opts *o,
                   unsigned variants, unsigned min_frames, const char *what, clip_set *set)
{
    extract_job j = {.d = d, .p = p, .o = o, .variants = variants};
    j.total = d->n_clips * variants;
    j.out = calloc(j.total ? j.total : 1, sizeof *j.out);
    j.errors = calloc(d->n_clips ? d->n_clips : 1, sizeof *j.errors);
    set->clips = calloc(d->n_clips ? d->n_clips : 1, sizeof *set->clips);
    int rc = !j.out || !j.errors || !set->clips ? -1 : 0;
    if (rc == 0) run_extract(&j, o->threads);
    for (size_t i = 0; rc == 0 && i < d->n_clips; i++)
        rc = keep_clip(c, d, i, j.out + i * variants, variants, j.errors[i], min_frames,
                       (double)min_frames * p->hop / p->sample_rate, set);
    free(j.out);
    free(j.errors);
    if (rc) return fail("out of memory");
    fprintf(stderr, "genre-train: %s: %zu clips usable of %zu\n", what, set->n, d->n_clips);
    return set->n ? 0 : fail("%s: no usable clips", what);
}

/* A label with no usable training clip would still be in the model, and
 * the network would never have seen it. */
static int check_labels(const corpus *c, const train_opts *o)
{
    int missing = 0;
    for (unsigned k = 0; k < c->n_labels; k++) {
        size_t n = 0;
        for (size_t i = 0; i < c->tset.n; i++)
            n += c->tset.clips[i].label == (int)k;
        if (n) continue;
        missing++;
        if (o->allow_empty_labels)
            fprintf(stderr, "genre-train: warning: label '%s' has no usable training clip\n",
                    c->labels[k]);
        else
            fail("label '%s' has no usable training clip (every clip of it was skipped); fix "
                 "the lists, or pass --allow-empty-labels",
                 c->labels[k]);
    }
    return missing && !o->allow_empty_labels ? 2 : 0;
}

static int load_soft_labels(corpus *c, const char *dir)
{
    char err[512];
    for (size_t i = 0; i < c->tset.n; i++) {
        clip_data *cd = &c->tset.clips[i];
        cd->soft = soft_labels_load(dir, cd->rel, (const char(*)[DATASET_LABEL_LEN + 1]) c->labels,
                                    c->n_labels, err, sizeof err);
        if (!cd->soft) return fail("--soft-labels: %s", err);
    }
    fprintf(stderr, "genre-train: teacher probabilities for %zu training clips from %s\n",
            c->tset.n, dir);
    return 0;
}

int corpus_extract(corpus *c, const mfcc_params *p, const train_opts *o, unsigned min_frames)
{
    int rc;
    if ((rc = extract(c, &c->train, p, o, 1 + o->variants, min_frames, "train", &c->tset)) ||
        (rc = check_labels(c, o)) ||
        (o->soft_labels && (rc = load_soft_labels(c, o->soft_labels))) ||
        (rc = extract(c, &c->valid, p, o, 1, min_frames, "valid", &c->vset)))
        return rc;
    return 0;
}

static void clip_set_free(clip_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        for (unsigned v = 0; v < s->clips[i].n_variants; v++)
            dataset_features_free(&s->clips[i].variants[v]);
        free(s->clips[i].variants);
        soft_labels_destroy(s->clips[i].soft);
    }
    free(s->clips);
    s->clips = NULL;
    s->n = 0;
}

void corpus_free(corpus *c)
{
    clip_set_free(&c->tset);
    clip_set_free(&c->vset);
    dataset_free(&c->train);
    dataset_free(&c->valid);
    free(c->labels);
    c->labels = NULL;
}

int corpus_feature_stats(const clip_set *s, unsigned C, unsigned deltas, unsigned W, float *mean,
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
