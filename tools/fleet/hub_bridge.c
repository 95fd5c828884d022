#include "hub_bridge.h"

#include "clock.h"
#include "log.h"
#include "nats_util.h"
#include "protocol.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH          256
#define ACK_WAIT_MS    5000
#define RETRY_PAUSE_MS 200
#define DRAIN_MS       2000
#define SUBJECT_LEN    256
/* A message's headers besides its id: "NATS/1.0\r\n", "Nats-Msg-Id: ",
 * "\r\n\r\n" (27 bytes), with room to spare. NATS counts them in
 * max_payload, and a server sent more than that closes the connection. */
#define HEADER_BYTES  64
#define CAUSES_LOGGED 16

typedef struct {
    char subject[SUBJECT_LEN];
    char id[SUBJECT_LEN];
    size_t len;
    char body[]; /* len bytes */
} event;

struct hub_bridge {
    hub_jetstream_config cfg;
    natsConnection *nc;
    jsCtx *js;
    pthread_t thread;
    int started;

    pthread_mutex_t lock; /* guards what follows */
    pthread_cond_t wake;
    event **ring;
    unsigned head, count;
    int stop, overflowing;
    uint64_t lost_at_overflow;
    hub_bridge_stats stats;

    atomic_uint acked, failed, duplicates; /* of the batch in flight */
    atomic_uint refused;                   /* JetStream said no to that message: never stored */
    unsigned too_big;                      /* of the batch: over the server's max_payload */

    /* Why events were dropped, each logged once: 0 for max_payload, else
     * JetStream's error code (guarded by lock). */
    int causes[CAUSES_LOGGED];
    unsigned n_causes;
};

static void pause_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&t, &t) && errno == EINTR)
        ;
}

/* Logs why an event can never be stored, once per cause. */
static void note_drop(hub_bridge_t *b, int cause, const char *subject, const char *why)
{
    pthread_mutex_lock(&b->lock);
    int seen = 0;
    for (unsigned i = 0; i < b->n_causes && !seen; i++)
        seen = b->causes[i] == cause;
    if (!seen && b->n_causes < CAUSES_LOGGED) b->causes[b->n_causes++] = cause;
    pthread_mutex_unlock(&b->lock);
    if (!seen)
        log_warn("jetstream: dropping %s: %s; counted in jetstream.dropped (logged once for "
                 "this cause)",
                 subject, why);
}

/* Runs on a NATS library thread, once per message of the batch. */
static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    (void)js;
    hub_bridge_t *b = closure;
    if (pa) {
        atomic_fetch_add(&b->acked, 1);
        if (pa->Duplicate) atomic_fetch_add(&b->duplicates, 1);
    } else if (pae && pae->ErrCode) {
        /* JetStream's own answer about this message (too large for the
         * stream, say): sending it again gets the same answer. A timeout or
         * no responders has no code, and is retried. */
        atomic_fetch_add(&b->refused, 1);
        char why[320];
        snprintf(why, sizeof why, "JetStream refused it (error %d: %s)", (int)pae->ErrCode,
                 pae->ErrText ? pae->ErrText : "");
        note_drop(b, (int)pae->ErrCode, natsMsg_GetSubject(msg), why);
    } else {
        atomic_fetch_add(&b->failed, 1);
    }
    natsMsg_Destroy(msg);
}

/* Whether the server could ever take e: NATS refuses a message over its
 * max_payload, and a batch resent with it would fail for ever. */
static int fits(hub_bridge_t *b, const event *e)
{
    int64_t most = natsConnection_GetMaxPayload(b->nc);
    if (most <= 0 || (int64_t)(e->len + strlen(e->id) + HEADER_BYTES) <= most) return 1;
    char why[128];
    snprintf(why, sizeof why, "%zu bytes, over the server's max_payload of %lld", e->len,
             (long long)most);
    note_drop(b, 0, e->subject, why);
    return 0;
}

/* 0 sent (its acknowledgement to come), 1 dropped as too large, -1 not
 * sent: the batch is to be resent. */
static int publish_one(hub_bridge_t *b, const event *e)
{
    if (!fits(b, e)) return 1;
    natsMsg *m = NULL;
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = e->id;
    natsStatus s = natsMsg_Create(&m, e->subject, NULL, e->body, (int)e->len);
    if (s == NATS_OK) s = js_PublishMsgAsync(b->js, &m, &po);
    natsMsg_Destroy(m);          /* NULL once the library owns it */
    if (s == NATS_MAX_PAYLOAD) { /* the library's own check, should fits() miss */
        note_drop(b, 0, e->subject, "over the server's max_payload");
        return 1;
    }
    return s == NATS_OK ? 0 : -1;
}

/* Publishes n events and waits for every acknowledgement. 0 when JetStream
 * stored (or already had) them all, or dropped those it never can take; -1
 * otherwise, and the caller resends the whole batch: ids make that
 * harmless. */
static int send_batch(hub_bridge_t *b, event *const *ev, unsigned n)
{
    atomic_store(&b->acked, 0);
    atomic_store(&b->failed, 0);
    atomic_store(&b->duplicates, 0);
    atomic_store(&b->refused, 0);
    b->too_big = 0;
    unsigned sent = 0;
    for (; sent < n; sent++) {
        int r = publish_one(b, ev[sent]);
        if (r < 0) break;
        b->too_big += (unsigned)r;
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = ACK_WAIT_MS;
    if (js_PublishAsyncComplete(b->js, &po) != NATS_OK) {
        natsMsgList pending;
        if (js_PublishAsyncGetPendingList(&pending, b->js) == NATS_OK)
            natsMsgList_Destroy(&pending);
        return -1;
    }
    unsigned answered = atomic_load(&b->acked) + atomic_load(&b->refused);
    return sent == n && !atomic_load(&b->failed) && answered + b->too_big == n ? 0 : -1;
}

static void pop(hub_bridge_t *b, unsigned n)
{
    pthread_mutex_lock(&b->lock);
    for (unsigned i = 0; i < n; i++) {
        free(b->ring[b->head]);
        b->ring[b->head] = NULL;
        b->head = (b->head + 1) % b->cfg.buffer;
    }
    b->count -= n;
    unsigned dup = atomic_load(&b->duplicates), dropped = b->too_big + atomic_load(&b->refused);
    b->stats.published += n - dup - dropped;
    b->stats.duplicates += dup;
    b->stats.dropped += dropped;
    if (b->overflowing && b->count < b->cfg.buffer / 2) {
        log_warn("jetstream: buffer draining; %llu events were lost while it was full",
                 (unsigned long long)(b->stats.lost - b->lost_at_overflow));
        b->overflowing = 0;
    }
    pthread_mutex_unlock(&b->lock);
}

/* Up to BATCH events from the head, which stay buffered until popped; 0
 * when there is nothing to send and the thread should stop. */
static unsigned take(hub_bridge_t *b, event **ev, int64_t *deadline)
{
    pthread_mutex_lock(&b->lock);
    while (!b->count && !b->stop) {
        struct timespec t = timespec_after_ms(CLOCK_REALTIME, 200);
        pthread_cond_timedwait(&b->wake, &b->lock, &t);
    }
    if (b->stop && !*deadline) *deadline = monotonic_ms() + DRAIN_MS;
    unsigned n = b->count < BATCH ? b->count : BATCH;
    if (b->stop && monotonic_ms() > *deadline) n = 0;
    for (unsigned i = 0; i < n; i++)
        ev[i] = b->ring[(b->head + i) % b->cfg.buffer];
    pthread_mutex_unlock(&b->lock);
    return n;
}

/* Whether NATS is there and the stream exists; logs changes once. */
static int ready(hub_bridge_t *b, int *stream_ready, int *was_connected)
{
    int connected = natsConnection_Status(b->nc) == NATS_CONN_STATUS_CONNECTED;
    if (connected != *was_connected)
        log_info("jetstream: %s %s", connected ? "connected to" : "lost the connection to",
                 b->cfg.url);
    *was_connected = connected;
    pthread_mutex_lock(&b->lock);
    b->stats.connected = connected;
    pthread_mutex_unlock(&b->lock);
    if (!connected) return 0;
    if (*stream_ready) return 1;
    /* Subjects are TOPIC.HOST.STREAM: the bridged topics' names. */
    char subjects[HUB_BRIDGED_TOPICS][PROTOCOL_TOPIC_LEN + 3];
    const char *list[HUB_BRIDGED_TOPICS];
    for (int i = 0; i < HUB_BRIDGED_TOPICS; i++) {
        snprintf(subjects[i], sizeof subjects[i], "%s.>", protocol_topic_name(hub_bridged[i]));
        list[i] = subjects[i];
    }
    nats_stream_spec spec = {b->cfg.stream,          list, HUB_BRIDGED_TOPICS, 0, b->cfg.replicas,
                             b->cfg.duplicate_window};
    char err[512];
    if (nats_util_stream(b->js, &spec, err, sizeof err)) {
        log_warn("jetstream: %s; retrying", err);
        return 0;
    }
    *stream_ready = 1;
    return 1;
}

static void *bridge_main(void *arg)
{
    hub_bridge_t *b = arg;
    event *ev[BATCH];
    int64_t deadline = 0;
    int stream_ready = 0, was_connected = 0;
    unsigned n;
    while ((n = take(b, ev, &deadline))) {
        if (!ready(b, &stream_ready, &was_connected)) {
            pause_ms(100);
        } else if (send_batch(b, ev, n)) {
            pthread_mutex_lock(&b->lock);
            b->stats.retries++;
            pthread_mutex_unlock(&b->lock);
            pause_ms(RETRY_PAUSE_MS);
        } else {
            pop(b, n);
        }
    }
    return NULL;
}

hub_bridge_t *hub_bridge_create(const hub_jetstream_config *cfg, char *err, size_t err_len)
{
    hub_bridge_t *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, err_len, "jetstream: out of memory");
        return NULL;
    }
    b->cfg = *cfg;
    b->stats.capacity = cfg->buffer;
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->wake, NULL);
    b->ring = calloc(cfg->buffer, sizeof *b->ring);
    if (!b->ring) {
        snprintf(err, err_len, "jetstream: buffer of %u events: out of memory", cfg->buffer);
        hub_bridge_destroy(b);
        return NULL;
    }
    if (!(b->nc = nats_util_connect(cfg->url, "genre-hub", 1, err, err_len))) {
        hub_bridge_destroy(b);
        return NULL;
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.AckHandler = on_ack;
    jo.PublishAsync.AckHandlerClosure = b;
    jo.PublishAsync.MaxPending = BATCH;
    if (!(b->js = nats_util_jetstream(b->nc, &jo, err, err_len))) {
        hub_bridge_destroy(b);
        return NULL;
    }
    if (pthread_create(&b->thread, NULL, bridge_main, b)) {
        snprintf(err, err_len, "jetstream: cannot start the bridge thread");
        hub_bridge_destroy(b);
        return NULL;
    }
    pthread_setname_np(b->thread, "hub-jetstream");
    b->started = 1;
    return b;
}

void hub_bridge_destroy(hub_bridge_t *b)
{
    if (!b) return;
    if (b->started) {
        pthread_mutex_lock(&b->lock);
        b->stop = 1;
        pthread_cond_signal(&b->wake);
        pthread_mutex_unlock(&b->lock);
        pthread_join(b->thread, NULL);
    }
    if (b->count)
        log_warn("jetstream: stopping with %u events not stored (NATS unreachable); lost",
                 b->count);
    for (unsigned i = 0; b->ring && i < b->cfg.buffer; i++)
        free(b->ring[i]);
    free(b->ring);
    jsCtx_Destroy(b->js);
    if (b->nc) natsConnection_Destroy(b->nc);
    pthread_cond_destroy(&b->wake);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

int hub_bridge_post(hub_bridge_t *b, const char *topic, const char *stream, int64_t position,
                    int64_t time_ms, const char *body, size_t len)
{
    event *e = malloc(sizeof *e + len);
    if (e) {
        nats_util_subject(e->subject, sizeof e->subject, topic, stream);
        snprintf(e->id, sizeof e->id, "%s:%s:%lld:%lld", topic, stream, (long long)position,
                 (long long)time_ms);
        e->len = len;
        memcpy(e->body, body, len);
    }
    pthread_mutex_lock(&b->lock);
    int full = !e || b->count == b->cfg.buffer;
    if (full) {
        if (!b->overflowing)
            log_warn("jetstream: buffer of %u events full (NATS unreachable or slow); counting "
                     "the events that do not fit as lost",
                     b->cfg.buffer);
        if (!b->overflowing) b->lost_at_overflow = b->stats.lost;
        b->overflowing = 1;
        b->stats.lost++;
    } else {
        b->ring[(b->head + b->count) % b->cfg.buffer] = e;
        b->count++;
        pthread_cond_signal(&b->wake);
    }
    pthread_mutex_unlock(&b->lock);
    if (full) free(e);
    return full ? -1 : 0;
}

void hub_bridge_get_stats(hub_bridge_t *b, hub_bridge_stats *out)
{
    pthread_mutex_lock(&b->lock);
    *out = b->stats;
    out->buffered = b->count;
    pthread_mutex_unlock(&b->lock);
}
