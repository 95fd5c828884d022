#include "tracker.h"

#include "smoother.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Window ends come from sample counts divided by a rate: a hold of exactly
 * change_hold seconds must not miss by a rounding error. */
#define HOLD_SLACK_S 1e-9

struct tracker {
    unsigned n;
    tracker_settings settings;
    smoother_t *smoother;
    float *probs;
    int current, candidate; /* reported state, and the one waiting out the hold */
    double candidate_since; /* end of the window where candidate appeared, s */
    double current_since;   /* the same for the reported state */
};

static int valid(unsigned n, const tracker_settings *s)
{
    return n && s && s->hop > 0 && s->smoothing >= 0 && s->change_hold >= 0 &&
           !isnan(s->silence_dbfs);
}

tracker_t *tracker_create(unsigned n_labels, const tracker_settings *s)
{
    if (!valid(n_labels, s)) return NULL;
    tracker_t *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->n = n_labels;
    t->settings = *s;
    t->smoother = smoother_create(n_labels, s->smoothing, s->hop);
    t->probs = malloc(n_labels * sizeof *t->probs);
    if (!t->smoother || !t->probs) {
        tracker_destroy(t);
        return NULL;
    }
    /* Until the first non-silent window, every label is equally likely. */
    for (unsigned i = 0; i < n_labels; i++)
        t->probs[i] = 1.0f / (float)n_labels;
    t->current = t->candidate = TRACKER_NONE;
    return t;
}

void tracker_destroy(tracker_t *t)
{
    if (!t) return;
    smoother_destroy(t->smoother);
    free(t->probs);
    free(t);
}

static int argmax(const float *v, unsigned n)
{
    int best = 0;
    for (unsigned i = 1; i < n; i++)
        if (v[i] > v[best]) best = (int)i;
    return best;
}

/* 1 when `state` has now held long enough to be reported. */
static int hold(tracker_t *t, int state, double end_s)
{
    if (state == t->current) {
        t->candidate = TRACKER_NONE;
        return 0;
    }
    if (state != t->candidate) {
        t->candidate = state;
        t->candidate_since = end_s;
    }
    return end_s - t->candidate_since + HOLD_SLACK_S >= t->settings.change_hold;
}

void tracker_process(tracker_t *t, const float *raw, double level_dbfs, double end_s,
                     tracker_decision *out)
{
    int silence = level_dbfs < t->settings.silence_dbfs;
    if (!silence) smoother_process(t->smoother, raw, t->probs);
    int top = argmax(t->probs, t->n);
    int state = silence ? TRACKER_SILENCE : top;
    out->probs = t->probs;
    out->top = top;
    out->silence = silence;
    out->p = silence ? 0.0 : t->probs[top];
    out->previous = t->current;
    out->changed = hold(t, state, end_s);
    if (out->changed) {
        t->current = state;
        t->current_since = t->candidate_since;
        t->candidate = TRACKER_NONE;
    }
    out->state = t->current;
}

int tracker_state(const tracker_t *t)
{
    return t->current;
}

double tracker_state_since(const tracker_t *t)
{
    return t->current_since;
}

void tracker_continue(tracker_t *t, const tracker_t *from)
{
    if (t->n != from->n) return;
    memcpy(t->probs, from->probs, t->n * sizeof *t->probs);
    /* Prime the new smoother with the old smoothed vector: the next window
     * blends into it instead of starting afresh. */
    smoother_reset(t->smoother);
    smoother_process(t->smoother, from->probs, t->probs);
    t->current = from->current;
    t->candidate = from->candidate;
    t->candidate_since = from->candidate_since;
    t->current_since = from->current_since;
}
