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
 * code with one serial accumulator, 4-5x slower than the vector loop below
 * (whole resampler: 317x -> 1500x real time). The filter bank layout is
 * liquid's firpfb's.
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
#include "sample.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIX_CHUNK  1024 /* frames mixed to mono per inner step */
#define PASSBAND   0.92 /* passband edge as a fraction of the lower Nyquist */
#define STOPBAND   80.0 /* dB */
#define MAX_Q      65536u
#define MAX_TAPS   (1u << 21) /* P x 2m: 8 MiB of coefficients at most */
#define MAX_RATE_E 1e-6

struct resampler {
    double rate;
    unsigned channels;
    int bypass;
    float *coeffs;         /* p phases x taps, oldest input's tap first */
    unsigned taps;         /* per phase: 2 m rounded up to a multiple of 8 */
    float *history;        /* 2 x taps: each input written twice */
    unsigned newest;       /* history index of the newest input, < taps */
    unsigned p, q;         /* p outputs per q inputs */
    unsigned phase;        /* next output's phase, due while < p */
    unsigned skip_initial; /* outputs the filter delay makes late */
    unsigned to_skip;
    uint64_t nonfinite;
    float mono[MIX_CHUNK];
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
    rs->history = calloc(2 * (size_t)rs->taps, sizeof *rs->history);
    if (!rs->coeffs || !rs->history) {
        free(h);
        return 0;
    }
    for (unsigned i = 0; i < rs->p; i++)
        for (unsigned k = 0; k < 2 * m; k++)
            rs->coeffs[(size_t)i * rs->taps + rs->taps - 1 - k] = h[i + (size_t)k * rs->p];
    free(h);
    rs->skip_initial = (unsigned)lround(m * rs->rate);
    return 1;
}

resampler_t *resampler_create(double in_rate, double out_rate, unsigned channels, char *err,
                              size_t err_len)
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
    free(rs);
}

size_t resampler_max_output(const resampler_t *rs, size_t frames)
{
    if (rs->bypass) return frames;
    return (size_t)ceil((double)frames * rs->rate) + (size_t)ceil(rs->rate) + 2;
}

static void mix(resampler_t *rs, const float *in, size_t frames, float *mono)
{
    unsigned ch = rs->channels;
    if (ch == 1) {
        for (size_t i = 0; i < frames; i++)
            mono[i] = sample_sanitize(in[i], &rs->nonfinite);
        return;
    }
    float scale = 1.0f / (float)ch;
    for (size_t i = 0; i < frames; i++) {
        float sum = 0.0f;
        for (unsigned c = 0; c < ch; c++)
            sum += sample_sanitize(in[i * ch + c], &rs->nonfinite);
        mono[i] = sum * scale;
    }
}

/* n is a multiple of 8. Eight independent sums in two 4-lane vectors (a
 * GCC/Clang extension): plain C loops are vectorised by GCC but not Clang,
 * and a single serial sum is 4x slower. */
typedef float v4f __attribute__((vector_size(16)));

static float dot(const float *x, const float *h, size_t n)
{
    v4f a = {0}, b = {0};
    for (size_t i = 0; i < n; i += 8) {
        v4f x0, x1, h0, h1;
        memcpy(&x0, x + i, sizeof x0), memcpy(&x1, x + i + 4, sizeof x1);
        memcpy(&h0, h + i, sizeof h0), memcpy(&h1, h + i + 4, sizeof h1);
        a += x0 * h0;
        b += x1 * h1;
    }
    v4f s = a + b;
    return (s[0] + s[2]) + (s[1] + s[3]);
}

/* One input sample in, the outputs now due out; returns their number. */
static unsigned step(resampler_t *rs, float x, float *out)
{
    unsigned n = 0;
    unsigned taps = rs->taps;
    rs->newest = rs->newest + 1 == taps ? 0 : rs->newest + 1;
    rs->history[rs->newest] = rs->history[rs->newest + taps] = x;
    const float *window = rs->history + rs->newest + 1; /* oldest first */
    for (; rs->phase < rs->p; rs->phase += rs->q)
        out[n++] = dot(window, rs->coeffs + (size_t)rs->phase * taps, taps);
    rs->phase -= rs->p;
    return n;
}

size_t resampler_process(resampler_t *rs, const float *in, size_t frames, float *out)
{
    if (rs->bypass) {
        mix(rs, in, frames, out);
        return frames;
    }
    size_t written = 0;
    while (frames) {
        size_t n = frames < MIX_CHUNK ? frames : MIX_CHUNK;
        mix(rs, in, n, rs->mono);
        for (size_t i = 0; i < n; i++) {
            unsigned got = step(rs, rs->mono[i], out + written);
            if (rs->to_skip && got) {
                unsigned drop = got < rs->to_skip ? got : rs->to_skip;
                for (unsigned k = drop; k < got; k++)
                    out[written + k - drop] = out[written + k];
                got -= drop;
                rs->to_skip -= drop;
            }
            written += got;
        }
        in += n * rs->channels;
        frames -= n;
    }
    return written;
}

void resampler_reset(resampler_t *rs)
{
    if (rs->history) memset(rs->history, 0, 2 * (size_t)rs->taps * sizeof *rs->history);
    rs->newest = 0;
    rs->phase = 0;
    rs->to_skip = rs->skip_initial;
    rs->nonfinite = 0;
}

uint64_t resampler_nonfinite_count(const resampler_t *rs)
{
    return rs->nonfinite;
}
