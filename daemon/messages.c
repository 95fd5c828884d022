#include "messages.h"

#include "clock.h"
#include "config.h"
#include "utf8.h"

#include <jansson.h>

/* Seven significant digits: a float's precision, so probabilities print as
 * 0.9812354 rather than 0.98123539999999998. */
#define JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(7))

/* What the protocol promises receivers is what the model format and the
 * config allow. */
_Static_assert(PROTOCOL_LABELS_MAX == MODEL_MAX_LABELS, "labels per model");
_Static_assert(PROTOCOL_LABEL_LEN == MODEL_MAX_LABEL_LEN, "bytes per label");
_Static_assert(PROTOCOL_NAME_LEN >= CONFIG_NAME_LEN - 1, "bytes per stream name");

/* Encodes and frees msg (jansson's setters accept and ignore NULL, so a
 * failed allocation anywhere ends here as NULL). */
static char *finish(json_t *msg)
{
    char *text = msg ? json_dumps(msg, JSON_FLAGS) : NULL;
    json_decref(msg);
    return text;
}

static json_t *labels_json(const model_t *m)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < m->n_labels; i++)
        json_array_append_new(a, json_string(m->labels[i]));
    return a;
}

static json_t *floats_json(const float *v, unsigned n)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < n; i++)
        json_array_append_new(a, json_real(v[i]));
    return a;
}

static json_t *label_or_null(const model_t *m, int state)
{
    return state >= 0 ? json_string(m->labels[state]) : json_null();
}

static json_t *head(const message_source *s)
{
    return json_pack("{s:i, s:s, s:I, s:I, s:I, s:I, s:s}", "v", 1, "stream", s->stream, "seq",
                     (json_int_t)s->seq, "started_ms", (json_int_t)s->started_ms, "time_ms",
                     (json_int_t)wallclock_ms(), "position", (json_int_t)s->position, "model",
                     s->model->id);
}

char *message_probs(const message_source *s, const tracker_decision *d, const float *raw,
                    double level_dbfs)
{
    const model_t *m = s->model;
    json_t *msg = head(s);
    json_object_set_new(msg, "rate", json_real(s->rate));
    json_object_set_new(msg, "labels", labels_json(m));
    json_object_set_new(msg, "top", d->silence ? json_null() : json_string(m->labels[d->top]));
    json_object_set_new(msg, "p", json_real(d->p));
    json_object_set_new(msg, "probs", floats_json(d->probs, m->n_labels));
    json_object_set_new(msg, "raw", floats_json(raw, m->n_labels));
    json_object_set_new(msg, "silence", json_boolean(d->silence));
    json_object_set_new(msg, "level_dbfs", json_real(level_dbfs));
    return finish(msg);
}

char *message_change(const message_source *s, const tracker_decision *d)
{
    const model_t *m = s->model;
    json_t *msg = head(s);
    json_object_set_new(msg, "previous", label_or_null(m, d->previous));
    json_object_set_new(msg, "new", label_or_null(m, d->state));
    json_object_set_new(msg, "silence", json_boolean(d->state == TRACKER_SILENCE));
    json_object_set_new(msg, "previous_silence", json_boolean(d->previous == TRACKER_SILENCE));
    json_object_set_new(msg, "p", json_real(d->state >= 0 ? d->probs[d->state] : 0.0));
    json_object_set_new(msg, "title", json_string(s->title ? s->title : ""));
    return finish(msg);
}

char *message_track(const message_source *s, const song_summary *song)
{
    const model_t *m = s->model;
    json_t *msg = head(s);
    json_object_set_new(msg, "rate", json_real(s->rate));
    json_object_set_new(msg, "title", json_string(song->title));
    json_object_set_new(msg, "start", json_integer((json_int_t)song->start));
    json_object_set_new(msg, "end", json_integer((json_int_t)song->end));
    json_object_set_new(msg, "seconds",
                        json_real(s->rate > 0 ? (double)(song->end - song->start) / s->rate : 0));
    json_object_set_new(msg, "windows", json_integer(song->windows));
    json_object_set_new(msg, "silent_windows", json_integer(song->silent));
    json_object_set_new(msg, "labels", labels_json(m));
    json_object_set_new(msg, "probs",
                        song->windows ? floats_json(song->mean, m->n_labels) : json_null());
    json_object_set_new(msg, "top", label_or_null(m, song->top));
    json_object_set_new(msg, "share", json_real(song->share));
    return finish(msg);
}

static json_t *stream_json(const message_stream_status *s)
{
    const pipeline_stats *st = &s->stats;
    /* The input names a file, and its lines quote one: a name need not be
     * UTF-8 (utf8_json), and must not cost the stream its status. */
    json_t *o = json_pack("{s:s, s:o, s:s, s:o, s:o, s:f, s:i, s:I, s:I, s:b, s:I, s:I, s:I}",
                          "name", s->name, "input", utf8_json(s->input), "state", st->state,
                          "error", utf8_json(s->error), "note", utf8_json(s->note), "rate",
                          st->rate, "channels", (int)st->channels, "position",
                          (json_int_t)st->position, "hops", (json_int_t)st->hops, "silence",
                          st->silence, "overruns", (json_int_t)st->overruns, "overrun_samples",
                          (json_int_t)st->overrun_samples, "nonfinite", (json_int_t)st->nonfinite);
    json_object_set_new(o, "level_dbfs", st->have_level ? json_real(st->level_dbfs) : json_null());
    json_object_set_new(o, "top", st->have_top ? json_string(st->top) : json_null());
    json_object_set_new(o, "p", json_real(st->have_top ? st->p : 0.0));
    json_object_set_new(o, "title", json_string(st->title));
    json_object_set_new(o, "latency_ms",
                        s->latency_n ? json_pack("{s:f, s:f, s:f, s:i}", "p50", s->latency_p50,
                                                 "p99", s->latency_p99, "max", s->latency_max, "n",
                                                 (int)s->latency_n)
                                     : json_null());
    return o;
}

char *message_status(const message_process_status *proc, const message_stream_status *streams,
                     unsigned n_streams)
{
    json_t *msg =
        json_pack("{s:i, s:I, s:s, s:s, s:f, s:f, s:f, s:f, s:I, s:I}", "v", 1, "time_ms",
                  (json_int_t)wallclock_ms(), "version", proc->version, "model", proc->model,
                  "uptime_s", proc->uptime_s, "cpu_percent", proc->cpu_percent, "cpu_user_s",
                  proc->cpu_user_s, "cpu_system_s", proc->cpu_system_s, "sent",
                  (json_int_t)proc->sent, "dropped", (json_int_t)proc->dropped);
    json_t *list = json_array();
    for (unsigned i = 0; i < n_streams; i++)
        json_array_append_new(list, stream_json(&streams[i]));
    json_object_set_new(msg, "streams", list);
    return finish(msg);
}
