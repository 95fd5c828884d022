/* bridge_streams: what genre-bridge remembers per stream: the state it
 * republishes (MQTT's retained state topic, OSC's /state), when it last
 * forwarded a genre.probs (the rate limit), and the sequence numbers it has
 * forwarded (so that a message genred resends is not forwarded twice).
 *
 * The duplicate rule is the protocol's: per (stream, topic), keep the
 * started_ms and seq of the last message taken; a message with the same
 * started_ms and a seq not above it has been seen. Another started_ms is a
 * genred that restarted. Messages without seq are always new.
 *
 * Owned by one thread. */
#ifndef GENRED_BRIDGE_STREAMS_H
#define GENRED_BRIDGE_STREAMS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The forwarded topics, by their last word. */
typedef enum { BRIDGE_PROBS, BRIDGE_CHANGE, BRIDGE_TRACK, BRIDGE_TOPICS } bridge_topic;

#define BRIDGE_NAME_LEN 64

typedef struct {
    char name[BRIDGE_NAME_LEN]; /* as genred names the stream */
    /* The name as an OSC address part and an MQTT topic level: characters
     * other than letters, digits, '-', '_' and '.' become '_'. */
    char safe[BRIDGE_NAME_LEN];
    int64_t probs_sent_ms; /* monotonic ms of the last forwarded genre.probs; -1: none */
    struct {
        int64_t started_ms, seq;
    } last[BRIDGE_TOPICS];
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

/* 1 when msg (of topic, for s) is new and now the latest, 0 when it was
 * seen (see above). */
int bridge_stream_is_new(bridge_stream *s, bridge_topic topic, json_t *msg);
/* Takes what msg says about the state: a change's genre, p and silence,
 * any message's title, a track's summary. */
void bridge_stream_update(bridge_stream *s, bridge_topic topic, json_t *msg);
/* The state as JSON text for MQTT (free() it), NULL without memory:
 * {"stream","genre","p","silence","since_ms","title","track"}. */
char *bridge_stream_state_json(const bridge_stream *s);

#endif
