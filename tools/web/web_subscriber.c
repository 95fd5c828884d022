#include "web_subscriber.h"

#include "clock.h"
#include "handshake_watch.h"
#include "log.h"
#include "protocol.h"
#include "protocol_limits.h"
#include "protocol_seen.h"
#include "sockopt.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

enum {
    QUEUE_MAX = 100,  /* messages libzmq may hold per publisher (ZMQ_RCVHWM) */
    LOGGED_DROPS = 5, /* bad messages logged before they are only counted */
    /* (topic, stream) pairs whose last seq is kept; beyond that many it
     * starts again, which at worst relays one message twice. */
    SEEN_PAIRS = 4096
};

/* genre-web logs when genred goes quiet and when it is back, so the journal
 * says when the kiosk showed "No signal" (after 3 s, NO_SIGNAL_MS in
 * index.html). It waits longer than the page: a genred whose inputs all
 * ended still sends genre.status every 5 s (the default), and that alone
 * must not log twice every 5 s. */
static const int64_t no_signal_log_ms = 6000;

/* ---- What genre-web takes from genred's protocol (protocol.h) ---------- */

/* genred's own topics; genre-hub's reports on its hosts are not the page's. */
static bool relayed(protocol_topic t)
{
    return protocol_topic_get(t)->from == PROTOCOL_FROM_GENRED;
}

/* For how long the latest message of a topic (per stream) is given to a
 * browser that connects, 0 for never. Every frame counts on the page as a
 * sign of life from genred, so only what the protocol bounds in time is
 * replayed: genre.probs for 2 s, genre.status for 6 s. The protocol's
 * fresh_ms 0 ("the state until the next one", genre.change) becomes never:
 * kept without a limit, it would make a genred that stopped long ago look
 * alive, and the page knows the current genre from genre.probs anyway. */
static int64_t replay_ms(protocol_topic t)
{
    const protocol_topic_info *info = protocol_topic_get(t);
    return info->cached && info->fresh_ms > 0 ? info->fresh_ms : 0;
}

/* ---- The subscriber ---------------------------------------------------- */

struct web_subscriber {
    web_fanout_t *fanout;
    web_history_t *history;
    void *zmq_ctx;
    void *sock;
    handshake_watch_t *watch;
    pthread_t thread;
    bool running;
    atomic_bool stop;
    atomic_ulong rejected, too_big;
    /* The thread's own. */
    protocol_seen_t *seen;
    unsigned logged; /* bad messages logged */
    int64_t last_heard_ms;
    bool heard, alive;
    char frame[WEB_FRAME_MAX];
    char json[WEB_FRAME_MAX];
    char stream_json[WEB_STREAM_JSON_MAX];
    char labels_json[WEB_LABELS_JSON_MAX];
};

/* Counts a message that breaks the protocol and logs the first few, so a
 * broken publisher cannot flood the journal. A topic this version does not
 * know may be a newer protocol's: only counted. */
static void reject(web_subscriber_t *s, const char *why)
{
    atomic_fetch_add(&s->rejected, 1);
    if (!strcmp(why, PROTOCOL_NOT_A_TOPIC) || s->logged >= LOGGED_DROPS) return;
    s->logged++;
    log_warn("dropped a message: %s%s", why,
             s->logged == LOGGED_DROPS ? " (further drops are counted silently)" : "");
}

/* Notes a genre.probs in the stream's history. Messages without a label
 * list the model format allows are relayed but not remembered. */
static void remember(web_subscriber_t *s, const protocol_message *m, int64_t now_ms)
{
    json_t *labels = json_object_get(m->body, "labels");
    json_t *top = json_object_get(m->body, "top");
    if (!json_is_array(labels) || json_array_size(labels) > PROTOCOL_LABELS_MAX) return;
    size_t n = json_dumpb(json_object_get(m->body, "stream"), s->stream_json,
                          sizeof s->stream_json - 1, JSON_ENCODE_ANY);
    size_t k = json_dumpb(labels, s->labels_json, sizeof s->labels_json - 1, JSON_COMPACT);
    if (n == 0 || n >= sizeof s->stream_json || k == 0 || k >= sizeof s->labels_json) return;
    s->stream_json[n] = s->labels_json[k] = '\0';
    int index = -1;
    bool silent = json_is_true(json_object_get(m->body, "silence"));
    for (size_t i = 0; !silent && json_is_string(top) && i < json_array_size(labels); i++)
        if (json_equal(json_array_get(labels, i), top)) index = (int)i;
    web_history_record(s->history, s->stream_json, s->labels_json, index, now_ms);
}

/* genred's own bytes as one SSE frame in s->frame: re-encoding would print
 * its floats with 17 digits (0.98123539999999998). A body with a raw line
 * break (JSON whitespace, but it would end the SSE data line) is re-encoded
 * compactly, which escapes every newline inside strings. Length, or 0 when
 * it does not fit. */
static size_t make_frame(web_subscriber_t *s, const char *topic, json_t *msg, const char *body,
                         size_t len)
{
    if (memchr(body, '\n', len) || memchr(body, '\r', len)) {
        len = json_dumpb(msg, s->json, sizeof s->json, JSON_COMPACT);
        body = s->json;
        if (len == 0 || len >= sizeof s->json) return 0;
    }
    if (len >= sizeof s->frame) return 0;
    int n = snprintf(s->frame, sizeof s->frame, "event: %s\ndata: %.*s\n\n", topic, (int)len, body);
    return n < 0 || (size_t)n >= sizeof s->frame ? 0 : (size_t)n;
}

/* Copies the fields `keys` names that o has into a new object. */
static json_t *pick(json_t *o, const char *const *keys, size_t n)
{
    json_t *out = json_object();
    for (size_t i = 0; out && i < n; i++) {
        json_t *v = json_object_get(o, keys[i]);
        if (v) json_object_set(out, keys[i], v);
    }
    return out;
}

/* A genre.status larger than a frame (genred's limit for it is 9 MiB, 1024
 * streams; a frame holds about 300 whole streams) goes on with only what
 * the page shows (index.html, describeStatus): about 100 bytes a stream
 * instead of 1 kB, so the page still shows every stream's state. Length
 * of the frame, 0 when even that does not fit. */
static size_t make_page_status_frame(web_subscriber_t *s, const char *topic, json_t *msg)
{
    static const char *const process[] = {"v", "time_ms", "uptime_s", "cpu_percent", "dropped"};
    static const char *const stream[] = {"name", "state", "error", "overruns", "nonfinite"};
    json_t *out = pick(msg, process, sizeof process / sizeof *process), *list = json_array();
    size_t i;
    json_t *st;
    json_array_foreach(json_object_get(msg, "streams"), i, st)
        json_array_append_new(list, pick(st, stream, sizeof stream / sizeof *stream));
    json_object_set_new(out, "streams", list);
    size_t len = json_dumpb(out, s->json, sizeof s->json, JSON_COMPACT);
    size_t n = len && len < sizeof s->json ? make_frame(s, topic, out, s->json, len) : 0;
    json_decref(out);
    return n;
}

/* Hands one new message of the protocol on, under its own topic's name
 * (also when it came in a snapshot). */
static void relay(web_subscriber_t *s, const protocol_message *m, const char *body, size_t len)
{
    const char *topic = protocol_topic_name(m->topic);
    int64_t now = monotonic_ms();
    if (m->topic == PROTOCOL_PROBS) remember(s, m, now);
    size_t n = make_frame(s, topic, m->body, body, len);
    if (!n && m->topic == PROTOCOL_STATUS) n = make_page_status_frame(s, topic, m->body);
    if (n == 0) {
        if (atomic_fetch_add(&s->too_big, 1) == 0)
            log_warn("dropped a '%s' message that does not fit a %d-byte frame", topic,
                     WEB_FRAME_MAX);
        return;
    }
    web_fanout_publish(s->fanout, topic, m->key ? m->key : "", replay_ms(m->topic), s->frame, n,
                       now);
}

static void heard_from_genred(web_subscriber_t *s)
{
    s->last_heard_ms = monotonic_ms();
    if (!s->alive) log_info(s->heard ? "genred is back" : "receiving from genred");
    s->alive = s->heard = true;
}

static void check_silence(web_subscriber_t *s)
{
    if (!s->alive || monotonic_ms() - s->last_heard_ms <= no_signal_log_ms) return;
    s->alive = false;
    log_warn("nothing from genred for %lld s (stopped or unreachable): the page shows \"No "
             "signal\" and keeps its history",
             (long long)(no_signal_log_ms / 1000));
}

/* One whole message: relayed when it is genred's, new, and of the protocol. */
static void receive_one(web_subscriber_t *s)
{
    protocol_message m;
    zmq_msg_t body;
    const char *why = "";
    int got = protocol_recv(s->sock, ZMQ_DONTWAIT, &m, &body, &why);
    if (got >= 0) heard_from_genred(s);
    if (got == 0) reject(s, why);
    if (got == 1 && relayed(m.topic) && protocol_seen_check(s->seen, &m))
        relay(s, &m, zmq_msg_data(&body), zmq_msg_size(&body));
    json_decref(m.body);
    zmq_msg_close(&body);
}

static void *subscriber_main(void *arg)
{
    web_subscriber_t *s = arg;
    zmq_pollitem_t item = {.socket = s->sock, .events = ZMQ_POLLIN};
    while (!atomic_load(&s->stop)) {
        int ready = zmq_poll(&item, 1, 200);
        if (ready < 0 && zmq_errno() != EINTR) {
            log_error("ZeroMQ poll failed: %s", zmq_strerror(zmq_errno()));
            break;
        }
        for (int burst = 0; ready > 0 && burst < 256; burst++) {
            int events = 0;
            size_t events_len = sizeof events;
            zmq_getsockopt(s->sock, ZMQ_EVENTS, &events, &events_len);
            if (!(events & ZMQ_POLLIN)) break;
            receive_one(s);
        }
        check_silence(s);
    }
    return NULL;
}

static void log_handshake(const char *line)
{
    log_warn("%s", line);
}

/* Each relayed topic with a snapshot of it: genred sends no state to a new
 * subscriber unless asked, and with it the page shows the current genre as
 * soon as genre-web starts, and again after every reconnection. */
static int subscribe(web_subscriber_t *s, char *err, size_t err_len)
{
    for (int t = 0; t < PROTOCOL_TOPICS; t++) {
        const char *topic = protocol_topic_name((protocol_topic)t);
        if (relayed((protocol_topic)t) && protocol_subscribe(s->sock, topic)) {
            snprintf(err, err_len, "cannot subscribe to %s: %s", topic, zmq_strerror(zmq_errno()));
            return -1;
        }
    }
    return 0;
}

/* Socket options, CURVE, the handshake watch and the subscriptions: all
 * before the first connect. */
static int prepare_socket(web_subscriber_t *s, const web_subscriber_config *cfg, char *err,
                          size_t err_len)
{
    /* libzmq refuses larger frames (and drops the connection) rather than
     * buffer a hostile publisher's gigabytes; genred sends none (its
     * largest, a genre.status of 1024 streams, is under this). */
    int64_t max_size = PROTOCOL_MESSAGE_FRAME_MAX;
    if (sockopt_int(s->sock, ZMQ_LINGER, 0) || sockopt_int(s->sock, ZMQ_RCVHWM, QUEUE_MAX) ||
        zmq_setsockopt(s->sock, ZMQ_MAXMSGSIZE, &max_size, sizeof max_size)) {
        snprintf(err, err_len, "ZeroMQ socket options: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    s->watch =
        sub_keys_secure(cfg->keys, s->zmq_ctx, s->sock, "genre-web", log_handshake, err, err_len);
    if (!s->watch) return -1;
    return subscribe(s, err, err_len);
}

/* The SUB socket, set up and connected to every endpoint. */
static int open_socket(web_subscriber_t *s, const web_subscriber_config *cfg, char *err,
                       size_t err_len)
{
    s->zmq_ctx = zmq_ctx_new();
    s->sock = s->zmq_ctx ? zmq_socket(s->zmq_ctx, ZMQ_SUB) : NULL;
    if (!s->sock) {
        snprintf(err, err_len, "cannot create a ZeroMQ socket: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    if (prepare_socket(s, cfg, err, err_len)) return -1;
    for (int i = 0; i < cfg->n_endpoints; i++) {
        if (zmq_connect(s->sock, cfg->endpoints[i])) {
            snprintf(err, err_len, "--endpoint %s: %s", cfg->endpoints[i],
                     zmq_strerror(zmq_errno()));
            return -1;
        }
    }
    return 0;
}

web_subscriber_t *web_subscriber_create(const web_subscriber_config *cfg, web_fanout_t *fanout,
                                        web_history_t *history, char *err, size_t err_len)
{
    web_subscriber_t *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    s->fanout = fanout;
    s->history = history;
    s->seen = protocol_seen_create(SEEN_PAIRS);
    atomic_init(&s->stop, false);
    atomic_init(&s->rejected, 0);
    atomic_init(&s->too_big, 0);
    int rc = s->seen ? open_socket(s, cfg, err, err_len) : -1;
    if (!s->seen) snprintf(err, err_len, "out of memory");
    if (!rc && pthread_create(&s->thread, NULL, subscriber_main, s) != 0) {
        snprintf(err, err_len, "cannot start the ZeroMQ thread");
        rc = -1;
    }
    s->running = rc == 0;
    if (rc) {
        web_subscriber_destroy(s);
        return NULL;
    }
    return s;
}

void web_subscriber_destroy(web_subscriber_t *s)
{
    if (!s) return;
    if (s->running) {
        atomic_store(&s->stop, true);
        pthread_join(s->thread, NULL);
    }
    handshake_watch_destroy(s->watch);
    if (s->sock) zmq_close(s->sock);
    if (s->zmq_ctx) zmq_ctx_term(s->zmq_ctx);
    protocol_seen_destroy(s->seen);
    free(s);
}

void web_subscriber_counts(web_subscriber_t *s, unsigned long *rejected, unsigned long *too_big)
{
    *rejected = atomic_load(&s->rejected);
    *too_big = atomic_load(&s->too_big);
}
