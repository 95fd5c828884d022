/* hub: genre-hub's topics, in addition to genred's protocol version 1
 * (README "ZeroMQ protocol", daemon/protocol.h), which passes through.
 *
 * Stream names: every stream of a fleet is named HOST/STREAM in its genred's
 * config, HOST being the name the hub's config gives that genred host, so
 * names are unique across the fleet. The hub reads each host on a socket of
 * its own, so it knows which host sent a message whatever the message says:
 * a host's genre.status, and nothing else, keeps that host up, and a message
 * about a stream named for another host is dropped (counted as `foreign`).
 * Streams named for no host still pass, but are counted (`unnamed`).
 *
 * What is not the protocol is dropped and counted (`rejected`): a topic
 * outside protocol.h's table or one only the hub sends, other than two
 * frames, a body over 256 KiB, anything but a UTF-8 JSON object with "v": 1
 * and its stream. So is a message the hub has passed on already (same
 * stream, topic, started_ms and seq, counted as `duplicates`), such as a
 * host's snapshot after a reconnection.
 *
 * Late subscribers: the hub keeps the last genre.host and genre.status of
 * every host and genre.probs and genre.change of every stream, within
 * max_streams and max_cache_mb, and answers a snapshot subscription
 * ("snapshot/NONCE/PREFIX", protocol.h) with those whose topic starts with
 * PREFIX, to that subscriber only, at most 8 MiB/s for all snapshots
 * together. Host state comes first, being cached first.
 *
 * genre.host (when a host's state changes, and in snapshots)
 *   v          int     1
 *   host       string  the host's name in the hub's config
 *   seq        int     1 for the host's first genre.host since the hub
 *                      started, one more for each after it
 *   started_ms int     when the hub started (wall clock ms)
 *   time_ms    int     wall clock, ms since the Unix epoch
 *   endpoint   string  its publisher
 *   state      string  "up" (genre.status arriving) or "lost" (none for
 *                      lost_after status intervals, 3 by default)
 *   silent_ms  int|null  ms since its last genre.status (null: none yet)
 *
 * genre.hub (every status_interval)
 *   v, time_ms          as above
 *   version    string  genre-hub version
 *   uptime_s   number
 *   messages   int     genred messages that passed the hub since start
 *   subscriptions int  subscriptions seen
 *   snapshots  int     snapshot requests taken; snapshots_dropped: refused
 *                      because 256 were waiting
 *   streams    int     streams in the cache (of genre.probs)
 *   cache_bytes int    bytes of the messages in the cache
 *   cache_full int     messages not cached: max_streams or max_cache_mb
 *   unnamed    int     messages whose stream is named for no host
 *   foreign    int     messages dropped: their stream is named for another
 *                      host than the one that sent them
 *   rejected   int     messages dropped: not the protocol
 *   duplicates int     messages dropped: passed on before
 *   hosts      [object]  {host, endpoint, state ("unseen", "up", "lost"),
 *                        silent_ms}
 *   jetstream  object|null  the bridge, null when off: connected (bool),
 *              buffered, capacity, published, duplicates (resent, already
 *              stored), lost (did not fit the buffer), dropped (could never be
 *              stored: over NATS's max_payload or refused by JetStream),
 *              retries (batches) */
#include "hub.h"

#include "clock.h"
#include "curve.h"
#include "hub_bridge.h"
#include "hub_cache.h"
#include "hub_hosts.h"
#include "log.h"
#include "protocol_limits.h"
#include "protocol_seen.h"
#include "snapshot_queue.h"
#include "sockopt.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define POLL_MS 50
/* Work per loop, so that no host, subscriber or snapshot holds up the
 * others, the host watch or a prompt stop: messages from one host, and ms
 * spent on them (checking a 256 KiB message can take a millisecond). */
#define DRAIN_PER_HOST        256
#define DRAIN_MS              5
#define SUBSCRIPTIONS_PER_RUN 1024
#define SNAPSHOTS_PENDING     256
#define SNAPSHOT_BYTES_PER_S  (8 << 20)
/* Bad messages logged before they are only counted. */
#define REJECTS_LOGGED 5

typedef struct {
    uint64_t messages, subscriptions, unnamed, foreign, rejected, duplicates, cache_full;
} hub_counters;

struct hub {
    hub_config cfg;
    char version[32];
    void *zctx;
    void *xpub;            /* subscribers */
    void **from;           /* one SUB per host: the socket says which host sent */
    zmq_pollitem_t *items; /* the XPUB, then the hosts' SUBs */
    curve_t *curve;
    hub_cache_t *cache;
    protocol_seen_t *seen;
    snapshot_queue_t *snapshots;
    hub_hosts_t *hosts;
    hub_bridge_t *bridge;
    uint64_t *host_seq; /* genre.host messages made per host */
    pthread_t thread;
    int started;
    atomic_int stop;
    int64_t start_ms, started_ms; /* monotonic; wall clock, for genre.host */
    hub_counters n;
    int warned_unnamed, warned_full, warned_foreign;
};

/* Two frames to the subscribers; -1 when a subscriber's queue is full. */
static int say(hub_t *h, const char *topic, const void *body, size_t len)
{
    if (zmq_send(h->xpub, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) return -1;
    zmq_send(h->xpub, body, len, 0);
    return 0;
}

/* Stores a message in the cache, counting what does not fit. */
static void remember(hub_t *h, protocol_topic topic, const char *key, const char *body, size_t len)
{
    if (hub_cache_put(h->cache, topic, key, body, len) < 0) {
        h->n.cache_full++;
        if (!h->warned_full++)
            log_warn("cache full (max_streams %u, max_cache_mb %u): late subscribers will miss "
                     "some streams (warned once)",
                     h->cfg.max_streams, h->cfg.max_cache_mb);
    }
}

static void say_json(hub_t *h, protocol_topic topic, const char *key, json_t *o)
{
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(7)) : NULL;
    if (text) {
        if (key) remember(h, topic, key, text, strlen(text));
        say(h, protocol_topic_name(topic), text, strlen(text));
    }
    free(text);
    json_decref(o);
}

static json_t *silent_json(const hub_t *h, unsigned i, int64_t now)
{
    int64_t silent = hub_hosts_silent_ms(h->hosts, i, now);
    return silent < 0 ? json_null() : json_integer(silent);
}

static void on_host_event(void *ctx, unsigned i, hub_host_state state)
{
    hub_t *h = ctx;
    const char *name = hub_hosts_name(h->hosts, i);
    int64_t now = monotonic_ms(), silent = hub_hosts_silent_ms(h->hosts, i, now);
    if (state == HOST_LOST)
        log_warn("host '%s' (%s) lost: no genre.status for %.1f s", name,
                 hub_hosts_endpoint(h->hosts, i),
                 (double)(silent < 0 ? now - h->start_ms : silent) / 1000.0);
    else
        log_info("host '%s' (%s) up", name, hub_hosts_endpoint(h->hosts, i));
    say_json(h, PROTOCOL_HOST, name,
             json_pack("{s:i, s:s, s:I, s:I, s:I, s:s, s:s, s:o}", "v", 1, "host", name, "seq",
                       (json_int_t)++h->host_seq[i], "started_ms", (json_int_t)h->started_ms,
                       "time_ms", (json_int_t)wallclock_ms(), "endpoint",
                       hub_hosts_endpoint(h->hosts, i), "state", hub_host_state_name(state),
                       "silent_ms", silent_json(h, i, now)));
}

static json_t *bridge_json(hub_t *h)
{
    if (!h->bridge) return json_null();
    hub_bridge_stats s;
    hub_bridge_get_stats(h->bridge, &s);
    return json_pack("{s:b, s:i, s:i, s:I, s:I, s:I, s:I, s:I}", "connected", s.connected,
                     "buffered", (int)s.buffered, "capacity", (int)s.capacity, "published",
                     (json_int_t)s.published, "duplicates", (json_int_t)s.duplicates, "lost",
                     (json_int_t)s.lost, "dropped", (json_int_t)s.dropped, "retries",
                     (json_int_t)s.retries);
}

static json_t *counters_json(const hub_t *h)
{
    const hub_counters *n = &h->n;
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "messages",
                     (json_int_t)n->messages, "subscriptions", (json_int_t)n->subscriptions,
                     "snapshots", (json_int_t)snapshot_queue_taken(h->snapshots),
                     "snapshots_dropped", (json_int_t)snapshot_queue_dropped(h->snapshots),
                     "streams", (json_int_t)hub_cache_count(h->cache, PROTOCOL_PROBS),
                     "cache_bytes", (json_int_t)hub_cache_bytes(h->cache), "cache_full",
                     (json_int_t)n->cache_full, "unnamed", (json_int_t)n->unnamed, "foreign",
                     (json_int_t)n->foreign, "rejected", (json_int_t)n->rejected, "duplicates",
                     (json_int_t)n->duplicates);
}

static void say_status(hub_t *h)
{
    int64_t now = monotonic_ms();
    json_t *hosts = json_array();
    for (unsigned i = 0; i < hub_hosts_count(h->hosts); i++)
        json_array_append_new(hosts,
                              json_pack("{s:s, s:s, s:s, s:o}", "host", hub_hosts_name(h->hosts, i),
                                        "endpoint", hub_hosts_endpoint(h->hosts, i), "state",
                                        hub_host_state_name(hub_hosts_state(h->hosts, i)),
                                        "silent_ms", silent_json(h, i, now)));
    json_t *o =
        json_pack("{s:i, s:I, s:s, s:f, s:o, s:o}", "v", 1, "time_ms", (json_int_t)wallclock_ms(),
                  "version", h->version, "uptime_s", (double)(now - h->start_ms) / 1000.0, "hosts",
                  hosts, "jetstream", bridge_json(h));
    json_object_update_missing_new(o, counters_json(h));
    say_json(h, PROTOCOL_HUB, NULL, o);
}

/* Drops a message from host i that is not the protocol. */
static void reject(hub_t *h, unsigned i, const char *why)
{
    if (h->n.rejected++ < REJECTS_LOGGED)
        log_warn("host '%s': dropped a message: %s%s", hub_hosts_name(h->hosts, i), why,
                 h->n.rejected == REJECTS_LOGGED ? " (more are only counted, in genre.hub)" : "");
}

/* Whether host i may send m: a genred topic, and no stream named for
 * another host. */
static int from_host_ok(hub_t *h, unsigned i, const protocol_message *m)
{
    if (protocol_topic_get(m->topic)->from != PROTOCOL_FROM_GENRED) {
        reject(h, i, "a topic only genre-hub sends");
        return 0;
    }
    if (m->topic == PROTOCOL_STATUS) return 1;
    int named = hub_hosts_of_stream(h->hosts, m->key);
    if (named < 0) {
        h->n.unnamed++;
        if (!h->warned_unnamed++)
            log_warn("stream '%s' is not named HOST/STREAM with a host of %s; it passes, but "
                     "is counted as unnamed (warned once)",
                     m->key, h->cfg.source);
    } else if ((unsigned)named != i) {
        h->n.foreign++;
        if (!h->warned_foreign++)
            log_warn("host '%s' sent a message for stream '%s' of host '%s': dropped, counted "
                     "as foreign (warned once)",
                     hub_hosts_name(h->hosts, i), m->key, hub_hosts_name(h->hosts, named));
        return 0;
    }
    return 1;
}

/* Whether this genre.probs is due for the bridge (probs_interval per stream). */
static int probs_due(hub_t *h, const char *stream)
{
    double every = h->cfg.jetstream.probs_interval;
    if (every < 0) return 0;
    if (every == 0) return 1;
    int64_t *last = hub_cache_stamp(h->cache, PROTOCOL_PROBS, stream), now = monotonic_ms();
    if (!last) return 1;
    if (*last && now - *last < (int64_t)(every * 1000)) return 0;
    *last = now;
    return 1;
}

static void to_bridge(hub_t *h, const protocol_message *m, const char *body, size_t len)
{
    int bridged = 0;
    for (int i = 0; i < HUB_BRIDGED_TOPICS; i++)
        bridged |= m->topic == hub_bridged[i];
    if (!h->bridge || !bridged) return;
    if (m->topic == PROTOCOL_PROBS && !probs_due(h, m->key)) return;
    hub_bridge_post(h->bridge, protocol_topic_name(m->topic), m->key,
                    json_integer_value(json_object_get(m->body, "position")),
                    json_integer_value(json_object_get(m->body, "time_ms")), body, len);
}

/* A message of the protocol from host i: checked, cached, bridged, passed
 * on. */
static void on_message(hub_t *h, unsigned i, const protocol_message *m, zmq_msg_t *body)
{
    if (!from_host_ok(h, i, m)) return;
    if (!protocol_seen_check(h->seen, m)) {
        h->n.duplicates++;
        return;
    }
    h->n.messages++;
    const char *text = zmq_msg_data(body);
    size_t len = zmq_msg_size(body);
    const char *key = m->topic == PROTOCOL_STATUS ? hub_hosts_name(h->hosts, i) : m->key;
    if (protocol_topic_get(m->topic)->cached) remember(h, m->topic, key, text, len);
    to_bridge(h, m, text, len);
    say(h, protocol_topic_name(m->topic), text, len);
    if (m->topic == PROTOCOL_STATUS)
        hub_hosts_status(h->hosts, i, monotonic_ms(), on_host_event, h);
}

static void drain_host(hub_t *h, unsigned i)
{
    int64_t until = monotonic_ms() + DRAIN_MS;
    for (int k = 0; k < DRAIN_PER_HOST && monotonic_ms() < until; k++) {
        protocol_message m;
        zmq_msg_t body;
        const char *why = "";
        int got = protocol_recv(h->from[i], ZMQ_DONTWAIT, &m, &body, &why);
        if (got > 0)
            on_message(h, i, &m, &body);
        else if (!got)
            reject(h, i, why);
        json_decref(m.body);
        zmq_msg_close(&body);
        if (got < 0) return;
    }
}

/* Subscribers' subscriptions: counted, and snapshot requests queued (and
 * dropped again if unsubscribed before their turn). The hub takes every
 * topic from its hosts itself, so none goes further. */
static void read_subscriptions(hub_t *h)
{
    char buf[PROTOCOL_SUBSCRIPTION_MAX + 2];
    for (int k = 0; k < SUBSCRIPTIONS_PER_RUN; k++) {
        int n = zmq_recv(h->xpub, buf, sizeof buf, ZMQ_DONTWAIT);
        if (n < 0) return;
        size_t len = (size_t)n <= sizeof buf ? (size_t)n : 1;
        if (snapshot_queue_take(h->snapshots, buf, len) == 1) h->n.subscriptions++;
    }
}

/* Sends the cached message at the request's cursor and moves it on; 0 when
 * the request is finished (or the subscriber cannot take more now). */
static int snapshot_step(hub_t *h, snapshot_request *r)
{
    protocol_topic topic;
    const char *body;
    size_t len;
    if (!hub_cache_at(h->cache, r->cursor++, &topic, &body, &len)) return 0;
    const char *name = protocol_topic_name(topic);
    if (!body || !snapshot_request_wants(r, name)) return 1;
    char reply[PROTOCOL_SUBSCRIPTION_MAX + PROTOCOL_TOPIC_LEN + 1];
    snapshot_request_topic(r, name, reply, sizeof reply);
    if (say(h, reply, body, len) < 0) return 0;
    snapshot_queue_spend(h->snapshots, len);
    return 1;
}

static void serve_snapshots(hub_t *h)
{
    snapshot_request *r;
    while ((r = snapshot_queue_next(h->snapshots, monotonic_ms())))
        if (!snapshot_step(h, r)) snapshot_queue_done(h->snapshots);
}

static void *hub_main(void *arg)
{
    hub_t *h = arg;
    int64_t interval = (int64_t)(h->cfg.status_interval * 1000),
            next_status = monotonic_ms() + interval;
    int n_items = 1 + (int)h->cfg.n_hosts;
    while (!atomic_load(&h->stop)) {
        if (zmq_poll(h->items, n_items, POLL_MS) < 0 && zmq_errno() != EINTR) break;
        if (h->items[0].revents & ZMQ_POLLIN) read_subscriptions(h);
        for (unsigned i = 0; i < h->cfg.n_hosts; i++)
            if (h->items[1 + i].revents & ZMQ_POLLIN) drain_host(h, i);
        serve_snapshots(h);
        int64_t now = monotonic_ms();
        hub_hosts_tick(h->hosts, now, on_host_event, h);
        if (now >= next_status) {
            say_status(h);
            next_status = now + interval;
        }
    }
    return NULL;
}

static int open_subscribers_side(hub_t *h, char *err, size_t err_len)
{
    h->xpub = zmq_socket(h->zctx, ZMQ_XPUB);
    if (!h->xpub) {
        snprintf(err, err_len, "cannot create the XPUB: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    sockopt_int(h->xpub, ZMQ_SNDHWM, h->cfg.send_hwm);
    sockopt_int(h->xpub, ZMQ_LINGER, 200);
    sockopt_int(h->xpub, ZMQ_XPUB_VERBOSE, 1); /* every subscription, for the cache */
    protocol_limit_frames(h->xpub, h->curve ? PROTOCOL_CURVE_SUBSCRIBER_FRAME_MAX
                                            : PROTOCOL_SUBSCRIBER_FRAME_MAX);
    if (h->curve && curve_apply(h->curve, h->xpub, err, err_len)) return -1;
    for (unsigned i = 0; i < h->cfg.n_publish; i++)
        if (zmq_bind(h->xpub, h->cfg.publish[i])) {
            snprintf(err, err_len, "publish '%s': %s", h->cfg.publish[i],
                     zmq_strerror(zmq_errno()));
            return -1;
        }
    return 0;
}

/* Host i's socket: every genre topic, and a snapshot of the host's state,
 * which ZeroMQ asks for again at each reconnection. */
static int open_host(hub_t *h, unsigned i, char *err, size_t err_len)
{
    const hub_host_config *c = &h->cfg.hosts[i];
    void *s = h->from[i] = zmq_socket(h->zctx, ZMQ_SUB);
    if (!s) {
        snprintf(err, err_len, "host '%s': cannot create a socket: %s", c->name,
                 zmq_strerror(zmq_errno()));
        return -1;
    }
    sockopt_int(s, ZMQ_RCVHWM, h->cfg.send_hwm);
    sockopt_int(s, ZMQ_LINGER, 0);
    protocol_limit_frames(s, PROTOCOL_MESSAGE_FRAME_MAX); /* a hostile host's reach */
    if (c->server_key[0]) {
        char key[CURVE_KEY_Z85_LEN + 1], why[600];
        if (curve_read_public("server_key", c->server_key, key, why, sizeof why) ||
            curve_apply_client(h->curve, s, key, why, sizeof why)) {
            snprintf(err, err_len, "host '%s': %s", c->name, why);
            return -1;
        }
    }
    protocol_subscribe(s, "genre.");
    if (zmq_connect(s, c->endpoint)) {
        snprintf(err, err_len, "host '%s': endpoint '%s': %s", c->name, c->endpoint,
                 zmq_strerror(zmq_errno()));
        return -1;
    }
    h->items[1 + i] = (zmq_pollitem_t){s, 0, ZMQ_POLLIN, 0};
    return 0;
}

/* The cache's bounds: max_streams streams of each per-stream topic, one
 * entry per host of the others. */
static hub_cache_t *make_cache(const hub_config *c)
{
    unsigned max_keys[PROTOCOL_TOPICS];
    for (int t = 0; t < PROTOCOL_TOPICS; t++) {
        const protocol_topic_info *info = protocol_topic_get((protocol_topic)t);
        max_keys[t] = !info->cached                               ? 0
                      : info->key && !strcmp(info->key, "stream") ? c->max_streams
                                                                  : c->n_hosts;
    }
    return hub_cache_create(max_keys, (size_t)c->max_cache_mb << 20);
}

static int make_parts(hub_t *h, char *err, size_t err_len)
{
    const hub_config *c = &h->cfg;
    h->from = calloc(c->n_hosts ? c->n_hosts : 1, sizeof *h->from);
    h->items = calloc(1 + c->n_hosts, sizeof *h->items);
    h->host_seq = calloc(c->n_hosts ? c->n_hosts : 1, sizeof *h->host_seq);
    h->cache = make_cache(c);
    h->seen = protocol_seen_create(PROTOCOL_TOPICS * (c->max_streams + c->n_hosts));
    h->snapshots = snapshot_queue_create(SNAPSHOTS_PENDING, SNAPSHOT_BYTES_PER_S, h->start_ms);
    h->hosts = hub_hosts_create(c, h->start_ms);
    if (!h->from || !h->items || !h->host_seq || !h->cache || !h->seen || !h->snapshots ||
        !h->hosts) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    return 0;
}

static int open_all(hub_t *h, char *err, size_t err_len)
{
    const hub_config *c = &h->cfg;
    if (make_parts(h, err, err_len)) return -1;
    if (c->curve_secret_key[0]) {
        h->curve = curve_create(h->zctx, c->curve_secret_key, c->curve_allow, err, err_len);
        if (!h->curve) return -1;
        log_info("CURVE on, hub public key %s%s", curve_public_key(h->curve),
                 curve_allowed(h->curve) ? " (subscribers limited by curve_allow)" : "");
    }
    if (open_subscribers_side(h, err, err_len)) return -1;
    h->items[0] = (zmq_pollitem_t){h->xpub, 0, ZMQ_POLLIN, 0};
    for (unsigned i = 0; i < c->n_hosts; i++)
        if (open_host(h, i, err, err_len)) return -1;
    if (c->jetstream.url[0] && !(h->bridge = hub_bridge_create(&c->jetstream, err, err_len)))
        return -1;
    return 0;
}

hub_t *hub_create(const hub_config *cfg, const char *version, char *err, size_t err_len)
{
    hub_t *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    h->cfg = *cfg;
    snprintf(h->version, sizeof h->version, "%s", version);
    atomic_init(&h->stop, 0);
    h->start_ms = monotonic_ms();
    h->started_ms = wallclock_ms();
    h->zctx = zmq_ctx_new();
    if (!h->zctx || open_all(h, err, err_len)) {
        hub_destroy(h);
        return NULL;
    }
    if (pthread_create(&h->thread, NULL, hub_main, h)) {
        snprintf(err, err_len, "cannot start the hub's thread");
        hub_destroy(h);
        return NULL;
    }
    h->started = 1;
    pthread_setname_np(h->thread, "genre-hub");
    return h;
}

void hub_destroy(hub_t *h)
{
    if (!h) return;
    if (h->started) {
        atomic_store(&h->stop, 1);
        pthread_join(h->thread, NULL);
    }
    hub_bridge_destroy(h->bridge);
    if (h->xpub) zmq_close(h->xpub);
    for (unsigned i = 0; h->from && i < h->cfg.n_hosts; i++)
        if (h->from[i]) zmq_close(h->from[i]);
    curve_destroy(h->curve);
    if (h->zctx) zmq_ctx_term(h->zctx);
    hub_cache_destroy(h->cache);
    protocol_seen_destroy(h->seen);
    snapshot_queue_destroy(h->snapshots);
    hub_hosts_destroy(h->hosts);
    free(h->from);
    free(h->items);
    free(h->host_seq);
    free(h);
}
