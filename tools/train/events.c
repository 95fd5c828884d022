/* events: playlist, windows, tracker replay, scores. */
#include "events.h"

#include "metrics.h"
#include "splitmix.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct events {
    unsigned L;
    size_t n_segments, n_windows;
    int *segment_label;   /* [n_segments] */
    double segment_s;     /* each segment's length */
    double *window_end;   /* [n_windows] s of audio */
    float *window_probs;  /* [n_windows x L] */
    double *window_level; /* [n_windows] dBFS of the segment the window ends in */
    double hop_s;
};

/* Clip order: rounds over the labels in random order, one unused clip of
 * each label per round, never two of a label in a row. */
static size_t deal(const int *labels, const char *usable, size_t n, unsigned L, uint64_t *rng,
                   size_t *order)
{
    size_t *next = calloc(L, sizeof *next), count = 0;
    unsigned *perm = malloc(L * sizeof *perm);
    if (!next || !perm) {
        free(next);
        free(perm);
        return 0;
    }
    int previous = -1, dealt = 1;
    while (dealt) {
        dealt = 0;
        for (unsigned k = 0; k < L; k++)
            perm[k] = k;
        for (unsigned k = L; k > 1; k--) {
            unsigned j = (unsigned)(splitmix64(rng) % k), tmp = perm[k - 1];
            perm[k - 1] = perm[j];
            perm[j] = tmp;
        }
        for (unsigned r = 0; r < L; r++) {
            unsigned k = perm[r];
            if ((int)k == previous) continue;
            while (next[k] < n && (labels[next[k]] != (int)k || !usable[next[k]]))
                next[k]++;
            if (next[k] == n) continue;
            order[count++] = next[k]++;
            previous = (int)k;
            dealt = 1;
        }
    }
    free(next);
    free(perm);
    return count;
}

/* The playlist's frames: the first segment_frames of each dealt clip. */
static int build(events_t *e, classifier_t *c, const eval_geometry *g,
                 const dataset_features *clips, const size_t *order, unsigned seg_frames, char *err,
                 size_t err_len)
{
    unsigned C = clips[order[0]].n_coeffs;
    dataset_features all = {malloc((size_t)seg_frames * e->n_segments * C * sizeof(float)),
                            (unsigned)(seg_frames * e->n_segments), C, 0};
    double *level = malloc(e->n_segments * sizeof *level);
    float clip[MODEL_MAX_LABELS];
    if (!all.frames || !level) {
        free(all.frames);
        free(level);
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    for (size_t s = 0; s < e->n_segments; s++) {
        memcpy(all.frames + s * seg_frames * C, clips[order[s]].frames,
               (size_t)seg_frames * C * sizeof(float));
        level[s] = clips[order[s]].rms_dbfs;
    }
    unsigned length;
    e->n_windows = eval_window_count(g, all.n_frames, &length);
    e->window_probs = malloc(e->n_windows * e->L * sizeof *e->window_probs);
    e->window_end = malloc(e->n_windows * sizeof *e->window_end);
    e->window_level = malloc(e->n_windows * sizeof *e->window_level);
    int rc = e->window_probs && e->window_end && e->window_level ? 0 : -1;
    if (rc == 0) eval_clip(c, g, &all, e->window_probs, clip);
    double frame_s = e->segment_s / seg_frames;
    for (size_t w = 0; rc == 0 && w < e->n_windows; w++) {
        unsigned end = eval_window_start(g, (unsigned)w) + length;
        e->window_end[w] = end * frame_s;
        e->window_level[w] = level[(end - 1) / seg_frames];
    }
    if (rc) snprintf(err, err_len, "out of memory");
    free(all.frames);
    free(level);
    return rc;
}

events_t *events_create(classifier_t *c, const eval_geometry *g, const dataset_features *clips,
                        const int *labels, size_t n, double segment_s, uint64_t seed, char *err,
                        size_t err_len)
{
    const model_t *m = classifier_model(c);
    double frame_s = (double)m->frontend.mfcc.hop / m->frontend.mfcc.sample_rate;
    unsigned seg_frames = (unsigned)floor(segment_s / frame_s + 0.5);
    events_t *e = calloc(1, sizeof *e);
    char *usable = calloc(n ? n : 1, 1);
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!e || !usable || !order) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    e->L = m->n_labels;
    e->segment_s = seg_frames * frame_s;
    for (size_t i = 0; i < n; i++)
        usable[i] = clips[i].n_frames >= seg_frames && labels[i] >= 0;
    uint64_t rng = seed;
    e->n_segments = deal(labels, usable, n, e->L, &rng, order);
    if (e->n_segments < 2) {
        snprintf(err, err_len, "need clips of at least 2 genres at least %.0f s long", segment_s);
        goto fail;
    }
    e->segment_label = malloc(e->n_segments * sizeof *e->segment_label);
    if (!e->segment_label) goto fail;
    for (size_t s = 0; s < e->n_segments; s++)
        e->segment_label[s] = labels[order[s]];
    if (build(e, c, g, clips, order, seg_frames, err, err_len)) goto fail;
    free(usable);
    free(order);
    return e;
fail:
    free(usable);
    free(order);
    events_destroy(e);
    return NULL;
}

events_t *events_from_windows(unsigned L, const int *segment_label, size_t n_segments,
                              double segment_s, const float *window_probs, const double *window_end,
                              const double *window_level, size_t n_windows)
{
    events_t *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    *e = (events_t){L,
                    n_segments,
                    n_windows,
                    malloc(n_segments * sizeof(int)),
                    segment_s,
                    malloc(n_windows * sizeof(double)),
                    malloc(n_windows * L * sizeof(float)),
                    malloc(n_windows * sizeof(double)),
                    0};
    if (!e->segment_label || !e->window_end || !e->window_probs || !e->window_level) {
        events_destroy(e);
        return NULL;
    }
    memcpy(e->segment_label, segment_label, n_segments * sizeof(int));
    memcpy(e->window_end, window_end, n_windows * sizeof(double));
    memcpy(e->window_probs, window_probs, n_windows * L * sizeof(float));
    memcpy(e->window_level, window_level, n_windows * sizeof(double));
    return e;
}

void events_destroy(events_t *e)
{
    if (!e) return;
    free(e->segment_label);
    free(e->window_end);
    free(e->window_probs);
    free(e->window_level);
    free(e);
}

size_t events_segments(const events_t *e)
{
    return e->n_segments;
}

double events_seconds(const events_t *e)
{
    return e->segment_s * (double)e->n_segments;
}

typedef struct {
    double t;
    int state;
    int used;
} announcement;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Share of time where the announced state (a step function) equals the
 * truth, sampled every 0.1 s. */
static double right_share(const events_t *e, const announcement *a, size_t n)
{
    size_t k = 0, right = 0, samples = 0;
    int state = TRACKER_NONE;
    for (double t = 0.05; t < events_seconds(e); t += 0.1, samples++) {
        while (k < n && a[k].t <= t)
            state = a[k++].state;
        right += state == e->segment_label[(size_t)(t / e->segment_s)];
    }
    return samples ? (double)right / (double)samples : 0;
}

/* The state announced at time t (before any announcement at t). */
static int state_before(const announcement *a, size_t n, double t)
{
    int state = TRACKER_NONE;
    for (size_t k = 0; k < n && a[k].t < t; k++)
        state = a[k].state;
    return state;
}

events_score events_run(const events_t *e, const tracker_settings *s, double tolerance_s)
{
    events_score r = {0};
    tracker_t *tr = tracker_create(e->L, s);
    announcement *a = malloc((e->n_windows + 1) * sizeof *a);
    double *delays = malloc(e->n_segments * sizeof *delays);
    if (!tr || !a || !delays) {
        tracker_destroy(tr);
        free(a);
        free(delays);
        return r;
    }
    size_t n = 0;
    unsigned delayed = 0;
    for (size_t w = 0; w < e->n_windows; w++) {
        tracker_decision d;
        tracker_process(tr, e->window_probs + w * e->L, e->window_level[w], e->window_end[w], &d);
        if (d.changed) a[n++] = (announcement){e->window_end[w], d.state, 0};
    }
    /* Per true change, the first announcement of the new genre before the
     * next change is the right one (a hit when within the tolerance); every
     * other announcement is false. The delay counts every change whose
     * genre was announced at all, late ones too. A genre announced before
     * its change came (events.h) is neither. */
    for (size_t b = 1; b < e->n_segments; b++) {
        double t0 = b * e->segment_s, t1 = t0 + e->segment_s;
        int truth = e->segment_label[b];
        r.true_changes++;
        if (state_before(a, n, t0) == truth) continue;
        for (size_t k = 0; k < n; k++)
            if (a[k].t >= t0 && a[k].t < t1 && a[k].state == truth) {
                a[k].used = 1;
                delays[delayed++] = a[k].t - t0;
                r.hits += a[k].t <= t0 + tolerance_s;
                break;
            }
    }
    r.changes = (unsigned)n;
    r.hours = events_seconds(e) / 3600;
    unsigned unused = 0;
    for (size_t k = 0; k < n; k++)
        unused += !a[k].used;
    /* The first announcement after start-up is not a change. */
    if (n && !a[0].used) unused--;
    r.right = right_share(e, a, n);
    r.announced = r.true_changes ? (double)r.hits / r.true_changes : 0;
    r.false_per_hour = r.hours > 0 ? unused / r.hours : 0;
    qsort(delays, delayed, sizeof *delays, cmp_double);
    r.median_delay = delayed ? (delayed % 2 ? delays[delayed / 2]
                                            : 0.5 * (delays[delayed / 2 - 1] + delays[delayed / 2]))
                             : NAN;
    tracker_destroy(tr);
    free(a);
    free(delays);
    return r;
}
