#include "pcm.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_format(const char *s, pcm_format *f, unsigned *bytes)
{
    static const struct {
        const char *name;
        pcm_format format;
        unsigned bytes;
    } formats[] = {{"s16le", PCM_S16LE, 2}, {"s32le", PCM_S32LE, 4}, {"f32le", PCM_F32LE, 4}};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (!strcmp(s, formats[i].name)) {
            *f = formats[i].format;
            *bytes = formats[i].bytes;
            return 0;
        }
    return -1;
}

static int parse_uint(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* Defaults s16le:44100:2: what most decoders produce for a radio stream. */
int pcm_parse(const char *spec, const char *args, pcm_layout *l, char *err, size_t err_len)
{
    char buf[64] = "s16le";
    char *fields[3] = {NULL, NULL, NULL};
    if (args && strlen(args) >= sizeof buf) {
        snprintf(err, err_len, "input '%s': expected stdin:FORMAT:RATE:CHANNELS", spec);
        return -1;
    }
    if (args && *args) snprintf(buf, sizeof buf, "%s", args);
    char *save = NULL, *tok = strtok_r(buf, ":", &save);
    for (int i = 0; tok; i++, tok = strtok_r(NULL, ":", &save)) {
        if (i == 3) {
            snprintf(err, err_len, "input '%s': expected stdin:FORMAT:RATE:CHANNELS", spec);
            return -1;
        }
        fields[i] = tok;
    }
    long channels = 2;
    l->rate = 44100;
    if (!fields[0] || parse_format(fields[0], &l->format, &l->bytes_per_sample)) {
        snprintf(err, err_len, "input '%s': unknown sample format '%s' (s16le, s32le or f32le)",
                 spec, fields[0] ? fields[0] : "");
        return -1;
    }
    if (fields[1] && parse_uint(fields[1], 8000, 192000, &l->rate)) {
        snprintf(err, err_len, "input '%s': rate '%s' is not an integer in 8000..192000", spec,
                 fields[1]);
        return -1;
    }
    if (fields[2] && parse_uint(fields[2], 1, 64, &channels)) {
        snprintf(err, err_len, "input '%s': channels '%s' is not an integer in 1..64", spec,
                 fields[2]);
        return -1;
    }
    l->channels = (unsigned)channels;
    return 0;
}

/* Converts n little-endian samples; returns how many were not finite (f32
 * only) and were replaced by silence. */
static uint64_t convert(const pcm_layout *src, const unsigned char *in, float *out, size_t n)
{
    uint64_t bad = 0;
    for (size_t i = 0; i < n; i++, in += src->bytes_per_sample) {
        switch (src->format) {
        case PCM_S16LE: {
            int16_t v = (int16_t)(uint16_t)(in[0] | in[1] << 8);
            out[i] = (float)v * (1.0f / 32768.0f);
            break;
        }
        case PCM_S32LE: {
            uint32_t u = (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 |
                         (uint32_t)in[3] << 24;
            out[i] = (float)((double)(int32_t)u * (1.0 / 2147483648.0));
            break;
        }
        case PCM_F32LE: {
            uint32_t u = (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 |
                         (uint32_t)in[3] << 24;
            float v;
            memcpy(&v, &u, sizeof v);
            if (!isfinite(v)) {
                v = 0.0f;
                bad++;
            }
            out[i] = v;
            break;
        }
        }
    }
    return bad;
}

size_t pcm_take_frames(const pcm_layout *l, unsigned char *buf, size_t *have, float *out,
                       uint64_t *nonfinite)
{
    size_t frame_bytes = (size_t)l->bytes_per_sample * l->channels;
    size_t frames = *have / frame_bytes, used = frames * frame_bytes;
    *nonfinite += convert(l, buf, out, frames * l->channels);
    memmove(buf, buf + used, *have - used);
    *have -= used;
    return frames;
}
