#include "ring.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Producer- and consumer-owned counters live on separate cache lines so the
 * two threads do not bounce one line between cores on every block. */
#define CACHE_LINE 64

struct ring {
    alignas(CACHE_LINE) atomic_size_t head; /* written by producer only */
    atomic_uint_fast64_t overruns;
    atomic_uint_fast64_t dropped;
    alignas(CACHE_LINE) atomic_size_t tail; /* written by consumer only */
    alignas(CACHE_LINE) size_t mask;
    float *data;
};

ring_t *ring_create(size_t min_capacity)
{
    if (min_capacity == 0 || min_capacity > ((size_t)1 << 40)) return NULL;
    size_t cap = 1;
    while (cap < min_capacity)
        cap <<= 1;

    ring_t *r = aligned_alloc(CACHE_LINE, sizeof *r);
    if (!r) return NULL;
    memset(r, 0, sizeof *r);
    r->data = calloc(cap, sizeof *r->data);
    if (!r->data) {
        free(r);
        return NULL;
    }
    r->mask = cap - 1;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->overruns, 0);
    atomic_init(&r->dropped, 0);
    return r;
}

void ring_destroy(ring_t *r)
{
    if (!r) return;
    free(r->data);
    free(r);
}

/* Copy n samples between linear memory and the ring starting at index pos,
 * wrapping once at most. */
static void copy_in(ring_t *r, size_t pos, const float *src, size_t n)
{
    size_t at = pos & r->mask, first = r->mask + 1 - at;
    if (first > n) first = n;
    memcpy(r->data + at, src, first * sizeof *src);
    memcpy(r->data, src + first, (n - first) * sizeof *src);
}

static void copy_out(const ring_t *r, size_t pos, float *dst, size_t n)
{
    size_t at = pos & r->mask, first = r->mask + 1 - at;
    if (first > n) first = n;
    memcpy(dst, r->data + at, first * sizeof *dst);
    memcpy(dst + first, r->data, (n - first) * sizeof *dst);
}

size_t ring_push(ring_t *r, const float *samples, size_t n)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (n > r->mask + 1 - (head - tail)) {
        atomic_fetch_add_explicit(&r->overruns, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&r->dropped, n, memory_order_relaxed);
        return 0;
    }
    copy_in(r, head, samples, n);
    atomic_store_explicit(&r->head, head + n, memory_order_release);
    return n;
}

size_t ring_pop(ring_t *r, float *out, size_t max)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    size_t n = head - tail;
    if (n > max) n = max;
    copy_out(r, tail, out, n);
    atomic_store_explicit(&r->tail, tail + n, memory_order_release);
    return n;
}

size_t ring_readable(const ring_t *r)
{
    return atomic_load_explicit(&r->head, memory_order_acquire) -
           atomic_load_explicit(&r->tail, memory_order_relaxed);
}

size_t ring_writable(const ring_t *r)
{
    return r->mask + 1 -
           (atomic_load_explicit(&r->head, memory_order_relaxed) -
            atomic_load_explicit(&r->tail, memory_order_acquire));
}

size_t ring_capacity(const ring_t *r)
{
    return r->mask + 1;
}

uint64_t ring_overruns(const ring_t *r)
{
    return atomic_load_explicit(&r->overruns, memory_order_relaxed);
}

uint64_t ring_dropped_samples(const ring_t *r)
{
    return atomic_load_explicit(&r->dropped, memory_order_relaxed);
}
