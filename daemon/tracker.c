#include "tracker.h"

#include "hmm_filter.h"
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
    smoother_t *smoother; /* hold decoder */
    hmm_filter_t *hmm;    /* hmm decoder */
    double hold_s;        /* the decoder's hold */
    float *probs;
    int current, candidate; /* reported state, and the one waiting out the hold */
    double candidate_since; /* end of the window where candidate appeared, s */
    double current_since;   /* the same for the reported state */
};

static int valid_hmm(const tracker_hmm_settings *h)
{
    return h->segment > 0 && h->exponent > 0 && h->exponent <= 1 && h->threshold >= 0 &&
           h->threshold < 1 && h->hold >= 0;
}

static int valid(unsigned n, const tracker_settings *s)
{
    if (!n || !s || !(s->hop > 0) || isnan(s->silence_dbfs)) return 0;
    if (s->decoder == TRACKER_DECODE_HMM) return valid_hmm(&s->hmm);
    return s->decoder == TRACKER_DECODE_HOLD && s->smoothing >= 0 && s->change_hold >= 0;
}

tracker_t *tracker_create(unsigned n_labels, const tracker_settings *s)
{
    if (!valid(n_labels, s)) return NULL;
    tracker_t *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->n = n_labels;
    t->settings = *s;
    int hmm = s->decoder == TRACKER_DECODE_HMM;
    if (hmm)
        t->hmm = hmm_filter_create(n_labels, s->hmm.segment, s->hop, s->hmm.exponent);
    else
        t->smoother = smoother_create(n_labels, s->smoothing, s->hop);
    t->hold_s = hmm ? s->hmm.hold : s->change_hold;
    t->probs = malloc(n_labels * sizeof *t->probs);
    if (!(t->smoother || t->hmm) || !t->probs) {
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
    hmm_filter_destroy(t->hmm);
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
    return end_s - t->candidate_since + HOLD_SLACK_S >= t->hold_s;
}

/* The state a window of music argues for: its top label, except that the
 * hmm decoder wants the label sure enough first and otherwise keeps what
 * it reported, so a label hovering below the threshold never starts a hold. */
static int music_state(const tracker_t *t, int top)
{
    if (!t->hmm || t->probs[top] >= t->settings.hmm.threshold) return top;
    return t->current;
}

void tracker_process(tracker_t *t, const float *raw, double level_dbfs, double end_s,
                     tracker_decision *out)
{
    int silence = level_dbfs < t->settings.silence_dbfs;
    if (!silence && t->hmm) hmm_filter_process(t->hmm, raw, t->probs);
    if (!silence && t->smoother) smoother_process(t->smoother, raw, t->probs);
    int top = argmax(t->probs, t->n);
    int state = silence ? TRACKER_SILENCE : music_state(t, top);
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
    /* Prime the new smoother or filter with the old vector, whichever
     * decoder made it: the next window blends into it instead of starting
     * afresh. */
    if (t->hmm) hmm_filter_prime(t->hmm, from->probs);
    if (t->smoother) {
        smoother_reset(t->smoother);
        smoother_process(t->smoother, from->probs, t->probs);
    }
    t->current = from->current;
    t->candidate = from->candidate;
    t->candidate_since = from->candidate_since;
    t->current_since = from->current_since;
}
