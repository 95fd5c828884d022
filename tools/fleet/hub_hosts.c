#include "hub_hosts.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const hub_host_config *cfg;
    hub_host_state state;
    int64_t last_ms; /* last genre.status; -1 none */
} host;

struct hub_hosts {
    host *hosts;
    unsigned n;
    int64_t lost_ms; /* silence that makes a host lost */
    int64_t start_ms;
};

hub_hosts_t *hub_hosts_create(const hub_config *cfg, int64_t now_ms)
{
    hub_hosts_t *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->hosts = calloc(cfg->n_hosts ? cfg->n_hosts : 1, sizeof *h->hosts);
    if (!h->hosts) {
        free(h);
        return NULL;
    }
    h->n = cfg->n_hosts;
    for (unsigned i = 0; i < h->n; i++) {
        h->hosts[i].cfg = &cfg->hosts[i];
        h->hosts[i].last_ms = -1;
    }
    h->lost_ms = (int64_t)(cfg->lost_after * cfg->status_interval * 1000.0);
    h->start_ms = now_ms;
    return h;
}

void hub_hosts_destroy(hub_hosts_t *h)
{
    if (!h) return;
    free(h->hosts);
    free(h);
}

int hub_hosts_of_stream(const hub_hosts_t *h, const char *stream)
{
    const char *slash = strchr(stream, '/');
    if (!slash) return -1;
    size_t n = (size_t)(slash - stream);
    for (unsigned i = 0; i < h->n; i++)
        if (strlen(h->hosts[i].cfg->name) == n && !memcmp(h->hosts[i].cfg->name, stream, n))
            return (int)i;
    return -1;
}

void hub_hosts_status(hub_hosts_t *h, unsigned i, int64_t now_ms, hub_host_event_fn fn, void *ctx)
{
    host *x = &h->hosts[i];
    x->last_ms = now_ms;
    if (x->state != HOST_UP) {
        x->state = HOST_UP;
        fn(ctx, i, HOST_UP);
    }
}

void hub_hosts_tick(hub_hosts_t *h, int64_t now_ms, hub_host_event_fn fn, void *ctx)
{
    for (unsigned i = 0; i < h->n; i++) {
        host *x = &h->hosts[i];
        int64_t since = x->last_ms >= 0 ? x->last_ms : h->start_ms;
        if (x->state != HOST_LOST && now_ms - since > h->lost_ms) {
            x->state = HOST_LOST;
            fn(ctx, i, HOST_LOST);
        }
    }
}

unsigned hub_hosts_count(const hub_hosts_t *h)
{
    return h->n;
}

const char *hub_hosts_name(const hub_hosts_t *h, unsigned i)
{
    return h->hosts[i].cfg->name;
}

const char *hub_hosts_endpoint(const hub_hosts_t *h, unsigned i)
{
    return h->hosts[i].cfg->endpoint;
}

hub_host_state hub_hosts_state(const hub_hosts_t *h, unsigned i)
{
    return h->hosts[i].state;
}

int64_t hub_hosts_silent_ms(const hub_hosts_t *h, unsigned i, int64_t now_ms)
{
    return h->hosts[i].last_ms < 0 ? -1 : now_ms - h->hosts[i].last_ms;
}

const char *hub_host_state_name(hub_host_state s)
{
    return s == HOST_UP ? "up" : s == HOST_LOST ? "lost" : "unseen";
}
