/* signals: the synthetic test signals of make_mfcc_reference.py, bit for bit
 * (same double arithmetic, the same C library sin), and a loader for the
 * reference files it writes. */
#ifndef GENRED_TEST_SIGNALS_H
#define GENRED_TEST_SIGNALS_H

#include "check.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIGNAL_RATE 22050

static inline uint32_t xorshift32(uint32_t x)
{
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

static inline double uniform(uint32_t x)
{
    return (x / 4294967296.0) * 2.0 - 1.0;
}

/* Sweep 50 Hz -> 10 kHz, amplitude 0.5, over a -60 dB noise floor. */
static inline float *signal_chirp(size_t n)
{
    float *out = malloc(n * sizeof *out);
    REQUIRE(out);
    double f0 = 50.0, f1 = 10000.0, T = (double)n / SIGNAL_RATE, k = (f1 - f0) / (2.0 * T);
    uint32_t x = 777;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / SIGNAL_RATE;
        x = xorshift32(x);
        out[i] = (float)(0.5 * sin(2.0 * M_PI * (f0 * t + k * t * t)) + 0.001 * uniform(x));
    }
    return out;
}

/* Uniform white noise in [-0.5, 0.5). */
static inline float *signal_noise(size_t n)
{
    float *out = malloc(n * sizeof *out);
    REQUIRE(out);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = xorshift32(x);
        out[i] = (float)(0.5 * uniform(x));
    }
    return out;
}

typedef struct {
    size_t frames;
    unsigned coeffs;
    double *min_mel; /* per frame */
    double *values;  /* frames x coeffs */
} reference;

/* Path under the source tree, from GENRED_SOURCE_DIR set by ctest. */
static inline void source_path(char *buf, size_t len, const char *rel)
{
    const char *root = getenv("GENRED_SOURCE_DIR");
    snprintf(buf, len, "%s/%s", root ? root : ".", rel);
}

static inline reference reference_load(const char *rel)
{
    char path[4096], line[8192];
    source_path(path, sizeof path, rel);
    FILE *f = fopen(path, "r");
    if (!f) fprintf(stderr, "%s: cannot open\n", path);
    REQUIRE(f);
    reference r = {0};
    size_t cap = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        double v[256];
        unsigned n = 0;
        for (char *tok = strtok(line, "\t\n"); tok && n < 256; tok = strtok(NULL, "\t\n"))
            v[n++] = strtod(tok, NULL);
        REQUIRE(n >= 2);
        if (!r.coeffs) r.coeffs = n - 1;
        REQUIRE(n - 1 == r.coeffs);
        if (r.frames == cap) {
            cap = cap ? 2 * cap : 256;
            r.min_mel = realloc(r.min_mel, cap * sizeof *r.min_mel);
            r.values = realloc(r.values, cap * r.coeffs * sizeof *r.values);
            REQUIRE(r.min_mel && r.values);
        }
        r.min_mel[r.frames] = v[0];
        memcpy(r.values + r.frames * r.coeffs, v + 1, r.coeffs * sizeof *v);
        r.frames++;
    }
    fclose(f);
    REQUIRE(r.frames > 0);
    return r;
}

static inline void reference_free(reference *r)
{
    free(r->min_mel);
    free(r->values);
}

#endif
