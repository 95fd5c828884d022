#include "hub_cache.h"

#include <stdlib.h>
#include <string.h>

#define TOPIC_LEN 32
#define KEY_LEN   128

typedef struct {
    char topic[TOPIC_LEN];
    char key[KEY_LEN];
    char *body;
    size_t len;
    int64_t stamp;
} entry;

struct hub_cache {
    entry *entries; /* insertion order */
    unsigned n, capacity;
    unsigned *slots;  /* open addressing: index + 1, 0 = empty */
    unsigned n_slots; /* a power of two, at least twice the capacity */
};

hub_cache_t *hub_cache_create(unsigned capacity)
{
    hub_cache_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->capacity = capacity;
    c->n_slots = 16;
    while (c->n_slots < 2 * capacity)
        c->n_slots *= 2;
    c->entries = calloc(capacity, sizeof *c->entries);
    c->slots = calloc(c->n_slots, sizeof *c->slots);
    if (!c->entries || !c->slots) {
        hub_cache_destroy(c);
        return NULL;
    }
    return c;
}

void hub_cache_destroy(hub_cache_t *c)
{
    if (!c) return;
    for (unsigned i = 0; i < c->n; i++)
        free(c->entries[i].body);
    free(c->entries);
    free(c->slots);
    free(c);
}

static uint32_t hash(const char *topic, const char *key)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *s = topic; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    h = (h ^ 0xff) * 16777619u;
    for (const char *s = key; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* The slot holding (topic, key), or the empty slot where it would go. */
static unsigned *find(const hub_cache_t *c, const char *topic, const char *key)
{
    unsigned mask = c->n_slots - 1, i = hash(topic, key) & mask;
    for (;;) {
        unsigned *slot = &c->slots[i];
        if (!*slot) return slot;
        const entry *e = &c->entries[*slot - 1];
        if (!strcmp(e->topic, topic) && !strcmp(e->key, key)) return slot;
        i = (i + 1) & mask;
    }
}

int hub_cache_put(hub_cache_t *c, const char *topic, const char *key, const void *body, size_t len)
{
    if (strlen(topic) >= TOPIC_LEN || strlen(key) >= KEY_LEN) return -1;
    unsigned *slot = find(c, topic, key);
    entry *e;
    if (*slot) {
        e = &c->entries[*slot - 1];
        if (e->len == len && !memcmp(e->body, body, len)) return 0;
    } else {
        if (c->n == c->capacity) return -1;
        e = &c->entries[c->n];
        memcpy(e->topic, topic, strlen(topic) + 1);
        memcpy(e->key, key, strlen(key) + 1);
        e->body = NULL;
        e->len = 0;
        e->stamp = 0;
    }
    char *copy = realloc(e->body, len ? len : 1);
    if (!copy) return -1;
    memcpy(copy, body, len);
    e->body = copy;
    e->len = len;
    if (!*slot) *slot = ++c->n;
    return 1;
}

int64_t *hub_cache_stamp(hub_cache_t *c, const char *topic, const char *key)
{
    if (strlen(topic) >= TOPIC_LEN || strlen(key) >= KEY_LEN) return NULL;
    unsigned *slot = find(c, topic, key);
    return *slot ? &c->entries[*slot - 1].stamp : NULL;
}

void hub_cache_each(const hub_cache_t *c, const char *prefix, size_t prefix_len,
                    const char *const *topics, unsigned n_topics, hub_cache_fn fn, void *ctx)
{
    for (unsigned t = 0; t < n_topics; t++) {
        if (strlen(topics[t]) < prefix_len || memcmp(topics[t], prefix, prefix_len)) continue;
        for (unsigned i = 0; i < c->n; i++)
            if (!strcmp(c->entries[i].topic, topics[t]))
                fn(ctx, c->entries[i].topic, c->entries[i].body, c->entries[i].len);
    }
}

unsigned hub_cache_count(const hub_cache_t *c, const char *topic)
{
    unsigned n = 0;
    for (unsigned i = 0; i < c->n; i++)
        n += !strcmp(c->entries[i].topic, topic);
    return n;
}
