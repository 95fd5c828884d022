/* hub: genre-hub, the fan-in of many genred hosts.
 *
 * One thread reads every host on a SUB socket of its own (so it knows which
 * host sent what), checks each message against the protocol (protocol.h),
 * drops what is not the protocol or was passed on already, keeps the
 * last-value cache, watches each host's genre.status, feeds the JetStream
 * bridge and republishes on the XPUB where subscribers connect. It answers
 * snapshot subscriptions from the cache, to the asking subscriber only and
 * within a byte budget, and says what it has to say itself (genre.host,
 * genre.hub) on the same XPUB. Each loop does a bounded amount of each kind
 * of work, so no host, subscriber or snapshot holds up the rest, the host
 * watch or a stop. Topics it adds are documented in hub.c. */
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
