/* mfcc: streaming MFCC as defined in mfcc.h.
 *
 * The n_fft-point real FFT is FFTW's single-precision real-to-complex
 * transform, planned once at create time (FFTW_ESTIMATE: no timing runs,
 * the same plan on every run). liquid-dsp's public fft_create_plan runs
 * its own FFT code, not FFTW: 155k 1024-point transforms took 1.86 s
 * there and 0.10 s in FFTW (issue 15). Mel weights are stored as band
 * ranges (each band is a contiguous run of bins, only the non-zero
 * weights), and everything runs in float: the power spectrum's dynamic
 * range fits, and the MFCCs stay within 2e-3 of torchaudio's float64
 * reference (test_mfcc). The band sums and the DCT are dsp/vec dot
 * products. */
#include "mfcc.h"
#include "vec.h"

#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POWER_FLOOR 1e-10f

struct mfcc {
    mfcc_params p;
    const vec_ops *vec;
    unsigned n_bins; /* n_fft / 2 + 1 */
    float *window;   /* periodic Hann, n_fft */
    float *frame;    /* samples of the frame being filled, n_fft */
    unsigned filled;
    float *fft_in;          /* windowed frame, n_fft */
    fftwf_complex *fft_out; /* n_bins */
    fftwf_plan plan;
    float *power; /* n_bins */
    unsigned *band_start, *band_len;
    float *band_weights; /* concatenated runs */
    float *log_mel;      /* n_mels */
    float *dct;          /* n_coeffs x n_mels */
    uint64_t nonfinite;
};

/* FFTW's planner is not thread-safe (fftw_execute is): every plan made or
 * destroyed in genred goes through here, never in a processing path. */
static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

static fftwf_plan plan_create(unsigned n, float *in, fftwf_complex *out)
{
    pthread_mutex_lock(&planner_lock);
    fftwf_plan plan = fftwf_plan_dft_r2c_1d((int)n, in, out, FFTW_ESTIMATE | FFTW_DESTROY_INPUT);
    pthread_mutex_unlock(&planner_lock);
    return plan;
}

static void plan_destroy(fftwf_plan plan)
{
    pthread_mutex_lock(&planner_lock);
    fftwf_destroy_plan(plan);
    pthread_mutex_unlock(&planner_lock);
}

mfcc_params mfcc_params_default(void)
{
    mfcc_params p = {.sample_rate = 22050.0,
                     .n_fft = 2048,
                     .hop = 512,
                     .n_mels = 128,
                     .n_coeffs = 13,
                     .fmin = 0.0,
                     .fmax = 0.0};
    return p;
}

/* Slaney's mel scale: linear below 1 kHz, logarithmic above. */
#define MEL_F_SP       (200.0 / 3.0)
#define MEL_MIN_LOG_HZ 1000.0
#define MEL_MIN_LOG    (MEL_MIN_LOG_HZ / MEL_F_SP)
#define MEL_LOGSTEP    (log(6.4) / 27.0)

static double hz_to_mel(double hz)
{
    if (hz < MEL_MIN_LOG_HZ) return hz / MEL_F_SP;
    return MEL_MIN_LOG + log(hz / MEL_MIN_LOG_HZ) / MEL_LOGSTEP;
}

static double mel_to_hz(double mel)
{
    if (mel < MEL_MIN_LOG) return mel * MEL_F_SP;
    return MEL_MIN_LOG_HZ * exp(MEL_LOGSTEP * (mel - MEL_MIN_LOG));
}

static int check_params(const mfcc_params *p, char *err, size_t err_len)
{
    if (!(p->sample_rate >= 1000.0 && p->sample_rate <= 384000.0)) {
        snprintf(err, err_len, "mfcc: sample_rate %g out of range (1000..384000 Hz)",
                 p->sample_rate);
        return 0;
    }
    if (p->n_fft < 16 || p->n_fft > 65536 || p->n_fft % 2) {
        snprintf(err, err_len, "mfcc: n_fft %u out of range (even, 16..65536)", p->n_fft);
        return 0;
    }
    if (p->hop < 1 || p->hop > p->n_fft) {
        snprintf(err, err_len, "mfcc: hop %u out of range (1..n_fft=%u)", p->hop, p->n_fft);
        return 0;
    }
    if (p->n_mels < 1 || p->n_mels > 1024) {
        snprintf(err, err_len, "mfcc: n_mels %u out of range (1..1024)", p->n_mels);
        return 0;
    }
    if (p->n_coeffs < 1 || p->n_coeffs > p->n_mels) {
        snprintf(err, err_len, "mfcc: n_coeffs %u out of range (1..n_mels=%u)", p->n_coeffs,
                 p->n_mels);
        return 0;
    }
    double nyquist = p->sample_rate / 2.0;
    double fmax = p->fmax == 0.0 ? nyquist : p->fmax;
    if (!(fmax > 0.0 && fmax <= nyquist)) {
        snprintf(err, err_len, "mfcc: fmax %g Hz out of range (0 < fmax <= sample_rate/2 = %g)",
                 p->fmax, nyquist);
        return 0;
    }
    if (!(p->fmin >= 0.0 && p->fmin < fmax)) {
        snprintf(err, err_len, "mfcc: fmin %g Hz out of range (0 <= fmin < fmax = %g)", p->fmin,
                 fmax);
        return 0;
    }
    return 1;
}

/* Triangular Slaney-normalised filters on the mel-spaced points, as
 * torchaudio.functional.melscale_fbanks(norm='slaney', mel_scale='slaney')
 * builds them; bin k sits at k * sample_rate / n_fft. */
static int build_mel_bank(mfcc_t *m)
{
    const mfcc_params *p = &m->p;
    unsigned n = p->n_mels;
    double *pts = malloc((n + 2) * sizeof *pts);
    float *w = malloc((size_t)n * m->n_bins * sizeof *w);
    if (!pts || !w) {
        free(pts);
        free(w);
        return 0;
    }
    double mel_lo = hz_to_mel(p->fmin), mel_hi = hz_to_mel(p->fmax);
    for (unsigned i = 0; i < n + 2; i++)
        pts[i] = mel_to_hz(mel_lo + (mel_hi - mel_lo) * i / (n + 1));
    size_t used = 0;
    for (unsigned b = 0; b < n; b++) {
        double lo = pts[b], mid = pts[b + 1], hi = pts[b + 2];
        double norm = 2.0 / (hi - lo);
        m->band_start[b] = 0;
        m->band_len[b] = 0;
        for (unsigned k = 0; k < m->n_bins; k++) {
            double f = k * p->sample_rate / p->n_fft;
            double v = fmin((f - lo) / (mid - lo), (hi - f) / (hi - mid));
            if (v <= 0.0) continue;
            if (!m->band_len[b]) m->band_start[b] = k;
            /* Runs are contiguous: a triangle is convex. */
            m->band_len[b] = k - m->band_start[b] + 1;
            w[used + k - m->band_start[b]] = (float)(v * norm);
        }
        used += m->band_len[b];
    }
    free(pts);
    m->band_weights = realloc(w, (used ? used : 1) * sizeof *w);
    if (!m->band_weights) {
        m->band_weights = w;
        return 0;
    }
    return 1;
}

/* Orthonormal DCT-II rows, torchaudio.functional.create_dct(norm='ortho'). */
static void build_dct(mfcc_t *m)
{
    unsigned n = m->p.n_mels;
    for (unsigned k = 0; k < m->p.n_coeffs; k++) {
        double scale = sqrt((k ? 2.0 : 1.0) / n);
        for (unsigned i = 0; i < n; i++)
            m->dct[k * n + i] = (float)(scale * cos(M_PI / n * (i + 0.5) * k));
    }
}

mfcc_t *mfcc_create(const mfcc_params *params, char *err, size_t err_len)
{
    return mfcc_create_at(params, simd_level_get(), err, err_len);
}

mfcc_t *mfcc_create_at(const mfcc_params *params, simd_level level, char *err, size_t err_len)
{
    if (!check_params(params, err, err_len)) return NULL;
    mfcc_t *m = calloc(1, sizeof *m);
    if (!m) goto oom;
    m->p = *params;
    if (m->p.fmax == 0.0) m->p.fmax = m->p.sample_rate / 2.0;
    m->vec = vec_ops_for(level);
    unsigned n = m->p.n_fft;
    m->n_bins = n / 2 + 1;
    m->window = malloc(n * sizeof *m->window);
    m->frame = malloc(n * sizeof *m->frame);
    m->fft_in = fftwf_malloc(n * sizeof *m->fft_in);
    m->fft_out = fftwf_malloc(m->n_bins * sizeof *m->fft_out);
    m->power = malloc(m->n_bins * sizeof *m->power);
    m->band_start = malloc(m->p.n_mels * sizeof *m->band_start);
    m->band_len = malloc(m->p.n_mels * sizeof *m->band_len);
    m->log_mel = malloc(m->p.n_mels * sizeof *m->log_mel);
    m->dct = malloc((size_t)m->p.n_coeffs * m->p.n_mels * sizeof *m->dct);
    if (!m->window || !m->frame || !m->fft_in || !m->fft_out || !m->power || !m->band_start ||
        !m->band_len || !m->log_mel || !m->dct || !build_mel_bank(m))
        goto oom;
    m->plan = plan_create(n, m->fft_in, m->fft_out);
    if (!m->plan) goto oom;
    for (unsigned i = 0; i < n; i++)
        m->window[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / n));
    build_dct(m);
    return m;
oom:
    snprintf(err, err_len, "mfcc: out of memory");
    mfcc_destroy(m);
    return NULL;
}

void mfcc_destroy(mfcc_t *m)
{
    if (!m) return;
    if (m->plan) plan_destroy(m->plan);
    fftwf_free(m->fft_in);
    fftwf_free(m->fft_out);
    free(m->window);
    free(m->frame);
    free(m->power);
    free(m->band_start);
    free(m->band_len);
    free(m->band_weights);
    free(m->log_mel);
    free(m->dct);
    free(m);
}

/* |X[k]|^2 of the windowed frame for k = 0..n_fft/2. */
static void power_spectrum(mfcc_t *m)
{
    m->vec->mul(m->frame, m->window, m->fft_in, m->p.n_fft);
    fftwf_execute(m->plan);
    m->vec->norm2((const float *)m->fft_out, m->power, m->n_bins);
}

static void cepstrum(mfcc_t *m, float *out)
{
    const float *w = m->band_weights;
    for (unsigned b = 0; b < m->p.n_mels; b++) {
        float s = m->vec->dot(w, m->power + m->band_start[b], m->band_len[b]);
        w += m->band_len[b];
        m->log_mel[b] = 10.0f * log10f(s > POWER_FLOOR ? s : POWER_FLOOR);
    }
    unsigned n = m->p.n_mels;
    for (unsigned c = 0; c < m->p.n_coeffs; c++)
        out[c] = m->vec->dot(m->dct + (size_t)c * n, m->log_mel, n);
}

int mfcc_process(mfcc_t *m, const float *x, size_t n, size_t *consumed, float *frame)
{
    size_t take = m->p.n_fft - m->filled;
    if (take > n) take = n;
    m->vec->mix(x, take, 1, m->frame + m->filled, &m->nonfinite);
    m->filled += (unsigned)take;
    *consumed = take;
    if (m->filled < m->p.n_fft) return 0;
    power_spectrum(m);
    cepstrum(m, frame);
    /* Keep the overlap for the next frame. */
    unsigned keep = m->p.n_fft - m->p.hop;
    memmove(m->frame, m->frame + m->p.hop, keep * sizeof *m->frame);
    m->filled = keep;
    return 1;
}

uint64_t mfcc_nonfinite_count(const mfcc_t *m)
{
    return m->nonfinite;
}

const mfcc_params *mfcc_get_params(const mfcc_t *m)
{
    return &m->p;
}

void mfcc_reset(mfcc_t *m)
{
    m->filled = 0;
    m->nonfinite = 0;
}
