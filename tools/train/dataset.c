/* dataset: list parsing, feature extraction through dsp/frontend, cache. */
#include "dataset.h"

#include "audio_file.h"
#include "frontend.h"
#include "mfcc_window.h"
#include "splitmix.h"

#include <errno.h>
#include <liquid/liquid.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define LEVEL_NONE -200.0

void dataset_free(dataset *d)
{
    for (size_t i = 0; i < d->n_clips; i++)
        free(d->clips[i].path);
    free(d->clips);
    d->clips = NULL;
    d->n_clips = 0;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = 0;
    return s;
}

/* Why a list line cannot name a clip, or NULL when it can. */
static const char *line_problem(const char *rel)
{
    const char *slash = strchr(rel, '/');
    if (rel[0] == '/') return "absolute path; expected LABEL/FILE relative to the root";
    if (!slash) return "no label folder; expected LABEL/FILE";
    if (slash == rel) return "empty label";
    if ((size_t)(slash - rel) > DATASET_LABEL_LEN) return "label longer than 63 characters";
    if (!slash[1]) return "no file name after the label folder";
    if (strstr(rel, "..")) return "'..' in path";
    for (const char *c = rel; c < slash; c++)
        if ((unsigned char)*c < 0x20 || *c == '"' || *c == '\\') return "bad character in label";
    return NULL;
}

/* "gtzan" for ".../gtzan/train.txt", "." for "train.txt". */
static void source_of_list(const char *list, char *out, size_t len)
{
    const char *end = strrchr(list, '/'), *start = list;
    if (!end) {
        snprintf(out, len, ".");
        return;
    }
    for (const char *c = list; c < end; c++)
        if (*c == '/') start = c + 1;
    snprintf(out, len, "%.*s", (int)(end - start), start);
}

int dataset_add_list(dataset *d, const char *root, const char *list, double level_dbfs, char *err,
                     size_t err_len)
{
    return dataset_add_source(d, NULL, root, list, level_dbfs, err, err_len);
}

static int check_root(const char *root, char *err, size_t err_len)
{
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, err_len, "%s: root is not a readable folder (%s)", root,
                 errno ? strerror(errno) : "not a directory");
        return -1;
    }
    return 0;
}

/* What every clip of one list shares. */
typedef struct {
    const char *root, *list;
    double level_dbfs;
    char source[DATASET_SOURCE_LEN + 1];
} list_source;

/* Appends the clip at `rel` (a checked list line) to add, whose room is
 * *cap. 0, or -1 with the reason in err. */
static int add_clip(dataset *add, size_t *cap, const list_source *ls, const char *rel, char *err,
                    size_t err_len)
{
    if (add->n_clips == *cap) {
        size_t grown_cap = *cap ? 2 * *cap : 64;
        dataset_clip *grown = realloc(add->clips, grown_cap * sizeof *grown);
        if (!grown) {
            snprintf(err, err_len, "%s: out of memory", ls->list);
            return -1;
        }
        add->clips = grown;
        *cap = grown_cap;
    }
    dataset_clip *c = &add->clips[add->n_clips];
    size_t n = strlen(ls->root) + strlen(rel) + 2;
    c->path = malloc(n);
    if (!c->path) {
        snprintf(err, err_len, "%s: out of memory", ls->list);
        return -1;
    }
    snprintf(c->path, n, "%s/%s", ls->root, rel);
    c->rel = c->path + strlen(ls->root) + 1;
    size_t label_len = (size_t)(strchr(rel, '/') - rel);
    memcpy(c->label, rel, label_len);
    c->label[label_len] = 0;
    c->label_index = -1;
    c->level_dbfs = ls->level_dbfs;
    memcpy(c->source, ls->source, sizeof ls->source);
    c->group[0] = 0;
    add->n_clips++;
    return 0;
}

/* Every clip the open list f names, into add; the first bad line stops it
 * with "LIST:LINE: reason". 0, or -1 with the reason in err. */
static int read_list(FILE *f, const list_source *ls, dataset *add, char *err, size_t err_len)
{
    size_t cap = 0;
    char line[4096];
    unsigned lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, err_len, "%s:%u: line longer than %zu characters", ls->list, lineno,
                     sizeof line - 2);
            return -1;
        }
        char *rel = trim(line);
        if (!*rel || *rel == '#') continue;
        const char *why = line_problem(rel);
        if (why) {
            snprintf(err, err_len, "%s:%u: %s: '%s'", ls->list, lineno, why, rel);
            return -1;
        }
        if (add_clip(add, &cap, ls, rel, err, err_len)) return -1;
    }
    if (ferror(f)) {
        snprintf(err, err_len, "%s: read error", ls->list);
        return -1;
    }
    if (add->n_clips == 0) {
        snprintf(err, err_len, "%s: list is empty", ls->list);
        return -1;
    }
    return 0;
}

int dataset_add_source(dataset *d, const char *source, const char *root, const char *list,
                       double level_dbfs, char *err, size_t err_len)
{
    list_source ls = {.root = root, .list = list, .level_dbfs = level_dbfs};
    if (source)
        snprintf(ls.source, sizeof ls.source, "%s", source);
    else
        source_of_list(list, ls.source, sizeof ls.source);
    if (check_root(root, err, err_len)) return -1;
    FILE *f = fopen(list, "r");
    if (!f) {
        snprintf(err, err_len, "%s: cannot open list: %s", list, strerror(errno));
        return -1;
    }
    dataset add = {0};
    int rc = read_list(f, &ls, &add, err, err_len);
    fclose(f);
    if (rc == 0) {
        dataset_clip *grown = realloc(d->clips, (d->n_clips + add.n_clips) * sizeof *grown);
        if (!grown) {
            snprintf(err, err_len, "%s: out of memory", list);
            rc = -1;
        } else {
            d->clips = grown;
            memcpy(d->clips + d->n_clips, add.clips, add.n_clips * sizeof *add.clips);
            d->n_clips += add.n_clips;
            free(add.clips);
            return 0;
        }
    }
    dataset_free(&add);
    return rc;
}

int dataset_load_groups(dataset *d, const char *tsv, char *err, size_t err_len)
{
    FILE *f = fopen(tsv, "r");
    if (!f) {
        snprintf(err, err_len, "%s: cannot open group file: %s", tsv, strerror(errno));
        return -1;
    }
    char line[4096];
    unsigned lineno = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *file = trim(line), *tab = strchr(file, '\t');
        if (!*file || *file == '#') continue;
        if (!tab) {
            snprintf(err, err_len, "%s:%u: expected FILE<TAB>GROUP", tsv, lineno);
            rc = -1;
            break;
        }
        *tab = 0;
        char *group = tab + 1, *end = strchr(group, '\t');
        if (end) *end = 0;
        if (!strchr(file, '/')) continue; /* header */
        if (!*group || strlen(group) > DATASET_GROUP_LEN) {
            snprintf(err, err_len, "%s:%u: group is empty or longer than %d characters", tsv,
                     lineno, DATASET_GROUP_LEN);
            rc = -1;
            break;
        }
        for (size_t i = 0; i < d->n_clips; i++)
            if (!strcmp(d->clips[i].rel, file))
                snprintf(d->clips[i].group, DATASET_GROUP_LEN + 1, "%s", group);
    }
    fclose(f);
    return rc;
}

typedef struct {
    const char *label, *group;
    uint32_t hash;
} group_key;

static int cmp_group_key(const void *a, const void *b)
{
    const group_key *x = a, *y = b;
    int c = strcmp(x->label, y->label);
    if (c) return c;
    if (x->hash != y->hash) return x->hash < y->hash ? -1 : 1;
    return strcmp(x->group, y->group);
}

/* The fold of every clip's group: distinct (label, group) pairs sorted by
 * label, then hash; a group's fold is taken at its first pair. */
static int fold_of_groups(const dataset *d, unsigned folds, unsigned *fold)
{
    group_key *keys = malloc((d->n_clips ? d->n_clips : 1) * sizeof *keys);
    if (!keys) return -1;
    size_t n = 0;
    for (size_t i = 0; i < d->n_clips; i++) {
        const dataset_clip *c = &d->clips[i];
        if (!c->group[0]) continue;
        keys[n++] = (group_key){
            c->label, c->group,
            (uint32_t)crc32(0, (const unsigned char *)c->group, (unsigned)strlen(c->group))};
    }
    qsort(keys, n, sizeof *keys, cmp_group_key);
    for (size_t i = 0; i < d->n_clips; i++) {
        const dataset_clip *c = &d->clips[i];
        fold[i] = UINT32_MAX;
        if (!c->group[0]) continue;
        unsigned rank = 0; /* among its label's distinct groups */
        for (size_t k = 0; k < n; k++) {
            if (strcmp(keys[k].label, c->label)) continue;
            if (!strcmp(keys[k].group, c->group)) break;
            if (k == 0 || strcmp(keys[k].group, keys[k - 1].group) ||
                strcmp(keys[k].label, keys[k - 1].label))
                rank++;
        }
        fold[i] = rank % folds;
    }
    /* One fold per group, even when its clips carry several labels. */
    for (size_t i = 0; i < d->n_clips; i++)
        for (size_t j = 0; j < i; j++)
            if (fold[i] != UINT32_MAX && !strcmp(d->clips[i].group, d->clips[j].group)) {
                fold[i] = fold[j];
                break;
            }
    free(keys);
    return 0;
}

long dataset_split_fold(dataset *d, dataset *valid, unsigned fold, unsigned folds)
{
    unsigned *f = malloc((d->n_clips ? d->n_clips : 1) * sizeof *f);
    if (!f || fold_of_groups(d, folds, f)) {
        free(f);
        return -1;
    }
    size_t moved = 0, kept = 0;
    for (size_t i = 0; i < d->n_clips; i++)
        moved += f[i] == fold;
    dataset_clip *grown = realloc(valid->clips, (valid->n_clips + moved + 1) * sizeof *grown);
    if (!grown) {
        free(f);
        return -1;
    }
    valid->clips = grown;
    for (size_t i = 0; i < d->n_clips; i++) {
        if (f[i] == fold)
            valid->clips[valid->n_clips++] = d->clips[i];
        else
            d->clips[kept++] = d->clips[i];
    }
    d->n_clips = kept;
    free(f);
    return (long)moved;
}

static int cmp_label(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

char (*dataset_label_set(const dataset *d, unsigned *n))[DATASET_LABEL_LEN + 1]
{
    char(*set)[DATASET_LABEL_LEN + 1] = calloc(d->n_clips ? d->n_clips : 1, sizeof *set);
    unsigned count = 0;
    if (!set) return NULL;
    for (size_t i = 0; i < d->n_clips; i++) {
        unsigned k = 0;
        while (k < count && strcmp(set[k], d->clips[i].label))
            k++;
        if (k == count) memcpy(set[count++], d->clips[i].label, DATASET_LABEL_LEN + 1);
    }
    qsort(set, count, sizeof *set, cmp_label);
    *n = count;
    return set;
}

int dataset_resolve(dataset *d, char (*labels)[DATASET_LABEL_LEN + 1], unsigned n_labels,
                    const char *what, char *err, size_t err_len)
{
    for (size_t i = 0; i < d->n_clips; i++) {
        dataset_clip *c = &d->clips[i];
        c->label_index = -1;
        for (unsigned k = 0; k < n_labels; k++)
            if (!strcmp(labels[k], c->label)) c->label_index = (int)k;
        if (c->label_index < 0) {
            snprintf(err, err_len, "%s: %s: label '%s' is not one the model knows", what, c->path,
                     c->label);
            return -1;
        }
    }
    return 0;
}

void dataset_augment_none(dataset_augment *a)
{
    a->gain_db = 0;
    a->snr_db = -1000;
    a->lowpass_hz = 0;
    a->speed = 1;
    a->drive_db = 0;
    a->seed = 0;
}

void dataset_features_free(dataset_features *f)
{
    free(f->frames);
    f->frames = NULL;
    f->n_frames = 0;
}

static int read_all(const char *path, float **out, size_t *frames, double *rate, unsigned *channels,
                    char *err, size_t err_len)
{
    audio_file_t *af = audio_file_open(path, err, err_len);
    if (!af) return -1;
    *rate = audio_file_rate(af);
    *channels = audio_file_channels(af);
    size_t cap = 1 << 16, n = 0;
    int64_t known = audio_file_frames(af);
    if (known > 0 && known < (int64_t)1 << 31) cap = (size_t)known + 1;
    float *buf = malloc(cap * *channels * sizeof *buf);
    int rc = buf ? 0 : -1;
    if (!buf) snprintf(err, err_len, "%s: out of memory", path);
    while (rc == 0) {
        if (n == cap) {
            float *grown = realloc(buf, 2 * cap * *channels * sizeof *buf);
            if (!grown) {
                snprintf(err, err_len, "%s: out of memory", path);
                rc = -1;
                break;
            }
            buf = grown;
            cap *= 2;
        }
        long got = audio_file_read(af, buf + n * *channels, cap - n, err, err_len);
        if (got < 0) rc = -1;
        if (got <= 0) break;
        n += (size_t)got;
    }
    audio_file_close(af);
    if (rc) {
        free(buf);
        return -1;
    }
    *out = buf;
    *frames = n;
    return 0;
}

static double mean_square(const float *x, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (double)x[i] * x[i];
    return n ? sum / (double)n : 0;
}

static double gauss(uint64_t *st)
{
    double u;
    do
        u = splitmix64_unit(st);
    while (u <= 0);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * splitmix64_unit(st));
}

/* Mixes to mono in place (average, as the resampler does). */
static void mix_mono(float *x, size_t frames, unsigned channels)
{
    for (size_t i = 0; i < frames; i++) {
        float sum = 0;
        for (unsigned c = 0; c < channels; c++)
            sum += x[i * channels + c];
        x[i] = sum / (float)channels;
    }
}

static void augment(float *x, size_t n, double rate, const dataset_augment *a)
{
    if (a->lowpass_hz > 0 && a->lowpass_hz < 0.45 * rate) {
        iirfilt_rrrf lp = iirfilt_rrrf_create_prototype(LIQUID_IIRDES_BUTTER, LIQUID_IIRDES_LOWPASS,
                                                        LIQUID_IIRDES_SOS, 6,
                                                        (float)(a->lowpass_hz / rate), 0, 1, 60);
        for (size_t i = 0; i < n; i++)
            iirfilt_rrrf_execute(lp, x[i], &x[i]);
        iirfilt_rrrf_destroy(lp);
    }
    if (a->snr_db > -100) {
        /* Coloured noise (white through a random one-pole low-pass), a room
         * rather than a hiss. */
        uint64_t st = a->seed;
        double pole = 0.95 * splitmix64_unit(&st);
        float *noise = malloc(n * sizeof *noise);
        if (!noise) return;
        double y = 0;
        for (size_t i = 0; i < n; i++)
            noise[i] = (float)(y = pole * y + (1 - pole) * gauss(&st));
        double signal = mean_square(x, n), power = mean_square(noise, n);
        if (signal > 0 && power > 0) {
            float k = (float)sqrt(signal / power * pow(10, -a->snr_db / 10));
            for (size_t i = 0; i < n; i++)
                x[i] += k * noise[i];
        }
        free(noise);
    }
    if (a->drive_db > 0) {
        /* A mastering limiter pushed into saturation: a tanh curve of the
         * peak-normalised signal, driven drive_db, peak kept. */
        float peak = 0;
        for (size_t i = 0; i < n; i++)
            peak = fmaxf(peak, fabsf(x[i]));
        if (peak > 0) {
            float g = (float)pow(10, a->drive_db / 20), out = peak / tanhf(g);
            for (size_t i = 0; i < n; i++)
                x[i] = out * tanhf(g * x[i] / peak);
        }
    }
}

/* Designing a resampler's filter bank costs far more than running it on a
 * clip, so each thread keeps the front-ends it made, per rate and channel
 * count, and resets them between clips. */
#define FRONTENDS_KEPT 12
static _Thread_local struct {
    frontend_t *fe;
    mfcc_params p;
    double rate;
    unsigned channels;
} kept[FRONTENDS_KEPT];
static _Thread_local unsigned kept_next;

static int same_params(const mfcc_params *a, const mfcc_params *b)
{
    return a->sample_rate == b->sample_rate && a->n_fft == b->n_fft && a->hop == b->hop &&
           a->n_mels == b->n_mels && a->n_coeffs == b->n_coeffs && a->fmin == b->fmin &&
           a->fmax == b->fmax;
}

/* A one-frame window makes the front-end hand out every MFCC frame. */
static frontend_t *frontend_get(const mfcc_params *p, double rate, unsigned channels, char *err,
                                size_t err_len)
{
    for (unsigned i = 0; i < FRONTENDS_KEPT; i++)
        if (kept[i].fe && kept[i].rate == rate && kept[i].channels == channels &&
            same_params(&kept[i].p, p)) {
            frontend_reset(kept[i].fe);
            return kept[i].fe;
        }
    frontend_params fp = {*p, (double)p->n_fft / p->sample_rate};
    frontend_t *fe = frontend_create(&fp, rate, channels, err, err_len);
    if (!fe) return NULL;
    unsigned slot = kept_next++ % FRONTENDS_KEPT;
    frontend_destroy(kept[slot].fe);
    kept[slot].fe = fe;
    kept[slot].p = *p;
    kept[slot].rate = rate;
    kept[slot].channels = channels;
    return fe;
}

void dataset_thread_release(void)
{
    for (unsigned i = 0; i < FRONTENDS_KEPT; i++) {
        frontend_destroy(kept[i].fe);
        kept[i].fe = NULL;
    }
}

int dataset_features_compute(const char *path, const mfcc_params *p, double level_dbfs,
                             const dataset_augment *a, dataset_features *out, char *err,
                             size_t err_len)
{
    float *audio;
    size_t frames;
    double rate;
    unsigned channels;
    memset(out, 0, sizeof *out);
    if (read_all(path, &audio, &frames, &rate, &channels, err, err_len)) return -1;
    double gain_db = a ? a->gain_db : 0;
    if (level_dbfs > LEVEL_NONE) {
        double ms = mean_square(audio, frames * channels);
        if (ms > 0) gain_db += level_dbfs - 10 * log10(ms);
    }
    if (a && (a->snr_db > -100 || a->lowpass_hz > 0 || a->drive_db > 0) && channels > 1) {
        mix_mono(audio, frames, channels);
        channels = 1;
    }
    if (gain_db != 0) {
        float k = (float)pow(10, gain_db / 20);
        for (size_t i = 0; i < frames * channels; i++)
            audio[i] *= k;
    }
    if (a) augment(audio, frames * channels, rate, a);
    double ms = mean_square(audio, frames * channels);
    out->rms_dbfs = ms > 0 ? 10 * log10(ms) : LEVEL_NONE;

    double speed = a ? a->speed : 1;
    frontend_t *fe = frontend_get(p, rate * speed, channels, err, err_len);
    if (!fe) {
        char why[256];
        snprintf(why, sizeof why, "%s", err);
        snprintf(err, err_len, "%s: %s", path, why);
        free(audio);
        return -1;
    }
    double model_samples = (double)frames * p->sample_rate / (rate * speed);
    size_t cap = (size_t)(model_samples / p->hop) + 4;
    out->n_coeffs = p->n_coeffs;
    out->frames = malloc(cap * p->n_coeffs * sizeof *out->frames);
    if (!out->frames) {
        snprintf(err, err_len, "%s: out of memory", path);
        free(audio);
        return -1;
    }
    const float *in = audio;
    size_t left = frames;
    while (left) {
        size_t used;
        int got = frontend_process(fe, in, left, &used);
        in += used * channels;
        left -= used;
        if (got && frontend_window_full(fe) && out->n_frames < cap) {
            memcpy(out->frames + (size_t)out->n_frames * p->n_coeffs, frontend_window(fe),
                   p->n_coeffs * sizeof *out->frames);
            out->n_frames++;
        }
    }
    free(audio);
    return 0;
}

#define CACHE_MAGIC 0x46445247u /* "GRDF" */

static uint32_t file_crc(const char *path, long long *size)
{
    FILE *f = fopen(path, "rb");
    uLong crc = crc32(0, Z_NULL, 0);
    unsigned char buf[65536];
    size_t n;
    *size = 0;
    if (!f) return 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        crc = crc32(crc, buf, (uInt)n);
        *size += (long long)n;
    }
    fclose(f);
    return (uint32_t)crc;
}

/* The front-end's output on a fixed probe signal, through the resampler
 * (16 kHz stereo in) and without (model rate): part of every cache key, so
 * that features cached by an older dsp/ implementation are never reused.
 * Computed once per thread and parameter set. */
static uint32_t frontend_fingerprint(const mfcc_params *p)
{
    static _Thread_local mfcc_params fp_params;
    static _Thread_local uint32_t fp_value;
    static _Thread_local int fp_valid;
    if (fp_valid && same_params(&fp_params, p)) return fp_value;
    const double rates[2] = {16000, p->sample_rate};
    const unsigned channels[2] = {2, 1};
    uLong crc = crc32(0, Z_NULL, 0);
    for (int k = 0; k < 2; k++) {
        size_t n = (size_t)(rates[k] * 0.5);
        float *x = malloc(n * channels[k] * sizeof *x);
        if (!x) return 0;
        for (size_t i = 0; i < n * channels[k]; i++)
            x[i] = (float)(0.3 * sin(0.013 * (double)i * (1 + (double)(i % 7))) +
                           0.1 * sin(0.5 * (double)i));
        char err[256];
        frontend_params fp = {*p, (double)p->n_fft / p->sample_rate};
        frontend_t *fe = frontend_create(&fp, rates[k], channels[k], err, sizeof err);
        const float *in = x;
        size_t left = n;
        while (fe && left) {
            size_t used;
            int got = frontend_process(fe, in, left, &used);
            in += used * channels[k];
            left -= used;
            if (got && frontend_window_full(fe))
                crc = crc32(crc, (const Bytef *)frontend_window(fe),
                            (uInt)(p->n_coeffs * sizeof(float)));
        }
        frontend_destroy(fe);
        free(x);
    }
    fp_params = *p;
    fp_value = (uint32_t)crc;
    fp_valid = 1;
    return fp_value;
}

static void cache_name(char *name, size_t len, const char *dir, const char *path,
                       const mfcc_params *p, double level_dbfs, const dataset_augment *a)
{
    char key[512];
    long long size;
    uint32_t content = file_crc(path, &size);
    dataset_augment none;
    dataset_augment_none(&none);
    if (!a) a = &none;
    int n = snprintf(key, sizeof key,
                     "v2 %08x %.6f %u %u %u %u %.6f %.6f | %.4f | %.4f %.4f %.4f %.6f %llu",
                     frontend_fingerprint(p), p->sample_rate, p->n_fft, p->hop, p->n_mels,
                     p->n_coeffs, p->fmin, p->fmax, level_dbfs, a->gain_db, a->snr_db,
                     a->lowpass_hz, a->speed, (unsigned long long)a->seed);
    /* Keys of copies without the newer kinds of change read as before, so
     * existing caches stay valid. */
    if (a->drive_db > 0 && n > 0 && (size_t)n < sizeof key)
        n += snprintf(key + n, sizeof key - (size_t)n, " drive %.4f", a->drive_db);
    uint32_t params = (uint32_t)crc32(0, (const Bytef *)key, (uInt)n);
    snprintf(name, len, "%s/%08x-%08x-%lld.f32", dir, content, params, size);
}

static int cache_read(const char *name, unsigned n_coeffs, dataset_features *out)
{
    FILE *f = fopen(name, "rb");
    if (!f) return -1;
    uint32_t head[3];
    double rms;
    int rc = -1;
    if (fread(head, sizeof head, 1, f) == 1 && fread(&rms, sizeof rms, 1, f) == 1 &&
        head[0] == CACHE_MAGIC && head[2] == n_coeffs && head[1] < (1u << 24)) {
        size_t n = (size_t)head[1] * n_coeffs;
        out->frames = malloc((n ? n : 1) * sizeof *out->frames);
        if (out->frames && fread(out->frames, sizeof *out->frames, n, f) == n) {
            out->n_frames = head[1];
            out->n_coeffs = n_coeffs;
            out->rms_dbfs = rms;
            rc = 0;
        } else {
            dataset_features_free(out);
        }
    }
    fclose(f);
    return rc;
}

/* Written to a temporary name and renamed, so concurrent runs never see a
 * half-written entry. A cache that cannot be written only costs time. */
static void cache_write(const char *name, const dataset_features *feat)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", name, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return;
    uint32_t head[3] = {CACHE_MAGIC, feat->n_frames, feat->n_coeffs};
    size_t n = (size_t)feat->n_frames * feat->n_coeffs;
    int ok = fwrite(head, sizeof head, 1, f) == 1 &&
             fwrite(&feat->rms_dbfs, sizeof feat->rms_dbfs, 1, f) == 1 &&
             fwrite(feat->frames, sizeof *feat->frames, n, f) == n;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, name) != 0) remove(tmp);
}

int dataset_features_cached(const char *cache_dir, const char *path, const mfcc_params *p,
                            double level_dbfs, const dataset_augment *a, dataset_features *out,
                            char *err, size_t err_len)
{
    if (!cache_dir) return dataset_features_compute(path, p, level_dbfs, a, out, err, err_len);
    char name[4096];
    cache_name(name, sizeof name, cache_dir, path, p, level_dbfs, a);
    memset(out, 0, sizeof *out);
    if (cache_read(name, p->n_coeffs, out) == 0) return 0;
    if (dataset_features_compute(path, p, level_dbfs, a, out, err, err_len)) return -1;
    cache_write(name, out);
    return 0;
}

unsigned dataset_window_frames(const mfcc_params *p, double window_seconds)
{
    return mfcc_window_frames(window_seconds, p->sample_rate, p->n_fft, p->hop);
}

unsigned dataset_min_frames(const mfcc_params *p)
{
    return dataset_window_frames(p, 1.0);
}

int dataset_mkdirs(const char *dir, char *err, size_t err_len)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *s = buf + 1;; s++) {
        if (*s == '/' || !*s) {
            char keep = *s;
            *s = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                snprintf(err, err_len, "%s: cannot create folder: %s", buf, strerror(errno));
                return -1;
            }
            *s = keep;
            if (!keep) break;
        }
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK) != 0) {
        snprintf(err, err_len, "%s: not a writable folder", dir);
        return -1;
    }
    return 0;
}
