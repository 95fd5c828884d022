/* web_subscriber: genre-web's ZeroMQ side. One thread subscribes to one or
 * more genred publishers (CURVE through genred_curve when a server key is
 * given) with a snapshot request, so the current state comes at once
 * (protocol.h), checks each message against the protocol, drops what it has
 * relayed already (protocol_seen.h), keeps genre.probs in the history and
 * hands every relayed message to the fan-out as one Server-Sent Events
 * frame: genred's own JSON bytes, re-encoded only if a raw line break would
 * split the SSE data line. It logs when genred is first heard, when nothing
 * has come for 6 s, and when it is back; bad messages are logged a few
 * times, then only counted. */
#ifndef GENRED_WEB_SUBSCRIBER_H
#define GENRED_WEB_SUBSCRIBER_H

#include "sub_keys.h"
#include "web_fanout.h"
#include "web_history.h"

#include <stddef.h>

typedef struct {
    const char *const *endpoints;
    int n_endpoints;
    const sub_keys *keys; /* no client keypair: plain text */
} web_subscriber_config;

typedef struct web_subscriber web_subscriber_t;

/* Connects and starts the thread; cfg's strings and keys must outlive the
 * subscriber. NULL with a one-line reason naming the endpoint. */
web_subscriber_t *web_subscriber_create(const web_subscriber_config *cfg, web_fanout_t *fanout,
                                        web_history_t *history, char *err, size_t err_len);
/* Stops the thread and closes the socket. */
void web_subscriber_destroy(web_subscriber_t *s);

/* Messages dropped as not the protocol's (malformed, or of a topic it does
 * not know), and as larger than a frame once re-encoded. */
void web_subscriber_counts(web_subscriber_t *s, unsigned long *rejected, unsigned long *too_big);

#endif
