/* tracker: hop timing, silence and change-hold, window by window, without a
 * daemon or a socket. Expected times are worked out by hand from the
 * settings (comments say how), never read back from the tracker. */
#include "check.h"
#include "tracker.h"

#include <math.h>

#define N       3
#define LOUD    (-20.0)
#define QUIET   (-90.0)
#define SILENCE (-60.0)

static const float A[N] = {0.8f, 0.1f, 0.1f}, B[N] = {0.1f, 0.8f, 0.1f};

static tracker_t *make(double hop, double smoothing, double hold)
{
    tracker_settings s = {hop, smoothing, hold, SILENCE};
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
    tracker_settings ok = {0.5, 1.5, 2, -60};
    tracker_t *t = tracker_create(N, &ok);
    CHECK(t);
    tracker_destroy(t);
    tracker_settings bad[] = {{0, 1.5, 2, -60},
                              {0.5, -1, 2, -60},
                              {0.5, 1.5, -1, -60},
                              {0.5, 1.5, 2, NAN},
                              {NAN, 1.5, 2, -60}};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(!tracker_create(N, &bad[i]));
    CHECK(!tracker_create(0, &ok) && !tracker_create(N, NULL));
}

int main(void)
{
    test_hold_in_audio_time();
    test_flicker();
    test_silence();
    test_smoothing();
    test_continue();
    test_bad_settings();
    return check_report("test_tracker");
}
