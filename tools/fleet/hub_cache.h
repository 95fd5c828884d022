/* hub_cache: the hub's last-value cache, one message per (topic, key), where
 * the key is a stream name ("HOST/STREAM") or a host name. It is what late
 * subscribers' snapshots are made of. Bounded twice: in keys per topic
 * (max_streams), and in bytes of all bodies together, so that a host
 * sending large messages on many streams costs the hub bounded memory.
 * Owned by one thread. */
#ifndef GENRED_HUB_CACHE_H
#define GENRED_HUB_CACHE_H

#include "protocol.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hub_cache hub_cache_t;

/* At most max_keys[t] keys of topic t (0: the topic is not cached) and
 * max_bytes of bodies; room allocated now. NULL without memory. */
hub_cache_t *hub_cache_create(const unsigned max_keys[PROTOCOL_TOPICS], size_t max_bytes);
void hub_cache_destroy(hub_cache_t *c);

/* Stores body as the latest for (topic, key). 1 when stored; -1 when the
 * topic has max_keys keys, the bodies would pass max_bytes, or memory ran
 * out: nothing stored, and an older body for the pair is dropped too, so a
 * snapshot never holds a stale message. */
int hub_cache_put(hub_cache_t *c, protocol_topic topic, const char *key, const void *body,
                  size_t len);

/* A per-pair number the caller may use (the bridge's last forwarding time);
 * NULL if the pair is not cached. Starts at 0. */
int64_t *hub_cache_stamp(hub_cache_t *c, protocol_topic topic, const char *key);

/* Walks the cache a step at a time (snapshots are sent a slice at a time):
 * the pair numbered i, in the order pairs were added. 1 with its topic and
 * body (NULL when the pair holds none), 0 when i is past the last. */
int hub_cache_at(const hub_cache_t *c, size_t i, protocol_topic *topic, const char **body,
                 size_t *len);

/* Keys of a topic; bytes of all bodies. */
unsigned hub_cache_count(const hub_cache_t *c, protocol_topic topic);
size_t hub_cache_bytes(const hub_cache_t *c);

#endif
