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
 * Topic names, which topics are cached for late subscribers and the size
 * limits (a body is at most 256 KiB, genre.status's 9 MiB) are in protocol.h
 * and protocol.c.
 *
 * genre.probs (every hop, per stream)
 *   v           int     1
 *   stream      string  stream name
 *   seq         int     1 for the stream's first genre.probs since genred
 *                       started, one more for each after it (a gap means
 *                       messages were lost on the way)
 *   started_ms  int     when genred started: a new value means a new run,
 *                       whose seq counts from 1 again
 *   time_ms     int     when the message was made
 *   position    int     input frames consumed when this window completed
 *                       (the resampler's look-ahead may add a few frames)
 *   rate        number  input sample rate, Hz (position / rate = seconds)
 *   model       string  model id
 *   labels      [string] the model's labels, in model order
 *   top         string|null  label with the highest smoothed probability;
 *                       null while the stream is silent
 *   p           number  smoothed probability of top (0 when silent)
 *   probs       [number] smoothed probabilities (change_decoder "hmm": the
 *                       filtered posterior), model order, sum 1 (1e-4)
 *   raw         [number] this window's unsmoothed probabilities, sum 1
 *   silence     bool    window level below silence_dbfs
 *   level_dbfs  number  RMS level of the window about its mean, dBFS (-200 for
 *                       digital 0 or a bare DC offset)
 *
 * genre.change (per stream, when the smoothed top label, or silence,
 * changed and then held for change_hold seconds of audio; change_decoder
 * "hmm": when a new label's filtered probability reached hmm_threshold, or
 * silence came, and held for hmm_hold seconds)
 *   v, stream, time_ms, position, model  as above
 *   seq, started_ms  as above, counting this stream's genre.change messages
 *   previous    string|null  label before (null: silence or nothing yet)
 *   new         string|null  label now (null: silence)
 *   silence     bool    the stream has become silent (new is null)
 *   previous_silence bool  the stream was silent before (previous is null);
 *                       false for the first change after start-up or after
 *                       a reload that changed the labels
 *   p           number  smoothed probability of new (0 for silence)
 *   title       string  the song playing (as in genre.track; "" when the
 *                       input names none)
 *
 * genre.track (per stream, when the input's title changes: the song that
 * just ended; a url: stream's ICY StreamTitle or Ogg tags, a file's title
 * tag, which gives one genre.track when the file ends. A stretch without a
 * title, before the first or between songs, gives none)
 *   v, stream, time_ms, model, rate, labels  as above
 *   seq, started_ms  as above, counting this stream's genre.track messages
 *   position    int     = end
 *   title       string  "ARTIST - TITLE" when tags give both; ICY titles as
 *                       the station sends them (Latin-1 read as such)
 *   start, end  int     input frames where the title began and ended
 *   seconds     number  (end - start) / rate: the song's audio genred heard
 *   windows     int     windows classified wholly inside the song and not
 *                       silent (the first window_seconds after the title
 *                       change still hear the song before: they count for
 *                       neither)
 *   silent_windows int  silent windows inside the song
 *   probs       [number]|null  mean raw probabilities over those windows,
 *                       model order; null when windows is 0
 *   top         string|null  argmax of probs
 *   share       number  of the windows, the fraction whose own top label
 *                       was top (0 when windows is 0)
 *
 * genre.status (every status_interval seconds, default 5, and once at exit;
 * every stream in one message, of at most PROTOCOL_STATUS_MAX bytes, 9 MiB:
 * a genred runs at most 1024 streams and one takes 0.5-1.3 kB, 8.9 kB with
 * every text at its longest and escaped. One message rather than parts
 * because every reader takes a status as the whole process at one instant:
 * parts would be matched up again in each, and a lost part would read as
 * streams gone; the socket caps, 16 MiB a frame, hold it already)
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
 *                       (note then says "no audio for N s"); ended, with
 *                       note "genred stopped by SIGTERM", after a stop signal
 *     error     string  the input's last error or warning ("" if none, and
 *                       again "" once the input runs normally after it)
 *     note      string  the input's last ordinary status line, such as
 *                       "stdin: end of input" or "JACK client genred running
 *                       at 48000 Hz, 2 ports in_1..in_2" ("" if none; until
 *                       recently these lines were in error)
 *     rate      number  input sample rate, Hz
 *     channels  int
 *     position  int     input frames analysed so far
 *     hops      int     genre.probs messages made
 *     level_dbfs number|null  window level (null before the first window)
 *     silence   bool
 *     top       string|null, p number  as in the last genre.probs
 *     title     string  the song playing, as in genre.change
 *     overruns  int     input blocks lost because the ring was full
 *     overrun_samples int  samples lost that way
 *     nonfinite int     NaN/Inf input samples replaced by 0
 *     latency_ms object|null  {p50, p99, max: number; n: int}: time from the
 *               arrival of the audio that completed a hop (when the audio
 *               callback or reader pushed that block) to the send of its
 *               genre.probs, over the hops since the previous status
 *
 * Late subscribers get the current state from a snapshot: besides its
 * topics, a subscriber subscribes to "snapshot/NONCE/PREFIX", NONCE 1 to 32
 * random characters of [A-Za-z0-9_-] and PREFIX a topic prefix ("" for all,
 * "genre.change"). genred answers with the latest genre.probs of every
 * stream, then the latest genre.change and the latest genre.track of every
 * stream that has had one, those whose topic starts with PREFIX, each as
 * two frames: the topic "snapshot/NONCE/genre.change" (or .../genre.probs,
 * .../genre.track) and the original body,
 * same seq, time_ms and position. Only that subscriber has that
 * subscription, so only it gets them; nobody else sees a message twice.
 * Snapshots are answered in turn, at most 8 MiB/s in all, so a flood of
 * requests costs bounded bandwidth. ZeroMQ resends a subscriber's
 * subscriptions when it reconnects, so it gets a fresh snapshot each time.
 * (A subscriber to "" receives every snapshot: ignore topics you do not
 * know, as the protocol asks anyway, or subscribe to "genre." instead.)
 *
 * Duplicates: a message can still arrive twice, in a snapshot after a
 * reconnect, or live and then in a snapshot that was answered later.
 * Receivers keep, per (topic, stream), the started_ms and seq of the last
 * message they took, and drop one with the same started_ms and a seq not
 * above it; a different started_ms is a restarted genred (take it).
 * genre-sub, genre-hub, genre-web and tools/examples do; protocol_seen.h
 * is the rule in C. genre.status carries no seq: it is a periodic report,
 * and one seen twice says nothing new.
 *
 * Why a snapshot subscription on the same socket: genred used to resend its
 * latest messages on the PUB socket to every matching subscriber whenever
 * one subscribed, so a day's genre.change log held each change once per
 * subscriber that joined, and through genre-hub a late subscriber got every
 * cached message twice. The ZeroMQ guide's Clone pattern answers late
 * joiners from a second, ROUTER socket; that would mean a second endpoint to
 * configure, secure with CURVE and open in firewalls for genred and the hub,
 * and a second connection in every client, whose snapshot races the
 * subscription. An XPUB cannot address one subscriber (ZMQ_XPUB_WELCOME_MSG
 * is fixed text; ZMQ_XPUB_MANUAL_LAST_VALUE reaches one subscriber with one
 * message only, and manual mode misattributes subscriptions when a peer
 * sends data frames), but a topic only one subscriber has subscribed to
 * does the same, in order with the live messages, through CURVE and the hub
 * unchanged, with nothing to configure. The sequence numbers are the Clone
 * pattern's: they let a receiver drop what it has, whatever path it came by.
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
 * 256 KiB (genre.status 9 MiB); a peer that sends a longer subscription is
 * disconnected, a longer message is dropped, and a frame over 16 MiB
 * disconnects its sender.
 *
 * Every builder returns the JSON text (free() it), or NULL when out of
 * memory. */
#ifndef GENRED_MESSAGES_H
#define GENRED_MESSAGES_H

#include "model.h"
#include "pipeline.h"
#include "protocol.h"
#include "song.h"
#include "tracker.h"

#include <stdint.h>

/* What every per-stream message says about where it comes from. */
typedef struct {
    const char *stream;
    const model_t *model;
    uint64_t position;  /* input frames consumed */
    double rate;        /* input sample rate */
    uint64_t seq;       /* this message's place among its topic's, from 1 */
    int64_t started_ms; /* genred's start, wall clock */
    const char *title;  /* the song playing ("" when the stream names none) */
} message_source;

char *message_probs(const message_source *s, const tracker_decision *d, const float *raw,
                    double level_dbfs);
/* For a decision whose `changed` is set. */
char *message_change(const message_source *s, const tracker_decision *d);
/* For a song that ended; s->title is ignored (the song has its own). */
char *message_track(const message_source *s, const song_summary *song);

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
