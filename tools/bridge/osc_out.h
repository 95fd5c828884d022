/* osc_out: genre-bridge's OpenSound Control output to one receiver (liblo),
 * osc.udp://HOST:PORT or osc.tcp://HOST:PORT.
 *
 * Addresses and arguments (strings UTF-8, "" where genred says null; i is
 * int32, f float32; STREAM is bridge_stream.safe):
 *   /genred/STREAM/change  s new, f p, s previous, i silence,
 *                          i previous_silence, s title
 *   /genred/STREAM/track   s title, s top, f share, f seconds, f start_s,
 *                          f end_s, i windows, then per label: s label, f mean
 *   /genred/STREAM/probs   s top, f p, i silence, f level_dbfs,
 *                          then per label: s label, f probability
 *   /genred/STREAM/prob/LABEL  f probability (one message per label, after
 *                          each probs: one address per value, for receivers
 *                          that map addresses to channels)
 *   /genred/STREAM/state   s genre, f p, i silence, s title (on each change,
 *                          and again every state interval)
 *
 * UDP has no connection: a receiver that is away loses what is sent
 * meanwhile, and gets each stream's state again within the state interval
 * once it is back. Over TCP a receiver that went away is reconnected at the
 * next message (liblo reopens a connection whose send failed), at most once
 * a second while it stays away, and is sent every state at once when it is
 * back. */
#ifndef GENRED_OSC_OUT_H
#define GENRED_OSC_OUT_H

#include "bridge_streams.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct osc_out osc_out_t;

/* url: osc.udp://HOST:PORT, osc.tcp://HOST:PORT, or HOST:PORT for UDP.
 * NULL with "--osc 'URL': reason". */
osc_out_t *osc_out_create(const char *url, char *err, size_t err_len);
void osc_out_destroy(osc_out_t *o);

/* Forward one message of genred's (its JSON body). now_ms: a monotonic
 * clock, for the reconnection's pace. */
void osc_out_send(osc_out_t *o, protocol_topic topic, const bridge_stream *s, json_t *msg,
                  int64_t now_ms);
/* Sends s's state (nothing before its first change). */
void osc_out_state(osc_out_t *o, const bridge_stream *s, int64_t now_ms);
/* 1 once after a TCP receiver came back, when every state should be sent. */
int osc_out_reconnected(osc_out_t *o);

uint64_t osc_out_sent(const osc_out_t *o);
uint64_t osc_out_failed(const osc_out_t *o);

#endif
