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
 * PortAudio is not thread-safe, so every call outside the stream callback is
 * made under one process-wide lock (several streams may share the library).
 * Its host APIs print probing noise on stderr (ALSA without a sound card,
 * libjack without a server); both are silenced: genred says what matters. */
#include "input_backend.h"
#include "log.h"

#include <portaudio.h>
#include <pa_jack.h>
#ifdef GENRED_WITH_ALSA
#include <alsa/asoundlib.h>
#endif
#include <jack/jack.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_CHANNELS = 2, TICK_MS = 100, RETRY_MS = 1000 };

typedef struct {
    input_t *in;
    char *selector; /* DEVICE as given, NULL for the default device */
    unsigned max_channels;

    /* Owned by the main thread until start(), then by the supervisor. */
    PaStream *stream;
    /* Read by the callback, written only while no stream runs; atomic
     * because the host API's thread may outlive one stream. */
    atomic_uint channels;
    int initialized; /* holds one Pa_Initialize reference */
    int jack_host;   /* the device belongs to PortAudio's JACK host API */

    input_reader supervisor;
    atomic_bool finished; /* set by the stream finished callback */
    /* Bumped (release) at the end of every callback and read (acquire) by
     * pa_close: an abandoned stream's callback thread is never joined, so
     * this is what orders its last callback before the input is freed. */
    atomic_uint callbacks_done;
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

/* Initialises PortAudio and opens (not starts) a stream on the selected
 * device. 0, or -1 with the reason in err. */
static int open_stream(pa_source *s, char *err, size_t err_len)
{
    quiet_host_apis();
    PaJack_SetClientName(s->in->opt.client_name);
    PaError e = Pa_Initialize();
    if (e != paNoError) {
        snprintf(err, err_len, "cannot initialise PortAudio: %s", Pa_GetErrorText(e));
        return -1;
    }
    s->initialized = 1;
    PaDeviceIndex dev = find_device(s->selector);
    if (dev == paNoDevice) {
        if (s->selector)
            snprintf(err, err_len, "no capture device matches '%s' (genred --list-devices)",
                     s->selector);
        else
            snprintf(err, err_len, "no default capture device (genred --list-devices)");
        terminate(s);
        return -1;
    }
    const PaDeviceInfo *info = Pa_GetDeviceInfo(dev);
    s->jack_host = Pa_GetHostApiInfo(info->hostApi)->type == paJACK;
    unsigned ch = (unsigned)info->maxInputChannels;
    if (ch > s->max_channels) ch = s->max_channels;
    atomic_store(&s->channels, ch);
    PaStreamParameters params = {
        .device = dev,
        .channelCount = (int)ch,
        .sampleFormat = paFloat32,
        .suggestedLatency = info->defaultHighInputLatency,
    };
    atomic_store(&s->finished, false);
    e = Pa_OpenStream(&s->stream, &params, NULL, info->defaultSampleRate,
                      paFramesPerBufferUnspecified, paNoFlag, capture, s);
    if (e != paNoError) {
        snprintf(err, err_len, "cannot open '%s': %s", info->name, Pa_GetErrorText(e));
        s->stream = NULL;
        terminate(s);
        return -1;
    }
    Pa_SetStreamFinishedCallback(s->stream, on_finished);
    if (info->defaultSampleRate != input_rate(s->in) || ch != input_channels(s->in))
        input_backend_set_format(s->in, info->defaultSampleRate, ch);
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

static void *supervise(void *arg)
{
    pa_source *s = ((input_t *)arg)->priv;
    long since_retry_ms = 0;
    int said_retry_error = 0;
    char line[256];
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
            if (open_stream(s, line, sizeof line) == 0 && start_stream(s, line, sizeof line) == 0)
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

static int pa_start(input_t *in, char *err, size_t err_len)
{
    pa_source *s = in->priv;
    char line[256];
    pthread_mutex_lock(&pa_lock);
    int failed = start_stream(s, line, sizeof line);
    pthread_mutex_unlock(&pa_lock);
    if (failed) {
        snprintf(err, err_len, "input '%s': %s", in->opt.spec, line);
        return -1;
    }
    return input_reader_start(&s->supervisor, "gr-portaudio", supervise, in, err, err_len);
}

static void pa_close(input_t *in)
{
    pa_source *s = in->priv;
    if (!s) return;
    input_reader_stop(&s->supervisor);
    pthread_mutex_lock(&pa_lock);
    if (s->jack_host && s->stream && !stream_alive(s)) {
        s->stream = NULL; /* died since the last check: never close it */
        s->initialized = 0;
    }
    terminate(s);
    pthread_mutex_unlock(&pa_lock);
    (void)atomic_load_explicit(&s->callbacks_done, memory_order_acquire);
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
    in->priv = s;
    in->ops = &pa_ops;
    char line[256];
    pthread_mutex_lock(&pa_lock);
    int failed = open_stream(s, line, sizeof line);
    pthread_mutex_unlock(&pa_lock);
    if (failed) {
        snprintf(err, err_len, "input '%s': %s", in->opt.spec, line);
        pa_close(in);
        return -1;
    }
    /* The ring is sized from this count; a device reopened later may have
     * fewer channels, never more. */
    s->max_channels = atomic_load(&s->channels);
    say(s, LOG_INFO, line);
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
