/* input_backend: how a source back-end plugs into input.c (internal to daemon/).
 *
 * input.c finds the back-end by the spec's scheme in its table (see
 * input_backend below: a new kind of source is one descriptor and one row),
 * has it check the spec, allocates the input_t, and calls the back-end's
 * open function with the text after "scheme:" (NULL when there is none).
 * open validates its arguments, connects to the source if it can, stores
 * its private state in in->priv, sets in->ops, and publishes the rate and
 * channel count it will deliver (input_backend_set_format). On return,
 * input.c creates the ring (ring_seconds of audio at the published rate, at
 * least 48 kHz, times channels), so a back-end must not push before start().
 *
 *   start(in):  begin producing into in->ring; 0, or -1 with err set.
 *   close(in):  stop producing (no ring_push after it returns), release the
 *               source and free in->priv. Called once, also when start was
 *               never called or failed, from the main thread.
 *
 * Threads: exactly one producer pushes into in->ring (the audio callback or
 * the back-end's reader thread). The atomics below are read by the pipeline
 * and publisher threads at any time. The audio callback may only ring_push
 * (input_backend_push) and touch atomics: no allocation, locking, logging,
 * and no system call but the wake-up's non-blocking eventfd write.
 * input_backend_set_error takes a mutex, so call it from non-real-time
 * threads only (open, supervisor/retry thread, JACK shutdown callback).
 *
 * Format changes (a JACK server returning at another rate): write the new
 * rate/channels with input_backend_set_format BEFORE pushing audio in the new
 * format; it increments the generation, and the pipeline rebuilds its
 * front-end when it sees a new generation. Channel count must not exceed the
 * count published at open (the ring is sized from it).
 *
 * Build: the CMake options GENRED_WITH_JACK / GENRED_WITH_PORTAUDIO /
 * GENRED_WITH_FFMPEG (on by default, cmake/deps.cmake) compile input_jack.c /
 * input_portaudio.c / input_url.c, link jack / portaudio-2.0 / FFmpeg's
 * libraries and define the same names for input.c, which
 * otherwise defines the descriptor itself with compiled_in 0. */
#ifndef GENRED_INPUT_BACKEND_H
#define GENRED_INPUT_BACKEND_H

#include "arrivals.h"
#include "input.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/* A back-end's own thread: the reader of a non-real-time source (stdin,
 * file, url) or the supervisor of an audio-callback one (PortAudio, and a
 * JACK client shared by many streams). Started
 * once, asked to stop through `stop` (input_request_stop sets it for every
 * back-end), joined on close. Its sleeps end early on a stop, so a stream
 * waiting minutes to reconnect still stops at once. */
typedef struct {
    pthread_t thread;
    int started;
    atomic_bool stop;
    pthread_mutex_t lock; /* with wake: the sleeps' alarm clock */
    pthread_cond_t wake;
} input_reader;

typedef struct {
    const char *name; /* "jack", "portaudio", "stdin", "file" */
    int (*start)(input_t *in, char *err, size_t err_len);
    void (*close)(input_t *in);
    /* Optional: asks an audio-callback back-end's own machinery to stop
     * without waiting (see input_request_stop); a back-end whose thread is
     * an input_reader needs none, input.c stops it. */
    void (*request_stop)(input_t *in);
} input_backend_ops;

/* One kind of source, named by the scheme before the spec's first ':'.
 * input.c keeps the table of them; a back-end exports its descriptor as
 * input_<scheme>_backend. */
typedef struct {
    const char *scheme;
    /* Checks the text after "scheme:" (args, NULL when there is none)
     * without opening the source: 0, or -1 with the reason open would give,
     * naming the spec. NULL when any args will do. */
    int (*check_spec)(const char *spec, const char *args, char *err, size_t err_len);
    /* Opens the source (see the top of this file). args as for check_spec,
     * which has accepted them. */
    int (*open)(input_t *in, const char *args, char *err, size_t err_len);
    /* 0 when this genred was built without the back-end: only `scheme` is
     * set, and its specs say so. */
    int compiled_in;
} input_backend;

extern const input_backend input_stdin_backend, input_file_backend, input_jack_backend,
    input_portaudio_backend, input_url_backend;

struct input {
    input_options opt; /* spec and client_name point at copies owned by input.c */
    const input_backend_ops *ops;
    void *priv;           /* back-end state */
    input_reader *reader; /* the back-end's reader thread, or NULL */
    ring_t *ring;
    arrivals_t *arrivals; /* arrival times and the worker's wake-up */
    uint64_t pushed;      /* samples pushed since the start (producer only) */

    _Atomic double rate;
    atomic_uint channels;
    atomic_uint generation;
    atomic_int state; /* input_state */
    atomic_uint_fast64_t nonfinite;

    pthread_mutex_t error_lock; /* error, note and titles */
    char error[256], note[256];
    /* Titles noted by the producer, not yet taken by the worker. */
    struct {
        uint64_t at;
        char text[INPUT_TITLE_LEN];
    } titles[8];
    unsigned title_first, title_count;
    atomic_uint titles_waiting;
};

/* --list-devices; returns the process exit status. */
int input_portaudio_list_devices(void);

/* Helpers for back-ends (defined in input.c). */
void input_backend_set_format(input_t *in, double rate, unsigned channels);
void input_backend_set_state(input_t *in, input_state s);
/* Records the error line shown by input_error() and genre.status. Takes a
 * mutex: not from the audio callback. */
void input_backend_set_error(input_t *in, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Records an ordinary status line (input_note()), same rules. */
void input_backend_set_note(input_t *in, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Logs "input 'SPEC': line" at `level` and records the line: LOG_INFO as a
 * note that also clears the error (the source is fine again), anything
 * worse as the error. */
void input_backend_say(input_t *in, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void input_backend_add_nonfinite(input_t *in, uint64_t n);
/* The title of the audio pushed from now on (see input_next_title). Takes
 * the mutex: reader threads only. */
void input_backend_set_title(input_t *in, const char *title);
/* The producer's push: the block into the ring whole or not at all (see
 * ring_push), its arrival time noted, and the worker woken if it waits for
 * this much. Real-time safe (see arrivals.h: at most one non-blocking
 * eventfd write). Returns what ring_push returns. */
size_t input_backend_push(input_t *in, const float *samples, size_t n);
/* For reader threads (stdin, file), which are not real-time and must lose
 * nothing: waits in short sleeps until the block fits. 0 when pushed, -1
 * when *stop became true first. Never from an audio callback. */
int input_backend_push_wait(input_t *in, const float *samples, size_t n, const atomic_bool *stop);

/* Starts main(in) as the back-end's thread, named `name` (top -H, and the
 * benchmarks' per-thread figures): 0, or -1 with "input 'SPEC': cannot
 * start NAME thread: why" in err. */
int input_reader_start(input_reader *r, const char *name, void *(*main)(void *), input_t *in,
                       char *err, size_t err_len);
/* The same for a thread that serves several inputs (a shared JACK client's
 * supervisor): main(arg), owned by whoever started it, which alone stops
 * it (no one input's stop does); spec names the input it starts for, in
 * err. */
int input_reader_start_shared(input_reader *r, const char *name, void *(*main)(void *), void *arg,
                              const char *spec, char *err, size_t err_len);
/* Sleeps ms milliseconds or until a stop is asked: 1 when stopping. */
int input_reader_sleep(input_reader *r, long ms);
/* Any thread: sets stop and ends a sleep, without waiting. */
void input_reader_ask_stop(input_reader *r);
/* Asks it to stop and joins the thread if it was started. */
void input_reader_stop(input_reader *r);
/* The same, waiting at most ms: -1 when the thread did not end by then (it
 * is detached and left running, with its lock and condition), else 0. For
 * a thread stuck inside a library that may never return (PortAudio). */
int input_reader_stop_within(input_reader *r, long ms);

#endif
