/* input: spec parsing, dispatch to a back-end, and the shared state every
 * back-end publishes (see input_backend.h). */
#include "clock.h"
#include "input_backend.h"
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Back-ends this genred was built without: their specs say so. */
#ifndef GENRED_WITH_JACK
const input_backend input_jack_backend = {.scheme = "jack"};
#endif
#ifndef GENRED_WITH_PORTAUDIO
const input_backend input_portaudio_backend = {.scheme = "portaudio"};
#endif
#ifndef GENRED_WITH_FFMPEG
const input_backend input_url_backend = {.scheme = "url"};
#endif

static const input_backend *const backends[] = {
    &input_portaudio_backend, &input_jack_backend, &input_stdin_backend,
    &input_file_backend,      &input_url_backend,
};
enum { N_BACKENDS = sizeof backends / sizeof *backends };

/* Splits "scheme:args"; args is NULL without a colon. */
static const char *split_spec(const char *spec, char scheme[16])
{
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    if (len >= 16) len = 15;
    memcpy(scheme, spec, len);
    scheme[len] = '\0';
    return colon ? colon + 1 : NULL;
}

/* The back-end for a spec's scheme, or NULL with the known ones in err. */
static const input_backend *find_backend(const char *spec, const char *scheme, char *err,
                                         size_t err_len)
{
    for (unsigned i = 0; i < N_BACKENDS; i++)
        if (!strcmp(scheme, backends[i]->scheme)) return backends[i];
    char known[128] = "";
    for (unsigned i = 0; i < N_BACKENDS; i++)
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                 i == 0                ? ""
                 : i + 1 == N_BACKENDS ? " or "
                                       : ", ",
                 backends[i]->scheme);
    snprintf(err, err_len, "input '%s': unknown source '%s' (%s)", spec, scheme, known);
    return NULL;
}

/* The back-end that will open a spec, once the spec is checked; NULL with
 * the reason in err. */
static const input_backend *checked_backend(const char *spec, const char **args, char *err,
                                            size_t err_len)
{
    if (!spec || !*spec) {
        snprintf(err, err_len, "input: empty source spec");
        return NULL;
    }
    char scheme[16];
    *args = split_spec(spec, scheme);
    const input_backend *b = find_backend(spec, scheme, err, err_len);
    if (b && !b->compiled_in) {
        snprintf(err, err_len, "input '%s': this genred was built without %s support", spec,
                 scheme);
        return NULL;
    }
    if (b && b->check_spec && b->check_spec(spec, *args, err, err_len)) return NULL;
    return b;
}

int input_check_spec(const char *spec, char *err, size_t err_len)
{
    const char *args;
    return checked_backend(spec, &args, err, err_len) ? 0 : -1;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void free_input(input_t *in)
{
    ring_destroy(in->ring);
    arrivals_destroy(in->arrivals);
    pthread_mutex_destroy(&in->error_lock);
    free((char *)in->opt.spec);
    free((char *)in->opt.client_name);
    free((char *)in->opt.name);
    free((char *)in->opt.jack_client);
    free((char *)in->opt.port_prefix);
    free(in);
}

static int create_ring(input_t *in, char *err, size_t err_len)
{
    double seconds = in->opt.ring_seconds > 0 ? in->opt.ring_seconds : 2.0;
    double rate = atomic_load(&in->rate);
    if (rate < 48000) rate = 48000;
    double samples = seconds * rate * atomic_load(&in->channels);
    if (samples < 4096) samples = 4096;
    in->ring = samples < 1e9 ? ring_create((size_t)samples) : NULL;
    if (!in->ring) {
        snprintf(err, err_len, "input '%s': cannot allocate a %.1f s ring buffer", in->opt.spec,
                 seconds);
        return -1;
    }
    return 0;
}

input_t *input_create(const input_options *opt, char *err, size_t err_len)
{
    const char *args;
    const input_backend *backend = checked_backend(opt ? opt->spec : NULL, &args, err, err_len);
    if (!backend) return NULL;
    input_t *in = calloc(1, sizeof *in);
    if (!in) {
        snprintf(err, err_len, "input '%s': out of memory", opt->spec);
        return NULL;
    }
    in->opt = *opt;
    in->opt.spec = dup_or_null(opt->spec);
    in->opt.client_name = dup_or_null(opt->client_name ? opt->client_name : "genred");
    in->opt.name = dup_or_null(opt->name);
    in->opt.jack_client = dup_or_null(opt->jack_client);
    in->opt.port_prefix = dup_or_null(opt->port_prefix);
    pthread_mutex_init(&in->error_lock, NULL);
    atomic_init(&in->rate, 0.0);
    atomic_init(&in->channels, 0);
    atomic_init(&in->generation, 0);
    atomic_init(&in->state, INPUT_STARTING);
    atomic_init(&in->nonfinite, 0);
    atomic_init(&in->titles_waiting, 0);
    char why[128];
    in->arrivals = arrivals_create(why, sizeof why);
    if (!in->opt.spec || !in->opt.client_name || !in->arrivals || (opt->name && !in->opt.name) ||
        (opt->jack_client && !in->opt.jack_client) || (opt->port_prefix && !in->opt.port_prefix)) {
        snprintf(err, err_len, "input '%s': %s", opt->spec, in->arrivals ? "out of memory" : why);
        free_input(in);
        return NULL;
    }
    /* args points into opt->spec; the back-end gets the same text in our copy. */
    if (backend->open(in, args ? in->opt.spec + (args - opt->spec) : NULL, err, err_len)) {
        free_input(in);
        return NULL;
    }
    if (atomic_load(&in->channels) == 0 || create_ring(in, err, err_len)) {
        if (atomic_load(&in->channels) == 0)
            snprintf(err, err_len, "input '%s': back-end reported no channels", in->opt.spec);
        in->ops->close(in);
        free_input(in);
        return NULL;
    }
    return in;
}

int input_start(input_t *in, char *err, size_t err_len)
{
    if (in->ops->start(in, err, err_len)) {
        input_backend_set_state(in, INPUT_FAILED);
        input_backend_set_error(in, "%s", err);
        return -1;
    }
    return 0;
}

void input_destroy(input_t *in)
{
    if (!in) return;
    in->ops->close(in);
    free_input(in);
}

void input_request_stop(input_t *in)
{
    if (!in) return;
    if (in->reader) input_reader_ask_stop(in->reader);
    if (in->ops->request_stop) in->ops->request_stop(in);
}

ring_t *input_ring(input_t *in)
{
    return in->ring;
}

double input_rate(const input_t *in)
{
    return atomic_load(&((input_t *)in)->rate);
}

unsigned input_channels(const input_t *in)
{
    return atomic_load(&in->channels);
}

unsigned input_generation(const input_t *in)
{
    return atomic_load(&in->generation);
}

input_state input_get_state(const input_t *in)
{
    return (input_state)atomic_load(&in->state);
}

const char *input_state_name(input_state s)
{
    switch (s) {
    case INPUT_STARTING:
        return "starting";
    case INPUT_RUNNING:
        return "running";
    case INPUT_WAITING:
        return "waiting";
    case INPUT_ENDED:
        return "ended";
    case INPUT_FAILED:
        return "failed";
    }
    return "unknown";
}

uint64_t input_nonfinite(const input_t *in)
{
    return atomic_load(&in->nonfinite);
}

/* Copies one of the input's lines under the lock. */
static void read_line(const input_t *in, const char *line, char *buf, size_t len)
{
    input_t *m = (input_t *)in; /* the lock is not part of the logical state */
    pthread_mutex_lock(&m->error_lock);
    snprintf(buf, len, "%s", line);
    pthread_mutex_unlock(&m->error_lock);
}

void input_error(const input_t *in, char *buf, size_t len)
{
    read_line(in, in->error, buf, len);
}

void input_note(const input_t *in, char *buf, size_t len)
{
    read_line(in, in->note, buf, len);
}

int input_list_devices(void)
{
#ifdef GENRED_WITH_PORTAUDIO
    return input_portaudio_list_devices();
#else
    fprintf(stderr, "genred: this genred was built without PortAudio support\n");
    return 1;
#endif
}

void input_backend_set_format(input_t *in, double rate, unsigned channels)
{
    atomic_store(&in->rate, rate);
    atomic_store(&in->channels, channels);
    atomic_fetch_add(&in->generation, 1);
    if (in->arrivals) arrivals_kick(in->arrivals);
}

void input_backend_set_state(input_t *in, input_state s)
{
    atomic_store(&in->state, (int)s);
    arrivals_kick(in->arrivals);
}

size_t input_backend_push(input_t *in, const float *samples, size_t n)
{
    size_t done = ring_push(in->ring, samples, n);
    if (done) {
        in->pushed += done;
        arrivals_pushed(in->arrivals, in->pushed,
                        ring_capacity(in->ring) - ring_writable(in->ring));
    }
    return done;
}

static size_t readable(void *in)
{
    return ring_readable(((input_t *)in)->ring);
}

void input_wait(input_t *in, size_t want, int timeout_ms)
{
    arrivals_wait(in->arrivals, want, readable, in, timeout_ms);
}

void input_wake(input_t *in)
{
    arrivals_kick(in->arrivals);
}

int64_t input_arrival_ns(input_t *in, uint64_t sample)
{
    return arrivals_time_of(in->arrivals, sample);
}

/* Sets `dst` (in->error or in->note) to text and, when `clear` is given,
 * empties that one, under the lock. */
static void store(input_t *in, char *dst, char *clear, const char *text)
{
    pthread_mutex_lock(&in->error_lock);
    snprintf(dst, sizeof in->error, "%s", text);
    if (clear) *clear = '\0';
    pthread_mutex_unlock(&in->error_lock);
}

/* Formats and stores one line (in->error or in->note). */
static void store_v(input_t *in, char *dst, const char *fmt, va_list ap)
{
    char line[sizeof in->error];
    vsnprintf(line, sizeof line, fmt, ap);
    store(in, dst, NULL, line);
}

void input_backend_set_error(input_t *in, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    store_v(in, in->error, fmt, ap);
    va_end(ap);
}

void input_backend_set_note(input_t *in, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    store_v(in, in->note, fmt, ap);
    va_end(ap);
}

void input_backend_say(input_t *in, int level, const char *fmt, ...)
{
    char line[sizeof in->error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (in->opt.name)
        log_msg((log_level)level, "stream '%s': input '%s': %s", in->opt.name, in->opt.spec, line);
    else
        log_msg((log_level)level, "input '%s': %s", in->opt.spec, line);
    if (level >= LOG_INFO)
        store(in, in->note, in->error, line);
    else
        store(in, in->error, NULL, line);
}

void input_backend_add_nonfinite(input_t *in, uint64_t n)
{
    atomic_fetch_add_explicit(&in->nonfinite, n, memory_order_relaxed);
}

void input_backend_set_title(input_t *in, const char *title)
{
    pthread_mutex_lock(&in->error_lock);
    enum { SLOTS = sizeof in->titles / sizeof *in->titles };
    /* A worker that has not taken 8 titles is stuck; the newest wins. */
    if (in->title_count == SLOTS) in->title_count--;
    unsigned i = (in->title_first + in->title_count++) % SLOTS;
    in->titles[i].at = in->pushed;
    snprintf(in->titles[i].text, sizeof in->titles[i].text, "%s", title);
    atomic_store(&in->titles_waiting, in->title_count);
    pthread_mutex_unlock(&in->error_lock);
}

int input_next_title(input_t *in, uint64_t upto, char *buf, size_t len, uint64_t *at)
{
    if (!atomic_load(&in->titles_waiting)) return 0; /* the usual case: no lock */
    enum { SLOTS = sizeof in->titles / sizeof *in->titles };
    int found = 0;
    pthread_mutex_lock(&in->error_lock);
    if (in->title_count && in->titles[in->title_first].at < upto) {
        *at = in->titles[in->title_first].at;
        snprintf(buf, len, "%s", in->titles[in->title_first].text);
        in->title_first = (in->title_first + 1) % SLOTS;
        atomic_store(&in->titles_waiting, --in->title_count);
        found = 1;
    }
    pthread_mutex_unlock(&in->error_lock);
    return found;
}

int input_backend_push_wait(input_t *in, const float *samples, size_t n, const atomic_bool *stop)
{
    const struct timespec pause = {0, 2 * 1000 * 1000};
    while (ring_writable(in->ring) < n) {
        if (atomic_load(stop)) return -1;
        nanosleep(&pause, NULL);
    }
    input_backend_push(in, samples, n);
    return 0;
}

int input_reader_start_shared(input_reader *r, const char *name, void *(*main)(void *), void *arg,
                              const char *spec, char *err, size_t err_len)
{
    atomic_store(&r->stop, false);
    cond_init_monotonic(&r->wake);
    pthread_mutex_init(&r->lock, NULL);
    int e = pthread_create(&r->thread, NULL, main, arg);
    if (e) {
        snprintf(err, err_len, "input '%s': cannot start %s thread: %s", spec, name, strerror(e));
        pthread_cond_destroy(&r->wake);
        pthread_mutex_destroy(&r->lock);
        return -1;
    }
    pthread_setname_np(r->thread, name);
    r->started = 1;
    return 0;
}

int input_reader_start(input_reader *r, const char *name, void *(*main)(void *), input_t *in,
                       char *err, size_t err_len)
{
    in->reader = r; /* before the thread starts: it may ask for it */
    int failed = input_reader_start_shared(r, name, main, in, in->opt.spec, err, err_len);
    if (failed) in->reader = NULL;
    return failed;
}

int input_reader_sleep(input_reader *r, long ms)
{
    struct timespec until = timespec_after_ms(CLOCK_MONOTONIC, ms);
    pthread_mutex_lock(&r->lock);
    while (!atomic_load(&r->stop) &&
           pthread_cond_timedwait(&r->wake, &r->lock, &until) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&r->lock);
    return atomic_load(&r->stop);
}

void input_reader_ask_stop(input_reader *r)
{
    atomic_store(&r->stop, true);
    if (!r->started) return;
    /* Under the lock, so a sleeper between its check and its wait hears it. */
    pthread_mutex_lock(&r->lock);
    pthread_cond_broadcast(&r->wake);
    pthread_mutex_unlock(&r->lock);
}

static void reader_joined(input_reader *r)
{
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
    r->started = 0;
}

void input_reader_stop(input_reader *r)
{
    input_reader_ask_stop(r);
    if (!r->started) return;
    pthread_join(r->thread, NULL);
    reader_joined(r);
}

int input_reader_stop_within(input_reader *r, long ms)
{
    input_reader_ask_stop(r);
    if (!r->started) return 0;
    struct timespec until = timespec_after_ms(CLOCK_REALTIME, ms);
    if (pthread_timedjoin_np(r->thread, NULL, &until)) {
        /* Its lock and condition stay: the thread may still sleep on them. */
        pthread_detach(r->thread);
        r->started = 0;
        return -1;
    }
    reader_joined(r);
    return 0;
}
