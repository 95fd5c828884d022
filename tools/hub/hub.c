/* hub: genre-hub's topics, in addition to genred's protocol version 1
 * (README "ZeroMQ protocol"), which passes through unchanged.
 *
 * Stream names: every stream of a fleet is named HOST/STREAM in its genred's
 * config, HOST being the name the hub's config gives that genred host, so
 * names are unique across the fleet and the hub knows which host a message
 * comes from. Streams outside the rule still pass, but are counted
 * (`unnamed`) and cannot tell the hub a host is alive.
 *
 * Late subscribers: every subscription makes the hub send, at once, the
 * cached last genre.host of every host, genre.status of every host, and
 * genre.change and genre.probs of every stream, whose topic matches the
 * subscription. Like genred's own resend, this goes to every subscriber of
 * those topics: others may see a message twice (same stream and position).
 *
 * genre.host (when a host's state changes, and to late subscribers)
 *   v          int     1
 *   time_ms    int     wall clock, ms since the Unix epoch
 *   host       string  the host's name in the hub's config
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
 *   subscriptions int  subscriptions seen (each one answered from the cache)
 *   streams    int     streams in the cache
 *   unnamed    int     messages whose stream breaks the HOST/STREAM rule
 *   cache_full int     messages not cached because max_streams was reached
 *   hosts      [object]  {host, endpoint, state ("unseen", "up", "lost"),
 *                        silent_ms}
 *   jetstream  object|null  the bridge, null when off: connected (bool),
 *              buffered, capacity, published, duplicates (resent, already
 *              stored), lost (did not fit the buffer), dropped (could never be
 *              stored: over NATS's max_payload or refused by JetStream),
 *              retries (batches) */
#include "hub.h"

#include "curve.h"
#include "hub_bridge.h"
#include "hub_cache.h"
#include "hub_hosts.h"
#include "log.h"
#include "protocol_limits.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define TOPIC_LEN     64
#define POLL_MS       50
#define DRAIN_PER_RUN 4096
#define CAPTURE_HWM   100000

static const char *const replay_topics[] = {"genre.host", "genre.status", "genre.change",
                                            "genre.probs"};

struct hub {
    hub_config cfg;
    char version[32];
    void *zctx;
    void *xsub, *xpub, *capture_proxy, *control_proxy; /* the proxy thread's */
    void *capture, *local;                             /* the hub thread's */
    void *control;                                     /* the caller's */
    curve_t *curve;
    hub_cache_t *cache;
    hub_hosts_t *hosts;
    hub_bridge_t *bridge;
    pthread_t proxy_thread, hub_thread;
    int proxy_started, hub_started;
    atomic_int stop;
    int64_t start_ms;
    uint64_t messages, subscriptions, unnamed, cache_full;
    int warned_unnamed, warned_full;
};

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void set_int(void *sock, int option, int value)
{
    zmq_setsockopt(sock, option, &value, sizeof value);
}

/* Sends on the inproc PUB that feeds the proxy (hub thread only). */
static void say(hub_t *h, const char *topic, const char *body, size_t len)
{
    zmq_send(h->local, topic, strlen(topic), ZMQ_SNDMORE);
    zmq_send(h->local, body, len, 0);
}

static void replay_one(void *ctx, const char *topic, const char *body, size_t len)
{
    say(ctx, topic, body, len);
}

static void say_json(hub_t *h, const char *topic, const char *key, json_t *o)
{
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(7)) : NULL;
    if (text) {
        if (key) hub_cache_put(h->cache, topic, key, text, strlen(text));
        say(h, topic, text, strlen(text));
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
    int64_t now = mono_ms(), silent = hub_hosts_silent_ms(h->hosts, i, now);
    if (state == HOST_LOST)
        log_warn("host '%s' (%s) lost: no genre.status for %.1f s", name,
                 hub_hosts_endpoint(h->hosts, i),
                 (double)(silent < 0 ? now - h->start_ms : silent) / 1000.0);
    else
        log_info("host '%s' (%s) up", name, hub_hosts_endpoint(h->hosts, i));
    say_json(h, "genre.host", name,
             json_pack("{s:i, s:I, s:s, s:s, s:s, s:o}", "v", 1, "time_ms", (json_int_t)wall_ms(),
                       "host", name, "endpoint", hub_hosts_endpoint(h->hosts, i), "state",
                       hub_host_state_name(state), "silent_ms", silent_json(h, i, now)));
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

static void say_status(hub_t *h)
{
    int64_t now = mono_ms();
    json_t *hosts = json_array();
    for (unsigned i = 0; i < hub_hosts_count(h->hosts); i++)
        json_array_append_new(hosts,
                              json_pack("{s:s, s:s, s:s, s:o}", "host", hub_hosts_name(h->hosts, i),
                                        "endpoint", hub_hosts_endpoint(h->hosts, i), "state",
                                        hub_host_state_name(hub_hosts_state(h->hosts, i)),
                                        "silent_ms", silent_json(h, i, now)));
    say_json(h, "genre.hub", NULL,
             json_pack("{s:i, s:I, s:s, s:f, s:I, s:I, s:i, s:I, s:I, s:o, s:o}", "v", 1, "time_ms",
                       (json_int_t)wall_ms(), "version", h->version, "uptime_s",
                       (double)(now - h->start_ms) / 1000.0, "messages", (json_int_t)h->messages,
                       "subscriptions", (json_int_t)h->subscriptions, "streams",
                       (int)hub_cache_count(h->cache, "genre.probs"), "unnamed",
                       (json_int_t)h->unnamed, "cache_full", (json_int_t)h->cache_full, "hosts",
                       hosts, "jetstream", bridge_json(h)));
}

static void note_unnamed(hub_t *h, const char *stream)
{
    h->unnamed++;
    if (!h->warned_unnamed++)
        log_warn("stream '%s' is not named HOST/STREAM with a host of %s; it passes, but "
                 "is counted as unnamed (warned once)",
                 stream, h->cfg.source);
}

/* Stores a message in the cache; 0 when it was already there (a replay). */
static int remember(hub_t *h, const char *topic, const char *key, const char *body, size_t len)
{
    int r = hub_cache_put(h->cache, topic, key, body, len);
    if (r < 0) {
        h->cache_full++;
        if (!h->warned_full++)
            log_warn("cache full (max_streams %u): new streams pass but late subscribers will "
                     "not get them (warned once)",
                     h->cfg.max_streams);
    }
    return r != 0;
}

static void on_status(hub_t *h, json_t *o, const char *body, size_t len)
{
    json_t *first = json_array_get(json_object_get(o, "streams"), 0);
    const char *stream = json_string_value(json_object_get(first, "name"));
    int host = stream ? hub_hosts_of_stream(h->hosts, stream) : -1;
    if (host < 0) {
        note_unnamed(h, stream ? stream : "(none)");
        return;
    }
    if (remember(h, "genre.status", hub_hosts_name(h->hosts, (unsigned)host), body, len))
        hub_hosts_status(h->hosts, (unsigned)host, mono_ms(), on_host_event, h);
}

/* Whether this genre.probs is due for the bridge (probs_interval per stream). */
static int probs_due(hub_t *h, const char *stream)
{
    double every = h->cfg.jetstream.probs_interval;
    if (every < 0) return 0;
    if (every == 0) return 1;
    int64_t *last = hub_cache_stamp(h->cache, "genre.probs", stream), now = mono_ms();
    if (!last) return 1;
    if (*last && now - *last < (int64_t)(every * 1000)) return 0;
    *last = now;
    return 1;
}

static void on_event(hub_t *h, const char *topic, json_t *o, const char *body, size_t len)
{
    const char *stream = json_string_value(json_object_get(o, "stream"));
    if (!stream) return;
    if (!remember(h, topic, stream, body, len)) return;
    if (hub_hosts_of_stream(h->hosts, stream) < 0) note_unnamed(h, stream);
    if (!h->bridge || (!strcmp(topic, "genre.probs") && !probs_due(h, stream))) return;
    hub_bridge_post(h->bridge, topic, stream, json_integer_value(json_object_get(o, "position")),
                    json_integer_value(json_object_get(o, "time_ms")), body, len);
}

static void on_message(hub_t *h, const char *topic, const char *body, size_t len)
{
    int status = !strcmp(topic, "genre.status");
    if (!status && strcmp(topic, "genre.probs") && strcmp(topic, "genre.change")) return;
    json_t *o = json_loadb(body, len, 0, NULL);
    if (!o) return;
    h->messages++;
    if (status)
        on_status(h, o, body, len);
    else
        on_event(h, topic, o, body, len);
    json_decref(o);
}

static void on_subscription(hub_t *h, const char *frame, size_t len)
{
    if (len < 1 || frame[0] != 1) return; /* an unsubscription */
    h->subscriptions++;
    hub_cache_each(h->cache, frame + 1, len - 1, replay_topics,
                   sizeof replay_topics / sizeof *replay_topics, replay_one, h);
}

/* One captured message: a two-frame publication, or a one-frame
 * subscription on its way to the hosts. 0 when none was waiting. */
static int capture_one(hub_t *h)
{
    zmq_msg_t first, second;
    zmq_msg_init(&first);
    if (zmq_msg_recv(&first, h->capture, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&first);
        return 0;
    }
    if (!zmq_msg_more(&first)) {
        on_subscription(h, zmq_msg_data(&first), zmq_msg_size(&first));
    } else {
        zmq_msg_init(&second);
        zmq_msg_recv(&second, h->capture, 0);
        char topic[TOPIC_LEN];
        size_t n = zmq_msg_size(&first);
        if (n < sizeof topic && !zmq_msg_more(&second)) {
            memcpy(topic, zmq_msg_data(&first), n);
            topic[n] = '\0';
            on_message(h, topic, zmq_msg_data(&second), zmq_msg_size(&second));
        }
        while (zmq_msg_more(&second)) /* frames beyond protocol v1's two */
            zmq_msg_recv(&second, h->capture, 0);
        zmq_msg_close(&second);
    }
    zmq_msg_close(&first);
    return 1;
}

static void *hub_main(void *arg)
{
    hub_t *h = arg;
    int64_t interval = (int64_t)(h->cfg.status_interval * 1000), next_status = mono_ms() + interval;
    while (!atomic_load(&h->stop)) {
        zmq_pollitem_t item = {h->capture, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, POLL_MS) < 0 && zmq_errno() != EINTR) break;
        for (int i = 0; i < DRAIN_PER_RUN && capture_one(h); i++)
            ;
        int64_t now = mono_ms();
        hub_hosts_tick(h->hosts, now, on_host_event, h);
        if (now >= next_status) {
            say_status(h);
            next_status = now + interval;
        }
    }
    return NULL;
}

static void *proxy_main(void *arg)
{
    hub_t *h = arg;
    zmq_proxy_steerable(h->xsub, h->xpub, h->capture_proxy, h->control_proxy);
    return NULL;
}

/* A connected pair of inproc sockets, for the proxy's capture and control. */
static int pair(hub_t *h, const char *what, void **a, void **b, int hwm)
{
    char ep[96];
    snprintf(ep, sizeof ep, "inproc://genre-hub-%s-%p", what, (void *)h);
    *a = zmq_socket(h->zctx, ZMQ_PAIR);
    *b = zmq_socket(h->zctx, ZMQ_PAIR);
    if (!*a || !*b) return -1;
    set_int(*a, ZMQ_SNDHWM, hwm);
    set_int(*b, ZMQ_RCVHWM, hwm);
    set_int(*a, ZMQ_LINGER, 0);
    set_int(*b, ZMQ_LINGER, 0);
    return zmq_bind(*b, ep) || zmq_connect(*a, ep) ? -1 : 0;
}

static int open_subscribers_side(hub_t *h, char *err, size_t err_len)
{
    h->xpub = zmq_socket(h->zctx, ZMQ_XPUB);
    if (!h->xpub) {
        snprintf(err, err_len, "cannot create the XPUB: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    set_int(h->xpub, ZMQ_SNDHWM, h->cfg.send_hwm);
    set_int(h->xpub, ZMQ_LINGER, 200);
    set_int(h->xpub, ZMQ_XPUB_VERBOSE, 1); /* every subscription, for the cache */
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

static int connect_host(hub_t *h, const hub_host_config *c, char *err, size_t err_len)
{
    if (c->server_key[0]) {
        char key[CURVE_KEY_Z85_LEN + 1], why[600];
        if (curve_read_public("server_key", c->server_key, key, why, sizeof why) ||
            curve_apply_client(h->curve, h->xsub, key, why, sizeof why)) {
            snprintf(err, err_len, "host '%s': %s", c->name, why);
            return -1;
        }
    }
    if (zmq_connect(h->xsub, c->endpoint)) {
        snprintf(err, err_len, "host '%s': endpoint '%s': %s", c->name, c->endpoint,
                 zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

/* The XSUB: the hub's own PUB and plain-text hosts first, then CURVE ones,
 * since libzmq takes a connection's security from the socket's options at
 * connect time and a CURVE client cannot be turned back into a plain one. */
static int open_hosts_side(hub_t *h, char *err, size_t err_len)
{
    char ep[96];
    snprintf(ep, sizeof ep, "inproc://genre-hub-local-%p", (void *)h);
    h->xsub = zmq_socket(h->zctx, ZMQ_XSUB);
    h->local = zmq_socket(h->zctx, ZMQ_PUB);
    if (!h->xsub || !h->local || zmq_bind(h->local, ep) || zmq_connect(h->xsub, ep)) {
        snprintf(err, err_len, "cannot create the XSUB: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    set_int(h->xsub, ZMQ_RCVHWM, h->cfg.send_hwm);
    set_int(h->xsub, ZMQ_LINGER, 0);
    protocol_limit_frames(h->xsub, PROTOCOL_MESSAGE_FRAME_MAX);
    set_int(h->local, ZMQ_LINGER, 0);
    set_int(h->local, ZMQ_SNDHWM, h->cfg.send_hwm);
    for (int curve = 0; curve < 2; curve++)
        for (unsigned i = 0; i < h->cfg.n_hosts; i++)
            if (!h->cfg.hosts[i].server_key[0] == !curve &&
                connect_host(h, &h->cfg.hosts[i], err, err_len))
                return -1;
    /* The hub's own subscription: hosts send every topic even with no
     * subscriber, so the cache, the host watch and the bridge see them all. */
    static const char everything[] = "\001genre.";
    zmq_send(h->xsub, everything, sizeof everything - 1, 0);
    return 0;
}

static int open_all(hub_t *h, char *err, size_t err_len)
{
    const hub_config *c = &h->cfg;
    if (c->curve_secret_key[0]) {
        h->curve = curve_create(h->zctx, c->curve_secret_key, c->curve_allow, err, err_len);
        if (!h->curve) return -1;
        log_info("CURVE on, hub public key %s%s", curve_public_key(h->curve),
                 curve_allowed(h->curve) ? " (subscribers limited by curve_allow)" : "");
    }
    if (open_subscribers_side(h, err, err_len) || open_hosts_side(h, err, err_len)) return -1;
    if (pair(h, "capture", &h->capture_proxy, &h->capture, CAPTURE_HWM) ||
        pair(h, "control", &h->control, &h->control_proxy, 16)) {
        snprintf(err, err_len, "inproc sockets: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    h->cache = hub_cache_create(2 * c->max_streams + c->n_hosts * 2);
    h->hosts = hub_hosts_create(c, h->start_ms);
    if (!h->cache || !h->hosts) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
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
    h->start_ms = mono_ms();
    h->zctx = zmq_ctx_new();
    if (!h->zctx || open_all(h, err, err_len)) {
        hub_destroy(h);
        return NULL;
    }
    if (pthread_create(&h->proxy_thread, NULL, proxy_main, h) == 0) h->proxy_started = 1;
    if (h->proxy_started && pthread_create(&h->hub_thread, NULL, hub_main, h) == 0)
        h->hub_started = 1;
    if (!h->hub_started) {
        snprintf(err, err_len, "cannot start threads");
        hub_destroy(h);
        return NULL;
    }
    pthread_setname_np(h->proxy_thread, "hub-proxy");
    pthread_setname_np(h->hub_thread, "hub-cache");
    return h;
}

static void close_socket(void *s)
{
    if (s) zmq_close(s);
}

void hub_destroy(hub_t *h)
{
    if (!h) return;
    /* The proxy first: it may be waiting to hand the hub thread a capture. */
    if (h->proxy_started) {
        zmq_send(h->control, "TERMINATE", 9, 0);
        pthread_join(h->proxy_thread, NULL);
    }
    if (h->hub_started) {
        atomic_store(&h->stop, 1);
        pthread_join(h->hub_thread, NULL);
    }
    hub_bridge_destroy(h->bridge);
    void *sockets[] = {h->xsub,    h->xpub,  h->capture_proxy, h->control_proxy,
                       h->capture, h->local, h->control};
    for (unsigned i = 0; i < sizeof sockets / sizeof *sockets; i++)
        close_socket(sockets[i]);
    curve_destroy(h->curve);
    if (h->zctx) zmq_ctx_term(h->zctx);
    hub_cache_destroy(h->cache);
    hub_hosts_destroy(h->hosts);
    free(h);
}
