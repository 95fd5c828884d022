#include "snapshot_queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct snapshot_queue {
    snapshot_request *ring;
    unsigned head, n, max;
    double budget, bytes_per_s; /* bytes; the bucket holds at most bytes_per_s */
    int64_t refilled_ms;
    uint64_t taken, dropped;
};

snapshot_queue_t *snapshot_queue_create(unsigned max_pending, size_t bytes_per_s, int64_t now_ms)
{
    snapshot_queue_t *q = calloc(1, sizeof *q);
    if (!q) return NULL;
    q->max = max_pending ? max_pending : 1;
    q->ring = calloc(q->max, sizeof *q->ring);
    if (!q->ring) {
        free(q);
        return NULL;
    }
    q->bytes_per_s = q->budget = (double)bytes_per_s;
    q->refilled_ms = now_ms;
    return q;
}

void snapshot_queue_destroy(snapshot_queue_t *q)
{
    if (!q) return;
    free(q->ring);
    free(q);
}

static snapshot_request *at(const snapshot_queue_t *q, unsigned i)
{
    return &q->ring[(q->head + i) % q->max];
}

/* Whether r is the request `subscription` makes (rest: where its prefix
 * starts). */
static int same(const snapshot_request *r, const char *subscription, size_t len, size_t rest)
{
    return r->reply_len == rest && !memcmp(r->reply, subscription, rest) &&
           strlen(r->prefix) == len - rest && !memcmp(r->prefix, subscription + rest, len - rest);
}

/* 1 queued (or already pending), 0 not a snapshot request, -1 dropped. */
static int add(snapshot_queue_t *q, const char *subscription, size_t len)
{
    size_t rest;
    if (!protocol_snapshot_split(subscription, len, &rest)) return 0;
    const char *prefix = subscription + rest;
    /* One not yet begun answers a resubscription too; a begun one might
     * have been sent to a connection that has since gone. */
    for (unsigned i = 0; i < q->n; i++)
        if (!at(q, i)->cursor && same(at(q, i), subscription, len, rest)) return 1;
    if (q->n == q->max) return -1;
    snapshot_request *r = at(q, q->n++);
    memcpy(r->reply, subscription, rest);
    r->reply[rest] = '\0';
    r->reply_len = rest;
    memcpy(r->prefix, prefix, len - rest);
    r->prefix[len - rest] = '\0';
    r->cursor = 0;
    q->taken++;
    return 1;
}

static void cancel(snapshot_queue_t *q, const char *subscription, size_t len)
{
    size_t rest;
    if (!protocol_snapshot_split(subscription, len, &rest)) return;
    unsigned kept = 0;
    for (unsigned i = 0; i < q->n; i++)
        if (!same(at(q, i), subscription, len, rest)) *at(q, kept++) = *at(q, i);
    q->n = kept;
}

int snapshot_queue_take(snapshot_queue_t *q, const void *frame, size_t len)
{
    const char *f = frame;
    if (len < 1 || f[0] > 1) return -1;
    if (f[0] == 0)
        cancel(q, f + 1, len - 1);
    else if (add(q, f + 1, len - 1) < 0)
        q->dropped++;
    return f[0];
}

snapshot_request *snapshot_queue_next(snapshot_queue_t *q, int64_t now_ms)
{
    if (now_ms > q->refilled_ms) {
        q->budget += q->bytes_per_s * (double)(now_ms - q->refilled_ms) / 1000.0;
        if (q->budget > q->bytes_per_s) q->budget = q->bytes_per_s;
        q->refilled_ms = now_ms;
    }
    return q->n && q->budget > 0 ? at(q, 0) : NULL;
}

void snapshot_queue_spend(snapshot_queue_t *q, size_t bytes)
{
    q->budget -= (double)bytes;
}

void snapshot_queue_done(snapshot_queue_t *q)
{
    if (!q->n) return;
    q->head = (q->head + 1) % q->max;
    q->n--;
}

int snapshot_request_wants(const snapshot_request *r, const char *topic)
{
    return !strncmp(topic, r->prefix, strlen(r->prefix));
}

size_t snapshot_request_topic(const snapshot_request *r, const char *topic, char *out, size_t size)
{
    int n = snprintf(out, size, "%s%s", r->reply, topic);
    return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

unsigned snapshot_queue_pending(const snapshot_queue_t *q)
{
    return q->n;
}

uint64_t snapshot_queue_taken(const snapshot_queue_t *q)
{
    return q->taken;
}

uint64_t snapshot_queue_dropped(const snapshot_queue_t *q)
{
    return q->dropped;
}
