/* resampler: channel mix-down, then a polyphase rational resampler with a
 * Kaiser prototype flat to 92 % of the lower Nyquist and >= 80 dB down from
 * that Nyquist on.
 *
 * Why not liquid-dsp's resamplers (measured, liquid 1.5 as Debian ships it):
 * msresamp_rrrf's fixed 7-tap semi-length leaves a transition band a quarter
 * of the input rate wide, so tones just above the new Nyquist alias back at
 * only -20 dB; resamp_rrrf's linear interpolation between filter phases caps
 * its accuracy at -40..-60 dB; liquid's Kaiser design takes seconds for the
 * long prototypes needed here; and its firpfb dot product is built as scalar
 * code with one serial accumulator, 4-5x slower than a vector dot product
 * (whole resampler: 317x -> 1500x real time). The filter bank layout is
 * liquid's firpfb's. The dot products are dsp/vec's kernels (AVX2+FMA or
 * AVX-512 when the CPU has them).
 *
 * Symmetric taps are folded: a phase whose taps are symmetric (phase 0,
 * less its newest tap, and phase p/2 when p is even) adds the two inputs
 * that share a tap before multiplying, half the multiplies and a quarter
 * fewer loads. For 2:1 (44.1 -> 22.05 kHz, p = 1) that is every output.
 * The second input of each pair is read, in order, from a copy of the
 * history kept newest first, so no vector has to be reversed.
 *
 * Input is taken in chunks of up to MIX_CHUNK frames: mixed to mono
 * straight into the end of a linear history (and copied, reversed, into
 * the newest-first one), filtered, then the last taps - 1 inputs moved to
 * the front for the next chunk: per input sample a few stores, not a ring
 * index update.
 *
 * The rate out/in is taken as P/Q: exact for integer rates whose ratio
 * reduces to small P and Q (every common rate: 8k, 11.025k, 16k, 32k, 44.1k,
 * 48k, 96k, 192k, ...), otherwise the closest fraction with P and Q small
 * enough (relative rate error below 1e-6: a pitch shift nobody can hear).
 * One input is stepped at a time, so one input never yields more than
 * ceil(rate) outputs and the output does not depend on block sizes.
 *
 * Group delay is removed: the first outputs that the filter delay makes late
 * are dropped, so output sample k sits at input time k / rate (to within
 * half an output sample), as if the audio had been recorded at the output
 * rate. Features of a 44.1 kHz file thus line up with those of the same
 * audio at 22.05 kHz. */
#include "resampler.h"
#include "vec.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIX_CHUNK  1024 /* frames mixed to mono and filtered per inner step */
#define PASSBAND   0.92 /* passband edge as a fraction of the lower Nyquist */
#define STOPBAND   80.0 /* dB */
#define MAX_Q      65536u
#define MAX_TAPS   (1u << 21) /* P x 2m: 8 MiB of coefficients at most */
#define MAX_RATE_E 1e-6
#define FOLD_PAD   8 /* folded pairs are a multiple of this */
/* Either history: taps - 1 kept inputs, a chunk, and FOLD_PAD spare zeros. */
#define HISTORY_LEN(taps) ((size_t)(taps)-1 + MIX_CHUNK + FOLD_PAD)

/* A phase with symmetric taps: out = sum g[j] (w[a + j] + r[b + j]) plus at
 * most one tap of its own, w being an input's window oldest first and r
 * the same window newest first (r[u] = w[taps - 1 - u]). */
typedef struct {
    unsigned phase;
    unsigned a, b, pairs;
    float *g;
    unsigned single_at; /* index into w; single is 0 when there is none */
    float single;
} fold;

struct resampler {
    double rate;
    unsigned channels;
    int bypass;
    const vec_ops *vec;
    float *coeffs;   /* p phases x taps, oldest input's tap first */
    unsigned taps;   /* per phase: 2 m rounded up to a multiple of 8 */
    float *history;  /* taps - 1 inputs, then a chunk's; HISTORY_LEN, oldest first */
    float *reversed; /* a chunk's inputs, then taps - 1; newest first, when folded */
    fold folds[2];   /* phase 0 and phase p / 2 at most */
    unsigned n_folds;
    unsigned p, q;         /* p outputs per q inputs */
    unsigned phase;        /* next output's phase, due while < p */
    unsigned skip_initial; /* outputs the filter delay makes late */
    unsigned to_skip;
    uint64_t nonfinite;
};

static int rate_ok(double r)
{
    return r >= 8000.0 && r <= 192000.0;
}

static unsigned gcd(unsigned a, unsigned b)
{
    while (b) {
        unsigned t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* p/q = out/in exactly for integer rates with small terms, else the last
 * continued-fraction convergent of out/in with p <= max_p and q <= MAX_Q. */
static int ratio(double in, double out, unsigned max_p, unsigned *p, unsigned *q)
{
    if (in == floor(in) && out == floor(out)) {
        unsigned g = gcd((unsigned)in, (unsigned)out);
        *p = (unsigned)out / g;
        *q = (unsigned)in / g;
        if (*p <= max_p && *q <= MAX_Q) return 1;
    }
    double x = out / in, target = x;
    uint64_t p0 = 0, q0 = 1, p1 = 1, q1 = 0;
    *p = 0;
    for (int i = 0; i < 64; i++) {
        double a = floor(x);
        uint64_t p2 = (uint64_t)a * p1 + p0, q2 = (uint64_t)a * q1 + q0;
        if (p2 > max_p || q2 > MAX_Q) break;
        *p = (unsigned)p2, *q = (unsigned)q2;
        if (x - a < 1e-12) break;
        x = 1.0 / (x - a);
        p0 = p1, q0 = q1, p1 = p2, q1 = q2;
    }
    return *p && fabs((double)*p / *q / target - 1.0) <= MAX_RATE_E;
}

/* Modified Bessel function of the first kind, order 0 (power series). */
static double bessel_i0(double x)
{
    double sum = 1.0, term = 1.0, y = x * x / 4.0;
    for (int k = 1; k < 200 && term > 1e-17 * sum; k++) {
        term *= y / ((double)k * k);
        sum += term;
    }
    return sum;
}

/* Kaiser-windowed sinc lowpass of len = 2 c + 1 taps centred at c, cutoff fc
 * in cycles per sample, scaled to sum to gain. */
static void kaiser_lowpass(float *h, unsigned c, double fc, double gain)
{
    double beta = 0.1102 * (STOPBAND - 8.7), norm = bessel_i0(beta), sum = 0.0;
    for (unsigned i = 0; i <= 2 * c; i++) {
        double t = (double)i - c, r = t / c;
        double sinc = t == 0.0 ? 1.0 : sin(2.0 * M_PI * fc * t) / (2.0 * M_PI * fc * t);
        double v = 2.0 * fc * sinc * bessel_i0(beta * sqrt(fmax(0.0, 1.0 - r * r))) / norm;
        h[i] = (float)v;
        sum += v;
    }
    for (unsigned i = 0; i <= 2 * c; i++)
        h[i] = (float)(h[i] * gain / sum);
}

/* Whether c[lo..hi] reads the same backwards (the design is symmetric
 * bit for bit: it depends on |t| only). */
static int symmetric(const float *c, unsigned lo, unsigned hi)
{
    for (unsigned k = 0; lo + k < hi - k; k++)
        if (c[lo + k] != c[hi - k]) return 0;
    return 1;
}

/* Folds phase i if its non-zero taps, less at most one at either end, are
 * symmetric; returns 0 only when out of memory. */
static int fold_phase(resampler_t *rs, unsigned i)
{
    const float *c = rs->coeffs + (size_t)i * rs->taps;
    unsigned lo = 0, hi = rs->taps - 1;
    while (lo < hi && c[lo] == 0.0f)
        lo++;
    while (hi > lo && c[hi] == 0.0f)
        hi--;
    fold f = {.phase = i};
    if (hi > lo + 1 && !symmetric(c, lo, hi)) {
        if (symmetric(c, lo, hi - 1))
            f.single_at = hi--;
        else if (symmetric(c, lo + 1, hi))
            f.single_at = lo++;
        else
            return 1;
        f.single = c[f.single_at];
    }
    /* Pairs j = 0.. take taps centre + j and centre - j; an odd run's
     * centre tap is pair 0 with half its weight (x + x exactly doubles). */
    unsigned half = (hi - lo + 1) / 2, odd = (hi - lo) % 2 == 0;
    f.pairs = half + odd;
    if (f.pairs < 8) return 1;
    f.a = hi - half + 1 - odd;
    f.b = rs->taps - 1 - (lo + half - 1) - odd;
    /* Zero taps pad the pairs to whole 8-lane vectors (no scalar tail); the
     * histories have FOLD_PAD spare zeros for the reads past the window. */
    f.g = calloc(f.pairs + FOLD_PAD, sizeof *f.g);
    if (!f.g) return 0;
    memcpy(f.g, c + f.a, f.pairs * sizeof *f.g);
    if (odd) f.g[0] *= 0.5f;
    f.pairs = (f.pairs + FOLD_PAD - 1) / FOLD_PAD * FOLD_PAD;
    rs->folds[rs->n_folds++] = f;
    return 1;
}

/* Only phase 0 and phase p / 2 can be symmetric: phase i's taps reversed
 * are phase p - i's. */
static int find_folds(resampler_t *rs)
{
    if (!fold_phase(rs, 0) || (rs->p % 2 == 0 && !fold_phase(rs, rs->p / 2))) return 0;
    if (!rs->n_folds) return 1;
    rs->reversed = calloc(HISTORY_LEN(rs->taps), sizeof *rs->reversed);
    return rs->reversed != NULL;
}

static int create_bank(resampler_t *rs, double in_rate, double out_rate)
{
    /* Frequencies in cycles per input sample; m is the semi-length in
     * input samples, from Kaiser's estimate for the attenuation and width. */
    double nyquist = 0.5 * fmin(1.0, out_rate / in_rate);
    double transition = (1.0 - PASSBAND) * nyquist;
    double fc = nyquist - 0.5 * transition;
    unsigned m = (unsigned)ceil((STOPBAND - 7.95) / (14.36 * transition)) / 2 + 1;
    if (!ratio(in_rate, out_rate, MAX_TAPS / (2 * m), &rs->p, &rs->q)) return 0;
    rs->rate = (double)rs->p / rs->q;
    /* The prototype runs at p times the input rate; unity gain per phase. */
    unsigned centre = rs->p * m;
    float *h = malloc((2 * (size_t)centre + 1) * sizeof *h);
    if (!h) return 0;
    kaiser_lowpass(h, centre, fc / rs->p, rs->p);
    /* Phase i holds h[i + k p] for the input k samples old, like liquid's
     * firpfb; zero taps pad it to a multiple of 8 at the oldest end. */
    rs->taps = (2 * m + 7) / 8 * 8;
    rs->coeffs = calloc((size_t)rs->p * rs->taps, sizeof *rs->coeffs);
    rs->history = calloc(HISTORY_LEN(rs->taps), sizeof *rs->history);
    if (!rs->coeffs || !rs->history) {
        free(h);
        return 0;
    }
    for (unsigned i = 0; i < rs->p; i++)
        for (unsigned k = 0; k < 2 * m; k++)
            rs->coeffs[(size_t)i * rs->taps + rs->taps - 1 - k] = h[i + (size_t)k * rs->p];
    free(h);
    rs->skip_initial = (unsigned)lround(m * rs->rate);
    return find_folds(rs);
}

resampler_t *resampler_create(double in_rate, double out_rate, unsigned channels, char *err,
                              size_t err_len)
{
    return resampler_create_at(in_rate, out_rate, channels, simd_level_get(), err, err_len);
}

resampler_t *resampler_create_at(double in_rate, double out_rate, unsigned channels,
                                 simd_level level, char *err, size_t err_len)
{
    if (!rate_ok(in_rate)) {
        snprintf(err, err_len, "resampler: input rate %g Hz out of range (8000..192000)", in_rate);
        return NULL;
    }
    if (!rate_ok(out_rate)) {
        snprintf(err, err_len, "resampler: output rate %g Hz out of range (8000..192000)",
                 out_rate);
        return NULL;
    }
    if (channels < 1 || channels > 64) {
        snprintf(err, err_len, "resampler: channels %u out of range (1..64)", channels);
        return NULL;
    }
    resampler_t *rs = calloc(1, sizeof *rs);
    if (!rs) {
        snprintf(err, err_len, "resampler: out of memory");
        return NULL;
    }
    rs->rate = 1.0;
    rs->channels = channels;
    rs->vec = vec_ops_for(level);
    rs->bypass = in_rate == out_rate;
    if (!rs->bypass) {
        if (!create_bank(rs, in_rate, out_rate)) {
            snprintf(err, err_len, "resampler: cannot set up %g -> %g Hz", in_rate, out_rate);
            resampler_destroy(rs);
            return NULL;
        }
    }
    resampler_reset(rs);
    return rs;
}

void resampler_destroy(resampler_t *rs)
{
    if (!rs) return;
    free(rs->coeffs);
    free(rs->history);
    free(rs->reversed);
    for (unsigned i = 0; i < rs->n_folds; i++)
        free(rs->folds[i].g);
    free(rs);
}

size_t resampler_max_output(const resampler_t *rs, size_t frames)
{
    if (rs->bypass) return frames;
    return (size_t)ceil((double)frames * rs->rate) + (size_t)ceil(rs->rate) + 2;
}

static float folded(const resampler_t *rs, const fold *f, const float *window, const float *rwindow)
{
    return rs->vec->dot_sum(window + f->a, rwindow + f->b, f->g, f->pairs) +
           f->single * window[f->single_at];
}

static float output(const resampler_t *rs, const float *window, const float *rwindow)
{
    for (unsigned k = 0; k < rs->n_folds; k++)
        if (rs->folds[k].phase == rs->phase) return folded(rs, &rs->folds[k], window, rwindow);
    return rs->vec->dot(window, rs->coeffs + (size_t)rs->phase * rs->taps, rs->taps);
}

/* Mixes n <= MIX_CHUNK frames into both histories, after the kept inputs. */
static void take_chunk(resampler_t *rs, const float *in, size_t n)
{
    float *x = rs->history + rs->taps - 1;
    rs->vec->mix(in, n, rs->channels, x, &rs->nonfinite);
    if (rs->reversed)
        for (size_t i = 0; i < n; i++)
            rs->reversed[MIX_CHUNK - 1 - i] = x[i];
}

/* Keeps the newest taps - 1 inputs of both histories for the next chunk. */
static void keep_tail(resampler_t *rs, size_t n)
{
    size_t keep = rs->taps - 1;
    memmove(rs->history, rs->history + n, keep * sizeof *rs->history);
    if (rs->reversed)
        memmove(rs->reversed + MIX_CHUNK, rs->reversed + MIX_CHUNK - n,
                keep * sizeof *rs->reversed);
}

/* The outputs due while the chunk's n inputs arrive; returns their number.
 * Input i's window is history[i .. i + taps), newest first from
 * reversed[MIX_CHUNK - 1 - i]. An output is due at input i while phase < p
 * (each adds q); moving to the next input subtracts p. */
static size_t filter_chunk(resampler_t *rs, size_t n, float *out)
{
    size_t written = 0;
    unsigned phase = rs->phase, p = rs->p, q = rs->q;
    for (size_t i = 0; i < n;) {
        if (phase >= p) {
            phase -= p;
            i++;
            continue;
        }
        rs->phase = phase;
        out[written++] = output(rs, rs->history + i, rs->reversed + MIX_CHUNK - 1 - i);
        phase += q;
    }
    rs->phase = phase;
    return written;
}

/* Drops the first outputs while the filter delay makes them late. */
static size_t skip_late(resampler_t *rs, float *out, size_t got)
{
    size_t drop = got < rs->to_skip ? got : rs->to_skip;
    if (drop) memmove(out, out + drop, (got - drop) * sizeof *out);
    rs->to_skip -= (unsigned)drop;
    return got - drop;
}

size_t resampler_process(resampler_t *rs, const float *in, size_t frames, float *out)
{
    if (rs->bypass) {
        rs->vec->mix(in, frames, rs->channels, out, &rs->nonfinite);
        return frames;
    }
    size_t written = 0;
    while (frames) {
        size_t n = frames < MIX_CHUNK ? frames : MIX_CHUNK;
        take_chunk(rs, in, n);
        written += skip_late(rs, out + written, filter_chunk(rs, n, out + written));
        keep_tail(rs, n);
        in += n * rs->channels;
        frames -= n;
    }
    return written;
}

void resampler_reset(resampler_t *rs)
{
    if (rs->history) memset(rs->history, 0, HISTORY_LEN(rs->taps) * sizeof *rs->history);
    if (rs->reversed) memset(rs->reversed, 0, HISTORY_LEN(rs->taps) * sizeof *rs->reversed);
    rs->phase = 0;
    rs->to_skip = rs->skip_initial;
    rs->nonfinite = 0;
}

uint64_t resampler_input_for(const resampler_t *rs, uint64_t outputs)
{
    if (rs->bypass) return outputs;
    uint64_t r = (uint64_t)rs->to_skip + outputs; /* raw outputs, the dropped ones first */
    if (!r) return 0;
    /* filter_chunk writes raw output k (from 0) at input floor((phase + k q) / p). */
    return ((uint64_t)rs->phase + (r - 1) * rs->q) / rs->p + 1;
}

uint64_t resampler_nonfinite_count(const resampler_t *rs)
{
    return rs->nonfinite;
}
