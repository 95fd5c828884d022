/* stream_classifier against the per-window classifier (classifier_process,
 * itself checked against PyTorch in test_gru_reference): every window the
 * stream classifier follows must give bit for bit the per-window
 * probabilities for int8 models and within 1e-6 for float ones, on every
 * kernel path, for hops that do and do not divide the window, hops shorter
 * than a frame, windows of 1..9 frames (deltas clamped at both edges
 * everywhere) and 126, one and two layers, both poolings, with and without
 * deltas, the shipped model, too few window slots, and a model swapped
 * mid-stream (windows begun before the swap are left to the caller). */
#include "check.h"
#include "classifier.h"
#include "frontend.h"
#include "gru_q8.h"
#include "model.h"
#include "simd.h"
#include "stream_classifier.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng_state = 99;

static float rnd(float a)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return a * ((float)(rng_state >> 8) / 8388608.0f - 1.0f);
}

static void fill(float *x, size_t n, float a)
{
    for (size_t i = 0; i < n; i++)
        x[i] = rnd(a);
}

/* A random model whose window is n_frames frames, MODEL_INPUT_* inputs; int8
 * when q8. */
static model_t *random_model(unsigned n_frames, uint32_t layers, uint32_t hidden, model_pool pool,
                             uint32_t inputs, int q8)
{
    frontend_params fe = {{22050, 2048, 512, 128, 13, 0, 11025},
                          (2048 + 512.0 * (n_frames - 1)) / 22050};
    char err[256];
    model_t *m = model_create(&fe, layers, hidden, 5, pool, inputs, err, sizeof err);
    REQUIRE(m);
    fill(m->mean, m->n_inputs, 5);
    for (uint32_t i = 0; i < m->n_inputs; i++)
        m->std[i] = 2 + rnd(1);
    for (uint32_t i = 0; i < layers; i++) {
        model_layer *l = &m->layers[i];
        size_t g = 3 * (size_t)l->hidden;
        fill(l->w_ih, g * l->input, 0.6f);
        fill(l->w_hh, g * l->hidden, 0.6f);
        fill(l->b_ih, g, 0.3f);
        fill(l->b_hh, g, 0.3f);
    }
    fill(m->fc_w, 5 * (size_t)hidden, 2);
    fill(m->fc_b, 5, 1);
    REQUIRE(model_window_frames(m) == n_frames);
    if (!q8) return m;
    model_t *q = model_quantize(m, err, sizeof err);
    REQUIRE(q);
    model_destroy(m);
    return q;
}

static int is_q8(const model_t *m)
{
    return m->layers[0].weights == MODEL_WEIGHTS_Q8;
}

typedef struct {
    unsigned followed, fell_back;
    double max_diff;
} tally;

/* Streams `frames` MFCC frames (a table of n_frames x C, oldest first)
 * through s from frame `from`, comparing every window it follows with the
 * classifier; swap: frame index at which s was created (windows starting
 * before it are not followed). */
static void stream(const model_t *m, stream_classifier_t *s, classifier_t *c, const float *frames,
                   uint64_t from, uint64_t to, uint64_t created, uint64_t hop, tally *t)
{
    const frontend_params *fp = &m->frontend;
    unsigned N = model_window_frames(m), C = fp->mfcc.n_coeffs, L = m->n_labels;
    float got[MODEL_MAX_LABELS], want[MODEL_MAX_LABELS];
    for (uint64_t f = from; f < to; f++) {
        int start = frontend_window_starts_at(fp, hop, f);
        int due = f + 1 >= N && frontend_window_starts_at(fp, hop, f + 1 - N);
        int have = stream_classifier_push(s, frames + f * C, start, got);
        CHECK(!have || due); /* only windows of the rule end */
        if (!due) continue;
        uint64_t first = f + 1 - N;
        classifier_process(c, frames + first * C, N, want);
        if (!have) {
            t->fell_back++;
            continue;
        }
        CHECK(first >= created);
        t->followed++;
        for (unsigned k = 0; k < L; k++) {
            double d = got[k] > want[k] ? got[k] - want[k] : want[k] - got[k];
            if (d > t->max_diff) t->max_diff = d;
        }
        if (is_q8(m)) CHECK(!memcmp(got, want, L * sizeof *got));
    }
}

static float *random_frames(size_t n, unsigned C)
{
    float *x = malloc(n * C * sizeof *x);
    REQUIRE(x);
    for (size_t i = 0; i < n * C; i++)
        x[i] = rnd(30) * (i % 97 == 0 ? 20 : 1); /* now and then a large value */
    return x;
}

/* Frames streamed per case: long windows need fewer multiples of their
 * length to reach steady state (six live windows at the default hop). */
static size_t stream_length(unsigned N)
{
    return N < 10 ? (size_t)N * 4 + 60 : (size_t)N * 2 + 40;
}

/* One model and hop: the whole stream through one stream classifier, on
 * the kernels of `level`. */
static tally run_one(const model_t *m, simd_level level, uint64_t hop, unsigned slots)
{
    char err[256];
    unsigned N = model_window_frames(m);
    size_t n = stream_length(N);
    float *frames = random_frames(n, m->frontend.mfcc.n_coeffs);
    unsigned live = frontend_windows_live(&m->frontend, hop);
    stream_classifier_t *s =
        stream_classifier_create_at(m, N, slots ? slots : live, level, err, sizeof err);
    classifier_t *c = classifier_create_at(m, N, level, err, sizeof err);
    REQUIRE(s && c);
    tally t = {0, 0, 0};
    stream(m, s, c, frames, 0, n, 0, hop, &t);
    /* After a reset the stream starts over from frame 0. */
    stream_classifier_reset(s);
    stream(m, s, c, frames, 0, N < 10 ? n : N + 30, 0, hop, &t);
    stream_classifier_destroy(s);
    classifier_destroy(c);
    free(frames);
    return t;
}

/* full: every length and hop, and the float models (their kernel does not
 * depend on the int8 path); else a few, enough to cover the path's kernels
 * in batches of every size. */
static void check_shapes(simd_level level, int full)
{
    const char *path = simd_level_name(level);
    const unsigned all_lengths[] = {1, 2, 3, 4, 5, 6, 9, 126}, few_lengths[] = {2, 5, 126};
    const uint64_t all_hops[] = {300, 512, 1124, 11025, 40000}, few_hops[] = {300, 1124};
    const unsigned *lengths = full ? all_lengths : few_lengths;
    const uint64_t *hops = full ? all_hops : few_hops;
    size_t n_lengths = full ? 8 : 3, n_hops = full ? 5 : 2;
    int with_float = full;
    unsigned cases = 0;
    for (size_t a = 0; a < n_lengths; a++)
        for (int q8 = !with_float; q8 <= 1; q8++)
            for (int shape = 0; shape < 3; shape++) {
                uint32_t layers = shape == 2 ? 2 : 1, hidden = shape == 1 ? 13 : 24;
                model_pool pool = shape == 1 ? MODEL_POOL_LAST : MODEL_POOL_MEAN;
                /* Shape 1 also leaves c0 out of the inputs (MODEL_INPUT_NO_C0). */
                uint32_t inputs = shape == 2   ? 0
                                  : shape == 1 ? MODEL_INPUT_DELTAS | MODEL_INPUT_NO_C0
                                               : MODEL_INPUT_DELTAS;
                model_t *m = random_model(lengths[a], layers, hidden, pool, inputs, q8);
                for (size_t h = 0; h < n_hops; h++) {
                    /* Every-frame and rare hops over 126 frames: slow, nothing new. */
                    if (lengths[a] > 9 && (hops[h] <= 512 || hops[h] > 11025)) continue;
                    tally t = run_one(m, level, hops[h], 0);
                    CHECK(t.followed > 0 && t.fell_back == 0);
                    CHECK(t.max_diff <= (q8 ? 0 : 1e-6));
                    if (t.fell_back || t.max_diff > (q8 ? 0 : 1e-6))
                        fprintf(stderr, "%s: N %u %s shape %d hop %lu: %u/%u, diff %g\n", path,
                                lengths[a], q8 ? "int8" : "float", shape, (unsigned long)hops[h],
                                t.followed, t.fell_back, t.max_diff);
                    cases++;
                }
                model_destroy(m);
            }
    printf("%-10s %u cases: every followed window equal to the per-window classifier\n", path,
           cases);
}

/* The shipped model at genred's default hop, and with too few slots: what
 * is followed is still exact, the rest is left to the caller. */
static void check_default(simd_level level)
{
    const char *path = simd_level_name(level);
    char err[256];
    model_t *m = model_load_default(err, sizeof err);
    REQUIRE(m);
    uint64_t hop = frontend_hop_samples(&m->frontend, 0.5);
    tally t = run_one(m, level, hop, 0);
    unsigned N = model_window_frames(m), windows = 0;
    while (frontend_window_start(&m->frontend, hop, windows) + N <= stream_length(N))
        windows++;
    CHECK(t.followed == windows + 2 && t.fell_back == 0 && t.max_diff == 0);
    tally few = run_one(m, level, hop, 2);
    CHECK(few.followed > 0 && few.fell_back > 0 && few.max_diff == 0);
    printf("%-10s default model: %u windows bit-identical; 2 slots: %u followed, %u left\n", path,
           t.followed, few.followed, few.fell_back);
    model_destroy(m);
}

/* A model reload mid-stream: a new stream classifier for the new model
 * follows only windows that start after it, and those exactly. */
static void check_swap(simd_level level)
{
    char err[256];
    model_t *a = random_model(126, 1, 24, MODEL_POOL_MEAN, 1, 1);
    model_t *b = random_model(126, 1, 24, MODEL_POOL_MEAN, 1, 1);
    uint64_t hop = frontend_hop_samples(&a->frontend, 0.5);
    size_t n = 126 * 4;
    float *frames = random_frames(n, 13);
    unsigned live = frontend_windows_live(&a->frontend, hop);
    stream_classifier_t *sa = stream_classifier_create_at(a, 126, live, level, err, sizeof err);
    stream_classifier_t *sb = stream_classifier_create_at(b, 126, live, level, err, sizeof err);
    classifier_t *ca = classifier_create_at(a, 126, level, err, sizeof err);
    classifier_t *cb = classifier_create_at(b, 126, level, err, sizeof err);
    REQUIRE(sa && sb && ca && cb);
    tally ta = {0, 0, 0}, tb = {0, 0, 0};
    stream(a, sa, ca, frames, 0, 200, 0, hop, &ta);
    stream(b, sb, cb, frames, 200, n, 200, hop, &tb);
    CHECK(ta.followed > 0 && ta.fell_back == 0);
    CHECK(tb.fell_back == 6 && tb.followed > 6 && tb.max_diff == 0);
    stream_classifier_destroy(sa);
    stream_classifier_destroy(sb);
    classifier_destroy(ca);
    classifier_destroy(cb);
    model_destroy(a);
    model_destroy(b);
    free(frames);
}

/* The shipped model's window probabilities on the kernels of `level`. */
static void default_probs(simd_level level, float *probs, unsigned windows)
{
    char err[256];
    model_t *m = model_load_default(err, sizeof err);
    REQUIRE(m);
    unsigned N = model_window_frames(m), C = m->frontend.mfcc.n_coeffs;
    rng_state = 5;
    float *frames = random_frames((size_t)N + windows, C);
    classifier_t *c = classifier_create_at(m, N, level, err, sizeof err);
    REQUIRE(c);
    for (unsigned w = 0; w < windows; w++)
        classifier_process(c, frames + (size_t)w * C, N, probs + (size_t)w * m->n_labels);
    classifier_destroy(c);
    free(frames);
    model_destroy(m);
}

int main(void)
{
    /* Every level this CPU runs whose int8 table is new (AVX-512 without
     * VNNI has AVX2's), all shapes and the float models on the best. */
    static float probs[SIMD_LEVEL_LAST + 1][8 * MODEL_MAX_LABELS];
    simd_level best = simd_level_best(SIMD_LEVEL_LAST);
    const gru_q8_ops *last = NULL;
    for (simd_level l = SIMD_PORTABLE; l <= best; l++) {
        if (!simd_level_supported(l) || (gru_q8_ops_for(l) == last && l != best)) continue;
        last = gru_q8_ops_for(l);
        printf("-- level %s: int8 table %s\n", simd_level_name(l), last->name);
        check_shapes(l, l == best);
        check_default(l);
        check_swap(l);
        default_probs(l, probs[l], 8);
    }
    /* VNNI and AVX2 sum the same integers and share the float code. */
    if (simd_level_supported(SIMD_AVX512VNNI)) {
        CHECK(!memcmp(probs[SIMD_AVX2], probs[SIMD_AVX512VNNI], sizeof probs[SIMD_AVX2]));
        printf("avx512vnni and avx2: bit-identical\n");
    } else {
        printf("avx512vnni not available here: not compared with avx2\n");
    }
    return check_report("test_stream_classifier");
}
