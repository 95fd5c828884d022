/* vec: every kernel of every table this CPU runs against a double-precision
 * sum, for every length 0..200 (whole vectors, tails, masked tails) and at
 * unaligned offsets; the mix-down bit for bit against the portable loop. */
#include "check.h"
#include "signals.h"
#include "vec.h"

#include <string.h>

#define MAX_N 200

static float rnd(uint32_t *rng)
{
    *rng = xorshift32(*rng);
    return (float)(*rng >> 8) / 8388608.0f - 1.0f;
}

/* |error| allowed for a float sum of n terms of size <= 1. */
static double allowed(size_t n)
{
    return 1e-6 * (double)(n + 1);
}

static void check_dots(const vec_ops *v, const float *a, const float *b, const float *g)
{
    for (size_t n = 0; n <= MAX_N; n++) {
        double dot = 0, dot_sum = 0;
        for (size_t i = 0; i < n; i++) {
            dot += (double)a[i] * b[i];
            dot_sum += (double)g[i] * ((double)a[i] + b[i]);
        }
        CHECK_NEAR(v->dot(a, b, n), dot, allowed(n));
        CHECK_NEAR(v->dot_sum(a, b, g, n), dot_sum, 2 * allowed(n));
    }
}

static void check_elementwise(const vec_ops *v, const float *a, const float *b)
{
    float y[MAX_N + 1];
    for (size_t n = 0; n <= MAX_N; n++) {
        y[n] = 42.0f; /* must stay: nothing written past n */
        v->mul(a, b, y, n);
        for (size_t i = 0; i < n; i++)
            CHECK(y[i] == a[i] * b[i]);
        CHECK(y[n] == 42.0f);
        y[n / 2] = 42.0f;
        v->norm2(a, y, n / 2);
        for (size_t i = 0; i < n / 2; i++)
            CHECK_NEAR(y[i], (double)a[2 * i] * a[2 * i] + (double)a[2 * i + 1] * a[2 * i + 1],
                       1e-6);
        CHECK(y[n / 2] == 42.0f);
    }
}

/* mix on every path gives the portable loop's floats and count, with NaN,
 * Inf and huge samples among ordinary ones, for 1-3 channels. */
static void check_mix(const vec_ops *v)
{
    enum { FRAMES = 61, CH = 3 };
    const vec_ops *c = vec_ops_for(SIMD_PORTABLE);
    float in[FRAMES * CH], want[FRAMES + 1], got[FRAMES + 1];
    uint32_t rng = 3;
    for (size_t i = 0; i < FRAMES * CH; i++)
        in[i] = rnd(&rng);
    in[5] = NAN, in[17] = INFINITY, in[18] = -INFINITY, in[40] = 3e38f, in[41] = -2e7f;
    for (unsigned ch = 1; ch <= CH; ch++)
        for (size_t n = 0; n <= FRAMES; n += 5) {
            uint64_t bad_want = 0, bad_got = 0;
            want[n] = got[n] = 42.0f;
            c->mix(in, n, ch, want, &bad_want);
            v->mix(in, n, ch, got, &bad_got);
            CHECK(!memcmp(want, got, (n + 1) * sizeof *got) && bad_want == bad_got);
            CHECK(got[n] == 42.0f);
        }
    uint64_t bad = 0;
    v->mix(in, FRAMES, 1, got, &bad);
    CHECK(bad == 3 && got[5] == 0.0f && got[40] == 1e6f && got[41] == -1e6f);
}

int main(void)
{
    uint32_t rng = 7;
    float buf[3][MAX_N + 3];
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < MAX_N + 3; i++)
            buf[k][i] = rnd(&rng);
    for (simd_level l = SIMD_PORTABLE; l <= SIMD_LEVEL_LAST; l++) {
        if (!simd_level_supported(l)) {
            /* A level this CPU lacks gets a table it runs, never its own. */
            CHECK(vec_ops_for(l) == vec_ops_for(simd_level_best(l)));
            CHECK(simd_level_best(l) < l);
            continue;
        }
        const vec_ops *v = vec_ops_for(l);
        printf("vec: %s: table %s\n", simd_level_name(l), v->name);
        /* Its own table, or (VNNI adds nothing here) the one below. */
        CHECK(!strcmp(v->name, simd_level_name(l)) ||
              (l == SIMD_AVX512VNNI && v == vec_ops_for(SIMD_AVX512)));
        for (int off = 0; off < 3; off++) {
            check_dots(v, buf[0] + off, buf[1] + 2 - off, buf[2] + off);
            check_elementwise(v, buf[0] + off, buf[1] + off);
        }
        check_mix(v);
    }
    /* The environment caps the level for users and benchmarks (the tests
     * above pick levels directly). */
    unsetenv("GENRED_SIMD");
    unsetenv("GENRED_NO_SIMD");
    CHECK(simd_level_get() == simd_level_best(SIMD_LEVEL_LAST) &&
          vec_ops_get() == vec_ops_for(simd_level_get()));
    setenv("GENRED_NO_SIMD", "1", 1);
    CHECK(simd_level_get() == SIMD_PORTABLE && vec_ops_get() == vec_ops_for(SIMD_PORTABLE));
    unsetenv("GENRED_NO_SIMD");
    setenv("GENRED_SIMD", "avx2", 1);
    CHECK(simd_level_get() <= SIMD_AVX2);
    /* A cap gives the best level at or below it that this CPU runs, so a
     * cap at another architecture's level leaves this CPU's best below it;
     * an unknown name caps nothing. */
    setenv("GENRED_SIMD", "avx512vnni", 1);
    CHECK(simd_level_get() == simd_level_best(SIMD_AVX512VNNI));
    setenv("GENRED_SIMD", "neon", 1);
    CHECK(simd_level_get() == simd_level_best(SIMD_NEON));
    setenv("GENRED_SIMD", "sse9", 1);
    CHECK(simd_level_get() == simd_level_best(SIMD_LEVEL_LAST));
    unsetenv("GENRED_SIMD");
    return check_report("test_vec");
}
