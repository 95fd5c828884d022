/* bench_frontend [SECONDS]: front-end throughput on one core, in times real
 * time, for SECONDS (default 600) of synthetic 44.1 kHz stereo music-like
 * audio: the whole frontend (mix, resample to 22.05 kHz, MFCC, window,
 * level), and the resampler and the MFCC alone. A benchmark, not a test.
 *
 * bench_frontend --wav PATH [SECONDS] writes that audio as a 16-bit WAV
 * instead, for comparisons with other programs (frontend_vs_aubio.sh). */
#include "cli.h"
#include "clock.h"
#include "frontend.h"
#include "mfcc.h"
#include "resampler.h"

#include <math.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IN_RATE 44100
#define LOOP_S  10 /* seconds of audio generated, then looped */
#define BLOCK   1024

/* Tones with vibrato, a pulse and some noise: every band busy. */
static float *synth(size_t frames)
{
    float *x = malloc(2 * frames * sizeof *x);
    if (!x) return NULL;
    uint32_t s = 1;
    for (size_t i = 0; i < frames; i++) {
        double t = (double)i / IN_RATE, v = 0.0;
        for (int k = 1; k <= 8; k++)
            v += 0.05 / k * sin(2.0 * M_PI * 110.0 * k * t * (1.0 + 0.002 * sin(5.0 * t)));
        v *= 0.6 + 0.4 * (fmod(t * 2.0, 1.0) < 0.1);
        s = s * 1664525u + 1013904223u;
        double n = ((double)s / 4294967296.0 - 0.5) * 0.02;
        x[2 * i] = (float)(v + n);
        x[2 * i + 1] = (float)(0.8 * v - n);
    }
    return x;
}

static void report(const char *what, double audio_s, double cpu_s)
{
    printf("%-48s %7.0f s of audio in %6.3f s CPU = %7.0fx real time\n", what, audio_s, cpu_s,
           audio_s / cpu_s);
}

static int write_wav(const char *path, const float *x, size_t loop, size_t loops)
{
    SF_INFO info = {
        .samplerate = IN_RATE, .channels = 2, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf) {
        fprintf(stderr, "bench_frontend: %s: %s\n", path, sf_strerror(NULL));
        return 1;
    }
    for (size_t l = 0; l < loops; l++)
        if (sf_writef_float(sf, x, (sf_count_t)loop) != (sf_count_t)loop) {
            fprintf(stderr, "bench_frontend: %s: %s\n", path, sf_strerror(sf));
            sf_close(sf);
            return 1;
        }
    return sf_close(sf) ? 1 : 0;
}

/* CPU seconds of `loops` passes of the stereo x (loop frames) through the
 * whole front end, in BLOCK-frame blocks as an audio callback gives them. */
static double time_frontend(frontend_t *fe, const float *x, size_t loop, size_t loops)
{
    double t0 = thread_cpu_s();
    for (size_t l = 0; l < loops; l++) {
        for (size_t i = 0; i < loop; i += BLOCK) {
            size_t left = loop - i < BLOCK ? loop - i : BLOCK;
            const float *in = x + 2 * i;
            while (left) {
                size_t used;
                frontend_process(fe, in, left, &used);
                in += 2 * used;
                left -= used;
            }
        }
    }
    return thread_cpu_s() - t0;
}

/* The resampler alone, in one call per pass; *n_mono: its output frames. */
static double time_resampler(resampler_t *rs, const float *x, size_t loop, size_t loops,
                             float *mono, size_t *n_mono)
{
    double t0 = thread_cpu_s();
    for (size_t l = 0; l < loops; l++)
        *n_mono = resampler_process(rs, x, loop, mono);
    return thread_cpu_s() - t0;
}

/* MFCC alone over the resampled mono, `loops` times; *frames: counted. */
static double time_mfcc(mfcc_t *m, const float *mono, size_t n_mono, size_t loops, uint64_t *frames)
{
    float frame[64];
    double t0 = thread_cpu_s();
    for (size_t l = 0; l < loops; l++) {
        for (size_t off = 0; off < n_mono;) {
            size_t used;
            *frames += (uint64_t)mfcc_process(m, mono + off, n_mono - off, &used, frame);
            off += used;
        }
    }
    return thread_cpu_s() - t0;
}

int main(int argc, char **argv)
{
    const char *wav = NULL;
    char usage[96];
    snprintf(usage, sizeof usage, "usage: bench_frontend [--wav PATH] [SECONDS >= %d]\n", LOOP_S);
    if (argc > 2 && !strcmp(argv[1], "--wav")) {
        wav = argv[2];
        argv += 2;
        argc -= 2;
    }
    int rc = cli_positional("bench_frontend", argc, argv, usage);
    if (rc >= 0) return rc;
    double seconds = argc > 1 ? atof(argv[1]) : 600.0;
    if (!(seconds >= LOOP_S) || argc > 2) {
        fputs(usage, stderr);
        return 2;
    }
    size_t loop = (size_t)LOOP_S * IN_RATE, loops = (size_t)(seconds / LOOP_S);
    double audio_s = (double)(loops * LOOP_S);
    float *x = synth(loop);
    if (wav) return x ? write_wav(wav, x, loop, loops) : 1;
    mfcc_params p = mfcc_params_default();
    char err[256];
    frontend_params fp = {p, 3.0};
    frontend_t *fe = frontend_create(&fp, IN_RATE, 2, err, sizeof err);
    resampler_t *rs = resampler_create(IN_RATE, p.sample_rate, 2, err, sizeof err);
    mfcc_t *m = mfcc_create(&p, err, sizeof err);
    float *mono = malloc(resampler_max_output(rs, loop) * sizeof *mono);
    if (!x || !fe || !rs || !m || !mono) {
        fprintf(stderr, "bench_frontend: setup failed: %s\n", err);
        return 1;
    }

    double fe_s = time_frontend(fe, x, loop, loops);
    uint64_t frames = frontend_frame_count(fe);
    size_t n_mono = 0;
    double rs_s = time_resampler(rs, x, loop, loops, mono, &n_mono);
    uint64_t mfcc_frames = 0;
    double mfcc_s = time_mfcc(m, mono, n_mono, loops, &mfcc_frames);

    printf("genred front-end, one core, %g s of 44.1 kHz stereo (%llu MFCC frames)\n", audio_s,
           (unsigned long long)frames);
    report("frontend (mix + resample + MFCC + window)", audio_s, fe_s);
    report("  resampler 44.1 kHz stereo -> 22.05 kHz mono", audio_s, rs_s);
    report("  MFCC at 22.05 kHz", (double)n_mono * loops / p.sample_rate, mfcc_s);
    if (mfcc_frames + 2 < frames) return 1; /* keeps the work observable */
    free(x);
    free(mono);
    frontend_destroy(fe);
    resampler_destroy(rs);
    mfcc_destroy(m);
    return 0;
}
