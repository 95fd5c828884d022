#include "web_history.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    SEGMENTS = 256,    /* runs of one top label, per stream */
    SEGMENT_TEXT = 64, /* "[start,end,top]," at most */
    FRAME_HEAD = 128   /* the event line and the fixed JSON around the lists */
};

/* What the page's strip shows, and its "no signal" time. */
static const int64_t history_ms = 5 * 60 * 1000;
static const int64_t history_gap_ms = 3000;

struct segment {
    int64_t start_ms, end_ms; /* monotonic */
    int top;                  /* index into labels; -1 for silence */
};

struct stream_history {
    bool used;
    int64_t last_ms;
    char stream_json[WEB_STREAM_JSON_MAX];
    char labels_json[WEB_LABELS_JSON_MAX];
    unsigned head, count;
    struct segment seg[SEGMENTS];
};

struct web_history {
    pthread_mutex_t lock;
    struct stream_history streams[WEB_HISTORY_STREAMS];
};

web_history_t *web_history_create(char *err, size_t err_len)
{
    web_history_t *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, err_len, "out of memory for the history");
        return NULL;
    }
    pthread_mutex_init(&h->lock, NULL);
    return h;
}

void web_history_destroy(web_history_t *h)
{
    if (!h) return;
    pthread_mutex_destroy(&h->lock);
    free(h);
}

/* Caller holds the lock. The slot of a stream, else a free one, else the one
 * heard from least recently (marked unused). */
static struct stream_history *slot_locked(web_history_t *h, const char *stream_json)
{
    struct stream_history *stalest = &h->streams[0];
    for (int i = 0; i < WEB_HISTORY_STREAMS; i++) {
        struct stream_history *s = &h->streams[i];
        if (s->used && strcmp(s->stream_json, stream_json) == 0) return s;
        if (!s->used || (stalest->used && s->last_ms < stalest->last_ms)) stalest = s;
    }
    stalest->used = false;
    return stalest;
}

void web_history_record(web_history_t *h, const char *stream_json, const char *labels_json, int top,
                        int64_t now_ms)
{
    if (strlen(stream_json) >= WEB_STREAM_JSON_MAX || strlen(labels_json) >= WEB_LABELS_JSON_MAX)
        return;
    pthread_mutex_lock(&h->lock);
    struct stream_history *s = slot_locked(h, stream_json);
    if (!s->used || strcmp(s->labels_json, labels_json) != 0) {
        *s = (struct stream_history){.used = true};
        snprintf(s->stream_json, sizeof s->stream_json, "%s", stream_json);
        snprintf(s->labels_json, sizeof s->labels_json, "%s", labels_json);
    }
    struct segment *last = s->count ? &s->seg[(s->head + s->count - 1) % SEGMENTS] : NULL;
    bool continuous = last && now_ms - last->end_ms <= history_gap_ms;
    if (continuous && last->top == top) {
        last->end_ms = now_ms;
    } else {
        if (s->count == SEGMENTS) {
            s->head = (s->head + 1) % SEGMENTS;
            s->count--;
        }
        int64_t start = continuous ? last->end_ms : now_ms;
        s->seg[(s->head + s->count++) % SEGMENTS] =
            (struct segment){.start_ms = start, .end_ms = now_ms, .top = top};
    }
    s->last_ms = now_ms;
    pthread_mutex_unlock(&h->lock);
}

/* Caller holds the lock and has checked that cap is enough. */
static size_t format_locked(const struct stream_history *s, int64_t now_ms, char *buf, size_t cap)
{
    int n = snprintf(buf, cap,
                     "event: genre-web.history\ndata: {\"v\":1,\"stream\":%s,\"labels\":%s,"
                     "\"segments\":[",
                     s->stream_json, s->labels_json);
    size_t len = (size_t)n;
    const char *sep = "";
    for (unsigned i = 0; i < s->count; i++) {
        const struct segment *g = &s->seg[(s->head + i) % SEGMENTS];
        if (now_ms - g->end_ms > history_ms) continue;
        len += (size_t)snprintf(buf + len, cap - len, "%s[%lld,%lld,%d]", sep,
                                (long long)(now_ms - g->start_ms), (long long)(now_ms - g->end_ms),
                                g->top);
        sep = ",";
    }
    len += (size_t)snprintf(buf + len, cap - len, "]}\n\n");
    return len;
}

int web_history_frame(web_history_t *h, int index, int64_t now_ms, char *buf, size_t cap,
                      size_t *len)
{
    if (index < 0 || index >= WEB_HISTORY_STREAMS) return 0;
    pthread_mutex_lock(&h->lock);
    const struct stream_history *s = &h->streams[index];
    int rc = 0;
    if (s->used && now_ms - s->last_ms <= history_ms) {
        size_t need = FRAME_HEAD + strlen(s->stream_json) + strlen(s->labels_json) +
                      (size_t)s->count * SEGMENT_TEXT;
        rc = need > cap ? -1 : 1;
        *len = rc < 0 ? need : format_locked(s, now_ms, buf, cap);
    }
    pthread_mutex_unlock(&h->lock);
    return rc;
}
