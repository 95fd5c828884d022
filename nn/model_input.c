#include "model_input.h"

#include <math.h>

model_input_spec model_input_spec_of(const model_t *m)
{
    return (model_input_spec){m->frontend.mfcc.n_coeffs, m->deltas, m->no_c0, m->mean, m->std};
}

unsigned model_input_flags(const model_input_spec *s)
{
    return (s->deltas ? MODEL_INPUT_DELTAS : 0) | (s->no_c0 ? MODEL_INPUT_NO_C0 : 0);
}

unsigned model_input_width(const model_input_spec *s)
{
    return model_input_count(s->n_coeffs, model_input_flags(s));
}

static unsigned clamp_frame(long t, unsigned n)
{
    return t < 0 ? 0 : t >= (long)n ? n - 1 : (unsigned)t;
}

/* One frame's deltas; the order of operations is the documented formula's,
 * so that the trainer's statistics and every caller agree bit for bit. */
static void frame_deltas(const float *c, unsigned n, unsigned C, unsigned t, float *d)
{
    const float *m2 = c + (size_t)clamp_frame((long)t - 2, n) * C;
    const float *m1 = c + (size_t)clamp_frame((long)t - 1, n) * C;
    const float *p1 = c + (size_t)clamp_frame((long)t + 1, n) * C;
    const float *p2 = c + (size_t)clamp_frame((long)t + 2, n) * C;
    for (unsigned k = 0; k < C; k++)
        d[k] = (p1[k] - m1[k] + 2 * (p2[k] - m2[k])) / 10;
}

void model_input_deltas(const float *c, unsigned n, unsigned n_coeffs, float *d)
{
    for (unsigned t = 0; t < n; t++)
        frame_deltas(c, n, n_coeffs, t, d + (size_t)t * n_coeffs);
}

/* Non-finite features would poison every later frame; they count as the mean. */
static void normalise(const float *mean, const float *std, unsigned width, float *x)
{
    for (unsigned i = 0; i < width; i++) {
        float v = (x[i] - mean[i]) / std[i];
        x[i] = isfinite(v) ? v : 0;
    }
}

void model_input_row(const model_input_spec *s, const float *window, unsigned n, unsigned t,
                     float *row)
{
    unsigned C = s->n_coeffs, first = s->no_c0 ? 1 : 0;
    for (unsigned k = first; k < C; k++)
        row[k - first] = window[(size_t)t * C + k];
    if (s->deltas) frame_deltas(window, n, C, t, row + C - first);
    normalise(s->mean, s->std, model_input_width(s), row);
}

void model_input(const model_input_spec *s, const float *window, unsigned n, float *x)
{
    unsigned width = model_input_width(s);
    for (unsigned t = 0; t < n; t++)
        model_input_row(s, window, n, t, x + (size_t)t * width);
}
