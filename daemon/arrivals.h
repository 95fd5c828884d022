/* arrivals: what an input's producer tells the stream's worker besides the
 * samples themselves: when each block arrived (so latency is measured from
 * the audio's arrival, not from when the worker got to it), and a wake-up
 * once as much audio is waiting as the worker asked for (so the worker
 * sleeps until a hop's audio is complete instead of polling the ring).
 *
 * One producer (the audio callback or a reader thread) and one consumer
 * (the worker). The producer side is real-time safe: atomics, a
 * clock_gettime (vDSO, no syscall) and, only when the worker asked and the
 * threshold is reached, one write(2) of 8 bytes to a non-blocking eventfd.
 * That write cannot block (EFD_NONBLOCK; the counter is reset by every
 * wait, so it stays far from its 2^64 - 2 limit) and is at most one per
 * wait of the worker: a couple per hop, not one per period. */
#ifndef GENRED_ARRIVALS_H
#define GENRED_ARRIVALS_H

#include <stddef.h>
#include <stdint.h>

typedef struct arrivals arrivals_t;

/* NULL with err set (no eventfd, out of memory). */
arrivals_t *arrivals_create(char *err, size_t err_len);
void arrivals_destroy(arrivals_t *a);

/* Producer, after each push: `total` samples have now been pushed since
 * the start, `readable` are waiting in the ring. */
void arrivals_pushed(arrivals_t *a, uint64_t total, size_t readable);

/* Any thread: wakes the worker whatever it waits for (stop, reload, end of
 * input, a format change). */
void arrivals_kick(arrivals_t *a);

/* Worker: waits until `want` samples (>= 1) are readable, a kick, or
 * timeout_ms. `readable` is the ring's count now, read after this call
 * armed the wake-up, so a push in between is never missed. */
typedef size_t (*arrivals_readable_fn)(void *ctx);
void arrivals_wait(arrivals_t *a, size_t want, arrivals_readable_fn readable, void *ctx,
                   int timeout_ms);

/* Worker: CLOCK_MONOTONIC ns at which sample number `sample` (counted from
 * 1 since the start) was pushed. Calls must ask for non-decreasing samples.
 * A block pushed more than 1024 blocks ago is forgotten (the oldest one
 * remembered stands in); one whose note is not written yet (the worker
 * popped it between the producer's push and its note) arrives now. */
int64_t arrivals_time_of(arrivals_t *a, uint64_t sample);

#endif
