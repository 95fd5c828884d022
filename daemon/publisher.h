/* publisher: the one thread that owns genred's ZeroMQ XPUB socket.
 *
 * ZeroMQ sockets are not thread-safe, so pipelines never touch the XPUB:
 * each gets its own inproc PUSH socket (publisher_connect) and posts
 * messages that this thread forwards. The thread also keeps the last
 * genre.probs and genre.change of every stream and answers snapshot
 * subscriptions with them, to the subscriber that asked only (protocol.h),
 * measures per-stream latency from audio arrival to send, and emits
 * genre.status every status_interval. The protocol itself is documented in
 * messages.h. */
#ifndef GENRED_PUBLISHER_H
#define GENRED_PUBLISHER_H

#include "config.h"
#include "protocol.h"

#include <stddef.h>
#include <stdint.h>

typedef struct publisher publisher_t;
/* One stream's sending end, used by that stream's pipeline thread only. */
typedef struct publisher_stream publisher_stream_t;

/* Builds the genre.status text (runs on the publisher thread); NULL skips
 * one status. */
typedef char *(*publisher_status_fn)(publisher_t *p, void *ctx);

/* Binds every endpoint of cfg->publish. NULL with "publish 'EP': reason". */
publisher_t *publisher_create(const genred_config *cfg, char *err, size_t err_len);
void publisher_destroy(publisher_t *p);

/* An inproc PUSH socket for the stream named `stream`. Connect every stream
 * before publisher_start (the thread reads the stream list without a lock)
 * and use the handle from that stream's thread only. */
publisher_stream_t *publisher_connect(publisher_t *p, const char *stream, char *err,
                                      size_t err_len);
void publisher_disconnect(publisher_stream_t *s);

/* Starts the thread. */
int publisher_start(publisher_t *p, publisher_status_fn status, void *ctx, char *err,
                    size_t err_len);
/* Forwards what pipelines posted so far, then stops the thread. */
void publisher_stop(publisher_t *p);

/* From the stream's pipeline thread: genre.probs or genre.change. body is
 * a JSON text; arrival_ns (CLOCK_MONOTONIC) is when the audio that
 * completed this message arrived, 0 if none. Never blocks; a message that
 * cannot be queued is counted as dropped. */
void publisher_post(publisher_stream_t *s, protocol_topic topic, const char *body,
                    int64_t arrival_ns);

/* Whether any subscription has arrived (for --wait-subscriber). */
int publisher_subscribed(const publisher_t *p);
uint64_t publisher_sent(const publisher_t *p);
uint64_t publisher_dropped(const publisher_t *p);
/* When the publisher was made (wall clock ms): the protocol's started_ms. */
int64_t publisher_started_ms(const publisher_t *p);

/* Compute latency of `stream` since the previous call, in ms (publisher
 * thread only, i.e. from the status callback). Returns the count of hops;
 * 0 leaves the figures untouched. */
unsigned publisher_take_latency(publisher_t *p, const char *stream, double *p50, double *p99,
                                double *max);

#endif
