/* web_conns: who may hold one of genre-web's connections, and for how long.
 *
 * Every connection is in one of three states. "Waiting": connected (or done
 * with a response) and still sending a request; it must finish within the
 * request deadline, and when too many wait, a new connection pushes out the
 * one that has waited longest, so slow or silent clients (slowloris) can
 * delay a browser by milliseconds, never lock it out. "Stream": an open
 * /events stream; at most max_streams, the last local_reserve of them only
 * for loopback peers (the kiosk's own browser). "Busy": any other request
 * being answered. A peer that is not on loopback may have at most
 * per_remote_address streams and requests at once. A request beyond a
 * limit gets a 503.
 *
 * The table only decides; web_http carries out (it shuts connections down
 * and answers 503). Not thread-safe: the caller locks. */
#ifndef GENRED_WEB_CONNS_H
#define GENRED_WEB_CONNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct {
    unsigned max_streams;        /* event streams at once */
    unsigned local_reserve;      /* of those, the last ones only loopback peers get */
    unsigned per_remote_address; /* streams and requests of one address off this machine */
    unsigned waiting_max;        /* connections still sending a request */
    unsigned busy_max;           /* other requests in flight: room kept for them */
    int64_t request_deadline_ms; /* connect (or last response) to a whole request */
} web_limits;

/* The defaults: 1000 streams, 16 of them reserved, 32 per remote address,
 * 256 waiting, 64 busy, 10 s. */
web_limits web_limits_default(void);
/* Connections at most (streams, waiting and busy): the HTTP server's own
 * limit, beyond which it stops accepting until one closes. */
unsigned web_limits_connections(const web_limits *l);

typedef enum { WEB_ADMIT, WEB_STREAMS_FULL, WEB_ADDRESS_FULL } web_admission;

typedef struct web_conns web_conns_t;
typedef struct web_conn web_conn;

/* Room for web_limits_connections(l) connections, allocated now. */
web_conns_t *web_conns_create(const web_limits *l, char *err, size_t err_len);
void web_conns_destroy(web_conns_t *t);

/* A new connection on fd from peer. *evict_fd is the fd of the longest
 * waiting connection to shut down to make room, or -1. NULL when the table
 * is full (shut the new one down). */
web_conn *web_conns_open(web_conns_t *t, int fd, const struct sockaddr *peer, int64_t now_ms,
                         int *evict_fd);
/* Its request has arrived: whether it may be answered, and as an event
 * stream (stream != 0) or a plain response. */
web_admission web_conns_request(web_conns_t *t, web_conn *c, int stream);
/* Its response is complete; it may send another request, within the
 * deadline again. */
void web_conns_response_done(web_conns_t *t, web_conn *c, int64_t now_ms);
void web_conns_close(web_conns_t *t, web_conn *c);

/* Fds of waiting connections past their deadline, at most max into fds;
 * each is given once (it stops counting as waiting). */
size_t web_conns_overdue(web_conns_t *t, int64_t now_ms, int *fds, size_t max);

/* Open event streams, and connections shut down for being slow (deadline
 * or eviction) so far. */
unsigned web_conns_streams(const web_conns_t *t);
unsigned long web_conns_cut(const web_conns_t *t);

#endif
