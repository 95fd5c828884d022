/* snapshot_queue: a server's pending snapshot requests (protocol.h), served
 * one after another within a byte budget, so that late joiners, or a peer
 * flooding subscribe/unsubscribe pairs, cost the server bounded time and
 * bandwidth and never hold up live messages for long.
 *
 * The budget is a bucket of bytes_per_s that refills continuously; a request
 * is worked on while the bucket holds something, one message at a time, the
 * server keeping its place in `cursor`. A request equal to one pending and
 * not yet begun is the same request (a subscriber that resubscribed) and is
 * not queued twice; beyond max_pending, requests are dropped and counted. Owned by one
 * thread; times are CLOCK_MONOTONIC ms. */
#ifndef GENRED_SNAPSHOT_QUEUE_H
#define GENRED_SNAPSHOT_QUEUE_H

#include "protocol.h"

#include <stddef.h>
#include <stdint.h>

typedef struct snapshot_queue snapshot_queue_t;

typedef struct {
    char reply[PROTOCOL_SUBSCRIPTION_MAX + 1]; /* "snapshot/NONCE/": reply topics start so */
    size_t reply_len;
    char prefix[PROTOCOL_TOPIC_LEN + 1]; /* topics wanted start with this */
    size_t cursor;                       /* the server's place in its cache; starts at 0 */
} snapshot_request;

snapshot_queue_t *snapshot_queue_create(unsigned max_pending, size_t bytes_per_s, int64_t now_ms);
void snapshot_queue_destroy(snapshot_queue_t *q);

/* A frame the server's XPUB received. A subscription (1, then the topic)
 * that asks for a snapshot is queued; an unsubscription (0, then the topic)
 * drops the requests it names that are still pending, their subscriber
 * gone. 1 for a subscription, 0 for an unsubscription, -1 for anything else
 * (data a peer sent). A frame too long for the caller's buffer is passed
 * with len 1: its kind is all that counts, no request is that long. */
int snapshot_queue_take(snapshot_queue_t *q, const void *frame, size_t len);

/* The request to work on now; NULL when none is pending or the budget is
 * spent until later. */
snapshot_request *snapshot_queue_next(snapshot_queue_t *q, int64_t now_ms);
/* Bytes just sent for the current request. */
void snapshot_queue_spend(snapshot_queue_t *q, size_t bytes);
/* The current request is answered (or abandoned): on to the next. */
void snapshot_queue_done(snapshot_queue_t *q);

/* Whether `topic` is one a request asked for. */
int snapshot_request_wants(const snapshot_request *r, const char *topic);
/* Writes the reply topic for `topic` into out; its length. */
size_t snapshot_request_topic(const snapshot_request *r, const char *topic, char *out, size_t size);

unsigned snapshot_queue_pending(const snapshot_queue_t *q);
/* Requests queued, and dropped because max_pending were waiting, so far. */
uint64_t snapshot_queue_taken(const snapshot_queue_t *q);
uint64_t snapshot_queue_dropped(const snapshot_queue_t *q);

#endif
