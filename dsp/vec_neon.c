/* vec_neon: the AArch64 table of vec.h (vec_isa.h). Tails shorter than
 * a vector go through the portable kernels. */
#include "sample.h"
#include "vec_isa.h"

#include <arm_neon.h>
#include <math.h>

/* ---- NEON (AArch64) ----
 * Four lanes a vector and 32 registers: four accumulators of FMAs, as on
 * AVX2, keep the multiply-add pipes full (latency 4 on a Cortex-A72). */

static float dot_neon(const float *a, const float *b, size_t n)
{
    float32x4_t s0 = vdupq_n_f32(0), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
        s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
        s2 = vfmaq_f32(s2, vld1q_f32(a + i + 8), vld1q_f32(b + i + 8));
        s3 = vfmaq_f32(s3, vld1q_f32(a + i + 12), vld1q_f32(b + i + 12));
    }
    for (; i + 4 <= n; i += 4)
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
    float sum = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
    for (; i < n; i++)
        sum = fmaf(a[i], b[i], sum);
    return sum;
}

static float32x4_t fold4(const float *a, const float *b, const float *g, float32x4_t acc)
{
    return vfmaq_f32(acc, vld1q_f32(g), vaddq_f32(vld1q_f32(a), vld1q_f32(b)));
}

static float dot_sum_neon(const float *a, const float *b, const float *g, size_t n)
{
    float32x4_t s0 = vdupq_n_f32(0), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = fold4(a + i, b + i, g + i, s0);
        s1 = fold4(a + i + 4, b + i + 4, g + i + 4, s1);
        s2 = fold4(a + i + 8, b + i + 8, g + i + 8, s2);
        s3 = fold4(a + i + 12, b + i + 12, g + i + 12, s3);
    }
    for (; i + 4 <= n; i += 4)
        s0 = fold4(a + i, b + i, g + i, s0);
    float sum = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
    for (; i < n; i++)
        sum = fmaf(g[i], a[i] + b[i], sum);
    return sum;
}

static void mul_neon(const float *a, const float *b, float *y, size_t n)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vmulq_f32(vld1q_f32(a + i), vld1q_f32(b + i)));
    vec_ops_portable.mul(a + i, b + i, y + i, n - i);
}

/* vld2 splits the interleaved values into real and imaginary parts. */
static void norm2_neon(const float *z, float *y, size_t n)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4x2_t v = vld2q_f32(z + 2 * i);
        vst1q_f32(y + i, vfmaq_f32(vmulq_f32(v.val[0], v.val[0]), v.val[1], v.val[1]));
    }
    vec_ops_portable.norm2(z + 2 * i, y + i, n - i);
}

/* sample_sanitize on four lanes, as sanitize8 does it. */
static float32x4_t sanitize4(float32x4_t x, uint64_t *nonfinite)
{
    uint32x4_t finite = vcltq_f32(vabsq_f32(x), vdupq_n_f32(INFINITY));
    *nonfinite += 4 - vaddvq_u32(vshrq_n_u32(finite, 31));
    x = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(x), finite));
    return vmaxq_f32(vminq_f32(x, vdupq_n_f32(SAMPLE_LIMIT)), vdupq_n_f32(-SAMPLE_LIMIT));
}

/* Mono and stereo four frames at a time; the pairwise add is l + r, then
 * the portable loop's * 0.5, so the floats are the same. */
static void mix_neon(const float *in, size_t frames, unsigned channels, float *mono,
                     uint64_t *nonfinite)
{
    size_t i = 0;
    if (channels == 1)
        for (; i + 4 <= frames; i += 4)
            vst1q_f32(mono + i, sanitize4(vld1q_f32(in + i), nonfinite));
    if (channels == 2)
        for (; i + 4 <= frames; i += 4) {
            float32x4_t a = sanitize4(vld1q_f32(in + 2 * i), nonfinite);
            float32x4_t b = sanitize4(vld1q_f32(in + 2 * i + 4), nonfinite);
            vst1q_f32(mono + i, vmulq_f32(vpaddq_f32(a, b), vdupq_n_f32(0.5f)));
        }
    vec_ops_portable.mix(in + i * channels, frames - i, channels, mono + i, nonfinite);
}

const vec_ops vec_ops_neon = {"neon", dot_neon, dot_sum_neon, mul_neon, norm2_neon, mix_neon};
