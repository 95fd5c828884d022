#include "mqtt_out.h"

#include "log.h"

#include <mosquitto.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { RETRY_FIRST_MS = 1000, RETRY_MAX_MS = 30000, TOPIC_LEN = 512 };

struct mqtt_out {
    struct mosquitto *mosq;
    bridge_streams_t *streams;
    char broker[300]; /* HOST:PORT, for log lines */
    char prefix[256];
    int connected;
    int just_connected; /* announce() is due */
    int said_down;      /* the outage was logged */
    int64_t next_try;   /* no connection attempt before this (monotonic ms) */
    int retry_ms;
    uint64_t sent, dropped;
};

static void topic_of(const mqtt_out_t *m, const bridge_stream *s, const char *word,
                     char out[TOPIC_LEN])
{
    snprintf(out, TOPIC_LEN, "%s/%s/%s", m->prefix, s->safe, word);
}

static void publish(mqtt_out_t *m, const char *topic, const void *payload, size_t len, int qos,
                    int retain)
{
    int rc = m->connected ? mosquitto_publish(m->mosq, NULL, topic, (int)len, payload, qos, retain)
                          : MOSQ_ERR_NO_CONN;
    if (rc == MOSQ_ERR_SUCCESS)
        m->sent++;
    else
        m->dropped++;
}

static void publish_states(mqtt_out_t *m)
{
    for (unsigned i = 0; i < bridge_streams_count(m->streams); i++)
        mqtt_out_state(m, bridge_streams_at(m->streams, i));
}

static void on_connect(struct mosquitto *mosq, void *arg, int rc)
{
    (void)mosq;
    mqtt_out_t *m = arg;
    if (rc) {
        if (!m->said_down)
            log_warn("MQTT broker %s refused the connection: %s; retrying", m->broker,
                     mosquitto_connack_string(rc));
        m->said_down = 1;
        return; /* libmosquitto disconnects; on_disconnect schedules the retry */
    }
    m->connected = 1;
    m->just_connected = 1; /* libmosquitto takes messages once the callback returns */
    m->said_down = 0;
    m->retry_ms = RETRY_FIRST_MS;
    log_info("MQTT broker %s connected; publishing under %s/", m->broker, m->prefix);
}

/* What a new connection publishes: "online", and every state again. */
static void announce(mqtt_out_t *m)
{
    m->just_connected = 0;
    char topic[TOPIC_LEN];
    snprintf(topic, sizeof topic, "%s/bridge", m->prefix);
    publish(m, topic, "online", strlen("online"), 1, 1);
    publish_states(m);
}

static void lost(mqtt_out_t *m, int64_t now_ms, const char *why)
{
    size_t len = strlen(why);
    if (!m->said_down) /* mosquitto_strerror's lines end in a full stop */
        log_warn("MQTT broker %s: %.*s; reconnecting, 1 s to %d s apart", m->broker,
                 (int)(len && why[len - 1] == '.' ? len - 1 : len), why, RETRY_MAX_MS / 1000);
    m->said_down = 1;
    m->connected = 0;
    m->next_try = now_ms + m->retry_ms;
    m->retry_ms = m->retry_ms * 2 < RETRY_MAX_MS ? m->retry_ms * 2 : RETRY_MAX_MS;
}

static void on_disconnect(struct mosquitto *mosq, void *arg, int rc)
{
    (void)mosq;
    mqtt_out_t *m = arg;
    m->connected = 0;
    /* The service loop sees the closed socket and schedules the retry. */
    (void)rc;
}

static int configure(mqtt_out_t *m, const mqtt_out_options *o, char *err, size_t err_len)
{
    char topic[TOPIC_LEN];
    snprintf(topic, sizeof topic, "%s/bridge", m->prefix);
    int rc = mosquitto_will_set(m->mosq, topic, 7, "offline", 1, true);
    if (!rc && o->username) rc = mosquitto_username_pw_set(m->mosq, o->username, o->password);
    if (rc) {
        snprintf(err, err_len, "--mqtt %s: %s", m->broker, mosquitto_strerror(rc));
        return -1;
    }
    mosquitto_connect_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
    return 0;
}

mqtt_out_t *mqtt_out_create(const mqtt_out_options *o, bridge_streams_t *streams, char *err,
                            size_t err_len)
{
    mqtt_out_t *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, err_len, "--mqtt: out of memory");
        return NULL;
    }
    mosquitto_lib_init();
    m->streams = streams;
    m->retry_ms = RETRY_FIRST_MS;
    snprintf(m->broker, sizeof m->broker, "%s:%d", o->host, o->port);
    snprintf(m->prefix, sizeof m->prefix, "%s", o->prefix);
    m->mosq = mosquitto_new(o->client_id, true, m);
    if (!m->mosq || configure(m, o, err, err_len)) {
        if (!m->mosq) snprintf(err, err_len, "--mqtt %s: cannot create a client", m->broker);
        mqtt_out_destroy(m);
        return NULL;
    }
    int rc = mosquitto_connect_async(m->mosq, o->host, o->port, o->keepalive_s);
    if (rc == MOSQ_ERR_INVAL || rc == MOSQ_ERR_EAI) {
        snprintf(err, err_len, "--mqtt %s: %s", m->broker,
                 rc == MOSQ_ERR_EAI ? "host not found" : mosquitto_strerror(rc));
        mqtt_out_destroy(m);
        return NULL;
    }
    if (rc) lost(m, 0, mosquitto_strerror(rc)); /* retried at the first service */
    return m;
}

void mqtt_out_destroy(mqtt_out_t *m)
{
    if (!m) return;
    if (m->mosq && m->connected) {
        char topic[TOPIC_LEN];
        snprintf(topic, sizeof topic, "%s/bridge", m->prefix);
        publish(m, topic, "offline", strlen("offline"), 1, 1);
        mosquitto_disconnect(m->mosq);
        mosquitto_loop_write(m->mosq, 1);
    }
    if (m->mosq) mosquitto_destroy(m->mosq);
    mosquitto_lib_cleanup();
    free(m);
}

int mqtt_out_poll_fd(mqtt_out_t *m, short *events)
{
    int fd = mosquitto_socket(m->mosq);
    *events = (short)(POLLIN | (mosquitto_want_write(m->mosq) ? POLLOUT : 0));
    return fd;
}

void mqtt_out_service(mqtt_out_t *m, short revents, int64_t now_ms)
{
    if (mosquitto_socket(m->mosq) < 0) {
        if (now_ms < m->next_try) return;
        int rc = mosquitto_reconnect_async(m->mosq);
        if (rc) lost(m, now_ms, mosquitto_strerror(rc));
        return;
    }
    int rc = MOSQ_ERR_SUCCESS;
    if (revents & (POLLIN | POLLERR | POLLHUP)) rc = mosquitto_loop_read(m->mosq, 16);
    if (!rc && (revents & POLLOUT)) rc = mosquitto_loop_write(m->mosq, 16);
    if (!rc) rc = mosquitto_loop_misc(m->mosq);
    if (m->just_connected && m->connected) announce(m);
    /* libmosquitto closes the socket on every error that ends the link. */
    if (mosquitto_socket(m->mosq) < 0)
        lost(m, now_ms, rc ? mosquitto_strerror(rc) : "connection closed");
}

void mqtt_out_send(mqtt_out_t *m, protocol_topic topic, const bridge_stream *s, const void *json,
                   size_t len)
{
    /* The topic's last word: genre.change -> PREFIX/STREAM/change. */
    const char *name = protocol_topic_name(topic), *word = strrchr(name, '.');
    char t[TOPIC_LEN];
    topic_of(m, s, word ? word + 1 : name, t);
    publish(m, t, json, len, topic == PROTOCOL_PROBS ? 0 : 1, 0);
}

void mqtt_out_state(mqtt_out_t *m, const bridge_stream *s)
{
    if (!s->has_state && !s->track) return;
    char *json = bridge_stream_state_json(s);
    if (!json) {
        m->dropped++;
        return;
    }
    char t[TOPIC_LEN];
    topic_of(m, s, "state", t);
    publish(m, t, json, strlen(json), 1, 1);
    free(json);
}

int mqtt_out_connected(const mqtt_out_t *m)
{
    return m->connected;
}

uint64_t mqtt_out_sent(const mqtt_out_t *m)
{
    return m->sent;
}

uint64_t mqtt_out_dropped(const mqtt_out_t *m)
{
    return m->dropped;
}
