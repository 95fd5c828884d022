/* GRU kernels against PyTorch: float within 1e-5 of nn.GRU + Linear +
 * softmax (float64), int8 within 0.02, each on both its vector (float:
 * AVX2 or AVX-512, int8: AVX2) and portable paths.
 * Vectors: tests/nn/data, made by tests/nn/make_gru_reference.py. */
#include "check.h"
#include "classifier.h"
#include "gru_f32.h"
#include "gru_q8.h"
#include "simd.h"
#include "model.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct {
    unsigned n_frames, n_inputs, n_windows, n_labels;
    float *windows; /* n_windows x n_frames x n_inputs */
    double *probs;  /* n_windows x n_labels */
} reference;

static void path_of(char *buf, size_t len, const char *name, const char *ext)
{
    const char *src = getenv("GENRED_SOURCE_DIR");
    snprintf(buf, len, "%s/tests/nn/data/%s%s", src ? src : ".", name, ext);
}

static reference read_reference(const char *name)
{
    char path[1024];
    path_of(path, sizeof path, name, ".ref");
    FILE *f = fopen(path, "r");
    REQUIRE(f);
    reference r;
    REQUIRE(fscanf(f, "%u %u %u %u", &r.n_frames, &r.n_inputs, &r.n_windows, &r.n_labels) == 4);
    size_t frame_vals = (size_t)r.n_frames * r.n_inputs;
    r.windows = malloc(r.n_windows * frame_vals * sizeof(float));
    r.probs = malloc(r.n_windows * r.n_labels * sizeof(double));
    REQUIRE(r.windows && r.probs);
    for (unsigned w = 0; w < r.n_windows; w++) {
        for (size_t i = 0; i < frame_vals; i++)
            REQUIRE(fscanf(f, "%f", &r.windows[w * frame_vals + i]) == 1);
        for (unsigned k = 0; k < r.n_labels; k++)
            REQUIRE(fscanf(f, "%lf", &r.probs[w * r.n_labels + k]) == 1);
    }
    fclose(f);
    return r;
}

/* Largest |p - reference| over every window and label. */
static double max_error(const model_t *m, const reference *r, float *out_probs)
{
    char err[256];
    classifier_t *c = classifier_create(m, r->n_frames, err, sizeof err);
    REQUIRE(c);
    double worst = 0;
    for (unsigned w = 0; w < r->n_windows; w++) {
        float *p = out_probs + w * r->n_labels;
        classifier_process(c, r->windows + (size_t)w * r->n_frames * r->n_inputs, r->n_frames, p);
        double sum = 0;
        for (unsigned k = 0; k < r->n_labels; k++) {
            double e = fabs(p[k] - r->probs[w * r->n_labels + k]);
            if (e > worst) worst = e;
            sum += p[k];
        }
        CHECK_NEAR(sum, 1.0, 1e-5);
    }
    classifier_destroy(c);
    return worst;
}

/* The version 2 image of a version 1 file: version 2, a deltas field of 0
 * after n_inputs (offset 64), the CRC redone; nothing else changes. */
static unsigned char *upgrade_v1(const unsigned char *v1, long *len)
{
    enum { OFF_VERSION = 8, OFF_DELTAS = 64 };
    unsigned char *v2 = calloc((size_t)*len + 4, 1);
    REQUIRE(v2 && *len > OFF_DELTAS + 4 && v1[OFF_VERSION] == 1);
    memcpy(v2, v1, OFF_DELTAS);
    v2[OFF_VERSION] = 2;
    memcpy(v2 + OFF_DELTAS + 4, v1 + OFF_DELTAS, (size_t)*len - OFF_DELTAS - 4);
    *len += 4;
    uint32_t c = (uint32_t)crc32(0L, v2, (uInt)(*len - 4));
    for (int i = 0; i < 4; i++)
        v2[*len - 4 + i] = (unsigned char)(c >> (8 * i));
    return v2;
}

/* The importer (version 1 files) and model_serialize (version 2) write the
 * same model: serialize(load(x)) == x, upgraded to version 2. */
static void check_bytes_round_trip(const model_t *m, const char *path)
{
    FILE *f = fopen(path, "rb");
    REQUIRE(f);
    REQUIRE(fseek(f, 0, SEEK_END) == 0);
    long len = ftell(f);
    rewind(f);
    unsigned char *file = malloc((size_t)len);
    REQUIRE(file && fread(file, 1, (size_t)len, f) == (size_t)len);
    fclose(f);
    if (len > 8 && file[8] == 1) {
        unsigned char *v2 = upgrade_v1(file, &len);
        free(file);
        file = v2;
    }
    char err[256];
    size_t size;
    unsigned char *image = model_serialize(m, &size, err, sizeof err);
    REQUIRE(image);
    CHECK(size == (size_t)len && !memcmp(image, file, size));
    free(image);
    free(file);
}

/* The path a fresh int8 kernel would take now ("avx2", "neon", "portable"). */
static const char *path_selected(const model_t *q)
{
    gru_q8_t *g = gru_q8_create(&q->layers[0], 1, 1);
    REQUIRE(g);
    const char *path = gru_q8_path(g);
    gru_q8_destroy(g);
    return path;
}

/* Whether a fresh float kernel would take a vector path now. */
static int f32_simd_selected(const model_t *m)
{
    gru_f32_t *g = gru_f32_create(&m->layers[0], 1);
    REQUIRE(g);
    int simd = gru_f32_uses_simd(g);
    gru_f32_destroy(g);
    return simd;
}

static void run_case(const char *name)
{
    char path[1024], err[256];
    path_of(path, sizeof path, name, ".gmdl");
    model_t *m = model_load_file(path, err, sizeof err);
    if (!m) fprintf(stderr, "%s\n", err);
    REQUIRE(m);
    check_bytes_round_trip(m, path);
    reference r = read_reference(name);
    REQUIRE(r.n_labels == m->n_labels && r.n_inputs == m->n_inputs);
    size_t n_probs = (size_t)r.n_windows * r.n_labels;
    float *p_f32 = malloc(n_probs * sizeof(float)), *p_avx2 = malloc(n_probs * sizeof(float));
    float *p_c = malloc(n_probs * sizeof(float));
    REQUIRE(p_f32 && p_avx2 && p_c);

    /* Float: the vector kernel where the CPU has one, and the portable C. */
    unsetenv("GENRED_NO_SIMD");
    int f32_simd = f32_simd_selected(m);
    CHECK(f32_simd == (simd_level_get() != SIMD_PORTABLE));
    double e_f32 = max_error(m, &r, p_f32);
    CHECK(e_f32 <= 1e-5);
    setenv("GENRED_NO_SIMD", "1", 1);
    CHECK(!f32_simd_selected(m));
    double e_f32_c = max_error(m, &r, p_c);
    CHECK(e_f32_c <= 1e-5);
    unsetenv("GENRED_NO_SIMD");

    model_t *q = model_quantize(m, err, sizeof err);
    REQUIRE(q);
    unsetenv("GENRED_NO_SIMD");
    const char *simd = path_selected(q);
    double e_avx2 = max_error(q, &r, p_avx2);
    setenv("GENRED_NO_SIMD", "1", 1);
    CHECK(!strcmp(path_selected(q), "c"));
    double e_c = max_error(q, &r, p_c);
    unsetenv("GENRED_NO_SIMD");
    CHECK(e_avx2 <= 0.02);
    CHECK(e_c <= 0.02);
    /* Same integer sums on both paths; only float rounding differs (FMA), but
     * that can move a state value across a quantisation step, so allow some. */
    double e_paths = 0;
    for (size_t i = 0; i < n_probs; i++)
        e_paths = fmax(e_paths, fabs(p_avx2[i] - p_c[i]));
    CHECK(e_paths <= 5e-3);
    /* NEON does the portable path's float operations in its order. */
    if (!strcmp(simd, "neon")) CHECK(e_paths == 0);
    printf("%-14s float %s %.2e  portable %.2e  int8 %s %.2e  portable %.2e  paths %.1e\n", name,
           f32_simd ? simd_level_name(simd_level_get()) : "(no simd)", e_f32, e_f32_c, simd, e_avx2,
           e_c, e_paths);

    model_destroy(q);
    model_destroy(m);
    free(p_f32);
    free(p_avx2);
    free(p_c);
    free(r.windows);
    free(r.probs);
}

/* The importer's --quantize must give exactly model_quantize()'s weights. */
static void check_importer_quantization(void)
{
    char path[1024], err[256];
    path_of(path, sizeof path, "h32_1l_last", ".gmdl");
    model_t *m = model_load_file(path, err, sizeof err);
    path_of(path, sizeof path, "h32_1l_last_q8", ".gmdl");
    model_t *imported = model_load_file(path, err, sizeof err);
    REQUIRE(m && imported);
    check_bytes_round_trip(imported, path);
    model_t *q = model_quantize(m, err, sizeof err);
    REQUIRE(q);
    for (uint32_t i = 0; i < q->n_layers; i++) {
        const model_gru_layer *a = &q->layers[i], *b = &imported->layers[i];
        size_t g = 3 * (size_t)a->hidden;
        REQUIRE(b->weights == MODEL_WEIGHTS_Q8 && b->hidden == a->hidden);
        CHECK(!memcmp(a->q_ih, b->q_ih, g * a->input));
        CHECK(!memcmp(a->q_hh, b->q_hh, g * a->hidden));
        CHECK(!memcmp(a->s_ih, b->s_ih, g * sizeof(float)));
        CHECK(!memcmp(a->s_hh, b->s_hh, g * sizeof(float)));
    }
    model_destroy(q);
    model_destroy(m);
    model_destroy(imported);
}

int main(void)
{
    const char *cases[] = {"h32_1l_last", "h32_2l_mean", "h128_1l_mean", "h128_2l_last"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        run_case(cases[i]);
    check_importer_quantization();
    return check_report("test_gru_reference");
}
