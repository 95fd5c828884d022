#include "protocol_seen.h"

#include "topic_index.h"

#include <stdlib.h>

typedef struct {
    int64_t started_ms, seq;
} mark;

struct protocol_seen {
    topic_index_t *index;
    mark *marks; /* by pair number */
};

protocol_seen_t *protocol_seen_create(unsigned capacity)
{
    protocol_seen_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->index = topic_index_create(capacity);
    s->marks = s->index ? calloc(topic_index_capacity(s->index), sizeof *s->marks) : NULL;
    if (!s->marks) {
        protocol_seen_destroy(s);
        return NULL;
    }
    return s;
}

void protocol_seen_destroy(protocol_seen_t *s)
{
    if (!s) return;
    topic_index_destroy(s->index);
    free(s->marks);
    free(s);
}

int protocol_seen_check(protocol_seen_t *s, const protocol_message *m)
{
    if (!protocol_topic_get(m->topic)->sequenced || !m->seq || !m->key) return 1;
    int i = topic_index_find(s->index, m->topic, m->key);
    if (i >= 0 && s->marks[i].started_ms == m->started_ms && m->seq <= s->marks[i].seq) return 0;
    if (i < 0 && topic_index_count(s->index) == topic_index_capacity(s->index))
        topic_index_clear(s->index);
    if (i < 0) i = topic_index_add(s->index, m->topic, m->key);
    if (i >= 0) s->marks[i] = (mark){m->started_ms, m->seq};
    return 1;
}
