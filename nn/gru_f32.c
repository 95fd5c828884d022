/* gru_f32: the float GRU kernel of gru_f32.h: the portable table (libm's
 * expf/tanhf, the reference), the choice of table, and the kernel's state.
 * Portable C multiplies row-major with eight partial sums; the vector
 * tables (gru_f32_avx.c, gru_f32_neon.c) pack the weights column-major. */
#include "gru_f32.h"

#include "gru_f32_isa.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- portable ---- */

/* Eight partial sums break the add latency chain (and let the compiler use
 * vector registers) without depending on -ffast-math. */
static void matvec_c(const float *w, const float *b, unsigned rows_pad, unsigned rows,
                     unsigned cols, const float *x, float *y)
{
    enum { LANES = 8 };
    (void)rows_pad; /* row-major: row r starts at r * cols either way */
    for (unsigned r = 0; r < rows; r++) {
        const float *row = w + (size_t)r * cols;
        float part[LANES] = {0};
        unsigned c = 0;
        for (; c + LANES <= cols; c += LANES)
            for (unsigned k = 0; k < LANES; k++)
                part[k] += row[c + k] * x[c + k];
        float acc = 0;
        for (; c < cols; c++)
            acc += row[c] * x[c];
        for (unsigned k = 0; k < LANES; k++)
            acc += part[k];
        y[r] = acc + b[r];
    }
}

static float sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

static void gates_c(const float *xg, const float *hg, float *h, unsigned H)
{
    for (unsigned j = 0; j < H; j++) {
        float r = sigmoid(xg[j] + hg[j]);
        float z = sigmoid(xg[H + j] + hg[H + j]);
        float c = tanhf(xg[2 * H + j] + r * hg[2 * H + j]);
        h[j] = (1 - z) * c + z * h[j];
    }
}

static void pack_rows(const float *w, unsigned rows, unsigned cols, float *out)
{
    memcpy(out, w, (size_t)rows * cols * sizeof *out);
}

const gru_f32_ops gru_f32_ops_portable = {"portable", matvec_c, gates_c, pack_rows};

void gru_f32_pack_cols(const float *w, unsigned rows, unsigned cols, float *out)
{
    unsigned rows_pad = (rows + GRU_F32_ROW_PAD - 1) / GRU_F32_ROW_PAD * GRU_F32_ROW_PAD;
    for (unsigned r = 0; r < rows; r++)
        for (unsigned c = 0; c < cols; c++)
            out[(size_t)c * rows_pad + r] = w[(size_t)r * cols + c];
}

/* ---- choice ---- */

const gru_f32_ops *gru_f32_ops_for(simd_level level)
{
    switch (simd_level_best(level)) {
#ifdef SIMD_ARCH_X86
    case SIMD_AVX512VNNI: /* no integer dot products here: AVX-512's table */
    case SIMD_AVX512:
        return &gru_f32_ops_avx512;
    case SIMD_AVX2:
        return &gru_f32_ops_avx2;
#endif
#ifdef SIMD_ARCH_ARM64
    case SIMD_NEON:
        return &gru_f32_ops_neon;
#endif
    default:
        return &gru_f32_ops_portable;
    }
}

const gru_f32_ops *gru_f32_ops_get(void)
{
    return gru_f32_ops_for(simd_level_get());
}

/* ---- the kernel ---- */

typedef struct {
    const model_layer *l;
    const gru_f32_ops *ops;
    unsigned g_pad;     /* 3H rounded up to GRU_F32_ROW_PAD */
    float *w_ih, *w_hh; /* packed, g_pad rows */
    float *b_ih, *b_hh; /* g_pad, zero padded */
    float *hg;          /* g_pad: W_hh h + b_hh */
} gru_f32;

static float *packed(const gru_f32_ops *ops, const float *w, unsigned rows, unsigned rows_pad,
                     unsigned cols)
{
    float *out = calloc((size_t)rows_pad * cols, sizeof *out);
    if (out) ops->pack(w, rows, cols, out);
    return out;
}

static float *padded(const float *b, unsigned n, unsigned n_pad)
{
    float *out = calloc(n_pad, sizeof *out);
    if (out) memcpy(out, b, n * sizeof *out);
    return out;
}

static void destroy(void *kernel)
{
    gru_f32 *g = kernel;
    if (!g) return;
    free(g->w_ih);
    free(g->w_hh);
    free(g->b_ih);
    free(g->b_hh);
    free(g->hg);
    free(g);
}

/* The states are advanced one after another, so neither bound sizes anything. */
static void *create(const model_layer *layer, unsigned max_frames, unsigned max_states,
                    simd_level level)
{
    (void)max_frames, (void)max_states;
    gru_f32 *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    unsigned H = layer->hidden, G = 3 * H;
    g->l = layer;
    g->ops = gru_f32_ops_for(level);
    g->g_pad = (G + GRU_F32_ROW_PAD - 1) / GRU_F32_ROW_PAD * GRU_F32_ROW_PAD;
    g->w_ih = packed(g->ops, layer->w_ih, G, g->g_pad, layer->input);
    g->w_hh = packed(g->ops, layer->w_hh, G, g->g_pad, H);
    g->b_ih = padded(layer->b_ih, G, g->g_pad);
    g->b_hh = padded(layer->b_hh, G, g->g_pad);
    g->hg = malloc(g->g_pad * sizeof(float));
    if (!g->w_ih || !g->w_hh || !g->b_ih || !g->b_hh || !g->hg) {
        destroy(g);
        return NULL;
    }
    return g;
}

static void project(void *kernel, const float *x, unsigned n, float *xg)
{
    const gru_f32 *g = kernel;
    const model_layer *l = g->l;
    unsigned G = 3 * l->hidden;
    for (unsigned k = 0; k < n; k++)
        g->ops->matvec(g->w_ih, g->b_ih, g->g_pad, G, l->input, x + (size_t)k * l->input,
                       xg + (size_t)k * G);
}

static void step(void *kernel, const float *const *xg, float *const *h, unsigned n)
{
    gru_f32 *g = kernel;
    unsigned H = g->l->hidden;
    for (unsigned k = 0; k < n; k++) {
        g->ops->matvec(g->w_hh, g->b_hh, g->g_pad, g->g_pad, H, h[k], g->hg);
        g->ops->gates(xg[k], g->hg, h[k], H);
    }
}

static const char *isa(const void *kernel)
{
    return ((const gru_f32 *)kernel)->ops->name;
}

const gru_kernel_ops gru_f32_kernel = {"gru f32", create, destroy, project, step, isa};
