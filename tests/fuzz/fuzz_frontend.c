/* libFuzzer target for the audio front-end: arbitrary bytes become float
 * samples (NaN, Inf, denormals, huge and full-scale values all turn up) fed
 * in fuzzer-chosen block sizes through a fuzzer-chosen configuration.
 * Invariants: nothing crashes, every consumed count is in range, every
 * window value is finite, the level is finite or the -200 dB floor, and the
 * non-finite count is exactly the number of non-finite input samples.
 *
 * Input: byte 0 picks the input rate, byte 1 the channels (1..4), byte 2 the
 * MFCC framing, byte 3 the block-size pattern; the rest is float32 samples. */
#include "frontend.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const double rates[] = {8000, 11025, 16000, 22050, 32000, 44100, 48000, 96000, 44056.5};
#define N_RATES   (sizeof rates / sizeof *rates)
#define N_FRAMING 4
#define MAX_CH    4

static mfcc_params framing(unsigned i)
{
    mfcc_params p = mfcc_params_default();
    static const unsigned n_fft[N_FRAMING] = {2048, 1024, 512, 256};
    static const unsigned hop[N_FRAMING] = {512, 256, 512, 64};
    static const unsigned n_mels[N_FRAMING] = {128, 40, 64, 13};
    static const unsigned n_coeffs[N_FRAMING] = {13, 20, 64, 13};
    p.n_fft = n_fft[i], p.hop = hop[i], p.n_mels = n_mels[i], p.n_coeffs = n_coeffs[i];
    if (i == 1) p.fmin = 50.0, p.fmax = 8000.0;
    return p;
}

/* Created once per configuration (filter design is not free), then reset
 * before each input: that also checks reset forgets everything. */
static frontend_t *cache[N_RATES][MAX_CH][N_FRAMING];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) return 0;
    unsigned r = data[0] % N_RATES, ch = 1 + data[1] % MAX_CH, f = data[2] % N_FRAMING;
    unsigned pattern = data[3];
    data += 4, size -= 4;
    frontend_t **slot = &cache[r][ch - 1][f];
    if (!*slot) {
        frontend_params p = {framing(f), 1.0};
        char err[256];
        *slot = frontend_create(&p, rates[r], ch, err, sizeof err);
        if (!*slot) __builtin_trap(); /* every configuration here is valid */
    }
    frontend_t *fe = *slot;
    frontend_reset(fe);

    size_t frames = size / (4 * ch);
    float *x = malloc(frames * ch * sizeof *x + 1);
    if (!x) return 0;
    memcpy(x, data, frames * ch * sizeof *x);
    uint64_t bad = 0;
    for (size_t i = 0; i < frames * ch; i++)
        bad += !isfinite(x[i]);

    const float *in = x;
    size_t left = frames, step = 0;
    while (left) {
        size_t block = 1 + (pattern * 7919u + step++ * 104729u) % (pattern & 1 ? 37 : 4096);
        if (block > left) block = left;
        size_t used;
        int got = frontend_process(fe, in, block, &used);
        if (used > block || (!got && used != block)) __builtin_trap();
        in += used * ch;
        left -= used;
        if (got) {
            unsigned held = frontend_window_full(fe) ? frontend_window_frames(fe)
                                                     : (unsigned)frontend_frame_count(fe);
            const float *w = frontend_window(fe);
            for (size_t i = 0; i < (size_t)held * frontend_coeffs(fe); i++)
                if (!isfinite(w[i])) __builtin_trap();
            double level = frontend_level_dbfs(fe);
            if (!isfinite(level) || level < -200.0) __builtin_trap();
        }
    }
    if (frontend_nonfinite_count(fe) != bad) __builtin_trap();
    free(x);
    return 0;
}
