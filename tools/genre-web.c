/* genre-web: a kiosk web page of what genred hears.
 *
 * One ZeroMQ SUB thread receives genred's genre.probs / genre.change /
 * genre.status messages, re-serialises each JSON body compactly (so it fits
 * one SSE "data:" line whatever the publisher's formatting) and appends it to
 * a fixed ring of pre-formatted Server-Sent Events frames. Every browser on
 * /events gets its own libmicrohttpd connection thread that copies frames out
 * of the ring under a short lock. The ZeroMQ thread never waits for a browser:
 * a client that falls more than a ring behind skips ahead, and one that stops
 * reading is closed by the connection timeout. The page itself is
 * tools/web/index.html, embedded at build time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define GENRE_WEB_VERSION "0.1.0"

extern const unsigned char genre_web_page[];
extern const size_t genre_web_page_size;

enum {
    RING_SLOTS = 128,      /* frames a browser may lag before skipping ahead */
    FRAME_MAX = 32 * 1024, /* one SSE frame; bigger messages are dropped */
    CACHE_SLOTS = 32,      /* last-value cache: (topic, stream) pairs */
    STREAM_MAX = 128,      /* stream name bytes kept for the cache key */
    MAX_ENDPOINTS = 16,
    MAX_CLIENTS = 64,
    KEEPALIVE_S = 10,    /* SSE comment so idle proxies keep the stream open */
    CONN_TIMEOUT_S = 30, /* a browser that reads nothing this long is dropped */
    RETRY_MS = 1000,     /* EventSource reconnect delay we ask for */
    HISTORY_STREAMS = 16,
    HISTORY_SEGMENTS = 256, /* runs of one top label, per stream */
    LABELS_MAX = 8192       /* a stream's labels as compact JSON */
};

/* The page's strip shows the last minutes; genre-web remembers them so a
 * kiosk that reloads or reboots shows them again at once. A pause longer than
 * the page's "no signal" time breaks a run. */
static const int64_t history_ms = 5 * 60 * 1000;
static const int64_t history_gap_ms = 3000;

/* genre-web logs when genred goes quiet and when it is back, so the journal
 * says when the kiosk showed "No signal" (after 3 s, NO_SIGNAL_MS in
 * index.html). It waits longer than the page: a genred whose inputs all
 * ended still sends genre.status every 5 s (the default), and that alone
 * must not log twice every 5 s. */
static const int64_t no_signal_log_ms = 6000;

/* A new browser is shown the latest message per (topic, stream) so it need not
 * wait a hop (or 5 s for status), but only while that message is fresh: a
 * cached message must not make a dead genred look alive. */
static const int64_t cache_fresh_ms_probs = 2000;
static const int64_t cache_fresh_ms_status = 6000;

struct frame {
    uint64_t seq;
    size_t len;
    char text[FRAME_MAX];
};

struct cached {
    bool used;
    int64_t received_ms; /* monotonic */
    char topic[32];
    char stream[STREAM_MAX];
    size_t len;
    char text[FRAME_MAX];
};

struct segment {
    int64_t start_ms, end_ms; /* monotonic */
    int top;                  /* index into labels; -1 for silence */
};

struct history {
    bool used;
    int64_t last_ms;
    char stream_json[2 * STREAM_MAX]; /* the name as a JSON string */
    char labels_json[LABELS_MAX];
    unsigned head, count;
    struct segment seg[HISTORY_SEGMENTS];
};

struct hub {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    uint64_t next_seq; /* seq the next published frame gets; frames start at 1 */
    struct frame ring[RING_SLOTS];
    struct cached cache[CACHE_SLOTS];
    struct history history[HISTORY_STREAMS];
    bool stopping;
    unsigned long relayed, rejected, too_big, client_skips;
};

/* Per-browser state of one /events response. */
struct client {
    struct hub *hub;
    uint64_t want_seq;
    int history_index; /* next history to send, HISTORY_STREAMS when done */
    int cache_index;   /* next cache entry to replay, CACHE_SLOTS when done */
    int64_t connected_ms;
    size_t len, sent;
    char pending[FRAME_MAX];
};

struct options {
    const char *listen;
    const char *endpoints[MAX_ENDPOINTS];
    int n_endpoints;
    bool allow_remote;
    const char *server_key; /* genred's CURVE public key file, or NULL */
    const char *client_key; /* our CURVE secret key file, or NULL: a fresh one */
    /* The keys themselves (Z85), loaded before anything starts. */
    char curve_server[41], curve_public[41], curve_secret[41];
};

enum { Z85_KEY_LEN = 40 };

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void deadline_in(struct timespec *ts, int seconds)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += seconds;
}

static struct hub *hub_create(void)
{
    struct hub *hub = calloc(1, sizeof *hub);
    if (!hub) return NULL;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&hub->changed, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&hub->lock, NULL);
    hub->next_seq = 1;
    return hub;
}

static void hub_destroy(struct hub *hub)
{
    if (!hub) return;
    pthread_cond_destroy(&hub->changed);
    pthread_mutex_destroy(&hub->lock);
    free(hub);
}

static void hub_stop(struct hub *hub)
{
    pthread_mutex_lock(&hub->lock);
    hub->stopping = true;
    pthread_cond_broadcast(&hub->changed);
    pthread_mutex_unlock(&hub->lock);
}

static int64_t cache_fresh_ms(const char *topic)
{
    if (strcmp(topic, "genre.probs") == 0) return cache_fresh_ms_probs;
    if (strcmp(topic, "genre.status") == 0) return cache_fresh_ms_status;
    return 0; /* genre.change is an event, not a state: never replayed */
}

/* Caller holds the lock. Replaces the entry for (topic, stream), else a free
 * or the oldest one. */
static void hub_cache_locked(struct hub *hub, const char *topic, const char *stream,
                             const char *text, size_t len, int64_t now)
{
    struct cached *slot = NULL, *oldest = &hub->cache[0];
    for (int i = 0; i < CACHE_SLOTS && !slot; i++) {
        struct cached *c = &hub->cache[i];
        if (!c->used || (strcmp(c->topic, topic) == 0 && strcmp(c->stream, stream) == 0))
            slot = c;
        else if (c->received_ms < oldest->received_ms)
            oldest = c;
    }
    if (!slot) slot = oldest;
    slot->used = true;
    slot->received_ms = now;
    snprintf(slot->topic, sizeof slot->topic, "%s", topic);
    snprintf(slot->stream, sizeof slot->stream, "%s", stream);
    memcpy(slot->text, text, len);
    slot->len = len;
}

static void hub_publish(struct hub *hub, const char *topic, const char *stream, const char *text,
                        size_t len)
{
    int64_t now = monotonic_ms();
    pthread_mutex_lock(&hub->lock);
    struct frame *f = &hub->ring[hub->next_seq % RING_SLOTS];
    memcpy(f->text, text, len);
    f->len = len;
    f->seq = hub->next_seq++;
    if (cache_fresh_ms(topic) > 0) hub_cache_locked(hub, topic, stream, text, len, now);
    hub->relayed++;
    pthread_cond_broadcast(&hub->changed);
    pthread_mutex_unlock(&hub->lock);
}

/* Caller holds the lock. The slot of a stream, else a free one, else the one
 * heard from least recently. */
static struct history *history_slot_locked(struct hub *hub, const char *stream_json)
{
    struct history *stalest = &hub->history[0];
    for (int i = 0; i < HISTORY_STREAMS; i++) {
        struct history *h = &hub->history[i];
        if (h->used && strcmp(h->stream_json, stream_json) == 0) return h;
        if (!h->used || (stalest->used && h->last_ms < stalest->last_ms)) stalest = h;
    }
    stalest->used = false;
    return stalest;
}

static void hub_record(struct hub *hub, const char *stream_json, const char *labels_json, int top)
{
    int64_t now = monotonic_ms();
    pthread_mutex_lock(&hub->lock);
    struct history *h = history_slot_locked(hub, stream_json);
    if (!h->used || strcmp(h->labels_json, labels_json) != 0) {
        /* New stream, or a new model: old indices would name other labels. */
        *h = (struct history){.used = true};
        snprintf(h->stream_json, sizeof h->stream_json, "%s", stream_json);
        snprintf(h->labels_json, sizeof h->labels_json, "%s", labels_json);
    }
    struct segment *last = h->count ? &h->seg[(h->head + h->count - 1) % HISTORY_SEGMENTS] : NULL;
    bool continuous = last && now - last->end_ms <= history_gap_ms;
    if (continuous && last->top == top) {
        last->end_ms = now;
    } else {
        if (h->count == HISTORY_SEGMENTS) {
            h->head = (h->head + 1) % HISTORY_SEGMENTS;
            h->count--;
        }
        int64_t start = continuous ? last->end_ms : now;
        h->seg[(h->head + h->count++) % HISTORY_SEGMENTS] =
            (struct segment){.start_ms = start, .end_ms = now, .top = top};
    }
    h->last_ms = now;
    pthread_mutex_unlock(&hub->lock);
}

/* ---- ZeroMQ side ------------------------------------------------------- */

static const char *const relayed_topics[] = {"genre.probs", "genre.change", "genre.status"};

static bool topic_is_relayed(const char *topic)
{
    for (size_t i = 0; i < sizeof relayed_topics / sizeof relayed_topics[0]; i++)
        if (strcmp(topic, relayed_topics[i]) == 0) return true;
    return false;
}

struct subscriber {
    struct hub *hub;
    void *zmq_ctx;
    void *sock;
    pthread_t thread;
    bool stop; /* read by the thread between polls */
    pthread_mutex_t stop_lock;
    int64_t last_heard_ms; /* the thread's own: when genred was last heard */
    bool heard, alive;
    char frame[FRAME_MAX];
    char json[FRAME_MAX];
};

static bool subscriber_should_stop(struct subscriber *sub)
{
    pthread_mutex_lock(&sub->stop_lock);
    bool stop = sub->stop;
    pthread_mutex_unlock(&sub->stop_lock);
    return stop;
}

/* Logs the first few bad messages, then only counts them, so a broken
 * publisher cannot flood the journal. */
static void reject(struct subscriber *sub, const char *why, const char *topic)
{
    pthread_mutex_lock(&sub->hub->lock);
    unsigned long n = ++sub->hub->rejected;
    pthread_mutex_unlock(&sub->hub->lock);
    if (n <= 5)
        fprintf(stderr, "genre-web: dropped a '%s' message: %s%s\n", topic, why,
                n == 5 ? " (further drops are counted silently)" : "");
}

/* Notes a genre.probs in the stream's history. Messages without a usable
 * stream name or label list are relayed but not remembered. */
static void remember(struct subscriber *sub, json_t *msg)
{
    json_t *stream = json_object_get(msg, "stream");
    json_t *labels = json_object_get(msg, "labels");
    json_t *top = json_object_get(msg, "top");
    if (!json_is_string(stream) || !json_is_array(labels)) return;
    char stream_json[2 * STREAM_MAX], labels_json[LABELS_MAX];
    size_t n = json_dumpb(stream, stream_json, sizeof stream_json - 1, JSON_ENCODE_ANY);
    size_t m = json_dumpb(labels, labels_json, sizeof labels_json - 1, JSON_COMPACT);
    if (n == 0 || n >= sizeof stream_json || m == 0 || m >= sizeof labels_json) return;
    stream_json[n] = labels_json[m] = '\0';
    int index = -1;
    bool silent = json_is_true(json_object_get(msg, "silence"));
    for (size_t i = 0; !silent && json_is_string(top) && i < json_array_size(labels); i++)
        if (json_equal(json_array_get(labels, i), top)) index = (int)i;
    hub_record(sub->hub, stream_json, labels_json, index);
}

/* Validates one (topic, body) message and turns it into an SSE frame. */
static void relay(struct subscriber *sub, const char *topic, const char *body, size_t body_len)
{
    if (!topic_is_relayed(topic)) return;
    json_error_t err;
    json_t *msg = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, &err);
    if (!msg) {
        char why[256];
        snprintf(why, sizeof why, "invalid JSON at column %d: %s", err.column, err.text);
        reject(sub, why, topic);
        return;
    }
    json_t *version = json_object_get(msg, "v");
    if (!json_is_object(msg) || !json_is_integer(version) || json_integer_value(version) != 1) {
        reject(sub, "not a JSON object with \"v\":1", topic);
        json_decref(msg);
        return;
    }
    /* genred's own bytes go to the browser: re-encoding printed its floats
     * with 17 digits (0.98123539999999998). A body with a raw line break
     * (JSON whitespace, but it would end the SSE data line) is re-encoded
     * compactly, which escapes every newline inside strings. */
    const char *json = body;
    size_t json_len = body_len;
    if (memchr(body, '\n', body_len) || memchr(body, '\r', body_len)) {
        json_len = json_dumpb(msg, sub->json, sizeof sub->json, JSON_COMPACT);
        json = sub->json;
    }
    const char *stream = json_string_value(json_object_get(msg, "stream"));
    char stream_key[STREAM_MAX];
    snprintf(stream_key, sizeof stream_key, "%s", stream ? stream : "");
    if (strcmp(topic, "genre.probs") == 0) remember(sub, msg);
    json_decref(msg);

    int n = json_len == 0 || json_len >= sizeof sub->json
                ? -1
                : snprintf(sub->frame, sizeof sub->frame, "event: %s\ndata: %.*s\n\n", topic,
                           (int)json_len, json);
    if (n < 0 || (size_t)n >= sizeof sub->frame) {
        pthread_mutex_lock(&sub->hub->lock);
        bool first = sub->hub->too_big++ == 0;
        pthread_mutex_unlock(&sub->hub->lock);
        if (first)
            fprintf(stderr, "genre-web: dropped a '%s' message larger than %d bytes\n", topic,
                    FRAME_MAX - 64);
        return;
    }
    hub_publish(sub->hub, topic, stream_key, sub->frame, (size_t)n);
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

static void heard_from_genred(struct subscriber *sub)
{
    sub->last_heard_ms = monotonic_ms();
    if (!sub->alive)
        fprintf(stderr,
                sub->heard ? "genre-web: genred is back\n" : "genre-web: receiving from genred\n");
    sub->alive = sub->heard = true;
}

static void check_silence(struct subscriber *sub)
{
    if (!sub->alive || monotonic_ms() - sub->last_heard_ms <= no_signal_log_ms) return;
    sub->alive = false;
    fprintf(stderr,
            "genre-web: nothing from genred for %lld s (stopped or unreachable): the page "
            "shows \"No signal\" and keeps its history\n",
            (long long)(no_signal_log_ms / 1000));
}

static void receive_one(struct subscriber *sub)
{
    char topic[32];
    int topic_len = zmq_recv(sub->sock, topic, sizeof topic - 1, ZMQ_DONTWAIT);
    if (topic_len < 0) return;
    heard_from_genred(sub);
    if ((size_t)topic_len >= sizeof topic) topic_len = 0; /* truncated: not one of ours */
    topic[topic_len] = '\0';

    int more = 0;
    size_t more_len = sizeof more;
    zmq_getsockopt(sub->sock, ZMQ_RCVMORE, &more, &more_len);
    if (!more) {
        reject(sub, "no JSON frame after the topic", topic);
        return;
    }
    zmq_msg_t body;
    zmq_msg_init(&body);
    if (zmq_msg_recv(&body, sub->sock, 0) >= 0)
        relay(sub, topic, zmq_msg_data(&body), zmq_msg_size(&body));
    zmq_msg_close(&body);
    discard_rest_of_message(sub->sock);
}

static void *subscriber_main(void *arg)
{
    struct subscriber *sub = arg;
    zmq_pollitem_t item = {.socket = sub->sock, .events = ZMQ_POLLIN};
    while (!subscriber_should_stop(sub)) {
        int ready = zmq_poll(&item, 1, 200);
        if (ready < 0 && zmq_errno() != EINTR) {
            fprintf(stderr, "genre-web: ZeroMQ poll failed: %s\n", zmq_strerror(zmq_errno()));
            break;
        }
        for (int burst = 0; ready > 0 && burst < 256; burst++) {
            int events = 0;
            size_t events_len = sizeof events;
            zmq_getsockopt(sub->sock, ZMQ_EVENTS, &events, &events_len);
            if (!(events & ZMQ_POLLIN)) break;
            receive_one(sub);
        }
        check_silence(sub);
    }
    return NULL;
}

static void subscriber_destroy(struct subscriber *sub)
{
    if (!sub) return;
    if (sub->sock) zmq_close(sub->sock);
    if (sub->zmq_ctx) zmq_ctx_term(sub->zmq_ctx);
    pthread_mutex_destroy(&sub->stop_lock);
    free(sub);
}

/* Reads a Z85 CURVE key file as genred --gen-keys writes it: one 40-character
 * key, '#' comment lines. A secret key must not be readable by others, as
 * genred and ssh insist. */
static bool read_key(const char *flag, const char *path, bool secret, char key[Z85_KEY_LEN + 1])
{
    FILE *f = fopen(path, "r");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0) {
        fprintf(stderr, "genre-web: %s '%s': %s\n", flag, path, strerror(errno));
        if (f) fclose(f);
        return false;
    }
    if (secret && (st.st_mode & 077)) {
        fprintf(stderr,
                "genre-web: %s '%s': readable by group or others (mode %04o); chmod 600 it\n", flag,
                path, (unsigned)(st.st_mode & 07777));
        fclose(f);
        return false;
    }
    char line[256];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0') continue;
        uint8_t raw[32];
        found = strlen(line) == Z85_KEY_LEN && zmq_z85_decode(raw, line) != NULL;
        if (!found) break;
        memcpy(key, line, Z85_KEY_LEN + 1);
    }
    fclose(f);
    if (!found)
        fprintf(stderr, "genre-web: %s '%s': expected one 40-character Z85 key\n", flag, path);
    return found;
}

/* Loads the CURVE keys of --server-key and --client-key, or makes a fresh
 * keypair for us; false after a one-line error. */
static bool load_curve_keys(struct options *opt)
{
    if (!opt->server_key) return true;
    if (!read_key("--server-key", opt->server_key, false, opt->curve_server)) return false;
    if (opt->client_key) {
        if (!read_key("--client-key", opt->client_key, true, opt->curve_secret)) return false;
        if (zmq_curve_public(opt->curve_public, opt->curve_secret) != 0) {
            fprintf(stderr, "genre-web: --client-key '%s': not a secret key\n", opt->client_key);
            return false;
        }
    } else if (zmq_curve_keypair(opt->curve_public, opt->curve_secret) != 0) {
        fprintf(stderr, "genre-web: --server-key: this libzmq has no CURVE support\n");
        return false;
    }
    return true;
}

/* Makes the socket a CURVE client of genred when --server-key was given. */
static bool apply_curve(void *sock, const struct options *opt)
{
    if (!opt->server_key) return true;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, opt->curve_server, Z85_KEY_LEN + 1) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, opt->curve_public, Z85_KEY_LEN + 1) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, opt->curve_secret, Z85_KEY_LEN + 1) != 0) {
        fprintf(stderr, "genre-web: cannot use CURVE: %s\n", zmq_strerror(zmq_errno()));
        return false;
    }
    return true;
}

static struct subscriber *subscriber_create(struct hub *hub, const struct options *opt)
{
    struct subscriber *sub = calloc(1, sizeof *sub);
    if (!sub) return NULL;
    pthread_mutex_init(&sub->stop_lock, NULL);
    sub->hub = hub;
    sub->zmq_ctx = zmq_ctx_new();
    sub->sock = sub->zmq_ctx ? zmq_socket(sub->zmq_ctx, ZMQ_SUB) : NULL;
    if (!sub->sock) {
        fprintf(stderr, "genre-web: cannot create a ZeroMQ socket: %s\n",
                zmq_strerror(zmq_errno()));
        subscriber_destroy(sub);
        return NULL;
    }
    int linger = 0;
    zmq_setsockopt(sub->sock, ZMQ_LINGER, &linger, sizeof linger);
    if (!apply_curve(sub->sock, opt)) {
        subscriber_destroy(sub);
        return NULL;
    }
    for (size_t i = 0; i < sizeof relayed_topics / sizeof relayed_topics[0]; i++)
        zmq_setsockopt(sub->sock, ZMQ_SUBSCRIBE, relayed_topics[i], strlen(relayed_topics[i]));
    for (int i = 0; i < opt->n_endpoints; i++) {
        if (zmq_connect(sub->sock, opt->endpoints[i]) != 0) {
            fprintf(stderr, "genre-web: --endpoint %s: %s\n", opt->endpoints[i],
                    zmq_strerror(zmq_errno()));
            subscriber_destroy(sub);
            return NULL;
        }
    }
    if (pthread_create(&sub->thread, NULL, subscriber_main, sub) != 0) {
        fprintf(stderr, "genre-web: cannot start the ZeroMQ thread\n");
        subscriber_destroy(sub);
        return NULL;
    }
    return sub;
}

static void subscriber_stop(struct subscriber *sub)
{
    pthread_mutex_lock(&sub->stop_lock);
    sub->stop = 1;
    pthread_mutex_unlock(&sub->stop_lock);
    pthread_join(sub->thread, NULL);
}

/* ---- HTTP side --------------------------------------------------------- */

static size_t drain_pending(struct client *c, char *buf, size_t max)
{
    size_t n = c->len - c->sent;
    if (n > max) n = max;
    memcpy(buf, c->pending + c->sent, n);
    c->sent += n;
    return n;
}

static void set_pending(struct client *c, const char *text, size_t len)
{
    memcpy(c->pending, text, len);
    c->len = len;
    c->sent = 0;
}

/* Caller holds the lock. Formats the next stream's recent history as a
 * genre-web.history event: segments are [seconds ago start, end, label index]
 * in ms, ages rather than times so the browser's clock does not matter. */
static bool replay_history_locked(struct client *c)
{
    int64_t now = monotonic_ms();
    while (c->history_index < HISTORY_STREAMS) {
        const struct history *h = &c->hub->history[c->history_index++];
        if (!h->used || now - h->last_ms > history_ms) continue;
        /* Sizes: stream and labels are bounded well under FRAME_MAX, and a
         * full ring of segments is about 10 KiB. */
        size_t cap = sizeof c->pending;
        int n = snprintf(c->pending, cap,
                         "event: genre-web.history\ndata: {\"v\":1,\"stream\":%s,\"labels\":%s,"
                         "\"segments\":[",
                         h->stream_json, h->labels_json);
        size_t len = (size_t)n;
        const char *sep = "";
        for (unsigned i = 0; i < h->count; i++) {
            const struct segment *g = &h->seg[(h->head + i) % HISTORY_SEGMENTS];
            if (now - g->end_ms > history_ms) continue;
            n = snprintf(c->pending + len, cap - len, "%s[%lld,%lld,%d]", sep,
                         (long long)(now - g->start_ms), (long long)(now - g->end_ms), g->top);
            if (n < 0 || (size_t)n + 8 >= cap - len) break; /* keep room to close */
            len += (size_t)n;
            sep = ",";
        }
        n = snprintf(c->pending + len, cap - len, "]}\n\n");
        c->len = len + (size_t)n;
        c->sent = 0;
        return true;
    }
    return false;
}

/* Caller holds the lock. Copies the next fresh cached message, if any. */
static bool replay_cached_locked(struct client *c)
{
    int64_t now = monotonic_ms();
    while (c->cache_index < CACHE_SLOTS) {
        const struct cached *e = &c->hub->cache[c->cache_index++];
        /* Entries newer than the connection also arrive through the ring. */
        if (e->used && e->received_ms < c->connected_ms &&
            now - e->received_ms <= cache_fresh_ms(e->topic)) {
            set_pending(c, e->text, e->len);
            return true;
        }
    }
    return false;
}

/* Caller holds the lock. Waits for the frame this client wants next; false
 * when the server stops. An idle wait ends in a keep-alive comment. */
static bool next_frame_locked(struct client *c)
{
    struct hub *hub = c->hub;
    struct timespec deadline;
    deadline_in(&deadline, KEEPALIVE_S);
    while (!hub->stopping && c->want_seq == hub->next_seq) {
        if (pthread_cond_timedwait(&hub->changed, &hub->lock, &deadline) == ETIMEDOUT) {
            static const char keepalive[] = ": keep-alive\n\n";
            set_pending(c, keepalive, sizeof keepalive - 1);
            return true;
        }
    }
    if (hub->stopping) return false;
    uint64_t oldest = hub->next_seq > RING_SLOTS ? hub->next_seq - RING_SLOTS : 1;
    if (c->want_seq < oldest) {
        hub->client_skips += oldest - c->want_seq;
        c->want_seq = oldest;
    }
    const struct frame *f = &hub->ring[c->want_seq % RING_SLOTS];
    set_pending(c, f->text, f->len);
    c->want_seq++;
    return true;
}

static ssize_t events_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct client *c = cls;
    if (c->sent == c->len) {
        pthread_mutex_lock(&c->hub->lock);
        bool more = replay_history_locked(c) || replay_cached_locked(c) || next_frame_locked(c);
        pthread_mutex_unlock(&c->hub->lock);
        if (!more) return MHD_CONTENT_READER_END_OF_STREAM;
    }
    return (ssize_t)drain_pending(c, buf, max);
}

static struct client *client_create(struct hub *hub)
{
    struct client *c = malloc(sizeof *c);
    if (!c) return NULL;
    c->hub = hub;
    c->history_index = 0;
    c->cache_index = 0;
    c->connected_ms = monotonic_ms();
    int n = snprintf(c->pending, sizeof c->pending, "retry: %d\n\n", RETRY_MS);
    c->len = (size_t)n;
    c->sent = 0;
    pthread_mutex_lock(&hub->lock);
    c->want_seq = hub->next_seq;
    pthread_mutex_unlock(&hub->lock);
    return c;
}

static enum MHD_Result queue(struct MHD_Connection *conn, unsigned status,
                             struct MHD_Response *response)
{
    if (!response) return MHD_NO;
    enum MHD_Result ret = MHD_queue_response(conn, status, response);
    MHD_destroy_response(response);
    return ret;
}

static enum MHD_Result queue_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (r) {
        MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
        if (status == MHD_HTTP_METHOD_NOT_ALLOWED) MHD_add_response_header(r, "Allow", "GET, HEAD");
    }
    return queue(conn, status, r);
}

static enum MHD_Result serve_page(struct MHD_Connection *conn)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        genre_web_page_size, (void *)genre_web_page, MHD_RESPMEM_PERSISTENT);
    if (r) {
        MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
        MHD_add_response_header(r, "Cache-Control", "no-cache");
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        /* The page must work offline, so it may load nothing from elsewhere. */
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'none'; script-src 'unsafe-inline'; "
                                "style-src 'unsafe-inline'; connect-src 'self'; img-src data:");
    }
    return queue(conn, MHD_HTTP_OK, r);
}

static void free_client(void *cls)
{
    free(cls);
}

static enum MHD_Result serve_events(struct MHD_Connection *conn, struct hub *hub)
{
    struct client *c = client_create(hub);
    if (!c) return queue_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, events_reader, c, free_client);
    if (!r) {
        free(c);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    return queue(conn, MHD_HTTP_OK, r);
}

static enum MHD_Result handle_request(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    struct hub *hub = cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return queue_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0) return serve_page(conn);
    if (strcmp(url, "/events") == 0) return serve_events(conn, hub);
    return queue_text(conn, MHD_HTTP_NOT_FOUND, "not found: try / or /events\n");
}

/* ---- command line ------------------------------------------------------ */

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: genre-web [--listen HOST:PORT] [--endpoint ENDPOINT]... [--allow-remote]\n"
        "                 [--server-key FILE [--client-key FILE]]\n"
        "Serves a live kiosk page of what genred hears and relays its messages as\n"
        "Server-Sent Events on /events.\n"
        "  --listen HOST:PORT   address to serve on (default 127.0.0.1:8080; port 0 picks one)\n"
        "  --endpoint ENDPOINT  genred's ZeroMQ publisher (default tcp://127.0.0.1:5556);\n"
        "                       repeat to show several genred processes on one page\n"
        "  --allow-remote       allow a --listen address other than loopback\n"
        "  --server-key FILE    genred's CURVE public key (its curve.pub): subscribe\n"
        "                       encrypted, as genred requires off this machine\n"
        "  --client-key FILE    our CURVE secret key, for genred's allow-list\n"
        "                       (default: a fresh key each start)\n"
        "  --help, --version\n");
}

static int bad_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "genre-web: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see genre-web --help)\n");
    return 2;
}

/* Parses HOST:PORT or [IPV6]:PORT into a socket address. */
static int parse_listen(const char *spec, struct sockaddr_storage *addr, socklen_t *addr_len)
{
    char host[256];
    const char *port;
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (!close || close[1] != ':' || (size_t)(close - spec - 1) >= sizeof host)
            return bad_usage("--listen '%s': expected HOST:PORT or [IPV6]:PORT", spec);
        memcpy(host, spec + 1, (size_t)(close - spec - 1));
        host[close - spec - 1] = '\0';
        port = close + 2;
    } else {
        const char *colon = strrchr(spec, ':');
        if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof host ||
            memchr(spec, ':', (size_t)(colon - spec)))
            return bad_usage("--listen '%s': expected HOST:PORT or [IPV6]:PORT", spec);
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = '\0';
        port = colon + 1;
    }
    char *end;
    errno = 0;
    long port_number = strtol(port, &end, 10);
    if (!*port || *end || errno || port_number < 0 || port_number > 65535)
        return bad_usage("--listen '%s': the port must be a number from 0 to 65535", spec);

    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *found = NULL;
    int rc = getaddrinfo(host, port, &hints, &found);
    if (rc != 0) {
        fprintf(stderr, "genre-web: --listen '%s': %s (see genre-web --help)\n", spec,
                gai_strerror(rc));
        return 2;
    }
    memcpy(addr, found->ai_addr, found->ai_addrlen);
    *addr_len = found->ai_addrlen;
    freeaddrinfo(found);
    return 0;
}

static bool is_loopback(const struct sockaddr_storage *addr)
{
    if (addr->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
    return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
}

/* Returns -1 to go on, otherwise the exit status. */
static int parse_options(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},     {"endpoint", required_argument, NULL, 'e'},
        {"allow-remote", no_argument, NULL, 'r'},     {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},          {"server-key", required_argument, NULL, 's'},
        {"client-key", required_argument, NULL, 'c'}, {NULL, 0, NULL, 0}};
    *opt = (struct options){.listen = "127.0.0.1:8080"};
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'l':
            opt->listen = optarg;
            break;
        case 'e':
            if (opt->n_endpoints == MAX_ENDPOINTS)
                return bad_usage("--endpoint: at most %s endpoints", "16");
            if (!*optarg) return bad_usage("--endpoint: empty endpoint%s", "");
            opt->endpoints[opt->n_endpoints++] = optarg;
            break;
        case 'r':
            opt->allow_remote = true;
            break;
        case 's':
            opt->server_key = optarg;
            break;
        case 'c':
            opt->client_key = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("genre-web %s\n", GENRE_WEB_VERSION);
            return 0;
        case ':':
            return bad_usage("%s needs a value", argv[optind - 1]);
        default:
            return bad_usage("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return bad_usage("unexpected argument '%s'", argv[optind]);
    if (opt->client_key && !opt->server_key)
        return bad_usage("--client-key needs --server-key%s", "");
    if (opt->n_endpoints == 0) opt->endpoints[opt->n_endpoints++] = "tcp://127.0.0.1:5556";
    return -1;
}

/* Binding here rather than inside libmicrohttpd gives one clear error line
 * and the real port when port 0 was asked for. */
static int open_listener(const struct sockaddr_storage *addr, socklen_t addr_len, const char *spec)
{
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int on = 1;
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (fd < 0 || bind(fd, (const struct sockaddr *)addr, addr_len) != 0 || listen(fd, 64) != 0) {
        fprintf(stderr, "genre-web: cannot serve on %s: %s\n", spec, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

static void print_url(int fd)
{
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    getsockname(fd, (struct sockaddr *)&addr, &len);
    if (addr.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&addr;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
        printf("genre-web: serving http://%s:%u/\n", host, port);
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&addr;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
        printf("genre-web: serving http://[%s]:%u/\n", host, port);
    }
    fflush(stdout);
}

static void log_http_error(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    /* A browser closing its tab is routine for an event stream, not news. */
    if (strncmp(line, "Failed to send", 14) == 0) return;
    line[strcspn(line, "\n")] = '\0';
    fprintf(stderr, "genre-web: http: %s\n", line);
}

static struct MHD_Daemon *start_http(struct hub *hub, int listen_fd, int family)
{
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ERROR_LOG | (family == AF_INET6 ? MHD_USE_IPv6 : 0);
    return MHD_start_daemon(
        flags, 0, NULL, NULL, handle_request, hub, MHD_OPTION_EXTERNAL_LOGGER, log_http_error, NULL,
        MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CLIENTS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S, MHD_OPTION_END);
}

int main(int argc, char **argv)
{
    struct options opt;
    int status = parse_options(argc, argv, &opt);
    if (status >= 0) return status;
    struct sockaddr_storage addr;
    socklen_t addr_len = 0;
    if (parse_listen(opt.listen, &addr, &addr_len) != 0 || !load_curve_keys(&opt)) return 2;
    if (!is_loopback(&addr) && !opt.allow_remote) {
        fprintf(stderr,
                "genre-web: --listen %s is not a loopback address; add --allow-remote to "
                "serve other machines\n",
                opt.listen);
        return 2;
    }

    /* Signals are taken by sigwait() below; every thread inherits the mask. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    int listen_fd = open_listener(&addr, addr_len, opt.listen);
    if (listen_fd < 0) return 1;
    struct hub *hub = hub_create();
    struct subscriber *sub = hub ? subscriber_create(hub, &opt) : NULL;
    if (!sub) {
        close(listen_fd);
        hub_destroy(hub);
        return 1;
    }
    struct MHD_Daemon *daemon = start_http(hub, listen_fd, addr.ss_family);
    if (!daemon) {
        fprintf(stderr, "genre-web: libmicrohttpd failed to start on %s\n", opt.listen);
        close(listen_fd);
        subscriber_stop(sub);
        subscriber_destroy(sub);
        hub_destroy(hub);
        return 1;
    }
    print_url(listen_fd);
    for (int i = 0; i < opt.n_endpoints; i++)
        fprintf(stderr, "genre-web: listening to genred at %s\n", opt.endpoints[i]);

    int sig = 0;
    sigwait(&stop_signals, &sig);
    hub_stop(hub);
    MHD_stop_daemon(daemon);
    subscriber_stop(sub);
    subscriber_destroy(sub);
    fprintf(stderr,
            "genre-web: stopped on %s (relayed %lu, rejected %lu, too big %lu, "
            "frames skipped by slow browsers %lu)\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM", hub->relayed, hub->rejected, hub->too_big,
            hub->client_skips);
    hub_destroy(hub);
    return 0;
}
