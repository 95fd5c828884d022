#include "protocol_seen.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    protocol_topic topic;
    char key[PROTOCOL_NAME_LEN + 1];
    int64_t started_ms, seq;
} entry;

struct protocol_seen {
    entry *entries;
    unsigned n, capacity;
    unsigned *slots;  /* open addressing: index + 1, 0 = empty */
    unsigned n_slots; /* a power of two, at least twice the capacity */
};

protocol_seen_t *protocol_seen_create(unsigned capacity)
{
    protocol_seen_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->capacity = capacity ? capacity : 1;
    s->n_slots = 16;
    while (s->n_slots < 2 * s->capacity)
        s->n_slots *= 2;
    s->entries = calloc(s->capacity, sizeof *s->entries);
    s->slots = calloc(s->n_slots, sizeof *s->slots);
    if (!s->entries || !s->slots) {
        protocol_seen_destroy(s);
        return NULL;
    }
    return s;
}

void protocol_seen_destroy(protocol_seen_t *s)
{
    if (!s) return;
    free(s->entries);
    free(s->slots);
    free(s);
}

static unsigned hash(protocol_topic topic, const char *key)
{
    uint32_t h = 2166136261u ^ (uint32_t)topic; /* FNV-1a */
    for (const char *c = key; *c; c++)
        h = (h ^ (uint8_t)*c) * 16777619u;
    return h;
}

/* The slot holding (topic, key), or the empty one where it would go. */
static unsigned *find(const protocol_seen_t *s, protocol_topic topic, const char *key)
{
    unsigned mask = s->n_slots - 1;
    for (unsigned i = hash(topic, key) & mask;; i = (i + 1) & mask) {
        unsigned *slot = &s->slots[i];
        if (!*slot) return slot;
        const entry *e = &s->entries[*slot - 1];
        if (e->topic == topic && !strcmp(e->key, key)) return slot;
    }
}

int protocol_seen_check(protocol_seen_t *s, const protocol_message *m)
{
    if (!protocol_topic_get(m->topic)->sequenced || !m->seq || !m->key ||
        strlen(m->key) > PROTOCOL_NAME_LEN)
        return 1;
    unsigned *slot = find(s, m->topic, m->key);
    if (*slot) {
        entry *e = &s->entries[*slot - 1];
        if (e->started_ms == m->started_ms && m->seq <= e->seq) return 0;
        e->started_ms = m->started_ms;
        e->seq = m->seq;
        return 1;
    }
    if (s->n == s->capacity) {
        memset(s->slots, 0, s->n_slots * sizeof *s->slots);
        s->n = 0;
        slot = find(s, m->topic, m->key);
    }
    entry *e = &s->entries[s->n];
    e->topic = m->topic;
    memcpy(e->key, m->key, strlen(m->key) + 1);
    e->started_ms = m->started_ms;
    e->seq = m->seq;
    *slot = ++s->n;
    return 1;
}
