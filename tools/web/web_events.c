#include "web_events.h"

#include "clock.h"

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    KEEPALIVE_MS = 10000, /* an SSE comment so idle proxies keep the stream open */
    RETRY_MS = 1000,      /* the EventSource reconnect delay we ask for */
    FIRST_BUFFER = 4096   /* grown to the largest frame this browser was sent */
};

/* One browser's event stream. */
struct client {
    web_events_t *events;
    struct MHD_Connection *conn;
    struct client *prev, *next; /* every open stream, for waking */
    web_cursor cursor;
    int history_index; /* next history slot to send */
    int64_t last_sent_ms;
    int fd;      /* the connection's, to see a browser leave while parked */
    bool parked; /* its connection is suspended */
    bool gone;   /* the browser has closed its end */
    char *buf;   /* the frame being sent */
    size_t cap, len, sent;
};

struct web_events {
    web_fanout_t *fanout;
    web_history_t *history;
    /* Guards the list, every client's parked flag and stopping. Taken
     * before the fan-out's and the history's own locks. */
    pthread_mutex_t lock;
    struct client *clients;
    bool stopping;
    struct pollfd *polls; /* the tick's, one per parked stream */
    size_t polls_cap;
};

static void wake_all(void *ctx);

web_events_t *web_events_create(web_fanout_t *fanout, web_history_t *history, char *err,
                                size_t err_len)
{
    web_events_t *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    e->fanout = fanout;
    e->history = history;
    pthread_mutex_init(&e->lock, NULL);
    web_fanout_set_waker(fanout, wake_all, e);
    return e;
}

void web_events_destroy(web_events_t *e)
{
    if (!e) return;
    web_fanout_set_waker(e->fanout, NULL, NULL);
    pthread_mutex_destroy(&e->lock);
    free(e->polls);
    free(e);
}

/* Caller holds the lock. */
static void resume_locked(struct client *c)
{
    c->parked = false;
    MHD_resume_connection(c->conn);
}

static void wake_all(void *ctx)
{
    web_events_t *e = ctx;
    pthread_mutex_lock(&e->lock);
    for (struct client *c = e->clients; c; c = c->next)
        if (c->parked) resume_locked(c);
    pthread_mutex_unlock(&e->lock);
}

/* Caller holds the lock. A suspended connection is not watched by the
 * server, so a browser that leaves would hold its stream until the next
 * frame or keep-alive: look at the parked streams' sockets (without
 * reading) and end those whose browser has hung up. */
static void end_departed_locked(web_events_t *e)
{
    size_t n = 0;
    for (struct client *c = e->clients; c; c = c->next)
        n += c->parked;
    if (n > e->polls_cap) {
        struct pollfd *bigger = realloc(e->polls, n * sizeof *bigger);
        if (!bigger) return;
        e->polls = bigger;
        e->polls_cap = n;
    }
    n = 0;
    for (struct client *c = e->clients; c; c = c->next)
        if (c->parked) e->polls[n++] = (struct pollfd){.fd = c->fd, .events = POLLRDHUP};
    if (n == 0 || poll(e->polls, n, 0) <= 0) return;
    n = 0;
    for (struct client *c = e->clients; c; c = c->next) {
        if (!c->parked) continue;
        if (e->polls[n++].revents & (POLLRDHUP | POLLHUP | POLLERR)) {
            c->gone = true;
            resume_locked(c);
        }
    }
}

void web_events_tick(web_events_t *e, int64_t now_ms)
{
    pthread_mutex_lock(&e->lock);
    end_departed_locked(e);
    for (struct client *c = e->clients; c; c = c->next)
        if (c->parked && now_ms - c->last_sent_ms >= KEEPALIVE_MS) resume_locked(c);
    pthread_mutex_unlock(&e->lock);
}

void web_events_stop(web_events_t *e)
{
    pthread_mutex_lock(&e->lock);
    e->stopping = true;
    for (struct client *c = e->clients; c; c = c->next)
        if (c->parked) resume_locked(c);
    pthread_mutex_unlock(&e->lock);
}

static bool grow(struct client *c, size_t need)
{
    if (need <= c->cap) return true;
    char *bigger = realloc(c->buf, need);
    if (!bigger) return false;
    c->buf = bigger;
    c->cap = need;
    return true;
}

static void set_text(struct client *c, const char *text, size_t len)
{
    memcpy(c->buf, text, len);
    c->len = len;
    c->sent = 0;
}

/* The next stream's history into c->buf: 1 with *len set, 0 when every
 * stream's has been sent, -1 without memory. */
static int next_history(struct client *c, int64_t now_ms, size_t *len)
{
    while (c->history_index < WEB_HISTORY_STREAMS) {
        int rc =
            web_history_frame(c->events->history, c->history_index, now_ms, c->buf, c->cap, len);
        if (rc < 0 && !grow(c, *len)) return -1;
        if (rc < 0) continue;
        c->history_index++;
        if (rc > 0) return 1;
    }
    return 0;
}

/* The fan-out's next frame into c->buf: 1 with *len set, 0 when there is
 * none yet, -1 without memory. */
static int next_frame(struct client *c, int64_t now_ms, size_t *len)
{
    int rc;
    while ((rc = web_fanout_next(c->events->fanout, &c->cursor, c->buf, c->cap, len, now_ms)) < 0)
        if (!grow(c, *len)) return -1;
    return rc;
}

/* Caller holds the lock. Puts what is next for the browser in c->buf: 1, or
 * 0 when there is nothing to send, -1 without memory. */
static int fill_locked(struct client *c, int64_t now_ms)
{
    size_t len = 0;
    int rc = next_history(c, now_ms, &len);
    if (rc == 0) rc = next_frame(c, now_ms, &len);
    if (rc == 0 && now_ms - c->last_sent_ms >= KEEPALIVE_MS) {
        static const char keepalive[] = ": keep-alive\n\n";
        set_text(c, keepalive, sizeof keepalive - 1);
        return 1;
    }
    if (rc == 1) {
        c->len = len;
        c->sent = 0;
    }
    return rc;
}

static ssize_t read_events(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    struct client *c = cls;
    web_events_t *e = c->events;
    int64_t now = monotonic_ms();
    if (c->sent == c->len) {
        pthread_mutex_lock(&e->lock);
        int more = e->stopping || c->gone ? -1 : fill_locked(c, now);
        if (more == 0) {
            /* Under the lock a publish cannot slip between "nothing new"
             * and parking: its wake-up waits for the lock, then resumes. */
            c->parked = true;
            MHD_suspend_connection(c->conn);
        }
        pthread_mutex_unlock(&e->lock);
        if (more < 0) return MHD_CONTENT_READER_END_OF_STREAM;
        if (more == 0) return 0;
    }
    size_t n = c->len - c->sent;
    if (n > max) n = max;
    memcpy(out, c->buf + c->sent, n);
    c->sent += n;
    c->last_sent_ms = now;
    return (ssize_t)n;
}

static void free_client(void *cls)
{
    struct client *c = cls;
    web_events_t *e = c->events;
    pthread_mutex_lock(&e->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        e->clients = c->next;
    if (c->next) c->next->prev = c->prev;
    pthread_mutex_unlock(&e->lock);
    free(c->buf);
    free(c);
}

static struct client *client_create(web_events_t *e, struct MHD_Connection *conn)
{
    struct client *c = calloc(1, sizeof *c);
    char *buf = c ? malloc(FIRST_BUFFER) : NULL;
    if (!buf) {
        free(c);
        return NULL;
    }
    const union MHD_ConnectionInfo *fd =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    c->events = e;
    c->conn = conn;
    c->fd = fd ? fd->connect_fd : -1;
    c->buf = buf;
    c->cap = FIRST_BUFFER;
    c->len = (size_t)snprintf(c->buf, c->cap, "retry: %d\n\n", RETRY_MS);
    c->last_sent_ms = monotonic_ms();
    web_fanout_join(e->fanout, &c->cursor);
    pthread_mutex_lock(&e->lock);
    c->next = e->clients;
    if (c->next) c->next->prev = c;
    e->clients = c;
    pthread_mutex_unlock(&e->lock);
    return c;
}

struct MHD_Response *web_events_response(web_events_t *e, struct MHD_Connection *conn)
{
    struct client *c = client_create(e, conn);
    if (!c) return NULL;
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, read_events, c, free_client);
    if (!r) {
        free_client(c);
        return NULL;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    return r;
}
