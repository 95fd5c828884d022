/* hub_cache: the hub's last-value cache, one message per (topic, key), where
 * the key is a stream name ("HOST/STREAM") or a host name. It is what a late
 * subscriber is sent at once, and it tells the hub a message it has already
 * seen (the hub's own replay coming back through the proxy, or a genred's
 * resend) from a new one. Owned by one thread. */
#ifndef GENRED_HUB_CACHE_H
#define GENRED_HUB_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct hub_cache hub_cache_t;

/* Room for `capacity` (topic, key) pairs, allocated now. NULL without memory. */
hub_cache_t *hub_cache_create(unsigned capacity);
void hub_cache_destroy(hub_cache_t *c);

/* Stores body as the latest for (topic, key). 1 when stored (new pair or a
 * different body), 0 when it equals the cached body (a replay or resend),
 * -1 when the cache is full or out of memory (nothing stored). */
int hub_cache_put(hub_cache_t *c, const char *topic, const char *key, const void *body, size_t len);

/* A per-pair number the caller may use (the bridge's last forwarding time);
 * NULL if the pair is not cached. Starts at 0. */
int64_t *hub_cache_stamp(hub_cache_t *c, const char *topic, const char *key);

typedef void (*hub_cache_fn)(void *ctx, const char *topic, const char *body, size_t len);
/* Calls fn for every pair whose topic starts with prefix (ZeroMQ's
 * subscription rule), topics in the order given, then in insertion order. */
void hub_cache_each(const hub_cache_t *c, const char *prefix, size_t prefix_len,
                    const char *const *topics, unsigned n_topics, hub_cache_fn fn, void *ctx);

unsigned hub_cache_count(const hub_cache_t *c, const char *topic);

#endif
