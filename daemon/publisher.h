/* publisher: the one thread that owns genred's ZeroMQ XPUB socket.
 *
 * ZeroMQ sockets are not thread-safe, so pipelines never touch the XPUB:
 * each gets its own inproc PUSH socket (publisher_connect) and posts
 * messages that this thread forwards. The thread also keeps the last
 * genre.probs of every stream and resends them when a subscription arrives
 * (last-value cache), measures per-stream latency from audio arrival to
 * send, and emits genre.status every status_interval. The protocol itself is
 * documented at the top of publisher.c. */
#ifndef GENRED_PUBLISHER_H
#define GENRED_PUBLISHER_H

#include "config.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct publisher publisher_t;

/* Builds the genre.status body (runs on the publisher thread). */
typedef json_t *(*publisher_status_fn)(publisher_t *p, void *ctx);

/* Binds every endpoint of cfg->publish. NULL with "publish 'EP': reason". */
publisher_t *publisher_create(const genred_config *cfg, char *err, size_t err_len);
void publisher_destroy(publisher_t *p);

/* A PUSH socket for one pipeline; create it before the pipeline thread
 * starts and use it from that thread only. */
void *publisher_connect(publisher_t *p, char *err, size_t err_len);
void publisher_disconnect(void *push);

/* Starts the thread. */
int publisher_start(publisher_t *p, publisher_status_fn status, void *ctx, char *err,
                    size_t err_len);
/* Forwards what pipelines posted so far, then stops the thread. */
void publisher_stop(publisher_t *p);

/* From a pipeline thread. body is a JSON text; arrival_ns (CLOCK_MONOTONIC)
 * is when the audio that completed this message arrived, 0 if none. Never
 * blocks; a message that cannot be queued is counted as dropped. */
void publisher_post(publisher_t *p, void *push, const char *topic, const char *stream,
                    const char *body, int64_t arrival_ns);

/* Whether any subscription has arrived (for --wait-subscriber). */
int publisher_subscribed(const publisher_t *p);
uint64_t publisher_sent(const publisher_t *p);
uint64_t publisher_dropped(const publisher_t *p);

/* Compute latency of `stream` since the previous call, in ms (publisher
 * thread only, i.e. from the status callback). Returns the count of hops;
 * 0 leaves the figures untouched. */
unsigned publisher_take_latency(publisher_t *p, const char *stream, double *p50, double *p99,
                                double *max);

int64_t monotonic_ns(void);
int64_t wallclock_ms(void);

#endif
