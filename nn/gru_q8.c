/* gru_q8: the portable kernel path, the choice of path and the layer API.
 * The x86 paths are in gru_q8_x86.c. */
#include "gru_q8.h"

#include "gru_q8_ops.h"
#include "simd.h"

#include <stdlib.h>
#include <string.h>

/* Rows are padded with zeros to whole 32-byte vectors. */
static unsigned pad32(unsigned n)
{
    return (n + 31) & ~31u;
}

struct gru_q8 {
    const model_gru_layer *l;
    const q8_ops *ops;
    unsigned max_frames, max_states, in_pad, h_pad;
    int8_t *w_ih, *w_hh;      /* 3H x in_pad, 3H x h_pad */
    int32_t *sum_ih, *sum_hh; /* their row sums */
    int8_t *qx, *qh; /* quantised inputs (max_frames x in_pad), states (max_states x h_pad) */
    float *sx, *sh;  /* their scales */
    float *xg;       /* max_frames x 3H: process's input projections */
    float *hg;       /* max_states x 3H */
    float *h;        /* H: process's state */
};

/* ---- portable path ---- */

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

const q8_ops q8_ops_c = {"c", quantize_c, matmul_c, gates_c};

/* ---- choice ---- */

/* The path for the level dsp/simd.h picks (GENRED_SIMD=avx2 keeps an
 * AVX-512 CPU off VNNI, GENRED_NO_SIMD=1 on the portable path). */
static const q8_ops *choose_ops(void)
{
    switch (simd_level_get()) {
#ifdef GRU_Q8_X86
    case SIMD_AVX512VNNI:
    case SIMD_AVX512:
        return q8_vnni_usable() ? &q8_ops_avx512vnni : &q8_ops_avx2;
    case SIMD_AVX2:
        return &q8_ops_avx2;
#endif
#ifdef GRU_Q8_NEON
    case SIMD_NEON:
        return &q8_ops_neon;
#endif
    default:
        return &q8_ops_c;
    }
}

/* ---- the layer ---- */

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

gru_q8_t *gru_q8_create(const model_gru_layer *layer, unsigned max_frames, unsigned max_states)
{
    if (!layer || layer->weights != MODEL_WEIGHTS_Q8 || !max_frames || !max_states) return NULL;
    gru_q8_t *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    unsigned H = layer->hidden, G = 3 * H;
    g->l = layer;
    g->ops = choose_ops();
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
    g->xg = malloc((size_t)max_frames * G * sizeof(float));
    g->hg = malloc((size_t)max_states * G * sizeof(float));
    g->h = malloc(H * sizeof(float));
    if (!g->w_ih || !g->w_hh || !g->sum_ih || !g->sum_hh || !g->qx || !g->qh || !g->sx || !g->sh ||
        !g->xg || !g->hg || !g->h) {
        gru_q8_destroy(g);
        return NULL;
    }
    return g;
}

void gru_q8_destroy(gru_q8_t *g)
{
    if (!g) return;
    free(g->w_ih);
    free(g->w_hh);
    free(g->sum_ih);
    free(g->sum_hh);
    free(g->qx);
    free(g->qh);
    free(g->sx);
    free(g->sh);
    free(g->xg);
    free(g->hg);
    free(g->h);
    free(g);
}

const char *gru_q8_path(const gru_q8_t *g)
{
    return g->ops->name;
}

int gru_q8_uses_avx2(const gru_q8_t *g)
{
    return g->ops != &q8_ops_c;
}

void gru_q8_project(gru_q8_t *g, const float *x, unsigned n, float *xg)
{
    const model_gru_layer *l = g->l;
    if (n > g->max_frames) n = g->max_frames;
    for (unsigned k = 0; k < n; k++)
        g->sx[k] =
            g->ops->quantize(x + (size_t)k * l->input, l->input, g->qx + (size_t)k * g->in_pad);
    g->ops->matmul(g->w_ih, g->sum_ih, 3 * l->hidden, g->in_pad, g->qx, n, g->sx, l->s_ih, l->b_ih,
                   xg);
}

void gru_q8_step(gru_q8_t *g, const float *const *xg, float *const *h, unsigned n)
{
    const model_gru_layer *l = g->l;
    unsigned H = l->hidden, G = 3 * H;
    if (n > g->max_states) n = g->max_states;
    for (unsigned k = 0; k < n; k++)
        g->sh[k] = g->ops->quantize(h[k], H, g->qh + (size_t)k * g->h_pad);
    g->ops->matmul(g->w_hh, g->sum_hh, G, g->h_pad, g->qh, n, g->sh, l->s_hh, l->b_hh, g->hg);
    for (unsigned k = 0; k < n; k++)
        g->ops->gates(xg[k], g->hg + (size_t)k * G, h[k], H);
}

void gru_q8_process(gru_q8_t *g, const float *x, unsigned n, float *h_seq)
{
    unsigned H = g->l->hidden, G = 3 * H;
    if (n > g->max_frames) n = g->max_frames;
    gru_q8_project(g, x, n, g->xg);
    memset(g->h, 0, H * sizeof(float));
    float *const h[1] = {g->h};
    for (unsigned t = 0; t < n; t++) {
        const float *const xg[1] = {g->xg + (size_t)t * G};
        gru_q8_step(g, xg, h, 1);
        memcpy(h_seq + (size_t)t * H, g->h, H * sizeof(float));
    }
}
