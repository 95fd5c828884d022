#include "bridge.h"

#include "bridge_streams.h"
#include "curve.h"
#include "log.h"
#include "osc_out.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

enum { POLL_MS = 200, BURST = 256, TOPIC_MAX = 64 };

static const char *const topic_names[BRIDGE_TOPICS] = {"genre.probs", "genre.change",
                                                       "genre.track"};

struct bridge {
    double probs_interval, state_interval;
    void *zctx, *sub;
    bridge_streams_t *streams;
    osc_out_t *osc[BRIDGE_MAX_OSC];
    int n_osc;
    mqtt_out_t *mqtt;
    int64_t next_states_ms;
    uint64_t received, forwarded, duplicates, unusable;
};

static int64_t monotonic_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Makes sub a CURVE client of the publisher whose public key is in
 * server_key, with our secret key from client_key (genred's rules for key
 * files, daemon/curve.c) or a fresh keypair for this run. */
static int apply_curve(void *sub, const char *server_key, const char *client_key, char *err,
                       size_t err_len)
{
    char server[CURVE_KEY_Z85_LEN + 1], why[256];
    if (curve_read_public("--server-key", server_key, server, err, err_len)) return -1;
    if (client_key) {
        curve_t *c = curve_create(NULL, client_key, NULL, why, sizeof why);
        int rc = c ? curve_apply_client(c, sub, server, why, sizeof why) : -1;
        curve_destroy(c);
        if (rc) snprintf(err, err_len, "--client-key: %s", why);
        return rc;
    }
    char public[CURVE_KEY_Z85_LEN + 1], secret[CURVE_KEY_Z85_LEN + 1];
    if (zmq_curve_keypair(public, secret) ||
        zmq_setsockopt(sub, ZMQ_CURVE_SERVERKEY, server, CURVE_KEY_Z85_LEN) ||
        zmq_setsockopt(sub, ZMQ_CURVE_PUBLICKEY, public, CURVE_KEY_Z85_LEN) ||
        zmq_setsockopt(sub, ZMQ_CURVE_SECRETKEY, secret, CURVE_KEY_Z85_LEN)) {
        snprintf(err, err_len, "--server-key: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

static int connect_sub(bridge_t *b, const bridge_options *o, char *err, size_t err_len)
{
    b->zctx = zmq_ctx_new();
    b->sub = b->zctx ? zmq_socket(b->zctx, ZMQ_SUB) : NULL;
    if (!b->sub) {
        snprintf(err, err_len, "cannot create a ZeroMQ socket: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    int linger = 0;
    zmq_setsockopt(b->sub, ZMQ_LINGER, &linger, sizeof linger);
    if (o->server_key && apply_curve(b->sub, o->server_key, o->client_key, err, err_len)) return -1;
    for (int t = 0; t < BRIDGE_TOPICS; t++)
        if (t != BRIDGE_PROBS || o->probs_interval >= 0)
            zmq_setsockopt(b->sub, ZMQ_SUBSCRIBE, topic_names[t], strlen(topic_names[t]));
    for (int i = 0; i < o->n_endpoints; i++)
        if (zmq_connect(b->sub, o->endpoints[i])) {
            snprintf(err, err_len, "'%s': %s (expected an endpoint like tcp://127.0.0.1:5556)",
                     o->endpoints[i], zmq_strerror(zmq_errno()));
            return -1;
        }
    return 0;
}

static int create_outputs(bridge_t *b, const bridge_options *o, char *err, size_t err_len)
{
    for (int i = 0; i < o->n_osc; i++) {
        if (!(b->osc[i] = osc_out_create(o->osc[i], err, err_len))) return -1;
        b->n_osc = i + 1;
    }
    if (o->mqtt && !(b->mqtt = mqtt_out_create(&o->mqtt_options, b->streams, err, err_len)))
        return -1;
    return 0;
}

bridge_t *bridge_create(const bridge_options *o, char *err, size_t err_len)
{
    bridge_t *b = calloc(1, sizeof *b);
    if (!b || !(b->streams = bridge_streams_create(o->max_streams))) {
        snprintf(err, err_len, "out of memory");
        bridge_destroy(b);
        return NULL;
    }
    b->probs_interval = o->probs_interval;
    b->state_interval = o->state_interval;
    if (create_outputs(b, o, err, err_len) || connect_sub(b, o, err, err_len)) {
        bridge_destroy(b);
        return NULL;
    }
    return b;
}

void bridge_destroy(bridge_t *b)
{
    if (!b) return;
    if (b->sub) zmq_close(b->sub);
    if (b->zctx) zmq_ctx_term(b->zctx);
    for (int i = 0; i < b->n_osc; i++)
        osc_out_destroy(b->osc[i]);
    mqtt_out_destroy(b->mqtt);
    bridge_streams_destroy(b->streams);
    free(b);
}

static void send_states(bridge_t *b, osc_out_t *only, int64_t now)
{
    for (unsigned i = 0; i < bridge_streams_count(b->streams); i++)
        for (int k = 0; k < b->n_osc; k++)
            if (!only || b->osc[k] == only)
                osc_out_state(b->osc[k], bridge_streams_at(b->streams, i), now);
}

/* genre.probs at most once per probs_interval per stream. */
static int probs_due(bridge_t *b, bridge_stream *s, int64_t now)
{
    if (s->probs_sent_ms >= 0 && now - s->probs_sent_ms < (int64_t)(b->probs_interval * 1000))
        return 0;
    s->probs_sent_ms = now;
    return 1;
}

static void forward(bridge_t *b, bridge_topic topic, bridge_stream *s, json_t *msg,
                    const char *text, int64_t now)
{
    if (!bridge_stream_is_new(s, topic, msg)) {
        b->duplicates++;
        return;
    }
    bridge_stream_update(s, topic, msg);
    if (topic == BRIDGE_PROBS && !probs_due(b, s, now)) return;
    b->forwarded++;
    for (int k = 0; k < b->n_osc; k++) {
        osc_out_send(b->osc[k], topic, s, msg, now);
        if (topic == BRIDGE_CHANGE) osc_out_state(b->osc[k], s, now);
    }
    if (b->mqtt) {
        mqtt_out_send(b->mqtt, topic, s, text);
        if (topic != BRIDGE_PROBS) mqtt_out_state(b->mqtt, s);
    }
}

static int topic_of(const char *name)
{
    for (int t = 0; t < BRIDGE_TOPICS; t++)
        if (!strcmp(name, topic_names[t])) return t;
    return -1;
}

/* A message of genred's: a JSON object of protocol version 1 naming a
 * stream we have room for. NULL (and counted) otherwise. */
static bridge_stream *usable(bridge_t *b, json_t *msg)
{
    bridge_stream *s = NULL;
    if (json_is_object(msg) && json_integer_value(json_object_get(msg, "v")) == 1)
        s = bridge_streams_get(b->streams, json_string_value(json_object_get(msg, "stream")));
    if (!s && b->unusable++ == 0)
        log_warn("dropping messages that are not genred's protocol v1 with a stream name of at "
                 "most %d bytes, or past %u streams (said once)",
                 BRIDGE_NAME_LEN - 1, bridge_streams_count(b->streams));
    return s;
}

static int more_frames(void *sock)
{
    int more = 0;
    size_t len = sizeof more;
    return !zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &len) && more;
}

/* Drops the rest of a message with more frames than genred sends. */
static void skip_frames(void *sock)
{
    while (more_frames(sock)) {
        zmq_msg_t extra;
        zmq_msg_init(&extra);
        zmq_msg_recv(&extra, sock, 0);
        zmq_msg_close(&extra);
    }
}

/* One message received and forwarded; 0 when none was waiting. */
static int receive_one(bridge_t *b, int64_t now)
{
    char name[TOPIC_MAX];
    int n = zmq_recv(b->sub, name, sizeof name - 1, ZMQ_DONTWAIT);
    if (n < 0) return 0;
    name[n < TOPIC_MAX - 1 ? n : TOPIC_MAX - 1] = '\0';
    zmq_msg_t body;
    zmq_msg_init(&body);
    /* A topic alone is not genred's; a body always follows the topic at once. */
    int got = more_frames(b->sub) && zmq_msg_recv(&body, b->sub, 0) >= 0;
    skip_frames(b->sub);
    size_t size = zmq_msg_size(&body);
    char *text = got ? malloc(size + 1) : NULL;
    if (text) {
        memcpy(text, zmq_msg_data(&body), size);
        text[size] = '\0';
    }
    zmq_msg_close(&body);
    b->received++;
    int topic = topic_of(name);
    json_t *msg = text && topic >= 0 ? json_loads(text, 0, NULL) : NULL;
    bridge_stream *s = usable(b, msg);
    if (s) forward(b, (bridge_topic)topic, s, msg, text, now);
    json_decref(msg);
    free(text);
    return 1;
}

/* Every state_interval, and when a TCP receiver came back, every stream's
 * state to the OSC receivers. */
static void send_states_due(bridge_t *b, int64_t now)
{
    for (int k = 0; k < b->n_osc; k++)
        if (osc_out_reconnected(b->osc[k])) send_states(b, b->osc[k], now);
    if (b->state_interval <= 0 || now < b->next_states_ms) return;
    b->next_states_ms = now + (int64_t)(b->state_interval * 1000);
    send_states(b, NULL, now);
}

static void log_summary(const bridge_t *b)
{
    uint64_t osc_sent = 0, osc_failed = 0;
    for (int k = 0; k < b->n_osc; k++) {
        osc_sent += osc_out_sent(b->osc[k]);
        osc_failed += osc_out_failed(b->osc[k]);
    }
    log_info("received %llu messages, forwarded %llu, dropped %llu already seen and %llu "
             "unusable; OSC %llu sent, %llu failed; MQTT %llu sent, %llu dropped",
             (unsigned long long)b->received, (unsigned long long)b->forwarded,
             (unsigned long long)b->duplicates, (unsigned long long)b->unusable,
             (unsigned long long)osc_sent, (unsigned long long)osc_failed,
             (unsigned long long)(b->mqtt ? mqtt_out_sent(b->mqtt) : 0),
             (unsigned long long)(b->mqtt ? mqtt_out_dropped(b->mqtt) : 0));
}

int bridge_run(bridge_t *b, volatile sig_atomic_t *stop)
{
    int rc = 0;
    while (!*stop) {
        zmq_pollitem_t items[2] = {{b->sub, 0, ZMQ_POLLIN, 0}, {NULL, -1, 0, 0}};
        if (b->mqtt) items[1].fd = mqtt_out_poll_fd(b->mqtt, &items[1].events);
        int n = zmq_poll(items, items[1].fd >= 0 ? 2 : 1, POLL_MS);
        if (n < 0 && zmq_errno() != EINTR) {
            log_error("ZeroMQ poll failed: %s", zmq_strerror(zmq_errno()));
            rc = 1;
            break;
        }
        int64_t now = monotonic_ms();
        for (int burst = 0; burst < BURST && receive_one(b, now); burst++)
            ;
        if (b->mqtt) mqtt_out_service(b->mqtt, n > 0 ? items[1].revents : 0, now);
        send_states_due(b, now);
    }
    log_summary(b);
    return rc;
}
