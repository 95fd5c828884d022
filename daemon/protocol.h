/* protocol: genred's ZeroMQ protocol, version 1, as data: its topics, what a
 * late subscriber is sent, the limits every program on the wire enforces,
 * and the parsing every receiver shares. genred, genre-hub, genre-sub and
 * genre-web link it, so topic names and limits are written here only. The
 * fields of each message are documented in messages.h (with README's
 * protocol section and genred(8)).
 *
 * Adding a topic (genre.track, say) is one enum name below and one row in
 * protocol.c's table; the builder of its body goes in messages.c. Sequence
 * numbers, snapshots, the hub's cache and every client's duplicate check
 * follow from the row.
 *
 * Snapshots: a subscriber that wants the current state subscribes, besides
 * its topics, to "snapshot/NONCE/PREFIX" (protocol_snapshot_subscription:
 * NONCE random, PREFIX a topic prefix, "" for all). The server answers with
 * its cached messages whose topic starts with PREFIX, each with the topic
 * frame "snapshot/NONCE/TOPIC" and the body unchanged, so only that
 * subscriber gets them. ZeroMQ resends a SUB's subscriptions when it
 * reconnects, so a subscriber gets a fresh snapshot after every reconnect. */
#ifndef GENRED_PROTOCOL_H
#define GENRED_PROTOCOL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

/* The model format's limits (nn/model.h; messages.c checks they agree). */
#define PROTOCOL_LABELS_MAX 256
#define PROTOCOL_LABEL_LEN  63
/* Bytes of a stream or host name (a genred config name is at most 63). */
#define PROTOCOL_NAME_LEN 63
/* Bytes of the longest topic name, with room for new topics. */
#define PROTOCOL_TOPIC_LEN 24
/* Bytes of one JSON body of every topic but genre.status. A genre.probs of
 * 256 labels of 63 bytes is about 25 kB. genred drops (and counts) a
 * message that would be larger; receivers drop larger ones as not the
 * protocol. */
#define PROTOCOL_MESSAGE_MAX (256 * 1024)
/* The most streams one genred runs (its config refuses more). genre.status
 * lists every stream in one message, so its own limit follows from this:
 * a radio monitor of 1000 stations still gets its status whole. */
#define PROTOCOL_STREAMS_MAX 1024
/* The most one stream can add to a genre.status body: every text field at
 * its longest (name 63 bytes, input 511, error, note and title 255, top 63)
 * and made only of control characters, which JSON writes as 6 bytes each
 * (about 8.4 kB; test_messages builds that stream and checks it). A real
 * stream takes 0.4 to 2 kB. */
#define PROTOCOL_STATUS_STREAM_MAX 9216
/* Bytes of a genre.status body: the process's fields and 1024 such streams,
 * 9 MiB. Why one large message rather than a status in parts: every
 * receiver (genre-sub, genre-web's page, genre-hub, the benchmarks, user
 * scripts) reads a status as the whole process at one instant; parts would
 * have to be matched up again in each of them, and one lost part would
 * show streams as gone. The cost is bounded: every receiving socket already
 * caps frames at 16 MiB (protocol_limits.h), the body is made every
 * status_interval (5 s), never cached for snapshots, and a typical stream
 * adds under 1 kB (600 streams: about 0.5 MB every 5 s). */
#define PROTOCOL_STATUS_MAX (64 * 1024 + PROTOCOL_STREAMS_MAX * PROTOCOL_STATUS_STREAM_MAX)
/* A snapshot subscription's nonce: 1 to this many of [A-Za-z0-9_-]. */
#define PROTOCOL_NONCE_LEN 32
#define PROTOCOL_SNAPSHOT  "snapshot/"
/* The longest subscription a server takes: "snapshot/NONCE/TOPIC". */
#define PROTOCOL_SUBSCRIPTION_MAX                                                                  \
    (sizeof PROTOCOL_SNAPSHOT - 1 + PROTOCOL_NONCE_LEN + 1 + PROTOCOL_TOPIC_LEN)

typedef enum {
    PROTOCOL_PROBS,
    PROTOCOL_CHANGE,
    PROTOCOL_TRACK,
    PROTOCOL_STATUS,
    PROTOCOL_HOST,
    PROTOCOL_HUB,
    PROTOCOL_TOPICS
} protocol_topic;

typedef enum { PROTOCOL_FROM_GENRED, PROTOCOL_FROM_HUB } protocol_sender;

typedef struct {
    const char *name; /* the topic frame */
    /* The field naming what a message is the latest of ("stream", "host");
     * NULL for a sender-wide report. */
    const char *key;
    int sequenced; /* carries seq and started_ms: receivers drop what they saw */
    int cached;    /* servers keep the latest per key and send it in snapshots */
    /* How long a cached message describes the present, for displays that
     * must not show a stopped genred as alive; 0: until the next one. */
    int64_t fresh_ms;
    protocol_sender from;
} protocol_topic_info;

const protocol_topic_info *protocol_topic_get(protocol_topic t);
const char *protocol_topic_name(protocol_topic t);
/* The topic a frame names exactly; -1 when it is none of the protocol's. */
int protocol_topic_find(const void *frame, size_t len);
/* The largest body of topic t: PROTOCOL_STATUS_MAX for genre.status,
 * PROTOCOL_MESSAGE_MAX for the others. */
size_t protocol_body_max(protocol_topic t);

/* Writes "snapshot/NONCE/PREFIX" with a fresh random NONCE. Its length, or
 * -1 when prefix is longer than a topic or out is too small. */
int protocol_snapshot_subscription(char *out, size_t size, const char *prefix);
/* Subscribes a SUB socket to the topics starting with prefix and to a
 * snapshot of them, as a client that wants the current state at once does.
 * 0, or -1 when prefix is longer than a topic (subscribed without a
 * snapshot) or ZeroMQ refused. */
int protocol_subscribe(void *socket, const char *prefix);
/* Whether frame (a subscription or a topic) is "snapshot/NONCE/REST" with a
 * valid NONCE and REST no longer than a topic; *rest_at is where REST starts. */
int protocol_snapshot_split(const void *frame, size_t len, size_t *rest_at);

/* protocol_parse's reason for a topic it does not know (perhaps a newer
 * protocol's: receivers may stay quiet about those). */
#define PROTOCOL_NOT_A_TOPIC "not a topic of the protocol"

/* One received message. */
typedef struct {
    protocol_topic topic;
    int snapshot;    /* it came in a snapshot */
    json_t *body;    /* the caller's reference: json_decref it */
    const char *key; /* the key field's value (in body); NULL for reports */
    /* From a sequenced topic; 0 when the sender predates them (such
     * messages are never taken for duplicates). */
    int64_t started_ms, seq;
} protocol_message;

/* Checks two frames against the protocol: a known topic (or a snapshot of
 * one), a body of at most protocol_body_max bytes that is UTF-8 JSON, an
 * object with "v": 1, the topic's key field a name of at most
 * PROTOCOL_NAME_LEN bytes, and seq/started_ms, where present, integers. 0
 * with *out filled, or -1 with *why saying what broke the rule. */
int protocol_parse(const void *topic, size_t topic_len, const void *body, size_t body_len,
                   protocol_message *out, const char **why);

/* Receives one whole message from a ZeroMQ socket (every frame of it, so the
 * next call starts at the next message) with zmq_msg_recv's flags, and
 * parses it. 1: the protocol's, in *m, its body frame in *body (the caller
 * closes it in any case); 0: something else, dropped, *why says what; -1:
 * nothing received (zmq_errno() says why). */
int protocol_recv(void *socket, int flags, protocol_message *m, zmq_msg_t *body, const char **why);

#endif
