#include "smoother.h"

#include <math.h>
#include <stdlib.h>

struct smoother {
    unsigned n;
    double alpha; /* weight of the new vector */
    int primed;
    double *state;
};

smoother_t *smoother_create(unsigned n, double time_constant, double step)
{
    if (!n || !(time_constant >= 0) || !(step > 0)) return NULL;
    smoother_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->state = calloc(n, sizeof *s->state);
    if (!s->state) {
        free(s);
        return NULL;
    }
    s->n = n;
    /* Per-step weight of a first-order low-pass with this time constant, so
     * the smoothing means the same whatever the hop. */
    s->alpha = time_constant > 0 ? 1.0 - exp(-step / time_constant) : 1.0;
    return s;
}

void smoother_destroy(smoother_t *s)
{
    if (!s) return;
    free(s->state);
    free(s);
}

void smoother_process(smoother_t *s, const float *in, float *out)
{
    double a = s->primed ? s->alpha : 1.0, sum = 0;
    for (unsigned i = 0; i < s->n; i++) {
        s->state[i] += a * ((double)in[i] - s->state[i]);
        sum += s->state[i];
    }
    s->primed = 1;
    /* Renormalise so rounding never lets the sum wander from 1. */
    for (unsigned i = 0; i < s->n; i++)
        out[i] = (float)(sum > 0 ? s->state[i] / sum : 1.0 / s->n);
}

void smoother_reset(smoother_t *s)
{
    s->primed = 0;
}
