/* web_events: the /events responses, one per browser, all served by
 * libmicrohttpd's one event-loop thread.
 *
 * A stream first sends the browser's reconnect delay, then each stream's
 * history, the fresh cached messages, and then the fan-out's frames as they
 * come. A stream with nothing to send is parked (its connection suspended,
 * costing no thread and no polling) until the fan-out publishes or a
 * keep-alive comment is due; one whose browser stops reading is left to the
 * server's idle timeout, and never holds anything up. */
#ifndef GENRED_WEB_EVENTS_H
#define GENRED_WEB_EVENTS_H

#include "web_fanout.h"
#include "web_history.h"

#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

typedef struct web_events web_events_t;

/* Registers itself as the fan-out's waker. */
web_events_t *web_events_create(web_fanout_t *fanout, web_history_t *history, char *err,
                                size_t err_len);
/* After web_events_stop and the HTTP server's stop. */
void web_events_destroy(web_events_t *e);

/* A new event stream for conn (from its access handler): a response to
 * queue, or NULL without memory. */
struct MHD_Response *web_events_response(web_events_t *e, struct MHD_Connection *conn);

/* Wakes parked streams whose keep-alive is due; call about once a second. */
void web_events_tick(web_events_t *e, int64_t now_ms);
/* Ends every stream and parks none from now on, so the server can stop
 * (it must not stop with a connection suspended). */
void web_events_stop(web_events_t *e);

#endif
