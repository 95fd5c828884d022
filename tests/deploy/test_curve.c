/* CURVE for remote subscribers, over real ZeroMQ sockets on loopback TCP:
 * keys written by curve_generate_keys load back; loose permissions, foreign
 * owners and malformed keys are refused with messages naming the file; with
 * an allow-list only listed clients receive, and without one any client that
 * knows the server key does; plain-text subscribers never receive. */
#include "check.h"
#include "curve.h"

#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static char dir[64];

static void write_file(const char *name, const char *text, mode_t mode, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fputs(text, f);
    fclose(f);
    REQUIRE(chmod(path, mode) == 0);
}

static void read_key(const char *path, char key[CURVE_KEY_Z85_LEN + 1])
{
    FILE *f = fopen(path, "r");
    REQUIRE(f);
    char line[256];
    key[0] = '\0';
    while (fgets(line, sizeof line, f))
        if (line[0] != '#' && strlen(line) >= CURVE_KEY_Z85_LEN) {
            memcpy(key, line, CURVE_KEY_Z85_LEN);
            key[CURVE_KEY_Z85_LEN] = '\0';
        }
    fclose(f);
    REQUIRE(strlen(key) == CURVE_KEY_Z85_LEN);
}

/* curve_create must fail, and its message must contain `want`. */
static void expect_refused(const char *secret, const char *allow, const char *want)
{
    char err[512] = "";
    void *ctx = zmq_ctx_new();
    curve_t *c = curve_create(ctx, secret, allow, err, sizeof err);
    CHECK(c == NULL);
    if (!strstr(err, want)) fprintf(stderr, "message '%s' lacks '%s'\n", err, want);
    CHECK(strstr(err, want) != NULL);
    curve_destroy(c);
    zmq_ctx_term(ctx);
}

static void test_keys_and_refusals(void)
{
    char err[512] = "", secret[128], public[128], path[128], allow[128];
    REQUIRE(curve_generate_keys(dir, err, sizeof err) == 0);
    snprintf(secret, sizeof secret, "%s/curve.key", dir);
    snprintf(public, sizeof public, "%s/curve.pub", dir);
    struct stat st;
    REQUIRE(stat(secret, &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(stat(public, &st) == 0);
    CHECK((st.st_mode & 0777) == 0644);
    CHECK(curve_generate_keys(dir, err, sizeof err) == -1);
    CHECK(strstr(err, "curve.key") && strstr(err, "exists"));

    void *ctx = zmq_ctx_new();
    curve_t *c = curve_create(ctx, secret, NULL, err, sizeof err);
    REQUIRE(c);
    char expected[CURVE_KEY_Z85_LEN + 1];
    read_key(public, expected);
    CHECK(strcmp(curve_public_key(c), expected) == 0);
    CHECK(curve_allowed(c) == 0);
    curve_destroy(c);
    zmq_ctx_term(ctx);

    REQUIRE(chmod(secret, 0640) == 0);
    expect_refused(secret, NULL, "mode 0640");
    expect_refused(secret, NULL, secret);
    REQUIRE(chmod(secret, 0600) == 0);
    if (geteuid() == 0) { /* only root can give a file away */
        REQUIRE(chown(secret, 4321, 4321) == 0);
        expect_refused(secret, NULL, "owned by uid 4321");
        REQUIRE(chown(secret, 0, 0) == 0);
    }
    expect_refused("/nonexistent/curve.key", NULL, "/nonexistent/curve.key");

    write_file("short.key", "# comment\nabc\n", 0600, path, sizeof path);
    expect_refused(path, NULL, "line 2: not a 40-character Z85");
    write_file("bad.key", "0000000000000000000000000000000000000\"\"\"\n", 0600, path, sizeof path);
    expect_refused(path, NULL, "line 1: not a 40-character Z85");
    write_file("empty.key", "# nothing here\n\n", 0600, path, sizeof path);
    expect_refused(path, NULL, "no key");
    char two[128];
    snprintf(two, sizeof two, "%s\n%s\n", expected, expected);
    write_file("two.key", two, 0600, path, sizeof path);
    expect_refused(path, NULL, "line 2: more than one key");

    char list[256];
    snprintf(list, sizeof list, "# clients\n%s\n\n  %s  \n", expected, expected);
    write_file("loose.allow", list, 0664, allow, sizeof allow);
    expect_refused(secret, allow, "writable by group or others (mode 0664)");
    snprintf(list, sizeof list, "%s\n# next is bad\nnot-a-key\n", expected);
    write_file("bad.allow", list, 0644, allow, sizeof allow);
    expect_refused(secret, allow, "bad.allow': line 3");
    write_file("none.allow", "# nobody\n", 0644, allow, sizeof allow);
    expect_refused(secret, allow, "no keys");
}

static void test_endpoint_locality(void)
{
    const char *local[] = {"ipc:///run/genred/genred.ipc", "inproc://x",
                           "tcp://127.0.0.1:5555",         "tcp://127.1.2.3:1",
                           "tcp://localhost:5555",         "tcp://[::1]:5555"};
    const char *remote[] = {"tcp://*:5555",       "tcp://0.0.0.0:5555",  "tcp://192.168.1.2:5555",
                            "tcp://eth0:5555",    "tcp://[::]:5555",     "tcp://127.0.0.1.evil:1",
                            "tcp://128.0.0.1:80", "ws://127.0.0.1:5555", "tcp://127.0.0.256:5"};
    for (size_t i = 0; i < sizeof local / sizeof *local; i++) {
        if (!curve_endpoint_is_local(local[i]))
            fprintf(stderr, "local endpoint seen as remote: %s\n", local[i]);
        CHECK(curve_endpoint_is_local(local[i]));
    }
    for (size_t i = 0; i < sizeof remote / sizeof *remote; i++) {
        if (curve_endpoint_is_local(remote[i]))
            fprintf(stderr, "remote endpoint seen as local: %s\n", remote[i]);
        CHECK(!curve_endpoint_is_local(remote[i]));
    }
}

typedef struct {
    char public[CURVE_KEY_Z85_LEN + 1], secret[CURVE_KEY_Z85_LEN + 1];
} keypair;

typedef struct {
    void *socket;
    int received;
} subscriber;

/* A SUB socket: a CURVE client with `client` keys when server_public is
 * given, plain text otherwise. */
static subscriber subscribe(void *ctx, const char *endpoint, const char *server_public,
                            const keypair *client)
{
    subscriber s = {zmq_socket(ctx, ZMQ_SUB), 0};
    REQUIRE(s.socket);
    if (server_public) {
        REQUIRE(zmq_setsockopt(s.socket, ZMQ_CURVE_SERVERKEY, server_public, 40) == 0);
        REQUIRE(zmq_setsockopt(s.socket, ZMQ_CURVE_PUBLICKEY, client->public, 40) == 0);
        REQUIRE(zmq_setsockopt(s.socket, ZMQ_CURVE_SECRETKEY, client->secret, 40) == 0);
    }
    int linger = 0;
    REQUIRE(zmq_setsockopt(s.socket, ZMQ_LINGER, &linger, sizeof linger) == 0);
    REQUIRE(zmq_setsockopt(s.socket, ZMQ_SUBSCRIBE, "", 0) == 0);
    REQUIRE(zmq_connect(s.socket, endpoint) == 0);
    return s;
}

static void drain(subscriber *s)
{
    char buf[64];
    while (zmq_recv(s->socket, buf, sizeof buf, ZMQ_DONTWAIT) >= 0)
        s->received++;
}

/* Publishes until every subscriber in want_mask has messages, then a while
 * longer so that a wrongly admitted one would have had its chance too. */
static void publish_until(void *pub, subscriber *subs, int n, int want_mask)
{
    int settled = -1;
    for (int tick = 0; tick < 500 && (settled < 0 || tick - settled < 30); tick++) {
        zmq_send(pub, "genre.probs {}", 14, ZMQ_DONTWAIT);
        struct timespec ms10 = {0, 10 * 1000 * 1000};
        nanosleep(&ms10, NULL);
        int all = 1;
        for (int i = 0; i < n; i++) {
            drain(&subs[i]);
            if ((want_mask >> i & 1) && !subs[i].received) all = 0;
        }
        if (all && settled < 0) settled = tick;
    }
}

/* Three subscribers: [0] a CURVE client on the allow-list (when there is
 * one), [1] another CURVE client that is not, [2] plain text. */
static void test_sockets(int with_allow_list)
{
    char err[512] = "", secret[128], allow[128] = "", server_public[CURVE_KEY_Z85_LEN + 1];
    snprintf(secret, sizeof secret, "%s/curve.key", dir);
    read_key(secret, server_public);
    REQUIRE(zmq_curve_public(server_public, server_public) == 0);
    keypair listed, other;
    REQUIRE(zmq_curve_keypair(listed.public, listed.secret) == 0);
    REQUIRE(zmq_curve_keypair(other.public, other.secret) == 0);
    if (with_allow_list) {
        char list[128];
        snprintf(list, sizeof list, "# allowed subscribers\n%s\n", listed.public);
        write_file("clients.allow", list, 0644, allow, sizeof allow);
    }

    void *ctx = zmq_ctx_new();
    curve_t *c = curve_create(ctx, secret, allow, err, sizeof err);
    if (!c) fprintf(stderr, "curve_create: %s\n", err);
    REQUIRE(c);
    CHECK(curve_allowed(c) == (with_allow_list ? 1u : 0u));
    void *pub = zmq_socket(ctx, ZMQ_XPUB);
    int linger = 0;
    REQUIRE(zmq_setsockopt(pub, ZMQ_LINGER, &linger, sizeof linger) == 0);
    REQUIRE(curve_apply(c, pub, err, sizeof err) == 0);
    REQUIRE(zmq_bind(pub, "tcp://127.0.0.1:*") == 0);
    char endpoint[128];
    size_t len = sizeof endpoint;
    REQUIRE(zmq_getsockopt(pub, ZMQ_LAST_ENDPOINT, endpoint, &len) == 0);

    subscriber subs[3] = {subscribe(ctx, endpoint, server_public, &listed),
                          subscribe(ctx, endpoint, server_public, &other),
                          subscribe(ctx, endpoint, NULL, NULL)};
    int want = with_allow_list ? 0x1 : 0x3;
    publish_until(pub, subs, 3, want);
    for (int i = 0; i < 3; i++) {
        int expected = want >> i & 1;
        if ((subs[i].received > 0) != expected)
            fprintf(stderr, "allow-list %d: subscriber %d received %d messages\n", with_allow_list,
                    i, subs[i].received);
        CHECK((subs[i].received > 0) == expected);
        zmq_close(subs[i].socket);
    }
    if (with_allow_list) CHECK(curve_denied(c) >= 1);
    zmq_close(pub);
    curve_destroy(c);
    zmq_ctx_term(ctx);
}

/* A subscriber's identity: its secret key file by the same rules, named by
 * the caller's option; without a file, a fresh keypair each time. */
static void test_client_identity(void)
{
    char err[512] = "", secret[128], public[128];
    snprintf(secret, sizeof secret, "%s/curve.key", dir);
    snprintf(public, sizeof public, "%s/curve.pub", dir);
    curve_t *c = curve_create_client("--client-key", secret, err, sizeof err);
    REQUIRE(c);
    char expected[CURVE_KEY_Z85_LEN + 1];
    read_key(public, expected);
    CHECK(strcmp(curve_public_key(c), expected) == 0);
    curve_destroy(c);

    curve_t *a = curve_create_client("--client-key", NULL, err, sizeof err);
    curve_t *b = curve_create_client("--client-key", NULL, err, sizeof err);
    REQUIRE(a && b);
    CHECK(strlen(curve_public_key(a)) == CURVE_KEY_Z85_LEN);
    CHECK(strcmp(curve_public_key(a), curve_public_key(b)) != 0);
    curve_destroy(a);
    curve_destroy(b);

    REQUIRE(chmod(secret, 0644) == 0);
    CHECK(curve_create_client("--client-key", secret, err, sizeof err) == NULL);
    CHECK(strstr(err, "--client-key '") && strstr(err, "chmod 600"));
    REQUIRE(chmod(secret, 0600) == 0);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/genred-curve-XXXXXX");
    REQUIRE(mkdtemp(dir));
    test_endpoint_locality();
    test_keys_and_refusals();
    test_client_identity();
    test_sockets(1);
    test_sockets(0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return check_report("test_curve");
}
