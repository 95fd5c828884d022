/* arrivals: arrival times per block, and a wake-up that is never lost and
 * never early, between a real producer thread and a waiting consumer. */
#include "arrivals.h"
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void sleep_us(long us)
{
    struct timespec t = {0, us * 1000};
    nanosleep(&t, NULL);
}

/* Each block's time lies between the clock just before and just after its
 * push; a sample maps to the block that holds it. */
static void test_times(void)
{
    char err[128];
    arrivals_t *a = arrivals_create(err, sizeof err);
    REQUIRE(a);
    int64_t before[3], after[3];
    for (int k = 0; k < 3; k++) {
        before[k] = now_ns();
        arrivals_pushed(a, (uint64_t)(k + 1) * 100, 0);
        after[k] = now_ns();
        sleep_us(2000);
    }
    const uint64_t samples[] = {1, 100, 101, 250, 300};
    const int block[] = {0, 0, 1, 2, 2};
    for (int i = 0; i < 5; i++) {
        int64_t t = arrivals_time_of(a, samples[i]);
        CHECK(t >= before[block[i]] && t <= after[block[i]]);
    }
    /* Not noted yet: arriving now. */
    int64_t t0 = now_ns(), t = arrivals_time_of(a, 301);
    CHECK(t >= t0 && t <= now_ns());

    /* After 2000 more blocks the early ones are forgotten: the oldest
     * remembered stands in, later than the real arrival, never 0. */
    for (int k = 0; k < 2000; k++)
        arrivals_pushed(a, 400 + (uint64_t)k, 0);
    CHECK(arrivals_time_of(a, 350) >= after[2]);
    arrivals_destroy(a);
}

typedef struct {
    arrivals_t *a;
    atomic_size_t readable;
    atomic_bool done;
    size_t step;
    long pause_us;
} producer;

static size_t readable_of(void *ctx)
{
    return atomic_load(&((producer *)ctx)->readable);
}

static void *produce(void *arg)
{
    producer *p = arg;
    uint64_t total = 0;
    while (!atomic_load(&p->done)) {
        total += p->step;
        size_t now = atomic_fetch_add(&p->readable, p->step) + p->step;
        arrivals_pushed(p->a, total, now);
        if (p->pause_us) sleep_us(p->pause_us);
    }
    return NULL;
}

/* The consumer asks for 1000 samples while 100 arrive every 0.5 ms: it
 * wakes with at least 1000 waiting, well before its timeout. */
static void test_threshold(void)
{
    char err[128];
    producer p = {arrivals_create(err, sizeof err), 0, false, 100, 500};
    REQUIRE(p.a);
    pthread_t t;
    REQUIRE(!pthread_create(&t, NULL, produce, &p));
    for (int i = 0; i < 20; i++) {
        atomic_store(&p.readable, 0); /* the consumer "pops" everything */
        int64_t start = now_ns();
        arrivals_wait(p.a, 1000, readable_of, &p, 2000);
        CHECK(atomic_load(&p.readable) >= 1000);
        CHECK(now_ns() - start < 1000000000LL);
    }
    atomic_store(&p.done, true);
    pthread_join(t, NULL);
    arrivals_destroy(p.a);
}

/* Ping-pong: for each round the consumer asks for one more sample and the
 * producer pushes exactly that one at a random moment around the
 * consumer's arming, then stops. A lost wake-up would leave the consumer
 * waiting into its timeout. */
typedef struct {
    arrivals_t *a;
    atomic_size_t readable;
    atomic_int turn;
    int rounds;
} pingpong;

static size_t pingpong_readable(void *ctx)
{
    return atomic_load(&((pingpong *)ctx)->readable);
}

static void *pong(void *arg)
{
    pingpong *p = arg;
    unsigned seed = 1;
    for (int i = 1; i <= p->rounds; i++) {
        while (atomic_load(&p->turn) < i)
            ;
        seed = seed * 1103515245u + 12345u;
        for (volatile unsigned spin = (seed >> 16) % 2000; spin; spin--)
            ;
        atomic_store(&p->readable, (size_t)i);
        arrivals_pushed(p->a, (uint64_t)i, (size_t)i);
    }
    return NULL;
}

static void test_no_lost_wakeup(void)
{
    char err[128];
    pingpong p = {arrivals_create(err, sizeof err), 0, 0, 600};
    REQUIRE(p.a);
    pthread_t t;
    REQUIRE(!pthread_create(&t, NULL, pong, &p));
    int slow = 0;
    unsigned seed = 7;
    for (int i = 1; i <= p.rounds; i++) {
        atomic_store(&p.turn, i);
        /* The push lands before, during or after the arming: a sleep lets
         * the producer run first even on a busy single core. */
        seed = seed * 1103515245u + 12345u;
        if (i % 3 == 0)
            sleep_us(100);
        else
            for (volatile unsigned spin = (seed >> 16) % 2000; spin; spin--)
                ;
        int64_t start = now_ns();
        arrivals_wait(p.a, (size_t)i, pingpong_readable, &p, 3000);
        /* A lost wake-up runs into the timeout; a busy machine may delay a
         * real one, but not by seconds. */
        slow += now_ns() - start > 2900000000LL;
        if (pingpong_readable(&p) < (size_t)i) {
            /* woken by a stale bell of an earlier round: wait again */
            arrivals_wait(p.a, (size_t)i, pingpong_readable, &p, 3000);
        }
        CHECK(pingpong_readable(&p) >= (size_t)i);
    }
    CHECK(slow == 0);
    pthread_join(t, NULL);
    arrivals_destroy(p.a);
}

/* A kick ends a wait that nothing else would end, also one made before
 * the wait began. */
static void test_kick(void)
{
    char err[128];
    producer p = {arrivals_create(err, sizeof err), 0, false, 1, 0};
    REQUIRE(p.a);
    arrivals_kick(p.a);
    int64_t start = now_ns();
    arrivals_wait(p.a, 10, readable_of, &p, 3000);
    CHECK(now_ns() - start < 1000000000LL);
    /* Consumed: the next wait times out. */
    start = now_ns();
    arrivals_wait(p.a, 10, readable_of, &p, 50);
    CHECK(now_ns() - start >= 40000000LL);
    arrivals_destroy(p.a);
}

int main(void)
{
    test_times();
    test_threshold();
    test_no_lost_wakeup();
    test_kick();
    return check_report("test_arrivals");
}
