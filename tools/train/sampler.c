/* sampler: label, source, clip by length, copy. */
#include "sampler.h"

#include "splitmix.h"

#include <stdlib.h>

/* The clips of one label and source, with their cumulative lengths. */
typedef struct {
    size_t *clips;
    double *cumulative; /* cumulative[i]: frames of clips[0..i] */
    size_t n;
} stratum;

struct sampler {
    const clip_set *set;
    unsigned n_labels, n_sources, present;
    unsigned *labels;     /* [present]: labels with clips */
    stratum *strata;      /* [n_labels x n_sources] */
    unsigned *sources_of; /* [n_labels x n_sources]: sources that have the label */
    unsigned *n_sources_of;
};

sampler_t *sampler_create(const clip_set *set, unsigned n_labels, unsigned n_sources)
{
    sampler_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    size_t cells = (size_t)n_labels * n_sources;
    *s = (sampler_t){set,
                     n_labels,
                     n_sources,
                     0,
                     calloc(n_labels, sizeof(unsigned)),
                     calloc(cells, sizeof(stratum)),
                     calloc(cells, sizeof(unsigned)),
                     calloc(n_labels, sizeof(unsigned))};
    int ok = s->labels && s->strata && s->sources_of && s->n_sources_of;
    for (size_t c = 0; ok && c < cells; c++) {
        s->strata[c].clips = malloc((set->n ? set->n : 1) * sizeof(size_t));
        s->strata[c].cumulative = malloc((set->n ? set->n : 1) * sizeof(double));
        ok = s->strata[c].clips && s->strata[c].cumulative;
    }
    if (!ok) {
        sampler_destroy(s);
        return NULL;
    }
    for (size_t i = 0; i < set->n; i++) {
        const clip_data *c = &set->clips[i];
        stratum *st = &s->strata[(size_t)c->label * n_sources + c->source];
        double before = st->n ? st->cumulative[st->n - 1] : 0;
        st->clips[st->n] = i;
        st->cumulative[st->n++] = before + c->variants[0].n_frames;
    }
    for (unsigned k = 0; k < n_labels; k++) {
        for (unsigned src = 0; src < n_sources; src++)
            if (s->strata[(size_t)k * n_sources + src].n)
                s->sources_of[(size_t)k * n_sources + s->n_sources_of[k]++] = src;
        if (s->n_sources_of[k]) s->labels[s->present++] = k;
    }
    return s;
}

void sampler_destroy(sampler_t *s)
{
    if (!s) return;
    for (size_t c = 0; s->strata && c < (size_t)s->n_labels * s->n_sources; c++) {
        free(s->strata[c].clips);
        free(s->strata[c].cumulative);
    }
    free(s->strata);
    free(s->labels);
    free(s->sources_of);
    free(s->n_sources_of);
    free(s);
}

static unsigned below(uint64_t *rng, size_t n)
{
    return (unsigned)((size_t)(splitmix64_unit(rng) * (double)n) % n);
}

/* The clip whose span of the cumulative length holds a uniform draw. */
static size_t by_length(const stratum *st, uint64_t *rng)
{
    double x = splitmix64_unit(rng) * st->cumulative[st->n - 1];
    size_t lo = 0, hi = st->n - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (st->cumulative[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return st->clips[lo];
}

sampler_pick sampler_draw(const sampler_t *s, uint64_t *rng)
{
    unsigned k = s->labels[below(rng, s->present)];
    unsigned src = s->sources_of[(size_t)k * s->n_sources + below(rng, s->n_sources_of[k])];
    sampler_pick p = {by_length(&s->strata[(size_t)k * s->n_sources + src], rng), 0};
    p.variant = below(rng, s->set->clips[p.clip].n_variants);
    return p;
}
