/* classify: a file through the front-end in blocks and the classifier on
 * every window (see classify.h). The front-end keeps a whole window of MFCC
 * frames and says when one is due under the hop rule genred follows, so
 * nothing but one decode block is held besides. */
#include "classify.h"

#include "audio_file.h"
#include "evaluate.h"
#include "frontend.h"
#include "path_json.h"
#include "utf8.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_FRAMES 4096

struct classify {
    const model_t *m;
    double hop_seconds;
    mfcc_params p;
    eval_geometry g;
    classifier_t *cl;
    frontend_t *fe; /* kept between files of the same rate and channel count: */
    double fe_rate; /* designing the resampler costs more than a short clip */
    unsigned fe_channels;
    float *block;
    size_t block_channels;
    float *wp; /* window probabilities, n_windows x n_labels */
    size_t wp_cap;
    unsigned n_windows;
};

classify_t *classify_create(const model_t *m, double hop_seconds, char *err, size_t err_len)
{
    classify_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    c->m = m;
    c->hop_seconds = hop_seconds;
    c->p = eval_model_params(m);
    c->g = eval_geometry_for(&c->p, m->frontend.window_seconds, hop_seconds);
    c->cl = classifier_create(m, c->g.window_frames, err, err_len);
    if (!c->cl) {
        free(c);
        return NULL;
    }
    return c;
}

void classify_destroy(classify_t *c)
{
    if (!c) return;
    classifier_destroy(c->cl);
    frontend_destroy(c->fe);
    free(c->block);
    free(c->wp);
    free(c);
}

double classify_window_start(const classify_t *c, unsigned w)
{
    return (double)eval_window_start(&c->g, w) * c->p.hop / c->p.sample_rate;
}

/* A front-end and a decode block for this file's format. */
static int prepare(classify_t *c, double rate, unsigned channels, char *err, size_t err_len)
{
    if (c->fe && c->fe_rate == rate && c->fe_channels == channels) {
        frontend_reset(c->fe);
    } else {
        frontend_destroy(c->fe);
        c->fe = model_frontend_create(c->m, rate, channels, err, err_len);
        if (!c->fe) return -1;
        frontend_set_hop(c->fe, c->hop_seconds);
        c->fe_rate = rate;
        c->fe_channels = channels;
    }
    if (channels > c->block_channels) {
        free(c->block);
        c->block = malloc((size_t)BLOCK_FRAMES * channels * sizeof *c->block);
        c->block_channels = c->block ? channels : 0;
        if (!c->block) {
            snprintf(err, err_len, "out of memory");
            return -1;
        }
    }
    c->n_windows = 0;
    return 0;
}

static int add_window(classify_t *c, const float *frames, unsigned n_frames)
{
    unsigned L = c->m->n_labels;
    if (c->n_windows == c->wp_cap) {
        size_t cap = c->wp_cap ? 2 * c->wp_cap : 64;
        float *grown = realloc(c->wp, cap * L * sizeof *grown);
        if (!grown) return -1;
        c->wp = grown;
        c->wp_cap = cap;
    }
    classifier_process(c->cl, frames, n_frames, c->wp + (size_t)c->n_windows * L);
    c->n_windows++;
    return 0;
}

/* Feeds one decoded block, classifying every window the front end says is
 * due (genred's hop rule, dsp/frontend.h) as it completes. */
static int feed(classify_t *c, const float *in, size_t frames)
{
    while (frames) {
        size_t used;
        int got = frontend_process(c->fe, in, frames, &used);
        in += used * c->fe_channels;
        frames -= used;
        if ((got & FRONTEND_WINDOW_DUE) &&
            add_window(c, frontend_window(c->fe), frontend_window_frames(c->fe)))
            return -1;
    }
    return 0;
}

/* err without the "PATH: " it starts with, for lines that name the file
 * already. */
static const char *reason(const char *err, const char *path)
{
    size_t n = strlen(path);
    return !strncmp(err, path, n) && !strncmp(err + n, ": ", 2) ? err + n + 2 : err;
}

/* Decodes and feeds the whole file; a decode error after some audio ends it
 * early with a warning. Returns frames decoded, or -1. */
static long long decode(classify_t *c, audio_file_t *af, const char *path, classify_result *r,
                        char *err, size_t err_len)
{
    long long total = 0;
    for (;;) {
        long got = audio_file_read(af, c->block, BLOCK_FRAMES, err, err_len);
        if (got < 0 && total == 0) return -1;
        if (got < 0) {
            snprintf(r->warning, sizeof r->warning,
                     "decoding stopped after %.1f s (%s); classified what decoded",
                     (double)total / c->fe_rate, reason(err, path));
            return total;
        }
        if (got == 0) return total;
        if (feed(c, c->block, (size_t)got)) {
            snprintf(err, err_len, "out of memory");
            return -1;
        }
        total += got;
    }
}

/* A clip shorter than one window: one window of all its frames, if it has
 * at least 1 s of audio (or the frames of 1 s: the resampler's delay takes
 * a few samples off the end of a file of exactly 1 s). */
static int short_clip(classify_t *c, const char *path, classify_result *r, char *err,
                      size_t err_len)
{
    unsigned n = (unsigned)frontend_frame_count(c->fe);
    if (n == 0 || (r->seconds < 1.0 && n < c->g.min_frames)) {
        snprintf(err, err_len, "%s: %.2f s of audio, under the 1 s minimum: nothing to classify",
                 path, r->seconds);
        return -1;
    }
    if (add_window(c, frontend_window(c->fe), n)) {
        snprintf(err, err_len, "%s: out of memory", path);
        return -1;
    }
    if (!r->warning[0])
        snprintf(r->warning, sizeof r->warning,
                 "%.2f s of audio is shorter than the %g s window: classified as one shorter "
                 "window",
                 r->seconds, c->m->frontend.window_seconds);
    return 0;
}

static void verdict(classify_t *c, classify_result *r)
{
    unsigned L = c->m->n_labels;
    memset(r->probs, 0, sizeof r->probs);
    /* The same order of additions as eval_clip, so the result is identical. */
    for (unsigned w = 0; w < c->n_windows; w++)
        for (unsigned k = 0; k < L; k++)
            r->probs[k] += c->wp[(size_t)w * L + k] / (float)c->n_windows;
    r->top = metrics_argmax(r->probs, L);
    r->n_windows = c->n_windows;
    r->window_probs = c->wp;
}

int classify_file(classify_t *c, const char *path, classify_result *r, char *err, size_t err_len)
{
    memset(r, 0, sizeof *r);
    audio_file_t *af = audio_file_open(path, err, err_len);
    if (!af) return -1;
    char why[256];
    if (prepare(c, audio_file_rate(af), audio_file_channels(af), why, sizeof why)) {
        snprintf(err, err_len, "%s: %s", path, why);
        audio_file_close(af);
        return -1;
    }
    long long frames = decode(c, af, path, r, err, err_len);
    audio_file_close(af);
    if (frames < 0) return -1;
    r->seconds = (double)frames / c->fe_rate;
    if (c->n_windows == 0 && short_clip(c, path, r, err, err_len)) return -1;
    verdict(c, r);
    return 0;
}

static json_t *probs_json(const float *p, unsigned n)
{
    json_t *a = json_array();
    for (unsigned k = 0; k < n; k++)
        json_array_append_new(a, json_real((double)p[k]));
    return a;
}

/* Appends o's compact text to f (and drops o); the format is the one
 * genre-classify always printed. */
static int put_json(FILE *f, json_t *o)
{
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6) | JSON_ENCODE_ANY) : NULL;
    json_decref(o);
    if (!text) return -1;
    fputs(text, f);
    free(text);
    return 0;
}

static int put_result(FILE *f, const classify_t *c, const char *path, const classify_result *r)
{
    const model_t *m = c->m;
    json_t *labels = json_array();
    for (unsigned k = 0; k < m->n_labels; k++)
        json_array_append_new(labels, json_string(m->labels[k]));
    json_t *head = path_json_file(path);
    if (head) {
        json_object_set_new(head, "labels", labels);
        json_object_set_new(head, "top", json_string(m->labels[r->top]));
        json_object_set_new(head, "probs", probs_json(r->probs, m->n_labels));
    } else {
        json_decref(labels);
    }
    /* The head without its closing brace, then the windows one at a time:
     * a jansson tree of every window took 25 MB for a 3 h file. */
    char *text = head ? json_dumps(head, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(head);
    if (!text) return -1;
    fprintf(f, "%.*s,\"windows\":[", (int)strlen(text) - 1, text);
    free(text);
    int rc = 0;
    for (unsigned w = 0; w < r->n_windows && rc == 0; w++) {
        if (w) fputc(',', f);
        rc = put_json(
            f, json_pack("{s:f, s:o}", "start", classify_window_start(c, w), "probs",
                         probs_json(r->window_probs + (size_t)w * m->n_labels, m->n_labels)));
    }
    fputc(']', f);
    if (rc == 0 && r->warning[0]) {
        fputs(",\"warning\":", f);
        rc = put_json(f, utf8_json(r->warning));
    }
    fputc('}', f);
    return rc;
}

char *classify_json_line(const classify_t *c, const char *path, const classify_result *r,
                         const char *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    int rc = r ? put_result(f, c, path, r) : put_json(f, path_json_error(path, reason(err, path)));
    if (fclose(f) || rc) {
        free(buf);
        return NULL;
    }
    return buf;
}
