/* gru_q8: the table of every level this CPU runs (NEON on AArch64; AVX2,
 * and AVX-512 VNNI where the CPU has it, on x86-64) against the portable
 * table, on shapes that leave every vector loop a tail, on rounding ties,
 * and on NaN and huge inputs (not Inf: the scale max|x|/127 is then Inf on
 * every path, and the front-end never gives one). NEON must give the
 * portable states bit for bit, and VNNI AVX2's. The x86 tables have the
 * same integer sums but fused multiply-adds, so after one frame their
 * states agree with the portable ones within float rounding (later frames
 * may then quantise a state one step apart). */
#include "check.h"
#include "gru_layer.h"
#include "gru_q8.h"
#include "model.h"
#include "simd.h"

#include <string.h>

#define FRAMES 24

static uint32_t rng = 7;

static float rnd(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / 8388608.0f - 1.0f;
}

/* A one-layer int8 model with random weights and biases. */
static model_t *random_q8(uint32_t coeffs, uint32_t deltas, uint32_t hidden)
{
    frontend_params fe = {{22050, 2048, 512, 128, coeffs, 0, 11025}, 3.0};
    char err[256];
    model_t *f = model_create(&fe, 1, hidden, 2, MODEL_POOL_LAST, deltas, err, sizeof err);
    if (!f) fprintf(stderr, "%s\n", err);
    REQUIRE(f);
    model_layer *l = &f->layers[0];
    size_t g = 3 * (size_t)hidden;
    for (size_t k = 0; k < g * l->input; k++)
        l->w_ih[k] = rnd() * 0.5f;
    for (size_t k = 0; k < g * hidden; k++)
        l->w_hh[k] = rnd() * 0.5f;
    for (size_t k = 0; k < g; k++) {
        l->b_ih[k] = rnd() * 0.2f;
        l->b_hh[k] = rnd() * 0.2f;
    }
    model_t *q = model_quantize(f, err, sizeof err);
    REQUIRE(q);
    model_destroy(f);
    return q;
}

/* Frames of random values, then one whose maximum is 127 so that halves are
 * exact ties (2.5 -> 2, -3.5 -> -4), then NaNs and 1e30 among normal
 * values, then silence. */
static void fill_input(float *x, unsigned input)
{
    for (unsigned i = 0; i < FRAMES * input; i++)
        x[i] = rnd() * 3;
    float *ties = x + 4 * input;
    const float tie_values[] = {127, 2.5f, -3.5f, 0.5f, -0.5f, 126.5f, -126.5f};
    for (unsigned i = 0; i < input; i++)
        ties[i] = tie_values[i % 7];
    float *odd = x + 9 * input;
    odd[0] = NAN;
    odd[input - 1] = NAN;
    x[10 * input + input / 3] = 1e30f;
    x[11 * input] = NAN;
    memset(x + 12 * input, 0, input * sizeof *x);
}

/* States after each frame on the kernels of `level`; the table's name. */
static const char *run(const model_layer *l, const float *x, simd_level level, float *h)
{
    gru_layer_t *g = gru_layer_create_at(l, FRAMES, 1, level);
    REQUIRE(g);
    const char *isa = gru_layer_isa(g);
    CHECK(!strcmp(gru_layer_kernel(g), "gru int8") && !strcmp(isa, gru_q8_ops_for(level)->name));
    gru_layer_process(g, x, FRAMES, h);
    gru_layer_destroy(g);
    return isa;
}

/* The largest |a - b| over the first frame's states and over all of them. */
static void differences(const float *a, const float *b, unsigned hidden, double *first, double *all)
{
    *first = *all = 0;
    for (unsigned i = 0; i < FRAMES * hidden; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (i < hidden && d > *first) *first = d;
        if (d > *all) *all = d;
    }
}

static void check_shape(uint32_t coeffs, uint32_t deltas, uint32_t hidden)
{
    model_t *q = random_q8(coeffs, deltas, hidden);
    const model_layer *l = &q->layers[0];
    size_t states = FRAMES * hidden * sizeof(float);
    float *x = malloc(FRAMES * l->input * sizeof *x);
    float *h_c = malloc(states), *h = malloc(states), *h_avx2 = calloc(1, states);
    REQUIRE(x && h_c && h && h_avx2);
    fill_input(x, l->input);
    CHECK(!strcmp(run(l, x, SIMD_PORTABLE, h_c), "portable"));
    int finite = 1;
    for (unsigned i = 0; i < FRAMES * hidden; i++)
        finite &= isfinite(h_c[i]);
    CHECK(finite);
    for (simd_level level = SIMD_PORTABLE + 1; level <= SIMD_LEVEL_LAST; level++) {
        if (!simd_level_supported(level)) continue;
        const char *path = run(l, x, level, h);
        double first, all;
        differences(h, h_c, hidden, &first, &all);
        if (!strcmp(path, "neon")) CHECK(!memcmp(h, h_c, states));
        if (!strncmp(path, "avx", 3)) CHECK(first <= 1e-6);
        if (!strcmp(path, "avx2")) memcpy(h_avx2, h, states);
        if (!strcmp(path, "avx512vnni")) CHECK(!memcmp(h, h_avx2, states));
        printf("input %2u hidden %3u  level %-10s table %-10s first frame %.1e  all %.1e\n",
               l->input, hidden, simd_level_name(level), path, first, all);
    }
    free(x);
    free(h_c);
    free(h);
    free(h_avx2);
    model_destroy(q);
}

int main(void)
{
    /* The shipped model (20 MFCCs + deltas, 128 hidden), and odd sizes. */
    check_shape(20, 1, 128);
    check_shape(20, 0, 64);
    check_shape(13, 0, 7);
    check_shape(3, 1, 5);
    check_shape(37, 0, 33);
    return check_report("test_gru_q8_paths");
}
