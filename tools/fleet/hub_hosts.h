/* hub_hosts: which genred hosts are alive, judged by their genre.status.
 *
 * A host is named by the HOST part of its streams' names ("HOST/STREAM",
 * the fleet's naming rule). It is "up" from its first genre.status, "lost"
 * once lost_after status intervals pass without one (also when none ever
 * came), and "up" again with the next. Times are CLOCK_MONOTONIC ms. Owned
 * by one thread. */
#ifndef GENRED_HUB_HOSTS_H
#define GENRED_HUB_HOSTS_H

#include "hub_config.h"

#include <stddef.h>
#include <stdint.h>

typedef enum { HOST_UNSEEN = 0, HOST_UP, HOST_LOST } hub_host_state;

typedef struct hub_hosts hub_hosts_t;

/* Called for each change of state. */
typedef void (*hub_host_event_fn)(void *ctx, unsigned host, hub_host_state state);

hub_hosts_t *hub_hosts_create(const hub_config *cfg, int64_t now_ms);
void hub_hosts_destroy(hub_hosts_t *h);

/* The host a stream belongs to: the configured host whose name is the part
 * before the first '/'; -1 if none is (the stream breaks the naming rule). */
int hub_hosts_of_stream(const hub_hosts_t *h, const char *stream);

/* A genre.status from host i arrived. */
void hub_hosts_status(hub_hosts_t *h, unsigned i, int64_t now_ms, hub_host_event_fn fn, void *ctx);
/* Reports hosts whose status is overdue. */
void hub_hosts_tick(hub_hosts_t *h, int64_t now_ms, hub_host_event_fn fn, void *ctx);

unsigned hub_hosts_count(const hub_hosts_t *h);
const char *hub_hosts_name(const hub_hosts_t *h, unsigned i);
const char *hub_hosts_endpoint(const hub_hosts_t *h, unsigned i);
hub_host_state hub_hosts_state(const hub_hosts_t *h, unsigned i);
/* ms since the host's last genre.status; -1 if none came. */
int64_t hub_hosts_silent_ms(const hub_hosts_t *h, unsigned i, int64_t now_ms);
const char *hub_host_state_name(hub_host_state s);

#endif
