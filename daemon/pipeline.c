#include "pipeline.h"

#include "classifier.h"
#include "clock.h"
#include "frontend.h"
#include "log.h"
#include "messages.h"
#include "publisher.h"
#include "song.h"
#include "stream_classifier.h"
#include "tracker.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POP_FRAMES   1024
#define MAX_CHANNELS 64
/* Stop, reload and state changes wake the worker at once; the timeout only
 * keeps its heartbeat (judged stuck after 1 s) and statistics fresh. A
 * worker waiting for a hop's audio from a live source sleeps until it has
 * come (wait_ms), at most WAIT_LONGEST_MS, and moves its heartbeat on by
 * what it sleeps beyond WAIT_MAX_MS. */
#define WAIT_MAX_MS     500
#define WAIT_LONGEST_MS 2000
#define PACE_WINDOW_NS  (250 * 1000 * 1000)
/* An input that says it runs but has delivered nothing for this many hops
 * (2 s at least, so a bursty pipe does not flap) shows as waiting: a
 * stalled stdin must not keep showing its last genre as current. */
#define STALL_HOPS   4
#define STALL_MIN_NS (2000 * 1000 * 1000LL)

model_ref *model_ref_new(model_t *m)
{
    model_ref *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->model = m;
    atomic_init(&r->refs, 1);
    return r;
}

model_ref *model_ref_hold(model_ref *r)
{
    atomic_fetch_add(&r->refs, 1);
    return r;
}

void model_ref_release(model_ref *r)
{
    if (r && atomic_fetch_sub(&r->refs, 1) == 1) {
        model_destroy(r->model);
        free(r);
    }
}

/* What a model brings to a pipeline: built in full before it is used. */
typedef struct {
    model_ref *model;
    classifier_t *classifier;    /* windows the stream classifier did not follow */
    stream_classifier_t *stream; /* the live windows, frame by frame */
    tracker_t *tracker;
    song_t *song; /* the song playing, for genre.track */
    float *raw;
    pipeline_settings settings;
} engine;

struct pipeline {
    char name[CONFIG_NAME_LEN];
    input_t *input;
    publisher_stream_t *out;

    /* Worker-owned. */
    engine eng;
    frontend_t *fe;
    unsigned generation, channels;
    double in_rate;
    float *buf;
    uint64_t position;          /* input frames consumed, all generations */
    uint64_t popped;            /* samples taken off the ring, all generations */
    uint64_t block_position;    /* position when the block being processed was popped */
    uint64_t block_popped;      /* popped before that block */
    uint64_t fe_nonfinite_base; /* front-end NaN counts of earlier front-ends */
    /* Seconds of audio consumed, across format changes and front-ends, so
     * the tracker's clock never jumps: at the current format's start, and
     * at the current front-end's start. */
    double format_start_s, fe_start_s;
    uint64_t format_start_position;
    uint64_t seq[PROTOCOL_TOPICS]; /* messages made per topic: the protocol's seq */
    int64_t started_ms;            /* genred's start, the run those seq count in */

    pthread_mutex_t reload_lock;
    engine pending;
    int pending_ready, pending_prepared;

    pthread_mutex_t stats_lock;
    pipeline_stats stats;
    char top_label[MODEL_MAX_LABEL_LEN + 1];

    /* Is the source faster than real time (a file at full speed, a fast
     * pipe)? Judged over PACE_WINDOW_NS of wall time. */
    int fast_source;
    int64_t pace_since_ns;
    uint64_t pace_since_position;

    int64_t last_audio_ns; /* when audio last came off the ring */
    int64_t stalled_since; /* last_audio_ns when a stall was logged; 0: none */
    int flowing_logged;    /* "audio is flowing" said, once per run */

    pthread_t thread;
    int started;
    atomic_bool stop;
    atomic_int_fast64_t heartbeat;
};

static void engine_free(engine *e)
{
    if (e->classifier) classifier_destroy(e->classifier);
    stream_classifier_destroy(e->stream);
    tracker_destroy(e->tracker);
    song_destroy(e->song);
    free(e->raw);
    model_ref_release(e->model);
    memset(e, 0, sizeof *e);
}

static int engine_build(engine *e, model_ref *model, const pipeline_settings *s, char *err,
                        size_t err_len)
{
    memset(e, 0, sizeof *e);
    const model_t *m = model->model;
    e->model = model_ref_hold(model);
    e->settings = *s;
    uint64_t hop = frontend_hop_samples(&m->frontend, s->tracker.hop);
    e->classifier = classifier_create(m, model_window_frames(m), err, err_len);
    if (e->classifier)
        e->stream = stream_classifier_create(
            m, model_window_frames(m), frontend_windows_live(&m->frontend, hop), err, err_len);
    if (!e->stream) {
        engine_free(e);
        return -1;
    }
    e->tracker = tracker_create(m->n_labels, &s->tracker);
    e->song = song_create(m->n_labels);
    e->raw = calloc(m->n_labels, sizeof *e->raw);
    if (!e->tracker || !e->song || !e->raw) {
        snprintf(err, err_len, "pipeline: out of memory");
        engine_free(e);
        return -1;
    }
    return 0;
}

/* Seconds of audio consumed so far. */
static double audio_seconds(const pipeline_t *p)
{
    double since =
        p->in_rate > 0 ? (double)(p->position - p->format_start_position) / p->in_rate : 0.0;
    return p->format_start_s + since;
}

static void set_frontend(pipeline_t *p, frontend_t *fe)
{
    p->fe_start_s = audio_seconds(p);
    if (p->fe) {
        p->fe_nonfinite_base += frontend_nonfinite_count(p->fe);
        frontend_destroy(p->fe);
    }
    p->fe = fe;
    if (fe) frontend_set_hop(fe, p->eng.settings.tracker.hop);
    /* A new front end numbers its frames from 0 again. */
    if (p->eng.stream) stream_classifier_reset(p->eng.stream);
}

pipeline_t *pipeline_create(const pipeline_options *opt, char *err, size_t err_len)
{
    pipeline_t *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, err_len, "pipeline: out of memory");
        return NULL;
    }
    snprintf(p->name, sizeof p->name, "%s", opt->name);
    p->input = opt->input;
    pthread_mutex_init(&p->reload_lock, NULL);
    pthread_mutex_init(&p->stats_lock, NULL);
    atomic_init(&p->stop, false);
    atomic_init(&p->heartbeat, monotonic_ns());
    p->generation = input_generation(p->input);
    p->in_rate = input_rate(p->input);
    p->channels = input_channels(p->input);
    p->buf = malloc(sizeof *p->buf * POP_FRAMES * MAX_CHANNELS);
    if (!p->buf) {
        snprintf(err, err_len, "pipeline: out of memory");
        goto fail;
    }
    if (engine_build(&p->eng, opt->model, &opt->settings, err, err_len)) goto fail;
    char why[256];
    frontend_t *fe =
        model_frontend_create(p->eng.model->model, p->in_rate, p->channels, why, sizeof why);
    if (!fe) {
        snprintf(err, err_len, "stream '%s': %s", p->name, why);
        goto fail;
    }
    set_frontend(p, fe);
    p->out = publisher_connect(opt->publisher, p->name, err, err_len);
    if (!p->out) goto fail;
    p->started_ms = publisher_started_ms(opt->publisher);
    p->stats.state = input_state_name(INPUT_STARTING);
    p->stats.rate = p->in_rate;
    p->stats.channels = p->channels;
    return p;
fail:
    pipeline_destroy(p);
    return NULL;
}

void pipeline_destroy(pipeline_t *p)
{
    if (!p) return;
    pipeline_stop(p);
    pipeline_abort_reload(p);
    engine_free(&p->eng);
    set_frontend(p, NULL);
    publisher_disconnect(p->out);
    free(p->buf);
    pthread_mutex_destroy(&p->reload_lock);
    pthread_mutex_destroy(&p->stats_lock);
    free(p);
}

const char *pipeline_name(const pipeline_t *p)
{
    return p->name;
}

/* ---- messages ---- */

/* The source of the next message of `topic`, which takes the next seq. */
static message_source source_of(pipeline_t *p, protocol_topic topic)
{
    message_source s = {
        p->name,       p->eng.model->model,    p->position, p->in_rate, ++p->seq[topic],
        p->started_ms, song_title(p->eng.song)};
    return s;
}

/* Posts a built message; text NULL means the builder ran out of memory. */
static void post(pipeline_t *p, protocol_topic topic, char *text, int64_t arrival_ns)
{
    if (text)
        publisher_post(p->out, topic, text, arrival_ns);
    else
        log_error("stream '%s': cannot encode a %s message", p->name, protocol_topic_name(topic));
    free(text);
}

/* Once the reader of --print goes away (genred --print | head -2), printing
 * stops with one warning and genred goes on publishing: subscribers may be
 * listening, and a daemon's work does not hang on its stdout. */
static atomic_int stdout_closed;

static void print_line(const pipeline_t *p, const tracker_decision *d, double level)
{
    const model_t *m = p->eng.model->model;
    double seconds = p->in_rate > 0 ? (double)p->position / p->in_rate : 0;
    if (atomic_load(&stdout_closed)) return;
    flockfile(stdout);
    if (d->silence) {
        printf("%-10s %8.1fs  (silence)  %6.1f dBFS\n", p->name, seconds, level);
    } else {
        int second = -1;
        for (unsigned i = 0; i < m->n_labels; i++)
            if ((int)i != d->top && (second < 0 || d->probs[i] > d->probs[second])) second = (int)i;
        printf("%-10s %8.1fs  %-12s %3.0f%%", p->name, seconds, m->labels[d->top],
               100.0 * d->probs[d->top]);
        if (second >= 0)
            printf("   next %-12s %3.0f%%", m->labels[second], 100.0 * d->probs[second]);
        printf("   %6.1f dBFS\n", level);
    }
    int failed = fflush(stdout) == EOF || ferror(stdout);
    int why = errno;
    funlockfile(stdout);
    if (failed && !atomic_exchange(&stdout_closed, 1))
        log_warn("--print: standard output closed (%s): no more lines printed; still publishing",
                 strerror(why));
}

static const char *state_name(const model_t *m, int state)
{
    return state >= 0 ? m->labels[state] : state == TRACKER_SILENCE ? "(silence)" : "(none)";
}

/* One window: `end` is its last model-rate sample in the current
 * front-end. */
static void classify(pipeline_t *p, uint64_t end)
{
    /* The sample that completed this window, and when it arrived. */
    uint64_t sample = p->block_popped + (p->position - p->block_position) * p->channels;
    int64_t arrival_ns = input_arrival_ns(p->input, sample);
    const model_t *m = p->eng.model->model;
    engine *e = &p->eng;
    double level = frontend_level_dbfs(p->fe);
    tracker_decision d;
    tracker_process(e->tracker, e->raw, level,
                    p->fe_start_s + (double)end / m->frontend.mfcc.sample_rate, &d);
    double window = m->frontend.window_seconds * p->in_rate;
    song_add(e->song, p->position > window ? p->position - (uint64_t)window : 0, e->raw, d.silence);

    message_source probs = source_of(p, PROTOCOL_PROBS);
    post(p, PROTOCOL_PROBS, message_probs(&probs, &d, e->raw, level), arrival_ns);
    if (d.changed) {
        message_source change = source_of(p, PROTOCOL_CHANGE);
        post(p, PROTOCOL_CHANGE, message_change(&change, &d), 0);
        log_info("stream '%s': %s -> %s", p->name, state_name(m, d.previous),
                 state_name(m, d.state));
    }
    if (e->settings.print) print_line(p, &d, level);

    pthread_mutex_lock(&p->stats_lock);
    p->stats.hops++;
    p->stats.have_level = 1;
    p->stats.level_dbfs = level;
    p->stats.silence = d.silence;
    p->stats.have_top = !d.silence;
    p->stats.p = d.p;
    snprintf(p->stats.top, sizeof p->stats.top, "%s", m->labels[d.top]);
    pthread_mutex_unlock(&p->stats_lock);
}

/* Runs the front-end over one popped block, feeding every frame to the
 * stream classifier and classifying whenever the front end says a window
 * is due. A window the stream classifier did not follow from its start
 * (just after a reload) goes through the per-window classifier: the same
 * probabilities either way. */
static void process_block(pipeline_t *p, const float *in, size_t frames)
{
    engine *e = &p->eng;
    while (frames) {
        size_t used = 0;
        int got = frontend_process(p->fe, in, frames, &used);
        in += used * p->channels;
        frames -= used;
        p->position += used;
        if (!got) continue;
        int have = stream_classifier_push(e->stream, frontend_newest_frame(p->fe),
                                          got & FRONTEND_WINDOW_START, e->raw);
        if (!(got & FRONTEND_WINDOW_DUE)) continue;
        if (!have)
            classifier_process(e->classifier, frontend_window(p->fe), frontend_window_frames(p->fe),
                               e->raw);
        classify(p, frontend_frame_end(p->fe));
    }
}

/* ---- songs ---- */

/* Ends the song playing (if it has a title) with a genre.track, here. */
static void end_song(pipeline_t *p)
{
    song_summary s;
    if (!song_end(p->eng.song, p->position, &s)) return;
    message_source src = source_of(p, PROTOCOL_TRACK);
    post(p, PROTOCOL_TRACK, message_track(&src, &s), 0);
    const model_t *m = p->eng.model->model;
    log_info("stream '%s': song '%s' ended after %.0f s: %s (%.0f%% of %u windows)", p->name,
             s.title, p->in_rate > 0 ? (double)(s.end - s.start) / p->in_rate : 0.0,
             s.top >= 0 ? m->labels[s.top] : "(none)", 100.0 * s.share, s.windows);
}

static void start_song(pipeline_t *p, const char *title)
{
    end_song(p);
    song_start(p->eng.song, title, p->position);
    pthread_mutex_lock(&p->stats_lock);
    snprintf(p->stats.title, sizeof p->stats.title, "%s", title);
    pthread_mutex_unlock(&p->stats_lock);
}

static void feed(pipeline_t *p, const float *samples, size_t frames)
{
    if (p->fe)
        process_block(p, samples, frames);
    else
        p->position += frames;
}

/* Runs a popped block of n samples, cut where the input says a new title
 * starts, so each song ends at its own sample. */
static void run_block(pipeline_t *p, size_t n, size_t ch)
{
    char title[INPUT_TITLE_LEN];
    uint64_t at;
    size_t done = 0;
    while (input_next_title(p->input, p->popped, title, sizeof title, &at)) {
        size_t cut = at > p->block_popped ? (size_t)(at - p->block_popped) / ch * ch : 0;
        if (cut < done) cut = done;
        feed(p, p->buf + done, (cut - done) / ch);
        done = cut;
        start_song(p, title);
    }
    feed(p, p->buf + done, (n - done) / ch);
}

/* ---- reload and format changes (worker side) ---- */

static void take_pending(pipeline_t *p)
{
    pthread_mutex_lock(&p->reload_lock);
    if (!p->pending_ready) {
        pthread_mutex_unlock(&p->reload_lock);
        return;
    }
    engine next = p->pending;
    memset(&p->pending, 0, sizeof p->pending);
    p->pending_ready = p->pending_prepared = 0;
    pthread_mutex_unlock(&p->reload_lock);

    int rebuild =
        !frontend_params_equal(&p->eng.model->model->frontend, &next.model->model->frontend);
    int labels_changed = p->eng.model->model->n_labels != next.model->model->n_labels ||
                         memcmp(p->eng.model->model->labels, next.model->model->labels,
                                next.model->model->n_labels * sizeof *next.model->model->labels);
    engine old = p->eng;
    p->eng = next;
    /* Keep the smoothed history and change state across a reload of the
     * same labels; new labels start afresh. */
    if (!labels_changed) tracker_continue(p->eng.tracker, old.tracker);
    if (labels_changed) /* its windows' probabilities mean nothing to the new labels */
        song_start(p->eng.song, song_title(old.song), p->position);
    else
        song_continue(p->eng.song, old.song);
    engine_free(&old);
    if (p->fe) frontend_set_hop(p->fe, p->eng.settings.tracker.hop);
    if (rebuild) {
        char err[256];
        frontend_t *fe =
            model_frontend_create(p->eng.model->model, p->in_rate, p->channels, err, sizeof err);
        if (!fe) log_error("stream '%s': %s", p->name, err);
        set_frontend(p, fe);
    }
    log_info("stream '%s': now using model '%s'", p->name, p->eng.model->model->id);
}

static void follow_format(pipeline_t *p)
{
    unsigned gen = input_generation(p->input);
    if (gen == p->generation) return;
    p->generation = gen;
    p->format_start_s = audio_seconds(p);
    p->format_start_position = p->position;
    p->in_rate = input_rate(p->input);
    p->channels = input_channels(p->input);
    char err[256];
    frontend_t *fe = NULL;
    if (p->channels >= 1 && p->channels <= MAX_CHANNELS)
        fe = model_frontend_create(p->eng.model->model, p->in_rate, p->channels, err, sizeof err);
    else
        snprintf(err, sizeof err, "%u channels is more than %d", p->channels, MAX_CHANNELS);
    if (!fe)
        log_error("stream '%s': input format changed and cannot be used: %s", p->name, err);
    else
        log_info("stream '%s': input now %g Hz, %u channel(s)", p->name, p->in_rate, p->channels);
    set_frontend(p, fe);
}

/* Seconds without audio from an input that says it is running, once that
 * is long enough to call a stall; 0 otherwise. Logs the stall's start and
 * end once each. */
static double stalled_for(pipeline_t *p, input_state state)
{
    int64_t quiet = monotonic_ns() - p->last_audio_ns;
    int64_t limit = (int64_t)(STALL_HOPS * p->eng.settings.tracker.hop * 1e9);
    if (limit < STALL_MIN_NS) limit = STALL_MIN_NS;
    int stalled = state == INPUT_RUNNING && quiet >= limit;
    if (stalled && !p->stalled_since) {
        p->stalled_since = p->last_audio_ns;
        log_info("stream '%s': no audio for %.1f s; waiting", p->name, (double)quiet / 1e9);
    } else if (!stalled && p->stalled_since) {
        log_info("stream '%s': audio again after %.1f s", p->name,
                 (double)(p->last_audio_ns - p->stalled_since) / 1e9);
        p->stalled_since = 0;
    }
    return stalled ? (double)quiet / 1e9 : 0.0;
}

static void update_stats(pipeline_t *p, int finished)
{
    ring_t *ring = input_ring(p->input);
    uint64_t nonfinite = input_nonfinite(p->input) + p->fe_nonfinite_base +
                         (p->fe ? frontend_nonfinite_count(p->fe) : 0);
    input_state state = input_get_state(p->input);
    double stalled = stalled_for(p, state);
    pthread_mutex_lock(&p->stats_lock);
    p->stats.state = input_state_name(stalled > 0 ? INPUT_WAITING : state);
    p->stats.stalled_s = stalled;
    p->stats.rate = p->in_rate;
    p->stats.channels = p->channels;
    p->stats.position = p->position;
    p->stats.overruns = ring_overruns(ring);
    p->stats.overrun_samples = ring_dropped_samples(ring);
    p->stats.nonfinite = nonfinite;
    p->stats.audio_seen |= p->position > 0;
    p->stats.finished = finished;
    pthread_mutex_unlock(&p->stats_lock);
}

/* Compares the audio consumed with the wall time it took, every
 * PACE_WINDOW_NS: long enough that a live source delivering whole periods
 * (JACK's 21 ms at 1024 frames) is not mistaken for a fast one. */
static void judge_pace(pipeline_t *p, int64_t now)
{
    int64_t wall = now - p->pace_since_ns;
    if (wall < PACE_WINDOW_NS) return;
    double audio_ns =
        p->in_rate > 0 ? (double)(p->position - p->pace_since_position) / p->in_rate * 1e9 : 0;
    p->fast_source = audio_ns > 1.5 * (double)wall;
    p->pace_since_ns = now;
    p->pace_since_position = p->position;
}

/* How much audio to wait for on an empty ring. A source paced in real time
 * cannot complete the next hop before its audio has arrived, so the worker
 * asks the input to wake it once exactly that much is waiting: one wake-up
 * per hop instead of one per period, and the hop is taken as soon as its
 * last block arrives. A fast source (a file at full speed) refills the ring
 * at once: any audio will do. */
static size_t wanted_samples(const pipeline_t *p, size_t ring_capacity)
{
    if (!p->fe || p->fast_source || p->in_rate <= 0) return 1;
    uint64_t want = frontend_input_to_due(p->fe) * (p->channels ? p->channels : 1);
    /* Never more than the ring can hold, or the wake-up would never come. */
    if (want > ring_capacity / 2) want = ring_capacity / 2;
    return want >= 1 ? (size_t)want : 1;
}

/* How long to sleep for `want` samples at most: a little longer than a live
 * source takes to deliver them, so that the audio ends the sleep rather
 * than the timeout. With WAIT_MAX_MS alone a 0.5 s hop's audio raced the
 * 500 ms timeout and lost about half the time: a second wake-up per hop,
 * for nothing, in every stream. */
static int wait_ms(const pipeline_t *p, size_t want)
{
    if (p->fast_source || p->in_rate <= 0 || want <= 1) return WAIT_MAX_MS;
    double ms = 1000.0 * (double)want / (p->channels ? p->channels : 1) / p->in_rate;
    ms = 1.25 * ms + 100; /* a server's period, a late cycle */
    return ms < WAIT_MAX_MS ? WAIT_MAX_MS : ms > WAIT_LONGEST_MS ? WAIT_LONGEST_MS : (int)ms;
}

/* Sleeps until the next hop's audio, a kick or the timeout. */
static void wait_for_audio(pipeline_t *p, ring_t *ring)
{
    size_t want = wanted_samples(p, ring_capacity(ring));
    int ms = wait_ms(p, want);
    /* Away longer than the heartbeat's usual WAIT_MAX_MS on purpose: not
     * stuck. */
    if (ms > WAIT_MAX_MS)
        atomic_store(&p->heartbeat, monotonic_ns() + (int64_t)(ms - WAIT_MAX_MS) * 1000000);
    input_wait(p->input, want, ms);
}

/* An input that ended before filling one window published nothing; say so
 * rather than end as if all were well (genre-classify, given the same file,
 * classifies 1-3 s as one shorter window and warns too). */
static void warn_if_unclassified(const pipeline_t *p)
{
    if (p->stats.hops || !p->position || !(p->in_rate > 0) || !p->eng.model) return;
    log_warn("stream '%s': input ended after %.2f s of audio, shorter than the %g s window: "
             "nothing classified",
             p->name, (double)p->position / p->in_rate,
             p->eng.model->model->frontend.window_seconds);
}

static void *pipeline_main(void *arg)
{
    pipeline_t *p = arg;
    ring_t *ring = input_ring(p->input);
    int finished = 0;
    p->fast_source = 1; /* until the first judgement: the old, safe polling */
    p->pace_since_ns = monotonic_ns();
    p->pace_since_position = p->position;
    p->last_audio_ns = p->pace_since_ns;
    while (!atomic_load(&p->stop) && !finished) {
        int64_t now = monotonic_ns();
        atomic_store(&p->heartbeat, now);
        judge_pace(p, now);
        take_pending(p);
        follow_format(p);
        /* Read the state before popping: ENDED seen first means the ring
         * already holds everything the source will ever push. */
        input_state state = input_get_state(p->input);
        /* Whole frames only, and never more than the buffer, whatever
         * channel count a back-end reports. */
        size_t ch = p->channels ? p->channels : 1;
        size_t n = ring_pop(ring, p->buf, (size_t)POP_FRAMES * MAX_CHANNELS / ch * ch);
        if (n) {
            p->last_audio_ns = now;
            /* Logged here, by the thread that logs the changes and the
             * end, so the lines come in the order the events happened. */
            if (!p->flowing_logged) log_info("stream '%s': audio is flowing", p->name);
            p->flowing_logged = 1;
            p->block_position = p->position;
            p->block_popped = p->popped;
            p->popped += n;
            run_block(p, n, ch);
        } else {
            finished = state == INPUT_ENDED || state == INPUT_FAILED;
            if (!finished) wait_for_audio(p, ring);
        }
        update_stats(p, finished);
    }
    if (finished) {
        end_song(p); /* a tagged file's one song */
        char why[256];
        input_error(p->input, why, sizeof why);
        if (!*why) input_note(p->input, why, sizeof why);
        log_msg(input_get_state(p->input) == INPUT_FAILED ? LOG_ERROR : LOG_INFO,
                "stream '%s': input %s%s%s", p->name, input_state_name(input_get_state(p->input)),
                *why ? ": " : "", why);
        warn_if_unclassified(p);
    }
    return NULL;
}

int pipeline_start(pipeline_t *p, char *err, size_t err_len)
{
    int e = pthread_create(&p->thread, NULL, pipeline_main, p);
    if (e) {
        snprintf(err, err_len, "stream '%s': cannot start worker: %s", p->name, strerror(e));
        return -1;
    }
    /* Thread names show in top -H, perf and /proc (the benchmarks read
     * each thread's scheduling figures by name). */
    pthread_setname_np(p->thread, "gr-work");
    p->started = 1;
    return 0;
}

void pipeline_request_stop(pipeline_t *p)
{
    atomic_store(&p->stop, true);
    input_wake(p->input);
}

void pipeline_stop(pipeline_t *p)
{
    if (!p->started) return;
    pipeline_request_stop(p);
    pthread_join(p->thread, NULL);
    p->started = 0;
}

/* ---- reload (main-thread side) ---- */

int pipeline_prepare_reload(pipeline_t *p, model_ref *model, const pipeline_settings *s, char *err,
                            size_t err_len)
{
    engine e;
    if (engine_build(&e, model, s, err, err_len)) return -1;
    /* Prove the front-end can be built for this input before committing. */
    char why[256];
    frontend_t *fe = model_frontend_create(model->model, input_rate(p->input),
                                           input_channels(p->input), why, sizeof why);
    if (!fe) {
        snprintf(err, err_len, "stream '%s': %s", p->name, why);
        engine_free(&e);
        return -1;
    }
    frontend_destroy(fe);
    pthread_mutex_lock(&p->reload_lock);
    engine_free(&p->pending);
    p->pending = e;
    p->pending_prepared = 1;
    p->pending_ready = 0;
    pthread_mutex_unlock(&p->reload_lock);
    return 0;
}

void pipeline_commit_reload(pipeline_t *p)
{
    pthread_mutex_lock(&p->reload_lock);
    if (p->pending_prepared) p->pending_ready = 1;
    pthread_mutex_unlock(&p->reload_lock);
    input_wake(p->input);
}

void pipeline_abort_reload(pipeline_t *p)
{
    pthread_mutex_lock(&p->reload_lock);
    engine_free(&p->pending);
    p->pending_prepared = p->pending_ready = 0;
    pthread_mutex_unlock(&p->reload_lock);
}

void pipeline_get_stats(pipeline_t *p, pipeline_stats *out)
{
    pthread_mutex_lock(&p->stats_lock);
    *out = p->stats;
    pthread_mutex_unlock(&p->stats_lock);
    out->heartbeat_ns = atomic_load(&p->heartbeat);
}
