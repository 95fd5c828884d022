/* gru_q8: the SIMD path this CPU takes (NEON on AArch64, AVX2 or AVX-512
 * VNNI on x86-64) against the portable path, on shapes that leave every
 * vector loop a tail, on rounding ties, and on NaN and huge inputs (not Inf:
 * the scale max|x|/127 is then Inf on every path, and the front-end never
 * gives one). NEON must give the portable states bit for bit. The x86 paths
 * have the same integer sums but fused multiply-adds, so after one frame
 * their states agree within float rounding (later frames may then quantise a
 * state one step apart). */
#include "check.h"
#include "gru_q8.h"
#include "model.h"

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
    model_gru_layer *l = &f->layers[0];
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

/* States after each frame on the portable path (no_simd) or the chosen one. */
static const char *run(const model_gru_layer *l, const float *x, int no_simd, float *h)
{
    if (no_simd)
        setenv("GENRED_NO_SIMD", "1", 1);
    else
        unsetenv("GENRED_NO_SIMD");
    gru_q8_t *g = gru_q8_create(l, FRAMES, 1);
    REQUIRE(g);
    const char *path = gru_q8_path(g);
    gru_q8_process(g, x, FRAMES, h);
    gru_q8_destroy(g);
    unsetenv("GENRED_NO_SIMD");
    return path;
}

static void check_shape(uint32_t coeffs, uint32_t deltas, uint32_t hidden)
{
    model_t *q = random_q8(coeffs, deltas, hidden);
    const model_gru_layer *l = &q->layers[0];
    float *x = malloc(FRAMES * l->input * sizeof *x);
    float *h_simd = malloc(FRAMES * hidden * sizeof(float));
    float *h_c = malloc(FRAMES * hidden * sizeof(float));
    REQUIRE(x && h_simd && h_c);
    fill_input(x, l->input);
    const char *path = run(l, x, 0, h_simd);
    CHECK(!strcmp(run(l, x, 1, h_c), "c"));
    double first = 0, all = 0;
    int finite = 1;
    for (unsigned i = 0; i < FRAMES * hidden; i++) {
        double d = fabs((double)h_simd[i] - h_c[i]);
        if (i < hidden && d > first) first = d;
        if (d > all) all = d;
        finite &= isfinite(h_c[i]);
    }
    CHECK(finite);
    if (!strcmp(path, "neon")) CHECK(!memcmp(h_simd, h_c, FRAMES * hidden * sizeof(float)));
    if (!strncmp(path, "avx", 3)) CHECK(first <= 1e-6);
    printf("input %2u hidden %3u  %-8s first frame %.1e  all frames %.1e\n", l->input, hidden, path,
           first, all);
    free(x);
    free(h_simd);
    free(h_c);
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
