/* nats_util: what genre-hub's bridge, genre-queue and genre-replay do alike
 * with NATS: connect to a cluster, make sure a JetStream stream exists, and
 * turn genred names into subject tokens. */
#ifndef GENRED_NATS_UTIL_H
#define GENRED_NATS_UTIL_H

#include <nats/nats.h>
#include <stddef.h>

/* Connects to `urls` (comma-separated nats:// URLs of one cluster). With
 * keep_trying, a cluster that is down at start is retried in the background
 * and the connection reconnects forever; without, the first failure is an
 * error. NULL with "nats 'URLS': reason". */
natsConnection *nats_util_connect(const char *urls, const char *name, int keep_trying, char *err,
                                  size_t err_len);

/* A JetStream context whose API calls (stream and consumer set-up, acks
 * waited for) wait up to 30 s, as a cluster electing a leader or a loaded
 * machine answers slowly. o: options to start from, or NULL. NULL with
 * "jetstream: reason". */
jsCtx *nats_util_jetstream(natsConnection *nc, jsOptions *o, char *err, size_t err_len);

typedef struct {
    const char *name;
    const char **subjects;
    int n_subjects;
    int work_queue; /* work-queue retention (a message leaves when acknowledged) */
    int replicas;
    double duplicate_window_s;
} nats_stream_spec;

/* Creates the stream, or accepts an existing one of that name as it is,
 * adding the subjects of spec it does not take yet (a stream an older
 * genre-hub made before genre.track was bridged). 0, or -1 with
 * "stream 'NAME': reason". */
int nats_util_stream(jsCtx *js, const nats_stream_spec *spec, char *err, size_t err_len);

/* A durable pull consumer of `stream` for subjects matching `filter`, with
 * explicit acknowledgements: a message not acknowledged within ack_wait_s is
 * delivered again (to whichever consumer instance fetches next). NULL with
 * "consumer 'DURABLE': reason". */
natsSubscription *nats_util_pull(jsCtx *js, const char *stream, const char *filter,
                                 const char *durable, double ack_wait_s, char *err, size_t err_len);

/* Up to `batch` messages of a pull consumer, waiting at most wait_ms. Asks
 * with no-wait requests (again every 100 ms) rather than one long one, so
 * that a program that stops between calls leaves no request open on the
 * server, which would take messages that then wait out the ack wait.
 * NATS_OK with list filled, NATS_TIMEOUT when none came, or an error. */
natsStatus nats_util_fetch(natsSubscription *sub, natsMsgList *list, int batch, int wait_ms);

/* prefix "." name, where name's '/' become '.' (HOST/STREAM ->
 * HOST.STREAM, so `genre.change.HOST.>` selects a host) and characters a
 * subject token cannot hold ('.', '*', '>', blanks, controls) become '_'.
 * Truncated to fit out. */
void nats_util_subject(char *out, size_t out_len, const char *prefix, const char *name);

/* "reason" of the last NATS error in this thread, for messages. */
const char *nats_util_error(natsStatus s);

#endif
