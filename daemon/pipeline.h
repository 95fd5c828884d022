/* pipeline: one stream's worker thread.
 *
 * Pops the input's ring, runs the front-end, classifies the window every
 * `hop` seconds of audio (counted in model-rate samples, so the rate is
 * exact whatever the wall clock does), smooths, detects silence and genre
 * changes, and posts genre.probs / genre.change to the publisher. It is not
 * real-time: it may allocate (on reload or a format change). On an empty
 * ring it sleeps until the input wakes it with enough audio for the next
 * hop (see input_wait), rather than polling. */
#ifndef GENRED_PIPELINE_H
#define GENRED_PIPELINE_H

#include "config.h"
#include "input.h"
#include "model.h"
#include "tracker.h"

#include <stdatomic.h>
#include <stdint.h>

/* A model shared read-only by every stream; freed with its last holder, so a
 * reload can swap models while other streams still use the old one. */
typedef struct publisher publisher_t;

typedef struct {
    model_t *model;
    atomic_int refs;
} model_ref;

model_ref *model_ref_new(model_t *m); /* takes ownership; one reference */
model_ref *model_ref_hold(model_ref *r);
void model_ref_release(model_ref *r);

typedef struct {
    tracker_settings tracker; /* its hop is also the stream's hop */
    int print;                /* --print: a human line per hop on stdout */
} pipeline_settings;

typedef struct {
    const char *name;
    input_t *input;
    publisher_t *publisher;
    model_ref *model; /* the pipeline takes its own reference */
    pipeline_settings settings;
} pipeline_options;

typedef struct {
    const char *state; /* the input's state name; "waiting" too while stalled */
    double stalled_s;  /* s since the last audio of an input that says it is
                          running, once that is STALL_HOPS hops (0: not stalled) */
    double rate;
    unsigned channels;
    uint64_t position, hops;
    int have_level, silence, have_top;
    double level_dbfs, p;
    char top[MODEL_MAX_LABEL_LEN + 1];
    char title[INPUT_TITLE_LEN]; /* the song playing, "" when none is named */
    uint64_t overruns, overrun_samples, nonfinite;
    int64_t heartbeat_ns; /* CLOCK_MONOTONIC of the worker's last loop (while it
                             sleeps over 0.5 s for a hop's audio, that much later) */
    int audio_seen;       /* some audio has been processed */
    int finished;         /* input ended and everything was processed */
} pipeline_stats;

typedef struct pipeline pipeline_t;

/* Builds the front-end, classifier and smoother. NULL with err set. */
pipeline_t *pipeline_create(const pipeline_options *opt, char *err, size_t err_len);
int pipeline_start(pipeline_t *p, char *err, size_t err_len);
/* Asks the worker to stop without waiting, so that many streams stop
 * together; pipeline_stop then joins it. */
void pipeline_request_stop(pipeline_t *p);
/* Stops and joins the worker (it is woken at once). */
void pipeline_stop(pipeline_t *p);
void pipeline_destroy(pipeline_t *p);

/* Checks that a model can drive this pipeline and builds what it needs, so a
 * reload fails before anything is swapped. 0, or -1 with err set. */
int pipeline_prepare_reload(pipeline_t *p, model_ref *model, const pipeline_settings *s, char *err,
                            size_t err_len);
/* Hands the prepared model and settings to the worker, which takes them at
 * its next loop. */
void pipeline_commit_reload(pipeline_t *p);
void pipeline_abort_reload(pipeline_t *p);

void pipeline_get_stats(pipeline_t *p, pipeline_stats *out);
const char *pipeline_name(const pipeline_t *p);

#endif
