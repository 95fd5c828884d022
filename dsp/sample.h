/* sample: the one rule for untrusted input samples, shared by every entry
 * point that takes audio (private to genred_dsp). */
#ifndef GENRED_SAMPLE_H
#define GENRED_SAMPLE_H

#include <math.h>
#include <stdint.h>

/* Beyond this, sums of a few thousand squared samples could overflow float;
 * real audio is within +-1, so the clamp only ever touches garbage. */
#define SAMPLE_LIMIT 1e6f

/* NaN and Inf become 0 (and are counted); huge values are clamped. */
static inline float sample_sanitize(float x, uint64_t *nonfinite)
{
    if (!isfinite(x)) {
        (*nonfinite)++;
        return 0.0f;
    }
    if (x > SAMPLE_LIMIT) return SAMPLE_LIMIT;
    if (x < -SAMPLE_LIMIT) return -SAMPLE_LIMIT;
    return x;
}

#endif
