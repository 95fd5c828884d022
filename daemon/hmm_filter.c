#include "hmm_filter.h"

#include <math.h>
#include <stdlib.h>

struct hmm_filter {
    unsigned n;
    /* The prediction a hop ahead, stay * p + (1 - stay) / (n - 1) * (1 - p)
     * for a posterior p that sums to 1, as keep * p + spread. */
    double keep, spread;
    double exponent;
    double *post;      /* the filtered posterior, in double: a long run of sure
                          windows must not round a label to exactly 0 */
    double *predicted; /* scratch for one step, so that a window without
                          evidence can fall back to the prediction */
};

/* 1 when every value is finite and not negative. */
static int finite_non_negative(const float *raw, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (!(raw[i] >= 0 && isfinite(raw[i]))) return 0;
    return 1;
}

hmm_filter_t *hmm_filter_create(unsigned n, double segment_s, double hop_s, double exponent)
{
    if (!n || !(segment_s > 0) || !(hop_s > 0) || !(exponent > 0 && exponent <= 1)) return NULL;
    hmm_filter_t *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->post = malloc(n * sizeof *f->post);
    f->predicted = malloc(n * sizeof *f->predicted);
    if (!f->post || !f->predicted) {
        hmm_filter_destroy(f);
        return NULL;
    }
    f->n = n;
    f->exponent = exponent;
    /* Segment lengths exponential with mean segment_s: the chance of staying
     * put over one hop means the same whatever the hop. */
    double stay = exp(-hop_s / segment_s);
    double move = n > 1 ? (1 - stay) / (n - 1) : 0;
    f->keep = n > 1 ? stay - move : 1;
    f->spread = move;
    hmm_filter_prime(f, NULL);
    return f;
}

void hmm_filter_destroy(hmm_filter_t *f)
{
    if (!f) return;
    free(f->post);
    free(f->predicted);
    free(f);
}

void hmm_filter_process(hmm_filter_t *f, const float *raw, float *out)
{
    int evidence = finite_non_negative(raw, f->n);
    double predicted_sum = 0, weighed_sum = 0;
    for (unsigned i = 0; i < f->n; i++) {
        f->predicted[i] = f->keep * f->post[i] + f->spread;
        predicted_sum += f->predicted[i];
        f->post[i] = evidence ? f->predicted[i] * pow(raw[i], f->exponent) : 0;
        weighed_sum += f->post[i];
    }
    /* All likelihoods zero (or underflowing): the window says nothing. */
    int weighed = weighed_sum > 0 && isfinite(weighed_sum);
    for (unsigned i = 0; i < f->n; i++) {
        f->post[i] = weighed ? f->post[i] / weighed_sum : f->predicted[i] / predicted_sum;
        out[i] = (float)f->post[i];
    }
}

void hmm_filter_prime(hmm_filter_t *f, const float *probs)
{
    double sum = 0;
    int usable = probs && finite_non_negative(probs, f->n);
    for (unsigned i = 0; usable && i < f->n; i++)
        sum += probs[i];
    usable = usable && sum > 0 && isfinite(sum);
    for (unsigned i = 0; i < f->n; i++)
        f->post[i] = usable ? probs[i] / sum : 1.0 / f->n;
}
