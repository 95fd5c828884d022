/* frontend and mfcc_window: level meter, frame arithmetic, window contents,
 * block-size independence, alignment of 44.1 kHz and 22.05 kHz features. */
#include "check.h"
#include "frontend.h"
#include "mfcc_window.h"
#include "signals.h"

#include <string.h>

/* A front end with a window of `seconds`. */
static frontend_t *create(const mfcc_params *p, double seconds, double rate, unsigned channels,
                          char *err, size_t err_len)
{
    frontend_params fp = {*p, seconds};
    return frontend_create(&fp, rate, channels, err, err_len);
}

static frontend_t *make(const mfcc_params *p, double rate, unsigned channels)
{
    char err[256];
    frontend_t *fe = create(p, 3.0, rate, channels, err, sizeof err);
    if (!fe) fprintf(stderr, "%s\n", err);
    REQUIRE(fe);
    return fe;
}

/* Feeds x in blocks (0: random sizes); calls on_frame after each new frame. */
typedef void (*frame_fn)(frontend_t *fe, void *ctx);
static void feed(frontend_t *fe, const float *x, size_t frames, unsigned channels, size_t block,
                 frame_fn on_frame, void *ctx)
{
    uint32_t rng = 4242;
    while (frames) {
        size_t len = block;
        if (!block) {
            rng = xorshift32(rng);
            len = 1 + rng % 5000;
        }
        if (len > frames) len = frames;
        const float *p = x;
        size_t left = len;
        while (left) {
            size_t used;
            int got = frontend_process(fe, p, left, &used);
            CHECK(used <= left);
            p += used * channels;
            left -= used;
            if (got && on_frame) on_frame(fe, ctx);
        }
        x += len * channels;
        frames -= len;
    }
}

static float *stereo_sine(double rate, double amp, size_t frames)
{
    float *x = malloc(2 * frames * sizeof *x);
    REQUIRE(x);
    for (size_t i = 0; i < frames; i++)
        x[2 * i] = x[2 * i + 1] = (float)(amp * sin(2.0 * M_PI * 997.0 * (double)i / rate));
    return x;
}

static void test_level(void)
{
    mfcc_params p = mfcc_params_default();
    size_t frames = 4 * 44100;
    double amps[] = {1.0, 0.5, 0.01};
    for (int a = 0; a < 3; a++) {
        frontend_t *fe = make(&p, 44100, 2);
        CHECK(frontend_level_dbfs(fe) <= -200.0);
        float *x = stereo_sine(44100, amps[a], frames);
        feed(fe, x, frames, 2, 1024, NULL, NULL);
        CHECK(frontend_window_full(fe));
        double expect = 20.0 * log10(amps[a]) - 3.0103;
        printf("sine amplitude %.2f: level %.4f dBFS (expected %.4f)\n", amps[a],
               frontend_level_dbfs(fe), expect);
        CHECK_NEAR(frontend_level_dbfs(fe), expect, 0.02);
        free(x);
        frontend_destroy(fe);
    }
    /* A DC offset is silence, and does not change the level of what rides
     * on it; both through the resampler and at the model rate. */
    double rates[] = {44100, p.sample_rate};
    for (int r = 0; r < 2; r++) {
        frontend_t *dc = make(&p, rates[r], 2), *mixed = make(&p, rates[r], 2);
        size_t n = (size_t)(4 * rates[r]);
        float *x = calloc(2 * n, sizeof *x);
        REQUIRE(x);
        for (size_t i = 0; i < 2 * n; i++)
            x[i] = 0.5f;
        feed(dc, x, n, 2, 1024, NULL, NULL);
        free(x);
        x = stereo_sine(rates[r], 0.01, n);
        for (size_t i = 0; i < 2 * n; i++)
            x[i] -= 0.25f;
        feed(mixed, x, n, 2, 1024, NULL, NULL);
        printf("%.0f Hz: DC 0.5 reads %.1f dBFS; sine 0.01 on DC -0.25 reads %.4f dBFS\n", rates[r],
               frontend_level_dbfs(dc), frontend_level_dbfs(mixed));
        CHECK(frontend_level_dbfs(dc) < -120.0);
        CHECK_NEAR(frontend_level_dbfs(mixed), -40.0 - 3.0103, 0.02);
        free(x);
        frontend_destroy(dc);
        frontend_destroy(mixed);
    }
    frontend_t *fe = make(&p, 48000, 2);
    float *silence = calloc(2 * 48000, sizeof *silence);
    feed(fe, silence, 48000, 2, 333, NULL, NULL);
    CHECK(frontend_frame_count(fe) > 0);
    CHECK(frontend_level_dbfs(fe) <= -200.0);
    free(silence);
    frontend_destroy(fe);
}

typedef struct {
    const float *frames; /* all frames from a standalone mfcc */
    size_t n, seen;
    unsigned coeffs, window;
} window_check;

/* After each new frame, the window holds exactly the newest frames. */
static void check_window(frontend_t *fe, void *ctx)
{
    window_check *w = ctx;
    w->seen++;
    CHECK(frontend_frame_count(fe) == w->seen);
    REQUIRE(w->seen <= w->n);
    size_t held = w->seen < w->window ? w->seen : w->window;
    CHECK(frontend_window_full(fe) == (held == w->window));
    const float *expect = w->frames + (w->seen - held) * w->coeffs;
    CHECK(memcmp(frontend_window(fe), expect, held * w->coeffs * sizeof *expect) == 0);
}

static void test_window_contents(void)
{
    CHECK(mfcc_window_frames(3.0, 22050, 2048, 512) == 126);
    CHECK(mfcc_window_frames(0.05, 22050, 2048, 512) == 0);
    mfcc_params p = mfcc_params_default();
    size_t n = 10 * SIGNAL_RATE;
    float *x = signal_chirp(n);
    char err[256];
    mfcc_t *m = mfcc_create(&p, err, sizeof err);
    REQUIRE(m);
    size_t expect_frames = 1 + (n - p.n_fft) / p.hop;
    float *all = malloc((expect_frames + 1) * 13 * sizeof *all);
    size_t count = 0, off = 0;
    while (off < n) {
        size_t used;
        if (mfcc_process(m, x + off, n - off, &used, all + count * 13)) count++;
        off += used;
    }
    CHECK(count == expect_frames);
    mfcc_destroy(m);
    for (int random = 0; random < 2; random++) {
        frontend_t *fe = make(&p, SIGNAL_RATE, 1);
        CHECK(frontend_window_frames(fe) == 126);
        CHECK(frontend_coeffs(fe) == 13);
        window_check w = {all, count, 0, 13, 126};
        feed(fe, x, n, 1, random ? 0 : 1, check_window, &w);
        CHECK(w.seen == count);
        CHECK(frontend_frame_count(fe) == expect_frames);
        /* Reset forgets everything. */
        frontend_reset(fe);
        CHECK(frontend_frame_count(fe) == 0 && !frontend_window_full(fe));
        w.seen = 0;
        feed(fe, x, n, 1, 4096, check_window, &w);
        CHECK(w.seen == count);
        frontend_destroy(fe);
    }
    free(all);
    free(x);
}

/* 44.1 kHz stereo in random blocks gives the very frames of one-frame
 * blocks; the count follows from the resampled length. */
typedef struct {
    float *frames;
    size_t n, cap;
} collect;

static void collect_newest(frontend_t *fe, void *ctx)
{
    collect *c = ctx;
    REQUIRE(c->n < c->cap);
    unsigned held =
        frontend_window_full(fe) ? frontend_window_frames(fe) : (unsigned)frontend_frame_count(fe);
    memcpy(c->frames + c->n * 13, frontend_window(fe) + (held - 1) * 13, 13 * sizeof(float));
    c->n++;
}

static void test_blocks_44k(void)
{
    mfcc_params p = mfcc_params_default();
    size_t frames = 5 * 44100;
    float *x = stereo_sine(44100, 0.3, frames);
    for (size_t i = 0; i < frames; i++) /* something less regular */
        x[2 * i + 1] *= (float)(0.5 + 0.5 * sin((double)i / 3000.0));
    collect a = {malloc(1000 * 13 * sizeof(float)), 0, 1000};
    collect b = {malloc(1000 * 13 * sizeof(float)), 0, 1000};
    frontend_t *fe = make(&p, 44100, 2);
    feed(fe, x, frames, 2, 1, collect_newest, &a);
    frontend_reset(fe);
    feed(fe, x, frames, 2, 0, collect_newest, &b);
    CHECK(a.n == b.n);
    CHECK(memcmp(a.frames, b.frames, a.n * 13 * sizeof(float)) == 0);
    /* ~frames/2 model-rate samples, less the filter delay of < 200. */
    size_t hi = 1 + (frames / 2 - 2048) / 512, lo = 1 + (frames / 2 - 200 - 2048) / 512;
    CHECK(a.n >= lo && a.n <= hi);
    CHECK(frontend_frame_count(fe) == a.n);
    free(a.frames);
    free(b.frames);
    free(x);
    frontend_destroy(fe);
}

/* The same band-limited, amplitude-modulated signal given at 44.1 kHz
 * stereo and at 22.05 kHz mono gives the same features (bands below the
 * resampler's passband edge), frame for frame: the group delay is
 * compensated. Shifting by the uncompensated delay would fail this. */
static float *multitone(double rate, size_t frames, unsigned channels, size_t shift)
{
    float *x = calloc(frames * channels, sizeof *x);
    REQUIRE(x);
    uint32_t rng = 31337;
    for (int t = 0; t < 60; t++) {
        rng = xorshift32(rng);
        double f = 60.0 + (uniform(rng) + 1.0) * 0.5 * 9000.0;
        rng = xorshift32(rng);
        double ph = M_PI * uniform(rng);
        for (size_t i = 0; i < frames; i++)
            x[i * channels] +=
                (float)(0.01 * sin(2.0 * M_PI * f * (double)(i + shift) / rate + ph));
    }
    for (size_t i = 0; i < frames; i++) {
        double env = 0.55 + 0.45 * sin(2.0 * M_PI * 3.0 * (double)(i + shift) / rate);
        x[i * channels] = (float)(x[i * channels] * env);
        for (unsigned c = 1; c < channels; c++)
            x[i * channels + c] = x[i * channels];
    }
    return x;
}

static double max_diff(const collect *a, const collect *b)
{
    double worst = 0.0;
    size_t n = a->n < b->n ? a->n : b->n;
    for (size_t i = 0; i < n * 13; i++)
        worst = fmax(worst, fabs(a->frames[i] - b->frames[i]));
    return worst;
}

static void test_alignment(void)
{
    mfcc_params p = mfcc_params_default();
    p.fmax = 9500.0;
    size_t secs = 4;
    float *x44 = multitone(44100, secs * 44100, 2, 0);
    float *x22 = multitone(22050, secs * 22050, 1, 0);
    float *late = multitone(22050, secs * 22050, 1, 63); /* 126 input samples */
    collect a = {malloc(400 * 13 * sizeof(float)), 0, 400};
    collect b = {malloc(400 * 13 * sizeof(float)), 0, 400};
    collect c = {malloc(400 * 13 * sizeof(float)), 0, 400};
    frontend_t *fe44 = make(&p, 44100, 2), *fe22 = make(&p, 22050, 1);
    feed(fe44, x44, secs * 44100, 2, 4096, collect_newest, &a);
    feed(fe22, x22, secs * 22050, 1, 4096, collect_newest, &b);
    frontend_reset(fe22);
    feed(fe22, late, secs * 22050, 1, 4096, collect_newest, &c);
    double aligned = max_diff(&a, &b), shifted = max_diff(&c, &b);
    printf("44.1 kHz vs 22.05 kHz features: max |diff| %.4f (a 63-sample shift: %.4f)\n", aligned,
           shifted);
    CHECK(a.n + 1 >= b.n && a.n <= b.n);
    CHECK(aligned < 0.05);
    CHECK(shifted > 0.05);
    free(a.frames), free(b.frames), free(c.frames);
    free(x44), free(x22), free(late);
    frontend_destroy(fe44);
    frontend_destroy(fe22);
}

static void test_bad_input(void)
{
    mfcc_params p = mfcc_params_default();
    char err[256] = "";
    CHECK(!create(&p, 0.01, 44100, 2, err, sizeof err) && strstr(err, "window_seconds"));
    CHECK(!create(&p, 3.0, 4000, 2, err, sizeof err) && strstr(err, "input rate"));
    CHECK(!create(&p, 3.0, 44100, 0, err, sizeof err) && strstr(err, "channels"));
    mfcc_params bad = p;
    bad.n_mels = 0;
    CHECK(!create(&bad, 3.0, 44100, 2, err, sizeof err) && strstr(err, "n_mels"));
    bad = p;
    bad.hop = 4;
    CHECK(!create(&bad, 3.0, 8000, 1, err, sizeof err) && strstr(err, "hop"));

    /* NaN and Inf are counted, zeroed and forgotten once out of the window. */
    frontend_t *fe = make(&p, 44100, 2), *ref = make(&p, 44100, 2);
    size_t frames = 8 * 44100;
    float *x = stereo_sine(44100, 0.5, frames), *clean = stereo_sine(44100, 0.5, frames);
    x[10] = NAN, x[11] = INFINITY, x[5001] = -INFINITY;
    clean[10] = clean[11] = 0.0f, clean[5001] = 0.0f;
    feed(fe, x, frames, 2, 999, NULL, NULL);
    feed(ref, clean, frames, 2, 999, NULL, NULL);
    CHECK(frontend_nonfinite_count(fe) == 3);
    CHECK(frontend_frame_count(fe) == frontend_frame_count(ref));
    CHECK(memcmp(frontend_window(fe), frontend_window(ref), 126 * 13 * sizeof(float)) == 0);
    CHECK(isfinite(frontend_level_dbfs(fe)));
    frontend_reset(fe);
    CHECK(frontend_nonfinite_count(fe) == 0);
    free(x);
    free(clean);
    frontend_destroy(fe);
    frontend_destroy(ref);
}

/* The daemon's former hop bookkeeping, kept here as the reference: the next
 * hop is due at a model-rate sample advanced by whole hops; a frame ending
 * at or past it is classified. */
typedef struct {
    uint64_t next, hop;
} hop_ref;

static int hop_ref_due(hop_ref *r, uint64_t frame_end)
{
    if (frame_end < r->next) return 0;
    while (r->next <= frame_end)
        r->next += r->hop;
    return 1;
}

static uint64_t end_of(uint64_t frame)
{
    return frame * 512 + 2048;
}

/* The pure rule (what genre-eval uses) against the reference. */
static void check_rule(const frontend_params *fp, double hop_s, unsigned N)
{
    uint64_t H = frontend_hop_samples(fp, hop_s);
    CHECK(H == (uint64_t)llround(hop_s * 22050) || (H == 1 && hop_s * 22050 < 0.5));
    hop_ref ref = {end_of(N - 1), H};
    uint64_t i = 0;
    for (uint64_t f = N - 1; f < 6000; f++) {
        int due = hop_ref_due(&ref, end_of(f));
        CHECK(frontend_window_starts_at(fp, H, f - (N - 1)) == due);
        if (due) CHECK(frontend_window_start(fp, H, i++) == f - (N - 1));
    }
    CHECK(i > 0);
}

/* n samples of white noise in [-1, 1], the same for the same seed. */
static float *noise(size_t n, uint32_t seed)
{
    float *x = malloc(n * sizeof *x);
    REQUIRE(x);
    for (size_t i = 0; i < n; i++) {
        seed = xorshift32(seed);
        x[i] = (float)(seed % 2001) / 1000.0f - 1.0f;
    }
    return x;
}

/* The streaming front end's flags and its wait estimate against the
 * reference, including a hop change mid-stream. */
static void test_hop_rule(void)
{
    mfcc_params p = mfcc_params_default();
    frontend_params fp = {p, 3.0};
    const double hops[] = {0.5, 0.37, 0.01, 512.0 / 22050, 1.0, 3.0, 7.3, 1e-9};
    for (size_t k = 0; k < sizeof hops / sizeof *hops; k++)
        check_rule(&fp, hops[k], 126);

    size_t n = 22050 * 40;
    float *x = noise(n, 7);
    frontend_t *fe = make(&p, 22050, 1);
    frontend_set_hop(fe, 0.37);
    hop_ref ref = {end_of(125), frontend_hop_samples(&fp, 0.37)};
    unsigned dues = 0, frames = 0;
    for (size_t at = 0; at < n;) {
        size_t used;
        int got = frontend_process(fe, x + at, n - at < 777 ? n - at : 777, &used);
        at += used;
        if (!got) continue;
        uint64_t f = frontend_frame_count(fe) - 1;
        CHECK(frontend_frame_end(fe) == end_of(f));
        int due = f >= 125 && hop_ref_due(&ref, end_of(f));
        CHECK(!!(got & FRONTEND_WINDOW_DUE) == due);
        CHECK(!!(got & FRONTEND_WINDOW_START) == frontend_window_starts_at(&fp, ref.hop, f));
        uint64_t next_end = end_of(f < 125 ? 125 : (ref.next - 2048 + 511) / 512);
        /* Equal rates: every consumed sample is resampled, pending or fed. */
        CHECK(frontend_samples_to_due(fe) == (next_end > at ? next_end - at : 0));
        dues += due;
        frames++;
        if (frames == 1000) { /* a reload with another hop: steps of it from the first window */
            frontend_set_hop(fe, 0.5);
            ref.hop = frontend_hop_samples(&fp, 0.5);
            ref.next = end_of(125) + ((end_of(f) - end_of(125)) / ref.hop + 1) * ref.hop;
        }
    }
    CHECK(dues > 80);
    free(x);
    frontend_destroy(fe);
}

/* Feeds n frames of x, all of them; the FRONTEND_* bits seen on the way. */
static int feed_all(frontend_t *fe, const float *x, size_t n, unsigned channels)
{
    int seen = 0;
    while (n) {
        size_t used;
        seen |= frontend_process(fe, x, n, &used);
        x += used * channels;
        n -= used;
    }
    return seen;
}

/* frontend_input_to_due is exact at every rate and channel count: one
 * frame short of it no window is due, with it one is. The worker waits for
 * that much audio, so it wakes once per hop and never a block late. */
static void test_input_to_due(void)
{
    mfcc_params p = mfcc_params_default();
    const double rates[] = {48000, 44100, 22050, 8000, 96000};
    for (size_t k = 0; k < sizeof rates / sizeof *rates; k++) {
        unsigned ch = k % 2 ? 2 : 1;
        frontend_t *fe = make(&p, rates[k], ch);
        frontend_set_hop(fe, k == 3 ? 0.37 : 0.5);
        size_t n = (size_t)rates[k] * 4 * ch; /* the first window is 3 s */
        float *x = noise(n, 11);
        for (int window = 0; window < 12; window++) {
            uint64_t need = frontend_input_to_due(fe);
            REQUIRE(need >= 1 && need <= n / ch);
            int early = feed_all(fe, x, need - 1, ch) & FRONTEND_WINDOW_DUE;
            int last = feed_all(fe, x + (need - 1) * ch, 1, ch) & FRONTEND_WINDOW_DUE;
            if (early || !last)
                fprintf(stderr, "%g Hz x %u, window %d: due %s\n", rates[k], ch, window,
                        early ? "a frame early" : "not at the last frame");
            CHECK(!early && last);
        }
        free(x);
        frontend_destroy(fe);
    }
}

int main(void)
{
    test_level();
    test_window_contents();
    test_blocks_44k();
    test_alignment();
    test_bad_input();
    test_hop_rule();
    test_input_to_due();
    return check_report("test_frontend");
}
