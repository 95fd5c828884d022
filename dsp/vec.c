/* vec: the kernels of vec.h: the portable C, and the choice of table.
 * The vector tables are in vec_avx.c (AVX2+FMA, AVX-512 on x86, compiled
 * with target attributes and chosen at run time, so the build needs no
 * -march flag) and vec_neon.c (AArch64, where every core has NEON). */
#include "vec.h"

#include "sample.h"
#include "vec_isa.h"

/* ---- portable ---- */

/* Eight independent partial sums: one serial sum is latency bound (4x
 * slower), and the fixed-width inner loop lets the compiler use whatever
 * vector registers the baseline ISA has. */
enum { LANES = 8 };

static float sum_lanes(const float *part)
{
    return ((part[0] + part[4]) + (part[1] + part[5])) +
           ((part[2] + part[6]) + (part[3] + part[7]));
}

static float dot_c(const float *a, const float *b, size_t n)
{
    float part[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (unsigned k = 0; k < LANES; k++)
            part[k] += a[i + k] * b[i + k];
    for (; i < n; i++)
        part[i % LANES] += a[i] * b[i];
    return sum_lanes(part);
}

static float dot_sum_c(const float *a, const float *b, const float *g, size_t n)
{
    float part[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (unsigned k = 0; k < LANES; k++)
            part[k] += g[i + k] * (a[i + k] + b[i + k]);
    for (; i < n; i++)
        part[i % LANES] += g[i] * (a[i] + b[i]);
    return sum_lanes(part);
}

static void mul_c(const float *a, const float *b, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] * b[i];
}

static void norm2_c(const float *z, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = z[2 * i] * z[2 * i] + z[2 * i + 1] * z[2 * i + 1];
}

static void mix_c(const float *in, size_t frames, unsigned channels, float *mono,
                  uint64_t *nonfinite)
{
    if (channels == 1) {
        for (size_t i = 0; i < frames; i++)
            mono[i] = sample_sanitize(in[i], nonfinite);
        return;
    }
    float scale = 1.0f / (float)channels;
    for (size_t i = 0; i < frames; i++) {
        float sum = 0.0f;
        for (unsigned c = 0; c < channels; c++)
            sum += sample_sanitize(in[i * channels + c], nonfinite);
        mono[i] = sum * scale;
    }
}

const vec_ops vec_ops_portable = {"portable", dot_c, dot_sum_c, mul_c, norm2_c, mix_c};

const vec_ops *vec_ops_for(simd_level level)
{
    switch (simd_level_best(level)) {
#ifdef SIMD_ARCH_X86
    case SIMD_AVX512VNNI: /* nothing for VNNI here: AVX-512's table */
    case SIMD_AVX512:
        return &vec_ops_avx512;
    case SIMD_AVX2:
        return &vec_ops_avx2;
#endif
#ifdef SIMD_ARCH_ARM64
    case SIMD_NEON:
        return &vec_ops_neon;
#endif
    default:
        return &vec_ops_portable;
    }
}

const vec_ops *vec_ops_get(void)
{
    return vec_ops_for(simd_level_get());
}
