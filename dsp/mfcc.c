/* mfcc: streaming MFCC as defined in mfcc.h.
 *
 * The n_fft-point real FFT runs as one n_fft/2-point complex FFT (liquid-dsp,
 * FFTW underneath) on even/odd samples packed as re/im, then a split step:
 * half the work of a complex transform of the real frame. Mel weights are
 * stored sparsely (each band is a contiguous run of bins), and the mel and
 * DCT sums accumulate in double so the float FFT is the only float step. */
#include "mfcc.h"
#include "sample.h"

#include <complex.h>
#include <liquid/liquid.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POWER_FLOOR 1e-10

struct mfcc {
    mfcc_params p;
    unsigned n_bins; /* n_fft / 2 + 1 */
    float *window;   /* periodic Hann, n_fft */
    float *frame;    /* samples of the frame being filled, n_fft */
    unsigned filled;
    float complex *fft_in, *fft_out; /* n_fft / 2 each */
    fftplan plan;
    float complex *twiddle; /* exp(-2 pi i k / n_fft), k < n_fft / 2 */
    double *power;          /* n_bins */
    unsigned *band_start, *band_len;
    double *band_weights; /* concatenated runs */
    double *log_mel;      /* n_mels */
    double *dct;          /* n_coeffs x n_mels */
    uint64_t nonfinite;
};

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
    double *w = malloc((size_t)n * m->n_bins * sizeof *w);
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
            w[used + k - m->band_start[b]] = v * norm;
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
            m->dct[k * n + i] = scale * cos(M_PI / n * (i + 0.5) * k);
    }
}

mfcc_t *mfcc_create(const mfcc_params *params, char *err, size_t err_len)
{
    if (!check_params(params, err, err_len)) return NULL;
    mfcc_t *m = calloc(1, sizeof *m);
    if (!m) goto oom;
    m->p = *params;
    if (m->p.fmax == 0.0) m->p.fmax = m->p.sample_rate / 2.0;
    unsigned n = m->p.n_fft, half = n / 2;
    m->n_bins = half + 1;
    m->window = malloc(n * sizeof *m->window);
    m->frame = malloc(n * sizeof *m->frame);
    m->fft_in = fft_malloc(half * sizeof *m->fft_in);
    m->fft_out = fft_malloc(half * sizeof *m->fft_out);
    m->twiddle = malloc(half * sizeof *m->twiddle);
    m->power = malloc(m->n_bins * sizeof *m->power);
    m->band_start = malloc(m->p.n_mels * sizeof *m->band_start);
    m->band_len = malloc(m->p.n_mels * sizeof *m->band_len);
    m->log_mel = malloc(m->p.n_mels * sizeof *m->log_mel);
    m->dct = malloc((size_t)m->p.n_coeffs * m->p.n_mels * sizeof *m->dct);
    if (!m->window || !m->frame || !m->fft_in || !m->fft_out || !m->twiddle || !m->power ||
        !m->band_start || !m->band_len || !m->log_mel || !m->dct || !build_mel_bank(m))
        goto oom;
    m->plan = fft_create_plan(half, m->fft_in, m->fft_out, LIQUID_FFT_FORWARD, 0);
    if (!m->plan) goto oom;
    for (unsigned i = 0; i < n; i++)
        m->window[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / n));
    for (unsigned k = 0; k < half; k++)
        m->twiddle[k] = (float complex)cexp(-2.0 * M_PI * I * k / n);
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
    if (m->plan) fft_destroy_plan(m->plan);
    fft_free(m->fft_in);
    fft_free(m->fft_out);
    free(m->window);
    free(m->frame);
    free(m->twiddle);
    free(m->power);
    free(m->band_start);
    free(m->band_len);
    free(m->band_weights);
    free(m->log_mel);
    free(m->dct);
    free(m);
}

/* |X[k]|^2 of the windowed real frame for k = 0..n_fft/2. With z[j] =
 * x[2j] + i x[2j+1] and Z its half-size DFT, the even- and odd-sample
 * spectra are E = (Z[k] + conj Z[h-k]) / 2, O = (Z[k] - conj Z[h-k]) / 2i,
 * and X[k] = E + w^k O. */
static void power_spectrum(mfcc_t *m)
{
    unsigned half = m->p.n_fft / 2;
    for (unsigned j = 0; j < half; j++)
        m->fft_in[j] =
            m->frame[2 * j] * m->window[2 * j] + I * (m->frame[2 * j + 1] * m->window[2 * j + 1]);
    fft_execute(m->plan);
    const float complex *z = m->fft_out;
    for (unsigned k = 0; k <= half; k++) {
        float complex a = z[k % half], b = conjf(z[(half - k) % half]);
        float complex even = 0.5f * (a + b), odd = -0.5f * I * (a - b);
        float complex w = k < half ? m->twiddle[k] : -1.0f;
        float complex x = even + w * odd;
        double re = crealf(x), im = cimagf(x);
        m->power[k] = re * re + im * im;
    }
}

static void cepstrum(mfcc_t *m, float *out)
{
    const double *w = m->band_weights;
    for (unsigned b = 0; b < m->p.n_mels; b++) {
        const double *pw = m->power + m->band_start[b];
        double s = 0.0;
        for (unsigned k = 0; k < m->band_len[b]; k++)
            s += w[k] * pw[k];
        w += m->band_len[b];
        m->log_mel[b] = 10.0 * log10(fmax(s, POWER_FLOOR));
    }
    unsigned n = m->p.n_mels;
    for (unsigned c = 0; c < m->p.n_coeffs; c++) {
        double s = 0.0;
        for (unsigned i = 0; i < n; i++)
            s += m->dct[c * n + i] * m->log_mel[i];
        out[c] = (float)s;
    }
}

int mfcc_process(mfcc_t *m, const float *x, size_t n, size_t *consumed, float *frame)
{
    size_t take = m->p.n_fft - m->filled;
    if (take > n) take = n;
    float *dst = m->frame + m->filled;
    for (size_t i = 0; i < take; i++)
        dst[i] = sample_sanitize(x[i], &m->nonfinite);
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
