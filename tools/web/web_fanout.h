/* web_fanout: what genre-web has to tell its browsers, however many there
 * are, without ever waiting for one of them.
 *
 * The ZeroMQ thread publishes each message as a finished Server-Sent Events
 * frame into a ring; every browser's event stream holds a cursor (the
 * sequence number of the next frame it wants) and copies frames out under a
 * short lock. A browser that falls a whole ring behind skips ahead (counted),
 * and the ring moves on regardless. The latest frame of each (topic, stream)
 * is also kept, while it is fresh, for a browser that connects between two
 * messages: without it a new page would wait a hop for genre.probs and 5 s
 * for genre.status. Thread-safe. */
#ifndef GENRED_WEB_FANOUT_H
#define GENRED_WEB_FANOUT_H

#include "protocol.h"

#include <stddef.h>
#include <stdint.h>

/* The largest frame: "event: TOPIC\ndata: JSON\n\n", with any message the
 * protocol allows. Memory follows the frames really sent (web_fanout.c). */
enum { WEB_FRAME_MAX = PROTOCOL_MESSAGE_MAX + PROTOCOL_TOPIC_LEN + sizeof "event: \ndata: \n\n" };

typedef struct web_fanout web_fanout_t;

/* Where one browser's event stream is. Set by web_fanout_join. */
typedef struct {
    uint64_t next_seq;  /* the ring frame it wants next */
    uint64_t joined;    /* frames before this one it gets from the cache */
    unsigned cache_pos; /* the next cache entry to consider */
} web_cursor;

/* All memory is taken now. NULL with a reason. */
web_fanout_t *web_fanout_create(char *err, size_t err_len);
void web_fanout_destroy(web_fanout_t *f);

/* Called after every publish, outside the lock, so that event streams
 * waiting for a frame can be woken. Set it before any thread publishes,
 * and clear it (NULL) only after the last one has stopped. */
void web_fanout_set_waker(web_fanout_t *f, void (*wake)(void *ctx), void *ctx);

/* Appends frame (len <= WEB_FRAME_MAX) to the ring at now_ms (monotonic).
 * With fresh_ms > 0 it is also kept as the latest of (topic, stream) and
 * given to browsers that connect within fresh_ms. */
void web_fanout_publish(web_fanout_t *f, const char *topic, const char *stream, int64_t fresh_ms,
                        const char *frame, size_t len, int64_t now_ms);

/* Starts a browser's cursor at the next frame to come. */
void web_fanout_join(web_fanout_t *f, web_cursor *c);

/* Copies the next frame for c into buf: first the fresh cached frames older
 * than the browser, then the ring. 1 with *len set; 0 when there is nothing
 * new; -1 when the frame is larger than cap, with *len the size needed (c
 * is unchanged: grow buf and call again). */
int web_fanout_next(web_fanout_t *f, web_cursor *c, char *buf, size_t cap, size_t *len,
                    int64_t now_ms);

/* Frames published, and frames slow browsers skipped. */
void web_fanout_counts(web_fanout_t *f, unsigned long *published, unsigned long *skipped);

#endif
