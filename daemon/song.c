#include "song.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SONG_TITLE_LEN = 256 };

struct song {
    unsigned n_labels;
    char title[SONG_TITLE_LEN];
    uint64_t start;
    unsigned windows, silent;
    double *sum;      /* n_labels */
    unsigned *topped; /* n_labels: windows each label topped */
    float *mean;      /* n_labels: song_end's answer */
};

song_t *song_create(unsigned n_labels)
{
    if (!n_labels) return NULL;
    song_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->n_labels = n_labels;
    s->sum = calloc(n_labels, sizeof *s->sum);
    s->topped = calloc(n_labels, sizeof *s->topped);
    s->mean = calloc(n_labels, sizeof *s->mean);
    if (!s->sum || !s->topped || !s->mean) {
        song_destroy(s);
        return NULL;
    }
    return s;
}

void song_destroy(song_t *s)
{
    if (!s) return;
    free(s->sum);
    free(s->topped);
    free(s->mean);
    free(s);
}

void song_start(song_t *s, const char *title, uint64_t start)
{
    snprintf(s->title, sizeof s->title, "%s", title);
    s->start = start;
    s->windows = s->silent = 0;
    memset(s->sum, 0, s->n_labels * sizeof *s->sum);
    memset(s->topped, 0, s->n_labels * sizeof *s->topped);
}

const char *song_title(const song_t *s)
{
    return s->title;
}

static unsigned argmax(const float *v, unsigned n)
{
    unsigned best = 0;
    for (unsigned i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

void song_add(song_t *s, uint64_t first, const float *raw, int silence)
{
    if (!*s->title || first < s->start) return;
    if (silence) {
        s->silent++;
        return;
    }
    for (unsigned i = 0; i < s->n_labels; i++)
        s->sum[i] += raw[i];
    s->topped[argmax(raw, s->n_labels)]++;
    s->windows++;
}

int song_end(song_t *s, uint64_t end, song_summary *out)
{
    if (!*s->title) return 0;
    for (unsigned i = 0; i < s->n_labels; i++)
        s->mean[i] = s->windows ? (float)(s->sum[i] / s->windows) : 0.0f;
    int top = s->windows ? (int)argmax(s->mean, s->n_labels) : -1;
    *out = (song_summary){s->title,
                          s->start,
                          end > s->start ? end : s->start,
                          s->windows,
                          s->silent,
                          s->mean,
                          top,
                          top >= 0 ? (double)s->topped[top] / s->windows : 0.0};
    return 1;
}

void song_continue(song_t *s, const song_t *from)
{
    if (from->n_labels != s->n_labels) return;
    memcpy(s->title, from->title, sizeof s->title);
    s->start = from->start;
    s->windows = from->windows;
    s->silent = from->silent;
    memcpy(s->sum, from->sum, s->n_labels * sizeof *s->sum);
    memcpy(s->topped, from->topped, s->n_labels * sizeof *s->topped);
}
