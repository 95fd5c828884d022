/* resampler: level and frequency of in-band tones, rejection above the new
 * Nyquist, every kernel path the CPU runs against the portable one,
 * block-size independence, channel mixing, bypass, bad input. */
#include "check.h"
#include "resampler.h"
#include "simd.h"

#include <stdint.h>
#include <string.h>

#define OUT_RATE 22050.0

/* rates[] x channels of a tone, each channel at amplitude amp * gains[c]. */
static float *tone(double rate, double freq, double amp, size_t frames, unsigned channels,
                   const double *gains)
{
    float *x = malloc(frames * channels * sizeof *x);
    REQUIRE(x);
    for (size_t i = 0; i < frames; i++) {
        double s = amp * sin(2.0 * M_PI * freq * (double)i / rate);
        for (unsigned c = 0; c < channels; c++)
            x[i * channels + c] = (float)(s * (gains ? gains[c] : 1.0));
    }
    return x;
}

/* x through a resampler on the kernels of `level`, `block` frames a call. */
static float *resample_at(simd_level level, double in_rate, unsigned channels, const float *x,
                          size_t frames, size_t block, size_t *n_out)
{
    char err[256];
    resampler_t *rs = resampler_create_at(in_rate, OUT_RATE, channels, level, err, sizeof err);
    if (!rs) fprintf(stderr, "%s\n", err);
    REQUIRE(rs);
    size_t cap = resampler_max_output(rs, frames);
    float *y = malloc((cap + 1) * sizeof *y);
    REQUIRE(y);
    size_t n = 0;
    for (size_t i = 0; i < frames; i += block) {
        size_t len = frames - i < block ? frames - i : block;
        size_t got = resampler_process(rs, x + i * channels, len, y + n);
        CHECK(got <= resampler_max_output(rs, len));
        n += got;
    }
    CHECK(n <= cap);
    resampler_destroy(rs);
    *n_out = n;
    return y;
}

/* The same on the best kernels this CPU has. */
static float *resample(double in_rate, unsigned channels, const float *x, size_t frames,
                       size_t block, size_t *n_out)
{
    return resample_at(simd_level_get(), in_rate, channels, x, frames, block, n_out);
}

/* Least-squares fit of a sinusoid at freq to y[from..n): amplitude, and the
 * residual power relative to the tone's. */
static void fit(const float *y, size_t from, size_t n, double freq, double *amp, double *resid_db)
{
    double ss = 0, sc = 0, cc = 0, ys = 0, yc = 0;
    for (size_t k = from; k < n; k++) {
        double t = 2.0 * M_PI * freq * (double)k / OUT_RATE, s = sin(t), c = cos(t);
        ss += s * s, cc += c * c, sc += s * c, ys += y[k] * s, yc += y[k] * c;
    }
    double det = ss * cc - sc * sc, a = (ys * cc - yc * sc) / det, b = (yc * ss - ys * sc) / det;
    double e = 0;
    for (size_t k = from; k < n; k++) {
        double t = 2.0 * M_PI * freq * (double)k / OUT_RATE;
        double d = y[k] - (a * sin(t) + b * cos(t));
        e += d * d;
    }
    *amp = hypot(a, b);
    *resid_db = 10.0 * log10(e / (double)(n - from) / (*amp * *amp / 2.0) + 1e-30);
}

static double rms(const float *y, size_t from, size_t n)
{
    double e = 0;
    for (size_t k = from; k < n; k++)
        e += (double)y[k] * y[k];
    return sqrt(e / (double)(n - from));
}

static const double rates[] = {44100, 48000, 8000, 192000, 32000, 44056.5};

static void test_tones(void)
{
    for (size_t r = 0; r < sizeof rates / sizeof *rates; r++) {
        double in = rates[r];
        size_t frames = (size_t)in; /* 1 s */
        size_t n_out;
        /* In band: 1 kHz, and near the top of the lower passband. */
        double top = 0.85 * 0.5 * fmin(in, OUT_RATE);
        double freqs[] = {1000.0, top};
        for (int f = 0; f < 2; f++) {
            float *x = tone(in, freqs[f], 0.5, frames, 1, NULL);
            float *y = resample(in, 1, x, frames, frames, &n_out);
            CHECK(fabs((double)n_out - OUT_RATE) < 0.02 * OUT_RATE);
            double amp, resid;
            fit(y, n_out / 4, n_out, freqs[f], &amp, &resid);
            printf("%8.1f Hz -> 22050: %7.1f Hz tone level %+.4f dB, residual %.1f dB\n", in,
                   freqs[f], 20 * log10(amp / 0.5), resid);
            CHECK(fabs(20 * log10(amp / 0.5)) < 0.1);
            /* At the right frequency: the fit at freq explains the output. */
            CHECK(resid < -50.0);
            free(x);
            free(y);
        }
        /* Above the new Nyquist (only when decimating): >= 60 dB down. */
        if (in > OUT_RATE) {
            double f = fmin(0.5 * OUT_RATE * 1.02, 0.45 * in);
            float *x = tone(in, f, 0.5, frames, 1, NULL);
            float *y = resample(in, 1, x, frames, frames, &n_out);
            double level = 20 * log10(rms(y, n_out / 4, n_out) / (0.5 / sqrt(2.0)) + 1e-30);
            printf("%8.1f Hz -> 22050: %7.1f Hz tone attenuated to %.1f dB\n", in, f, level);
            CHECK(level <= -60.0);
            free(x);
            free(y);
            f = 0.4 * in; /* far above */
            x = tone(in, f, 0.5, frames, 1, NULL);
            y = resample(in, 1, x, frames, frames, &n_out);
            level = 20 * log10(rms(y, n_out / 4, n_out) / (0.5 / sqrt(2.0)) + 1e-30);
            CHECK(level <= -60.0);
            free(x);
            free(y);
        }
    }
}

static void test_blocks(void)
{
    static const size_t blocks[] = {1, 7, 256, 4096};
    for (size_t r = 0; r < sizeof rates / sizeof *rates; r++) {
        double in = rates[r];
        size_t frames = (size_t)(in / 2), n_ref, n;
        const double gains[] = {1.0, 0.3};
        float *x = tone(in, 1234.5, 0.7, frames, 2, gains);
        float *ref = resample(in, 2, x, frames, frames, &n_ref);
        for (size_t b = 0; b < sizeof blocks / sizeof *blocks; b++) {
            float *y = resample(in, 2, x, frames, blocks[b], &n);
            CHECK(n == n_ref);
            double worst = 0;
            for (size_t k = 0; k < n && k < n_ref; k++)
                worst = fmax(worst, fabs(y[k] - ref[k]));
            if (worst > 1e-6) fprintf(stderr, "%g Hz block %zu: diff %g\n", in, blocks[b], worst);
            CHECK(worst <= 1e-6);
            free(y);
        }
        free(x);
        free(ref);
    }
}

/* Channels are averaged: L = s, R = 0.3 s gives 0.65 s; a full-scale
 * signal on both channels stays full scale. */
static void test_stereo_mix(void)
{
    size_t frames = 44100, n_out;
    const double gains[] = {1.0, 0.3};
    float *x = tone(44100, 1000, 0.5, frames, 2, gains);
    float *y = resample(44100, 2, x, frames, 1000, &n_out);
    double amp, resid;
    fit(y, n_out / 4, n_out, 1000, &amp, &resid);
    CHECK_NEAR(amp, 0.5 * 0.65, 0.5 * 0.65 * 0.0116); /* 0.1 dB */
    free(x);
    free(y);

    /* Bypass at 22050 Hz: the average is exact; mono is bit-exact. */
    char err[256];
    resampler_t *rs = resampler_create(22050, 22050, 2, err, sizeof err);
    REQUIRE(rs);
    float st[6] = {0.5f, 0.25f, -1.0f, 1.0f, 0.125f, 0.0f}, out[3];
    CHECK(resampler_process(rs, st, 3, out) == 3);
    CHECK(out[0] == 0.375f && out[1] == 0.0f && out[2] == 0.0625f);
    resampler_destroy(rs);
    rs = resampler_create(22050, 22050, 1, err, sizeof err);
    float mono[5] = {0.1f, -0.7f, 1e-30f, 0.999f, -1.0f}, back[5];
    CHECK(resampler_process(rs, mono, 5, back) == 5);
    CHECK(memcmp(mono, back, sizeof mono) == 0);
    resampler_destroy(rs);
}

static void test_bad_input(void)
{
    char err[256] = "";
    CHECK(!resampler_create(7999, OUT_RATE, 1, err, sizeof err) && strstr(err, "input rate"));
    CHECK(!resampler_create(NAN, OUT_RATE, 1, err, sizeof err) && strstr(err, "input rate"));
    CHECK(!resampler_create(44100, 200000, 1, err, sizeof err) && strstr(err, "output rate"));
    CHECK(!resampler_create(44100, OUT_RATE, 0, err, sizeof err) && strstr(err, "channels"));
    CHECK(!resampler_create(44100, OUT_RATE, 65, err, sizeof err) && strstr(err, "channels"));

    /* NaN/Inf are zeroed and counted and leave no trace once they have
     * passed through the filter; huge values cannot overflow it. */
    size_t frames = 44100, n_clean, n_dirty;
    float *clean = tone(44100, 440, 0.5, frames, 1, NULL);
    float *dirty = tone(44100, 440, 0.5, frames, 1, NULL);
    dirty[100] = NAN, dirty[101] = INFINITY, dirty[102] = -INFINITY, dirty[5000] = 3e38f;
    clean[100] = clean[101] = clean[102] = 0.0f;
    resampler_t *rs = resampler_create(44100, OUT_RATE, 1, err, sizeof err);
    REQUIRE(rs);
    float *y = malloc(resampler_max_output(rs, frames) * sizeof *y);
    n_dirty = resampler_process(rs, dirty, frames, y);
    CHECK(resampler_nonfinite_count(rs) == 3);
    for (size_t k = 0; k < n_dirty; k++)
        CHECK(isfinite(y[k]));
    resampler_reset(rs);
    CHECK(resampler_nonfinite_count(rs) == 0);
    float *ref = resample(44100, 1, clean, frames, frames, &n_clean);
    CHECK(n_clean == n_dirty);
    /* Before the huge sample reaches the filter, output equals the clean one. */
    for (size_t k = 0; k < 2000; k++)
        CHECK(y[k] == ref[k]);
    free(y);
    free(ref);
    free(clean);
    free(dirty);
    resampler_destroy(rs);
}

/* A mix of tones, so that every tap matters, through the kernels of every
 * level this CPU runs: the same outputs as the portable C within float
 * rounding. 44.1 kHz and 8 kHz fold phase 0 (p = 1, p = 441), 11025 Hz
 * phases 0 and 1 (p = 2), 48 kHz mostly not (p = 147). A 1 kHz tone
 * through the p = 2 fold keeps its level (the tone tests cover the others). */
static void test_paths(void)
{
    static const double in_rates[] = {44100, 8000, 11025, 48000};
    for (size_t r = 0; r < sizeof in_rates / sizeof *in_rates; r++) {
        size_t frames = (size_t)in_rates[r] / 2, n_ref, n;
        float *x = tone(in_rates[r], 1000, 0.5, frames, 1, NULL);
        float *x2 = tone(in_rates[r], 0.3 * in_rates[r], 0.3, frames, 1, NULL);
        for (size_t i = 0; i < frames; i++)
            x2[i] += x[i];
        float *ref = resample_at(SIMD_PORTABLE, in_rates[r], 1, x2, frames, 333, &n_ref);
        for (simd_level l = SIMD_PORTABLE + 1; l <= SIMD_LEVEL_LAST; l++) {
            if (!simd_level_supported(l)) continue;
            float *y = resample_at(l, in_rates[r], 1, x2, frames, 333, &n);
            CHECK(n == n_ref);
            double worst = 0;
            for (size_t k = 0; k < n && k < n_ref; k++)
                worst = fmax(worst, fabs(y[k] - ref[k]));
            printf("%8.1f Hz: %s vs portable: max |diff| %.1e\n", in_rates[r], simd_level_name(l),
                   worst);
            CHECK(worst <= 2e-6);
            free(y);
        }
        float *y = resample(in_rates[r], 1, x, frames, frames, &n);
        double amp, resid;
        fit(y, n / 4, n, 1000, &amp, &resid);
        CHECK(fabs(20 * log10(amp / 0.5)) < 0.01 && resid < -80.0);
        free(y);
        free(ref);
        free(x);
        free(x2);
    }
}

int main(void)
{
    /* The tones on the best path this CPU has; test_paths ties the others
     * to it (running the tones on every path tripled the time under ASan). */
    test_tones();
    test_paths();
    test_blocks();
    test_stereo_mix();
    test_bad_input();
    return check_report("test_resampler");
}
