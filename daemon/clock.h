/* clock: the daemon's and the tools' one way to read the time.
 *
 * Ages, deadlines and latencies use CLOCK_MONOTONIC, so a wall-clock step
 * never makes a stream look silent or a cache entry stale; only what the
 * protocol shows people (time_ms, started_ms) is wall-clock time. Inline
 * and free of locks and allocation: the audio callback reads the clock
 * through arrivals.c (clock_gettime goes through the vDSO, no syscall). */
#ifndef GENRED_CLOCK_H
#define GENRED_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

static inline int64_t clock_read_ns(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Seconds as a double, for CPU clocks (CLOCK_PROCESS_CPUTIME_ID,
 * CLOCK_THREAD_CPUTIME_ID) and progress lines. */
static inline double clock_read_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static inline int64_t monotonic_ns(void)
{
    return clock_read_ns(CLOCK_MONOTONIC);
}

static inline int64_t monotonic_ms(void)
{
    return clock_read_ns(CLOCK_MONOTONIC) / 1000000;
}

/* For progress lines and benchmarks. */
static inline double monotonic_s(void)
{
    return clock_read_s(CLOCK_MONOTONIC);
}

/* The calling thread's CPU time: what a benchmark on a shared machine
 * measures instead of wall time. */
static inline double thread_cpu_s(void)
{
    return clock_read_s(CLOCK_THREAD_CPUTIME_ID);
}

/* CPU time of all the process's threads. */
static inline double process_cpu_s(void)
{
    return clock_read_s(CLOCK_PROCESS_CPUTIME_ID);
}

static inline int64_t wallclock_ms(void)
{
    return clock_read_ns(CLOCK_REALTIME) / 1000000;
}

static inline void timespec_add_ns(struct timespec *t, int64_t ns)
{
    ns += t->tv_nsec;
    t->tv_sec += (time_t)(ns / 1000000000);
    t->tv_nsec = (long)(ns % 1000000000);
}

/* `ms` from now on clock `id`: the absolute deadline that
 * pthread_cond_timedwait and clock_nanosleep take (the condition variable
 * must wait on the same clock). */
static inline struct timespec timespec_after_ms(clockid_t id, long ms)
{
    struct timespec t;
    clock_gettime(id, &t);
    timespec_add_ns(&t, (int64_t)ms * 1000000);
    return t;
}

/* A condition whose timed waits count on CLOCK_MONOTONIC, as the deadlines
 * timespec_after_ms(CLOCK_MONOTONIC, ...) makes: a wall-clock step does not
 * stretch or cut them. */
static inline void cond_init_monotonic(pthread_cond_t *c)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(c, &attr);
    pthread_condattr_destroy(&attr);
}

#endif
