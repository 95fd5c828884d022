#include "bridge_streams.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bridge_streams {
    bridge_stream *streams; /* capacity of them, count used: pointers stay valid */
    unsigned count, capacity;
    int *slots; /* open addressing by name hash: stream number, -1 free */
    unsigned n_slots;
};

bridge_streams_t *bridge_streams_create(unsigned capacity)
{
    bridge_streams_t *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->capacity = capacity;
    t->n_slots = 2 * capacity + 1; /* never more than half full */
    t->streams = calloc(capacity, sizeof *t->streams);
    t->slots = malloc(t->n_slots * sizeof *t->slots);
    if (!t->streams || !t->slots) {
        bridge_streams_destroy(t);
        return NULL;
    }
    for (unsigned i = 0; i < t->n_slots; i++)
        t->slots[i] = -1;
    return t;
}

void bridge_streams_destroy(bridge_streams_t *t)
{
    if (!t) return;
    for (unsigned i = 0; i < t->count; i++)
        json_decref(t->streams[i].track);
    free(t->streams);
    free(t->slots);
    free(t);
}

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

void bridge_safe_name(char *out, size_t size, const char *name)
{
    size_t n = 0;
    for (; name[n] && n + 1 < size; n++) {
        char c = name[n];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.';
        out[n] = ok ? c : '_';
    }
    if (size) out[n] = '\0';
}

static bridge_stream *add(bridge_streams_t *t, const char *name, unsigned slot)
{
    if (t->count == t->capacity) return NULL;
    bridge_stream *s = &t->streams[t->count];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    bridge_safe_name(s->safe, sizeof s->safe, name);
    s->probs_sent_ms = -1;
    t->slots[slot] = (int)t->count++;
    return s;
}

bridge_stream *bridge_streams_get(bridge_streams_t *t, const char *name)
{
    if (!name || !*name || strlen(name) >= BRIDGE_NAME_LEN) return NULL;
    for (unsigned slot = hash(name) % t->n_slots;; slot = (slot + 1) % t->n_slots) {
        int i = t->slots[slot];
        if (i < 0) return add(t, name, slot);
        if (!strcmp(t->streams[i].name, name)) return &t->streams[i];
    }
}

unsigned bridge_streams_count(const bridge_streams_t *t)
{
    return t->count;
}

bridge_stream *bridge_streams_at(bridge_streams_t *t, unsigned i)
{
    return i < t->count ? &t->streams[i] : NULL;
}

static void copy_string(char *dst, size_t size, json_t *value)
{
    const char *v = json_string_value(value);
    snprintf(dst, size, "%s", v ? v : "");
}

void bridge_stream_update(bridge_stream *s, protocol_topic topic, json_t *msg)
{
    json_t *title = json_object_get(msg, "title");
    if (json_is_string(title) && topic != PROTOCOL_TRACK)
        copy_string(s->title, sizeof s->title, title);
    if (topic == PROTOCOL_CHANGE) {
        s->has_state = 1;
        copy_string(s->genre, sizeof s->genre, json_object_get(msg, "new"));
        s->p = json_number_value(json_object_get(msg, "p"));
        s->silence = json_is_true(json_object_get(msg, "silence"));
        s->since_ms = json_integer_value(json_object_get(msg, "time_ms"));
    } else if (topic == PROTOCOL_TRACK) {
        json_decref(s->track);
        s->track = json_pack(
            "{s:O?,s:O?,s:O?,s:O?,s:O?}", "title", json_object_get(msg, "title"), "top",
            json_object_get(msg, "top"), "share", json_object_get(msg, "share"), "seconds",
            json_object_get(msg, "seconds"), "time_ms", json_object_get(msg, "time_ms"));
    }
}

char *bridge_stream_state_json(const bridge_stream *s)
{
    json_t *o =
        json_pack("{s:s,s:s?,s:f,s:b,s:I,s:s,s:O?}", "stream", s->name, "genre",
                  s->genre[0] ? s->genre : NULL, "p", s->p, "silence", s->silence, "since_ms",
                  (json_int_t)s->since_ms, "title", s->title, "track", s->track);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(o);
    return text;
}
