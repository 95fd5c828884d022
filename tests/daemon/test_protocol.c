/* protocol: the topic table, snapshot subscriptions, what receivers refuse,
 * the duplicate rule (protocol_seen) and the snapshot queue's budget, without
 * sockets. */
#include "check.h"
#include "protocol.h"
#include "protocol_seen.h"
#include "snapshot_queue.h"

#include <errno.h>
#include <string.h>

static void test_table(void)
{
    for (int t = 0; t < PROTOCOL_TOPICS; t++) {
        const char *name = protocol_topic_name((protocol_topic)t);
        CHECK(strlen(name) <= PROTOCOL_TOPIC_LEN);
        CHECK(protocol_topic_find(name, strlen(name)) == t);
        /* A topic's prefix is no topic: frames name topics exactly. */
        CHECK(protocol_topic_find(name, strlen(name) - 1) == -1);
        const protocol_topic_info *info = protocol_topic_get((protocol_topic)t);
        CHECK(!info->sequenced || info->key); /* seq counts per key */
    }
    CHECK(!strcmp(protocol_topic_name(PROTOCOL_PROBS), "genre.probs"));
    CHECK(protocol_topic_find("other.topic", 11) == -1);
    CHECK(protocol_topic_find("", 0) == -1);
}

static void test_snapshot_names(void)
{
    char a[128], b[128];
    int n = protocol_snapshot_subscription(a, sizeof a, "genre.change");
    REQUIRE(n > 0 && (size_t)n == strlen(a) && (size_t)n <= PROTOCOL_SUBSCRIPTION_MAX);
    REQUIRE(protocol_snapshot_subscription(b, sizeof b, "genre.change") > 0);
    CHECK(strcmp(a, b)); /* fresh nonces */
    size_t rest = 0;
    CHECK(protocol_snapshot_split(a, strlen(a), &rest) && !strcmp(a + rest, "genre.change"));
    CHECK(protocol_snapshot_split("snapshot/x-_9/", 14, &rest) && rest == 14);
    CHECK(protocol_snapshot_subscription(a, sizeof a, "genre.this.prefix.is.too.long") == -1);
    CHECK(protocol_snapshot_subscription(a, 20, "") == -1);
    const char *bad[] = {"snapshot/",
                         "snapshot//genre.",
                         "snapshot/abc",
                         "snapshot/a.b/",
                         "snapshots/a/",
                         "genre.probs",
                         "snapshot/a/genre.this.prefix.is.too.long"};
    for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(!protocol_snapshot_split(bad[i], strlen(bad[i]), &rest));
    char nonce[64] = "snapshot/";
    memset(nonce + 9, 'n', PROTOCOL_NONCE_LEN + 1);
    strcpy(nonce + 9 + PROTOCOL_NONCE_LEN + 1, "/");
    CHECK(!protocol_snapshot_split(nonce, strlen(nonce), &rest)); /* nonce too long */
}

/* 0 and the message, or -1 and why. */
static int parse(const char *topic, const char *body, protocol_message *m)
{
    const char *why = NULL;
    int rc = protocol_parse(topic, strlen(topic), body, strlen(body), m, &why);
    CHECK(rc == 0 ? m->body != NULL : why && !m->body);
    return rc;
}

static void test_parse(void)
{
    protocol_message m;
    REQUIRE(!parse("genre.probs", "{\"v\":1,\"stream\":\"a/x\",\"seq\":3,\"started_ms\":9}", &m));
    CHECK(m.topic == PROTOCOL_PROBS && !m.snapshot && !strcmp(m.key, "a/x") && m.seq == 3 &&
          m.started_ms == 9);
    json_decref(m.body);
    REQUIRE(!parse("snapshot/ab12/genre.change", "{\"v\":1,\"stream\":\"s\"}", &m));
    CHECK(m.topic == PROTOCOL_CHANGE && m.snapshot && m.seq == 0); /* an older genred */
    json_decref(m.body);
    REQUIRE(!parse("genre.status", "{\"v\":1,\"streams\":[]}", &m));
    CHECK(m.topic == PROTOCOL_STATUS && !m.key);
    json_decref(m.body);
    const char *bad[][2] = {
        {"other.topic", "{\"v\":1}"},
        {"genre.probsx", "{\"v\":1,\"stream\":\"s\"}"},
        {"genre.probs", "not json"},
        {"genre.probs", "{\"v\":1,\"stream\":\"caf\xe9\"}"}, /* Latin-1, not UTF-8 */
        {"genre.probs", "[1]"},
        {"genre.probs", "{\"stream\":\"s\"}"},
        {"genre.probs", "{\"v\":2,\"stream\":\"s\"}"},
        {"genre.probs", "{\"v\":1}"},
        {"genre.probs", "{\"v\":1,\"stream\":\"\"}"},
        {"genre.probs", "{\"v\":1,\"stream\":\"s\",\"seq\":\"3\",\"started_ms\":1}"},
        {"genre.probs", "{\"v\":1,\"stream\":\"s\",\"seq\":3}"},
        {"genre.probs", "{\"v\":1,\"stream\":\"s\",\"seq\":0,\"started_ms\":1}"},
        {"genre.probs", "{\"v\":1,\"v\":1,\"stream\":\"s\"}"},
        {"genre.host", "{\"v\":1,\"stream\":\"s\"}"},
    };
    for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(parse(bad[i][0], bad[i][1], &m) == -1);
    char name[PROTOCOL_NAME_LEN + 40];
    snprintf(name, sizeof name, "{\"v\":1,\"stream\":\"%0*d\"}", PROTOCOL_NAME_LEN + 1, 0);
    CHECK(parse("genre.probs", name, &m) == -1);
    /* Larger than the limit, whatever it holds. */
    size_t big = PROTOCOL_MESSAGE_MAX + 1;
    char *huge = malloc(big + 1);
    REQUIRE(huge);
    memset(huge, ' ', big);
    memcpy(huge, "{\"v\":1,\"stream\":\"s\"}", 20);
    huge[big] = '\0';
    CHECK(parse("genre.probs", huge, &m) == -1);
    free(huge);
}

/* Sends frames (NULL-terminated) as one message. */
static void send_frames(void *sock, const char *const *frames)
{
    for (; *frames; frames++)
        zmq_send(sock, *frames, strlen(*frames), frames[1] ? ZMQ_SNDMORE : 0);
}

/* protocol_recv takes whole messages, so a bad one never shifts the next. */
static void test_recv(void)
{
    void *ctx = zmq_ctx_new(), *out = zmq_socket(ctx, ZMQ_PAIR), *in = zmq_socket(ctx, ZMQ_PAIR);
    REQUIRE(!zmq_bind(in, "inproc://test-protocol") && !zmq_connect(out, "inproc://test-protocol"));
    const char *good = "{\"v\":1,\"stream\":\"s\"}";
    const char *one[] = {"genre.probs", NULL}, *five[] = {"genre.probs", good, "a", "b", "c", NULL},
               *two[] = {"genre.change", good, NULL};
    send_frames(out, one);
    send_frames(out, five);
    send_frames(out, two);
    protocol_message m;
    zmq_msg_t body;
    const char *why = NULL;
    CHECK(protocol_recv(in, 0, &m, &body, &why) == 0 && !strcmp(why, "not two frames"));
    zmq_msg_close(&body);
    CHECK(protocol_recv(in, 0, &m, &body, &why) == 0);
    zmq_msg_close(&body);
    CHECK(protocol_recv(in, 0, &m, &body, &why) == 1 && m.topic == PROTOCOL_CHANGE &&
          zmq_msg_size(&body) == strlen(good));
    json_decref(m.body);
    zmq_msg_close(&body);
    CHECK(protocol_recv(in, ZMQ_DONTWAIT, &m, &body, &why) == -1 && zmq_errno() == EAGAIN);
    zmq_msg_close(&body);
    zmq_close(in);
    zmq_close(out);
    zmq_ctx_term(ctx);
}

/* protocol_subscribe: the topic, then its snapshot request. */
static void test_subscribe(void)
{
    void *ctx = zmq_ctx_new(), *pub = zmq_socket(ctx, ZMQ_XPUB), *sub = zmq_socket(ctx, ZMQ_SUB);
    REQUIRE(!zmq_bind(pub, "inproc://test-subscribe") &&
            !zmq_connect(sub, "inproc://test-subscribe"));
    CHECK(protocol_subscribe(sub, "genre.change") == 0);
    CHECK(protocol_subscribe(sub, "genre.a.prefix.longer.than.a.topic") == -1);
    char frame[128];
    int n = zmq_recv(pub, frame, sizeof frame, 0);
    CHECK(n == 13 && !memcmp(frame, "\1genre.change", 13));
    n = zmq_recv(pub, frame, sizeof frame, 0);
    size_t rest = 0;
    CHECK(n > 1 && frame[0] == 1 && protocol_snapshot_split(frame + 1, (size_t)n - 1, &rest) &&
          (size_t)n - 1 - rest == 12 && !memcmp(frame + 1 + rest, "genre.change", 12));
    zmq_close(sub);
    zmq_close(pub);
    zmq_ctx_term(ctx);
}

static protocol_message message(protocol_topic t, const char *key, int64_t started, int64_t seq)
{
    protocol_message m = {t, 0, NULL, key, started, seq};
    return m;
}

static void test_seen(void)
{
    protocol_seen_t *s = protocol_seen_create(3);
    REQUIRE(s);
    protocol_message a5 = message(PROTOCOL_CHANGE, "a", 100, 5);
    CHECK(protocol_seen_check(s, &a5) == 1);
    CHECK(protocol_seen_check(s, &a5) == 0); /* the same again */
    protocol_message a4 = message(PROTOCOL_CHANGE, "a", 100, 4), a6 = a5;
    a6.seq = 6;
    CHECK(protocol_seen_check(s, &a4) == 0); /* older */
    CHECK(protocol_seen_check(s, &a6) == 1);
    protocol_message probs_a5 = message(PROTOCOL_PROBS, "a", 100, 5),
                     b1 = message(PROTOCOL_CHANGE, "b", 100, 1);
    CHECK(protocol_seen_check(s, &probs_a5) == 1); /* topics count apart */
    CHECK(protocol_seen_check(s, &b1) == 1);       /* and streams */
    protocol_message restarted = message(PROTOCOL_CHANGE, "a", 200, 1);
    CHECK(protocol_seen_check(s, &restarted) == 1);
    CHECK(protocol_seen_check(s, &restarted) == 0);
    protocol_message old = message(PROTOCOL_CHANGE, "a", 0, 0),
                     status = message(PROTOCOL_STATUS, NULL, 0, 0);
    CHECK(protocol_seen_check(s, &old) == 1 && protocol_seen_check(s, &old) == 1);
    CHECK(protocol_seen_check(s, &status) == 1 && protocol_seen_check(s, &status) == 1);
    /* Full (3 pairs): a fourth starts it afresh, and it goes on working. */
    protocol_message c1 = message(PROTOCOL_CHANGE, "c", 100, 1);
    CHECK(protocol_seen_check(s, &c1) == 1);
    CHECK(protocol_seen_check(s, &c1) == 0);
    CHECK(protocol_seen_check(s, &restarted) == 1); /* forgotten: taken once more */
    CHECK(protocol_seen_check(s, &restarted) == 0);
    protocol_seen_destroy(s);
}

/* A subscription frame ("\1topic"), or with subscribe 0 an unsubscription. */
static int take(snapshot_queue_t *q, int subscribe, const char *topic)
{
    char frame[128];
    frame[0] = (char)subscribe;
    snprintf(frame + 1, sizeof frame - 1, "%s", topic);
    return snapshot_queue_take(q, frame, 1 + strlen(topic));
}

static void test_queue(void)
{
    snapshot_queue_t *q = snapshot_queue_create(2, 1000, 0);
    REQUIRE(q);
    CHECK(take(q, 1, "genre.probs") == 1 && snapshot_queue_pending(q) == 0);
    CHECK(snapshot_queue_take(q, "\2data", 5) == -1 && snapshot_queue_take(q, "", 0) == -1);
    CHECK(take(q, 1, "snapshot/n1/genre.") == 1 && snapshot_queue_pending(q) == 1);
    CHECK(take(q, 1, "snapshot/n1/genre.") == 1 && snapshot_queue_pending(q) == 1); /* merged */
    snapshot_request *r = snapshot_queue_next(q, 0);
    REQUIRE(r);
    CHECK(!strcmp(r->reply, "snapshot/n1/") && !strcmp(r->prefix, "genre."));
    CHECK(snapshot_request_wants(r, "genre.probs") && !snapshot_request_wants(r, "other"));
    char topic[128];
    CHECK(snapshot_request_topic(r, "genre.probs", topic, sizeof topic) == 23 &&
          !strcmp(topic, "snapshot/n1/genre.probs"));
    r->cursor = 1; /* begun: a resubscription is a new request */
    CHECK(take(q, 1, "snapshot/n1/genre.") == 1 && snapshot_queue_pending(q) == 2);
    CHECK(take(q, 1, "snapshot/n2/") == 1 && snapshot_queue_dropped(q) == 1);
    CHECK(snapshot_queue_taken(q) == 2);
    /* The budget: 1000 bytes a second, at most a second's worth banked. */
    snapshot_queue_spend(q, 1500);
    CHECK(!snapshot_queue_next(q, 0));
    CHECK(!snapshot_queue_next(q, 400)); /* -100 */
    CHECK(snapshot_queue_next(q, 600) == r);
    snapshot_queue_done(q);
    r = snapshot_queue_next(q, 600);
    CHECK(r && r->cursor == 0);
    snapshot_queue_spend(q, 100);
    CHECK(!snapshot_queue_next(q, 600));
    CHECK(snapshot_queue_next(q, 100000) == r); /* an hour idle banks one second */
    snapshot_queue_spend(q, 1001);
    CHECK(!snapshot_queue_next(q, 100000));
    snapshot_queue_done(q);
    CHECK(snapshot_queue_pending(q) == 0 && !snapshot_queue_next(q, 200000));
    /* Unsubscribed before its turn: dropped, others kept in order. */
    CHECK(take(q, 1, "snapshot/a/") == 1 && take(q, 1, "snapshot/b/") == 1);
    CHECK(take(q, 0, "snapshot/a/") == 0 && snapshot_queue_pending(q) == 1);
    r = snapshot_queue_next(q, 300000);
    CHECK(r && !strcmp(r->reply, "snapshot/b/"));
    snapshot_queue_destroy(q);
}

int main(void)
{
    test_table();
    test_snapshot_names();
    test_parse();
    test_recv();
    test_subscribe();
    test_seen();
    test_queue();
    return check_report("test_protocol");
}
