/* tracker: hop timing, silence and change-hold, window by window, without a
 * daemon or a socket; and the hmm decoder. Expected times are worked out by
 * hand from the settings (comments say how) or, for the hmm decoder, from
 * the naive reference filter (hmm_reference.h), never read back from the
 * tracker. */
#include "check.h"
#include "hmm_reference.h"
#include "tracker.h"

#include <math.h>

#define N       3
#define LOUD    (-20.0)
#define QUIET   (-90.0)
#define SILENCE (-60.0)

static const float A[N] = {0.8f, 0.1f, 0.1f}, B[N] = {0.1f, 0.8f, 0.1f};

static tracker_t *make(double hop, double smoothing, double hold)
{
    tracker_settings s = {
        .hop = hop, .smoothing = smoothing, .change_hold = hold, .silence_dbfs = SILENCE};
    tracker_t *t = tracker_create(N, &s);
    REQUIRE(t);
    return t;
}

/* Feeds `raw` at `level` for windows ending at start + k * hop, k = 0.. while
 * the end is below `until`; returns the end of the window that reported a
 * change (and its decision in *change), or -1 if none did. */
static double feed(tracker_t *t, const float *raw, double level, double start, double hop,
                   double until, tracker_decision *change)
{
    double found = -1;
    for (int k = 0;; k++) {
        double end = start + k * hop;
        if (end >= until - 1e-9) break;
        tracker_decision d;
        tracker_process(t, raw, level, end, &d);
        if (d.changed && found < 0) {
            found = end;
            *change = d;
        }
    }
    return found;
}

/* The first label is reported once it has held change_hold seconds of audio
 * counted from the first window's end: hop 0.5 and hold 2 report at the
 * fifth window (3.0 + 2.0); hop 0.3, which does not divide the hold, at the
 * first end >= 5.0, 3.0 + 7 * 0.3 = 5.1; hold 0 at the first window. */
static void test_hold_in_audio_time(void)
{
    const struct {
        double hop, hold, expect;
    } cases[] = {{0.5, 2.0, 5.0}, {0.25, 2.0, 5.0}, {0.3, 2.0, 5.1}, {0.5, 0.0, 3.0}};
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tracker_t *t = make(cases[i].hop, 0, cases[i].hold);
        tracker_decision d = {0};
        double at = feed(t, A, LOUD, 3.0, cases[i].hop, 10.0, &d);
        CHECK_NEAR(at, cases[i].expect, 1e-9);
        CHECK(d.previous == TRACKER_NONE && d.state == 0 && d.top == 0 && !d.silence);
        CHECK_NEAR(d.p, 0.8, 1e-6);
        CHECK(tracker_state(t) == 0);
        tracker_destroy(t);
    }
}

/* A label that appears for less than the hold and goes back is never
 * reported, and its hold restarts from scratch when it comes again. */
static void test_flicker(void)
{
    tracker_t *t = make(0.5, 0, 2.0);
    tracker_decision d;
    REQUIRE(feed(t, A, LOUD, 0, 0.5, 2.5, &d) == 2.0);
    CHECK(feed(t, B, LOUD, 2.5, 0.5, 4.0, &d) < 0); /* B for 1.5 s (2.5..3.5) */
    CHECK(feed(t, A, LOUD, 4.0, 0.5, 4.5, &d) < 0); /* back to A: nothing to report */
    /* B again from 4.5: a fresh hold of 2 s, reported at 6.5. */
    CHECK_NEAR(feed(t, B, LOUD, 4.5, 0.5, 9.0, &d), 6.5, 1e-9);
    CHECK(d.previous == 0 && d.state == 1);
    /* Where each reported state began: A at the first window (0), B at 4.5,
     * where it came to stay, not 2.5 where it flickered. */
    CHECK_NEAR(tracker_state_since(t), 4.5, 1e-9);
    tracker_destroy(t);
    t = make(0.5, 0, 2.0);
    CHECK(tracker_state_since(t) == 0);
    REQUIRE(feed(t, A, LOUD, 3.0, 0.5, 6.0, &d) == 5.0);
    CHECK_NEAR(tracker_state_since(t), 3.0, 1e-9);
    tracker_destroy(t);
}

/* Going silent and coming back are changes like any other, and the
 * decision says which side was silence. While silent the smoothed
 * probabilities are held and p is 0. */
static void test_silence(void)
{
    tracker_t *t = make(0.5, 1.5, 1.0);
    tracker_decision d;
    REQUIRE(feed(t, A, LOUD, 0, 0.5, 5.0, &d) == 1.0);
    tracker_decision before;
    tracker_process(t, A, LOUD, 5.0, &before);
    float held[N];
    for (int i = 0; i < N; i++)
        held[i] = before.probs[i];

    tracker_decision s;
    tracker_process(t, B, QUIET, 5.5, &s);
    CHECK(s.silence && !s.changed && s.p == 0.0 && s.top == 0);
    for (int i = 0; i < N; i++)
        CHECK(s.probs[i] == held[i]);
    /* Silence from 5.5 is reported at 6.5, the state changing to SILENCE. */
    CHECK_NEAR(feed(t, B, QUIET, 6.0, 0.5, 9.0, &d), 6.5, 1e-9);
    CHECK(d.previous == 0 && d.state == TRACKER_SILENCE && d.silence);
    CHECK(tracker_state(t) == TRACKER_SILENCE);

    /* Loud again from 9.0 with B: the smoothing continues from the held
     * vector, so A stays on top a while; whatever the top, the change out of
     * silence names SILENCE as what came before, never NONE. */
    CHECK(feed(t, B, LOUD, 9.0, 0.5, 20.0, &d) >= 10.0);
    CHECK(d.previous == TRACKER_SILENCE && d.state >= 0 && !d.silence);

    /* The threshold itself is not silence. */
    tracker_process(t, B, SILENCE, 20.0, &s);
    CHECK(!s.silence);
    tracker_destroy(t);
}

/* Smoothing at the hop's step: a step from A to B hands B 1 - 1/e of the
 * weight after one time constant, and B takes the top where the two cross. */
static void test_smoothing(void)
{
    const double tau = 1.5, hop = 0.25;
    tracker_t *t = make(hop, tau, 0);
    const float a[N] = {1, 0, 0}, b[N] = {0, 1, 0};
    tracker_decision d;
    tracker_process(t, a, LOUD, 0, &d);
    int steps = (int)lround(tau / hop);
    for (int k = 1; k <= steps; k++)
        tracker_process(t, b, LOUD, k * hop, &d);
    CHECK_NEAR(d.probs[1], 1 - exp(-1), 1e-5);
    CHECK(d.top == 1);
    /* Weight of b after k steps is 1 - (1 - alpha)^k; it passes 1/2 at
     * k = ceil(ln 2 / (hop / tau)) = ceil(4.16) = 5. */
    tracker_t *u = make(hop, tau, 0);
    tracker_process(u, a, LOUD, 0, &d);
    int first_b = 0;
    for (int k = 1; k <= 10 && !first_b; k++) {
        tracker_process(u, b, LOUD, k * hop, &d);
        if (d.changed && d.state == 1) first_b = k;
    }
    CHECK(first_b == 5);
    tracker_destroy(t);
    tracker_destroy(u);
}

/* A reload carries the history: no change re-reported, a pending hold keeps
 * its start, the smoothing continues from the old vector. */
static void test_continue(void)
{
    tracker_t *t = make(0.5, 0, 2.0);
    tracker_decision d;
    REQUIRE(feed(t, A, LOUD, 0, 0.5, 4.0, &d) == 2.0);
    CHECK(feed(t, B, LOUD, 4.0, 0.5, 5.0, &d) < 0); /* B pending since 4.0 */
    tracker_t *next = make(0.25, 0, 2.0);
    tracker_continue(next, t);
    CHECK(tracker_state(next) == 0);
    /* Reported 2 s after B first appeared (6.0), not 2 s after the reload. */
    CHECK_NEAR(feed(next, B, LOUD, 5.0, 0.25, 8.0, &d), 6.0, 1e-9);
    CHECK(d.previous == 0 && d.state == 1);
    tracker_destroy(t);
    tracker_destroy(next);

    tracker_t *s = make(0.5, 1.5, 2.0);
    feed(s, A, LOUD, 0, 0.5, 4.0, &d);
    tracker_t *s2 = make(0.5, 1.5, 2.0);
    tracker_continue(s2, s);
    tracker_process(s2, B, LOUD, 4.0, &d);
    double alpha = 1 - exp(-0.5 / 1.5);
    CHECK_NEAR(d.probs[1], 0.1 + alpha * (0.8 - 0.1), 1e-6);
    CHECK(!d.changed && d.state == 0);
    tracker_destroy(s);
    tracker_destroy(s2);
}

static void test_bad_settings(void)
{
    tracker_settings ok = {.hop = 0.5, .smoothing = 1.5, .change_hold = 2, .silence_dbfs = -60};
    tracker_t *t = tracker_create(N, &ok);
    CHECK(t);
    tracker_destroy(t);
    tracker_settings bad[] = {ok, ok, ok, ok, ok};
    bad[0].hop = 0;
    bad[1].smoothing = -1;
    bad[2].change_hold = -1;
    bad[3].silence_dbfs = NAN;
    bad[4].hop = NAN;
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(!tracker_create(N, &bad[i]));
    CHECK(!tracker_create(0, &ok) && !tracker_create(N, NULL));
}

/* ---- the hmm decoder ---- */

#define SEGMENT   30.0
#define EXPONENT  0.3
#define THRESHOLD 0.8

static tracker_t *make_hmm(double hop, double hold)
{
    tracker_settings s = {.hop = hop,
                          .silence_dbfs = SILENCE,
                          .decoder = TRACKER_DECODE_HMM,
                          .hmm = {SEGMENT, EXPONENT, THRESHOLD, hold}};
    tracker_t *t = tracker_create(N, &s);
    REQUIRE(t);
    return t;
}

/* Windows of `raw` every hop from `start` while below `until`, each checked
 * against the reference filter (which sees the same windows); returns the
 * end of the first window that the reference puts label `label` at or over
 * the threshold, or -1. */
static double feed_hmm(tracker_t *t, hmm_reference *r, const float *raw, double start, double hop,
                       double until, int label, tracker_decision *d)
{
    double reached = -1;
    for (int k = 0; start + k * hop < until - 1e-9; k++) {
        tracker_process(t, raw, LOUD, start + k * hop, d);
        hmm_reference_step(r, raw);
        for (int i = 0; i < N; i++)
            CHECK_NEAR(d->probs[i], r->post[i], 1e-6);
        if (reached < 0 && r->post[label] >= THRESHOLD) reached = start + k * hop;
    }
    return reached;
}

/* A step from A to B: the posterior is the reference's window by window,
 * B is announced once it passes the threshold and then held hmm.hold, not
 * before, and p is B's posterior. */
static void test_hmm_step(void)
{
    const double hop = 0.5, hold = 1.0;
    tracker_t *t = make_hmm(hop, hold);
    hmm_reference r;
    hmm_reference_init(&r, N, SEGMENT, hop, EXPONENT, NULL);
    tracker_decision d;
    REQUIRE(feed_hmm(t, &r, A, 0, hop, 30, 0, &d) >= 0);
    CHECK(tracker_state(t) == 0);
    /* B from 30 s, one window at a time until it is announced. */
    double reached = -1, announced = -1;
    for (int k = 0; k < 60 && announced < 0; k++) {
        double end = 30 + k * hop;
        double at = feed_hmm(t, &r, B, end, hop, end + hop, 1, &d);
        if (reached < 0) reached = at;
        if (d.changed) announced = end;
    }
    /* A sure A costs B a few windows: about 3 s at these settings. */
    REQUIRE(reached > 30 && reached < 36);
    CHECK_NEAR(announced, reached + hold, 1e-9);
    CHECK(d.previous == 0 && d.state == 1 && d.top == 1);
    CHECK_NEAR(d.p, r.post[1], 1e-6);
    CHECK(d.p >= THRESHOLD);
    tracker_destroy(t);
}

/* One window, or two, of another genre with hardly a doubt, in the middle of
 * a sure A: the hold decoder without smoothing or hold reports each as two
 * false changes; the hmm decoder, even without a hold, reports none. A
 * real change of the same strength is still announced. */
static void test_hmm_glitch(void)
{
    const float glitch[N] = {0.02f, 0.96f, 0.02f};
    for (int windows = 1; windows <= 2; windows++) {
        tracker_t *hmm = make_hmm(0.5, 0), *plain = make(0.5, 0, 0);
        tracker_decision d;
        unsigned changes[2] = {0, 0};
        for (int k = 0; k < 120; k++) {
            const float *raw = k >= 60 && k < 60 + windows ? glitch : A;
            tracker_process(hmm, raw, LOUD, k * 0.5, &d);
            changes[0] += d.changed;
            tracker_process(plain, raw, LOUD, k * 0.5, &d);
            changes[1] += d.changed;
        }
        CHECK(changes[0] == 1); /* the first A */
        CHECK(changes[1] == 3);
        tracker_destroy(hmm);
        tracker_destroy(plain);
    }
    tracker_t *t = make_hmm(0.5, 0);
    tracker_decision d;
    feed(t, A, LOUD, 0, 0.5, 30, &d);
    CHECK(feed(t, glitch, LOUD, 30, 0.5, 40, &d) > 30 && d.state == 1);
    tracker_destroy(t);
}

/* Evidence split between A and B never lifts B over the threshold: the
 * reported A stays, and from the start nothing is reported at all. */
static void test_hmm_threshold(void)
{
    const float split[N] = {0.45f, 0.45f, 0.1f};
    tracker_t *t = make_hmm(0.5, 0);
    tracker_decision d;
    REQUIRE(feed(t, A, LOUD, 0, 0.5, 30, &d) >= 0);
    CHECK(feed(t, split, LOUD, 30, 0.5, 120, &d) < 0);
    tracker_process(t, split, LOUD, 120, &d);
    CHECK(d.state == 0 && !d.changed && d.p < THRESHOLD);
    tracker_destroy(t);
    t = make_hmm(0.5, 0);
    CHECK(feed(t, split, LOUD, 0, 0.5, 60, &d) < 0);
    CHECK(tracker_state(t) == TRACKER_NONE);
    tracker_destroy(t);
}

/* Silence as the hold decoder treats it: the posterior is held, p is 0,
 * silence is reported after hmm.hold, and the genre comes back after it. */
static void test_hmm_silence(void)
{
    tracker_t *t = make_hmm(0.5, 1.0);
    tracker_decision d, s;
    REQUIRE(feed(t, A, LOUD, 0, 0.5, 20, &d) >= 0);
    float held[N];
    for (int i = 0; i < N; i++)
        held[i] = d.probs[i];
    tracker_process(t, B, QUIET, 20, &s);
    CHECK(s.silence && !s.changed && s.p == 0.0 && s.top == 0);
    for (int i = 0; i < N; i++)
        CHECK(s.probs[i] == held[i]);
    CHECK_NEAR(feed(t, B, QUIET, 20.5, 0.5, 25, &d), 21.0, 1e-9);
    CHECK(d.state == TRACKER_SILENCE && d.previous == 0);
    /* A again: its posterior was held over threshold, so 1 s brings it back. */
    CHECK_NEAR(feed(t, A, LOUD, 25, 0.5, 30, &d), 26.0, 1e-9);
    CHECK(d.previous == TRACKER_SILENCE && d.state == 0);
    tracker_destroy(t);
}

/* A reload from the hold decoder to the hmm: no change re-reported, and the
 * filter starts from the smoothed vector it takes over. */
static void test_hmm_continue(void)
{
    tracker_t *t = make(0.5, 1.5, 2.0);
    tracker_decision d;
    REQUIRE(feed(t, A, LOUD, 0, 0.5, 10, &d) >= 0);
    float last[N];
    for (int i = 0; i < N; i++)
        last[i] = d.probs[i];
    tracker_t *next = make_hmm(0.5, 0);
    tracker_continue(next, t);
    hmm_reference r;
    hmm_reference_init(&r, N, SEGMENT, 0.5, EXPONENT, last);
    CHECK(feed_hmm(next, &r, A, 10, 0.5, 20, 0, &d) == 10);
    CHECK(tracker_state(next) == 0 && !d.changed);
    tracker_destroy(t);
    tracker_destroy(next);
}

static void test_hmm_bad_settings(void)
{
    tracker_settings ok = {.hop = 0.5,
                           .silence_dbfs = -60,
                           .decoder = TRACKER_DECODE_HMM,
                           .hmm = {SEGMENT, EXPONENT, THRESHOLD, 0}};
    tracker_t *t = tracker_create(N, &ok);
    CHECK(t);
    tracker_destroy(t);
    tracker_settings bad[] = {ok, ok, ok, ok, ok, ok, ok};
    bad[0].hmm.segment = 0;
    bad[1].hmm.exponent = 0;
    bad[2].hmm.exponent = 1.5;
    bad[3].hmm.threshold = 1;
    bad[4].hmm.hold = -1;
    bad[5].hmm.segment = NAN;
    bad[6].decoder = (tracker_decoder)7;
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(!tracker_create(N, &bad[i]));
    /* The hold decoder's settings do not matter to the hmm's. */
    ok.smoothing = -1;
    t = tracker_create(N, &ok);
    CHECK(t);
    tracker_destroy(t);
}

int main(void)
{
    test_hold_in_audio_time();
    test_flicker();
    test_silence();
    test_smoothing();
    test_continue();
    test_bad_settings();
    test_hmm_step();
    test_hmm_glitch();
    test_hmm_threshold();
    test_hmm_silence();
    test_hmm_continue();
    test_hmm_bad_settings();
    return check_report("test_tracker");
}
