/* hmm_filter: its O(labels) forward step against the naive double-precision
 * reference (hmm_reference.h) on random model outputs, and the chain alone
 * against the closed form worked out by hand. */
#include "check.h"
#include "hmm_filter.h"
#include "hmm_reference.h"
#include "splitmix.h"

#include <math.h>

/* A model-like output: softmax of random logits at a random sharpness, now
 * and then with labels at exactly 0, or a window without usable evidence
 * (NaN, all zero). */
static void random_window(uint64_t *rng, unsigned n, float *raw)
{
    double u = (double)(splitmix64(rng) >> 11) / 9007199254740992.0;
    double scale = u < 0.3 ? 0.5 : u < 0.8 ? 3 : 12, sum = 0, logit[HMM_REFERENCE_MAX];
    for (unsigned i = 0; i < n; i++) {
        logit[i] = scale * ((double)(splitmix64(rng) >> 11) / 9007199254740992.0 - 0.5);
        sum += exp(logit[i]);
    }
    for (unsigned i = 0; i < n; i++)
        raw[i] = (float)(exp(logit[i]) / sum);
    unsigned kind = (unsigned)(splitmix64(rng) % 50);
    if (kind == 0) raw[splitmix64(rng) % n] = 0;
    if (kind == 1) raw[splitmix64(rng) % n] = NAN;
    for (unsigned i = 0; kind == 2 && i < n; i++)
        raw[i] = 0;
}

static void test_matches_reference(void)
{
    const struct {
        unsigned n;
        double segment, hop, exponent;
    } cases[] = {{1, 30, 0.5, 0.3},  {2, 10, 0.5, 1.0},    {3, 30, 0.25, 0.3},
                 {10, 30, 0.5, 0.2}, {10, 300, 1.0, 0.05}, {32, 5, 0.5, 0.7}};
    uint64_t rng = 11;
    for (unsigned c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        unsigned n = cases[c].n;
        hmm_filter_t *f = hmm_filter_create(n, cases[c].segment, cases[c].hop, cases[c].exponent);
        REQUIRE(f);
        hmm_reference r;
        hmm_reference_init(&r, n, cases[c].segment, cases[c].hop, cases[c].exponent, NULL);
        double worst = 0;
        for (int w = 0; w < 2000; w++) {
            float raw[HMM_REFERENCE_MAX], out[HMM_REFERENCE_MAX];
            random_window(&rng, n, raw);
            hmm_filter_process(f, raw, out);
            hmm_reference_step(&r, raw);
            double sum = 0;
            for (unsigned i = 0; i < n; i++) {
                worst = fmax(worst, fabs(out[i] - r.post[i]));
                sum += out[i];
            }
            CHECK_NEAR(sum, 1, 1e-5);
        }
        /* Float output of a double posterior: rounding alone is 6e-8. */
        CHECK(worst < 1e-6);
        if (worst >= 1e-6) fprintf(stderr, "case %u: off by %g\n", c, worst);
        hmm_filter_destroy(f);
    }
}

/* With evidence that favours nothing (every label equally likely), the
 * filter is the chain alone. From label 0 for sure, after k hops
 *   p0 = 1/n + (1 - 1/n) * m^k,  m = (n * stay - 1) / (n - 1)
 * (the deviation from uniform shrinks by the chain's second eigenvalue).
 * With segment = hop / ln(10/9), stay = 0.9; for n = 4, m = 13/15. */
static void test_chain_alone(void)
{
    const unsigned n = 4;
    const double hop = 0.5;
    hmm_filter_t *f = hmm_filter_create(n, hop / log(10.0 / 9.0), hop, 0.5);
    REQUIRE(f);
    const float sure[4] = {1, 0, 0, 0}, flat[4] = {0.25f, 0.25f, 0.25f, 0.25f};
    hmm_filter_prime(f, sure);
    float out[4];
    for (int k = 1; k <= 20; k++) {
        hmm_filter_process(f, flat, out);
        CHECK_NEAR(out[0], 0.25 + 0.75 * pow(13.0 / 15.0, k), 1e-6);
        CHECK_NEAR(out[1], (1 - out[0]) / 3, 1e-6);
    }
    hmm_filter_destroy(f);
}

/* prime normalises what it is given; nothing usable means uniform. The next
 * step then starts from it, as the reference started from the same vector. */
static void test_prime(void)
{
    const unsigned n = 3;
    hmm_filter_t *f = hmm_filter_create(n, 20, 0.5, 0.4);
    REQUIRE(f);
    const float start[3] = {2, 1, 1}, raw[3] = {0.2f, 0.7f, 0.1f};
    hmm_filter_prime(f, start);
    hmm_reference r;
    hmm_reference_init(&r, n, 20, 0.5, 0.4, start);
    float out[3];
    hmm_filter_process(f, raw, out);
    hmm_reference_step(&r, raw);
    for (unsigned i = 0; i < n; i++)
        CHECK_NEAR(out[i], r.post[i], 1e-7);
    const float zeros[3] = {0, 0, 0}, nan[3] = {NAN, 1, 1}, none[3] = {0.5f, 0.5f, 0.5f};
    const float *unusable[] = {zeros, nan, NULL};
    for (unsigned k = 0; k < 3; k++) {
        hmm_filter_prime(f, unusable[k]);
        hmm_filter_process(f, none, out); /* flat evidence keeps a uniform posterior */
        for (unsigned i = 0; i < n; i++)
            CHECK_NEAR(out[i], 1.0 / 3, 1e-7);
    }
    hmm_filter_destroy(f);
}

static void test_bad_arguments(void)
{
    CHECK(!hmm_filter_create(0, 30, 0.5, 0.3));
    CHECK(!hmm_filter_create(3, 0, 0.5, 0.3));
    CHECK(!hmm_filter_create(3, 30, 0, 0.3));
    CHECK(!hmm_filter_create(3, 30, 0.5, 0));
    CHECK(!hmm_filter_create(3, 30, 0.5, 1.01));
    CHECK(!hmm_filter_create(3, NAN, 0.5, 0.3));
    CHECK(!hmm_filter_create(3, 30, 0.5, NAN));
    hmm_filter_t *f = hmm_filter_create(3, 30, 0.5, 1);
    CHECK(f);
    hmm_filter_destroy(f);
    hmm_filter_destroy(NULL);
}

int main(void)
{
    test_matches_reference();
    test_chain_alone();
    test_prime();
    test_bad_arguments();
    return check_report("test_hmm_filter");
}
