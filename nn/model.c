/* model: creation, quantisation and the model file.
 *
 * File format, version 3. Little-endian throughout; no padding; f32/f64 are
 * IEEE-754. H is a layer's hidden size, I its input size, G its rows
 * (gates x H: 3H for a GRU), K = n_labels.
 *
 *   magic           8 bytes  "GRDMODEL"
 *   version         u32      MODEL_FORMAT_VERSION
 *   front-end       f64 sample_rate, u32 n_fft, u32 hop, u32 n_mels,
 *                   u32 n_coeffs, f64 fmin, f64 fmax (0 = sample_rate/2),
 *                   f64 window_seconds
 *   n_inputs        u32      == model_input_count(n_coeffs, inputs)
 *   inputs          u32      MODEL_INPUT_* flags: bit 0, inputs are each
 *                            frame's coefficients then their deltas over the
 *                            window (nn/model_input.h); bit 1, coefficient 0
 *                            left out (its delta kept). Version 2 files before
 *                            bit 1 existed hold 0 or 1 here and read the same.
 *   mean, std       f32[n_inputs] each; std > 0
 *   n_labels        u32      K, 2..MODEL_MAX_LABELS
 *   labels          K x (u8 length 1..63, UTF-8 bytes without NUL); distinct,
 *                   no control characters
 *   n_layers        u32      1..MODEL_MAX_LAYERS
 *   per layer       u32 kind (model_layer_kind: 0 = GRU),
 *                   u32 input, u32 hidden, u32 weights (0 = f32, 1 = int8)
 *                   f32: f32 w_ih[G x I], f32 w_hh[G x H]
 *                   int8: f32 s_ih[G], i8 q_ih[G x I], f32 s_hh[G],
 *                         i8 q_hh[G x H]; q in -127..127, s >= 0
 *                   f32 b_ih[G], f32 b_hh[G]
 *                   (rows in the kind's gate order, a GRU's PyTorch's r, z,
 *                   n; row-major)
 *   pool            u32      0 = last state, 1 = mean over time
 *   fc_w, fc_b      f32[K x H_last], f32[K]
 *   id              u8 length 0..127, UTF-8 bytes ("name date shorthash")
 *   crc32           u32      zlib crc32 of every preceding byte
 *
 * Version 2 is version 3 without the layers' kind fields (every layer a
 * GRU); version 1 is version 2 without the inputs field (inputs = 0). The
 * loader reads all three; the writer writes version 3, or an older one on
 * request (model_serialize_version) when the model fits it.
 *
 * The loader checks magic and version first (so a newer file says so), then
 * the CRC, then every field in order against the bytes left, so no input
 * can make it read out of bounds or allocate more than the file implies. */
#include "model.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MODEL_MAX_LAYERS 8
#define MODEL_MAX_HIDDEN 1024
#define MODEL_MAX_FILE   (256u << 20)

static const char model_magic[8] = {'G', 'R', 'D', 'M', 'O', 'D', 'E', 'L'};

extern const unsigned char genred_default_model[];
extern const size_t genred_default_model_size;

/* Writes "name: field: reason" and returns -1, so callers can `return fail(...)`. */
static int fail(char *err, size_t err_len, const char *name, const char *field, const char *fmt,
                ...) __attribute__((format(printf, 5, 6)));
static int fail(char *err, size_t err_len, const char *name, const char *field, const char *fmt,
                ...)
{
    if (!err || !err_len) return -1;
    int n = snprintf(err, err_len, "%s: %s: ", name, field);
    if (n >= 0 && (size_t)n < err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, err_len - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int check_frontend(const frontend_params *fe, const char *name, char *err, size_t err_len)
{
    const mfcc_params *mp = &fe->mfcc;
    double sr = mp->sample_rate;
    if (!isfinite(sr) || sr < 1000 || sr > 768000)
        return fail(err, err_len, name, "sample_rate", "%g Hz is outside 1000..768000", sr);
    if (mp->n_fft < 16 || mp->n_fft > 65536)
        return fail(err, err_len, name, "n_fft", "%u is outside 16..65536", mp->n_fft);
    if (mp->hop < 1 || mp->hop > mp->n_fft)
        return fail(err, err_len, name, "hop", "%u is outside 1..n_fft (%u)", mp->hop, mp->n_fft);
    if (mp->n_mels < 1 || mp->n_mels > 1024)
        return fail(err, err_len, name, "n_mels", "%u is outside 1..1024", mp->n_mels);
    if (mp->n_coeffs < 1 || mp->n_coeffs > mp->n_mels)
        return fail(err, err_len, name, "n_coeffs", "%u is outside 1..n_mels (%u)", mp->n_coeffs,
                    mp->n_mels);
    double fmax = mp->fmax == 0 ? sr / 2 : mp->fmax;
    if (!isfinite(mp->fmin) || mp->fmin < 0 || mp->fmin >= fmax)
        return fail(err, err_len, name, "fmin", "%g Hz is outside 0..fmax", mp->fmin);
    if (!isfinite(fmax) || fmax > sr / 2)
        return fail(err, err_len, name, "fmax", "%g Hz is above sample_rate/2", mp->fmax);
    double ws = fe->window_seconds;
    if (!isfinite(ws) || ws <= 0 || ws > 600 || round(ws * sr) < mp->n_fft)
        return fail(err, err_len, name, "window_seconds",
                    "%g s is outside 0..600 or shorter than one FFT frame", ws);
    return 0;
}

/* ---- layer kinds ---- */

/* Every kind this build knows (model.h): its name and gate rows per
 * hidden unit, which size its matrices. */
static const struct {
    const char *name;
    uint32_t gates;
} layer_kinds[] = {
    [MODEL_LAYER_GRU] = {"GRU", 3},
};
#define N_LAYER_KINDS (sizeof layer_kinds / sizeof *layer_kinds)

const char *model_layer_kind_name(uint32_t kind)
{
    return kind < N_LAYER_KINDS ? layer_kinds[kind].name : NULL;
}

size_t model_layer_rows(const model_layer *l)
{
    return (size_t)layer_kinds[l->kind].gates * l->hidden;
}

/* ---- allocation ---- */

static int layer_alloc(model_layer *l, model_layer_kind kind, uint32_t input, uint32_t hidden,
                       model_weights w)
{
    l->kind = kind;
    l->input = input;
    l->hidden = hidden;
    l->weights = w;
    size_t g = model_layer_rows(l);
    if (w == MODEL_WEIGHTS_F32) {
        l->w_ih = calloc(g * input, sizeof(float));
        l->w_hh = calloc(g * hidden, sizeof(float));
        if (!l->w_ih || !l->w_hh) return -1;
    } else {
        l->q_ih = calloc(g * input, 1);
        l->q_hh = calloc(g * hidden, 1);
        l->s_ih = calloc(g, sizeof(float));
        l->s_hh = calloc(g, sizeof(float));
        if (!l->q_ih || !l->q_hh || !l->s_ih || !l->s_hh) return -1;
    }
    l->b_ih = calloc(g, sizeof(float));
    l->b_hh = calloc(g, sizeof(float));
    return l->b_ih && l->b_hh ? 0 : -1;
}

static void layer_free(model_layer *l)
{
    free(l->w_ih);
    free(l->w_hh);
    free(l->q_ih);
    free(l->q_hh);
    free(l->s_ih);
    free(l->s_hh);
    free(l->b_ih);
    free(l->b_hh);
}

void model_destroy(model_t *m)
{
    if (!m) return;
    if (m->layers)
        for (uint32_t i = 0; i < m->n_layers; i++)
            layer_free(&m->layers[i]);
    free(m->layers);
    free(m->mean);
    free(m->std);
    free(m->labels);
    free(m->fc_w);
    free(m->fc_b);
    free(m);
}

/* Everything except the layers' weight arrays; mean 0, std 1. */
static model_t *model_alloc(uint32_t n_inputs, uint32_t n_layers, uint32_t n_labels, uint32_t fc_in)
{
    model_t *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->n_inputs = n_inputs;
    m->n_layers = n_layers;
    m->n_labels = n_labels;
    m->mean = calloc(n_inputs, sizeof(float));
    m->std = calloc(n_inputs, sizeof(float));
    m->layers = calloc(n_layers, sizeof *m->layers);
    m->labels = calloc(n_labels, sizeof *m->labels);
    m->fc_w = calloc((size_t)n_labels * fc_in, sizeof(float));
    m->fc_b = calloc(n_labels, sizeof(float));
    if (!m->mean || !m->std || !m->layers || !m->labels || !m->fc_w || !m->fc_b) {
        model_destroy(m);
        return NULL;
    }
    for (uint32_t i = 0; i < n_inputs; i++)
        m->std[i] = 1;
    return m;
}

uint32_t model_input_count(uint32_t n_coeffs, uint32_t inputs)
{
    return n_coeffs * (1 + !!(inputs & MODEL_INPUT_DELTAS)) - !!(inputs & MODEL_INPUT_NO_C0);
}

/* 0, or -1 naming the field when flags has a bit no version knows. */
static int check_inputs(uint32_t inputs, const char *name, char *err, size_t err_len)
{
    if (inputs <= (MODEL_INPUT_DELTAS | MODEL_INPUT_NO_C0)) return 0;
    fail(err, err_len, name, "inputs", "%u is not a combination of deltas (1) and no-c0 (2)",
         inputs);
    return -1;
}

model_t *model_create(const frontend_params *fe, uint32_t n_layers, uint32_t hidden,
                      uint32_t n_labels, model_pool pool, uint32_t inputs, char *err,
                      size_t err_len)
{
    const char *name = "model";
    if (check_frontend(fe, name, err, err_len) || check_inputs(inputs, name, err, err_len))
        return NULL;
    if (n_layers < 1 || n_layers > MODEL_MAX_LAYERS) {
        fail(err, err_len, name, "n_layers", "%u is outside 1..%d", n_layers, MODEL_MAX_LAYERS);
        return NULL;
    }
    if (hidden < 1 || hidden > MODEL_MAX_HIDDEN) {
        fail(err, err_len, name, "hidden", "%u is outside 1..%d", hidden, MODEL_MAX_HIDDEN);
        return NULL;
    }
    if (n_labels < 2 || n_labels > MODEL_MAX_LABELS) {
        fail(err, err_len, name, "n_labels", "%u is outside 2..%d", n_labels, MODEL_MAX_LABELS);
        return NULL;
    }
    if (pool != MODEL_POOL_LAST && pool != MODEL_POOL_MEAN) {
        fail(err, err_len, name, "pool", "%d is not last (0) or mean (1)", (int)pool);
        return NULL;
    }
    uint32_t n_inputs = model_input_count(fe->mfcc.n_coeffs, inputs);
    model_t *m = model_alloc(n_inputs, n_layers, n_labels, hidden);
    if (!m) goto oom;
    m->frontend = *fe;
    m->deltas = !!(inputs & MODEL_INPUT_DELTAS);
    m->no_c0 = !!(inputs & MODEL_INPUT_NO_C0);
    m->pool = pool;
    for (uint32_t i = 0; i < n_layers; i++)
        if (layer_alloc(&m->layers[i], MODEL_LAYER_GRU, i ? hidden : n_inputs, hidden,
                        MODEL_WEIGHTS_F32))
            goto oom;
    return m;
oom:
    model_destroy(m);
    fail(err, err_len, name, "memory", "out of memory");
    return NULL;
}

uint32_t model_output_hidden(const model_t *m)
{
    return m->layers[m->n_layers - 1].hidden;
}

frontend_t *model_frontend_create(const model_t *m, double in_rate, unsigned channels, char *err,
                                  size_t err_len)
{
    return frontend_create(&m->frontend, in_rate, channels, err, err_len);
}

unsigned model_window_frames(const model_t *m)
{
    return frontend_params_window_frames(&m->frontend);
}

/* ---- quantisation ---- */

/* Symmetric per row: scale = max|w| / 127, q = round-half-away(w / scale).
 * tools/genre-import-torch implements the same rule. */
void model_quantize_rows(const float *w, size_t rows, size_t cols, int8_t *q, float *scale)
{
    for (size_t r = 0; r < rows; r++) {
        const float *row = w + r * cols;
        float max = 0;
        for (size_t c = 0; c < cols; c++)
            max = fmaxf(max, fabsf(row[c]));
        scale[r] = max / 127.0f;
        for (size_t c = 0; c < cols; c++) {
            float v = scale[r] > 0 ? roundf(row[c] / scale[r]) : 0;
            q[r * cols + c] = (int8_t)fminf(127, fmaxf(-127, v));
        }
    }
}

static int layer_copy(model_layer *dst, const model_layer *src, bool quantize)
{
    model_weights w = quantize ? MODEL_WEIGHTS_Q8 : src->weights;
    if (layer_alloc(dst, src->kind, src->input, src->hidden, w)) return -1;
    size_t g = model_layer_rows(src), n_ih = g * src->input, n_hh = g * src->hidden;
    if (src->weights == MODEL_WEIGHTS_F32 && w == MODEL_WEIGHTS_Q8) {
        model_quantize_rows(src->w_ih, g, src->input, dst->q_ih, dst->s_ih);
        model_quantize_rows(src->w_hh, g, src->hidden, dst->q_hh, dst->s_hh);
    } else if (w == MODEL_WEIGHTS_F32) {
        memcpy(dst->w_ih, src->w_ih, n_ih * sizeof(float));
        memcpy(dst->w_hh, src->w_hh, n_hh * sizeof(float));
    } else {
        memcpy(dst->q_ih, src->q_ih, n_ih);
        memcpy(dst->q_hh, src->q_hh, n_hh);
        memcpy(dst->s_ih, src->s_ih, g * sizeof(float));
        memcpy(dst->s_hh, src->s_hh, g * sizeof(float));
    }
    memcpy(dst->b_ih, src->b_ih, g * sizeof(float));
    memcpy(dst->b_hh, src->b_hh, g * sizeof(float));
    return 0;
}

model_t *model_quantize(const model_t *src, char *err, size_t err_len)
{
    uint32_t fc_in = model_output_hidden(src);
    model_t *m = model_alloc(src->n_inputs, src->n_layers, src->n_labels, fc_in);
    if (!m) goto oom;
    m->frontend = src->frontend;
    m->deltas = src->deltas;
    m->no_c0 = src->no_c0;
    m->pool = src->pool;
    memcpy(m->id, src->id, sizeof m->id);
    memcpy(m->mean, src->mean, src->n_inputs * sizeof(float));
    memcpy(m->std, src->std, src->n_inputs * sizeof(float));
    memcpy(m->labels, src->labels, src->n_labels * sizeof *m->labels);
    memcpy(m->fc_w, src->fc_w, (size_t)src->n_labels * fc_in * sizeof(float));
    memcpy(m->fc_b, src->fc_b, src->n_labels * sizeof(float));
    for (uint32_t i = 0; i < src->n_layers; i++)
        if (layer_copy(&m->layers[i], &src->layers[i], true)) goto oom;
    return m;
oom:
    model_destroy(m);
    fail(err, err_len, "model", "memory", "out of memory");
    return NULL;
}

/* ---- writing ---- */

/* With p == NULL only counts, so one function both sizes and fills the image. */
typedef struct {
    unsigned char *p;
    size_t pos;
} writer;

static void put(writer *w, const void *src, size_t n)
{
    if (w->p) memcpy(w->p + w->pos, src, n);
    w->pos += n;
}

static void put_u32(writer *w, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    put(w, b, 4);
}

static void put_f64(writer *w, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    put_u32(w, (uint32_t)v);
    put_u32(w, (uint32_t)(v >> 32));
}

static void put_f32s(writer *w, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t v;
        memcpy(&v, &x[i], 4);
        put_u32(w, v);
    }
}

static void put_str(writer *w, const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    unsigned char len = (unsigned char)(n > 255 ? 255 : n);
    put(w, &len, 1);
    put(w, s, len);
}

static void write_model(writer *w, const model_t *m, uint32_t version)
{
    const frontend_params *fe = &m->frontend;
    const mfcc_params *mp = &fe->mfcc;
    put(w, model_magic, sizeof model_magic);
    put_u32(w, version);
    put_f64(w, mp->sample_rate);
    put_u32(w, mp->n_fft);
    put_u32(w, mp->hop);
    put_u32(w, mp->n_mels);
    put_u32(w, mp->n_coeffs);
    put_f64(w, mp->fmin);
    put_f64(w, mp->fmax);
    put_f64(w, fe->window_seconds);
    put_u32(w, m->n_inputs);
    if (version >= 2) put_u32(w, m->deltas * MODEL_INPUT_DELTAS | m->no_c0 * MODEL_INPUT_NO_C0);
    put_f32s(w, m->mean, m->n_inputs);
    put_f32s(w, m->std, m->n_inputs);
    put_u32(w, m->n_labels);
    for (uint32_t k = 0; k < m->n_labels; k++)
        put_str(w, m->labels[k], MODEL_MAX_LABEL_LEN);
    put_u32(w, m->n_layers);
    for (uint32_t i = 0; i < m->n_layers; i++) {
        const model_layer *l = &m->layers[i];
        size_t g = model_layer_rows(l);
        if (version >= 3) put_u32(w, (uint32_t)l->kind);
        put_u32(w, l->input);
        put_u32(w, l->hidden);
        put_u32(w, (uint32_t)l->weights);
        if (l->weights == MODEL_WEIGHTS_F32) {
            put_f32s(w, l->w_ih, g * l->input);
            put_f32s(w, l->w_hh, g * l->hidden);
        } else {
            put_f32s(w, l->s_ih, g);
            put(w, l->q_ih, g * l->input);
            put_f32s(w, l->s_hh, g);
            put(w, l->q_hh, g * l->hidden);
        }
        put_f32s(w, l->b_ih, g);
        put_f32s(w, l->b_hh, g);
    }
    put_u32(w, (uint32_t)m->pool);
    put_f32s(w, m->fc_w, (size_t)m->n_labels * model_output_hidden(m));
    put_f32s(w, m->fc_b, m->n_labels);
    put_str(w, m->id, MODEL_ID_LEN);
}

/* 0 when format `version` can hold m, else -1 naming the field that needs
 * a newer one (or the kind no version knows). */
static int check_fits(const model_t *m, uint32_t version, char *err, size_t err_len)
{
    if (!m || !m->layers || m->n_layers < 1)
        return fail(err, err_len, "model", "n_layers", "model has no layers");
    if (version < 1 || version > MODEL_FORMAT_VERSION)
        return fail(err, err_len, "model", "version", "%u is outside 1..%d", version,
                    MODEL_FORMAT_VERSION);
    if (version < 2 && (m->deltas || m->no_c0))
        return fail(err, err_len, "model", "inputs", "version 1 holds no deltas or no-c0 flags");
    for (uint32_t i = 0; i < m->n_layers; i++) {
        char f[32];
        uint32_t kind = m->layers[i].kind;
        snprintf(f, sizeof f, "layers[%u].kind", i);
        if (!model_layer_kind_name(kind))
            return fail(err, err_len, "model", f, "%u is not a known layer kind", kind);
        if (version < 3 && kind != MODEL_LAYER_GRU)
            return fail(err, err_len, "model", f, "version %u holds GRU layers only", version);
    }
    return 0;
}

void *model_serialize_version(const model_t *m, uint32_t version, size_t *size, char *err,
                              size_t err_len)
{
    if (check_fits(m, version, err, err_len)) return NULL;
    writer w = {NULL, 0};
    write_model(&w, m, version);
    size_t n = w.pos;
    w.p = malloc(n + 4);
    if (!w.p) {
        fail(err, err_len, "model", "memory", "out of memory");
        return NULL;
    }
    w.pos = 0;
    write_model(&w, m, version);
    put_u32(&w, (uint32_t)crc32(0L, w.p, (uInt)n));
    /* Write only what loads: parsing the image back applies every rule. */
    model_t *check = model_load_memory(w.p, n + 4, m->id[0] ? m->id : "model", err, err_len);
    if (!check) {
        free(w.p);
        return NULL;
    }
    model_destroy(check);
    *size = n + 4;
    return w.p;
}

void *model_serialize(const model_t *m, size_t *size, char *err, size_t err_len)
{
    return model_serialize_version(m, MODEL_FORMAT_VERSION, size, err, err_len);
}

int model_save(const model_t *m, const char *path, char *err, size_t err_len)
{
    size_t size;
    void *image = model_serialize(m, &size, err, err_len);
    if (!image) return -1;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 8);
    if (!tmp) {
        free(image);
        return fail(err, err_len, path, "memory", "out of memory");
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".XXXXXX", 8);
    int rc = -1;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        fail(err, err_len, path, "write", "cannot create temporary file: %s", strerror(errno));
        goto out;
    }
    const unsigned char *p = image;
    size_t left = size;
    while (left) {
        ssize_t got = write(fd, p, left);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        p += got;
        left -= (size_t)got;
    }
    /* Models are meant to be read by others: rw-r--r--, not mkstemp's 0600. */
    if (left || fchmod(fd, 0644) || fsync(fd)) {
        fail(err, err_len, path, "write", "%s", strerror(errno ? errno : EIO));
        close(fd);
        unlink(tmp);
        goto out;
    }
    if (close(fd) || rename(tmp, path)) {
        fail(err, err_len, path, "write", "%s", strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    free(tmp);
    free(image);
    return rc;
}

/* ---- reading ---- */

typedef struct {
    const unsigned char *p;
    size_t size, pos; /* size excludes the CRC */
    uint32_t version;
    const char *name;
    char *err;
    size_t err_len;
} reader;

static int need(reader *r, const char *field, size_t n)
{
    if (r->size - r->pos >= n) return 0;
    return fail(r->err, r->err_len, r->name, field,
                "file truncated (%zu bytes needed at offset %zu, %zu left)", n, r->pos,
                r->size - r->pos);
}

static uint32_t le32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static int get_u32(reader *r, const char *field, uint32_t *v)
{
    if (need(r, field, 4)) return -1;
    *v = le32(r->p + r->pos);
    r->pos += 4;
    return 0;
}

static int get_f64(reader *r, const char *field, double *d)
{
    if (need(r, field, 8)) return -1;
    uint64_t v = le32(r->p + r->pos) | (uint64_t)le32(r->p + r->pos + 4) << 32;
    memcpy(d, &v, 8);
    r->pos += 8;
    return 0;
}

/* Reads n finite floats; sign > 0 also demands > 0, sign < 0 demands >= 0. */
static int get_f32s(reader *r, const char *field, float *x, size_t n, int sign)
{
    if (need(r, field, n * 4)) return -1;
    for (size_t i = 0; i < n; i++) {
        uint32_t v = le32(r->p + r->pos + 4 * i);
        memcpy(&x[i], &v, 4);
        char f[96];
        if (!isfinite(x[i]) || (sign > 0 && x[i] <= 0) || (sign < 0 && x[i] < 0)) {
            snprintf(f, sizeof f, "%s[%zu]", field, i);
            return fail(r->err, r->err_len, r->name, f, "%g is %s", x[i],
                        !isfinite(x[i]) ? "not finite"
                        : sign > 0      ? "not positive"
                                        : "negative");
        }
    }
    r->pos += n * 4;
    return 0;
}

static int get_q8s(reader *r, const char *field, int8_t *q, size_t n)
{
    if (need(r, field, n)) return -1;
    memcpy(q, r->p + r->pos, n);
    for (size_t i = 0; i < n; i++) {
        /* -128 has no positive twin; the AVX2 kernel's sign trick relies on that. */
        if (q[i] == -128) {
            char f[96];
            snprintf(f, sizeof f, "%s[%zu]", field, i);
            return fail(r->err, r->err_len, r->name, f, "-128 is outside -127..127");
        }
    }
    r->pos += n;
    return 0;
}

/* NULL when s[0..n) is UTF-8 text without control characters, else why not. */
static const char *text_problem(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f) return "contains a control character";
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if ((c & 0xe0) == 0xc0)
            len = 2, cp = c & 0x1f;
        else if ((c & 0xf0) == 0xe0)
            len = 3, cp = c & 0x0f;
        else if ((c & 0xf8) == 0xf0)
            len = 4, cp = c & 0x07;
        else
            return "is not valid UTF-8";
        if (n - i < len) return "is not valid UTF-8";
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return "is not valid UTF-8";
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return "is not valid UTF-8";
        if (cp >= 0x80 && cp < 0xa0) return "contains a control character";
        i += len;
    }
    return NULL;
}

static int get_str(reader *r, const char *field, char *dst, size_t min_len, size_t max_len)
{
    if (need(r, field, 1)) return -1;
    size_t len = r->p[r->pos++];
    if (len < min_len || len > max_len)
        return fail(r->err, r->err_len, r->name, field, "length %zu is outside %zu..%zu", len,
                    min_len, max_len);
    if (need(r, field, len)) return -1;
    const char *why = text_problem(r->p + r->pos, len);
    if (why) return fail(r->err, r->err_len, r->name, field, "%s", why);
    memcpy(dst, r->p + r->pos, len);
    dst[len] = 0;
    r->pos += len;
    return 0;
}

static int get_count(reader *r, const char *field, uint32_t *v, uint32_t lo, uint32_t hi)
{
    if (get_u32(r, field, v)) return -1;
    if (*v < lo || *v > hi)
        return fail(r->err, r->err_len, r->name, field, "%u is outside %u..%u", *v, lo, hi);
    return 0;
}

static int read_frontend(reader *r, frontend_params *fe)
{
    mfcc_params *mp = &fe->mfcc;
    if (get_f64(r, "sample_rate", &mp->sample_rate) || get_u32(r, "n_fft", &mp->n_fft) ||
        get_u32(r, "hop", &mp->hop) || get_u32(r, "n_mels", &mp->n_mels) ||
        get_u32(r, "n_coeffs", &mp->n_coeffs) || get_f64(r, "fmin", &mp->fmin) ||
        get_f64(r, "fmax", &mp->fmax) || get_f64(r, "window_seconds", &fe->window_seconds))
        return -1;
    return check_frontend(fe, r->name, r->err, r->err_len);
}

/* Reads layer i's kind (version 3; a GRU before), input, hidden and
 * weights into l, checked against the previous layer. */
static int read_layer_header(reader *r, model_layer *l, uint32_t i, uint32_t expected_input)
{
    char f[64];
    uint32_t kind = MODEL_LAYER_GRU, weights;
    snprintf(f, sizeof f, "layers[%u].kind", i);
    if (r->version >= 3 && get_u32(r, f, &kind)) return -1;
    if (!model_layer_kind_name(kind)) {
        char known[64] = "";
        for (uint32_t k = 0; k < N_LAYER_KINDS; k++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s%u = %s",
                     k ? ", " : "", k, layer_kinds[k].name);
        return fail(r->err, r->err_len, r->name, f, "%u is not a layer kind this build knows (%s)",
                    kind, known);
    }
    snprintf(f, sizeof f, "layers[%u].input", i);
    if (get_u32(r, f, &l->input)) return -1;
    if (l->input != expected_input)
        return fail(r->err, r->err_len, r->name, f, "%u does not match the %s (%u)", l->input,
                    i ? "previous layer's hidden" : "n_inputs", expected_input);
    snprintf(f, sizeof f, "layers[%u].hidden", i);
    if (get_count(r, f, &l->hidden, 1, MODEL_MAX_HIDDEN)) return -1;
    snprintf(f, sizeof f, "layers[%u].weights", i);
    if (get_u32(r, f, &weights)) return -1;
    if (weights != MODEL_WEIGHTS_F32 && weights != MODEL_WEIGHTS_Q8)
        return fail(r->err, r->err_len, r->name, f, "%u is not f32 (0) or int8 (1)", weights);
    l->kind = (model_layer_kind)kind;
    l->weights = (model_weights)weights;
    return 0;
}

/* Reads the layer header, checks it against the previous layer and the bytes
 * left, then allocates and fills the arrays. */
static int read_layer(reader *r, model_layer *l, uint32_t i, uint32_t expected_input)
{
    model_layer h;
    if (read_layer_header(r, &h, i, expected_input)) return -1;
    uint32_t input = h.input, hidden = h.hidden, weights = h.weights;
    size_t g = model_layer_rows(&h), n_ih = g * input, n_hh = g * hidden;
    size_t bytes = weights == MODEL_WEIGHTS_F32 ? 4 * (n_ih + n_hh) : n_ih + n_hh + 8 * g;
    char f[64];
    snprintf(f, sizeof f, "layers[%u]", i);
    if (need(r, f, bytes + 8 * g)) return -1;
    if (layer_alloc(l, h.kind, input, hidden, h.weights))
        return fail(r->err, r->err_len, r->name, f, "out of memory");
    char fa[64], fb[64];
    if (weights == MODEL_WEIGHTS_F32) {
        snprintf(fa, sizeof fa, "layers[%u].w_ih", i);
        snprintf(fb, sizeof fb, "layers[%u].w_hh", i);
        if (get_f32s(r, fa, l->w_ih, n_ih, 0) || get_f32s(r, fb, l->w_hh, n_hh, 0)) return -1;
    } else {
        snprintf(fa, sizeof fa, "layers[%u].s_ih", i);
        if (get_f32s(r, fa, l->s_ih, g, -1)) return -1;
        snprintf(fa, sizeof fa, "layers[%u].q_ih", i);
        if (get_q8s(r, fa, l->q_ih, n_ih)) return -1;
        snprintf(fa, sizeof fa, "layers[%u].s_hh", i);
        if (get_f32s(r, fa, l->s_hh, g, -1)) return -1;
        snprintf(fa, sizeof fa, "layers[%u].q_hh", i);
        if (get_q8s(r, fa, l->q_hh, n_hh)) return -1;
    }
    snprintf(fa, sizeof fa, "layers[%u].b_ih", i);
    snprintf(fb, sizeof fb, "layers[%u].b_hh", i);
    return get_f32s(r, fa, l->b_ih, g, 0) || get_f32s(r, fb, l->b_hh, g, 0) ? -1 : 0;
}

static int read_labels(reader *r, model_t *m)
{
    for (uint32_t k = 0; k < m->n_labels; k++) {
        char f[32];
        snprintf(f, sizeof f, "labels[%u]", k);
        if (get_str(r, f, m->labels[k], 1, MODEL_MAX_LABEL_LEN)) return -1;
        for (uint32_t j = 0; j < k; j++)
            if (!strcmp(m->labels[j], m->labels[k]))
                return fail(r->err, r->err_len, r->name, f, "\"%s\" duplicates labels[%u]",
                            m->labels[k], j);
    }
    return 0;
}

/* Parses everything after the header fields read by the caller. */
static model_t *read_body(reader *r, const frontend_params *fe)
{
    uint32_t n_inputs, inputs = 0, n_labels, n_layers, pool;
    if (get_u32(r, "n_inputs", &n_inputs)) return NULL;
    if (r->version >= 2 && get_u32(r, "inputs", &inputs)) return NULL;
    if (check_inputs(inputs, r->name, r->err, r->err_len)) return NULL;
    if (n_inputs != model_input_count(fe->mfcc.n_coeffs, inputs)) {
        fail(r->err, r->err_len, r->name, "n_inputs", "%u does not match n_coeffs (%u)%s%s",
             n_inputs, fe->mfcc.n_coeffs,
             inputs & MODEL_INPUT_DELTAS ? " x 2 (coefficients and deltas)" : "",
             inputs & MODEL_INPUT_NO_C0 ? " - 1 (no c0)" : "");
        return NULL;
    }
    if (need(r, "mean", 8 * (size_t)n_inputs)) return NULL;
    size_t labels_at = r->pos + 8 * (size_t)n_inputs;
    /* Peek ahead to size the model before allocating it. */
    reader peek = *r;
    peek.pos = labels_at;
    if (get_count(&peek, "n_labels", &n_labels, 2, MODEL_MAX_LABELS)) return NULL;
    if (need(&peek, "labels", 2 * (size_t)n_labels)) return NULL;
    model_t *m = model_alloc(n_inputs, 1, n_labels, 1);
    if (!m) {
        fail(r->err, r->err_len, r->name, "memory", "out of memory");
        return NULL;
    }
    m->frontend = *fe;
    m->file_version = r->version;
    m->deltas = !!(inputs & MODEL_INPUT_DELTAS);
    m->no_c0 = !!(inputs & MODEL_INPUT_NO_C0);
    if (get_f32s(r, "mean", m->mean, n_inputs, 0) || get_f32s(r, "std", m->std, n_inputs, 1))
        goto bad;
    r->pos += 4; /* n_labels, read above */
    if (read_labels(r, m) || get_count(r, "n_layers", &n_layers, 1, MODEL_MAX_LAYERS)) goto bad;
    free(m->layers);
    m->layers = calloc(n_layers, sizeof *m->layers);
    if (!m->layers) {
        fail(r->err, r->err_len, r->name, "memory", "out of memory");
        goto bad;
    }
    m->n_layers = n_layers;
    for (uint32_t i = 0; i < n_layers; i++)
        if (read_layer(r, &m->layers[i], i, i ? m->layers[i - 1].hidden : n_inputs)) goto bad;
    if (get_u32(r, "pool", &pool)) goto bad;
    if (pool != MODEL_POOL_LAST && pool != MODEL_POOL_MEAN) {
        fail(r->err, r->err_len, r->name, "pool", "%u is not last (0) or mean (1)", pool);
        goto bad;
    }
    m->pool = (model_pool)pool;
    size_t n_fc = (size_t)n_labels * model_output_hidden(m);
    if (need(r, "fc_w", 4 * (n_fc + n_labels))) goto bad;
    free(m->fc_w);
    m->fc_w = malloc(n_fc * sizeof(float));
    if (!m->fc_w) {
        fail(r->err, r->err_len, r->name, "memory", "out of memory");
        goto bad;
    }
    if (get_f32s(r, "fc_w", m->fc_w, n_fc, 0) || get_f32s(r, "fc_b", m->fc_b, n_labels, 0) ||
        get_str(r, "id", m->id, 0, MODEL_ID_LEN))
        goto bad;
    if (r->pos != r->size) {
        fail(r->err, r->err_len, r->name, "id", "%zu unexpected bytes after the model id",
             r->size - r->pos);
        goto bad;
    }
    return m;
bad:
    model_destroy(m);
    return NULL;
}

model_t *model_load_memory(const void *data, size_t size, const char *name, char *err,
                           size_t err_len)
{
    reader r = {data, size, 0, 0, name ? name : "model", err, err_len};
    if (!data || size < sizeof model_magic || memcmp(data, model_magic, sizeof model_magic)) {
        fail(err, err_len, r.name, "magic", "not a genred model file");
        return NULL;
    }
    r.pos = sizeof model_magic;
    if (get_u32(&r, "version", &r.version)) return NULL;
    if (r.version < 1 || r.version > MODEL_FORMAT_VERSION) {
        fail(err, err_len, r.name, "version", "%u is not supported (this build reads 1..%d)",
             r.version, MODEL_FORMAT_VERSION);
        return NULL;
    }
    if (size < r.pos + 4) {
        fail(err, err_len, r.name, "crc32", "file truncated");
        return NULL;
    }
    r.size = size - 4;
    uint32_t stored = le32(r.p + r.size);
    uint32_t actual = (uint32_t)crc32(0L, r.p, (uInt)r.size);
#ifdef GENRED_FUZZING
    stored = actual; /* let the fuzzer past the checksum to the fields */
#endif
    if (stored != actual) {
        fail(err, err_len, r.name, "crc32",
             "%08x does not match the contents (%08x): "
             "file corrupted or truncated",
             stored, actual);
        return NULL;
    }
    frontend_params fe;
    if (read_frontend(&r, &fe)) return NULL;
    return read_body(&r, &fe);
}

model_t *model_load_file(const char *path, char *err, size_t err_len)
{
    /* O_NONBLOCK: open() on a FIFO would wait for a writer (a reload on the
     * daemon's main thread, SIGTERM unanswered); the check below refuses
     * it at once. It changes nothing for a regular file. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "rb");
    if (!f) {
        fail(err, err_len, path, "open", "%s", strerror(errno));
        if (fd >= 0) close(fd);
        return NULL;
    }
    struct stat st;
    model_t *m = NULL;
    unsigned char *buf = NULL;
    if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
        fail(err, err_len, path, "open", "not a regular file");
        goto out;
    }
    if ((uint64_t)st.st_size > MODEL_MAX_FILE) {
        fail(err, err_len, path, "size", "%lld bytes is larger than %u", (long long)st.st_size,
             MODEL_MAX_FILE);
        goto out;
    }
    size_t size = (size_t)st.st_size;
    buf = malloc(size ? size : 1);
    if (!buf) {
        fail(err, err_len, path, "memory", "out of memory");
        goto out;
    }
    if (fread(buf, 1, size, f) != size) {
        fail(err, err_len, path, "read", "%s", ferror(f) ? strerror(errno) : "short read");
        goto out;
    }
    m = model_load_memory(buf, size, path, err, err_len);
out:
    free(buf);
    fclose(f);
    return m;
}

model_t *model_load_default(char *err, size_t err_len)
{
    return model_load_memory(genred_default_model, genred_default_model_size, "default model", err,
                             err_len);
}
