/* ring: lock-free single-producer/single-consumer ring of float samples.
 *
 * The producer is an audio callback: ring_push never blocks, allocates or
 * makes a syscall. A block that does not fit whole is dropped and counted
 * rather than split, so the consumer never sees a torn block and the callback
 * never waits. Exactly one thread may push and exactly one may pop. */
#ifndef GENRED_RING_H
#define GENRED_RING_H

#include <stddef.h>
#include <stdint.h>

typedef struct ring ring_t;

/* Capacity is rounded up to a power of two; NULL on failure or size 0. */
ring_t *ring_create(size_t min_capacity);
void ring_destroy(ring_t *ring);

/* Producer side. Returns n on success, 0 if the block was dropped. */
size_t ring_push(ring_t *ring, const float *samples, size_t n);

/* Consumer side. Copies up to max samples out; returns how many. */
size_t ring_pop(ring_t *ring, float *out, size_t max);

/* Samples ready to pop (consumer side), and free space (producer side). */
size_t ring_readable(const ring_t *ring);
size_t ring_writable(const ring_t *ring);
size_t ring_capacity(const ring_t *ring);

/* Blocks and samples dropped because the ring was full; readable from any
 * thread. */
uint64_t ring_overruns(const ring_t *ring);
uint64_t ring_dropped_samples(const ring_t *ring);

#endif
