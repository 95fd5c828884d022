#include "bridge.h"

#include "bridge_streams.h"
#include "clock.h"
#include "handshake_watch.h"
#include "log.h"
#include "osc_out.h"
#include "protocol_limits.h"
#include "protocol_seen.h"
#include "sockopt.h"
#include "sub_keys.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

enum { POLL_MS = 200, BURST = 256 };

/* What the bridge forwards; genre.probs only without --no-probs. */
static const protocol_topic forwarded[] = {PROTOCOL_PROBS, PROTOCOL_CHANGE, PROTOCOL_TRACK};
enum { N_FORWARDED = sizeof forwarded / sizeof *forwarded };

struct bridge {
    double probs_interval, state_interval;
    void *zctx, *sub;
    sub_keys keys;
    handshake_watch_t *watch;
    protocol_seen_t *seen; /* what was forwarded, so that a resend is not */
    bridge_streams_t *streams;
    osc_out_t *osc[BRIDGE_MAX_OSC];
    int n_osc;
    mqtt_out_t *mqtt;
    int64_t next_states_ms;
    uint64_t received, forwarded, duplicates, unusable;
    int said_not_protocol, said_full; /* the first of each was logged */
};

static void log_handshake(const char *line)
{
    log_warn("%s", line);
}

/* CURVE (--server-key, --client-key) and the handshake watch, before the
 * socket connects, as every subscriber of genred's does. */
static int secure(bridge_t *b, const bridge_options *o, char *err, size_t err_len)
{
    if (sub_keys_load(&b->keys, o->server_key, o->client_key, err, err_len)) return -1;
    b->watch =
        sub_keys_secure(&b->keys, b->zctx, b->sub, "genre-bridge", log_handshake, err, err_len);
    return b->watch ? 0 : -1;
}

static int connect_sub(bridge_t *b, const bridge_options *o, char *err, size_t err_len)
{
    b->zctx = zmq_ctx_new();
    b->sub = b->zctx ? zmq_socket(b->zctx, ZMQ_SUB) : NULL;
    if (!b->sub) {
        snprintf(err, err_len, "cannot create a ZeroMQ socket: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    sockopt_int(b->sub, ZMQ_LINGER, 0);
    protocol_limit_frames(b->sub, PROTOCOL_MESSAGE_FRAME_MAX); /* a hostile publisher's reach */
    if (secure(b, o, err, err_len)) return -1;
    /* With a snapshot: a joining bridge forwards the current state at once. */
    for (int i = 0; i < N_FORWARDED; i++)
        if (forwarded[i] != PROTOCOL_PROBS || o->probs_interval >= 0)
            protocol_subscribe(b->sub, protocol_topic_name(forwarded[i]));
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
    if (!b || !(b->streams = bridge_streams_create(o->max_streams)) ||
        !(b->seen = protocol_seen_create(N_FORWARDED * o->max_streams))) {
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
    handshake_watch_destroy(b->watch);
    if (b->sub) zmq_close(b->sub);
    if (b->zctx) zmq_ctx_term(b->zctx);
    sub_keys_free(&b->keys);
    protocol_seen_destroy(b->seen);
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

static void forward(bridge_t *b, const protocol_message *m, bridge_stream *s, zmq_msg_t *body,
                    int64_t now)
{
    bridge_stream_update(s, m->topic, m->body);
    if (m->topic == PROTOCOL_PROBS && !probs_due(b, s, now)) return;
    b->forwarded++;
    for (int k = 0; k < b->n_osc; k++) {
        osc_out_send(b->osc[k], m->topic, s, m->body, now);
        if (m->topic == PROTOCOL_CHANGE) osc_out_state(b->osc[k], s, now);
    }
    if (b->mqtt) {
        mqtt_out_send(b->mqtt, m->topic, s, zmq_msg_data(body), zmq_msg_size(body));
        if (m->topic != PROTOCOL_PROBS) mqtt_out_state(b->mqtt, s);
    }
}

static int is_forwarded(protocol_topic t)
{
    for (int i = 0; i < N_FORWARDED; i++)
        if (forwarded[i] == t) return 1;
    return 0;
}

/* The stream a message of genred's is about; NULL (counted, and said once)
 * for what is not the protocol or a stream past max_streams. */
static bridge_stream *usable(bridge_t *b, int parsed, const protocol_message *m, const char *why)
{
    if (parsed && !is_forwarded(m->topic)) {
        parsed = 0;
        why = "a topic the bridge does not forward";
    }
    bridge_stream *s = parsed ? bridge_streams_get(b->streams, m->key) : NULL;
    if (s) return s;
    b->unusable++;
    if (!parsed && !b->said_not_protocol) {
        b->said_not_protocol = 1;
        log_warn("dropping messages that are not genred's protocol v1: %s (said once)", why);
    } else if (parsed && !b->said_full) {
        b->said_full = 1;
        log_warn("dropping messages of streams past %u (said once)",
                 bridge_streams_count(b->streams));
    }
    return NULL;
}

/* One message received and forwarded; 0 when none was waiting. */
static int receive_one(bridge_t *b, int64_t now)
{
    protocol_message m;
    zmq_msg_t body;
    const char *why = "";
    int parsed = protocol_recv(b->sub, ZMQ_DONTWAIT, &m, &body, &why);
    if (parsed >= 0) {
        b->received++;
        bridge_stream *s = usable(b, parsed, &m, why);
        if (s && !protocol_seen_check(b->seen, &m))
            b->duplicates++;
        else if (s)
            forward(b, &m, s, &body, now);
    }
    json_decref(m.body);
    zmq_msg_close(&body);
    return parsed >= 0;
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
