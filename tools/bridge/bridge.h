/* bridge: genre-bridge's core. A ZeroMQ subscriber to genred (or genre-hub)
 * that forwards genre.change, genre.track and, at most once per
 * probs_interval per stream, genre.probs to OSC receivers (osc_out.h) and
 * an MQTT broker (mqtt_out.h). It subscribes, parses and drops what it has
 * already forwarded as every client of the protocol does (protocol.h,
 * protocol_seen.h), with CURVE and the handshake's log line as genre-sub's
 * (sub_keys.h, handshake_watch.h). One thread of its own: the ZeroMQ socket
 * and the MQTT socket are polled together. */
#ifndef GENRED_BRIDGE_H
#define GENRED_BRIDGE_H

#include "mqtt_out.h"

#include <signal.h>
#include <stddef.h>

#define BRIDGE_MAX_ENDPOINTS 8
#define BRIDGE_MAX_OSC       8

typedef struct {
    const char *endpoints[BRIDGE_MAX_ENDPOINTS]; /* genred or genre-hub */
    int n_endpoints;
    const char *server_key, *client_key; /* CURVE key files, or NULL */
    const char *osc[BRIDGE_MAX_OSC];     /* OSC receiver URLs */
    int n_osc;
    int mqtt; /* whether mqtt_options.host is set */
    mqtt_out_options mqtt_options;
    double probs_interval; /* s between forwarded genre.probs per stream; < 0: none */
    double state_interval; /* s between OSC /state repeats; 0: only on changes */
    unsigned max_streams;
} bridge_options;

typedef struct bridge bridge_t;

/* Connects the subscriber and creates the outputs. NULL with a one-line
 * reason naming the option. */
bridge_t *bridge_create(const bridge_options *o, char *err, size_t err_len);
/* Forwards until *stop; 0, or 1 after a ZeroMQ error. */
int bridge_run(bridge_t *b, volatile sig_atomic_t *stop);
void bridge_destroy(bridge_t *b);

#endif
