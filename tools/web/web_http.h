/* web_http: genre-web's HTTP server (libmicrohttpd, one event-loop thread):
 * GET / is the kiosk page (tools/web/index.html, embedded at build time),
 * GET /events the Server-Sent Events stream (web_events); anything else is
 * a 404, 405, or libmicrohttpd's own 400/414/431.
 *
 * Who may connect, and for how long, is web_conns' decision: a request
 * beyond a limit gets a 503 with Retry-After, a connection that has not sent
 * its request by the deadline is shut down, and one whose browser stops
 * reading is closed after 30 s without progress. */
#ifndef GENRED_WEB_HTTP_H
#define GENRED_WEB_HTTP_H

#include "web_conns.h"
#include "web_fanout.h"
#include "web_history.h"

#include <stddef.h>

typedef struct web_http web_http_t;

/* Serves on listen_fd (bound and listening; family AF_INET or AF_INET6),
 * which it owns from now on. The limits are lowered, with a log line, to
 * what the process's file limit allows. NULL with a reason. */
web_http_t *web_http_create(int listen_fd, int family, const web_limits *limits,
                            web_fanout_t *fanout, web_history_t *history, char *err,
                            size_t err_len);
/* Deadlines and keep-alives; call about once a second. */
void web_http_tick(web_http_t *h);
/* Ends every stream, stops the server and closes the listening socket. */
void web_http_destroy(web_http_t *h);

/* Requests refused with a 503, connections cut for being slow, and what
 * libmicrohttpd reported (malformed requests and the like). */
void web_http_counts(web_http_t *h, unsigned long *refused, unsigned long *cut,
                     unsigned long *errors);

#endif
