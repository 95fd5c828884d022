/* hmm_reference: the sticky HMM's forward filter the slow, obvious way, to
 * check daemon/hmm_filter's O(labels) step against: the whole transition
 * matrix written out, a full matrix-vector product per window, and Bayes'
 * rule, all in double. Only the model is shared with the filter (stay
 * exp(-hop / segment), the rest spread evenly; likelihoods raw^exponent;
 * a window with a negative or non-finite value, or whose weighed sum is 0,
 * carries no evidence); none of its algebra is. */
#ifndef GENRED_HMM_REFERENCE_H
#define GENRED_HMM_REFERENCE_H

#include <math.h>

#define HMM_REFERENCE_MAX 32

typedef struct {
    unsigned n;
    double exponent;
    double transition[HMM_REFERENCE_MAX][HMM_REFERENCE_MAX]; /* [from][to] */
    double post[HMM_REFERENCE_MAX];
} hmm_reference;

static void hmm_reference_init(hmm_reference *r, unsigned n, double segment, double hop,
                               double exponent, const float *start)
{
    double stay = n > 1 ? exp(-hop / segment) : 1, sum = 0; /* one label: nowhere to go */
    r->n = n;
    r->exponent = exponent;
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = 0; j < n; j++)
            r->transition[i][j] = i == j ? stay : (1 - stay) / (n - 1);
    for (unsigned i = 0; i < n; i++)
        sum += start ? start[i] : 1;
    for (unsigned i = 0; i < n; i++)
        r->post[i] = (start ? start[i] : 1) / sum;
}

static void hmm_reference_step(hmm_reference *r, const float *raw)
{
    double predicted[HMM_REFERENCE_MAX], joint[HMM_REFERENCE_MAX], evidence = 0;
    int usable = 1;
    for (unsigned j = 0; j < r->n; j++) {
        predicted[j] = 0;
        for (unsigned i = 0; i < r->n; i++)
            predicted[j] += r->post[i] * r->transition[i][j];
        usable &= raw[j] >= 0 && isfinite(raw[j]);
    }
    for (unsigned j = 0; j < r->n; j++) {
        joint[j] = usable ? predicted[j] * pow(raw[j], r->exponent) : 0;
        evidence += joint[j];
    }
    for (unsigned j = 0; j < r->n; j++)
        r->post[j] = evidence > 0 ? joint[j] / evidence : predicted[j];
}

#endif
