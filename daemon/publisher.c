/* publisher: genred's ZeroMQ protocol, version 1.
 *
 * Socket: XPUB bound to every `publish` endpoint (default
 * tcp://127.0.0.1:5556; ipc:// works too). Every message has two frames:
 * the topic, then a UTF-8 JSON object whose "v" is 1. New fields may be
 * added within version 1; existing ones keep their name, type and meaning.
 * All times are integers in ms since the Unix epoch (wall clock); positions
 * count input frames (at the input's sample rate) since the stream started.
 *
 * genre.probs (every hop, per stream)
 *   v           int     1
 *   stream      string  stream name
 *   time_ms     int     when the message was made
 *   position    int     input frames consumed when this window completed
 *                       (the resampler's look-ahead may add a few frames)
 *   rate        number  input sample rate, Hz (position / rate = seconds)
 *   model       string  model id
 *   labels      [string] the model's labels, in model order
 *   top         string|null  label with the highest smoothed probability;
 *                       null while the stream is silent
 *   p           number  smoothed probability of top (0 when silent)
 *   probs       [number] smoothed probabilities, model order, sum 1 (1e-4)
 *   raw         [number] this window's unsmoothed probabilities, sum 1
 *   silence     bool    window level below silence_dbfs
 *   level_dbfs  number  RMS level of the window about its mean, dBFS (-200 for
 *                       digital 0 or a bare DC offset)
 *
 * genre.change (per stream, when the smoothed top label, or silence,
 * changed and then held for change_hold seconds of audio)
 *   v, stream, time_ms, position, model  as above
 *   previous    string|null  label before (null: silence or nothing yet)
 *   new         string|null  label now (null: silence)
 *   silence     bool    the stream has become silent (new is null)
 *   p           number  smoothed probability of new (0 for silence)
 *
 * genre.status (every status_interval seconds, default 5)
 *   v, time_ms          as above
 *   version     string  genred version
 *   model       string  model id
 *   uptime_s    number  seconds since start
 *   cpu_percent number  process CPU time over the last interval / wall time
 *                       (100 = one core busy)
 *   cpu_user_s, cpu_system_s  number  process CPU time since start
 *   sent        int     messages sent since start
 *   dropped     int     messages dropped since start (slow subscribers under
 *                       drop_policy "count", or a full internal queue)
 *   streams     [object] one per stream:
 *     name      string
 *     input     string  input spec
 *     state     string  starting|running|waiting|ended|failed
 *     error     string  the input's last status or error line ("" if none)
 *     rate      number  input sample rate, Hz
 *     channels  int
 *     position  int     input frames analysed so far
 *     hops      int     genre.probs messages made
 *     level_dbfs number|null  window level (null before the first window)
 *     silence   bool
 *     top       string|null, p number  as in the last genre.probs
 *     overruns  int     input blocks lost because the ring was full
 *     overrun_samples int  samples lost that way
 *     nonfinite int     NaN/Inf input samples replaced by 0
 *     latency_ms object|null  {p50, p99, max: number; n: int}: time from
 *               the worker taking from the ring the audio that completed a
 *               hop to the send of its genre.probs, over the hops since the
 *               previous status (the worker polls the ring every 3 ms, so
 *               audio may wait up to that long before the clock starts)
 *
 * Last-value cache: every subscription that matches genre.probs (including
 * "" = everything) makes genred resend the latest genre.probs of every
 * stream at once, so a late subscriber does not wait for the next hop. The
 * resend goes to every matching subscriber: others may see a message twice
 * (same stream and position).
 *
 * Slow subscribers (drop_policy): ZeroMQ queues up to send_hwm messages per
 * subscriber. "count" (default) sets ZMQ_XPUB_NODROP and sends without
 * blocking: when any subscriber's queue is full the message is dropped for
 * everyone and counted in "dropped", so losses are visible, at the price
 * that one stalled subscriber that has filled its queue costs the others
 * those messages too. "isolate" lets ZeroMQ drop per subscriber: a stalled
 * subscriber only loses its own messages, but those drops are invisible to
 * genred and not counted. Either way the pipeline never waits. */
#include "publisher.h"

#include "curve.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define MAX_TRACKED   CONFIG_MAX_STREAMS
#define LATENCY_CAP   4096
#define INPROC_HWM    10000
#define XPUB_LINGER   500
#define POLL_SLICE_MS 50

typedef struct {
    char stream[CONFIG_NAME_LEN];
    char *last_probs; /* last genre.probs body, for the last-value cache */
    double *latency;  /* ms, since the last publisher_take_latency */
    unsigned n_latency;
    uint64_t latency_seen;
} stream_track;

struct publisher {
    void *zctx, *xpub, *pull;
    curve_t *curve; /* NULL: plain text */
    char inproc[64];
    config_drop_policy drop_policy;
    double status_interval;
    publisher_status_fn status_fn;
    void *status_ctx;

    pthread_t thread;
    int started;
    atomic_bool stop;
    atomic_int subscribed;
    atomic_uint_fast64_t sent, dropped;

    stream_track tracks[MAX_TRACKED];
    unsigned n_tracks;
};

int64_t monotonic_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int64_t wallclock_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void set_int(void *sock, int option, int value)
{
    zmq_setsockopt(sock, option, &value, sizeof value);
}

/* CURVE on the XPUB (before any bind), or a warning for each endpoint that
 * leaves the machine in plain text (conf_check refused those unless
 * allow_plaintext_remote). */
static int secure(publisher_t *p, const genred_config *cfg, char *err, size_t err_len)
{
    if (!cfg->curve_secret_key[0]) {
        for (unsigned i = 0; i < cfg->n_publish; i++)
            if (!curve_endpoint_is_local(cfg->publish[i]))
                log_warn("publish '%s': plain text off this machine (allow_plaintext_remote): "
                         "anyone who reaches it can subscribe",
                         cfg->publish[i]);
        return 0;
    }
    p->curve = curve_create(p->zctx, cfg->curve_secret_key, cfg->curve_allow, err, err_len);
    if (!p->curve || curve_apply(p->curve, p->xpub, err, err_len)) return -1;
    if (curve_allowed(p->curve))
        log_info("CURVE on, server public key %s; %u client key(s) allowed by %s",
                 curve_public_key(p->curve), curve_allowed(p->curve), cfg->curve_allow);
    else
        log_info("CURVE on, server public key %s; any client with it may subscribe",
                 curve_public_key(p->curve));
    return 0;
}

publisher_t *publisher_create(const genred_config *cfg, char *err, size_t err_len)
{
    publisher_t *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, err_len, "publisher: out of memory");
        return NULL;
    }
    p->drop_policy = cfg->drop_policy;
    p->status_interval = cfg->status_interval;
    atomic_init(&p->stop, false);
    atomic_init(&p->subscribed, 0);
    atomic_init(&p->sent, 0);
    atomic_init(&p->dropped, 0);
    p->zctx = zmq_ctx_new();
    p->xpub = p->zctx ? zmq_socket(p->zctx, ZMQ_XPUB) : NULL;
    p->pull = p->zctx ? zmq_socket(p->zctx, ZMQ_PULL) : NULL;
    if (!p->xpub || !p->pull) {
        snprintf(err, err_len, "publisher: cannot create ZeroMQ sockets: %s",
                 zmq_strerror(zmq_errno()));
        publisher_destroy(p);
        return NULL;
    }
    set_int(p->xpub, ZMQ_SNDHWM, cfg->send_hwm);
    set_int(p->xpub, ZMQ_LINGER, XPUB_LINGER);
    set_int(p->xpub, ZMQ_XPUB_VERBOSE, 1); /* every subscribe, for the cache */
    if (cfg->drop_policy == DROP_COUNT) set_int(p->xpub, ZMQ_XPUB_NODROP, 1);
    set_int(p->pull, ZMQ_RCVHWM, INPROC_HWM);
    if (secure(p, cfg, err, err_len)) {
        publisher_destroy(p);
        return NULL;
    }
    for (unsigned i = 0; i < cfg->n_publish; i++)
        if (zmq_bind(p->xpub, cfg->publish[i])) {
            snprintf(err, err_len, "publish '%s': %s", cfg->publish[i], zmq_strerror(zmq_errno()));
            publisher_destroy(p);
            return NULL;
        }
    snprintf(p->inproc, sizeof p->inproc, "inproc://genred-publisher-%p", (void *)p);
    if (zmq_bind(p->pull, p->inproc)) {
        snprintf(err, err_len, "publisher: inproc bind: %s", zmq_strerror(zmq_errno()));
        publisher_destroy(p);
        return NULL;
    }
    return p;
}

void publisher_destroy(publisher_t *p)
{
    if (!p) return;
    publisher_stop(p);
    if (p->xpub) zmq_close(p->xpub);
    if (p->pull) zmq_close(p->pull);
    curve_destroy(p->curve);
    if (p->zctx) zmq_ctx_term(p->zctx);
    for (unsigned i = 0; i < p->n_tracks; i++) {
        free(p->tracks[i].last_probs);
        free(p->tracks[i].latency);
    }
    free(p);
}

void *publisher_connect(publisher_t *p, char *err, size_t err_len)
{
    void *push = zmq_socket(p->zctx, ZMQ_PUSH);
    if (!push) {
        snprintf(err, err_len, "publisher: cannot create a PUSH socket: %s",
                 zmq_strerror(zmq_errno()));
        return NULL;
    }
    set_int(push, ZMQ_SNDHWM, INPROC_HWM);
    set_int(push, ZMQ_LINGER, 1000);
    if (zmq_connect(push, p->inproc)) {
        snprintf(err, err_len, "publisher: inproc connect: %s", zmq_strerror(zmq_errno()));
        zmq_close(push);
        return NULL;
    }
    return push;
}

void publisher_disconnect(void *push)
{
    if (push) zmq_close(push);
}

void publisher_post(publisher_t *p, void *push, const char *topic, const char *stream,
                    const char *body, int64_t arrival_ns)
{
    /* The first frame decides: once it is queued, ZeroMQ queues the rest. */
    if (zmq_send(push, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        atomic_fetch_add(&p->dropped, 1);
        return;
    }
    zmq_send(push, stream, strlen(stream), ZMQ_SNDMORE);
    zmq_send(push, body, strlen(body), ZMQ_SNDMORE);
    zmq_send(push, &arrival_ns, sizeof arrival_ns, 0);
}

static stream_track *track(publisher_t *p, const char *stream)
{
    for (unsigned i = 0; i < p->n_tracks; i++)
        if (!strcmp(p->tracks[i].stream, stream)) return &p->tracks[i];
    if (p->n_tracks == MAX_TRACKED) return NULL;
    stream_track *t = &p->tracks[p->n_tracks];
    t->latency = malloc(LATENCY_CAP * sizeof *t->latency);
    if (!t->latency) return NULL;
    snprintf(t->stream, sizeof t->stream, "%s", stream);
    p->n_tracks++;
    return t;
}

/* 0 sent, -1 dropped (counted). */
static int send_out(publisher_t *p, const char *topic, const void *body, size_t len)
{
    if (zmq_send(p->xpub, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        atomic_fetch_add(&p->dropped, 1);
        return -1;
    }
    zmq_send(p->xpub, body, len, 0);
    atomic_fetch_add(&p->sent, 1);
    return 0;
}

static int starts_with(const char *s, const char *prefix, size_t prefix_len)
{
    return strlen(s) >= prefix_len && !memcmp(s, prefix, prefix_len);
}

static void handle_subscriptions(publisher_t *p)
{
    char buf[256];
    for (;;) {
        int n = zmq_recv(p->xpub, buf, sizeof buf, ZMQ_DONTWAIT);
        if (n < 0) return;
        if (n < 1 || buf[0] != 1) continue; /* unsubscribe */
        size_t len = (size_t)n - 1 < sizeof buf - 1 ? (size_t)n - 1 : sizeof buf - 1;
        atomic_store(&p->subscribed, 1);
        log_debug("subscription '%.*s'", (int)len, buf + 1);
        if (!starts_with("genre.probs", buf + 1, len)) continue;
        for (unsigned i = 0; i < p->n_tracks; i++)
            if (p->tracks[i].last_probs)
                send_out(p, "genre.probs", p->tracks[i].last_probs,
                         strlen(p->tracks[i].last_probs));
    }
}

static int recv_frame(void *sock, zmq_msg_t *m)
{
    zmq_msg_init(m);
    return zmq_msg_recv(m, sock, 0) < 0 ? -1 : 0;
}

static void record(publisher_t *p, const char *topic, const char *stream, zmq_msg_t *body,
                   int64_t arrival_ns)
{
    if (strcmp(topic, "genre.probs")) return;
    stream_track *t = track(p, stream);
    if (!t) return;
    char *copy = realloc(t->last_probs, zmq_msg_size(body) + 1);
    if (copy) {
        memcpy(copy, zmq_msg_data(body), zmq_msg_size(body));
        copy[zmq_msg_size(body)] = '\0';
        t->last_probs = copy;
    }
    if (arrival_ns > 0) {
        t->latency[t->n_latency % LATENCY_CAP] = (double)(monotonic_ns() - arrival_ns) / 1e6;
        t->n_latency++;
    }
}

/* Forwards one posted message; 0 when there was none waiting. */
static int forward_one(publisher_t *p)
{
    zmq_msg_t f[4];
    zmq_msg_init(&f[0]);
    if (zmq_msg_recv(&f[0], p->pull, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&f[0]);
        return 0;
    }
    int ok = 1;
    for (int i = 1; i < 4; i++)
        if (recv_frame(p->pull, &f[i])) ok = 0;
    char topic[64], stream[CONFIG_NAME_LEN];
    int64_t arrival = 0;
    if (ok && zmq_msg_size(&f[0]) < sizeof topic && zmq_msg_size(&f[1]) < sizeof stream &&
        zmq_msg_size(&f[3]) == sizeof arrival) {
        memcpy(topic, zmq_msg_data(&f[0]), zmq_msg_size(&f[0]));
        topic[zmq_msg_size(&f[0])] = '\0';
        memcpy(stream, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]));
        stream[zmq_msg_size(&f[1])] = '\0';
        memcpy(&arrival, zmq_msg_data(&f[3]), sizeof arrival);
        if (!send_out(p, topic, zmq_msg_data(&f[2]), zmq_msg_size(&f[2])))
            record(p, topic, stream, &f[2], arrival);
        else if (!strcmp(topic, "genre.probs"))
            record(p, topic, stream, &f[2], 0); /* still the latest value */
    }
    for (int i = 0; i < 4; i++)
        zmq_msg_close(&f[i]);
    return 1;
}

static void send_status(publisher_t *p)
{
    if (!p->status_fn) return;
    json_t *body = p->status_fn(p, p->status_ctx);
    if (!body) return;
    char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(7));
    if (text) send_out(p, "genre.status", text, strlen(text));
    free(text);
    json_decref(body);
}

static void *publisher_main(void *arg)
{
    publisher_t *p = arg;
    int64_t interval = (int64_t)(p->status_interval * 1e9);
    int64_t next_status = monotonic_ns() + interval;
    while (!atomic_load(&p->stop)) {
        zmq_pollitem_t items[2] = {{p->xpub, 0, ZMQ_POLLIN, 0}, {p->pull, 0, ZMQ_POLLIN, 0}};
        int64_t wait_ms = (next_status - monotonic_ns()) / 1000000;
        if (wait_ms > POLL_SLICE_MS) wait_ms = POLL_SLICE_MS;
        if (wait_ms < 0) wait_ms = 0;
        if (zmq_poll(items, 2, (long)wait_ms) < 0 && zmq_errno() != EINTR) break;
        if (items[0].revents & ZMQ_POLLIN) handle_subscriptions(p);
        if (items[1].revents & ZMQ_POLLIN)
            for (int i = 0; i < 256 && forward_one(p); i++)
                ;
        if (monotonic_ns() >= next_status) {
            send_status(p);
            next_status += interval;
            if (next_status < monotonic_ns()) next_status = monotonic_ns() + interval;
        }
    }
    while (forward_one(p))
        ;
    send_status(p); /* a closing summary, e.g. for archive tagging */
    return NULL;
}

int publisher_start(publisher_t *p, publisher_status_fn status, void *ctx, char *err,
                    size_t err_len)
{
    p->status_fn = status;
    p->status_ctx = ctx;
    int e = pthread_create(&p->thread, NULL, publisher_main, p);
    if (e) {
        snprintf(err, err_len, "publisher: cannot start thread: %s", strerror(e));
        return -1;
    }
    pthread_setname_np(p->thread, "gr-publish");
    p->started = 1;
    return 0;
}

void publisher_stop(publisher_t *p)
{
    if (!p->started) return;
    atomic_store(&p->stop, true);
    pthread_join(p->thread, NULL);
    p->started = 0;
}

int publisher_subscribed(const publisher_t *p)
{
    return atomic_load(&((publisher_t *)p)->subscribed);
}

uint64_t publisher_sent(const publisher_t *p)
{
    return atomic_load(&((publisher_t *)p)->sent);
}

uint64_t publisher_dropped(const publisher_t *p)
{
    return atomic_load(&((publisher_t *)p)->dropped);
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

unsigned publisher_take_latency(publisher_t *p, const char *stream, double *p50, double *p99,
                                double *max)
{
    stream_track *t = NULL;
    for (unsigned i = 0; i < p->n_tracks; i++)
        if (!strcmp(p->tracks[i].stream, stream)) t = &p->tracks[i];
    if (!t || !t->n_latency) return 0;
    unsigned n = t->n_latency < LATENCY_CAP ? t->n_latency : LATENCY_CAP;
    qsort(t->latency, n, sizeof *t->latency, compare_double);
    *p50 = t->latency[(n - 1) / 2];
    *p99 = t->latency[(unsigned)((n - 1) * 0.99 + 0.5)];
    *max = t->latency[n - 1];
    t->n_latency = 0;
    return n;
}
