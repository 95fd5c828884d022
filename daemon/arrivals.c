#include "arrivals.h"

#include "clock.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Blocks remembered: at JACK's smallest period (16 frames) that is 0.3 s
 * at 48 kHz, at the usual 256-1024 frames 5-20 s; a hop's block is looked
 * up within a few blocks of its arrival. */
#define SLOTS 1024

typedef struct {
    atomic_uint_fast64_t end; /* samples pushed up to the end of this block */
    atomic_int_fast64_t ns;
} slot;

struct arrivals {
    int fd;
    atomic_size_t want;         /* worker's threshold; 0 when not waiting */
    atomic_uint_fast64_t count; /* blocks recorded */
    uint64_t cursor;            /* worker: first block not yet passed */
    slot slots[SLOTS];
};

arrivals_t *arrivals_create(char *err, size_t err_len)
{
    arrivals_t *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    a->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (a->fd < 0) {
        snprintf(err, err_len, "eventfd: %s", strerror(errno));
        free(a);
        return NULL;
    }
    atomic_init(&a->want, 0);
    atomic_init(&a->count, 0);
    return a;
}

void arrivals_destroy(arrivals_t *a)
{
    if (!a) return;
    close(a->fd);
    free(a);
}

static void ring_bell(arrivals_t *a)
{
    uint64_t one = 1;
    /* EAGAIN (counter full) cannot happen in practice and would still
     * leave the counter non-zero, i.e. the worker woken. */
    if (write(a->fd, &one, sizeof one) < 0) {
    }
}

void arrivals_pushed(arrivals_t *a, uint64_t total, size_t readable)
{
    uint64_t i = atomic_load_explicit(&a->count, memory_order_relaxed);
    slot *s = &a->slots[i % SLOTS];
    atomic_store_explicit(&s->end, total, memory_order_relaxed);
    atomic_store_explicit(&s->ns, monotonic_ns(), memory_order_relaxed);
    atomic_store_explicit(&a->count, i + 1, memory_order_release);
    /* Pairs with the fence in arrivals_wait: either the worker sees this
     * push in its re-check, or this sees its threshold. */
    atomic_thread_fence(memory_order_seq_cst);
    size_t want = atomic_load_explicit(&a->want, memory_order_relaxed);
    if (want && readable >= want &&
        atomic_compare_exchange_strong_explicit(&a->want, &want, 0, memory_order_relaxed,
                                                memory_order_relaxed))
        ring_bell(a);
}

void arrivals_kick(arrivals_t *a)
{
    ring_bell(a);
}

void arrivals_wait(arrivals_t *a, size_t want, arrivals_readable_fn readable, void *ctx,
                   int timeout_ms)
{
    atomic_store_explicit(&a->want, want ? want : 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    if (readable(ctx) < want) {
        struct pollfd p = {a->fd, POLLIN, 0};
        poll(&p, 1, timeout_ms);
    }
    atomic_store_explicit(&a->want, 0, memory_order_relaxed);
    uint64_t drained;
    if (read(a->fd, &drained, sizeof drained) < 0) {
        /* EAGAIN: nobody rang */
    }
}

int64_t arrivals_time_of(arrivals_t *a, uint64_t sample)
{
    uint64_t count = atomic_load_explicit(&a->count, memory_order_acquire);
    if (count - a->cursor > SLOTS) a->cursor = count - SLOTS;
    for (; a->cursor < count; a->cursor++) {
        const slot *s = &a->slots[a->cursor % SLOTS];
        uint64_t end = atomic_load_explicit(&s->end, memory_order_relaxed);
        int64_t ns = atomic_load_explicit(&s->ns, memory_order_relaxed);
        /* Seqlock-style check: the slot was not being rewritten while read. */
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&a->count, memory_order_relaxed) - a->cursor >= SLOTS) continue;
        if (end >= sample) return ns;
    }
    /* Popped before its push was noted: it is arriving just now. */
    return monotonic_ns();
}
