/* input_stdin: raw interleaved little-endian PCM on standard input, e.g.
 *   ffmpeg -i URL -f s16le -ar 44100 -ac 2 - | genred --input stdin:s16le:44100:2
 * A reader thread converts whole frames to float and waits for ring space
 * rather than dropping, so a pipe loses nothing. */
#include "input_backend.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STDIN_BLOCK_FRAMES 1024

typedef enum { PCM_S16LE, PCM_S32LE, PCM_F32LE } pcm_format;

typedef struct {
    int fd;
    pcm_format format;
    unsigned bytes_per_sample, channels;
    pthread_t thread;
    int thread_started;
    atomic_bool stop;
    unsigned char *bytes; /* one block of raw input plus a carried partial frame */
    float *samples;
} stdin_source;

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

/* args: [FORMAT[:RATE[:CHANNELS]]], defaults s16le:44100:2 (what most
 * decoders produce for a radio stream). */
static int parse_args(const char *spec, const char *args, stdin_source *src, long *rate, char *err,
                      size_t err_len)
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
    *rate = 44100;
    if (!fields[0] || parse_format(fields[0], &src->format, &src->bytes_per_sample)) {
        snprintf(err, err_len, "input '%s': unknown sample format '%s' (s16le, s32le or f32le)",
                 spec, fields[0] ? fields[0] : "");
        return -1;
    }
    if (fields[1] && parse_uint(fields[1], 8000, 192000, rate)) {
        snprintf(err, err_len, "input '%s': rate '%s' is not an integer in 8000..192000", spec,
                 fields[1]);
        return -1;
    }
    if (fields[2] && parse_uint(fields[2], 1, 64, &channels)) {
        snprintf(err, err_len, "input '%s': channels '%s' is not an integer in 1..64", spec,
                 fields[2]);
        return -1;
    }
    src->channels = (unsigned)channels;
    return 0;
}

/* Converts n little-endian samples; returns how many were not finite (f32
 * only) and were replaced by silence. */
static uint64_t convert(const stdin_source *src, const unsigned char *in, float *out, size_t n)
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

/* Waits until fd is readable or stop is set, so that close() never hangs
 * on a pipe whose writer has gone quiet. 1 readable, 0 stop, -1 error. */
static int wait_readable(stdin_source *src)
{
    struct pollfd p = {.fd = src->fd, .events = POLLIN};
    while (!atomic_load(&src->stop)) {
        int r = poll(&p, 1, 100);
        if (r > 0) return 1;
        if (r < 0 && errno != EINTR) return -1;
    }
    return 0;
}

static void *reader_main(void *arg)
{
    input_t *in = arg;
    stdin_source *src = in->priv;
    size_t frame_bytes = (size_t)src->bytes_per_sample * src->channels;
    size_t cap = frame_bytes * STDIN_BLOCK_FRAMES, have = 0;
    input_backend_set_state(in, INPUT_RUNNING);
    for (;;) {
        int ready = wait_readable(src);
        if (ready <= 0) {
            if (ready < 0) input_backend_set_error(in, "stdin: poll: %s", strerror(errno));
            break;
        }
        ssize_t got = read(src->fd, src->bytes + have, cap - have);
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (got < 0) {
            input_backend_set_error(in, "stdin: read: %s", strerror(errno));
            break;
        }
        if (got == 0) {
            if (have)
                input_backend_set_error(
                    in, "stdin: ended inside a frame; %zu trailing bytes ignored", have);
            else
                input_backend_set_error(in, "stdin: end of input");
            break;
        }
        have += (size_t)got;
        size_t frames = have / frame_bytes, n = frames * src->channels;
        if (!frames) continue;
        uint64_t bad = convert(src, src->bytes, src->samples, n);
        if (bad) input_backend_add_nonfinite(in, bad);
        if (input_backend_push_wait(in, src->samples, n, &src->stop)) break;
        /* Keep the partial frame for the next read. */
        memmove(src->bytes, src->bytes + frames * frame_bytes, have - frames * frame_bytes);
        have -= frames * frame_bytes;
    }
    input_backend_set_state(in, INPUT_ENDED);
    return NULL;
}

static int stdin_start(input_t *in, char *err, size_t err_len)
{
    stdin_source *src = in->priv;
    atomic_store(&src->stop, false);
    int e = pthread_create(&src->thread, NULL, reader_main, in);
    if (e) {
        snprintf(err, err_len, "input '%s': cannot start reader thread: %s", in->opt.spec,
                 strerror(e));
        return -1;
    }
    src->thread_started = 1;
    return 0;
}

static void stdin_close(input_t *in)
{
    stdin_source *src = in->priv;
    if (!src) return;
    atomic_store(&src->stop, true);
    if (src->thread_started) pthread_join(src->thread, NULL);
    free(src->bytes);
    free(src->samples);
    free(src);
    in->priv = NULL;
}

static const input_backend_ops stdin_ops = {"stdin", stdin_start, stdin_close};

int input_stdin_open(input_t *in, const char *args, char *err, size_t err_len)
{
    stdin_source *src = calloc(1, sizeof *src);
    if (!src) {
        snprintf(err, err_len, "input '%s': out of memory", in->opt.spec);
        return -1;
    }
    long rate;
    if (parse_args(in->opt.spec, args, src, &rate, err, err_len)) {
        free(src);
        return -1;
    }
    src->fd = STDIN_FILENO;
    atomic_init(&src->stop, false);
    src->bytes = malloc((size_t)src->bytes_per_sample * src->channels * STDIN_BLOCK_FRAMES);
    src->samples = malloc(sizeof(float) * src->channels * STDIN_BLOCK_FRAMES);
    in->priv = src;
    in->ops = &stdin_ops;
    if (!src->bytes || !src->samples) {
        snprintf(err, err_len, "input '%s': out of memory", in->opt.spec);
        stdin_close(in);
        return -1;
    }
    input_backend_set_format(in, (double)rate, src->channels);
    return 0;
}
