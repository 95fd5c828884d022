/* input_jack: `jack[:PORT[,PORT...]]`, a JACK client feeding the ring.
 *
 * One input port per source port (in_1..in_N; one port when none are
 * given), auto-connected to the sources. The process callback only copies
 * (one port) or interleaves (several) the port buffers into the ring.
 *
 * A supervisor thread owns the client's life: it activates it, and when the
 * server goes away (jack_on_info_shutdown) it closes the dead client and
 * retries jack_client_open every RETRY_MS until the server is back, then
 * re-registers and reconnects the ports. It also reconnects a source port
 * that appears later (a player started after genred, or restarted). */
#include "input_backend.h"
#include "log.h"

#include <jack/jack.h>

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    MAX_PORTS = 16,
    /* Interleave in chunks of this many frames, so the scratch buffer is
     * allocated once and any buffer size the server switches to later is
     * handled without allocating in the process thread. 8192 is JACK2's
     * largest period, so a chunk is normally a whole period. */
    CHUNK_FRAMES = 8192,
    TICK_MS = 50,
    RETRY_MS = 500,
};

typedef struct {
    input_t *in;
    unsigned nports;
    char *sources[MAX_PORTS]; /* source port names, NULL when not auto-connecting */
    float *scratch;           /* CHUNK_FRAMES * nports interleaved samples */

    /* Owned by the main thread until start(), then by the supervisor. */
    jack_client_t *client;
    jack_port_t *ports[MAX_PORTS];
    int announced_wait;        /* "waiting for the server" said once per outage */
    jack_status_t open_status; /* of the last failed jack_client_open */

    pthread_t supervisor;
    int supervisor_running;
    atomic_bool stop;
    atomic_bool server_gone;   /* set by the shutdown callback */
    atomic_bool ports_changed; /* set by the registration callback */
} jack_source;

/* ---- real-time path ---- */

static int process(jack_nframes_t nframes, void *arg)
{
    jack_source *s = arg;
    if (s->nports == 1) {
        input_backend_push(s->in, jack_port_get_buffer(s->ports[0], nframes), nframes);
        return 0;
    }
    const float *buf[MAX_PORTS];
    for (unsigned k = 0; k < s->nports; k++)
        buf[k] = jack_port_get_buffer(s->ports[k], nframes);
    for (jack_nframes_t done = 0; done < nframes;) {
        jack_nframes_t n = nframes - done < CHUNK_FRAMES ? nframes - done : CHUNK_FRAMES;
        float *out = s->scratch;
        for (jack_nframes_t i = done; i < done + n; i++)
            for (unsigned k = 0; k < s->nports; k++)
                *out++ = buf[k][i];
        input_backend_push(s->in, s->scratch, (size_t)n * s->nports);
        done += n;
    }
    return 0;
}

/* ---- JACK notification thread ---- */

static void on_shutdown(jack_status_t code, const char *reason, void *arg)
{
    (void)code;
    (void)reason;
    jack_source *s = arg;
    input_backend_set_state(s->in, INPUT_WAITING);
    atomic_store(&s->server_gone, true);
}

static void on_registration(jack_port_id_t port, int registered, void *arg)
{
    (void)port;
    jack_source *s = arg;
    if (registered) atomic_store(&s->ports_changed, true);
}

/* libjack prints every failed connection attempt; while the server is away
 * that would be one line per retry. genred says what matters itself. */
static void quiet(const char *msg)
{
    (void)msg;
}

/* ---- client life, non-real-time ---- */

/* Logs a state change and keeps it as the input's note or error. */
#define say(s, level, ...) input_backend_say((s)->in, level, __VA_ARGS__)

static void close_client(jack_source *s)
{
    if (!s->client) return;
    jack_client_close(s->client);
    s->client = NULL;
    memset(s->ports, 0, sizeof s->ports);
}

/* Opens and sets up (but does not activate) a client. 0, or -1 when no
 * server answers (expected while waiting); other failures are said. */
static int open_client(jack_source *s)
{
    jack_status_t status;
    s->client = jack_client_open(s->in->opt.client_name, JackNoStartServer, &status);
    s->open_status = s->client ? 0 : status;
    if (!s->client) return -1;
    for (unsigned k = 0; k < s->nports; k++) {
        char name[16];
        snprintf(name, sizeof name, "in_%u", k + 1);
        s->ports[k] =
            jack_port_register(s->client, name, JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
        if (!s->ports[k]) {
            say(s, LOG_ERROR, "cannot register JACK port %s", name);
            close_client(s);
            return -1;
        }
    }
    atomic_store(&s->server_gone, false);
    if (jack_set_process_callback(s->client, process, s) ||
        jack_set_port_registration_callback(s->client, on_registration, s)) {
        say(s, LOG_ERROR, "cannot set JACK callbacks on client %s",
            jack_get_client_name(s->client));
        close_client(s);
        return -1;
    }
    jack_on_info_shutdown(s->client, on_shutdown, s);

    /* The ring was sized for the channel count at open; that never changes.
     * The rate may differ if the server came back at another one. */
    double rate = jack_get_sample_rate(s->client);
    if (rate != input_rate(s->in)) input_backend_set_format(s->in, rate, s->nports);
    return 0;
}

/* Connects each of our ports to its source unless already connected; a
 * source that does not exist yet is retried when a port appears. */
static void connect_sources(jack_source *s)
{
    for (unsigned k = 0; k < s->nports && s->sources[k]; k++) {
        const char *ours = jack_port_name(s->ports[k]);
        if (jack_port_connected_to(s->ports[k], s->sources[k])) continue;
        if (!jack_port_by_name(s->client, s->sources[k])) {
            say(s, LOG_WARN, "source port %s does not exist (yet); will connect when it appears",
                s->sources[k]);
            continue;
        }
        if (jack_connect(s->client, s->sources[k], ours))
            say(s, LOG_WARN, "cannot connect JACK port %s", s->sources[k]);
    }
}

static int activate(jack_source *s)
{
    if (jack_activate(s->client)) {
        say(s, LOG_ERROR, "cannot activate JACK client %s", jack_get_client_name(s->client));
        close_client(s);
        return -1;
    }
    input_backend_set_state(s->in, INPUT_RUNNING);
    say(s, LOG_INFO, "JACK client %s running at %.0f Hz, %u port%s",
        jack_get_client_name(s->client), input_rate(s->in), s->nports, s->nports == 1 ? "" : "s");
    connect_sources(s);
    s->announced_wait = 0;
    return 0;
}

static void wait_for_server(jack_source *s)
{
    input_backend_set_state(s->in, INPUT_WAITING);
    if (!s->announced_wait && s->open_status) { /* a set-up failure said its own line */
        const char *server = getenv("JACK_DEFAULT_SERVER");
        /* A server that answers but refuses is most often full: JACK2 has
         * room for 256 clients, and each JACK stream is one. */
        if (s->open_status & JackServerFailed)
            say(s, LOG_WARN, "JACK server '%s' not running; retrying every 0.5 s",
                server ? server : "default");
        else
            say(s, LOG_WARN,
                "JACK server '%s' refused client '%s' (status 0x%x; is it full? JACK2 takes "
                "at most 256 clients and each JACK stream is one); retrying every 0.5 s",
                server ? server : "default", s->in->opt.client_name, (unsigned)s->open_status);
        s->announced_wait = 1;
    }
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static void *supervise(void *arg)
{
    jack_source *s = arg;
    long since_retry_ms = RETRY_MS;
    while (!atomic_load(&s->stop)) {
        if (s->client && atomic_load(&s->server_gone)) {
            say(s, LOG_WARN, "JACK server went away; retrying every 0.5 s");
            s->announced_wait = 1;
            close_client(s);
            since_retry_ms = 0;
        }
        if (!s->client && since_retry_ms >= RETRY_MS) {
            since_retry_ms = 0;
            if (open_client(s) == 0) activate(s);
            if (!s->client) wait_for_server(s);
        }
        if (s->client && atomic_exchange(&s->ports_changed, false)) connect_sources(s);
        sleep_ms(TICK_MS);
        since_retry_ms += TICK_MS;
    }
    return NULL;
}

/* ---- back-end ops ---- */

static int jack_start(input_t *in, char *err, size_t err_len)
{
    jack_source *s = in->priv;
    if (s->client) activate(s);
    if (!s->client) wait_for_server(s);
    if (pthread_create(&s->supervisor, NULL, supervise, s)) {
        snprintf(err, err_len, "input '%s': cannot start the JACK supervisor thread", in->opt.spec);
        return -1;
    }
    s->supervisor_running = 1;
    return 0;
}

static void jack_close(input_t *in)
{
    jack_source *s = in->priv;
    if (!s) return;
    atomic_store(&s->stop, true);
    if (s->supervisor_running) pthread_join(s->supervisor, NULL);
    close_client(s);
    for (unsigned k = 0; k < MAX_PORTS; k++)
        free(s->sources[k]);
    free(s->scratch);
    free(s);
    in->priv = NULL;
}

static void jack_request_stop(input_t *in)
{
    jack_source *s = in->priv;
    if (s) atomic_store(&s->stop, true);
}

static const input_backend_ops jack_ops = {"jack", jack_start, jack_close, jack_request_stop};

/* Splits "a:b,c:d" into source port names; 0 or -1 with err set. */
static int parse_sources(jack_source *s, const char *args, char *err, size_t err_len)
{
    s->nports = 1;
    if (!args) return 0;
    s->nports = 0;
    const char *p = args;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0) {
            snprintf(err, err_len, "input '%s': empty JACK port name", s->in->opt.spec);
            return -1;
        }
        if (s->nports == MAX_PORTS) {
            snprintf(err, err_len, "input '%s': at most %d JACK ports", s->in->opt.spec, MAX_PORTS);
            return -1;
        }
        s->sources[s->nports] = strndup(p, len);
        if (!s->sources[s->nports]) {
            snprintf(err, err_len, "input '%s': out of memory", s->in->opt.spec);
            return -1;
        }
        s->nports++;
        if (!comma) return 0;
        p = comma + 1;
    }
}

/* The spec check of --check-config and reloads, which opens nothing. */
static int check_jack_ports(const char *spec, const char *args, char *err, size_t err_len)
{
    if (!args) return 0;
    for (const char *p = args;; p++) {
        const char *comma = strchr(p, ',');
        if ((comma ? comma : p + strlen(p)) == p) {
            snprintf(err, err_len, "input '%s': empty JACK port name", spec);
            return -1;
        }
        if (!comma) return 0;
        p = comma;
    }
}

static int input_jack_open(input_t *in, const char *args, char *err, size_t err_len)
{
    jack_source *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_len, "input '%s': out of memory", in->opt.spec);
        return -1;
    }
    s->in = in;
    in->priv = s;
    in->ops = &jack_ops;
    if (parse_sources(s, args, err, err_len)) {
        jack_close(in);
        return -1;
    }
    s->scratch = malloc(sizeof *s->scratch * CHUNK_FRAMES * s->nports);
    if (!s->scratch) {
        snprintf(err, err_len, "input '%s': out of memory", in->opt.spec);
        jack_close(in);
        return -1;
    }
    jack_set_error_function(quiet);
    jack_set_info_function(quiet);
    /* A server that is up now gives the real rate before the ring and the
     * pipeline are sized; otherwise start at 48 kHz and let the supervisor
     * publish the real rate when the server arrives. */
    if (open_client(s)) input_backend_set_format(in, 48000, s->nports);
    return 0;
}

const input_backend input_jack_backend = {"jack", check_jack_ports, input_jack_open, 1};
