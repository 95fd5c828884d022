/* input_url: `url:URL`, a network stream (http, https, Icecast and
 * Shoutcast, HLS; any codec FFmpeg decodes) on a reader thread.
 *
 * The reader connects, decodes and pushes, waiting for room in the ring
 * rather than dropping, so a stalled network or a slow worker loses nothing
 * inside genred. When the stream fails (refused, 404, not audio, the server
 * gone, nothing received for READ_TIMEOUT_MS) the input goes `waiting` with
 * the reason, and the reader retries after 1, 2, 4 ... 30 s; a stream that
 * ran a minute starts again from 1 s. The end of a stream is a drop too:
 * radio does not end (use file: for files).
 *
 * While a stream waits on the network its reader sleeps in poll(2) (FFmpeg
 * wakes it ten times a second to ask interrupted() whether to give up), and
 * between retries in input_reader_sleep: no thread spins, and a stop ends
 * either wait at once.
 *
 * The title (ICY StreamTitle, or tags) is noted with the sample it starts
 * at, for the worker's genre.track. */
#include "clock.h"
#include "input_backend.h"
#include "log.h"
#include "media.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    BLOCK_FRAMES = 1024,
    MAX_CHANNELS = 2, /* the front end mixes to mono; more is only work */
    OPEN_TIMEOUT_MS = 15000,
    READ_TIMEOUT_MS = 10000,
    RETRY_FIRST_MS = 1000,
    RETRY_MAX_MS = 30000,
    STEADY_MS = 60000, /* a stream that ran this long retries from the start */
};

typedef struct {
    input_t *in;
    const char *url;
    input_reader reader;
    media_t *media;
    float *samples;
    /* Read by interrupted() on the reader thread itself: FFmpeg calls it
     * from inside its blocking open and read. */
    int64_t deadline_ns;
    char title[INPUT_TITLE_LEN];
    char reason[256]; /* why the last try failed */
    char said[256];   /* the last reason logged, so a long outage logs once */
} url_source;

static int interrupted(void *ctx)
{
    url_source *s = ctx;
    return atomic_load(&s->reader.stop) || monotonic_ns() > s->deadline_ns;
}

/* media's errors start "URL: "; the input's lines name the spec already.
 * timeout_ms: the deadline that interrupted() enforced meanwhile. */
static void keep_reason(url_source *s, const char *what, const char *err, long timeout_ms)
{
    size_t n = strlen(s->url);
    const char *why = !strncmp(err, s->url, n) && !strncmp(err + n, ": ", 2) ? err + n + 2 : err;
    if (atomic_load(&s->reader.stop))
        snprintf(s->reason, sizeof s->reason, "%s: stopped", what);
    else if (!strcmp(why, "interrupted")) /* our deadline explains it, not FFmpeg's words */
        snprintf(s->reason, sizeof s->reason, "%s: %s %ld s", what,
                 timeout_ms == OPEN_TIMEOUT_MS ? "no answer within" : "nothing received for",
                 timeout_ms / 1000);
    else
        snprintf(s->reason, sizeof s->reason, "%s: %s", what, why);
}

/* Publishes the stream's format; the audio of the old one still in the
 * ring is let through first, so the worker reads each in its own format. */
static int follow_format(url_source *s)
{
    double rate = media_rate(s->media);
    unsigned ch = media_channels(s->media);
    if (rate == input_rate(s->in) && ch == input_channels(s->in)) return 0;
    while (ring_readable(s->in->ring))
        if (input_reader_sleep(&s->reader, 10)) return -1;
    input_backend_set_format(s->in, rate, ch);
    return 0;
}

static void note_title(url_source *s)
{
    char title[INPUT_TITLE_LEN];
    media_title(s->media, title, sizeof title);
    if (!strcmp(title, s->title)) return; /* the same song after a reconnection */
    memcpy(s->title, title, sizeof s->title);
    input_backend_set_title(s->in, title);
}

static int connect_stream(url_source *s)
{
    char err[512];
    media_options opt = {interrupted, s, MAX_CHANNELS};
    s->deadline_ns = monotonic_ns() + (int64_t)OPEN_TIMEOUT_MS * 1000000;
    s->media = media_open(s->url, &opt, err, sizeof err);
    if (!s->media) {
        keep_reason(s, "cannot connect", err, OPEN_TIMEOUT_MS);
        return -1;
    }
    if (follow_format(s)) return -1;
    char what[128];
    media_describe(s->media, what, sizeof what);
    input_backend_set_state(s->in, INPUT_RUNNING);
    input_backend_say(s->in, LOG_INFO, "connected: %s", what);
    s->said[0] = '\0';
    return 0;
}

/* Decodes and pushes until the stream fails or a stop. */
static void play(url_source *s)
{
    char err[512];
    unsigned ch = media_channels(s->media);
    for (;;) {
        s->deadline_ns = monotonic_ns() + (int64_t)READ_TIMEOUT_MS * 1000000;
        long got = media_read(s->media, s->samples, BLOCK_FRAMES, err, sizeof err);
        if (got < 0) {
            keep_reason(s, "stream lost", err, READ_TIMEOUT_MS);
            return;
        }
        if (got == 0) {
            snprintf(s->reason, sizeof s->reason, "stream lost: the server ended it");
            return;
        }
        note_title(s);
        if (input_backend_push_wait(s->in, s->samples, (size_t)got * ch, &s->reader.stop)) return;
    }
}

/* Says why the stream waits, once per reason, and sleeps before the next
 * try. 1 when stopping. */
static int wait_to_retry(url_source *s, long retry_ms)
{
    input_backend_set_state(s->in, INPUT_WAITING);
    if (strcmp(s->reason, s->said)) {
        input_backend_say(s->in, LOG_WARN, "%s; retrying in %ld s, then up to every %d s",
                          s->reason, retry_ms / 1000, RETRY_MAX_MS / 1000);
        memcpy(s->said, s->reason, sizeof s->said);
    } else {
        input_backend_set_error(s->in, "%s; retrying in %ld s", s->reason, retry_ms / 1000);
    }
    return input_reader_sleep(&s->reader, retry_ms);
}

static void *reader_main(void *arg)
{
    input_t *in = arg;
    url_source *s = in->priv;
    long retry_ms = RETRY_FIRST_MS;
    while (!atomic_load(&s->reader.stop)) {
        if (connect_stream(s) == 0) {
            int64_t since = monotonic_ns();
            play(s);
            media_close(s->media);
            s->media = NULL;
            if (monotonic_ns() - since > (int64_t)STEADY_MS * 1000000) retry_ms = RETRY_FIRST_MS;
        }
        if (atomic_load(&s->reader.stop) || wait_to_retry(s, retry_ms)) break;
        retry_ms = retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : retry_ms * 2;
    }
    input_backend_set_note(in, "stopped");
    input_backend_set_state(in, INPUT_ENDED);
    return NULL;
}

static int url_start(input_t *in, char *err, size_t err_len)
{
    url_source *s = in->priv;
    input_backend_set_state(in, INPUT_WAITING);
    input_backend_set_note(in, "connecting");
    return input_reader_start(&s->reader, "gr-url", reader_main, in, err, err_len);
}

static void url_close(input_t *in)
{
    url_source *s = in->priv;
    if (!s) return;
    input_reader_stop(&s->reader);
    media_close(s->media);
    free(s->samples);
    free(s);
    in->priv = NULL;
}

static const input_backend_ops url_ops = {"url", url_start, url_close, NULL};

static int url_check_spec(const char *spec, const char *args, char *err, size_t err_len)
{
    if (!args || !strstr(args, "://")) {
        snprintf(err, err_len, "input '%s': expected url:SCHEME://HOST/PATH (http, https, hls)",
                 spec);
        return -1;
    }
    if (!media_has_protocol(args)) {
        snprintf(err, err_len, "input '%s': FFmpeg has no protocol '%.*s'", spec,
                 (int)(strstr(args, "://") - args), args);
        return -1;
    }
    return 0;
}

/* Connects nothing yet: 300 stations must not hold up genred's start.
 * The format published here (48 kHz stereo) sizes the ring for the usual
 * radio formats; the reader publishes the real one when it connects. */
static int url_open(input_t *in, const char *args, char *err, size_t err_len)
{
    url_source *s = calloc(1, sizeof *s);
    float *samples = malloc(sizeof *samples * BLOCK_FRAMES * MAX_CHANNELS);
    if (!s || !samples) {
        free(s);
        free(samples);
        snprintf(err, err_len, "input '%s': out of memory", in->opt.spec);
        return -1;
    }
    s->in = in;
    s->url = args;
    s->samples = samples;
    atomic_init(&s->reader.stop, false);
    in->priv = s;
    in->ops = &url_ops;
    input_backend_set_format(in, 48000, MAX_CHANNELS);
    return 0;
}

const input_backend input_url_backend = {"url", url_check_spec, url_open, 1};
