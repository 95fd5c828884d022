/* pcm: raw interleaved little-endian PCM as the stdin input reads it: the
 * "FORMAT:RATE:CHANNELS" argument, and whole frames cut from a byte stream
 * that arrives in pieces of any size. Pure functions (internal to daemon/),
 * so they can be fuzzed without a pipe or a thread. */
#ifndef GENRED_PCM_H
#define GENRED_PCM_H

#include <stddef.h>
#include <stdint.h>

typedef enum { PCM_S16LE, PCM_S32LE, PCM_F32LE } pcm_format;

typedef struct {
    pcm_format format;
    unsigned bytes_per_sample, channels;
    long rate;
} pcm_layout;

/* args: [FORMAT[:RATE[:CHANNELS]]] (NULL or "" for s16le:44100:2); `spec`
 * names the input in errors. 0, or -1 with a one-line reason in err. */
int pcm_parse(const char *spec, const char *args, pcm_layout *l, char *err, size_t err_len);

/* Converts the whole frames among the first *have bytes of buf into out
 * (room for *have / frame bytes frames), then moves the partial frame left
 * over to the start of buf and sets *have to its length. Returns the frames
 * converted; adds to *nonfinite the f32 samples that were NaN or infinite,
 * which become silence. */
size_t pcm_take_frames(const pcm_layout *l, unsigned char *buf, size_t *have, float *out,
                       uint64_t *nonfinite);

#endif
