/* handshake_watch: one clear line when a subscriber cannot get through the
 * ZeroMQ handshake with its publisher.
 *
 * A wrong CURVE server key, CURVE on one side only, and a client key that
 * the publisher's allow-list refuses all look alike from a SUB socket:
 * nothing arrives, and libzmq retries forever. libzmq does tell its socket
 * monitor why (ZMQ_EVENT_HANDSHAKE_FAILED_*), so a thread of the watch's own
 * reads those events and logs the first failure of each kind per endpoint,
 * "ENDPOINT: reason", until a handshake there succeeds. */
#ifndef GENRED_HANDSHAKE_WATCH_H
#define GENRED_HANDSHAKE_WATCH_H

#include <stddef.h>

typedef struct handshake_watch handshake_watch_t;

/* What the log lines name. */
typedef struct {
    const char *prog;              /* "genre-web" */
    const char *server_key_option; /* the option that takes the server key */
    const char *client_key_option; /* the option that takes our secret key */
    const char *public_key;        /* our CURVE public key (Z85); NULL: no CURVE */
    /* Where a line goes (from the watch's thread); NULL: "PROG: LINE" on stderr. */
    void (*log_line)(const char *line);
} handshake_watch_info;

/* Starts watching socket, which must not have connected yet (so the first
 * handshake is seen); info's strings must outlive the watch. NULL with a
 * one-line reason. */
handshake_watch_t *handshake_watch_create(void *zmq_ctx, void *socket,
                                          const handshake_watch_info *info, char *err,
                                          size_t err_len);
/* Handshakes that failed so far (any thread). */
unsigned long handshake_watch_failures(const handshake_watch_t *w);
/* Stops the thread; call before the watched socket is closed. */
void handshake_watch_destroy(handshake_watch_t *w);

#endif
