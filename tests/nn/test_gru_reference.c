/* GRU kernels against PyTorch: float within 1e-5 of nn.GRU + Linear +
 * softmax (float64), int8 within 0.02, each on the table of every level
 * this CPU runs (dsp/simd.h), portable C included.
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

/* Largest |p - reference| over every window and label, on the kernels of
 * `level`. */
static double max_error(const model_t *m, simd_level level, const reference *r, float *out_probs)
{
    char err[256];
    classifier_t *c = classifier_create_at(m, r->n_frames, level, err, sizeof err);
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

/* The importer (version 1 files) and model_serialize_version write the
 * same model: serialize(load(x)) == x in x's version. */
static void check_bytes_round_trip(const model_t *m, const char *path)
{
    FILE *f = fopen(path, "rb");
    REQUIRE(f);
    REQUIRE(fseek(f, 0, SEEK_END) == 0);
    long len = ftell(f);
    rewind(f);
    unsigned char *file = malloc((size_t)len);
    REQUIRE(file && len > 12 && fread(file, 1, (size_t)len, f) == (size_t)len);
    fclose(f);
    char err[256];
    size_t size;
    unsigned char *image = model_serialize_version(m, file[8], &size, err, sizeof err);
    if (!image) fprintf(stderr, "%s\n", err);
    REQUIRE(image);
    CHECK(size == (size_t)len && !memcmp(image, file, size));
    free(image);
    free(file);
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
    model_t *q = model_quantize(m, err, sizeof err);
    REQUIRE(q);
    size_t n_probs = (size_t)r.n_windows * r.n_labels;
    float *p_f32 = malloc(n_probs * sizeof(float)), *p_q8 = malloc(n_probs * sizeof(float));
    float *p_c = malloc(n_probs * sizeof(float));
    REQUIRE(p_f32 && p_q8 && p_c);
    for (simd_level l = SIMD_PORTABLE; l <= SIMD_LEVEL_LAST; l++) {
        if (!simd_level_supported(l)) continue;
        const char *f32 = gru_f32_ops_for(l)->name, *q8 = gru_q8_ops_for(l)->name;
        /* Each level its own table, or the one below where it adds nothing. */
        CHECK(!strcmp(f32, "portable") == (l == SIMD_PORTABLE));
        CHECK(!strcmp(q8, "portable") == (l == SIMD_PORTABLE));
        double e_f32 = max_error(m, l, &r, p_f32), e_q8 = max_error(q, l, &r, p_q8);
        CHECK(e_f32 <= 1e-5);
        CHECK(e_q8 <= 0.02);
        if (l == SIMD_PORTABLE) memcpy(p_c, p_q8, n_probs * sizeof(float));
        /* The same integer sums on every table; only float rounding differs
         * (FMA), but that can move a state value across a quantisation
         * step, so allow some. NEON does the portable float operations in
         * their order. */
        double e_paths = 0;
        for (size_t i = 0; i < n_probs; i++)
            e_paths = fmax(e_paths, fabs(p_q8[i] - p_c[i]));
        CHECK(e_paths <= 5e-3);
        if (!strcmp(q8, "neon")) CHECK(e_paths == 0);
        printf("%-14s level %-10s float %-8s %.2e  int8 %-10s %.2e  vs portable %.1e\n", name,
               simd_level_name(l), f32, e_f32, q8, e_q8, e_paths);
    }
    model_destroy(q);
    model_destroy(m);
    free(p_f32);
    free(p_q8);
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
        const model_layer *a = &q->layers[i], *b = &imported->layers[i];
        size_t g = model_layer_rows(a);
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
