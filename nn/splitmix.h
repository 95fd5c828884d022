/* splitmix: the one small pseudo-random generator of the training code
 * (weight init, dropout, batch sampling, augmentation draws): SplitMix64,
 * tiny, fast and reproducible across machines. */
#ifndef GENRED_SPLITMIX_H
#define GENRED_SPLITMIX_H

#include <stdint.h>

/* The SplitMix64 finaliser: a well-mixed 64-bit hash of x. */
static inline uint64_t splitmix64_mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* Next value of the generator whose state is *state. */
static inline uint64_t splitmix64(uint64_t *state)
{
    return splitmix64_mix(*state += 0x9E3779B97F4A7C15ull);
}

/* Uniform in [0, 1), 53 bits. */
static inline double splitmix64_unit(uint64_t *state)
{
    return (double)(splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
}

#endif
