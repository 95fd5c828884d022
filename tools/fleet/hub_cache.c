#include "hub_cache.h"

#include "topic_index.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    char *body; /* NULL: none (refused, or dropped as stale) */
    size_t len;
    int64_t stamp;
} entry;

struct hub_cache {
    topic_index_t *index;
    entry *entries; /* by pair number */
    unsigned max_keys[PROTOCOL_TOPICS], keys[PROTOCOL_TOPICS];
    size_t bytes, max_bytes;
};

hub_cache_t *hub_cache_create(const unsigned max_keys[PROTOCOL_TOPICS], size_t max_bytes)
{
    hub_cache_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    unsigned capacity = 0;
    for (int t = 0; t < PROTOCOL_TOPICS; t++)
        capacity += c->max_keys[t] = max_keys[t];
    c->max_bytes = max_bytes;
    c->index = topic_index_create(capacity);
    c->entries = c->index ? calloc(topic_index_capacity(c->index), sizeof *c->entries) : NULL;
    if (!c->entries) {
        hub_cache_destroy(c);
        return NULL;
    }
    return c;
}

void hub_cache_destroy(hub_cache_t *c)
{
    if (!c) return;
    for (unsigned i = 0; c->index && i < topic_index_count(c->index); i++)
        free(c->entries[i].body);
    topic_index_destroy(c->index);
    free(c->entries);
    free(c);
}

/* The pair's entry, added if there is room for another key of its topic
 * and for a body of len bytes. */
static entry *entry_for(hub_cache_t *c, protocol_topic topic, const char *key, size_t len)
{
    int i = topic_index_find(c->index, topic, key);
    if (i < 0 && c->keys[topic] < c->max_keys[topic] && c->bytes + len <= c->max_bytes) {
        i = topic_index_add(c->index, topic, key);
        if (i >= 0) c->keys[topic]++;
    }
    return i < 0 ? NULL : &c->entries[i];
}

static void drop_body(hub_cache_t *c, entry *e)
{
    c->bytes -= e->len;
    free(e->body);
    e->body = NULL;
    e->len = 0;
}

int hub_cache_put(hub_cache_t *c, protocol_topic topic, const char *key, const void *body,
                  size_t len)
{
    entry *e = entry_for(c, topic, key, len);
    if (!e) return -1;
    drop_body(c, e);
    char *copy = c->bytes + len <= c->max_bytes ? malloc(len ? len : 1) : NULL;
    if (!copy) return -1;
    memcpy(copy, body, len);
    e->body = copy;
    e->len = len;
    c->bytes += len;
    return 1;
}

int64_t *hub_cache_stamp(hub_cache_t *c, protocol_topic topic, const char *key)
{
    int i = topic_index_find(c->index, topic, key);
    return i < 0 ? NULL : &c->entries[i].stamp;
}

int hub_cache_at(const hub_cache_t *c, size_t i, protocol_topic *topic, const char **body,
                 size_t *len)
{
    if (i >= topic_index_count(c->index)) return 0;
    *topic = topic_index_topic(c->index, (unsigned)i);
    *body = c->entries[i].body;
    *len = c->entries[i].len;
    return 1;
}

unsigned hub_cache_count(const hub_cache_t *c, protocol_topic topic)
{
    return c->keys[topic];
}

size_t hub_cache_bytes(const hub_cache_t *c)
{
    return c->bytes;
}
