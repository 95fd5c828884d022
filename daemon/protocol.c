#include "protocol.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* The one list of topic names. genre.probs goes stale within a few hops (2 s
 * is four default hops); genre.status every status_interval (5 s default). */
static const protocol_topic_info topics[] = {
    [PROTOCOL_PROBS] = {"genre.probs", "stream", 1, 1, 2000, PROTOCOL_FROM_GENRED},
    [PROTOCOL_CHANGE] = {"genre.change", "stream", 1, 1, 0, PROTOCOL_FROM_GENRED},
    /* The last song of each stream: a late subscriber learns what just
     * played, as it learns the last change. */
    [PROTOCOL_TRACK] = {"genre.track", "stream", 1, 1, 0, PROTOCOL_FROM_GENRED},
    [PROTOCOL_STATUS] = {"genre.status", NULL, 0, 1, 6000, PROTOCOL_FROM_GENRED},
    [PROTOCOL_HOST] = {"genre.host", "host", 1, 1, 0, PROTOCOL_FROM_HUB},
    [PROTOCOL_HUB] = {"genre.hub", NULL, 0, 0, 0, PROTOCOL_FROM_HUB},
};
_Static_assert(sizeof topics / sizeof *topics == PROTOCOL_TOPICS, "a row for every topic");

const protocol_topic_info *protocol_topic_get(protocol_topic t)
{
    return &topics[t];
}

const char *protocol_topic_name(protocol_topic t)
{
    return topics[t].name;
}

int protocol_topic_find(const void *frame, size_t len)
{
    for (int t = 0; t < PROTOCOL_TOPICS; t++)
        if (strlen(topics[t].name) == len && !memcmp(topics[t].name, frame, len)) return t;
    return -1;
}

size_t protocol_body_max(protocol_topic t)
{
    return t == PROTOCOL_STATUS ? PROTOCOL_STATUS_MAX : PROTOCOL_MESSAGE_MAX;
}

static int nonce_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

int protocol_snapshot_subscription(char *out, size_t size, const char *prefix)
{
    /* Unguessable enough that no other subscriber shares it by chance;
     * getrandom only fails on kernels before 3.17. */
    unsigned char r[8];
    if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        uint64_t x = (uint64_t)time(NULL) * 6364136223846793005u ^ (uint64_t)getpid() ^
                     (uint64_t)(uintptr_t)out;
        memcpy(r, &x, sizeof r);
    }
    if (strlen(prefix) > PROTOCOL_TOPIC_LEN) return -1;
    int n = snprintf(out, size, PROTOCOL_SNAPSHOT "%02x%02x%02x%02x%02x%02x%02x%02x/%s", r[0], r[1],
                     r[2], r[3], r[4], r[5], r[6], r[7], prefix);
    return n < 0 || (size_t)n >= size ? -1 : n;
}

int protocol_subscribe(void *socket, const char *prefix)
{
    char snapshot[PROTOCOL_SUBSCRIPTION_MAX + 1];
    if (zmq_setsockopt(socket, ZMQ_SUBSCRIBE, prefix, strlen(prefix))) return -1;
    int n = protocol_snapshot_subscription(snapshot, sizeof snapshot, prefix);
    return n < 0 ? -1 : zmq_setsockopt(socket, ZMQ_SUBSCRIBE, snapshot, (size_t)n);
}

int protocol_snapshot_split(const void *frame, size_t len, size_t *rest_at)
{
    const char *s = frame;
    size_t head = sizeof PROTOCOL_SNAPSHOT - 1, i = head;
    if (len < head || memcmp(s, PROTOCOL_SNAPSHOT, head)) return 0;
    while (i < len && i - head < PROTOCOL_NONCE_LEN && nonce_char(s[i]))
        i++;
    if (i == head || i >= len || s[i] != '/' || len - (i + 1) > PROTOCOL_TOPIC_LEN) return 0;
    *rest_at = i + 1;
    return 1;
}

/* The key field of a keyed topic: a string of 1 to PROTOCOL_NAME_LEN bytes. */
static const char *key_of(json_t *body, const char *field)
{
    const char *k = json_string_value(json_object_get(body, field));
    size_t n = k ? strlen(k) : 0;
    return n && n <= PROTOCOL_NAME_LEN && n == json_string_length(json_object_get(body, field))
               ? k
               : NULL;
}

/* seq and started_ms: both integers (seq from 1), or both absent. */
static int sequence_of(json_t *body, protocol_message *m)
{
    json_t *seq = json_object_get(body, "seq"), *started = json_object_get(body, "started_ms");
    m->seq = m->started_ms = 0;
    if (!seq && !started) return 0;
    if (!json_is_integer(seq) || !json_is_integer(started) || json_integer_value(seq) < 1)
        return -1;
    m->seq = json_integer_value(seq);
    m->started_ms = json_integer_value(started);
    return 0;
}

static int refuse(const char **why, const char *what)
{
    *why = what;
    return -1;
}

int protocol_parse(const void *topic, size_t topic_len, const void *body, size_t body_len,
                   protocol_message *out, const char **why)
{
    memset(out, 0, sizeof *out);
    size_t rest = 0;
    out->snapshot = protocol_snapshot_split(topic, topic_len, &rest);
    int t = protocol_topic_find((const char *)topic + rest, topic_len - rest);
    if (t < 0) return refuse(why, PROTOCOL_NOT_A_TOPIC);
    out->topic = (protocol_topic)t;
    if (body_len > protocol_body_max(out->topic))
        return refuse(why, "larger than the protocol's limit for its topic");
    /* jansson refuses text that is not UTF-8 and, with this flag, a key
     * given twice (which receivers could read differently). */
    out->body = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, NULL);
    json_t *v = json_object_get(out->body, "v");
    const char *what = NULL;
    if (!json_is_object(out->body))
        what = "not a UTF-8 JSON object";
    else if (!json_is_integer(v) || json_integer_value(v) != 1)
        what = "no \"v\": 1";
    else if (topics[t].key && !(out->key = key_of(out->body, topics[t].key)))
        what = "no valid key field (stream or host name)";
    else if (topics[t].sequenced && sequence_of(out->body, out))
        what = "seq or started_ms not an integer";
    if (!what) return 0;
    json_decref(out->body);
    out->body = NULL;
    return refuse(why, what);
}

int protocol_recv(void *socket, int flags, protocol_message *m, zmq_msg_t *body, const char **why)
{
    zmq_msg_t topic;
    zmq_msg_init(&topic);
    zmq_msg_init(body);
    memset(m, 0, sizeof *m);
    if (zmq_msg_recv(&topic, socket, flags) < 0) {
        zmq_msg_close(&topic);
        return -1;
    }
    /* ZeroMQ delivers a message whole: the rest of its frames are here. */
    int frames = 1;
    if (zmq_msg_more(&topic) && zmq_msg_recv(body, socket, 0) >= 0) frames++;
    int more = frames == 2 && zmq_msg_more(body);
    while (more) {
        zmq_msg_t extra;
        zmq_msg_init(&extra);
        more = zmq_msg_recv(&extra, socket, 0) >= 0 && zmq_msg_more(&extra);
        zmq_msg_close(&extra);
        frames++;
    }
    int ok = 0;
    if (frames != 2)
        *why = "not two frames";
    else
        ok = !protocol_parse(zmq_msg_data(&topic), zmq_msg_size(&topic), zmq_msg_data(body),
                             zmq_msg_size(body), m, why);
    zmq_msg_close(&topic);
    return ok;
}
