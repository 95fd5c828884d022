/* input_jack: `jack[:PORT[,PORT...]]`, ports of a JACK client feeding the ring.
 *
 * A stream has one input port per source port (PREFIXin_1..in_N; one port
 * when none are given), auto-connected to the sources. Streams whose options
 * name the same JACK client share it: a host is one client carrying every
 * such stream's ports, so that 500 JACK streams are one client, not 500
 * (JACK2 serves about 254 clients but 2048 ports). With
 * jack_clients = "per_stream" each stream names its own client, a host of
 * one. The process callback walks the host's live streams and copies (one
 * port) or interleaves (several) each one's port buffers into its ring.
 *
 * A supervisor thread per host (an input_reader shared by its streams, which
 * the last stream to leave stops) owns the client's life: it activates it, and
 * when the server goes away (jack_on_info_shutdown) it closes the dead
 * client and retries jack_client_open every RETRY_MS until the server is
 * back, then re-registers and reconnects every stream's ports. It also
 * reconnects a source port that appears later (a player started after
 * genred, or restarted), and retries ports the server refused. */
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

typedef struct jack_host jack_host;

typedef struct jack_source {
    input_t *in;
    jack_host *host;
    unsigned nports;
    char *sources[MAX_PORTS]; /* source port names, NULL when not auto-connecting */
    float *scratch;           /* CHUNK_FRAMES * nports interleaved samples */

    /* Under host->lock. The callback reads ports only after seeing
     * `registered`, which is cleared only while it cannot run over them. */
    jack_port_t *ports[MAX_PORTS];
    atomic_bool registered;
    int said_refused; /* the server refused a port: said once per client */
    int started;      /* between start and stop: linked into host->live */
    struct jack_source *next_member;
    _Atomic(struct jack_source *) next_live;
} jack_source;

struct jack_host {
    char *name;      /* the client name asked for */
    unsigned users;  /* streams holding it, under registry_lock */
    jack_host *next; /* the registry, under registry_lock */

    /* Everything below but the atomics is under lock, which the callback
     * never takes. */
    pthread_mutex_t lock;
    jack_source *members; /* every stream opened on this host */
    jack_client_t *client;
    int active;
    int announced_wait;        /* "waiting for the server" said once per outage */
    jack_status_t open_status; /* of the last failed jack_client_open */

    _Atomic(jack_source *) live; /* started members: the callback's list */
    atomic_int in_callback;      /* 1 while the callback walks `live` */

    input_reader supervisor;   /* shared by the host's streams, stopped with the host */
    atomic_bool server_gone;   /* set by the shutdown callback */
    atomic_bool ports_changed; /* set by the registration callback */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static jack_host *registry;

/* ---- real-time path ---- */

static void feed(jack_source *s, jack_nframes_t nframes)
{
    if (s->nports == 1) {
        input_backend_push(s->in, jack_port_get_buffer(s->ports[0], nframes), nframes);
        return;
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
}

static int process(jack_nframes_t nframes, void *arg)
{
    jack_host *h = arg;
    /* Sequentially consistent with unlink_live's store and
     * wait_callback_done's load: once close sees 0 after unlinking a
     * stream, no callback can still be over it. */
    atomic_store(&h->in_callback, 1);
    for (jack_source *s = atomic_load(&h->live); s; s = atomic_load(&s->next_live))
        if (atomic_load_explicit(&s->registered, memory_order_acquire)) feed(s, nframes);
    atomic_store(&h->in_callback, 0);
    return 0;
}

/* ---- JACK notification thread ---- */

static void on_shutdown(jack_status_t code, const char *reason, void *arg)
{
    (void)code;
    (void)reason;
    jack_host *h = arg;
    atomic_store(&h->server_gone, true);
}

static void on_registration(jack_port_id_t port, int registered, void *arg)
{
    (void)port;
    jack_host *h = arg;
    if (registered) atomic_store(&h->ports_changed, true);
}

/* libjack prints every failed connection attempt; while the server is away
 * that would be one line per retry. genred says what matters itself. */
static void quiet(const char *msg)
{
    (void)msg;
}

/* ---- ports and client, non-real-time, under host->lock ---- */

/* Logs a state change and keeps it as the input's note or error. */
#define say(s, level, ...) input_backend_say((s)->in, level, __VA_ARGS__)

/* The same line for every stream of the host. */
static void say_all(jack_host *h, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say_all(jack_host *h, int level, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    for (jack_source *s = h->members; s; s = s->next_member)
        say(s, level, "%s", line);
}

static void set_state_all(jack_host *h, input_state state)
{
    for (jack_source *s = h->members; s; s = s->next_member)
        if (s->started) input_backend_set_state(s->in, state);
}

static const char *port_prefix(const jack_source *s)
{
    return s->in->opt.port_prefix ? s->in->opt.port_prefix : "";
}

/* Only while the callback cannot be over s: not live, or no active client. */
static void unregister_ports(jack_source *s)
{
    atomic_store(&s->registered, false);
    for (unsigned k = 0; k < s->nports; k++) {
        if (s->ports[k] && s->host->client) jack_port_unregister(s->host->client, s->ports[k]);
        s->ports[k] = NULL;
    }
}

/* Registers the stream's ports on the host's client and publishes the
 * server's rate. 0, or -1 (said once) when the server refuses a port. */
static int register_ports(jack_source *s)
{
    jack_client_t *c = s->host->client;
    for (unsigned k = 0; k < s->nports; k++) {
        char name[96]; /* a prefix is a stream name (< 64 bytes) and '_' */
        snprintf(name, sizeof name, "%sin_%u", port_prefix(s), k + 1);
        s->ports[k] = jack_port_register(c, name, JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
        if (!s->ports[k]) {
            if (!s->said_refused)
                say(s, LOG_WARN,
                    "cannot register JACK port %s:%s (the server's port table full? jackd "
                    "--port-max raises it); retrying every 0.5 s",
                    jack_get_client_name(c), name);
            s->said_refused = 1;
            unregister_ports(s);
            return -1;
        }
    }
    s->said_refused = 0;
    /* The ring was sized for the channel count at open; that never changes.
     * The rate may differ if the server came back at another one. */
    double rate = jack_get_sample_rate(c);
    if (rate != input_rate(s->in)) input_backend_set_format(s->in, rate, s->nports);
    atomic_store_explicit(&s->registered, true, memory_order_release);
    return 0;
}

static void close_client(jack_host *h)
{
    if (!h->client) return;
    jack_client_close(h->client);
    h->client = NULL;
    h->active = 0;
    for (jack_source *s = h->members; s; s = s->next_member) {
        atomic_store(&s->registered, false);
        memset(s->ports, 0, sizeof s->ports);
    }
}

/* Opens and sets up (but does not activate) the client, with every
 * member's ports. 0, or -1 when no server answers (expected while waiting);
 * other failures are said. */
static int open_client(jack_host *h)
{
    jack_status_t status;
    h->client = jack_client_open(h->name, JackNoStartServer, &status);
    h->open_status = h->client ? 0 : status;
    if (!h->client) return -1;
    atomic_store(&h->server_gone, false);
    if (jack_set_process_callback(h->client, process, h) ||
        jack_set_port_registration_callback(h->client, on_registration, h)) {
        say_all(h, LOG_ERROR, "cannot set JACK callbacks on client %s",
                jack_get_client_name(h->client));
        close_client(h);
        return -1;
    }
    jack_on_info_shutdown(h->client, on_shutdown, h);
    for (jack_source *s = h->members; s; s = s->next_member)
        register_ports(s);
    return 0;
}

/* Connects each of our ports to its source unless already connected; a
 * source that does not exist yet is retried when a port appears. */
static void connect_sources(jack_source *s)
{
    jack_client_t *c = s->host->client;
    for (unsigned k = 0; k < s->nports && s->sources[k]; k++) {
        const char *ours = jack_port_name(s->ports[k]);
        if (jack_port_connected_to(s->ports[k], s->sources[k])) continue;
        if (!jack_port_by_name(c, s->sources[k])) {
            say(s, LOG_WARN, "source port %s does not exist (yet); will connect when it appears",
                s->sources[k]);
            continue;
        }
        if (jack_connect(c, s->sources[k], ours))
            say(s, LOG_WARN, "cannot connect JACK port %s", s->sources[k]);
    }
}

/* A started stream on an active client: running and connected once its
 * ports are registered, waiting for them otherwise. */
static void go_running(jack_source *s)
{
    if (!atomic_load(&s->registered)) {
        input_backend_set_state(s->in, INPUT_WAITING);
        return;
    }
    input_backend_set_state(s->in, INPUT_RUNNING);
    say(s, LOG_INFO, "JACK client %s running at %.0f Hz, %u port%s %s%s%s",
        jack_get_client_name(s->host->client), input_rate(s->in), s->nports,
        s->nports == 1 ? "" : "s", jack_port_short_name(s->ports[0]), s->nports == 1 ? "" : "..",
        s->nports == 1 ? "" : jack_port_short_name(s->ports[s->nports - 1]));
    connect_sources(s);
}

static void activate(jack_host *h)
{
    if (jack_activate(h->client)) {
        say_all(h, LOG_ERROR, "cannot activate JACK client %s", jack_get_client_name(h->client));
        close_client(h);
        return;
    }
    h->active = 1;
    h->announced_wait = 0;
    for (jack_source *s = h->members; s; s = s->next_member)
        if (s->started) go_running(s);
}

static void wait_for_server(jack_host *h)
{
    set_state_all(h, INPUT_WAITING);
    if (!h->announced_wait && h->open_status) { /* a set-up failure said its own line */
        const char *server = getenv("JACK_DEFAULT_SERVER");
        /* A server that answers but refuses is most often full: JACK2 has
         * room for 256 clients. */
        if (h->open_status & JackServerFailed)
            say_all(h, LOG_WARN, "JACK server '%s' not running; retrying every 0.5 s",
                    server ? server : "default");
        else
            say_all(h, LOG_WARN,
                    "JACK server '%s' refused client '%s' (status 0x%x; is it full? JACK2 takes "
                    "at most 256 clients, and with jack_clients = \"per_stream\" each JACK "
                    "stream is one); retrying every 0.5 s",
                    server ? server : "default", h->name, (unsigned)h->open_status);
        h->announced_wait = 1;
    }
}

/* ---- the supervisor ---- */

static void sleep_us(long us)
{
    struct timespec t = {us / 1000000, (us % 1000000) * 1000L};
    nanosleep(&t, NULL);
}

static int any_started(const jack_host *h)
{
    for (const jack_source *s = h->members; s; s = s->next_member)
        if (s->started) return 1;
    return 0;
}

/* Every RETRY_MS: a client when the host has none, ports for streams the
 * server refused them. */
static void retry(jack_host *h)
{
    if (!h->client) {
        if (open_client(h) == 0 && any_started(h)) activate(h);
        if (!h->client) wait_for_server(h);
        return;
    }
    for (jack_source *s = h->members; s; s = s->next_member)
        if (s->started && !atomic_load(&s->registered) && register_ports(s) == 0 && h->active)
            go_running(s);
}

static void supervise_tick(jack_host *h, long *since_retry_ms)
{
    if (h->client && atomic_load(&h->server_gone)) {
        set_state_all(h, INPUT_WAITING);
        say_all(h, LOG_WARN, "JACK server went away; retrying every 0.5 s");
        h->announced_wait = 1;
        close_client(h);
        *since_retry_ms = 0;
    }
    if (*since_retry_ms >= RETRY_MS) {
        *since_retry_ms = 0;
        retry(h);
    }
    if (h->active && atomic_exchange(&h->ports_changed, false))
        for (jack_source *s = h->members; s; s = s->next_member)
            if (s->started && atomic_load(&s->registered)) connect_sources(s);
}

static void *supervise(void *arg)
{
    jack_host *h = arg;
    long since_retry_ms = RETRY_MS;
    do {
        pthread_mutex_lock(&h->lock);
        supervise_tick(h, &since_retry_ms);
        pthread_mutex_unlock(&h->lock);
        since_retry_ms += TICK_MS;
    } while (!input_reader_sleep(&h->supervisor, TICK_MS));
    return NULL;
}

/* ---- hosts: one per client name ---- */

static jack_host *host_create(const char *name)
{
    jack_host *h = calloc(1, sizeof *h);
    if (h && !(h->name = strdup(name))) {
        free(h);
        return NULL;
    }
    if (h) pthread_mutex_init(&h->lock, NULL);
    return h;
}

static jack_host *host_acquire(const char *name)
{
    pthread_mutex_lock(&registry_lock);
    jack_host *h = registry;
    while (h && strcmp(h->name, name))
        h = h->next;
    if (!h && (h = host_create(name))) {
        h->next = registry;
        registry = h;
    }
    if (h) h->users++;
    pthread_mutex_unlock(&registry_lock);
    return h;
}

static void host_release(jack_host *h)
{
    pthread_mutex_lock(&registry_lock);
    int last = --h->users == 0;
    if (last) {
        jack_host **link = &registry;
        while (*link != h)
            link = &(*link)->next;
        *link = h->next;
    }
    pthread_mutex_unlock(&registry_lock);
    if (!last) return;
    input_reader_stop(&h->supervisor);
    close_client(h);
    pthread_mutex_destroy(&h->lock);
    free(h->name);
    free(h);
}

/* Adds s to its host's members, on the host's client if the server is up:
 * the real rate is then known before the ring and the pipeline are sized;
 * otherwise s starts at 48 kHz and the supervisor publishes the real rate
 * when the server arrives. */
static void host_join(jack_host *h, jack_source *s)
{
    pthread_mutex_lock(&h->lock);
    jack_source **link = &h->members;
    while (*link)
        link = &(*link)->next_member;
    *link = s; /* in config order, so the ports are listed that way */
    if (!h->client)
        open_client(h); /* with every member's ports, s's included */
    else
        register_ports(s);
    if (!atomic_load(&s->registered)) input_backend_set_format(s->in, 48000, s->nports);
    pthread_mutex_unlock(&h->lock);
}

static void unlink_live(jack_source *s)
{
    if (!s->started) return;
    s->started = 0;
    _Atomic(jack_source *) *link = &s->host->live;
    for (jack_source *t; (t = atomic_load(link)); link = &t->next_live)
        if (t == s) {
            atomic_store(link, atomic_load(&s->next_live));
            return;
        }
}

/* Returns once no callback can be over a stream unlinked before the call:
 * callbacks are short and never block, so this is a brief wait. */
static void wait_callback_done(jack_host *h)
{
    while (atomic_load(&h->in_callback))
        sleep_us(100);
}

/* Takes s off its host for good: no callback touches it once this returns. */
static void host_leave(jack_host *h, jack_source *s)
{
    pthread_mutex_lock(&h->lock);
    unlink_live(s);
    pthread_mutex_unlock(&h->lock);
    wait_callback_done(h);
    pthread_mutex_lock(&h->lock);
    jack_source **link = &h->members;
    while (*link && *link != s)
        link = &(*link)->next_member;
    if (*link) *link = s->next_member;
    /* The last stream's ports go with the client. */
    if (h->members) unregister_ports(s);
    pthread_mutex_unlock(&h->lock);
    host_release(h);
}

/* ---- back-end ops ---- */

static int jack_start(input_t *in, char *err, size_t err_len)
{
    jack_source *s = in->priv;
    jack_host *h = s->host;
    pthread_mutex_lock(&h->lock);
    s->started = 1;
    atomic_store(&s->next_live, atomic_load(&h->live));
    atomic_store(&h->live, s);
    if (h->client && !h->active)
        activate(h);
    else if (h->active)
        go_running(s);
    if (!h->client) wait_for_server(h);
    int failed =
        !h->supervisor.started && input_reader_start_shared(&h->supervisor, "gr-jack", supervise, h,
                                                            in->opt.spec, err, err_len);
    pthread_mutex_unlock(&h->lock);
    return failed ? -1 : 0;
}

static void jack_close(input_t *in)
{
    jack_source *s = in->priv;
    if (!s) return;
    if (s->host) host_leave(s->host, s);
    for (unsigned k = 0; k < MAX_PORTS; k++)
        free(s->sources[k]);
    free(s->scratch);
    free(s);
    in->priv = NULL;
}

/* Stops feeding the stream now, so that many streams stop together;
 * jack_close waits for the callback. */
static void jack_request_stop(input_t *in)
{
    jack_source *s = in->priv;
    if (!s || !s->host) return;
    pthread_mutex_lock(&s->host->lock);
    unlink_live(s);
    pthread_mutex_unlock(&s->host->lock);
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
    s->host = s->scratch
                  ? host_acquire(in->opt.jack_client ? in->opt.jack_client : in->opt.client_name)
                  : NULL;
    if (!s->host) {
        snprintf(err, err_len, "input '%s': out of memory", in->opt.spec);
        jack_close(in);
        return -1;
    }
    jack_set_error_function(quiet);
    jack_set_info_function(quiet);
    host_join(s->host, s);
    return 0;
}

const input_backend input_jack_backend = {"jack", check_jack_ports, input_jack_open, 1};
