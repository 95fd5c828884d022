/* libFuzzer target for the stdin PCM reader's parsing and framing. An input
 * is "FORMAT:RATE:CHANNELS\n" (the text after "stdin:") then raw bytes,
 * which arrive in pieces of pseudo-random sizes, as a pipe delivers them, into
 * a buffer a few frames long, as the reader thread does. Every whole frame
 * must come out exactly once, converted as an independent per-sample
 * reference says, and the partial frame at the end must be what is left. */
#include "pcm.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BLOCK_FRAMES 5

/* Sample i of the payload, converted the plain way (the host is little
 * endian, as genred's supported targets are). */
static float reference(const pcm_layout *l, const uint8_t *payload, size_t i, int *nonfinite)
{
    const uint8_t *p = payload + i * l->bytes_per_sample;
    *nonfinite = 0;
    if (l->format == PCM_S16LE) {
        int16_t v;
        memcpy(&v, p, sizeof v);
        return (float)v / 32768.0f;
    }
    if (l->format == PCM_S32LE) {
        int32_t v;
        memcpy(&v, p, sizeof v);
        return (float)((double)v / 2147483648.0);
    }
    float v;
    memcpy(&v, p, sizeof v);
    if (isfinite(v)) return v;
    *nonfinite = 1;
    return 0.0f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size < 64 ? size : 64);
    if (!nl) return 0;
    char args[64];
    memcpy(args, data, (size_t)(nl - data));
    args[nl - data] = '\0';
    if (strlen(args) != (size_t)(nl - data)) return 0; /* a NUL inside: not a C string */
    char spec[80], err[256] = "";
    snprintf(spec, sizeof spec, "stdin:%s", args);
    pcm_layout l;
    if (pcm_parse(spec, args, &l, err, sizeof err)) {
        if (strncmp(err, "input 'stdin:", 13)) __builtin_trap();
        return 0;
    }
    if (l.channels < 1 || l.channels > 64 || l.rate < 8000 || l.rate > 192000) __builtin_trap();

    const uint8_t *payload = nl + 1;
    size_t n = size - (size_t)(payload - data);
    size_t frame_bytes = (size_t)l.bytes_per_sample * l.channels, cap = frame_bytes * BLOCK_FRAMES;
    unsigned char *buf = malloc(cap);
    float *out = malloc(sizeof(float) * l.channels * BLOCK_FRAMES);
    if (!buf || !out) abort();
    size_t fed = 0, have = 0, frames_out = 0;
    uint64_t nonfinite = 0, expected_nonfinite = 0;
    uint32_t rng = (uint32_t)n * 2654435761u + 1;
    while (fed < n) {
        rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
        size_t piece = 1 + rng % (cap - have);
        if (piece > n - fed) piece = n - fed;
        memcpy(buf + have, payload + fed, piece);
        have += piece;
        fed += piece;
        size_t got = pcm_take_frames(&l, buf, &have, out, &nonfinite);
        if (have >= frame_bytes) __builtin_trap();
        for (size_t s = 0; s < got * l.channels; s++) {
            int bad;
            float want = reference(&l, payload, frames_out * l.channels + s, &bad);
            expected_nonfinite += (uint64_t)bad;
            if (memcmp(&want, &out[s], sizeof want) || !(out[s] >= -1.0f || l.format == PCM_F32LE))
                __builtin_trap();
        }
        frames_out += got;
    }
    if (frames_out != n / frame_bytes || have != n % frame_bytes ||
        memcmp(buf, payload + n - have, have) || nonfinite != expected_nonfinite)
        __builtin_trap();
    free(buf);
    free(out);
    return 0;
}
