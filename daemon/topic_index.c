#include "topic_index.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    protocol_topic topic;
    char key[PROTOCOL_NAME_LEN + 1];
} pair;

struct topic_index {
    pair *pairs;
    unsigned n, capacity;
    unsigned *slots;  /* open addressing: pair number + 1, 0 = empty */
    unsigned n_slots; /* a power of two, at least twice the capacity */
};

topic_index_t *topic_index_create(unsigned capacity)
{
    topic_index_t *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    x->capacity = capacity ? capacity : 1;
    x->n_slots = 16;
    while (x->n_slots < 2 * x->capacity)
        x->n_slots *= 2;
    x->pairs = calloc(x->capacity, sizeof *x->pairs);
    x->slots = calloc(x->n_slots, sizeof *x->slots);
    if (!x->pairs || !x->slots) {
        topic_index_destroy(x);
        return NULL;
    }
    return x;
}

void topic_index_destroy(topic_index_t *x)
{
    if (!x) return;
    free(x->pairs);
    free(x->slots);
    free(x);
}

static uint32_t hash(protocol_topic topic, const char *key)
{
    uint32_t h = 2166136261u ^ (uint32_t)topic; /* FNV-1a */
    for (const char *c = key; *c; c++)
        h = (h ^ (uint8_t)*c) * 16777619u;
    return h;
}

/* The slot holding (topic, key), or the empty one where it would go. */
static unsigned *slot_of(const topic_index_t *x, protocol_topic topic, const char *key)
{
    unsigned mask = x->n_slots - 1;
    for (unsigned i = hash(topic, key) & mask;; i = (i + 1) & mask) {
        unsigned *slot = &x->slots[i];
        if (!*slot) return slot;
        const pair *p = &x->pairs[*slot - 1];
        if (p->topic == topic && !strcmp(p->key, key)) return slot;
    }
}

int topic_index_find(const topic_index_t *x, protocol_topic topic, const char *key)
{
    unsigned *slot = slot_of(x, topic, key);
    return *slot ? (int)*slot - 1 : -1;
}

int topic_index_add(topic_index_t *x, protocol_topic topic, const char *key)
{
    size_t len = strlen(key);
    if (x->n == x->capacity || len > PROTOCOL_NAME_LEN) return -1;
    unsigned *slot = slot_of(x, topic, key);
    if (*slot) return (int)*slot - 1;
    pair *p = &x->pairs[x->n];
    p->topic = topic;
    memcpy(p->key, key, len + 1);
    *slot = ++x->n;
    return (int)x->n - 1;
}

void topic_index_clear(topic_index_t *x)
{
    memset(x->slots, 0, x->n_slots * sizeof *x->slots);
    x->n = 0;
}

unsigned topic_index_count(const topic_index_t *x)
{
    return x->n;
}

unsigned topic_index_capacity(const topic_index_t *x)
{
    return x->capacity;
}

protocol_topic topic_index_topic(const topic_index_t *x, unsigned i)
{
    return x->pairs[i].topic;
}
