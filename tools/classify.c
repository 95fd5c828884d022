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
    float *wp;           /* window probabilities, n_windows x n_labels */
    double *level, *end; /* per window: dBFS, and its end in s, for the tracker */
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
    free(c->level);
    free(c->end);
    free(c);
}

double classify_window_start(const classify_t *c, unsigned w)
{
    return (double)eval_window_start(&c->g, w) * c->p.hop / c->p.sample_rate;
}

/* Appends a segment from `start` (never before the last one's start),
 * closing the one before. */
static void open_segment(classify_segment *seg, int *n, double start, int state)
{
    if (*n && start < seg[*n - 1].start) start = seg[*n - 1].start;
    if (*n) seg[*n - 1].end = start;
    seg[(*n)++] = (classify_segment){start, start, state >= 0 ? state : -1};
}

/* Where the state the tracker just reported began. A genre leads a window
 * once it fills about half of it: the middle of the first window it led.
 * Silence is a window silent throughout: the start of the first one. After
 * silence the segment starts with the sound, whatever the first windows
 * made of it: within the hop before the first window that was not silent
 * (`sound`). */
static double onset(const classify_t *c, const tracker_decision *d, double since, double sound)
{
    double window = c->m->frontend.window_seconds;
    return d->state == TRACKER_SILENCE      ? since - window
           : d->previous == TRACKER_SILENCE ? sound - c->hop_seconds / 2
                                            : since - window / 2;
}

int classify_segments(const classify_t *c, const classify_result *r, const tracker_settings *s,
                      classify_segment **out)
{
    tracker_settings ts = *s;
    ts.hop = c->hop_seconds;
    unsigned L = c->m->n_labels;
    tracker_t *t = tracker_create(L, &ts);
    classify_segment *seg = malloc(((size_t)r->n_windows + 1) * sizeof *seg);
    if (!t || !seg) {
        tracker_destroy(t);
        free(seg);
        return -1;
    }
    int n = 0, was_silent = 0;
    double sound = 0;
    tracker_decision d = {0};
    for (unsigned w = 0; w < r->n_windows; w++) {
        tracker_process(t, r->window_probs + (size_t)w * L, c->level[w], c->end[w], &d);
        if (was_silent && !d.silence) sound = c->end[w];
        was_silent = d.silence;
        if (d.changed)
            open_segment(seg, &n, n ? onset(c, &d, tracker_state_since(t), sound) : 0, d.state);
    }
    if (!n && r->n_windows) open_segment(seg, &n, 0, d.silence ? -1 : d.top);
    if (n) seg[n - 1].end = r->seconds;
    tracker_destroy(t);
    *out = seg;
    return n;
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

static int grow(classify_t *c)
{
    size_t cap = c->wp_cap ? 2 * c->wp_cap : 64;
    float *wp = realloc(c->wp, cap * c->m->n_labels * sizeof *wp);
    if (wp) c->wp = wp;
    double *level = realloc(c->level, cap * sizeof *level);
    if (level) c->level = level;
    double *end = realloc(c->end, cap * sizeof *end);
    if (end) c->end = end;
    if (!wp || !level || !end) return -1;
    c->wp_cap = cap;
    return 0;
}

/* Classifies the front end's window; its level and end are what genred's
 * tracker would be given for it. */
static int add_window(classify_t *c, unsigned n_frames)
{
    unsigned L = c->m->n_labels;
    if (c->n_windows == c->wp_cap && grow(c)) return -1;
    classifier_process(c->cl, frontend_window(c->fe), n_frames, c->wp + (size_t)c->n_windows * L);
    c->level[c->n_windows] = frontend_level_dbfs(c->fe);
    c->end[c->n_windows] = (double)frontend_frame_end(c->fe) / c->p.sample_rate;
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
        if ((got & FRONTEND_WINDOW_DUE) && add_window(c, frontend_window_frames(c->fe))) return -1;
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
    if (add_window(c, n)) {
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

/* ,"windows":[...]: one window at a time, as a jansson tree of every window
 * took 25 MB for a 3 h file. */
static int put_windows(FILE *f, const classify_t *c, const classify_result *r)
{
    unsigned L = c->m->n_labels;
    int rc = 0;
    fputs(",\"windows\":[", f);
    for (unsigned w = 0; w < r->n_windows && rc == 0; w++) {
        if (w) fputc(',', f);
        rc = put_json(f, json_pack("{s:f, s:o}", "start", classify_window_start(c, w), "probs",
                                   probs_json(r->window_probs + (size_t)w * L, L)));
    }
    fputc(']', f);
    return rc;
}

/* ,"segments":[{"start","end","label"}...], label null for silence. */
static int put_segments(FILE *f, const classify_t *c, const classify_result *r,
                        const tracker_settings *s)
{
    classify_segment *seg;
    int n = classify_segments(c, r, s, &seg), rc = n < 0 ? -1 : 0;
    fputs(",\"segments\":[", f);
    for (int i = 0; i < n && rc == 0; i++) {
        if (i) fputc(',', f);
        rc = put_json(
            f,
            json_pack("{s:f, s:f, s:o}", "start", seg[i].start, "end", seg[i].end, "label",
                      seg[i].label >= 0 ? json_string(c->m->labels[seg[i].label]) : json_null()));
    }
    fputc(']', f);
    if (n >= 0) free(seg);
    return rc;
}

static int put_result(FILE *f, const classify_t *c, const char *path, const classify_result *r,
                      classify_windows windows, const tracker_settings *s)
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
    /* The head without its closing brace, then the rest piece by piece: a
     * jansson tree of every window took 25 MB for a 3 h file. */
    char *text = head ? json_dumps(head, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(head);
    if (!text) return -1;
    fprintf(f, "%.*s", (int)strlen(text) - 1, text);
    free(text);
    int rc = windows == CLASSIFY_WINDOWS_ALL       ? put_windows(f, c, r)
             : windows == CLASSIFY_WINDOWS_CHANGES ? put_segments(f, c, r, s)
                                                   : 0;
    if (rc == 0 && r->warning[0]) {
        fputs(",\"warning\":", f);
        rc = put_json(f, utf8_json(r->warning));
    }
    fputc('}', f);
    return rc;
}

char *classify_json_line(const classify_t *c, const char *path, const classify_result *r,
                         const char *err, classify_windows windows, const tracker_settings *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    int rc = r ? put_result(f, c, path, r, windows, s)
               : put_json(f, path_json_error(path, reason(err, path)));
    if (fclose(f) || rc) {
        free(buf);
        return NULL;
    }
    return buf;
}
