#include "handshake_watch.h"

#include "clock.h"
#include "sockopt.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

enum {
    ENDPOINTS_MAX = 32,
    ENDPOINT_LEN = 256,
    POLL_MS = 100,
    /* When CURVE is on one side only, the side that finds out closes the
     * connection, and the other sees a close before (or instead of) the
     * mechanism mismatch. A wrong server key only ever shows as a close, at
     * every retry (about 7 a second). Believe a close once it has gone on
     * this long with nothing else in between. */
    CLOSED_REPEATS = 3,
    CLOSED_MS = 1500
};

/* Why a handshake failed, as far as a subscriber can tell. */
typedef enum {
    FAIL_NONE,
    FAIL_MECHANISM, /* CURVE on one side only */
    FAIL_CLOSED,    /* the publisher hung up mid-handshake: with CURVE, a wrong server key */
    FAIL_REFUSED,   /* the publisher's ZAP handler (allow-list) said no */
    FAIL_PROTOCOL   /* anything else the peer got wrong */
} failure;

struct handshake_watch {
    handshake_watch_info info;
    void *watched;
    void *events; /* PAIR on the monitor endpoint; the thread's own */
    char monitor_endpoint[64];
    pthread_t thread;
    bool running;
    atomic_bool stop;
    atomic_ulong failures;
    /* The thread's own, per endpoint. */
    char endpoint[ENDPOINTS_MAX][ENDPOINT_LEN];
    struct endpoint_state {
        failure logged; /* what was last logged (closes and mismatch as one) */
        failure last;   /* the last failure seen, how often in a row, since when */
        unsigned repeats;
        int64_t since_ms;
    } state[ENDPOINTS_MAX];
    int n_endpoints;
};

static failure classify(uint16_t event, uint32_t value)
{
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) return FAIL_REFUSED;
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) return FAIL_CLOSED;
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
        return value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH ? FAIL_MECHANISM : FAIL_PROTOCOL;
    return FAIL_NONE;
}

/* The state of endpoint; the last one is shared once the table is full. */
static struct endpoint_state *state_of(handshake_watch_t *w, const char *endpoint)
{
    for (int i = 0; i < w->n_endpoints; i++)
        if (!strcmp(w->endpoint[i], endpoint)) return &w->state[i];
    if (w->n_endpoints == ENDPOINTS_MAX) return &w->state[ENDPOINTS_MAX - 1];
    snprintf(w->endpoint[w->n_endpoints], ENDPOINT_LEN, "%s", endpoint);
    w->state[w->n_endpoints] = (struct endpoint_state){.logged = FAIL_NONE, .last = FAIL_NONE};
    return &w->state[w->n_endpoints++];
}

/* What failure f, just seen, tells, or FAIL_NONE when that is no news.
 * Closes and the mismatch are one story: a client without CURVE whose
 * publisher keeps closing is talking to one that requires CURVE, and a
 * CURVE client's closes mean a wrong server key or a plain-text publisher
 * (which one shows as a close or as the mismatch by the luck of timing). */
static failure news(struct endpoint_state *st, failure f, bool curve)
{
    int64_t now = monotonic_ms();
    if (f != st->last) {
        st->last = f;
        st->repeats = 0;
        st->since_ms = now;
    }
    st->repeats++;
    if (f == FAIL_CLOSED && (st->repeats < CLOSED_REPEATS || now - st->since_ms < CLOSED_MS))
        return FAIL_NONE;
    failure told = f == FAIL_CLOSED && !curve ? FAIL_MECHANISM : f;
    failure story = told == FAIL_CLOSED ? FAIL_MECHANISM : told;
    if (story == st->logged) return FAIL_NONE;
    st->logged = story;
    return told;
}

static void explain(const handshake_watch_t *w, failure f, uint32_t value, char *why, size_t len)
{
    const handshake_watch_info *in = &w->info;
    if (f == FAIL_MECHANISM && in->public_key)
        snprintf(why, len,
                 "handshake failed: the publisher does not use CURVE, but %s was given "
                 "(drop it, or give genred a curve_secret_key)",
                 in->server_key_option);
    else if (f == FAIL_MECHANISM)
        snprintf(why, len,
                 "handshake failed: the publisher requires CURVE; give its public key "
                 "(curve.pub) with %s",
                 in->server_key_option);
    else if (f == FAIL_CLOSED)
        snprintf(why, len,
                 "CURVE handshake failed: the publisher hangs up on our hello, so %s is not "
                 "its public key (curve.pub), or it does not use CURVE",
                 in->server_key_option);
    else if (f == FAIL_REFUSED)
        snprintf(why, len,
                 "the publisher refused our CURVE key (ZAP status %u): its curve_allow must "
                 "list our public key %s (%s keeps one key across starts)",
                 (unsigned)value, in->public_key ? in->public_key : "(none)",
                 in->client_key_option);
    else
        snprintf(why, len, "handshake failed: ZMTP protocol error 0x%x (is it a genred?)",
                 (unsigned)value);
}

/* Reads one monitor event (two frames: event and value, then the endpoint)
 * and logs it if it is a new failure. */
static void take_event(handshake_watch_t *w)
{
    uint8_t head[6];
    char endpoint[ENDPOINT_LEN];
    int n = zmq_recv(w->events, head, sizeof head, 0);
    int more = 0;
    size_t more_len = sizeof more;
    zmq_getsockopt(w->events, ZMQ_RCVMORE, &more, &more_len);
    if (!more) return;
    int m = zmq_recv(w->events, endpoint, sizeof endpoint - 1, 0);
    if (n != (int)sizeof head || m < 0) return;
    endpoint[m < (int)sizeof endpoint ? m : (int)sizeof endpoint - 1] = '\0';
    uint16_t event;
    uint32_t value;
    memcpy(&event, head, sizeof event);
    memcpy(&value, head + 2, sizeof value);

    struct endpoint_state *st = state_of(w, endpoint);
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) *st = (struct endpoint_state){0};
    failure f = classify(event, value);
    if (f == FAIL_NONE) return;
    atomic_fetch_add(&w->failures, 1);
    f = news(st, f, w->info.public_key != NULL); /* libzmq retries all the time: say it once */
    if (f == FAIL_NONE) return;
    char why[512], line[1024];
    explain(w, f, value, why, sizeof why);
    snprintf(line, sizeof line, "%s: %s", endpoint, why);
    if (w->info.log_line)
        w->info.log_line(line);
    else
        fprintf(stderr, "%s: %s\n", w->info.prog, line);
}

static void *watch_main(void *arg)
{
    handshake_watch_t *w = arg;
    zmq_pollitem_t item = {.socket = w->events, .events = ZMQ_POLLIN};
    while (!atomic_load(&w->stop))
        if (zmq_poll(&item, 1, POLL_MS) > 0) take_event(w);
    return NULL;
}

handshake_watch_t *handshake_watch_create(void *zmq_ctx, void *socket,
                                          const handshake_watch_info *info, char *err,
                                          size_t err_len)
{
    handshake_watch_t *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, err_len, "handshake watch: out of memory");
        return NULL;
    }
    w->info = *info;
    atomic_init(&w->stop, false);
    atomic_init(&w->failures, 0);
    snprintf(w->monitor_endpoint, sizeof w->monitor_endpoint, "inproc://handshake-watch-%p",
             (void *)w);
    int events = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
    if (zmq_socket_monitor(socket, w->monitor_endpoint, events) == 0) w->watched = socket;
    if (w->watched) w->events = zmq_socket(zmq_ctx, ZMQ_PAIR);
    if (!w->events || sockopt_int(w->events, ZMQ_LINGER, 0) ||
        zmq_connect(w->events, w->monitor_endpoint)) {
        snprintf(err, err_len, "handshake watch: %s", zmq_strerror(zmq_errno()));
        handshake_watch_destroy(w);
        return NULL;
    }
    if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        snprintf(err, err_len, "handshake watch: cannot start its thread");
        handshake_watch_destroy(w);
        return NULL;
    }
    w->running = true;
    return w;
}

unsigned long handshake_watch_failures(const handshake_watch_t *w)
{
    return atomic_load(&((handshake_watch_t *)w)->failures);
}

void handshake_watch_destroy(handshake_watch_t *w)
{
    if (!w) return;
    if (w->running) {
        atomic_store(&w->stop, true);
        pthread_join(w->thread, NULL);
    }
    if (w->events) zmq_close(w->events);
    if (w->watched) zmq_socket_monitor(w->watched, NULL, 0);
    free(w);
}
