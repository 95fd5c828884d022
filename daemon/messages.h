/* messages: genred's ZeroMQ protocol, version 1, and the one place that
 * builds its messages. README's protocol section and genred(8) say the same
 * for users; change all three together.
 *
 * Socket: XPUB bound to every `publish` endpoint (default
 * tcp://127.0.0.1:5556; ipc:// works too). Every message has two frames:
 * the topic, then a UTF-8 JSON object whose "v" is 1. New fields may be
 * added within version 1; existing ones keep their name, type and meaning.
 * All times are integers in ms since the Unix epoch (wall clock); positions
 * count input frames (at the input's sample rate) since the stream started.
 *
 * genre.probs (every hop, per stream)
 *   v           int     1
 *   stream      string  stream name
 *   time_ms     int     when the message was made
 *   position    int     input frames consumed when this window completed
 *                       (the resampler's look-ahead may add a few frames)
 *   rate        number  input sample rate, Hz (position / rate = seconds)
 *   model       string  model id
 *   labels      [string] the model's labels, in model order
 *   top         string|null  label with the highest smoothed probability;
 *                       null while the stream is silent
 *   p           number  smoothed probability of top (0 when silent)
 *   probs       [number] smoothed probabilities, model order, sum 1 (1e-4)
 *   raw         [number] this window's unsmoothed probabilities, sum 1
 *   silence     bool    window level below silence_dbfs
 *   level_dbfs  number  RMS level of the window about its mean, dBFS (-200 for
 *                       digital 0 or a bare DC offset)
 *
 * genre.change (per stream, when the smoothed top label, or silence,
 * changed and then held for change_hold seconds of audio)
 *   v, stream, time_ms, position, model  as above
 *   previous    string|null  label before (null: silence or nothing yet)
 *   new         string|null  label now (null: silence)
 *   silence     bool    the stream has become silent (new is null)
 *   previous_silence bool  the stream was silent before (previous is null);
 *                       false for the first change after start-up or after
 *                       a reload that changed the labels
 *   p           number  smoothed probability of new (0 for silence)
 *
 * genre.status (every status_interval seconds, default 5, and once at exit)
 *   v, time_ms          as above
 *   version     string  genred version
 *   model       string  model id
 *   uptime_s    number  seconds since start
 *   cpu_percent number  process CPU time over the last interval / wall time
 *                       (100 = one core busy)
 *   cpu_user_s, cpu_system_s  number  process CPU time since start
 *   sent        int     messages sent since start
 *   dropped     int     messages dropped since start (slow subscribers under
 *                       drop_policy "count", or a full internal queue)
 *   streams     [object] one per stream:
 *     name      string
 *     input     string  input spec
 *     state     string  starting|running|waiting|ended|failed; waiting
 *                       also while an input that is open has delivered no
 *                       audio for 4 hops (2 s at least): a stalled pipe
 *                       (note then says "no audio for N s")
 *     error     string  the input's last error or warning ("" if none, and
 *                       again "" once the input runs normally after it)
 *     note      string  the input's last ordinary status line, such as
 *                       "stdin: end of input" or "JACK client genred running
 *                       at 48000 Hz, 2 ports" ("" if none; until
 *                       recently these lines were in error)
 *     rate      number  input sample rate, Hz
 *     channels  int
 *     position  int     input frames analysed so far
 *     hops      int     genre.probs messages made
 *     level_dbfs number|null  window level (null before the first window)
 *     silence   bool
 *     top       string|null, p number  as in the last genre.probs
 *     overruns  int     input blocks lost because the ring was full
 *     overrun_samples int  samples lost that way
 *     nonfinite int     NaN/Inf input samples replaced by 0
 *     latency_ms object|null  {p50, p99, max: number; n: int}: time from the
 *               arrival of the audio that completed a hop (when the audio
 *               callback or reader pushed that block) to the send of its
 *               genre.probs, over the hops since the previous status
 *
 * Late subscribers: a subscription that matches genre.probs (including ""
 * = everything) makes genred resend the latest genre.probs of every stream
 * at once, and one that matches genre.change the latest genre.change of
 * every stream that has had one, so a late subscriber learns the current
 * state without waiting for the next hop or change. Resent messages are
 * the original ones (same time_ms and position), and they go to every
 * matching subscriber: others may see a message twice.
 *
 * Slow subscribers (drop_policy): ZeroMQ queues up to send_hwm messages per
 * subscriber. "count" (default) sets ZMQ_XPUB_NODROP and sends without
 * blocking: when any subscriber's queue is full the message is dropped for
 * everyone and counted in "dropped", so losses are visible, at the price
 * that one stalled subscriber that has filled its queue costs the others
 * those messages too. "isolate" lets ZeroMQ drop per subscriber: a stalled
 * subscriber only loses its own messages, but those drops are invisible to
 * genred and not counted. Either way the pipeline never waits.
 *
 * Size limits (protocol_limits.h): a topic is at most 79 bytes, a body
 * 16 MiB; a peer that sends a longer subscription or message is
 * disconnected.
 *
 * Every builder returns the JSON text (free() it), or NULL when out of
 * memory. */
#ifndef GENRED_MESSAGES_H
#define GENRED_MESSAGES_H

#include "model.h"
#include "pipeline.h"
#include "tracker.h"

#include <stdint.h>

typedef enum { MESSAGE_PROBS, MESSAGE_CHANGE, MESSAGE_STATUS, MESSAGE_TOPICS } message_topic;

/* "genre.probs", "genre.change", "genre.status". */
const char *message_topic_name(message_topic t);

/* What every per-stream message says about where it comes from. */
typedef struct {
    const char *stream;
    const model_t *model;
    uint64_t position; /* input frames consumed */
    double rate;       /* input sample rate */
} message_source;

char *message_probs(const message_source *s, const tracker_decision *d, const float *raw,
                    double level_dbfs);
/* For a decision whose `changed` is set. */
char *message_change(const message_source *s, const tracker_decision *d);

typedef struct {
    const char *name, *input;
    char error[256], note[256]; /* the input's lines */
    pipeline_stats stats;
    unsigned latency_n; /* 0: no hop since the last status */
    double latency_p50, latency_p99, latency_max;
} message_stream_status;

typedef struct {
    const char *version, *model;
    double uptime_s, cpu_percent, cpu_user_s, cpu_system_s;
    uint64_t sent, dropped;
} message_process_status;

char *message_status(const message_process_status *proc, const message_stream_status *streams,
                     unsigned n_streams);

#endif
