#include "gru_q8.h"

#include "tanh_fast.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define GRU_Q8_X86 1
#endif
#ifdef __aarch64__
#include "gru_q8_neon.h"
#define GRU_Q8_NEON 1
#endif

/* Rows are padded with zeros to whole 32-byte vectors. */
static unsigned pad32(unsigned n)
{
    return (n + 31) & ~31u;
}

/* The three steps a path provides. quantize returns the vector's scale. */
typedef struct {
    float (*quantize)(const float *x, unsigned n, int8_t *q);
    void (*matvec)(const int8_t *w, unsigned rows, unsigned cols_pad, const int8_t *q,
                   float q_scale, const float *row_scale, const float *bias, float *y);
    void (*gates)(const float *xg, const float *hg, float *h, unsigned hidden);
} q8_ops;

struct gru_q8 {
    const model_gru_layer *l;
    const q8_ops *ops;
    unsigned max_frames, in_pad, h_pad;
    int8_t *w_ih, *w_hh; /* 3H x in_pad, 3H x h_pad */
    int8_t *qx, *qh;     /* quantised input frame and state, zero padded */
    float *xg;           /* max_frames x 3H */
    float *hg, *h;       /* 3H, H */
};

/* ---- portable path ---- */

/* Round half to even, as cvtps2dq does; exact for |v| < 2^22. */
static float round_even(float v)
{
    const float magic = 12582912.0f; /* 1.5 * 2^23 */
    return (v + magic) - magic;
}

/* Clamped so that no input, even NaN or Inf from absurd weights, reaches an
 * undefined float-to-int conversion; NaN becomes -127 on both paths. */
static int8_t quantize_one(float v)
{
    return (int8_t)round_even(fminf(127, fmaxf(v, -127)));
}

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
        q[i] = quantize_one(x[i] * inv);
    return max / 127.0f;
}

static void matvec_c(const int8_t *w, unsigned rows, unsigned cols_pad, const int8_t *q,
                     float q_scale, const float *row_scale, const float *bias, float *y)
{
    for (unsigned r = 0; r < rows; r++) {
        const int8_t *row = w + (size_t)r * cols_pad;
        int32_t acc = 0;
        /* Fixed-length blocks: the compiler vectorises these. */
        for (unsigned c = 0; c < cols_pad; c += 32)
            for (unsigned k = 0; k < 32; k++)
                acc += row[c + k] * q[c + k];
        y[r] = (float)acc * (row_scale[r] * q_scale) + bias[r];
    }
}

static void gate_one(const float *xg, const float *hg, float *h, unsigned H, unsigned j)
{
    float r = sigmoid_fast(xg[j] + hg[j]);
    float z = sigmoid_fast(xg[H + j] + hg[H + j]);
    float c = tanh_fast(xg[2 * H + j] + r * hg[2 * H + j]);
    h[j] = c + z * (h[j] - c);
}

static void gates_c(const float *xg, const float *hg, float *h, unsigned H)
{
    for (unsigned j = 0; j < H; j++)
        gate_one(xg, hg, h, H, j);
}

static const q8_ops ops_c = {quantize_c, matvec_c, gates_c};

/* ---- AVX2 path ---- */

#ifdef GRU_Q8_X86
#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static float hmax8(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

/* As quantize_one: max_ps returns its second operand when the first is NaN. */
AVX2 static __m256i quantize8(const float *x, __m256 inv)
{
    __m256 v = _mm256_max_ps(_mm256_mul_ps(_mm256_loadu_ps(x), inv), _mm256_set1_ps(-127));
    return _mm256_cvtps_epi32(_mm256_min_ps(v, _mm256_set1_ps(127)));
}

AVX2 static float quantize_avx2(const float *x, unsigned n, int8_t *q)
{
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 vmax = _mm256_setzero_ps();
    unsigned i = 0;
    for (; i + 8 <= n; i += 8)
        vmax = _mm256_max_ps(vmax, _mm256_and_ps(abs_mask, _mm256_loadu_ps(x + i)));
    float max = hmax8(vmax);
    for (; i < n; i++)
        max = fmaxf(max, fabsf(x[i]));
    if (!(max > 0)) {
        memset(q, 0, n);
        return 0;
    }
    float inv = 127.0f / max;
    const __m256 vinv = _mm256_set1_ps(inv);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (i = 0; i + 32 <= n; i += 32) {
        __m256i a = quantize8(x + i, vinv), b = quantize8(x + i + 8, vinv);
        __m256i c = quantize8(x + i + 16, vinv), d = quantize8(x + i + 24, vinv);
        __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
        _mm256_storeu_si256((__m256i *)(q + i), _mm256_permutevar8x32_epi32(packed, order));
    }
    for (; i < n; i++)
        q[i] = quantize_one(x[i] * inv);
    return max / 127.0f;
}

/* Sums of eight accumulators, one per lane of the result. */
AVX2 static __m256i hsum8x8(const __m256i *a)
{
    __m256i u0 = _mm256_hadd_epi32(_mm256_hadd_epi32(a[0], a[1]), _mm256_hadd_epi32(a[2], a[3]));
    __m256i u1 = _mm256_hadd_epi32(_mm256_hadd_epi32(a[4], a[5]), _mm256_hadd_epi32(a[6], a[7]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(u0, u1, 0x20),
                            _mm256_permute2x128_si256(u0, u1, 0x31));
}

/* w * a as |a| * sign(w, a): maddubs wants one unsigned operand, and with
 * both magnitudes <= 127 its pairwise int16 sums cannot saturate. */
AVX2 static __m256i dot32(__m256i acc, __m256i abs_a, __m256i a, const int8_t *w)
{
    __m256i wv = _mm256_loadu_si256((const __m256i *)w);
    __m256i p = _mm256_maddubs_epi16(abs_a, _mm256_sign_epi8(wv, a));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

AVX2 static void matvec_avx2(const int8_t *w, unsigned rows, unsigned cols_pad, const int8_t *q,
                             float q_scale, const float *row_scale, const float *bias, float *y)
{
    const __m256 vqs = _mm256_set1_ps(q_scale);
    unsigned r = 0;
    for (; r + 8 <= rows; r += 8) {
        __m256i acc[8];
        for (int i = 0; i < 8; i++)
            acc[i] = _mm256_setzero_si256();
        for (unsigned c = 0; c < cols_pad; c += 32) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(q + c));
            __m256i abs_a = _mm256_abs_epi8(a);
            for (unsigned i = 0; i < 8; i++)
                acc[i] = dot32(acc[i], abs_a, a, w + (size_t)(r + i) * cols_pad + c);
        }
        __m256 sum = _mm256_cvtepi32_ps(hsum8x8(acc));
        __m256 scale = _mm256_mul_ps(_mm256_loadu_ps(row_scale + r), vqs);
        _mm256_storeu_ps(y + r, _mm256_fmadd_ps(sum, scale, _mm256_loadu_ps(bias + r)));
    }
    for (; r < rows; r++) {
        __m256i acc = _mm256_setzero_si256();
        for (unsigned c = 0; c < cols_pad; c += 32) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(q + c));
            acc = dot32(acc, _mm256_abs_epi8(a), a, w + (size_t)r * cols_pad + c);
        }
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
        s = _mm_hadd_epi32(s, s);
        s = _mm_hadd_epi32(s, s);
        y[r] = (float)_mm_cvtsi128_si32(s) * (row_scale[r] * q_scale) + bias[r];
    }
}

AVX2 static __m256 tanh8(__m256 x)
{
    x = _mm256_min_ps(_mm256_set1_ps(TANH_CLAMP), _mm256_max_ps(_mm256_set1_ps(-TANH_CLAMP), x));
    __m256 x2 = _mm256_mul_ps(x, x);
    __m256 p = _mm256_fmadd_ps(x2, _mm256_set1_ps(TANH_A13), _mm256_set1_ps(TANH_A11));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(TANH_A9));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(TANH_A7));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(TANH_A5));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(TANH_A3));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(TANH_A1));
    __m256 q = _mm256_fmadd_ps(x2, _mm256_set1_ps(TANH_B6), _mm256_set1_ps(TANH_B4));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(TANH_B2));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(TANH_B0));
    return _mm256_div_ps(_mm256_mul_ps(x, p), q);
}

AVX2 static __m256 sigmoid8(__m256 x)
{
    const __m256 half = _mm256_set1_ps(0.5f);
    return _mm256_fmadd_ps(tanh8(_mm256_mul_ps(half, x)), half, half);
}

AVX2 static void gates_avx2(const float *xg, const float *hg, float *h, unsigned H)
{
    unsigned j = 0;
    for (; j + 8 <= H; j += 8) {
        __m256 r = sigmoid8(_mm256_add_ps(_mm256_loadu_ps(xg + j), _mm256_loadu_ps(hg + j)));
        __m256 z =
            sigmoid8(_mm256_add_ps(_mm256_loadu_ps(xg + H + j), _mm256_loadu_ps(hg + H + j)));
        __m256 c = tanh8(
            _mm256_fmadd_ps(r, _mm256_loadu_ps(hg + 2 * H + j), _mm256_loadu_ps(xg + 2 * H + j)));
        __m256 hv = _mm256_loadu_ps(h + j);
        _mm256_storeu_ps(h + j, _mm256_fmadd_ps(z, _mm256_sub_ps(hv, c), c));
    }
    for (; j < H; j++)
        gate_one(xg, hg, h, H, j);
}

static const q8_ops ops_avx2 = {quantize_avx2, matvec_avx2, gates_avx2};
#endif

#ifdef GRU_Q8_NEON
static const q8_ops ops_neon = {gru_q8_neon_quantize, gru_q8_neon_matvec, gru_q8_neon_gates};
#endif

static const q8_ops *choose_ops(void)
{
    const char *no_simd = getenv("GENRED_NO_SIMD");
    if (no_simd && strcmp(no_simd, "") && strcmp(no_simd, "0")) return &ops_c;
#ifdef GRU_Q8_X86
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &ops_avx2;
#endif
#ifdef GRU_Q8_NEON
    return &ops_neon; /* every AArch64 core has NEON */
#endif
    return &ops_c;
}

/* Copies rows x cols into rows x cols_pad, zero filled. */
static int8_t *pad_rows(const int8_t *w, unsigned rows, unsigned cols, unsigned cols_pad)
{
    int8_t *p = calloc((size_t)rows * cols_pad, 1);
    if (p)
        for (unsigned r = 0; r < rows; r++)
            memcpy(p + (size_t)r * cols_pad, w + (size_t)r * cols, cols);
    return p;
}

gru_q8_t *gru_q8_create(const model_gru_layer *layer, unsigned max_frames)
{
    if (!layer || layer->weights != MODEL_WEIGHTS_Q8 || !max_frames) return NULL;
    gru_q8_t *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    unsigned H = layer->hidden, G = 3 * H;
    g->l = layer;
    g->ops = choose_ops();
    g->max_frames = max_frames;
    g->in_pad = pad32(layer->input);
    g->h_pad = pad32(H);
    g->w_ih = pad_rows(layer->q_ih, G, layer->input, g->in_pad);
    g->w_hh = pad_rows(layer->q_hh, G, H, g->h_pad);
    g->qx = calloc(g->in_pad, 1);
    g->qh = calloc(g->h_pad, 1);
    g->xg = malloc((size_t)max_frames * G * sizeof(float));
    g->hg = malloc(G * sizeof(float));
    g->h = malloc(H * sizeof(float));
    if (!g->w_ih || !g->w_hh || !g->qx || !g->qh || !g->xg || !g->hg || !g->h) {
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
    free(g->qx);
    free(g->qh);
    free(g->xg);
    free(g->hg);
    free(g->h);
    free(g);
}

int gru_q8_uses_avx2(const gru_q8_t *g)
{
#ifdef GRU_Q8_X86
    return g->ops == &ops_avx2;
#else
    (void)g;
    return 0;
#endif
}

const char *gru_q8_path(const gru_q8_t *g)
{
#ifdef GRU_Q8_NEON
    if (g->ops == &ops_neon) return "neon";
#endif
    return gru_q8_uses_avx2(g) ? "avx2" : "portable";
}

void gru_q8_process(gru_q8_t *g, const float *x, unsigned n, float *h_seq)
{
    const model_gru_layer *l = g->l;
    const q8_ops *ops = g->ops;
    unsigned H = l->hidden, G = 3 * H;
    if (n > g->max_frames) n = g->max_frames;
    for (unsigned t = 0; t < n; t++) {
        float s = ops->quantize(x + (size_t)t * l->input, l->input, g->qx);
        ops->matvec(g->w_ih, G, g->in_pad, g->qx, s, l->s_ih, l->b_ih, g->xg + (size_t)t * G);
    }
    memset(g->h, 0, H * sizeof(float));
    for (unsigned t = 0; t < n; t++) {
        float s = ops->quantize(g->h, H, g->qh);
        ops->matvec(g->w_hh, G, g->h_pad, g->qh, s, l->s_hh, l->b_hh, g->hg);
        ops->gates(g->xg + (size_t)t * G, g->hg, g->h, H);
        memcpy(h_seq + (size_t)t * H, g->h, H * sizeof(float));
    }
}
