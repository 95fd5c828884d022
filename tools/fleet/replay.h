/* replay: a durable JetStream consumer of the hub's events. Under one
 * durable name the server remembers what was acknowledged, so a consumer
 * that was down gets, when it comes back, everything it missed, in order,
 * then what arrives live. */
#ifndef GENRED_REPLAY_H
#define GENRED_REPLAY_H

#include <nats/nats.h>
#include <signal.h>
#include <stdio.h>

typedef struct {
    const char *stream;  /* the bridge's JetStream stream */
    const char *filter;  /* e.g. "genre.change.>" */
    const char *durable; /* the consumer's name */
    double idle_exit;    /* s without events before returning; 0 = never */
    long max_events;     /* return after this many; 0 = no limit */
    int reset;           /* delete the durable first: start again from the oldest event */
} replay_options;

/* Prints each event's JSON body as one line (with "subject" added) and
 * acknowledges it once printed and flushed. The count, or -1 with err (one
 * line; a durable that exists with another filter says so and what to do). */
long replay_run(jsCtx *js, const replay_options *o, FILE *out, volatile sig_atomic_t *stop,
                char *err, size_t err_len);

#endif
