/* mfcc against torchaudio float64 reference vectors (make_mfcc_reference.py),
 * block-size independence, non-finite input and parameter checks. */
#include "audio_file.h"
#include "check.h"
#include "mfcc.h"
#include "signals.h"
#include "levels.h"
#include "simd.h"

#include <string.h>

#define TOLERANCE 2e-3

/* All frames of x, fed in blocks of `block` samples (0: random sizes). */
static size_t run(mfcc_t *m, const float *x, size_t n, size_t block, float *out, size_t max)
{
    unsigned c = mfcc_get_params(m)->n_coeffs;
    size_t frames = 0;
    uint32_t rng = 99;
    while (n) {
        size_t len = block;
        if (!block) {
            rng = xorshift32(rng);
            len = 1 + rng % 3000;
        }
        if (len > n) len = n;
        const float *p = x;
        size_t left = len;
        while (left) {
            size_t used;
            if (mfcc_process(m, p, left, &used, out + frames * c)) {
                REQUIRE(frames < max);
                frames++;
            }
            p += used;
            left -= used;
        }
        x += len;
        n -= len;
    }
    return frames;
}

static void compare(simd_level level, const char *name, const mfcc_params *p, const float *x,
                    size_t n, int skip_low_power)
{
    char rel[256], err[256];
    snprintf(rel, sizeof rel, "tests/data/mfcc_ref_%s.txt", name);
    reference ref = reference_load(rel);
    mfcc_t *m = mfcc_create_at(p, level, err, sizeof err);
    REQUIRE(m);
    REQUIRE(ref.coeffs == p->n_coeffs);
    float *out = malloc((ref.frames + 1) * ref.coeffs * sizeof *out);
    size_t frames = run(m, x, n, 4096, out, ref.frames + 1);
    CHECK(frames == ref.frames);
    double worst = 0.0;
    size_t compared = 0;
    for (size_t f = 0; f < frames && f < ref.frames; f++) {
        if (skip_low_power && ref.min_mel[f] <= 1e-8) continue;
        compared++;
        for (unsigned k = 0; k < ref.coeffs; k++) {
            double d = fabs(out[f * ref.coeffs + k] - ref.values[f * ref.coeffs + k]);
            if (d > worst) worst = d;
            if (d > TOLERANCE) {
                fprintf(stderr, "%s frame %zu coeff %u: %.6f vs reference %.6f\n", name, f, k,
                        out[f * ref.coeffs + k], ref.values[f * ref.coeffs + k]);
                check_failures++;
            }
        }
    }
    printf("%s: %zu frames, %zu compared, worst |diff| %.2e\n", name, frames, compared, worst);
    CHECK(compared * 2 > ref.frames); /* the comparison is not vacuous */

    /* Random block sizes give the very same frames. */
    float *again = malloc((ref.frames + 1) * ref.coeffs * sizeof *again);
    mfcc_reset(m);
    CHECK(run(m, x, n, 0, again, ref.frames + 1) == frames);
    CHECK(memcmp(out, again, frames * ref.coeffs * sizeof *out) == 0);
    mfcc_reset(m);
    CHECK(run(m, x, n, 1, again, ref.frames + 1) == frames);
    CHECK(memcmp(out, again, frames * ref.coeffs * sizeof *out) == 0);
    free(again);
    free(out);
    mfcc_destroy(m);
    reference_free(&ref);
}

static float *load_music(size_t *n)
{
    char path[4096], err[512];
    source_path(path, sizeof path, "tests/data/music_excerpt.wav");
    audio_file_t *f = audio_file_open(path, err, sizeof err);
    if (!f) fprintf(stderr, "%s\n", err);
    REQUIRE(f);
    REQUIRE(audio_file_rate(f) == SIGNAL_RATE && audio_file_channels(f) == 1);
    size_t len = (size_t)audio_file_frames(f);
    float *x = malloc(len * sizeof *x);
    REQUIRE(x && audio_file_read(f, x, len, err, sizeof err) == (long)len);
    audio_file_close(f);
    *n = len;
    return x;
}

static void test_references(simd_level level)
{
    mfcc_params p = mfcc_params_default();
    size_t n = 3 * SIGNAL_RATE;
    float *chirp = signal_chirp(n), *noise = signal_noise(n);
    compare(level, "chirp", &p, chirp, n, 1);
    compare(level, "noise", &p, noise, n, 0);
    size_t music_len;
    float *music = load_music(&music_len);
    compare(level, "music", &p, music, music_len, 0);
    mfcc_params alt = {.sample_rate = SIGNAL_RATE,
                       .n_fft = 1024,
                       .hop = 256,
                       .n_mels = 40,
                       .n_coeffs = 20,
                       .fmin = 30.0,
                       .fmax = 8000.0};
    compare(level, "noise_alt", &alt, noise, n, 0);
    free(chirp);
    free(noise);
    free(music);
}

/* NaN and Inf become 0 and are counted; once they leave the frame the output
 * is exactly that of the clean signal. */
static void test_nonfinite(void)
{
    mfcc_params p = mfcc_params_default();
    char err[256];
    size_t n = 3 * SIGNAL_RATE;
    float *clean = signal_noise(n), *dirty = signal_noise(n);
    dirty[1000] = NAN;
    dirty[1001] = INFINITY;
    dirty[1002] = -INFINITY;
    mfcc_t *a = mfcc_create(&p, err, sizeof err), *b = mfcc_create(&p, err, sizeof err);
    REQUIRE(a && b);
    float *fa = malloc(200 * 13 * sizeof *fa), *fb = malloc(200 * 13 * sizeof *fb);
    size_t na = run(a, clean, n, 777, fa, 200), nb = run(b, dirty, n, 777, fb, 200);
    CHECK(na == nb);
    CHECK(mfcc_nonfinite_count(b) == 3);
    CHECK(mfcc_nonfinite_count(a) == 0);
    /* Frames 0 and 1 contain samples 1000..1002; frame 2 starts at 1024. */
    for (size_t i = 0; i < nb * 13; i++)
        CHECK(isfinite(fb[i]));
    CHECK(memcmp(fa + 2 * 13, fb + 2 * 13, (nb - 2) * 13 * sizeof *fa) == 0);
    CHECK(memcmp(fa, fb, 13 * sizeof *fa) != 0);
    /* Huge finite values cannot overflow into Inf/NaN features either. */
    for (size_t i = 0; i < 4096; i++)
        dirty[i] = (i % 2) ? 3e38f : -3e38f;
    mfcc_reset(b);
    nb = run(b, dirty, 4096, 4096, fb, 200);
    CHECK(nb == 5);
    for (size_t i = 0; i < nb * 13; i++)
        CHECK(isfinite(fb[i]));
    free(fa);
    free(fb);
    free(clean);
    free(dirty);
    mfcc_destroy(a);
    mfcc_destroy(b);
}

static void expect_rejected(mfcc_params p, const char *param)
{
    char err[256] = "";
    mfcc_t *m = mfcc_create(&p, err, sizeof err);
    CHECK(m == NULL);
    if (!strstr(err, param)) {
        fprintf(stderr, "error '%s' does not name '%s'\n", err, param);
        check_failures++;
    }
    mfcc_destroy(m);
}

static void test_bad_params(void)
{
    mfcc_params d = mfcc_params_default(), p;
    p = d, p.sample_rate = 0, expect_rejected(p, "sample_rate");
    p = d, p.sample_rate = NAN, expect_rejected(p, "sample_rate");
    p = d, p.n_fft = 2047, expect_rejected(p, "n_fft");
    p = d, p.n_fft = 0, expect_rejected(p, "n_fft");
    p = d, p.hop = 0, expect_rejected(p, "hop");
    p = d, p.hop = 4096, expect_rejected(p, "hop");
    p = d, p.n_mels = 0, expect_rejected(p, "n_mels");
    p = d, p.n_coeffs = 0, expect_rejected(p, "n_coeffs");
    p = d, p.n_coeffs = 129, expect_rejected(p, "n_coeffs");
    p = d, p.fmax = 20000, expect_rejected(p, "fmax");
    p = d, p.fmin = -1, expect_rejected(p, "fmin");
    p = d, p.fmin = 11025, expect_rejected(p, "fmin");
    char err[256];
    mfcc_t *m = mfcc_create(&d, err, sizeof err);
    REQUIRE(m);
    CHECK(mfcc_get_params(m)->fmax == 11025.0);
    mfcc_destroy(m);
}

int main(void)
{
    /* Within tolerance on every kernel path this CPU runs (dsp/vec). */
    for_each_level(test_references);
    test_nonfinite();
    test_bad_params();
    return check_report("test_mfcc");
}
