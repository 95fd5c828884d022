#include "web_subscriber.h"

#include "handshake_watch.h"
#include "log.h"
#include "web_clock.h"

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
    TOPIC_MAX = 32,
    STREAM_KEY_MAX = 128,
    /* Bigger messages are dropped (and logged); much bigger ones never get
     * this far: libzmq refuses them (ZMQ_MAXMSGSIZE) rather than buffer a
     * hostile publisher's gigabytes. */
    MESSAGE_MAX = 4 * WEB_FRAME_MAX,
    QUEUE_MAX = 100, /* messages libzmq may hold per publisher (ZMQ_RCVHWM) */
    LOGGED_DROPS = 5 /* bad messages logged before they are only counted */
};

/* genre-web logs when genred goes quiet and when it is back, so the journal
 * says when the kiosk showed "No signal" (after 3 s, NO_SIGNAL_MS in
 * index.html). It waits longer than the page: a genred whose inputs all
 * ended still sends genre.status every 5 s (the default), and that alone
 * must not log twice every 5 s. */
static const int64_t no_signal_log_ms = 6000;

/* ---- What genre-web takes from genred's protocol ------------------------
 * Each question is one call, so that the protocol module's table can answer
 * it instead. */

/* The topics relayed, and for how long the latest of each (per stream) is
 * given to a browser that connects: only while fresh, so that a cached
 * message cannot make a dead genred look alive. genre.change is an event,
 * not a state: never replayed. */
static const struct {
    const char *topic;
    int64_t fresh_ms;
} relayed_topics[] = {{"genre.probs", 2000}, {"genre.change", 0}, {"genre.status", 6000}};

enum { N_RELAYED = sizeof relayed_topics / sizeof relayed_topics[0] };

/* Index into relayed_topics, or -1 for a topic genre-web does not relay. */
static int relayed_topic(const char *topic)
{
    for (int i = 0; i < N_RELAYED; i++)
        if (!strcmp(topic, relayed_topics[i].topic)) return i;
    return -1;
}

/* Whether this message repeats one already relayed. genred's messages carry
 * no sequence numbers yet, so every message is new. */
static bool already_seen(const char *topic, json_t *msg)
{
    (void)topic;
    (void)msg;
    return false;
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
    int64_t last_heard_ms;
    bool heard, alive;
    char frame[WEB_FRAME_MAX];
    char json[WEB_FRAME_MAX];
};

/* Logs the first few bad messages, then only counts them, so a broken
 * publisher cannot flood the journal. */
static void reject(web_subscriber_t *s, const char *why, const char *topic)
{
    unsigned long n = atomic_fetch_add(&s->rejected, 1) + 1;
    if (n <= LOGGED_DROPS)
        log_warn("dropped a '%s' message: %s%s", topic, why,
                 n == LOGGED_DROPS ? " (further drops are counted silently)" : "");
}

/* Notes a genre.probs in the stream's history. Messages without a usable
 * stream name or label list are relayed but not remembered. */
static void remember(web_subscriber_t *s, json_t *msg, int64_t now_ms)
{
    json_t *stream = json_object_get(msg, "stream");
    json_t *labels = json_object_get(msg, "labels");
    json_t *top = json_object_get(msg, "top");
    if (!json_is_string(stream) || !json_is_array(labels)) return;
    char stream_json[WEB_STREAM_JSON_MAX], labels_json[WEB_LABELS_JSON_MAX];
    size_t n = json_dumpb(stream, stream_json, sizeof stream_json - 1, JSON_ENCODE_ANY);
    size_t m = json_dumpb(labels, labels_json, sizeof labels_json - 1, JSON_COMPACT);
    if (n == 0 || n >= sizeof stream_json || m == 0 || m >= sizeof labels_json) return;
    stream_json[n] = labels_json[m] = '\0';
    int index = -1;
    bool silent = json_is_true(json_object_get(msg, "silence"));
    for (size_t i = 0; !silent && json_is_string(top) && i < json_array_size(labels); i++)
        if (json_equal(json_array_get(labels, i), top)) index = (int)i;
    web_history_record(s->history, stream_json, labels_json, index, now_ms);
}

/* Parses body: a JSON object with "v":1, or NULL after reject(). */
static json_t *parse(web_subscriber_t *s, const char *topic, const char *body, size_t len)
{
    json_error_t jerr;
    json_t *msg = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!msg) {
        char why[256];
        snprintf(why, sizeof why, "invalid JSON at column %d: %s", jerr.column, jerr.text);
        reject(s, why, topic);
        return NULL;
    }
    json_t *version = json_object_get(msg, "v");
    if (!json_is_object(msg) || !json_is_integer(version) || json_integer_value(version) != 1) {
        reject(s, "not a JSON object with \"v\":1", topic);
        json_decref(msg);
        return NULL;
    }
    return msg;
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

/* Checks one (topic, body) message and hands it on. */
static void relay(web_subscriber_t *s, const char *topic, const char *body, size_t body_len)
{
    int t = relayed_topic(topic);
    if (t < 0) return;
    json_t *msg = parse(s, topic, body, body_len);
    if (!msg) return;
    if (already_seen(topic, msg)) {
        json_decref(msg);
        return;
    }
    int64_t now = web_now_ms();
    const char *stream = json_string_value(json_object_get(msg, "stream"));
    char stream_key[STREAM_KEY_MAX];
    snprintf(stream_key, sizeof stream_key, "%s", stream ? stream : "");
    if (!strcmp(topic, "genre.probs")) remember(s, msg, now);
    size_t n = make_frame(s, topic, msg, body, body_len);
    json_decref(msg);
    if (n == 0) {
        if (atomic_fetch_add(&s->too_big, 1) == 0)
            log_warn("dropped a '%s' message larger than %d bytes", topic, WEB_FRAME_MAX - 64);
        return;
    }
    web_fanout_publish(s->fanout, topic, stream_key, relayed_topics[t].fresh_ms, s->frame, n, now);
}

static void discard_rest_of_message(void *sock)
{
    int more = 1;
    size_t more_len = sizeof more;
    while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &more_len) == 0 && more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        zmq_msg_recv(&part, sock, 0);
        zmq_msg_close(&part);
        more_len = sizeof more;
    }
}

static void heard_from_genred(web_subscriber_t *s)
{
    s->last_heard_ms = web_now_ms();
    if (!s->alive) log_info(s->heard ? "genred is back" : "receiving from genred");
    s->alive = s->heard = true;
}

static void check_silence(web_subscriber_t *s)
{
    if (!s->alive || web_now_ms() - s->last_heard_ms <= no_signal_log_ms) return;
    s->alive = false;
    log_warn("nothing from genred for %lld s (stopped or unreachable): the page shows \"No "
             "signal\" and keeps its history",
             (long long)(no_signal_log_ms / 1000));
}

static void receive_one(web_subscriber_t *s)
{
    char topic[TOPIC_MAX];
    int topic_len = zmq_recv(s->sock, topic, sizeof topic - 1, ZMQ_DONTWAIT);
    if (topic_len < 0) return;
    heard_from_genred(s);
    if ((size_t)topic_len >= sizeof topic) topic_len = 0; /* truncated: not one of ours */
    topic[topic_len] = '\0';

    int more = 0;
    size_t more_len = sizeof more;
    zmq_getsockopt(s->sock, ZMQ_RCVMORE, &more, &more_len);
    if (!more) {
        reject(s, "no JSON frame after the topic", topic);
        return;
    }
    zmq_msg_t body;
    zmq_msg_init(&body);
    if (zmq_msg_recv(&body, s->sock, 0) >= 0)
        relay(s, topic, zmq_msg_data(&body), zmq_msg_size(&body));
    zmq_msg_close(&body);
    discard_rest_of_message(s->sock);
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

/* Socket options, CURVE, the handshake watch and the subscriptions: all
 * before the first connect. */
static int prepare_socket(web_subscriber_t *s, const web_subscriber_config *cfg, char *err,
                          size_t err_len)
{
    int linger = 0, hwm = QUEUE_MAX;
    int64_t max_size = MESSAGE_MAX;
    if (zmq_setsockopt(s->sock, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_setsockopt(s->sock, ZMQ_RCVHWM, &hwm, sizeof hwm) ||
        zmq_setsockopt(s->sock, ZMQ_MAXMSGSIZE, &max_size, sizeof max_size)) {
        snprintf(err, err_len, "ZeroMQ socket options: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    if (cfg->curve && curve_apply_client(cfg->curve, s->sock, cfg->server_public, err, err_len))
        return -1;
    handshake_watch_info info = {.prog = "genre-web",
                                 .server_key_option = "--server-key",
                                 .client_key_option = "--client-key",
                                 .public_key = cfg->curve ? curve_public_key(cfg->curve) : NULL,
                                 .log_line = log_handshake};
    s->watch = handshake_watch_create(s->zmq_ctx, s->sock, &info, err, err_len);
    if (!s->watch) return -1;
    for (int i = 0; i < N_RELAYED; i++)
        zmq_setsockopt(s->sock, ZMQ_SUBSCRIBE, relayed_topics[i].topic,
                       strlen(relayed_topics[i].topic));
    return 0;
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
    atomic_init(&s->stop, false);
    atomic_init(&s->rejected, 0);
    atomic_init(&s->too_big, 0);
    int rc = open_socket(s, cfg, err, err_len);
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
    free(s);
}

void web_subscriber_counts(web_subscriber_t *s, unsigned long *rejected, unsigned long *too_big)
{
    *rejected = atomic_load(&s->rejected);
    *too_big = atomic_load(&s->too_big);
}
