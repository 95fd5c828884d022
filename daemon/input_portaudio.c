/* input_portaudio: `portaudio[:DEVICE]`, a PortAudio capture stream feeding
 * the ring.
 *
 * DEVICE is a device index or a case-insensitive name substring; without it,
 * the default capture device. Float32 interleaved, at most two channels, the
 * device's default rate. The stream callback only pushes into the ring.
 *
 * A device can disappear (a USB card unplugged, the JACK server behind
 * PortAudio's JACK host API killed). A supervisor thread notices (the stream
 * finished callback, or Pa_IsStreamActive polled), marks the input WAITING,
 * and every second restarts PortAudio (Pa_Terminate/Pa_Initialize, which
 * rescans devices) and reopens the same selection until it works. The JACK
 * host API is the exception: see abandon_dead_jack_stream.
 *
 * Opening and starting a stream happen on the supervisor thread, never on
 * genred's main thread: PortAudio's JACK host API waits for its client's
 * next process cycle there, and a client that jackd never runs (seen beside
 * a CPU hog: libjack's process thread misses its wake-up) makes that wait
 * last ten minutes. start() waits for the first open with a deadline and
 * gives up with a line that says so (a restart gets a fresh client); close()
 * leaves behind a supervisor that PortAudio does not give back.
 *
 * PortAudio is not thread-safe, so every call outside the stream callback is
 * made under one process-wide lock (several streams may share the library).
 * Its host APIs print probing noise on stderr (ALSA without a sound card,
 * libjack without a server); both are silenced: genred says what matters. */
#include "clock.h"
#include "input_backend.h"
#include "log.h"

#include <portaudio.h>
#include <pa_jack.h>
#ifdef GENRED_WITH_ALSA
#include <alsa/asoundlib.h>
#endif
#include <jack/jack.h>

#include <ctype.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    MAX_CHANNELS = 2,
    TICK_MS = 100,
    RETRY_MS = 1000,
    FIRST_OPEN_MS = 20000, /* an open takes milliseconds; this is a stuck one */
    /* Looks at start-up before "no capture device" (see pa_open). */
    FIND_TRIES = 3,
    CLOSE_WAIT_MS = 10000,
};

/* The first open's outcome, which start() waits for. */
enum { OPEN_PENDING, OPEN_DONE, OPEN_FAILED };

typedef struct {
    input_t *in;
    char *selector; /* DEVICE as given, NULL for the default device */
    unsigned max_channels;

    /* Owned by the main thread until start(), then by the supervisor. */
    PaStream *stream;
    /* Read by the callback, written only while no stream runs; atomic
     * because the host API's thread may outlive one stream. */
    atomic_uint channels;
    int initialized;      /* holds one Pa_Initialize reference */
    int jack_host;        /* the device belongs to PortAudio's JACK host API */
    PaDeviceIndex device; /* chosen by find_and_describe */

    pthread_mutex_t first_lock; /* with first_done: the first open's outcome */
    pthread_cond_t first_done;
    int first_state; /* OPEN_* */
    char first_line[256];

    input_reader supervisor;
    atomic_bool finished; /* set by the stream finished callback */
    /* Bumped (release) at the end of every callback and read (acquire) by
     * pa_close: an abandoned stream's callback thread is never joined, so
     * this is what orders its last callback before the input is freed. */
    atomic_uint callbacks_done;
    /* Set when close() leaves the stream behind: its ring is about to go. */
    atomic_bool abandoned;
} pa_source;

static pthread_mutex_t pa_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- real-time path ---- */

static int capture(const void *input, void *output, unsigned long frames,
                   const PaStreamCallbackTimeInfo *time, PaStreamCallbackFlags flags, void *arg)
{
    (void)output;
    (void)time;
    (void)flags;
    pa_source *s = arg;
    if (atomic_load_explicit(&s->abandoned, memory_order_relaxed)) return paComplete;
    unsigned ch = atomic_load_explicit(&s->channels, memory_order_relaxed);
    if (input) input_backend_push(s->in, input, frames * ch);
    atomic_fetch_add_explicit(&s->callbacks_done, 1, memory_order_release);
    return paContinue;
}

static void on_finished(void *arg)
{
    pa_source *s = arg;
    atomic_store(&s->finished, true);
}

/* ---- quiet host APIs ---- */

#ifdef GENRED_WITH_ALSA
static void quiet_alsa(const char *file, int line, const char *function, int err, const char *fmt,
                       ...)
{
    (void)file;
    (void)line;
    (void)function;
    (void)err;
    (void)fmt;
}
#endif

static void quiet_jack(const char *msg)
{
    (void)msg;
}

static void quiet_host_apis(void)
{
#ifdef GENRED_WITH_ALSA
    snd_lib_error_set_handler(quiet_alsa);
#endif
    jack_set_error_function(quiet_jack);
    jack_set_info_function(quiet_jack);
}

/* ---- devices, under pa_lock ---- */

static int is_capture(PaDeviceIndex i)
{
    const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
    return d && d->maxInputChannels > 0;
}

static int all_digits(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s)) return 0;
    return 1;
}

/* The device a selector names now, or paNoDevice. */
static PaDeviceIndex find_device(const char *selector)
{
    if (!selector) {
        PaDeviceIndex i = Pa_GetDefaultInputDevice();
        return i != paNoDevice && is_capture(i) ? i : paNoDevice;
    }
    if (all_digits(selector)) {
        long i = strtol(selector, NULL, 10);
        return i < Pa_GetDeviceCount() && is_capture((PaDeviceIndex)i) ? (PaDeviceIndex)i
                                                                       : paNoDevice;
    }
    for (PaDeviceIndex i = 0; i < Pa_GetDeviceCount(); i++)
        if (is_capture(i) && strcasestr(Pa_GetDeviceInfo(i)->name, selector)) return i;
    return paNoDevice;
}

static void terminate(pa_source *s)
{
    if (s->stream) {
        Pa_AbortStream(s->stream);
        Pa_CloseStream(s->stream);
        s->stream = NULL;
    }
    if (s->initialized) Pa_Terminate();
    s->initialized = 0;
}

/* Initialises PortAudio, finds the selected device and publishes the format
 * it will deliver. 0, or -1 with the reason in err. Quick: no stream yet. */
static int find_and_describe(pa_source *s, char *err, size_t err_len)
{
    quiet_host_apis();
    PaJack_SetClientName(s->in->opt.client_name);
    PaError e = Pa_Initialize();
    if (e != paNoError) {
        snprintf(err, err_len, "cannot initialise PortAudio: %s", Pa_GetErrorText(e));
        return -1;
    }
    s->initialized = 1;
    s->device = find_device(s->selector);
    if (s->device == paNoDevice) {
        if (s->selector)
            snprintf(err, err_len, "no capture device matches '%s' (genred --list-devices)",
                     s->selector);
        else
            snprintf(err, err_len, "no default capture device (genred --list-devices)");
        terminate(s);
        return -1;
    }
    const PaDeviceInfo *info = Pa_GetDeviceInfo(s->device);
    s->jack_host = Pa_GetHostApiInfo(info->hostApi)->type == paJACK;
    unsigned ch = (unsigned)info->maxInputChannels;
    if (ch > s->max_channels) ch = s->max_channels;
    atomic_store(&s->channels, ch);
    if (info->defaultSampleRate != input_rate(s->in) || ch != input_channels(s->in))
        input_backend_set_format(s->in, info->defaultSampleRate, ch);
    return 0;
}

/* Opens (not starts) a stream on the device find_and_describe chose. On the
 * supervisor thread only: see the top of this file. */
static int open_device(pa_source *s, char *err, size_t err_len)
{
    const PaDeviceInfo *info = Pa_GetDeviceInfo(s->device);
    unsigned ch = atomic_load(&s->channels);
    PaStreamParameters params = {
        .device = s->device,
        .channelCount = (int)ch,
        .sampleFormat = paFloat32,
        .suggestedLatency = info->defaultHighInputLatency,
    };
    atomic_store(&s->finished, false);
    PaError e = Pa_OpenStream(&s->stream, &params, NULL, info->defaultSampleRate,
                              paFramesPerBufferUnspecified, paNoFlag, capture, s);
    if (e != paNoError) {
        snprintf(err, err_len, "cannot open '%s': %s", info->name, Pa_GetErrorText(e));
        s->stream = NULL;
        terminate(s);
        return -1;
    }
    Pa_SetStreamFinishedCallback(s->stream, on_finished);
    snprintf(err, err_len, "capturing from '%s' (%s), %u channel%s at %.0f Hz", info->name,
             Pa_GetHostApiInfo(info->hostApi)->name, ch, ch == 1 ? "" : "s",
             info->defaultSampleRate);
    return 0;
}

static int start_stream(pa_source *s, char *err, size_t err_len)
{
    PaError e = Pa_StartStream(s->stream);
    if (e != paNoError) {
        snprintf(err, err_len, "cannot start the stream: %s", Pa_GetErrorText(e));
        terminate(s);
        return -1;
    }
    input_backend_set_state(s->in, INPUT_RUNNING);
    return 0;
}

/* ---- supervisor ---- */

/* Logs a state change and keeps it as the input's note or error. */
static void say(const pa_source *s, log_level level, const char *line)
{
    input_backend_say(s->in, level, "%s", line);
}

static int stream_alive(pa_source *s)
{
    return s->stream && !atomic_load(&s->finished) && Pa_IsStreamActive(s->stream) == 1;
}

/* PortAudio's JACK host API (19.6) cannot let go of a stream whose server
 * died: Pa_AbortStream waits up to 10 minutes for the dead process thread,
 * and Pa_CloseStream and Pa_Terminate abort first, then assert (abort the
 * process) when unregistering ports of the dead client. So such a stream is
 * abandoned, never closed, and PortAudio is never terminated again in this
 * process: the input fails, with a line saying what to do. Other host APIs
 * (ALSA: a USB device unplugged) close and reopen normally. */
static void abandon_dead_jack_stream(pa_source *s)
{
    s->stream = NULL;
    s->initialized = 0;
    /* The reason first: whoever sees FAILED logs it (the pipeline does). */
    input_backend_set_error(s->in, "%s",
                            "capture device stopped: its JACK server went away, and PortAudio "
                            "cannot reopen a JACK device in the same process; restart genred "
                            "(systemd does, with Restart=on-failure), or use --input jack, "
                            "which reconnects by itself");
    input_backend_set_state(s->in, INPUT_FAILED);
}

/* Opens and starts the device chosen at open(); tells start() how it went. */
static int first_open(pa_source *s)
{
    char line[256];
    pthread_mutex_lock(&pa_lock);
    int failed = open_device(s, line, sizeof line) || start_stream(s, line, sizeof line);
    pthread_mutex_unlock(&pa_lock);
    pthread_mutex_lock(&s->first_lock);
    s->first_state = failed ? OPEN_FAILED : OPEN_DONE;
    snprintf(s->first_line, sizeof s->first_line, "%s", line);
    pthread_cond_signal(&s->first_done);
    pthread_mutex_unlock(&s->first_lock);
    return failed ? -1 : 0;
}

static void *supervise(void *arg)
{
    pa_source *s = ((input_t *)arg)->priv;
    long since_retry_ms = 0;
    int said_retry_error = 0;
    char line[256];
    if (first_open(s)) return NULL;
    while (!atomic_load(&s->supervisor.stop)) {
        pthread_mutex_lock(&pa_lock);
        if (s->stream && !stream_alive(s)) {
            if (s->jack_host) {
                abandon_dead_jack_stream(s);
                pthread_mutex_unlock(&pa_lock);
                break;
            }
            input_backend_set_state(s->in, INPUT_WAITING);
            terminate(s);
            say(s, LOG_WARN, "capture device stopped (unplugged or failed); reopening every 1 s");
            since_retry_ms = RETRY_MS;
            said_retry_error = 0;
        }
        if (!s->stream && since_retry_ms >= RETRY_MS) {
            since_retry_ms = 0;
            if (find_and_describe(s, line, sizeof line) == 0 &&
                open_device(s, line, sizeof line) == 0 && start_stream(s, line, sizeof line) == 0)
                say(s, LOG_INFO, line);
            else if (!said_retry_error++)
                say(s, LOG_WARN, line); /* once per outage, not once a second */
        }
        pthread_mutex_unlock(&pa_lock);
        input_reader_sleep(&s->supervisor, TICK_MS);
        since_retry_ms += TICK_MS;
    }
    return NULL;
}

/* ---- back-end ops ---- */

/* Waits for the supervisor's first open, at most FIRST_OPEN_MS, and for
 * no longer than a stop signal (SIGINT, SIGTERM) takes to arrive: genred's
 * main thread, which waits here, has them blocked and takes them later. */
static int wait_first_open(pa_source *s, char *line, size_t len)
{
    pthread_mutex_lock(&s->first_lock);
    for (long waited = 0; s->first_state == OPEN_PENDING && waited < FIRST_OPEN_MS;
         waited += TICK_MS) {
        sigset_t pending;
        if (sigpending(&pending) == 0 &&
            (sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1)) {
            snprintf(line, len, "stopped by a signal while PortAudio was opening the device");
            pthread_mutex_unlock(&s->first_lock);
            return OPEN_FAILED;
        }
        struct timespec tick = timespec_after_ms(CLOCK_MONOTONIC, TICK_MS);
        pthread_cond_timedwait(&s->first_done, &s->first_lock, &tick);
    }
    int state = s->first_state;
    if (state == OPEN_PENDING && s->jack_host)
        snprintf(line, len,
                 "PortAudio has not opened the device after %d s (PortAudio's JACK client "
                 "is never run by the server: a libjack/PortAudio fault); exiting so that a "
                 "restart gets a fresh client (systemd: Restart=on-failure); --input jack "
                 "does without PortAudio",
                 FIRST_OPEN_MS / 1000);
    else if (state == OPEN_PENDING)
        snprintf(line, len,
                 "PortAudio has not opened the device after %d s; exiting so that a restart "
                 "tries again (systemd: Restart=on-failure)",
                 FIRST_OPEN_MS / 1000);
    else
        snprintf(line, len, "%s", s->first_line);
    pthread_mutex_unlock(&s->first_lock);
    return state;
}

static int pa_start(input_t *in, char *err, size_t err_len)
{
    pa_source *s = in->priv;
    if (input_reader_start(&s->supervisor, "gr-portaudio", supervise, in, err, err_len)) return -1;
    char line[512];
    if (wait_first_open(s, line, sizeof line) != OPEN_DONE) {
        snprintf(err, err_len, "input '%s': %s", in->opt.spec, line);
        return -1;
    }
    say(s, LOG_INFO, line);
    return 0;
}

static void pa_close(input_t *in)
{
    pa_source *s = in->priv;
    if (!s) return;
    /* A first open still pending is the stuck one: no use waiting for it. */
    pthread_mutex_lock(&s->first_lock);
    long wait_ms = s->first_state == OPEN_PENDING ? TICK_MS : CLOSE_WAIT_MS;
    pthread_mutex_unlock(&s->first_lock);
    if (input_reader_stop_within(&s->supervisor, wait_ms)) {
        /* Still inside PortAudio (see the top of this file): its state and
         * s stay as they are, for the process that is ending. */
        atomic_store(&s->abandoned, true);
        log_warn("input '%s': PortAudio did not return within %.1f s; leaving it behind",
                 in->opt.spec, wait_ms / 1000.0);
        in->priv = NULL;
        return;
    }
    pthread_mutex_lock(&pa_lock);
    if (s->jack_host && s->stream && !stream_alive(s)) {
        s->stream = NULL; /* died since the last check: never close it */
        s->initialized = 0;
    }
    terminate(s);
    pthread_mutex_unlock(&pa_lock);
    (void)atomic_load_explicit(&s->callbacks_done, memory_order_acquire);
    pthread_cond_destroy(&s->first_done);
    pthread_mutex_destroy(&s->first_lock);
    free(s->selector);
    free(s);
    in->priv = NULL;
}

static const input_backend_ops pa_ops = {"portaudio", pa_start, pa_close, NULL};

static int pa_check_spec(const char *spec, const char *args, char *err, size_t err_len)
{
    if (args && !*args) {
        snprintf(err, err_len, "input '%s': empty device name (genred --list-devices)", spec);
        return -1;
    }
    return 0;
}

static int pa_open(input_t *in, const char *args, char *err, size_t err_len)
{
    pa_source *s = calloc(1, sizeof *s);
    if (!s || (args && !(s->selector = strdup(args)))) {
        free(s);
        snprintf(err, err_len, "input '%s': out of memory", in->opt.spec);
        return -1;
    }
    s->in = in;
    s->max_channels = MAX_CHANNELS;
    pthread_mutex_init(&s->first_lock, NULL);
    cond_init_monotonic(&s->first_done);
    in->priv = s;
    in->ops = &pa_ops;
    /* A device list can come back short now and then: in one of three
     * suite runs beside a CPU hog, both tests that start genred with a JACK
     * stream and a PortAudio one saw PortAudio find no JACK device while the
     * server was up (not reproduced in 25 such starts beside a hog). A
     * missing device costs FIND_TRIES - 1 seconds more to say so. */
    char line[256];
    int failed = 1;
    for (int tries = 0; failed && tries < FIND_TRIES; tries++) {
        if (tries) nanosleep(&(struct timespec){1, 0}, NULL);
        pthread_mutex_lock(&pa_lock);
        failed = find_and_describe(s, line, sizeof line);
        pthread_mutex_unlock(&pa_lock);
    }
    if (failed) {
        snprintf(err, err_len, "input '%s': %s", in->opt.spec, line);
        pa_close(in);
        return -1;
    }
    /* The ring is sized from this count; a device reopened later may have
     * fewer channels, never more. */
    s->max_channels = atomic_load(&s->channels);
    return 0;
}

const input_backend input_portaudio_backend = {"portaudio", pa_check_spec, pa_open, 1};

int input_portaudio_list_devices(void)
{
    pthread_mutex_lock(&pa_lock);
    quiet_host_apis();
    PaError e = Pa_Initialize();
    if (e != paNoError) {
        pthread_mutex_unlock(&pa_lock);
        fprintf(stderr, "genred: cannot initialise PortAudio: %s\n", Pa_GetErrorText(e));
        return 1;
    }
    PaDeviceIndex def = Pa_GetDefaultInputDevice();
    int shown = 0;
    for (PaDeviceIndex i = 0; i < Pa_GetDeviceCount(); i++) {
        const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
        if (!d || d->maxInputChannels <= 0) continue;
        if (!shown)
            printf("%-5s %-40s %-28s %8s %12s\n", "index", "name", "host API", "channels",
                   "default Hz");
        printf("%-5d %-40s %-28s %8d %12.0f%s\n", i, d->name, Pa_GetHostApiInfo(d->hostApi)->name,
               d->maxInputChannels, d->defaultSampleRate, i == def ? "  (default)" : "");
        shown++;
    }
    Pa_Terminate();
    pthread_mutex_unlock(&pa_lock);
    if (!shown) printf("no capture devices (no sound card, and no JACK server running)\n");
    return 0;
}
