/* publisher: the XPUB socket's thread (see publisher.h; the protocol is in
 * messages.h). */
#include "publisher.h"

#include "clock.h"
#include "curve.h"
#include "log.h"
#include "protocol_limits.h"
#include "snapshot_queue.h"
#include "sockopt.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define LATENCY_CAP   4096
#define INPROC_HWM    10000
#define XPUB_LINGER   500
#define POLL_SLICE_MS 50
/* Snapshots (protocol.h): requests waiting at most, and bytes a second for
 * all of them together. */
#define SNAPSHOTS_PENDING    256
#define SNAPSHOT_BYTES_PER_S (8 << 20)

typedef struct {
    char stream[CONFIG_NAME_LEN];
    char *last[PROTOCOL_TOPICS]; /* latest body per topic, for snapshots */
    size_t last_len[PROTOCOL_TOPICS];
    double *latency; /* ms, since the last publisher_take_latency */
    unsigned n_latency;
} stream_track;

struct publisher_stream {
    publisher_t *publisher;
    void *push;
    uint32_t track; /* index into the publisher's tracks */
};

/* What travels with each posted body, as one frame. */
typedef struct {
    uint32_t track;
    uint32_t topic;
    int64_t arrival_ns;
} post_header;

struct publisher {
    void *zctx, *xpub, *pull;
    curve_t *curve; /* NULL: plain text */
    char inproc[64];
    int64_t started_ms;
    snapshot_queue_t *snapshots;
    int warned_too_big;
    config_drop_policy drop_policy;
    double status_interval;
    publisher_status_fn status_fn;
    void *status_ctx;

    pthread_t thread;
    int started;
    atomic_bool stop;
    atomic_int subscribed;
    atomic_uint_fast64_t sent, dropped;

    /* One per connected stream, grown by publisher_connect before the
     * thread starts: no fixed limit on streams. */
    stream_track *tracks;
    unsigned n_tracks;
};

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
    p->started_ms = wallclock_ms();
    p->snapshots =
        snapshot_queue_create(SNAPSHOTS_PENDING, SNAPSHOT_BYTES_PER_S, monotonic_ns() / 1000000);
    atomic_init(&p->stop, false);
    atomic_init(&p->subscribed, 0);
    atomic_init(&p->sent, 0);
    atomic_init(&p->dropped, 0);
    p->zctx = zmq_ctx_new();
    /* One PUSH socket per stream, plus the XPUB and PULL: ZeroMQ's default
     * of 1023 sockets a context refused the 1022nd stream (EMFILE). */
    if (p->zctx && cfg->n_streams + 64 > 1023)
        zmq_ctx_set(p->zctx, ZMQ_MAX_SOCKETS, (int)cfg->n_streams + 64);
    p->xpub = p->zctx ? zmq_socket(p->zctx, ZMQ_XPUB) : NULL;
    p->pull = p->zctx ? zmq_socket(p->zctx, ZMQ_PULL) : NULL;
    if (!p->xpub || !p->pull || !p->snapshots) {
        snprintf(err, err_len, "publisher: cannot create ZeroMQ sockets: %s",
                 zmq_strerror(zmq_errno()));
        publisher_destroy(p);
        return NULL;
    }
    sockopt_int(p->xpub, ZMQ_SNDHWM, cfg->send_hwm);
    sockopt_int(p->xpub, ZMQ_LINGER, XPUB_LINGER);
    sockopt_int(p->xpub, ZMQ_XPUB_VERBOSE, 1); /* every subscribe, for the cache */
    if (cfg->drop_policy == DROP_COUNT) sockopt_int(p->xpub, ZMQ_XPUB_NODROP, 1);
    sockopt_int(p->pull, ZMQ_RCVHWM, INPROC_HWM);
    if (secure(p, cfg, err, err_len)) {
        publisher_destroy(p);
        return NULL;
    }
    /* Before any bind: a listener takes the socket's options as they are. */
    protocol_limit_frames(p->xpub, p->curve ? PROTOCOL_CURVE_SUBSCRIBER_FRAME_MAX
                                            : PROTOCOL_SUBSCRIBER_FRAME_MAX);
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
    snapshot_queue_destroy(p->snapshots);
    for (unsigned i = 0; i < p->n_tracks; i++) {
        for (unsigned k = 0; k < PROTOCOL_TOPICS; k++)
            free(p->tracks[i].last[k]);
        free(p->tracks[i].latency);
    }
    free(p->tracks);
    free(p);
}

static int add_track(publisher_t *p, const char *stream)
{
    stream_track *grown = realloc(p->tracks, (p->n_tracks + 1) * sizeof *grown);
    if (!grown) return -1;
    p->tracks = grown;
    stream_track *t = &p->tracks[p->n_tracks];
    memset(t, 0, sizeof *t);
    t->latency = malloc(LATENCY_CAP * sizeof *t->latency);
    if (!t->latency) return -1;
    snprintf(t->stream, sizeof t->stream, "%s", stream);
    p->n_tracks++;
    return 0;
}

publisher_stream_t *publisher_connect(publisher_t *p, const char *stream, char *err, size_t err_len)
{
    publisher_stream_t *s = calloc(1, sizeof *s);
    if (!s || add_track(p, stream)) {
        free(s);
        snprintf(err, err_len, "publisher: out of memory");
        return NULL;
    }
    s->publisher = p;
    s->track = p->n_tracks - 1;
    s->push = zmq_socket(p->zctx, ZMQ_PUSH);
    if (!s->push) {
        snprintf(err, err_len, "publisher: cannot create a PUSH socket: %s",
                 zmq_strerror(zmq_errno()));
        free(s);
        return NULL;
    }
    sockopt_int(s->push, ZMQ_SNDHWM, INPROC_HWM);
    sockopt_int(s->push, ZMQ_LINGER, 1000);
    if (zmq_connect(s->push, p->inproc)) {
        snprintf(err, err_len, "publisher: inproc connect: %s", zmq_strerror(zmq_errno()));
        publisher_disconnect(s);
        return NULL;
    }
    return s;
}

void publisher_disconnect(publisher_stream_t *s)
{
    if (!s) return;
    zmq_close(s->push);
    free(s);
}

void publisher_post(publisher_stream_t *s, protocol_topic topic, const char *body,
                    int64_t arrival_ns)
{
    post_header h = {s->track, (uint32_t)topic, arrival_ns};
    /* The first frame decides: once it is queued, ZeroMQ queues the rest. */
    if (zmq_send(s->push, &h, sizeof h, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        atomic_fetch_add(&s->publisher->dropped, 1);
        return;
    }
    zmq_send(s->push, body, strlen(body), 0);
}

/* Two frames, without waiting; 0, or -1 when a subscriber's queue is full. */
static int send_frames(void *xpub, const char *topic, const void *body, size_t len)
{
    if (zmq_send(xpub, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) return -1;
    zmq_send(xpub, body, len, 0);
    return 0;
}

/* 0 sent, -1 dropped (counted). */
static int send_out(publisher_t *p, protocol_topic t, const void *body, size_t len)
{
    const char *topic = protocol_topic_name(t);
    /* Receivers take nothing larger: better one loud drop here. */
    if (len > protocol_body_max(t)) {
        if (!p->warned_too_big++)
            log_error("a %s message of %zu bytes is over the protocol's %zu: dropped (counted in "
                      "dropped; warned once)",
                      topic, len, protocol_body_max(t));
        atomic_fetch_add(&p->dropped, 1);
        return -1;
    }
    if (send_frames(p->xpub, topic, body, len) < 0) {
        atomic_fetch_add(&p->dropped, 1);
        return -1;
    }
    atomic_fetch_add(&p->sent, 1);
    return 0;
}

/* What genred keeps for snapshots: the latest message of each stream of
 * each per-stream topic that the protocol caches. */
static int kept(protocol_topic t)
{
    const protocol_topic_info *info = protocol_topic_get(t);
    return info->cached && info->from == PROTOCOL_FROM_GENRED && info->key;
}

/* Sends the snapshot message at the request's cursor, which counts the
 * (topic, stream) pairs topic by topic, and moves it on. 0 when the request
 * is finished. */
static int snapshot_step(publisher_t *p, snapshot_request *r)
{
    if (!p->n_tracks || r->cursor >= (size_t)PROTOCOL_TOPICS * p->n_tracks) return 0;
    protocol_topic topic = (protocol_topic)(r->cursor / p->n_tracks);
    const stream_track *t = &p->tracks[r->cursor % p->n_tracks];
    r->cursor++;
    const char *name = protocol_topic_name(topic);
    if (!kept(topic) || !t->last[topic] || !snapshot_request_wants(r, name)) return 1;
    char reply[PROTOCOL_SUBSCRIPTION_MAX + PROTOCOL_TOPIC_LEN + 1];
    snapshot_request_topic(r, name, reply, sizeof reply);
    /* The subscriber's queue is full: it cannot take a snapshot now. */
    if (send_frames(p->xpub, reply, t->last[topic], t->last_len[topic]) < 0) return 0;
    snapshot_queue_spend(p->snapshots, t->last_len[topic]);
    return 1;
}

static void serve_snapshots(publisher_t *p)
{
    snapshot_request *r;
    while ((r = snapshot_queue_next(p->snapshots, monotonic_ns() / 1000000)))
        if (!snapshot_step(p, r)) snapshot_queue_done(p->snapshots);
}

static void handle_subscriptions(publisher_t *p)
{
    char buf[PROTOCOL_SUBSCRIPTION_MAX + 2];
    for (;;) {
        int n = zmq_recv(p->xpub, buf, sizeof buf, ZMQ_DONTWAIT);
        if (n < 0) return;
        size_t len = (size_t)n <= sizeof buf ? (size_t)n : 1;
        if (snapshot_queue_take(p->snapshots, buf, len) != 1) continue;
        atomic_store(&p->subscribed, 1);
        /* Tests wait on this line for their subscribers instead of sleeping. */
        log_debug("subscription '%.*s'", (int)len - 1, buf + 1);
    }
}

/* Keeps the latest body of a kept topic, and the latency of a sent
 * genre.probs. */
static void record(publisher_t *p, const post_header *h, zmq_msg_t *body, int sent)
{
    stream_track *t = &p->tracks[h->track];
    if (kept((protocol_topic)h->topic)) {
        size_t len = zmq_msg_size(body);
        char *copy = realloc(t->last[h->topic], len + 1);
        if (copy) {
            memcpy(copy, zmq_msg_data(body), len);
            copy[len] = '\0';
            t->last[h->topic] = copy;
            t->last_len[h->topic] = len;
        }
    }
    if (sent && h->topic == PROTOCOL_PROBS && h->arrival_ns > 0) {
        t->latency[t->n_latency % LATENCY_CAP] = (double)(monotonic_ns() - h->arrival_ns) / 1e6;
        t->n_latency++;
    }
}

/* Forwards one posted message; 0 when there was none waiting. */
static int forward_one(publisher_t *p)
{
    zmq_msg_t head, body;
    zmq_msg_init(&head);
    if (zmq_msg_recv(&head, p->pull, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&head);
        return 0;
    }
    zmq_msg_init(&body);
    int ok = zmq_msg_recv(&body, p->pull, 0) >= 0 && zmq_msg_size(&head) == sizeof(post_header);
    post_header h;
    if (ok) {
        memcpy(&h, zmq_msg_data(&head), sizeof h);
        ok = h.track < p->n_tracks && h.topic < PROTOCOL_TOPICS;
    }
    if (ok) {
        int sent = !send_out(p, (protocol_topic)h.topic, zmq_msg_data(&body), zmq_msg_size(&body));
        record(p, &h, &body, sent); /* dropped or not, still the latest value */
    }
    zmq_msg_close(&head);
    zmq_msg_close(&body);
    return 1;
}

static void send_status(publisher_t *p)
{
    if (!p->status_fn) return;
    char *text = p->status_fn(p, p->status_ctx);
    if (text) send_out(p, PROTOCOL_STATUS, text, strlen(text));
    free(text);
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
        serve_snapshots(p);
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

int64_t publisher_started_ms(const publisher_t *p)
{
    return p->started_ms;
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
