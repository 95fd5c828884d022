/* splitmix: the one small deterministic random number generator of the
 * project (Steele, Lea and Flood's SplitMix64), for weight initialisation,
 * dropout, sampling and augmentation: the same seed gives the same numbers
 * on every machine, which the trainer's determinism and its feature cache
 * keys rely on. Not for anything secret. */
#ifndef GENRED_SPLITMIX_H
#define GENRED_SPLITMIX_H

#include <stdint.h>

/* SplitMix64's output function alone: mixes one 64-bit value into a
 * well-spread one (to derive seeds from seeds). */
static inline uint64_t splitmix_mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* Advances *state and returns the next 64 random bits. */
static inline uint64_t splitmix64(uint64_t *state)
{
    return splitmix_mix(*state += 0x9E3779B97F4A7C15ull);
}

/* Uniform in [0, 1), 53 random bits. */
static inline double splitmix_uniform01(uint64_t *state)
{
    return (double)(splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
}

#endif
