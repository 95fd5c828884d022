/* Model file: round trips, rejection of every corrupted byte, the message
 * for structural corruption, older versions and the layer kind, the
 * default model, and classifier edge cases. */
#include "check.h"
#include "classifier.h"
#include "model.h"
#include "model_input.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static uint32_t rng_state = 12345;

/* Uniform in [-a, a). */
static float rnd(float a)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return a * ((float)(rng_state >> 8) / 8388608.0f - 1.0f);
}

static frontend_params default_frontend(void)
{
    frontend_params fe = {{22050, 2048, 512, 128, 13, 0, 11025}, 3.0};
    return fe;
}

static void fill(float *x, size_t n, float a)
{
    for (size_t i = 0; i < n; i++)
        x[i] = rnd(a);
}

static model_t *make_model_deltas(uint32_t layers, uint32_t hidden, uint32_t labels,
                                  model_pool pool, uint32_t deltas)
{
    frontend_params fe = default_frontend();
    char err[256];
    model_t *m = model_create(&fe, layers, hidden, labels, pool, deltas, err, sizeof err);
    REQUIRE(m);
    for (uint32_t i = 0; i < m->n_inputs; i++) {
        m->mean[i] = rnd(10);
        m->std[i] = 1 + rnd(1) * rnd(1) + 0.5f;
    }
    for (uint32_t i = 0; i < layers; i++) {
        model_layer *l = &m->layers[i];
        size_t g = model_layer_rows(l);
        fill(l->w_ih, g * l->input, 1);
        fill(l->w_hh, g * l->hidden, 1);
        fill(l->b_ih, g, 0.5f);
        fill(l->b_hh, g, 0.5f);
    }
    fill(m->fc_w, (size_t)labels * hidden, 2);
    fill(m->fc_b, labels, 1);
    for (uint32_t k = 0; k < labels; k++)
        snprintf(m->labels[k], sizeof m->labels[k], "label%u", k);
    snprintf(m->id, sizeof m->id, "test 2026-01-01 0123abcd");
    return m;
}

static model_t *make_model(uint32_t layers, uint32_t hidden, uint32_t labels, model_pool pool)
{
    return make_model_deltas(layers, hidden, labels, pool, 0);
}

static void *serialize(const model_t *m, size_t *size)
{
    char err[256];
    void *p = model_serialize(m, size, err, sizeof err);
    if (!p) fprintf(stderr, "serialize: %s\n", err);
    REQUIRE(p);
    return p;
}

static void classify(const model_t *m, const float *window, unsigned n, float *probs)
{
    char err[256];
    classifier_t *c = classifier_create(m, 126, err, sizeof err);
    REQUIRE(c);
    classifier_process(c, window, n, probs);
    classifier_destroy(c);
}

/* Raw coefficients (n x n_coeffs) around the model's means. */
static float *random_window(const model_t *m, unsigned n)
{
    unsigned C = m->frontend.mfcc.n_coeffs;
    float *w = malloc((size_t)n * C * sizeof(float));
    REQUIRE(w);
    for (size_t i = 0; i < (size_t)n * C; i++)
        w[i] = m->mean[i % C] + rnd(20);
    return w;
}

/* serialize(load(x)) == x, and the loaded model computes the same bits. */
static void check_round_trip(const model_t *m)
{
    size_t size, size2;
    char err[256];
    unsigned char *image = serialize(m, &size);
    model_t *loaded = model_load_memory(image, size, "rt", err, sizeof err);
    REQUIRE(loaded);
    unsigned char *image2 = serialize(loaded, &size2);
    CHECK(size == size2 && !memcmp(image, image2, size));

    char path[] = "/tmp/genred-test-model-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    CHECK(model_save(m, path, err, sizeof err) == 0);
    model_t *from_file = model_load_file(path, err, sizeof err);
    REQUIRE(from_file);
    unlink(path);

    float *w = random_window(m, 126);
    float p1[16], p2[16], p3[16];
    REQUIRE(m->n_labels <= 16);
    classify(m, w, 126, p1);
    classify(loaded, w, 126, p2);
    classify(from_file, w, 126, p3);
    CHECK(!memcmp(p1, p2, m->n_labels * sizeof(float)));
    CHECK(!memcmp(p1, p3, m->n_labels * sizeof(float)));
    free(w);
    free(image);
    free(image2);
    model_destroy(loaded);
    model_destroy(from_file);
}

static void check_round_trips(void)
{
    model_t *m = make_model(2, 8, 5, MODEL_POOL_MEAN);
    check_round_trip(m);
    char err[256];
    model_t *q = model_quantize(m, err, sizeof err);
    REQUIRE(q);
    CHECK(q->layers[0].weights == MODEL_WEIGHTS_Q8 && q->layers[1].weights == MODEL_WEIGHTS_Q8);
    CHECK(!strcmp(q->id, m->id) && !strcmp(q->labels[4], "label4"));
    check_round_trip(q);
    /* Quantized weights stay within one step of the float ones. */
    const model_layer *f = &m->layers[1], *l = &q->layers[1];
    for (size_t i = 0; i < 3 * (size_t)f->hidden * f->input; i++) {
        float s = l->s_ih[i / f->input];
        CHECK_NEAR(l->q_ih[i] * s, f->w_ih[i], s * 0.5f + 1e-7f);
    }
    model_destroy(q);
    model_destroy(m);
    /* Version 2 with deltas: the field and the doubled inputs survive. */
    model_t *d = make_model_deltas(1, 8, 3, MODEL_POOL_LAST, 1);
    CHECK(d->deltas == 1 && d->n_inputs == 26 && d->layers[0].input == 26);
    check_round_trip(d);
    model_t *dq = model_quantize(d, err, sizeof err);
    REQUIRE(dq);
    CHECK(dq->deltas == 1 && dq->n_inputs == 26);
    check_round_trip(dq);
    size_t size;
    unsigned char *image = serialize(dq, &size);
    model_t *back = model_load_memory(image, size, "d", err, sizeof err);
    REQUIRE(back);
    CHECK(back->deltas == 1 && back->n_inputs == 26 && back->layers[0].input == 26);
    model_destroy(back);
    free(image);
    model_destroy(dq);
    model_destroy(d);
    /* Without c0: 13 coefficients less c0, then 13 deltas. */
    model_t *n =
        make_model_deltas(1, 8, 3, MODEL_POOL_LAST, MODEL_INPUT_DELTAS | MODEL_INPUT_NO_C0);
    CHECK(n->deltas == 1 && n->no_c0 == 1 && n->n_inputs == 25 && n->layers[0].input == 25);
    check_round_trip(n);
    image = serialize(n, &size);
    back = model_load_memory(image, size, "n", err, sizeof err);
    REQUIRE(back);
    CHECK(back->no_c0 == 1 && back->deltas == 1 && back->n_inputs == 25);
    model_destroy(back);
    free(image);
    model_destroy(n);
}

static void recrc(unsigned char *p, size_t size)
{
    uint32_t c = (uint32_t)crc32(0L, p, (uInt)(size - 4));
    for (int i = 0; i < 4; i++)
        p[size - 4 + i] = (unsigned char)(c >> (8 * i));
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Loads a copy of image with one edit and the CRC made right again; the
 * error must name the file and contain `expect`. */
static void expect_error(const unsigned char *image, size_t size, size_t at, const void *bytes,
                         size_t n, const char *expect)
{
    unsigned char *p = malloc(size);
    REQUIRE(p);
    memcpy(p, image, size);
    memcpy(p + at, bytes, n);
    recrc(p, size);
    char err[256] = "";
    model_t *m = model_load_memory(p, size, "bad.gmdl", err, sizeof err);
    CHECK(m == NULL);
    if (!strstr(err, expect) || strncmp(err, "bad.gmdl: ", 10) || strchr(err, '\n')) {
        fprintf(stderr, "offset %zu: got \"%s\", want \"%s\"\n", at, err, expect);
        check_failures++;
    }
    model_destroy(m);
    free(p);
}

/* Offsets in a model with 13 inputs and labels "label0".."labelK" (see nn/model.c). */
enum { OFF_VERSION = 8, OFF_N_INPUTS = 60, OFF_DELTAS = 64, OFF_MEAN = 68 };
#define OFF_STD      (OFF_MEAN + 4 * 13)
#define OFF_N_LABELS (OFF_MEAN + 8 * 13)
#define OFF_LABELS   (OFF_N_LABELS + 4)

static void check_structural_errors(void)
{
    model_t *f = make_model(1, 4, 3, MODEL_POOL_LAST);
    char err[256];
    model_t *q = model_quantize(f, err, sizeof err);
    REQUIRE(q);
    size_t size;
    unsigned char *image = serialize(q, &size);
    const size_t off_n_layers = OFF_LABELS + 3 * 7, off_layer = off_n_layers + 4;
    unsigned char b4[4];

    put_u32(b4, 4);
    expect_error(image, size, OFF_VERSION, b4, 4,
                 "version: 4 is not supported (this build reads 1..3)");
    put_u32(b4, 0);
    expect_error(image, size, OFF_VERSION, b4, 4, "version: 0 is not supported");
    put_u32(b4, 12);
    expect_error(image, size, OFF_N_INPUTS, b4, 4, "n_inputs: 12 does not match n_coeffs (13)");
    put_u32(b4, 4);
    expect_error(image, size, OFF_DELTAS, b4, 4,
                 "inputs: 4 is not a combination of deltas (1) and no-c0 (2)");
    put_u32(b4, 1);
    expect_error(image, size, OFF_DELTAS, b4, 4, "n_inputs: 13 does not match n_coeffs (13) x 2");
    put_u32(b4, 3);
    expect_error(image, size, OFF_DELTAS, b4, 4,
                 "n_inputs: 13 does not match n_coeffs (13) x 2 (coefficients and deltas) - 1 "
                 "(no c0)");
    float v = 0;
    expect_error(image, size, OFF_STD + 4, &v, 4, "std[1]: 0 is not positive");
    v = NAN;
    expect_error(image, size, OFF_MEAN, &v, 4, "mean[0]: nan is not finite");
    put_u32(b4, 0);
    expect_error(image, size, OFF_N_LABELS, b4, 4, "n_labels: 0 is outside 2..256");
    put_u32(b4, 1000);
    expect_error(image, size, OFF_N_LABELS, b4, 4, "n_labels: 1000 is outside");
    expect_error(image, size, OFF_LABELS + 7, "\x06label0", 7, "labels[1]: \"label0\" duplicates");
    expect_error(image, size, OFF_LABELS + 1, "\xff", 1, "labels[0]: is not valid UTF-8");
    expect_error(image, size, OFF_LABELS + 1, "\xc0\x80", 2, "labels[0]: is not valid UTF-8");
    expect_error(image, size, OFF_LABELS + 1, "\t", 1, "labels[0]: contains a control");
    expect_error(image, size, OFF_LABELS, "\0", 1, "labels[0]: length 0 is outside 1..63");
    put_u32(b4, 9);
    expect_error(image, size, off_n_layers, b4, 4, "n_layers: 9 is outside 1..8");
    put_u32(b4, 7);
    expect_error(image, size, off_layer, b4, 4,
                 "layers[0].kind: 7 is not a layer kind this build knows (0 = GRU)");
    put_u32(b4, 12);
    expect_error(image, size, off_layer + 4, b4, 4, "layers[0].input: 12 does not match");
    put_u32(b4, 5000);
    expect_error(image, size, off_layer + 8, b4, 4, "layers[0].hidden: 5000 is outside 1..1024");
    put_u32(b4, 64);
    expect_error(image, size, off_layer + 8, b4, 4, "layers[0]: file truncated");
    put_u32(b4, 7);
    expect_error(image, size, off_layer + 12, b4, 4, "layers[0].weights: 7 is not");
    v = -1;
    expect_error(image, size, off_layer + 16, &v, 4, "layers[0].s_ih[0]: -1 is negative");
    expect_error(image, size, off_layer + 16 + 4 * 12, "\x80", 1,
                 "layers[0].q_ih[0]: -128 is outside");

    /* Every truncation, CRC recomputed, says so. */
    for (size_t cut = 12; cut + 4 < size; cut++) {
        unsigned char *p = malloc(cut + 4);
        REQUIRE(p);
        memcpy(p, image, cut);
        recrc(p, cut + 4);
        model_t *m = model_load_memory(p, cut + 4, "cut", err, sizeof err);
        CHECK(m == NULL);
        if (!strstr(err, "truncated")) {
            fprintf(stderr, "cut at %zu: %s\n", cut, err);
            check_failures++;
        }
        model_destroy(m);
        free(p);
    }
    /* A byte too many is as wrong as one too few. */
    unsigned char *longer = malloc(size + 1);
    REQUIRE(longer);
    memcpy(longer, image, size - 4);
    longer[size - 4] = 0;
    recrc(longer, size + 1);
    CHECK(model_load_memory(longer, size + 1, "long", err, sizeof err) == NULL);
    CHECK(strstr(err, "long: id: 1 unexpected bytes") != NULL);
    free(longer);

    free(image);
    model_destroy(q);
    model_destroy(f);
}

/* Any single corrupted byte is rejected: CRC32 catches every burst <= 32 bits. */
static void check_every_byte(const model_t *m)
{
    size_t size;
    unsigned char *image = serialize(m, &size);
    char err[256];
    int rejected = 0;
    for (size_t i = 0; i < size; i++) {
        static const unsigned char flips[] = {0x01, 0x80, 0xff};
        for (size_t f = 0; f < sizeof flips; f++) {
            image[i] ^= flips[f];
            err[0] = 0;
            model_t *bad = model_load_memory(image, size, "x", err, sizeof err);
            rejected += bad == NULL && !strncmp(err, "x: ", 3);
            model_destroy(bad);
            image[i] ^= flips[f];
        }
    }
    CHECK(rejected == (int)(3 * size));
    model_t *ok = model_load_memory(image, size, "x", err, sizeof err);
    CHECK(ok != NULL);
    model_destroy(ok);
    free(image);
}

/* Bytes of one layer in a file image: kind, input, hidden, weights, the
 * matrices and the biases. */
static size_t layer_image_bytes(const model_layer *l)
{
    size_t g = model_layer_rows(l), w = g * (l->input + l->hidden);
    return 16 + (l->weights == MODEL_WEIGHTS_F32 ? 4 * w : w + 8 * g) + 8 * g;
}

/* The version 3 image of m (13 inputs) cut to an older version by hand: a
 * version 2 file is version 3 without the layers' kind fields, version 1
 * also without the inputs field. *size: in, the image's; out, the copy's. */
static unsigned char *older_image(const unsigned char *v3, size_t *size, const model_t *m,
                                  uint32_t version)
{
    REQUIRE(m->n_inputs == 13);
    size_t cut[MODEL_MAX_LABELS + 2], n_cut = 0, at = OFF_LABELS;
    if (version < 2) cut[n_cut++] = OFF_DELTAS;
    for (uint32_t k = 0; k < m->n_labels; k++)
        at += 1 + strlen(m->labels[k]);
    at += 4; /* n_layers */
    for (uint32_t i = 0; i < m->n_layers; i++) {
        if (version < 3) cut[n_cut++] = at;
        at += layer_image_bytes(&m->layers[i]);
    }
    unsigned char *p = malloc(*size);
    REQUIRE(p);
    size_t from = 0, to = 0;
    for (size_t c = 0; c < n_cut; c++) {
        memcpy(p + to, v3 + from, cut[c] - from);
        to += cut[c] - from;
        from = cut[c] + 4;
    }
    memcpy(p + to, v3 + from, *size - from);
    to += *size - from;
    put_u32(p + OFF_VERSION, version);
    recrc(p, to);
    *size = to;
    return p;
}

/* Files of versions 1 and 2 load as the same model (deltas = 0, every layer
 * a GRU), are written back as the version 3 image, and
 * model_serialize_version writes their own bytes again. */
static void check_old_versions(void)
{
    model_t *m = make_model(2, 6, 3, MODEL_POOL_MEAN);
    size_t size;
    unsigned char *v3 = serialize(m, &size);
    char err[256];
    for (uint32_t version = 1; version <= 2; version++) {
        size_t old_size = size, n;
        unsigned char *old = older_image(v3, &old_size, m, version);
        CHECK(old_size == size - 4 * (m->n_layers + (version < 2)));
        model_t *back = model_load_memory(old, old_size, "old", err, sizeof err);
        if (!back) fprintf(stderr, "version %u: %s\n", version, err);
        REQUIRE(back);
        CHECK(back->file_version == version && back->deltas == 0 && back->n_inputs == 13 &&
              back->n_layers == 2);
        CHECK(back->layers[0].kind == MODEL_LAYER_GRU && back->layers[1].kind == MODEL_LAYER_GRU);
        unsigned char *again = serialize(back, &n);
        CHECK(n == size && !memcmp(again, v3, size));
        model_t *newest = model_load_memory(again, n, "v3", err, sizeof err);
        CHECK(newest && newest->file_version == 3);
        model_destroy(newest);
        free(again);
        again = model_serialize_version(back, version, &n, err, sizeof err);
        CHECK(again && n == old_size && !memcmp(again, old, n));
        free(again);
        model_destroy(back);
        free(old);
    }
    free(v3);
    model_destroy(m);
}

/* What an older version cannot hold, and a kind no version knows, are
 * refused with the field named. */
static void check_serialize_versions(void)
{
    model_t *m = make_model_deltas(1, 4, 3, MODEL_POOL_LAST, MODEL_INPUT_DELTAS);
    char err[256] = "";
    size_t n;
    CHECK(model_serialize_version(m, 1, &n, err, sizeof err) == NULL);
    CHECK(strstr(err, "model: inputs: version 1 holds no deltas") != NULL);
    CHECK(model_serialize_version(m, 4, &n, err, sizeof err) == NULL);
    CHECK(strstr(err, "model: version: 4 is outside 1..3") != NULL);
    void *v2 = model_serialize_version(m, 2, &n, err, sizeof err);
    CHECK(v2 != NULL);
    free(v2);
    m->layers[0].kind = (model_layer_kind)7;
    CHECK(model_serialize(m, &n, err, sizeof err) == NULL);
    CHECK(strstr(err, "model: layers[0].kind: 7 is not a known layer kind") != NULL);
    CHECK(model_layer_kind_name(7) == NULL &&
          !strcmp(model_layer_kind_name(MODEL_LAYER_GRU), "GRU"));
    m->layers[0].kind = MODEL_LAYER_GRU;
    model_destroy(m);
}

/* The spec's delta, in double with explicit clamping: the reference that
 * nn/model_input.c must match. */
static double naive_delta(const float *c, unsigned n, unsigned C, unsigned t, unsigned k)
{
    double v[5];
    for (int j = -2; j <= 2; j++) {
        long u = (long)t + j;
        u = u < 0 ? 0 : u > (long)n - 1 ? (long)n - 1 : u;
        v[j + 2] = c[(size_t)u * C + k];
    }
    return ((v[3] - v[1]) + 2 * (v[4] - v[0])) / 10;
}

static void check_deltas(void)
{
    enum { C = 13, N = 126 };
    static float c[N * C], d[N * C], x[N * 2 * C];
    float mean[2 * C], std[2 * C];
    for (unsigned i = 0; i < N * C; i++)
        c[i] = 40 * sinf((float)i * 0.37f) + rnd(30);
    for (unsigned k = 0; k < 2 * C; k++) {
        mean[k] = rnd(5);
        std[k] = 1.5f + rnd(1);
    }
    static const unsigned lengths[] = {1, 2, 3, 4, 5, 17, N};
    double worst = 0, worst_x = 0;
    for (size_t li = 0; li < sizeof lengths / sizeof *lengths; li++) {
        unsigned n = lengths[li];
        model_input_deltas(c, n, C, d);
        model_input_spec spec = {C, 1, 0, mean, std};
        CHECK(model_input_width(&spec) == 2 * C);
        model_input(&spec, c, n, x);
        for (unsigned t = 0; t < n; t++)
            for (unsigned k = 0; k < C; k++) {
                double ref = naive_delta(c, n, C, t, k);
                worst = fmax(worst, fabs(d[t * C + k] - ref));
                double xc = (c[t * C + k] - mean[k]) / std[k];
                double xd = (ref - mean[C + k]) / std[C + k];
                worst_x = fmax(worst_x, fabs(x[t * 2 * C + k] - xc));
                worst_x = fmax(worst_x, fabs(x[t * 2 * C + C + k] - xd));
            }
    }
    printf("deltas vs double reference: %.2e, normalised input %.2e\n", worst, worst_x);
    CHECK(worst < 1e-4);   /* values up to ~70: a few float ulps */
    CHECK(worst_x < 3e-5); /* normalised values are O(10) */
    /* A constant (a gain on c0) has zero deltas; one frame has zero deltas. */
    for (unsigned i = 0; i < N * C; i++)
        c[i] = 7.25f;
    model_input_deltas(c, N, C, d);
    int zero = 1;
    for (unsigned i = 0; i < N * C; i++)
        zero &= d[i] == 0;
    CHECK(zero);
    /* Without deltas the input is the normalised coefficients alone. */
    model_input_spec plain = {C, 0, 0, mean, std};
    CHECK(model_input_width(&plain) == C);
    c[3] = NAN;
    model_input(&plain, c, 2, x);
    CHECK(x[3] == 0 && x[C + 3] == (7.25f - mean[3]) / std[3]);
    /* Without c0: coefficients 1.. then all C deltas, each with its own
     * statistics; a gain (c0 + g on every frame) changes nothing. */
    for (unsigned i = 0; i < N * C; i++)
        c[i] = 40 * sinf((float)i * 0.37f);
    model_input_spec no_c0 = {C, 1, 1, mean, std};
    CHECK(model_input_width(&no_c0) == 2 * C - 1);
    static float y[N * 2 * C];
    model_input(&no_c0, c, N, x);
    model_input_deltas(c, N, C, d);
    double worst_no_c0 = 0;
    for (unsigned t = 0; t < N; t++)
        for (unsigned k = 0; k < 2 * C - 1; k++) {
            double raw = k < C - 1 ? c[t * C + k + 1] : d[t * C + k - (C - 1)];
            worst_no_c0 =
                fmax(worst_no_c0, fabs(x[t * (2 * C - 1) + k] - (raw - mean[k]) / std[k]));
        }
    CHECK(worst_no_c0 < 3e-5);
    for (unsigned t = 0; t < N; t++)
        c[t * C] += 20;
    model_input(&no_c0, c, N, y);
    double moved = 0; /* float rounding of c0 + 20 is all that may differ */
    for (unsigned i = 0; i < N * (2 * C - 1); i++)
        moved = fmax(moved, fabs(x[i] - y[i]));
    CHECK(moved < 1e-5);
}

static void check_default_model(void)
{
    char err[256];
    model_t *m = model_load_default(err, sizeof err);
    if (!m) fprintf(stderr, "%s\n", err);
    REQUIRE(m);
    /* The framing defaults of dsp/mfcc.h; the coefficient count is the
     * trained model's choice (the daemon takes it from the model). */
    CHECK(m->frontend.mfcc.sample_rate == 22050);
    CHECK(m->frontend.mfcc.n_fft == 2048 && m->frontend.mfcc.hop == 512);
    CHECK(m->frontend.mfcc.n_mels == 128 && m->frontend.mfcc.n_coeffs >= 13 &&
          m->frontend.mfcc.n_coeffs <= m->frontend.mfcc.n_mels && m->deltas <= 1 &&
          m->n_inputs == m->frontend.mfcc.n_coeffs * (1 + m->deltas) - m->no_c0);
    CHECK(m->frontend.mfcc.fmin == 0);
    CHECK(m->frontend.mfcc.fmax == 0 || m->frontend.mfcc.fmax == 11025);
    CHECK(m->frontend.window_seconds == 3);
    CHECK(m->n_labels >= 2 && m->id[0]);
    float *w = random_window(m, 126);
    float *p = malloc(m->n_labels * sizeof(float));
    REQUIRE(p);
    classify(m, w, 126, p);
    double sum = 0;
    for (uint32_t k = 0; k < m->n_labels; k++)
        sum += p[k];
    CHECK_NEAR(sum, 1, 1e-5);
    free(p);
    free(w);
    model_destroy(m);
}

static void check_create_and_open_errors(void)
{
    frontend_params fe = default_frontend();
    char err[256];
    CHECK(!model_create(&fe, 0, 8, 3, MODEL_POOL_LAST, 0, err, sizeof err));
    CHECK(strstr(err, "model: n_layers: 0 is outside") != NULL);
    CHECK(!model_create(&fe, 1, 8, 1, MODEL_POOL_LAST, 0, err, sizeof err));
    CHECK(strstr(err, "model: n_labels: 1 is outside") != NULL);
    fe.mfcc.hop = 4096;
    CHECK(!model_create(&fe, 1, 8, 3, MODEL_POOL_LAST, 0, err, sizeof err));
    CHECK(strstr(err, "model: hop: 4096") != NULL);
    fe.mfcc.hop = 512;
    CHECK(!model_create(&fe, 1, 8, 3, MODEL_POOL_LAST, 4, err, sizeof err));
    CHECK(strstr(err, "model: inputs: 4 is not a combination of deltas (1) and no-c0 (2)") != NULL);
    CHECK(!model_load_file("/nonexistent/m.gmdl", err, sizeof err));
    CHECK(strstr(err, "/nonexistent/m.gmdl: open: No such file") != NULL);
    CHECK(!model_load_memory("GRDMODE", 7, "short", err, sizeof err));
    CHECK(strstr(err, "short: magic: not a genred model") != NULL);
    /* An unlabelled model is refused at save time, not written broken. */
    model_t *m = make_model(1, 4, 3, MODEL_POOL_LAST);
    m->labels[2][0] = 0;
    size_t size;
    CHECK(model_serialize(m, &size, err, sizeof err) == NULL);
    CHECK(strstr(err, "labels[2]: length 0") != NULL);
    model_destroy(m);
}

static void check_classifier_edges(void)
{
    model_t *m = make_model(2, 16, 4, MODEL_POOL_LAST);
    char err[256];
    classifier_t *c = classifier_create(m, 50, err, sizeof err);
    REQUIRE(c);
    CHECK(classifier_model(c) == m);
    float p[4], p2[4];
    classifier_process(c, NULL, 0, p);
    for (int k = 0; k < 4; k++)
        CHECK_NEAR(p[k], 0.25, 1e-7);
    /* Longer than max_frames: the newest frames count. */
    float *w = random_window(m, 80);
    classifier_process(c, w, 80, p);
    classifier_process(c, w + 30 * 13, 50, p2);
    CHECK(!memcmp(p, p2, sizeof p));
    /* Non-finite features do not poison the output. */
    w[5] = NAN;
    w[77] = INFINITY;
    classifier_process(c, w, 50, p);
    for (int k = 0; k < 4; k++)
        CHECK(isfinite(p[k]));
    CHECK(classifier_create(m, 0, err, sizeof err) == NULL);
    free(w);
    classifier_destroy(c);
    model_destroy(m);
}

int main(void)
{
    check_round_trips();
    check_structural_errors();
    model_t *small = make_model(1, 2, 2, MODEL_POOL_MEAN);
    check_every_byte(small);
    char err[256];
    model_t *q = model_quantize(small, err, sizeof err);
    REQUIRE(q);
    check_every_byte(q);
    model_destroy(q);
    model_destroy(small);
    check_old_versions();
    check_serialize_versions();
    check_deltas();
    check_default_model();
    check_create_and_open_errors();
    check_classifier_edges();
    return check_report("test_model");
}
