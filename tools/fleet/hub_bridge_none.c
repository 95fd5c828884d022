/* hub_bridge without libnats: genre-hub still runs, and a config that asks
 * for a JetStream bridge is refused at start with this reason. */
#include "hub_bridge.h"

#include <stdio.h>

hub_bridge_t *hub_bridge_create(const hub_jetstream_config *cfg, char *err, size_t err_len)
{
    snprintf(err, err_len, "jetstream.url '%s': genre-hub was built without libnats", cfg->url);
    return NULL;
}

void hub_bridge_destroy(hub_bridge_t *b)
{
    (void)b;
}

int hub_bridge_post(hub_bridge_t *b, const char *topic, const char *stream, int64_t position,
                    int64_t time_ms, const char *body, size_t len)
{
    (void)b, (void)topic, (void)stream, (void)position, (void)time_ms, (void)body, (void)len;
    return -1;
}

void hub_bridge_get_stats(hub_bridge_t *b, hub_bridge_stats *out)
{
    (void)b;
    *out = (hub_bridge_stats){0};
}
