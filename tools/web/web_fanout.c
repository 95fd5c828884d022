#include "web_fanout.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    RING_SLOTS = 128, /* frames a browser may lag before skipping ahead */
    CACHE_SLOTS = 32  /* (topic, stream) pairs kept for new browsers */
};

struct frame {
    uint64_t seq;
    size_t len;
    char *text; /* WEB_FRAME_MAX bytes */
};

struct cached {
    bool used;
    uint64_t seq; /* the ring frame it was published as */
    int64_t received_ms, fresh_ms;
    char topic[PROTOCOL_TOPIC_LEN + 1];
    char stream[PROTOCOL_NAME_LEN + 1];
    size_t len;
    char *text; /* WEB_FRAME_MAX bytes */
};

struct web_fanout {
    pthread_mutex_t lock;
    uint64_t next_seq; /* seq the next published frame gets; frames start at 1 */
    struct frame ring[RING_SLOTS];
    struct cached cache[CACHE_SLOTS];
    unsigned long published, skipped;
    void (*wake)(void *ctx);
    void *wake_ctx;
    char *text; /* one allocation for every frame's text */
};

web_fanout_t *web_fanout_create(char *err, size_t err_len)
{
    web_fanout_t *f = calloc(1, sizeof *f);
    /* Pages are only touched as frames fill them, so memory follows the
     * real frame sizes, not this bound. */
    char *text = f ? calloc(RING_SLOTS + CACHE_SLOTS, WEB_FRAME_MAX) : NULL;
    if (!text) {
        snprintf(err, err_len, "out of memory for the event ring");
        free(f);
        return NULL;
    }
    f->text = text;
    for (int i = 0; i < RING_SLOTS; i++)
        f->ring[i].text = text + (size_t)i * WEB_FRAME_MAX;
    for (int i = 0; i < CACHE_SLOTS; i++)
        f->cache[i].text = text + (size_t)(RING_SLOTS + i) * WEB_FRAME_MAX;
    pthread_mutex_init(&f->lock, NULL);
    f->next_seq = 1;
    return f;
}

void web_fanout_destroy(web_fanout_t *f)
{
    if (!f) return;
    pthread_mutex_destroy(&f->lock);
    free(f->text);
    free(f);
}

void web_fanout_set_waker(web_fanout_t *f, void (*wake)(void *ctx), void *ctx)
{
    f->wake = wake;
    f->wake_ctx = ctx;
}

/* Caller holds the lock. Replaces the entry of (topic, stream), else takes a
 * free one or the oldest. */
static void cache_locked(web_fanout_t *f, const char *topic, const char *stream, int64_t fresh_ms,
                         const struct frame *fr, int64_t now_ms)
{
    struct cached *slot = NULL, *oldest = &f->cache[0];
    for (int i = 0; i < CACHE_SLOTS && !slot; i++) {
        struct cached *c = &f->cache[i];
        if (!c->used || (!strcmp(c->topic, topic) && !strcmp(c->stream, stream)))
            slot = c;
        else if (c->received_ms < oldest->received_ms)
            oldest = c;
    }
    if (!slot) slot = oldest;
    slot->used = true;
    slot->seq = fr->seq;
    slot->received_ms = now_ms;
    slot->fresh_ms = fresh_ms;
    snprintf(slot->topic, sizeof slot->topic, "%s", topic);
    snprintf(slot->stream, sizeof slot->stream, "%s", stream);
    memcpy(slot->text, fr->text, fr->len);
    slot->len = fr->len;
}

void web_fanout_publish(web_fanout_t *f, const char *topic, const char *stream, int64_t fresh_ms,
                        const char *frame, size_t len, int64_t now_ms)
{
    if (len > WEB_FRAME_MAX) return;
    pthread_mutex_lock(&f->lock);
    struct frame *fr = &f->ring[f->next_seq % RING_SLOTS];
    memcpy(fr->text, frame, len);
    fr->len = len;
    fr->seq = f->next_seq++;
    if (fresh_ms > 0) cache_locked(f, topic, stream, fresh_ms, fr, now_ms);
    f->published++;
    pthread_mutex_unlock(&f->lock);
    if (f->wake) f->wake(f->wake_ctx);
}

void web_fanout_join(web_fanout_t *f, web_cursor *c)
{
    pthread_mutex_lock(&f->lock);
    c->next_seq = c->joined = f->next_seq;
    c->cache_pos = 0;
    pthread_mutex_unlock(&f->lock);
}

/* Caller holds the lock. The next fresh cached frame published before the
 * browser joined (later ones reach it through the ring), or NULL. */
static const struct cached *next_cached_locked(web_fanout_t *f, web_cursor *c, int64_t now_ms)
{
    for (; c->cache_pos < CACHE_SLOTS; c->cache_pos++) {
        const struct cached *e = &f->cache[c->cache_pos];
        if (e->used && e->seq < c->joined && now_ms - e->received_ms <= e->fresh_ms) return e;
    }
    return NULL;
}

/* Caller holds the lock. The ring frame c wants, skipping what was
 * overwritten; NULL when c is up to date. */
static const struct frame *next_ring_locked(web_fanout_t *f, web_cursor *c)
{
    if (c->next_seq >= f->next_seq) return NULL;
    uint64_t oldest = f->next_seq > RING_SLOTS ? f->next_seq - RING_SLOTS : 1;
    if (c->next_seq < oldest) {
        f->skipped += oldest - c->next_seq;
        c->next_seq = oldest;
    }
    return &f->ring[c->next_seq % RING_SLOTS];
}

int web_fanout_next(web_fanout_t *f, web_cursor *c, char *buf, size_t cap, size_t *len,
                    int64_t now_ms)
{
    pthread_mutex_lock(&f->lock);
    const struct cached *e = next_cached_locked(f, c, now_ms);
    const struct frame *fr = e ? NULL : next_ring_locked(f, c);
    const char *text = e ? e->text : fr ? fr->text : NULL;
    size_t n = e ? e->len : fr ? fr->len : 0;
    int rc = !text ? 0 : n > cap ? -1 : 1;
    if (rc == 1) {
        memcpy(buf, text, n);
        if (e)
            c->cache_pos++;
        else
            c->next_seq++;
    }
    pthread_mutex_unlock(&f->lock);
    *len = n;
    return rc;
}

void web_fanout_counts(web_fanout_t *f, unsigned long *published, unsigned long *skipped)
{
    pthread_mutex_lock(&f->lock);
    *published = f->published;
    *skipped = f->skipped;
    pthread_mutex_unlock(&f->lock);
}
