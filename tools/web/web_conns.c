#include "web_conns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { FREE, WAITING, BUSY, STREAM, CUT } conn_state;

struct web_conn {
    conn_state state;
    int fd;
    bool local;             /* the peer is on loopback */
    unsigned char addr[16]; /* the peer's address (IPv4 in the first 4 bytes) */
    int64_t since_ms;       /* when it started waiting */
};

struct web_conns {
    web_limits limits;
    web_conn *conn;
    unsigned capacity;
    unsigned waiting, streams;
    unsigned long cut;
};

web_limits web_limits_default(void)
{
    return (web_limits){.max_streams = 1000,
                        .local_reserve = 16,
                        .per_remote_address = 32,
                        .waiting_max = 256,
                        .busy_max = 64,
                        .request_deadline_ms = 10000};
}

unsigned web_limits_connections(const web_limits *l)
{
    return l->max_streams + l->waiting_max + l->busy_max;
}

web_conns_t *web_conns_create(const web_limits *l, char *err, size_t err_len)
{
    web_conns_t *t = calloc(1, sizeof *t);
    /* Connections cut for being slow stay until the server has closed them:
     * room for one waiting list of those as well. */
    unsigned capacity = web_limits_connections(l) + l->waiting_max;
    web_conn *conn = t ? calloc(capacity, sizeof *conn) : NULL;
    if (!conn) {
        snprintf(err, err_len, "out of memory for %u connections", capacity);
        free(t);
        return NULL;
    }
    t->limits = *l;
    t->conn = conn;
    t->capacity = capacity;
    return t;
}

void web_conns_destroy(web_conns_t *t)
{
    if (!t) return;
    free(t->conn);
    free(t);
}

/* Fills c's address from peer; IPv4-mapped IPv6 counts as the IPv4 address. */
static void note_peer(web_conn *c, const struct sockaddr *peer)
{
    memset(c->addr, 0, sizeof c->addr);
    c->local = false;
    if (peer && peer->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)peer;
        memcpy(c->addr, &in->sin_addr, 4);
        c->local = c->addr[0] == 127;
    } else if (peer && peer->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)peer)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            memcpy(c->addr, a->s6_addr + 12, 4);
            c->local = c->addr[0] == 127;
        } else {
            memcpy(c->addr, a->s6_addr, 16);
            c->local = IN6_IS_ADDR_LOOPBACK(a);
        }
    } else if (peer && peer->sa_family == AF_UNIX) {
        c->local = true;
    }
}

static web_conn *longest_waiting(web_conns_t *t)
{
    web_conn *oldest = NULL;
    for (unsigned i = 0; i < t->capacity; i++)
        if (t->conn[i].state == WAITING && (!oldest || t->conn[i].since_ms < oldest->since_ms))
            oldest = &t->conn[i];
    return oldest;
}

static void cut(web_conns_t *t, web_conn *c)
{
    t->waiting--;
    t->cut++;
    c->state = CUT;
}

web_conn *web_conns_open(web_conns_t *t, int fd, const struct sockaddr *peer, int64_t now_ms,
                         int *evict_fd)
{
    *evict_fd = -1;
    web_conn *c = NULL;
    for (unsigned i = 0; i < t->capacity && !c; i++)
        if (t->conn[i].state == FREE) c = &t->conn[i];
    if (!c) return NULL;
    if (t->waiting >= t->limits.waiting_max) {
        web_conn *oldest = longest_waiting(t);
        if (oldest) {
            *evict_fd = oldest->fd;
            cut(t, oldest);
        }
    }
    note_peer(c, peer);
    c->fd = fd;
    c->state = WAITING;
    c->since_ms = now_ms;
    t->waiting++;
    return c;
}

/* Requests being answered and streams of c's peer, c's own aside. Waiting
 * connections do not count: they are bounded by the deadline and the
 * push-out already. */
static unsigned admitted_from(const web_conns_t *t, const web_conn *c)
{
    unsigned n = 0;
    for (unsigned i = 0; i < t->capacity; i++) {
        const web_conn *o = &t->conn[i];
        if (o != c && (o->state == BUSY || o->state == STREAM) &&
            !memcmp(o->addr, c->addr, sizeof c->addr))
            n++;
    }
    return n;
}

web_admission web_conns_request(web_conns_t *t, web_conn *c, int stream)
{
    const web_limits *l = &t->limits;
    if (!c->local && admitted_from(t, c) >= l->per_remote_address) return WEB_ADDRESS_FULL;
    unsigned stream_room = c->local || l->max_streams < l->local_reserve
                               ? l->max_streams
                               : l->max_streams - l->local_reserve;
    if (stream && t->streams >= stream_room) return WEB_STREAMS_FULL;
    if (c->state == WAITING) t->waiting--;
    if (c->state == STREAM) t->streams--;
    c->state = stream ? STREAM : BUSY;
    if (stream) t->streams++;
    return WEB_ADMIT;
}

void web_conns_response_done(web_conns_t *t, web_conn *c, int64_t now_ms)
{
    if (c->state == CUT || c->state == WAITING) return;
    if (c->state == STREAM) t->streams--;
    c->state = WAITING;
    c->since_ms = now_ms;
    t->waiting++;
}

void web_conns_close(web_conns_t *t, web_conn *c)
{
    if (c->state == WAITING) t->waiting--;
    if (c->state == STREAM) t->streams--;
    c->state = FREE;
}

size_t web_conns_overdue(web_conns_t *t, int64_t now_ms, int *fds, size_t max)
{
    size_t n = 0;
    for (unsigned i = 0; i < t->capacity && n < max; i++) {
        web_conn *c = &t->conn[i];
        if (c->state == WAITING && now_ms - c->since_ms > t->limits.request_deadline_ms) {
            fds[n++] = c->fd;
            cut(t, c);
        }
    }
    return n;
}

unsigned web_conns_streams(const web_conns_t *t)
{
    return t->streams;
}

unsigned long web_conns_cut(const web_conns_t *t)
{
    return t->cut;
}
