/* gru_f32: the float GRU layer of gru_f32.h, with one table of kernels per
 * instruction set (dsp/simd.h), picked at create time.
 *
 * Portable C: row-major matrix-vector products with eight partial sums and
 * libm's expf/tanhf, the reference. AVX2+FMA: the weights repacked at
 * create time column-major (3H rows padded to whole vectors), so that one
 * broadcast input value feeds eight FMAs into eight row accumulators and
 * every weight is loaded once per frame, with no horizontal sums; gates
 * with tanh_fast's rational tanh on eight lanes (gru_gates.h). AVX-512:
 * the same product on 16 lanes, AVX2's gates. NEON (AArch64): the same
 * product on 4 lanes, gates four at a time (gru_gates.h). */
#include "gru_f32.h"

#include "simd.h"
#include "gru_gates.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The rows of a matrix-vector product, padded to a multiple of ROW_PAD
 * (whole AVX-512 vectors; the padding rows are zero weights and bias). */
#define ROW_PAD 16

typedef struct {
    /* y[r] = b[r] + sum_c w[r][c] x[c] for r < rows (w as the table packed
     * it, rows_pad rows); nothing is written past y[rows - 1] */
    void (*matvec)(const float *w, const float *b, unsigned rows_pad, unsigned rows, unsigned cols,
                   const float *x, float *y);
    /* h = GRU update of h from xg = W_ih x + b_ih and hg = W_hh h + b_hh */
    void (*gates)(const float *xg, const float *hg, float *h, unsigned hidden);
    /* w (rows x cols, row-major) into this table's layout, rows padded */
    void (*pack)(const float *w, unsigned rows, unsigned cols, float *out);
} f32_ops;

struct gru_f32 {
    const model_gru_layer *l;
    const f32_ops *ops;
    unsigned max_frames, g_pad; /* g_pad: 3H rounded up to ROW_PAD */
    float *w_ih, *w_hh;         /* packed, g_pad rows */
    float *b_ih, *b_hh;         /* g_pad, zero padded */
    float *xg;                  /* max_frames x 3H: W_ih x + b_ih for every frame */
    float *hg;                  /* g_pad: W_hh h + b_hh */
    float *h;                   /* H */
};

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

static const f32_ops ops_c = {matvec_c, gates_c, pack_rows};

#if defined(TANH_AVX2) || defined(__aarch64__)
/* Column-major, rows padded: out[c * rows_pad + r] = w[r][c]. */
static void pack_cols(const float *w, unsigned rows, unsigned cols, float *out)
{
    unsigned rows_pad = (rows + ROW_PAD - 1) / ROW_PAD * ROW_PAD;
    for (unsigned r = 0; r < rows; r++)
        for (unsigned c = 0; c < cols; c++)
            out[(size_t)c * rows_pad + r] = w[(size_t)r * cols + c];
}
#endif

/* ---- AVX2 + FMA ---- */

#ifdef TANH_AVX2
#define AVX2 TANH_AVX2

/* y[r .. r + 8) = v, as far as r < rows. */
AVX2 static inline void store8(float *y, __m256 v, unsigned r, unsigned rows)
{
    if (r + 8 <= rows)
        _mm256_storeu_ps(y + r, v);
    else if (r < rows)
        _mm256_maskstore_ps(y + r,
                            _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(rows - r)),
                                               _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)),
                            v);
}

/* NV x 8 rows from row r0: NV independent FMA chains, one broadcast of
 * x[c] per column. Inlined with NV constant, so acc stays in registers. */
__attribute__((always_inline)) AVX2 static inline void
rows_avx2(const float *w, const float *b, unsigned stride, unsigned r0, unsigned rows,
          unsigned cols, const float *x, float *y, const unsigned NV)
{
    __m256 acc[8];
    for (unsigned k = 0; k < NV; k++)
        acc[k] = _mm256_loadu_ps(b + r0 + 8 * k);
    for (unsigned c = 0; c < cols; c++) {
        const float *col = w + (size_t)c * stride + r0;
        __m256 xc = _mm256_broadcast_ss(x + c);
        for (unsigned k = 0; k < NV; k++)
            acc[k] = _mm256_fmadd_ps(_mm256_loadu_ps(col + 8 * k), xc, acc[k]);
    }
    for (unsigned k = 0; k < NV; k++)
        store8(y, acc[k], r0 + 8 * k, rows);
}

/* rows_pad: a multiple of 16, the packed column stride. */
AVX2 static void matvec_avx2(const float *w, const float *b, unsigned rows_pad, unsigned rows,
                             unsigned cols, const float *x, float *y)
{
    unsigned r = 0;
    for (; r + 64 <= rows_pad; r += 64)
        rows_avx2(w, b, rows_pad, r, rows, cols, x, y, 8);
    if (r + 32 <= rows_pad) {
        rows_avx2(w, b, rows_pad, r, rows, cols, x, y, 4);
        r += 32;
    }
    for (; r < rows_pad; r += 8)
        rows_avx2(w, b, rows_pad, r, rows, cols, x, y, 1);
}

static const f32_ops ops_avx2 = {matvec_avx2, gru_gates_avx2, pack_cols};

/* ---- AVX-512: the same matrix-vector product on 16 lanes; the gates are
 * AVX2's (H values a frame against 3H x H multiply-adds). ---- */

#define AVX512 __attribute__((target("avx512f,avx2,fma")))

/* y[r .. r + 16) = v, as far as r < rows. */
AVX512 static inline void store16(float *y, __m512 v, unsigned r, unsigned rows)
{
    if (r + 16 <= rows)
        _mm512_storeu_ps(y + r, v);
    else if (r < rows)
        _mm512_mask_storeu_ps(y + r, (__mmask16)((1u << (rows - r)) - 1), v);
}

__attribute__((always_inline)) AVX512 static inline void
rows_avx512(const float *w, const float *b, unsigned stride, unsigned r0, unsigned rows,
            unsigned cols, const float *x, float *y, const unsigned NV)
{
    __m512 acc[8];
    for (unsigned k = 0; k < NV; k++)
        acc[k] = _mm512_loadu_ps(b + r0 + 16 * k);
    for (unsigned c = 0; c < cols; c++) {
        const float *col = w + (size_t)c * stride + r0;
        __m512 xc = _mm512_set1_ps(x[c]);
        for (unsigned k = 0; k < NV; k++)
            acc[k] = _mm512_fmadd_ps(_mm512_loadu_ps(col + 16 * k), xc, acc[k]);
    }
    for (unsigned k = 0; k < NV; k++)
        store16(y, acc[k], r0 + 16 * k, rows);
}

AVX512 static void matvec_avx512(const float *w, const float *b, unsigned rows_pad, unsigned rows,
                                 unsigned cols, const float *x, float *y)
{
    unsigned r = 0;
    for (; r + 128 <= rows_pad; r += 128)
        rows_avx512(w, b, rows_pad, r, rows, cols, x, y, 8);
    if (r + 64 <= rows_pad) {
        rows_avx512(w, b, rows_pad, r, rows, cols, x, y, 4);
        r += 64;
    }
    for (; r < rows_pad; r += 16)
        rows_avx512(w, b, rows_pad, r, rows, cols, x, y, 1);
}

static const f32_ops ops_avx512 = {matvec_avx512, gru_gates_avx2, pack_cols};
#endif

#ifdef __aarch64__
/* ---- NEON: the same product on four lanes; 32 vector registers hold 16
 * accumulators (64 rows) with room for the loads. ---- */

/* y[r .. r + 4) = v, as far as r < rows. */
static inline void store4(float *y, float32x4_t v, unsigned r, unsigned rows)
{
    if (r + 4 <= rows) {
        vst1q_f32(y + r, v);
    } else if (r < rows) {
        float lanes[4];
        vst1q_f32(lanes, v);
        memcpy(y + r, lanes, (rows - r) * sizeof *y);
    }
}

__attribute__((always_inline)) static inline void
rows_neon(const float *w, const float *b, unsigned stride, unsigned r0, unsigned rows,
          unsigned cols, const float *x, float *y, const unsigned NV)
{
    float32x4_t acc[16];
    for (unsigned k = 0; k < NV; k++)
        acc[k] = vld1q_f32(b + r0 + 4 * k);
    for (unsigned c = 0; c < cols; c++) {
        const float *col = w + (size_t)c * stride + r0;
        float32x4_t xc = vld1q_dup_f32(x + c);
        for (unsigned k = 0; k < NV; k++)
            acc[k] = vfmaq_f32(acc[k], vld1q_f32(col + 4 * k), xc);
    }
    for (unsigned k = 0; k < NV; k++)
        store4(y, acc[k], r0 + 4 * k, rows);
}

/* rows_pad: a multiple of 16, the packed column stride. */
static void matvec_neon(const float *w, const float *b, unsigned rows_pad, unsigned rows,
                        unsigned cols, const float *x, float *y)
{
    unsigned r = 0;
    for (; r + 64 <= rows_pad; r += 64)
        rows_neon(w, b, rows_pad, r, rows, cols, x, y, 16);
    if (r + 32 <= rows_pad) {
        rows_neon(w, b, rows_pad, r, rows, cols, x, y, 8);
        r += 32;
    }
    for (; r < rows_pad; r += 16)
        rows_neon(w, b, rows_pad, r, rows, cols, x, y, 4);
}

static const f32_ops ops_neon = {matvec_neon, gru_gates_neon, pack_cols};
#endif

static const f32_ops *ops_for(simd_level level)
{
    switch (level) {
#ifdef TANH_AVX2
    case SIMD_AVX512VNNI:
    case SIMD_AVX512:
        return &ops_avx512;
    case SIMD_AVX2:
        return &ops_avx2;
#endif
#ifdef __aarch64__
    case SIMD_NEON:
        return &ops_neon;
#endif
    default:
        return &ops_c;
    }
}

/* ---- the layer ---- */

static float *packed(const f32_ops *ops, const float *w, unsigned rows, unsigned rows_pad,
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

gru_f32_t *gru_f32_create(const model_gru_layer *layer, unsigned max_frames)
{
    if (!layer || layer->weights != MODEL_WEIGHTS_F32 || !max_frames) return NULL;
    gru_f32_t *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    unsigned H = layer->hidden, G = 3 * H;
    g->l = layer;
    g->ops = ops_for(simd_level_get());
    g->max_frames = max_frames;
    g->g_pad = (G + ROW_PAD - 1) / ROW_PAD * ROW_PAD;
    g->w_ih = packed(g->ops, layer->w_ih, G, g->g_pad, layer->input);
    g->w_hh = packed(g->ops, layer->w_hh, G, g->g_pad, H);
    g->b_ih = padded(layer->b_ih, G, g->g_pad);
    g->b_hh = padded(layer->b_hh, G, g->g_pad);
    g->xg = malloc((size_t)max_frames * 3 * H * sizeof(float));
    g->hg = malloc(g->g_pad * sizeof(float));
    g->h = malloc(H * sizeof(float));
    if (!g->w_ih || !g->w_hh || !g->b_ih || !g->b_hh || !g->xg || !g->hg || !g->h) {
        gru_f32_destroy(g);
        return NULL;
    }
    return g;
}

void gru_f32_destroy(gru_f32_t *g)
{
    if (!g) return;
    free(g->w_ih);
    free(g->w_hh);
    free(g->b_ih);
    free(g->b_hh);
    free(g->xg);
    free(g->hg);
    free(g->h);
    free(g);
}

int gru_f32_uses_simd(const gru_f32_t *g)
{
    return g->ops != &ops_c;
}

void gru_f32_project(const gru_f32_t *g, const float *x, float *xg)
{
    const model_gru_layer *l = g->l;
    g->ops->matvec(g->w_ih, g->b_ih, g->g_pad, 3 * l->hidden, l->input, x, xg);
}

void gru_f32_step(gru_f32_t *g, const float *xg, float *h)
{
    unsigned H = g->l->hidden;
    g->ops->matvec(g->w_hh, g->b_hh, g->g_pad, g->g_pad, H, h, g->hg);
    g->ops->gates(xg, g->hg, h, H);
}

/* Made of project and step, so that their callers get these very outputs. */
void gru_f32_process(gru_f32_t *g, const float *x, unsigned n, float *h_seq)
{
    const model_gru_layer *l = g->l;
    unsigned H = l->hidden, G = 3 * H;
    if (n > g->max_frames) n = g->max_frames;
    /* The input projection does not depend on the state: do it for all frames first. */
    for (unsigned t = 0; t < n; t++)
        gru_f32_project(g, x + (size_t)t * l->input, g->xg + (size_t)t * G);
    memset(g->h, 0, H * sizeof(float));
    for (unsigned t = 0; t < n; t++) {
        gru_f32_step(g, g->xg + (size_t)t * G, g->h);
        memcpy(h_seq + (size_t)t * H, g->h, H * sizeof(float));
    }
}
