/* gru_q8: the int8 GRU kernel of gru_q8.h: the portable table, the choice
 * of table, and the kernel's state. The vector tables are in gru_q8_avx.c
 * and gru_q8_neon.c. */
#include "gru_q8.h"

#include "gru_q8_isa.h"

#include <stdlib.h>
#include <string.h>

/* Rows are padded with zeros to whole 32-byte vectors. */
static unsigned pad32(unsigned n)
{
    return (n + 31) & ~31u;
}

/* ---- portable ---- */

static float quantize_c(const float *x, unsigned n, int8_t *q)
{
    float max = 0;
    for (unsigned i = 0; i < n; i++)
        max = fmaxf(max, fabsf(x[i]));
    if (!(max > 0)) {
        memset(q, 0, n);
        return 0;
    }
    float inv = 127.0f / max;
    for (unsigned i = 0; i < n; i++)
        q[i] = q8_quantize_one(x[i] * inv);
    return max / 127.0f;
}

static void matmul_c(const int8_t *w, const int32_t *row_sum, unsigned rows, unsigned cols_pad,
                     const int8_t *q, unsigned n, const float *q_scale, const float *row_scale,
                     const float *bias, float *y)
{
    (void)row_sum;
    /* Rows outermost: each row is read from memory once for all vectors. */
    for (unsigned r = 0; r < rows; r++) {
        const int8_t *row = w + (size_t)r * cols_pad;
        for (unsigned k = 0; k < n; k++) {
            int32_t acc = q8_dot(row, q + (size_t)k * cols_pad, cols_pad);
            y[(size_t)k * rows + r] = (float)acc * (row_scale[r] * q_scale[k]) + bias[r];
        }
    }
}

static void gates_c(const float *xg, const float *hg, float *h, unsigned H)
{
    for (unsigned j = 0; j < H; j++)
        gru_gate_one(xg, hg, h, H, j);
}

const gru_q8_ops gru_q8_ops_portable = {"portable", quantize_c, matmul_c, gates_c};

/* ---- choice ---- */

const gru_q8_ops *gru_q8_ops_for(simd_level level)
{
    switch (simd_level_best(level)) {
#ifdef SIMD_ARCH_X86
    case SIMD_AVX512VNNI:
        return &gru_q8_ops_avx512vnni;
    case SIMD_AVX512: /* nothing without VNNI's dot products: AVX2's table */
    case SIMD_AVX2:
        return &gru_q8_ops_avx2;
#endif
#ifdef SIMD_ARCH_ARM64
    case SIMD_NEON:
        return &gru_q8_ops_neon;
#endif
    default:
        return &gru_q8_ops_portable;
    }
}

const gru_q8_ops *gru_q8_ops_get(void)
{
    return gru_q8_ops_for(simd_level_get());
}

/* ---- the kernel ---- */

/* Copies rows x cols into rows x cols_pad, zero filled. */
static int8_t *pad_rows(const int8_t *w, unsigned rows, unsigned cols, unsigned cols_pad)
{
    int8_t *p = calloc((size_t)rows * cols_pad, 1);
    if (p)
        for (unsigned r = 0; r < rows; r++)
            memcpy(p + (size_t)r * cols_pad, w + (size_t)r * cols, cols);
    return p;
}

static int32_t *row_sums(const int8_t *w, unsigned rows, unsigned cols)
{
    int32_t *s = calloc(rows, sizeof *s);
    if (s)
        for (size_t i = 0; i < (size_t)rows * cols; i++)
            s[i / cols] += w[i];
    return s;
}

typedef struct {
    const model_layer *l;
    const gru_q8_ops *ops;
    unsigned max_frames, max_states, in_pad, h_pad;
    int8_t *w_ih, *w_hh;      /* 3H x in_pad, 3H x h_pad */
    int32_t *sum_ih, *sum_hh; /* their row sums */
    int8_t *qx, *qh; /* quantised inputs (max_frames x in_pad), states (max_states x h_pad) */
    float *sx, *sh;  /* their scales */
    float *hg;       /* max_states x 3H */
} gru_q8;

static void destroy(void *kernel)
{
    gru_q8 *g = kernel;
    if (!g) return;
    free(g->w_ih);
    free(g->w_hh);
    free(g->sum_ih);
    free(g->sum_hh);
    free(g->qx);
    free(g->qh);
    free(g->sx);
    free(g->sh);
    free(g->hg);
    free(g);
}

static void *create(const model_layer *layer, unsigned max_frames, unsigned max_states,
                    simd_level level)
{
    gru_q8 *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    unsigned H = layer->hidden, G = 3 * H;
    g->l = layer;
    g->ops = gru_q8_ops_for(level);
    g->max_frames = max_frames;
    g->max_states = max_states;
    g->in_pad = pad32(layer->input);
    g->h_pad = pad32(H);
    g->w_ih = pad_rows(layer->q_ih, G, layer->input, g->in_pad);
    g->w_hh = pad_rows(layer->q_hh, G, H, g->h_pad);
    g->sum_ih = row_sums(layer->q_ih, G, layer->input);
    g->sum_hh = row_sums(layer->q_hh, G, H);
    g->qx = calloc((size_t)max_frames * g->in_pad, 1);
    g->qh = calloc((size_t)max_states * g->h_pad, 1);
    g->sx = malloc(max_frames * sizeof(float));
    g->sh = malloc(max_states * sizeof(float));
    g->hg = malloc((size_t)max_states * G * sizeof(float));
    if (!g->w_ih || !g->w_hh || !g->sum_ih || !g->sum_hh || !g->qx || !g->qh || !g->sx || !g->sh ||
        !g->hg) {
        destroy(g);
        return NULL;
    }
    return g;
}

static void project(void *kernel, const float *x, unsigned n, float *xg)
{
    gru_q8 *g = kernel;
    const model_layer *l = g->l;
    if (n > g->max_frames) n = g->max_frames;
    for (unsigned k = 0; k < n; k++)
        g->sx[k] =
            g->ops->quantize(x + (size_t)k * l->input, l->input, g->qx + (size_t)k * g->in_pad);
    g->ops->matmul(g->w_ih, g->sum_ih, 3 * l->hidden, g->in_pad, g->qx, n, g->sx, l->s_ih, l->b_ih,
                   xg);
}

static void step(void *kernel, const float *const *xg, float *const *h, unsigned n)
{
    gru_q8 *g = kernel;
    const model_layer *l = g->l;
    unsigned H = l->hidden, G = 3 * H;
    if (n > g->max_states) n = g->max_states;
    for (unsigned k = 0; k < n; k++)
        g->sh[k] = g->ops->quantize(h[k], H, g->qh + (size_t)k * g->h_pad);
    g->ops->matmul(g->w_hh, g->sum_hh, G, g->h_pad, g->qh, n, g->sh, l->s_hh, l->b_hh, g->hg);
    for (unsigned k = 0; k < n; k++)
        g->ops->gates(xg[k], g->hg + (size_t)k * G, h[k], H);
}

static const char *isa(const void *kernel)
{
    return ((const gru_q8 *)kernel)->ops->name;
}

const gru_kernel_ops gru_q8_kernel = {"gru int8", create, destroy, project, step, isa};
