/* input_file: any file libsndfile reads, as fast as the pipeline takes it
 * (archive tagging through the live code path) or paced like a live source
 * (--realtime). A reader thread waits for ring space instead of dropping. */
#include "audio_file.h"
#include "clock.h"
#include "input_backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FILE_BLOCK_FRAMES 1024

typedef struct {
    char *path;
    audio_file_t *file;
    unsigned channels;
    double rate;
    input_reader reader;
    float *samples;
} file_source;

/* Sleeps until `frames` frames after `start` are due, in slices short
 * enough to notice stop. Absolute deadlines so pacing does not drift. */
static void pace(file_source *src, const struct timespec *start, uint64_t frames)
{
    struct timespec due = *start;
    timespec_add_ns(&due, (int64_t)((double)frames / src->rate * 1e9));
    for (;;) {
        struct timespec now, slice;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (atomic_load(&src->reader.stop) || now.tv_sec > due.tv_sec ||
            (now.tv_sec == due.tv_sec && now.tv_nsec >= due.tv_nsec))
            return;
        slice = now;
        timespec_add_ns(&slice, 50 * 1000 * 1000);
        if (slice.tv_sec > due.tv_sec ||
            (slice.tv_sec == due.tv_sec && slice.tv_nsec > due.tv_nsec))
            slice = due;
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &slice, NULL);
    }
}

/* Starts the file again for --loop. 0, or -1 with the reason recorded. */
static int rewind_file(input_t *in, file_source *src)
{
    char err[256];
    audio_file_close(src->file);
    src->file = audio_file_open(src->path, err, sizeof err);
    if (!src->file) {
        input_backend_set_error(in, "%s", err);
        return -1;
    }
    return 0;
}

static void *reader_main(void *arg)
{
    input_t *in = arg;
    file_source *src = in->priv;
    struct timespec start;
    uint64_t sent = 0;
    long played = 1;
    char err[256];
    clock_gettime(CLOCK_MONOTONIC, &start);
    char title[INPUT_TITLE_LEN];
    audio_file_title(src->file, title, sizeof title);
    if (*title) input_backend_set_title(in, title); /* one genre.track at the end */
    input_backend_set_state(in, INPUT_RUNNING);
    while (!atomic_load(&src->reader.stop)) {
        long got = audio_file_read(src->file, src->samples, FILE_BLOCK_FRAMES, err, sizeof err);
        if (got < 0) {
            input_backend_set_error(in, "%s", err);
            input_backend_set_state(in, INPUT_FAILED);
            return NULL;
        }
        if (got == 0) {
            /* Plays join up as one stream: --loop=N makes a long soak from
             * a short file without writing it N times. */
            int again = in->opt.loop < 0 || played < in->opt.loop;
            if (again && sent > 0 && !rewind_file(in, src)) {
                played++;
                continue;
            }
            break;
        }
        if (input_backend_push_wait(in, src->samples, (size_t)got * src->channels,
                                    &src->reader.stop))
            break;
        sent += (uint64_t)got;
        if (in->opt.realtime) pace(src, &start, sent);
    }
    input_backend_set_note(in, "%s: end of file", src->path);
    input_backend_set_state(in, INPUT_ENDED);
    return NULL;
}

static int file_start(input_t *in, char *err, size_t err_len)
{
    file_source *src = in->priv;
    return input_reader_start(&src->reader, "gr-read", reader_main, in, err, err_len);
}

static void file_close(input_t *in)
{
    file_source *src = in->priv;
    if (!src) return;
    input_reader_stop(&src->reader);
    if (src->file) audio_file_close(src->file);
    free(src->samples);
    free(src->path);
    free(src);
    in->priv = NULL;
}

static const input_backend_ops file_ops = {"file", file_start, file_close, NULL};

static int file_check_spec(const char *spec, const char *args, char *err, size_t err_len)
{
    if (!args || !*args) {
        snprintf(err, err_len, "input '%s': expected file:PATH", spec);
        return -1;
    }
    if (access(args, R_OK)) {
        snprintf(err, err_len, "input '%s': %s", spec, strerror(errno));
        return -1;
    }
    return 0;
}

static int file_open(input_t *in, const char *args, char *err, size_t err_len)
{
    file_source *src = calloc(1, sizeof *src);
    if (!src) {
        snprintf(err, err_len, "input '%s': out of memory", in->opt.spec);
        return -1;
    }
    in->priv = src;
    in->ops = &file_ops;
    atomic_init(&src->reader.stop, false);
    src->path = strdup(args);
    src->file = src->path ? audio_file_open(src->path, err, err_len) : NULL;
    if (!src->file) {
        if (!src->path) snprintf(err, err_len, "input '%s': out of memory", in->opt.spec);
        file_close(in);
        return -1;
    }
    src->rate = audio_file_rate(src->file);
    src->channels = audio_file_channels(src->file);
    if (src->rate < 1000 || src->rate > 768000 || src->channels < 1 || src->channels > 64) {
        snprintf(err, err_len, "input '%s': unsupported format (%g Hz, %u channels)", in->opt.spec,
                 src->rate, src->channels);
        file_close(in);
        return -1;
    }
    src->samples = malloc(sizeof(float) * src->channels * FILE_BLOCK_FRAMES);
    if (!src->samples) {
        snprintf(err, err_len, "input '%s': out of memory", in->opt.spec);
        file_close(in);
        return -1;
    }
    input_backend_set_format(in, src->rate, src->channels);
    return 0;
}

const input_backend input_file_backend = {"file", file_check_spec, file_open, 1};
