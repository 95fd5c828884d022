/* mqtt_out: genre-bridge's MQTT output (libmosquitto), driven from the
 * bridge's own poll loop: no thread of its own.
 *
 * Topics (PREFIX from --mqtt-prefix, default "genred"; STREAM is
 * bridge_stream.safe):
 *   PREFIX/STREAM/change  genred's genre.change JSON as received, QoS 1
 *   PREFIX/STREAM/track   genred's genre.track JSON as received, QoS 1
 *   PREFIX/STREAM/probs   genred's genre.probs JSON (rate-limited), QoS 0
 *   PREFIX/STREAM/state   retained, QoS 1: bridge_stream_state_json, for
 *                         dashboards (Home Assistant's MQTT sensors)
 *   PREFIX/bridge         retained "online" while connected, "offline"
 *                         (the broker's will) once the bridge is gone
 *
 * When the broker goes away, messages are dropped (and counted) until it is
 * back; the bridge reconnects after 1 s, then 2, 4... at most 30 s apart,
 * and on every connection publishes "online" and every stream's state
 * again, so a broker that lost its retained messages has them back. */
#ifndef GENRED_MQTT_OUT_H
#define GENRED_MQTT_OUT_H

#include "bridge_streams.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *host;
    int port;
    const char *prefix;
    const char *client_id; /* NULL: one made up by libmosquitto */
    const char *username;  /* NULL: none */
    const char *password;  /* NULL: none */
    int keepalive_s;
} mqtt_out_options;

typedef struct mqtt_out mqtt_out_t;

/* Starts connecting (the connection completes in mqtt_out_service). The
 * streams are read on every connection, to republish their states. NULL
 * with "--mqtt ...: reason". */
mqtt_out_t *mqtt_out_create(const mqtt_out_options *o, bridge_streams_t *streams, char *err,
                            size_t err_len);
/* Publishes "offline", disconnects and frees. */
void mqtt_out_destroy(mqtt_out_t *m);

/* The socket to poll and the events (POLLIN, POLLOUT) wanted; -1 while
 * there is no connection. */
int mqtt_out_poll_fd(mqtt_out_t *m, short *events);
/* After each poll: what the socket has (revents, 0 if none), keepalives,
 * and a new connection when it is time. now_ms: a monotonic clock. */
void mqtt_out_service(mqtt_out_t *m, short revents, int64_t now_ms);

/* A message's body (len bytes of JSON) as received, on its stream's topic. */
void mqtt_out_send(mqtt_out_t *m, protocol_topic topic, const bridge_stream *s, const void *json,
                   size_t len);
void mqtt_out_state(mqtt_out_t *m, const bridge_stream *s);

int mqtt_out_connected(const mqtt_out_t *m);
uint64_t mqtt_out_sent(const mqtt_out_t *m);
uint64_t mqtt_out_dropped(const mqtt_out_t *m);

#endif
