/* hub: genre-hub, the fan-in of many genred hosts.
 *
 * libzmq's own proxy (zmq_proxy_steerable) joins an XSUB connected to every
 * host's publisher to an XPUB bound where subscribers connect, so messages
 * pass through untouched and at libzmq's speed. The proxy copies all traffic
 * to a capture socket; the hub's own thread reads it to keep the last-value
 * cache, watch each host's genre.status, feed the JetStream bridge, and
 * answer every new subscription with the cached state. What the hub says
 * itself (replays, genre.host, genre.hub) it publishes on an inproc PUB the
 * XSUB is also connected to, so it reaches subscribers through the same
 * proxy. Topics it adds are documented in hub.c. */
#ifndef GENRED_HUB_H
#define GENRED_HUB_H

#include "hub_config.h"

#include <stddef.h>

typedef struct hub hub_t;

/* Loads keys, binds, connects, starts the proxy, the hub thread and the
 * bridge. NULL with a one-line reason. */
hub_t *hub_create(const hub_config *cfg, const char *version, char *err, size_t err_len);
/* Stops the proxy and the threads, drains the bridge, frees everything. */
void hub_destroy(hub_t *h);

#endif
