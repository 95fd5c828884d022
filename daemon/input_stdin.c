/* input_stdin: raw interleaved little-endian PCM on standard input, e.g.
 *   ffmpeg -i URL -f s16le -ar 44100 -ac 2 - | genred --input stdin:s16le:44100:2
 * A reader thread converts whole frames to float and waits for ring space
 * rather than dropping, so a pipe loses nothing. */
#include "input_backend.h"
#include "pcm.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STDIN_BLOCK_FRAMES 1024

typedef struct {
    int fd;
    pcm_layout pcm;
    input_reader reader;
    unsigned char *bytes; /* one block of raw input plus a carried partial frame */
    float *samples;
} stdin_source;

/* Waits until fd is readable or stop is set, so that close() never hangs
 * on a pipe whose writer has gone quiet. 1 readable, 0 stop, -1 error. */
static int wait_readable(stdin_source *src)
{
    struct pollfd p = {.fd = src->fd, .events = POLLIN};
    while (!atomic_load(&src->reader.stop)) {
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
    size_t frame_bytes = (size_t)src->pcm.bytes_per_sample * src->pcm.channels;
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
                input_backend_set_note(in, "stdin: end of input");
            break;
        }
        have += (size_t)got;
        uint64_t bad = 0;
        size_t frames = pcm_take_frames(&src->pcm, src->bytes, &have, src->samples, &bad);
        if (bad) input_backend_add_nonfinite(in, bad);
        if (frames && input_backend_push_wait(in, src->samples, frames * src->pcm.channels,
                                              &src->reader.stop))
            break;
    }
    input_backend_set_state(in, INPUT_ENDED);
    return NULL;
}

static int stdin_start(input_t *in, char *err, size_t err_len)
{
    stdin_source *src = in->priv;
    return input_reader_start(&src->reader, "gr-read", reader_main, in, err, err_len);
}

static void stdin_close(input_t *in)
{
    stdin_source *src = in->priv;
    if (!src) return;
    input_reader_stop(&src->reader);
    free(src->bytes);
    free(src->samples);
    free(src);
    in->priv = NULL;
}

static const input_backend_ops stdin_ops = {"stdin", stdin_start, stdin_close, NULL};

static int stdin_check_spec(const char *spec, const char *args, char *err, size_t err_len)
{
    pcm_layout l;
    return pcm_parse(spec, args, &l, err, err_len);
}

static int stdin_open(input_t *in, const char *args, char *err, size_t err_len)
{
    stdin_source *src = calloc(1, sizeof *src);
    if (!src) {
        snprintf(err, err_len, "input '%s': out of memory", in->opt.spec);
        return -1;
    }
    if (pcm_parse(in->opt.spec, args, &src->pcm, err, err_len)) {
        free(src);
        return -1;
    }
    src->fd = STDIN_FILENO;
    atomic_init(&src->reader.stop, false);
    src->bytes = malloc((size_t)src->pcm.bytes_per_sample * src->pcm.channels * STDIN_BLOCK_FRAMES);
    src->samples = malloc(sizeof(float) * src->pcm.channels * STDIN_BLOCK_FRAMES);
    in->priv = src;
    in->ops = &stdin_ops;
    if (!src->bytes || !src->samples) {
        snprintf(err, err_len, "input '%s': out of memory", in->opt.spec);
        stdin_close(in);
        return -1;
    }
    input_backend_set_format(in, (double)src->pcm.rate, src->pcm.channels);
    return 0;
}

const input_backend input_stdin_backend = {"stdin", stdin_check_spec, stdin_open, 1};
