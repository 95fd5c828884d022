/* genre-web's pieces without sockets: who gets a connection (web_conns:
 * the stream limit and its local reserve, the per-address cap for peers off
 * this machine, the request deadline and the push-out of the longest
 * waiting), the fan-out's ring and cache, and the history's runs and its
 * room for the protocol's limits. Addresses
 * off this machine are only data here; nothing is sent to them. */
#include "check.h"
#include "protocol.h"
#include "web_conns.h"
#include "web_fanout.h"
#include "web_history.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static struct sockaddr_in ipv4(const char *dotted)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, dotted, &a.sin_addr);
    return a;
}

static web_conn *open_from(web_conns_t *t, const char *dotted, int fd, int64_t now)
{
    struct sockaddr_in a = ipv4(dotted);
    int evict;
    web_conn *c = web_conns_open(t, fd, (const struct sockaddr *)&a, now, &evict);
    CHECK(evict == -1);
    return c;
}

/* 6 streams, the last 2 for loopback: remote peers get 4, local ones all. */
static void test_stream_reserve(void)
{
    web_limits l = web_limits_default();
    l.max_streams = 6;
    l.local_reserve = 2;
    web_conns_t *t = web_conns_create(&l, (char[64]){0}, 64);
    REQUIRE(t);
    char addr[32];
    for (int i = 0; i < 4; i++) {
        snprintf(addr, sizeof addr, "192.0.2.%d", i + 1);
        CHECK(web_conns_request(t, open_from(t, addr, 10 + i, 0), 1) == WEB_ADMIT);
    }
    web_conn *remote = open_from(t, "192.0.2.9", 20, 0);
    CHECK(web_conns_request(t, remote, 1) == WEB_STREAMS_FULL);
    CHECK(web_conns_request(t, remote, 0) == WEB_ADMIT); /* the page still loads */
    web_conn *local[3];
    for (int i = 0; i < 3; i++)
        local[i] = open_from(t, "127.0.0.1", 30 + i, 0);
    CHECK(web_conns_request(t, local[0], 1) == WEB_ADMIT);
    CHECK(web_conns_request(t, local[1], 1) == WEB_ADMIT);
    CHECK(web_conns_request(t, local[2], 1) == WEB_STREAMS_FULL);
    CHECK(web_conns_streams(t) == 6);
    web_conns_close(t, local[0]);
    CHECK(web_conns_request(t, local[2], 1) == WEB_ADMIT);
    web_conns_destroy(t);
}

/* One remote address has at most per_remote_address streams and requests
 * at once; loopback and other addresses are not affected. */
static void test_per_address(void)
{
    web_limits l = web_limits_default();
    l.per_remote_address = 3;
    web_conns_t *t = web_conns_create(&l, (char[64]){0}, 64);
    REQUIRE(t);
    web_conn *c[4];
    for (int i = 0; i < 4; i++)
        c[i] = open_from(t, "198.51.100.7", 10 + i, 0);
    CHECK(web_conns_request(t, c[0], 0) == WEB_ADMIT);
    CHECK(web_conns_request(t, c[1], 1) == WEB_ADMIT);
    CHECK(web_conns_request(t, c[2], 0) == WEB_ADMIT);
    CHECK(web_conns_request(t, c[3], 0) == WEB_ADDRESS_FULL);
    CHECK(web_conns_request(t, open_from(t, "198.51.100.8", 20, 0), 0) == WEB_ADMIT);
    for (int i = 0; i < 5; i++)
        CHECK(web_conns_request(t, open_from(t, "127.0.0.1", 30 + i, 0), 0) == WEB_ADMIT);
    /* IPv4-mapped IPv6 is the same peer. */
    struct sockaddr_in6 mapped = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "::ffff:198.51.100.7", &mapped.sin6_addr);
    int evict;
    web_conn *m = web_conns_open(t, 40, (const struct sockaddr *)&mapped, 0, &evict);
    CHECK(web_conns_request(t, m, 0) == WEB_ADDRESS_FULL);
    web_conns_close(t, c[0]);
    web_conns_close(t, c[3]);
    CHECK(web_conns_request(t, m, 0) == WEB_ADMIT);
    web_conns_destroy(t);
}

/* A connection must send its request within the deadline from connect, and
 * again from the end of each response; cut ones are given once. */
static void test_deadline(void)
{
    web_limits l = web_limits_default();
    l.request_deadline_ms = 1000;
    web_conns_t *t = web_conns_create(&l, (char[64]){0}, 64);
    REQUIRE(t);
    web_conn *slow = open_from(t, "127.0.0.1", 7, 0);
    web_conn *page = open_from(t, "127.0.0.1", 8, 500);
    web_conn *stream = open_from(t, "127.0.0.1", 9, 0);
    (void)slow;
    CHECK(web_conns_request(t, page, 0) == WEB_ADMIT);
    CHECK(web_conns_request(t, stream, 1) == WEB_ADMIT);
    int fds[4];
    CHECK(web_conns_overdue(t, 1000, fds, 4) == 0);
    CHECK(web_conns_overdue(t, 1001, fds, 4) == 1 && fds[0] == 7);
    CHECK(web_conns_overdue(t, 1002, fds, 4) == 0); /* given once */
    web_conns_response_done(t, page, 1200);         /* keep-alive: waits again */
    CHECK(web_conns_overdue(t, 2100, fds, 4) == 0);
    CHECK(web_conns_overdue(t, 2201, fds, 4) == 1 && fds[0] == 8);
    CHECK(web_conns_overdue(t, 60000, fds, 4) == 0); /* a stream is never overdue */
    CHECK(web_conns_cut(t) == 2);
    web_conns_destroy(t);
}

/* When too many connections wait, a new one pushes out the one that has
 * waited longest; one that has sent its request is not pushed out. */
static void test_push_out(void)
{
    web_limits l = web_limits_default();
    l.waiting_max = 3;
    web_conns_t *t = web_conns_create(&l, (char[64]){0}, 64);
    REQUIRE(t);
    struct sockaddr_in lo = ipv4("127.0.0.1");
    const struct sockaddr *peer = (const struct sockaddr *)&lo;
    int evict;
    web_conn *first = web_conns_open(t, 10, peer, 50, &evict);
    web_conns_open(t, 11, peer, 99, &evict);
    web_conns_open(t, 12, peer, 98, &evict);
    CHECK(evict == -1);
    CHECK(web_conns_request(t, first, 1) == WEB_ADMIT);
    web_conns_open(t, 13, peer, 100, &evict);
    CHECK(evict == -1); /* the stream left the waiting ones */
    web_conns_open(t, 14, peer, 101, &evict);
    CHECK(evict == 12);
    web_conns_open(t, 15, peer, 102, &evict);
    CHECK(evict == 11);
    CHECK(web_conns_cut(t) == 2);
    web_conns_destroy(t);
}

/* A browser gets the fresh cached frames published before it joined, then
 * the ring; one that falls a ring behind skips ahead. */
static void test_fanout(void)
{
    web_fanout_t *f = web_fanout_create((char[64]){0}, 64);
    REQUIRE(f);
    const char *status = protocol_topic_name(PROTOCOL_STATUS),
               *probs = protocol_topic_name(PROTOCOL_PROBS),
               *change = protocol_topic_name(PROTOCOL_CHANGE);
    web_fanout_publish(f, status, "", 6000, "S1", 2, 0);
    web_fanout_publish(f, probs, "a", 2000, "P1", 2, 0);
    web_fanout_publish(f, probs, "a", 2000, "P2", 2, 1000);
    web_fanout_publish(f, change, "a", 0, "C1", 2, 1000);
    web_cursor c;
    web_fanout_join(f, &c);
    char buf[64];
    size_t len;
    CHECK(web_fanout_next(f, &c, buf, 1, &len, 2500) == -1 && len == 2); /* too small */
    CHECK(web_fanout_next(f, &c, buf, sizeof buf, &len, 2500) == 1 && !memcmp(buf, "S1", 2));
    /* P2 is the latest of (probs, a) and fresh; C1 is never cached. */
    CHECK(web_fanout_next(f, &c, buf, sizeof buf, &len, 2500) == 1 && !memcmp(buf, "P2", 2));
    CHECK(web_fanout_next(f, &c, buf, sizeof buf, &len, 2500) == 0);
    web_fanout_publish(f, probs, "a", 2000, "P3", 2, 2600);
    CHECK(web_fanout_next(f, &c, buf, sizeof buf, &len, 2600) == 1 && !memcmp(buf, "P3", 2));

    web_cursor late;
    web_fanout_join(f, &late);
    CHECK(web_fanout_next(f, &late, buf, sizeof buf, &len, 9000) == 0); /* all stale */
    for (int i = 0; i < 300; i++) {
        char text[16];
        int n = snprintf(text, sizeof text, "F%d", i);
        web_fanout_publish(f, change, "a", 0, text, (size_t)n, 9000);
    }
    CHECK(web_fanout_next(f, &c, buf, sizeof buf, &len, 9000) == 1);
    buf[len] = '\0';
    CHECK(!strcmp(buf, "F172")); /* 300 - 128 */
    unsigned long published, skipped;
    web_fanout_counts(f, &published, &skipped);
    CHECK(published == 305 && skipped == 172);
    web_fanout_destroy(f);
}

/* The frame of the one stream recorded, whichever slot holds it. */
static int history_frame(web_history_t *h, int64_t now, char *buf, size_t cap, size_t *len)
{
    for (int i = 0; i < WEB_HISTORY_STREAMS; i++) {
        int rc = web_history_frame(h, i, now, buf, cap, len);
        if (rc) return rc;
    }
    return 0;
}

/* Runs of one label, a new run after a pause, labels that change start
 * again, and the event the page reads. */
static void test_history(void)
{
    web_history_t *h = web_history_create((char[64]){0}, 64);
    REQUIRE(h);
    const char *labels = "[\"jazz\",\"rock\"]";
    web_history_record(h, "\"main\"", labels, 0, 1000);
    web_history_record(h, "\"main\"", labels, 0, 1500);
    web_history_record(h, "\"main\"", labels, 1, 2000);
    web_history_record(h, "\"main\"", labels, -1, 9000); /* after a pause */
    char buf[1024];
    size_t len;
    CHECK(history_frame(h, 10000, buf, 8, &len) == -1 && len > 8);
    REQUIRE(history_frame(h, 10000, buf, sizeof buf, &len) == 1);
    buf[len] = '\0';
    CHECK(!strcmp(buf, "event: genre-web.history\ndata: {\"v\":1,\"stream\":\"main\","
                       "\"labels\":[\"jazz\",\"rock\"],\"segments\":[[9000,8500,0],"
                       "[8500,8000,1],[1000,1000,-1]]}\n\n"));
    CHECK(history_frame(h, 9000 + 5 * 60 * 1000 + 1, buf, sizeof buf, &len) == 0);
    web_history_record(h, "\"main\"", "[\"pop\"]", 0, 9500);
    REQUIRE(history_frame(h, 10000, buf, sizeof buf, &len) == 1);
    buf[len] = '\0';
    CHECK(strstr(buf, "\"segments\":[[500,500,0]]") != NULL);
    web_history_destroy(h);
}

/* Writes a name of n control bytes as JSON, the longest it can be. */
static size_t escaped_name(char *out, int n)
{
    size_t k = 0;
    out[k++] = '"';
    for (int b = 0; b < n; b++, k += 6)
        memcpy(out + k, "\\u0001", 6);
    out[k++] = '"';
    return k;
}

/* The protocol's largest label set and longest stream name, escaped as
 * badly as JSON allows: remembered and sent whole. */
static void test_history_limits(void)
{
    static char labels[WEB_LABELS_JSON_MAX], stream[WEB_STREAM_JSON_MAX],
        buf[2 * WEB_LABELS_JSON_MAX];
    size_t n = 0;
    labels[n++] = '[';
    for (int i = 0; i < PROTOCOL_LABELS_MAX; i++) {
        if (i) labels[n++] = ',';
        n += escaped_name(labels + n, PROTOCOL_LABEL_LEN);
    }
    labels[n++] = ']';
    CHECK(n == sizeof labels - 1);
    CHECK(escaped_name(stream, PROTOCOL_NAME_LEN) == sizeof stream - 1);
    web_history_t *h = web_history_create((char[64]){0}, 64);
    REQUIRE(h);
    web_history_record(h, stream, labels, 0, 1000);
    size_t len;
    REQUIRE(history_frame(h, 1000, buf, sizeof buf, &len) == 1);
    buf[len] = '\0';
    CHECK(strstr(buf, labels) && strstr(buf, stream));
    web_history_destroy(h);
}

int main(void)
{
    test_stream_reserve();
    test_per_address();
    test_deadline();
    test_push_out();
    test_fanout();
    test_history();
    test_history_limits();
    return check_report("test_web_parts");
}
