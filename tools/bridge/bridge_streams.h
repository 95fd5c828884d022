/* bridge_streams: what genre-bridge remembers per stream: the state it
 * republishes (MQTT's retained state topic, OSC's /state) and when it last
 * forwarded a genre.probs (the rate limit). Which messages were already
 * forwarded is the protocol's business (protocol_seen.h).
 *
 * Owned by one thread. */
#ifndef GENRED_BRIDGE_STREAMS_H
#define GENRED_BRIDGE_STREAMS_H

#include "protocol.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Room for a stream name or a label, as the protocol limits them. */
#define BRIDGE_NAME_LEN (PROTOCOL_NAME_LEN + 1)
_Static_assert(PROTOCOL_LABEL_LEN <= PROTOCOL_NAME_LEN, "labels fit BRIDGE_NAME_LEN");

typedef struct {
    char name[BRIDGE_NAME_LEN]; /* as genred names the stream */
    /* The name as an OSC address part and an MQTT topic level: characters
     * other than letters, digits, '-', '_' and '.' become '_'. */
    char safe[BRIDGE_NAME_LEN];
    int64_t probs_sent_ms; /* monotonic ms of the last forwarded genre.probs; -1: none */
    /* The state, from genre.change (and a title from any message); has_state
     * once a change was seen. */
    int has_state;
    char genre[BRIDGE_NAME_LEN]; /* "" for silence or no genre yet */
    double p;
    int silence;
    int64_t since_ms; /* time_ms of the change */
    char title[256];  /* "" when the stream names none */
    json_t *track;    /* the last genre.track's summary, or NULL */
} bridge_stream;

typedef struct bridge_streams bridge_streams_t;

/* name with every character but letters, digits, '-', '_' and '.' made
 * '_', cut to fit out (size bytes). */
void bridge_safe_name(char *out, size_t size, const char *name);

/* At most `capacity` streams; NULL without memory. */
bridge_streams_t *bridge_streams_create(unsigned capacity);
void bridge_streams_destroy(bridge_streams_t *t);

/* The stream of that name, added if new. NULL when the name is empty or
 * too long, or the table is full. */
bridge_stream *bridge_streams_get(bridge_streams_t *t, const char *name);
unsigned bridge_streams_count(const bridge_streams_t *t);
bridge_stream *bridge_streams_at(bridge_streams_t *t, unsigned i);

/* Takes what msg says about the state: a change's genre, p and silence,
 * any message's title, a track's summary. */
void bridge_stream_update(bridge_stream *s, protocol_topic topic, json_t *msg);
/* The state as JSON text for MQTT (free() it), NULL without memory:
 * {"stream","genre","p","silence","since_ms","title","track"}. */
char *bridge_stream_state_json(const bridge_stream *s);

#endif
