/* frontend: resampler -> mfcc -> mfcc_window, plus a level meter.
 *
 * Input is resampled a chunk at a time into `pending`, then fed to mfcc. A
 * chunk is sized so that it can never yield more than `hop` model-rate
 * samples: at most one MFCC frame can complete per chunk, and what is left
 * pending after it can never complete another. So when frontend_process
 * returns 0 no finished frame is held back, whatever the caller's block
 * size, and the frames do not depend on how the input was split.
 *
 * The level meter keeps the energy and the sum of every hop-long segment of
 * model-rate audio the window covers; once per frame it takes the RMS about
 * the window's mean. Removing the mean makes a DC offset (a cheap interface's
 * bias, a stuck converter) read as the silence it sounds like, with no
 * start-up transient as a DC-blocking filter would have, and leaves music
 * untouched: over 3 s its mean is next to nothing. */
#include "frontend.h"

#include "mfcc_window.h"
#include "resampler.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_CHUNK     4096 /* input frames per resampling step */
#define LEVEL_FLOOR   (-200.0)
#define MAX_WINDOW_FR 100000u

struct frontend {
    resampler_t *rs;
    mfcc_t *mfcc;
    mfcc_window_t *win;
    const mfcc_params *p;
    frontend_params params;
    unsigned channels, n_frames;
    size_t chunk; /* input frames per resampling step */
    float *pending;
    size_t pending_len, pending_pos;
    float *frame;
    uint64_t frame_count;
    uint64_t samples; /* model-rate samples fed to mfcc */
    double *energy;   /* sum of squares of hop-long segment j at j % n_segments */
    double *sum;      /* sum of its samples */
    unsigned n_segments;
    double level_db;
    uint64_t hop_samples; /* classification hop; 1: every frame */
};

static size_t chunk_frames(const resampler_t *rs, unsigned hop)
{
    size_t k = MAX_CHUNK;
    while (k && resampler_max_output(rs, k) > hop)
        k = k > 64 ? k * 3 / 4 : k - 1;
    return k;
}

unsigned frontend_params_window_frames(const frontend_params *p)
{
    return mfcc_window_frames(p->window_seconds, p->mfcc.sample_rate, p->mfcc.n_fft, p->mfcc.hop);
}

int frontend_params_equal(const frontend_params *a, const frontend_params *b)
{
    const mfcc_params *x = &a->mfcc, *y = &b->mfcc;
    return x->sample_rate == y->sample_rate && x->n_fft == y->n_fft && x->hop == y->hop &&
           x->n_mels == y->n_mels && x->n_coeffs == y->n_coeffs && x->fmin == y->fmin &&
           x->fmax == y->fmax && a->window_seconds == b->window_seconds;
}

uint64_t frontend_hop_samples(const frontend_params *p, double hop_seconds)
{
    double h = round(hop_seconds * p->mfcc.sample_rate);
    return h >= 1 && h < 1e15 ? (uint64_t)h : 1;
}

/* Due windows whose first frame is at most s: hops of at least a frame give
 * one per multiple of hop up to s * frame_hop, shorter ones one per frame. */
static uint64_t windows_through(const frontend_params *p, uint64_t hop_samples, uint64_t s)
{
    uint64_t fh = p->mfcc.hop;
    return hop_samples >= fh ? s * fh / hop_samples + 1 : s + 1;
}

int frontend_window_starts_at(const frontend_params *p, uint64_t hop_samples, uint64_t frame)
{
    return frame == 0 ||
           windows_through(p, hop_samples, frame) > windows_through(p, hop_samples, frame - 1);
}

uint64_t frontend_window_start(const frontend_params *p, uint64_t hop_samples, uint64_t i)
{
    uint64_t fh = p->mfcc.hop;
    return hop_samples >= fh ? (i * hop_samples + fh - 1) / fh : i;
}

unsigned frontend_windows_live(const frontend_params *p, uint64_t hop_samples)
{
    /* Windows live at frame f start in [f - N + 1, f]: a span of N frame
     * hops holds at most N * frame_hop / hop + 1 due points. */
    unsigned n = frontend_params_window_frames(p);
    uint64_t fh = p->mfcc.hop;
    if (hop_samples < fh) return n;
    uint64_t k = (uint64_t)n * fh / hop_samples + 1;
    return k < n ? (unsigned)k : n;
}

frontend_t *frontend_create(const frontend_params *params, double in_rate, unsigned channels,
                            char *err, size_t err_len)
{
    double window_seconds = params->window_seconds;
    frontend_t *fe = calloc(1, sizeof *fe);
    if (!fe) {
        snprintf(err, err_len, "frontend: out of memory");
        return NULL;
    }
    fe->mfcc = mfcc_create(&params->mfcc, err, err_len);
    if (!fe->mfcc) goto fail;
    fe->p = mfcc_get_params(fe->mfcc);
    fe->rs = resampler_create(in_rate, fe->p->sample_rate, channels, err, err_len);
    if (!fe->rs) goto fail;
    fe->params = *params;
    fe->hop_samples = 1;
    fe->channels = channels;
    fe->n_frames = mfcc_window_frames(window_seconds, fe->p->sample_rate, fe->p->n_fft, fe->p->hop);
    if (!fe->n_frames || fe->n_frames > MAX_WINDOW_FR) {
        snprintf(err, err_len,
                 "frontend: window_seconds %g out of range (one frame of n_fft=%u at %g Hz .. "
                 "%u frames)",
                 window_seconds, fe->p->n_fft, fe->p->sample_rate, MAX_WINDOW_FR);
        goto fail;
    }
    fe->chunk = chunk_frames(fe->rs, fe->p->hop);
    if (!fe->chunk) {
        snprintf(err, err_len, "frontend: hop %u too small for resampling %g -> %g Hz", fe->p->hop,
                 in_rate, fe->p->sample_rate);
        goto fail;
    }
    fe->n_segments = fe->n_frames + (fe->p->n_fft - 1) / fe->p->hop + 1;
    fe->win = mfcc_window_create(fe->n_frames, fe->p->n_coeffs);
    fe->pending = malloc(resampler_max_output(fe->rs, fe->chunk) * sizeof *fe->pending);
    fe->frame = malloc(fe->p->n_coeffs * sizeof *fe->frame);
    fe->energy = malloc(fe->n_segments * sizeof *fe->energy);
    fe->sum = malloc(fe->n_segments * sizeof *fe->sum);
    if (!fe->win || !fe->pending || !fe->frame || !fe->energy || !fe->sum) {
        snprintf(err, err_len, "frontend: out of memory");
        goto fail;
    }
    frontend_reset(fe);
    return fe;
fail:
    frontend_destroy(fe);
    return NULL;
}

void frontend_destroy(frontend_t *fe)
{
    if (!fe) return;
    resampler_destroy(fe->rs);
    mfcc_destroy(fe->mfcc);
    mfcc_window_destroy(fe->win);
    free(fe->pending);
    free(fe->frame);
    free(fe->energy);
    free(fe->sum);
    free(fe);
}

/* Adds the energy and sum of n samples about to be fed to mfcc. */
static void meter(frontend_t *fe, const float *x, size_t n)
{
    unsigned hop = fe->p->hop;
    while (n) {
        uint64_t j = fe->samples / hop;
        unsigned offset = (unsigned)(fe->samples % hop);
        double *e = &fe->energy[j % fe->n_segments], *s = &fe->sum[j % fe->n_segments];
        if (!offset) *e = *s = 0.0;
        size_t run = hop - offset < n ? hop - offset : n;
        double se = 0.0, ss = 0.0;
        for (size_t i = 0; i < run; i++) {
            se += (double)x[i] * x[i];
            ss += x[i];
        }
        *e += se;
        *s += ss;
        fe->samples += run;
        x += run;
        n -= run;
    }
}

/* RMS about the mean over the window: from the oldest held frame's first
 * sample to now (the newest frame's last sample). Sums in double keep the
 * cancellation error of a full-scale offset near 1e-16, far below any
 * silence threshold. */
static void update_level(frontend_t *fe)
{
    unsigned hop = fe->p->hop;
    uint64_t first = fe->frame_count > fe->n_frames ? fe->frame_count - fe->n_frames : 0;
    uint64_t last = (fe->samples - 1) / hop;
    double e = 0.0, s = 0.0;
    for (uint64_t j = first; j <= last; j++) {
        e += fe->energy[j % fe->n_segments];
        s += fe->sum[j % fe->n_segments];
    }
    double n = (double)(fe->samples - first * hop), mean = s / n;
    double ms = e / n - mean * mean;
    fe->level_db = ms > 1e-20 ? 10.0 * log10(ms) : LEVEL_FLOOR;
}

void frontend_set_hop(frontend_t *fe, double hop_seconds)
{
    fe->hop_samples = frontend_hop_samples(&fe->params, hop_seconds);
}

/* What the frame just pushed (index frame_count - 1) means under the rule. */
static int frame_flags(const frontend_t *fe)
{
    uint64_t f = fe->frame_count - 1;
    int flags = FRONTEND_FRAME;
    if (frontend_window_starts_at(&fe->params, fe->hop_samples, f)) flags |= FRONTEND_WINDOW_START;
    if (f + 1 >= fe->n_frames &&
        frontend_window_starts_at(&fe->params, fe->hop_samples, f + 1 - fe->n_frames))
        flags |= FRONTEND_WINDOW_DUE;
    return flags;
}

int frontend_process(frontend_t *fe, const float *in, size_t frames, size_t *consumed)
{
    size_t used_in = 0;
    for (;;) {
        while (fe->pending_pos < fe->pending_len) {
            const float *x = fe->pending + fe->pending_pos;
            size_t used;
            int got =
                mfcc_process(fe->mfcc, x, fe->pending_len - fe->pending_pos, &used, fe->frame);
            meter(fe, x, used);
            fe->pending_pos += used;
            if (got) {
                mfcc_window_push(fe->win, fe->frame);
                fe->frame_count++;
                update_level(fe);
                *consumed = used_in;
                return frame_flags(fe);
            }
        }
        if (used_in == frames) break;
        size_t n = frames - used_in < fe->chunk ? frames - used_in : fe->chunk;
        fe->pending_len = resampler_process(fe->rs, in + used_in * fe->channels, n, fe->pending);
        fe->pending_pos = 0;
        used_in += n;
    }
    *consumed = used_in;
    return 0;
}

unsigned frontend_window_frames(const frontend_t *fe)
{
    return fe->n_frames;
}

unsigned frontend_coeffs(const frontend_t *fe)
{
    return fe->p->n_coeffs;
}

int frontend_window_full(const frontend_t *fe)
{
    return mfcc_window_count(fe->win) == fe->n_frames;
}

const float *frontend_window(const frontend_t *fe)
{
    return mfcc_window_view(fe->win);
}

const float *frontend_newest_frame(const frontend_t *fe)
{
    unsigned held = mfcc_window_count(fe->win);
    return mfcc_window_view(fe->win) + (size_t)(held ? held - 1 : 0) * fe->p->n_coeffs;
}

uint64_t frontend_frame_count(const frontend_t *fe)
{
    return fe->frame_count;
}

static uint64_t end_of_frame(const frontend_t *fe, uint64_t k)
{
    return k * fe->p->hop + fe->p->n_fft;
}

uint64_t frontend_frame_end(const frontend_t *fe)
{
    return fe->frame_count ? end_of_frame(fe, fe->frame_count - 1) : 0;
}

uint64_t frontend_samples_to_due(const frontend_t *fe)
{
    /* The first window not yet due starts at or after s0. */
    uint64_t s0 = fe->frame_count >= fe->n_frames ? fe->frame_count - fe->n_frames + 1 : 0;
    uint64_t i = s0 ? windows_through(&fe->params, fe->hop_samples, s0 - 1) : 0;
    uint64_t s = frontend_window_start(&fe->params, fe->hop_samples, i);
    uint64_t due = end_of_frame(fe, s + fe->n_frames - 1);
    /* Samples resampled but not yet fed to mfcc are had, not to come: a
     * caller waiting for more input than that would wait a block too long. */
    uint64_t had = fe->samples + (fe->pending_len - fe->pending_pos);
    return due > had ? due - had : 0;
}

uint64_t frontend_input_to_due(const frontend_t *fe)
{
    return resampler_input_for(fe->rs, frontend_samples_to_due(fe));
}

double frontend_level_dbfs(const frontend_t *fe)
{
    return fe->level_db;
}

uint64_t frontend_nonfinite_count(const frontend_t *fe)
{
    return resampler_nonfinite_count(fe->rs) + mfcc_nonfinite_count(fe->mfcc);
}

const mfcc_params *frontend_mfcc_params(const frontend_t *fe)
{
    return fe->p;
}

void frontend_reset(frontend_t *fe)
{
    resampler_reset(fe->rs);
    mfcc_reset(fe->mfcc);
    mfcc_window_reset(fe->win);
    fe->pending_len = fe->pending_pos = 0;
    fe->frame_count = 0;
    fe->samples = 0;
    fe->level_db = LEVEL_FLOOR;
}
