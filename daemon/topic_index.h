/* topic_index: (topic, key) pairs, a key being a stream or host name,
 * numbered 0, 1, 2... in the order they were added, and found by hashing.
 * The protocol's tables (protocol_seen, genre-hub's cache) keep what they
 * store per pair in arrays under those numbers. Room is fixed at create
 * time; owned by one thread. */
#ifndef GENRED_TOPIC_INDEX_H
#define GENRED_TOPIC_INDEX_H

#include "protocol.h"

typedef struct topic_index topic_index_t;

/* Room for `capacity` pairs. NULL without memory. */
topic_index_t *topic_index_create(unsigned capacity);
void topic_index_destroy(topic_index_t *x);

/* The pair's number, or -1 when it is not there. */
int topic_index_find(const topic_index_t *x, protocol_topic topic, const char *key);
/* Adds a pair that is not there yet: its number, or -1 when the index is
 * full or the key longer than PROTOCOL_NAME_LEN. */
int topic_index_add(topic_index_t *x, protocol_topic topic, const char *key);
/* Forgets every pair. */
void topic_index_clear(topic_index_t *x);

unsigned topic_index_count(const topic_index_t *x);
unsigned topic_index_capacity(const topic_index_t *x);
protocol_topic topic_index_topic(const topic_index_t *x, unsigned i);

#endif
