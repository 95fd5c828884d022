/* hub_bridge: genre-hub's JetStream bridge. It keeps the hub's genre.change
 * and genre.track (and, at a configured rate, genre.probs) events in a
 * bounded buffer and
 * writes them to a JetStream stream, subjects TOPIC.HOST.STREAM, each with
 * the message id TOPIC:STREAM:POSITION:TIME_MS, so that a batch resent after
 * a broken connection is stored once (JetStream drops ids it saw within the
 * duplicate window).
 *
 * An event leaves the buffer only when JetStream has acknowledged it. While
 * NATS is unreachable the buffer fills; once full, new events are refused
 * and counted as lost (the buffer keeps the oldest: the first part of an
 * outage is kept whole, the rest is missing, and the count says how much).
 * An event that can never be stored (larger than the server's max_payload,
 * or refused by JetStream itself) is dropped and counted, not retried: it
 * would hold up every event behind it.
 * Its own thread does all NATS calls. */
#ifndef GENRED_HUB_BRIDGE_H
#define GENRED_HUB_BRIDGE_H

#include "hub_config.h"
#include "protocol.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hub_bridge hub_bridge_t;

/* The topics stored, each under the subjects "TOPIC.>": the changes, the
 * song log (what a fleet most wants kept) and the probabilities. */
#define HUB_BRIDGED_TOPICS 3
static const protocol_topic hub_bridged[HUB_BRIDGED_TOPICS] = {PROTOCOL_CHANGE, PROTOCOL_TRACK,
                                                               PROTOCOL_PROBS};

typedef struct {
    int connected;
    unsigned buffered, capacity;
    uint64_t published;  /* acknowledged by JetStream */
    uint64_t duplicates; /* acknowledged as already stored (a resent batch) */
    uint64_t lost;       /* refused because the buffer was full */
    uint64_t dropped;    /* could never be stored: over NATS's max_payload, or refused by
                            JetStream (logged once per cause) */
    uint64_t retries;    /* batches sent again */
} hub_bridge_stats;

/* Connects (in the background if NATS is down) and starts the thread. NULL
 * with a one-line reason. */
hub_bridge_t *hub_bridge_create(const hub_jetstream_config *cfg, char *err, size_t err_len);
/* Waits up to 2 s for the buffer to drain, reports what is left as lost,
 * stops the thread. */
void hub_bridge_destroy(hub_bridge_t *b);

/* Queues one event (any thread; never blocks on NATS). 0, or -1 when the
 * buffer is full (counted as lost). */
int hub_bridge_post(hub_bridge_t *b, const char *topic, const char *stream, int64_t position,
                    int64_t time_ms, const char *body, size_t len);

void hub_bridge_get_stats(hub_bridge_t *b, hub_bridge_stats *out);

#endif
