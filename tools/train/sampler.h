/* sampler: draws training windows in balance. A label uniformly, then one
 * of the sources that have it uniformly, then a clip of that label and
 * source with probability in proportion to its length (so a whole song
 * weighs by its seconds, not as one clip), then one of its copies.
 * Thin labels and thin sources are seen as often as thick ones. */
#ifndef GENRED_SAMPLER_H
#define GENRED_SAMPLER_H

#include "corpus.h"

#include <stdint.h>

typedef struct sampler sampler_t;

typedef struct {
    size_t clip;
    unsigned variant;
} sampler_pick;

/* NULL on out of memory. */
sampler_t *sampler_create(const clip_set *set, unsigned n_labels, unsigned n_sources);
void sampler_destroy(sampler_t *s);

sampler_pick sampler_draw(const sampler_t *s, uint64_t *rng);

#endif
