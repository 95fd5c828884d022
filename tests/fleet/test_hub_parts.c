/* genre-hub's pieces without sockets: the last-value cache, the host watch
 * and the config file's errors (FILE:LINE naming the key). */
#include "check.h"
#include "hub_cache.h"
#include "hub_config.h"
#include "hub_hosts.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifdef GENRED_WITH_NATS
#include "nats_util.h"

/* Stream names as subject tokens: HOST/STREAM becomes HOST.STREAM, and
 * nothing makes an empty token or a wildcard. */
static void test_subject(void)
{
    char s[64];
    nats_util_subject(s, sizeof s, "genre.change", "studio-a/radio 1.x*>");
    CHECK(!strcmp(s, "genre.change.studio-a.radio_1_x__"));
    nats_util_subject(s, sizeof s, "genre.probs", "/a//b/");
    CHECK(!strcmp(s, "genre.probs._a_.b_"));
    nats_util_subject(s, 16, "genre.probs", "abcdefgh");
    CHECK(!strcmp(s, "genre.probs.abc"));
}
#else
static void test_subject(void) {}
#endif

static int put(hub_cache_t *c, protocol_topic t, const char *key, const char *body)
{
    return hub_cache_put(c, t, key, body, strlen(body));
}

/* The cache's walk as "topic=body;" (an empty entry as "topic=-;"). */
static void walk(const hub_cache_t *c, char *out, size_t size)
{
    protocol_topic t;
    const char *body;
    size_t len, n = 0;
    out[0] = '\0';
    for (size_t i = 0; hub_cache_at(c, i, &t, &body, &len); i++)
        n += (size_t)snprintf(out + n, size - n, "%s=%.*s;", protocol_topic_name(t),
                              body ? (int)len : 1, body ? body : "-");
}

static void test_cache(void)
{
    unsigned max_keys[PROTOCOL_TOPICS] = {0};
    max_keys[PROTOCOL_PROBS] = max_keys[PROTOCOL_CHANGE] = max_keys[PROTOCOL_HOST] = 1;
    hub_cache_t *c = hub_cache_create(max_keys, 10);
    REQUIRE(c);
    CHECK(put(c, PROTOCOL_PROBS, "a/x", "1") == 1);
    CHECK(put(c, PROTOCOL_PROBS, "a/x", "22") == 1); /* the latest replaces it */
    CHECK(put(c, PROTOCOL_CHANGE, "a/x", "c") == 1);
    CHECK(put(c, PROTOCOL_HOST, "a", "h") == 1);
    CHECK(put(c, PROTOCOL_PROBS, "b/y", "3") == -1); /* max_streams */
    CHECK(put(c, PROTOCOL_STATUS, "a", "s") == -1);  /* not cached */
    CHECK(hub_cache_count(c, PROTOCOL_PROBS) == 1 && hub_cache_bytes(c) == 4);
    char seen[256];
    walk(c, seen, sizeof seen);
    CHECK(!strcmp(seen, "genre.probs=22;genre.change=c;genre.host=h;"));
    /* Over max_bytes: refused, and the stale body goes too. */
    CHECK(put(c, PROTOCOL_CHANGE, "a/x", "0123456789") == -1);
    walk(c, seen, sizeof seen);
    CHECK(!strcmp(seen, "genre.probs=22;genre.change=-;genre.host=h;"));
    CHECK(hub_cache_bytes(c) == 3);
    CHECK(put(c, PROTOCOL_CHANGE, "a/x", "1234567") == 1 && hub_cache_bytes(c) == 10);
    int64_t *stamp = hub_cache_stamp(c, PROTOCOL_PROBS, "a/x");
    REQUIRE(stamp);
    CHECK(*stamp == 0);
    *stamp = 42;
    CHECK(*hub_cache_stamp(c, PROTOCOL_PROBS, "a/x") == 42);
    CHECK(!hub_cache_stamp(c, PROTOCOL_PROBS, "b/y"));
    hub_cache_destroy(c);
}

typedef struct {
    char events[256];
} host_log;

static void log_host(void *ctx, unsigned i, hub_host_state s)
{
    host_log *l = ctx;
    size_t n = strlen(l->events);
    snprintf(l->events + n, sizeof l->events - n, "%u:%s;", i, hub_host_state_name(s));
}

static void test_hosts(void)
{
    hub_config cfg;
    hub_config_defaults(&cfg);
    cfg.n_hosts = 2;
    snprintf(cfg.hosts[0].name, HUB_NAME_LEN, "a");
    snprintf(cfg.hosts[1].name, HUB_NAME_LEN, "ab");
    cfg.status_interval = 0.5;
    hub_hosts_t *h = hub_hosts_create(&cfg, 0);
    REQUIRE(h);
    CHECK(hub_hosts_of_stream(h, "a/x") == 0);
    CHECK(hub_hosts_of_stream(h, "ab/x/y") == 1);
    CHECK(hub_hosts_of_stream(h, "abc/x") == -1);
    CHECK(hub_hosts_of_stream(h, "a") == -1);
    host_log l = {""};
    hub_hosts_status(h, 0, 100, log_host, &l);
    hub_hosts_status(h, 0, 600, log_host, &l);
    hub_hosts_tick(h, 1500, log_host, &l); /* b: 1.5 s since start, not more */
    CHECK(!strcmp(l.events, "0:up;"));
    hub_hosts_tick(h, 1501, log_host, &l); /* b never came */
    hub_hosts_tick(h, 2101, log_host, &l); /* a silent for 3 intervals and a bit */
    hub_hosts_tick(h, 5000, log_host, &l); /* reported once */
    hub_hosts_status(h, 0, 5100, log_host, &l);
    CHECK(!strcmp(l.events, "0:up;1:lost;0:lost;0:up;"));
    CHECK(hub_hosts_silent_ms(h, 1, 5100) == -1);
    CHECK(hub_hosts_silent_ms(h, 0, 5200) == 100);
    hub_hosts_destroy(h);
}

/* Loads `text` as a config file; 0, or -1 with err. */
static int load(const char *text, char *err, size_t err_len)
{
    char path[] = "/tmp/genre-hub-test-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    hub_config c;
    hub_config_defaults(&c);
    int rc = hub_config_load(&c, path, err, err_len);
    unlink(path);
    /* Errors name the file; tests compare what follows it. */
    const char *rest = strstr(err, path);
    if (rc && rest) memmove(err, rest + strlen(path), strlen(rest + strlen(path)) + 1);
    return rc;
}

static void expect_error(const char *text, const char *want)
{
    char err[1024] = "";
    int rc = load(text, err, sizeof err);
    CHECK(rc == -1);
    if (rc != -1 || !strstr(err, want))
        fprintf(stderr, "  config:\n%s\n  error '%s', wanted '%s'\n", text, err, want);
    CHECK(strstr(err, want) != NULL);
}

#define HOST "hosts = ( { name = \"a\"; endpoint = \"ipc:///tmp/a\"; } );\n"

static void test_config(void)
{
    char err[1024] = "";
    CHECK(load(HOST "publish = \"ipc:///tmp/hub\";\n", err, sizeof err) == 0);
    expect_error(HOST "publish = \"ipc:///tmp/hub\";\nfoo = 1;\n", ":3: unknown key 'foo'");
    expect_error(HOST "publish = 5;\n", ":2: publish must be a string or a list");
    expect_error(HOST "publish = \"ipc:///x\";\nstatus_interval = \"5\";\n",
                 ":3: status_interval must be a number");
    expect_error(HOST "publish = \"ipc:///x\";\nlost_after = 1;\n",
                 ":3: lost_after must be in 2..100, not 1");
    expect_error(HOST "publish = \"ipc:///x\";\njetstream = { urls = \"x\"; };\n",
                 ":3: unknown key 'jetstream.urls'");
    expect_error(
        "hosts = ( { name = \"a/b\"; endpoint = \"ipc:///a\"; } );\npublish = \"ipc:///x\";",
        ":1: a host needs a name without '/'");
    expect_error("hosts = ( { name = \"a\"; } );\npublish = \"ipc:///x\";",
                 ":1: host 'a' has no endpoint");
    expect_error("hosts = ( { name = \"a\"; endpoint = \"tcp://10.1.2.3:5556\"; } );\n"
                 "publish = \"ipc:///x\";",
                 "host 'a' (tcp://10.1.2.3:5556) is off this machine");
    expect_error(HOST "publish = \"tcp://*:5570\";\n",
                 "publish 'tcp://*:5570' leaves this machine");
    expect_error("hosts = ( { name = \"a\"; endpoint = \"ipc:///y\"; },\n"
                 "  { name = \"a\"; endpoint = \"ipc:///z\"; } );\npublish = \"ipc:///x\";",
                 "host name 'a' used twice");
    expect_error("publish = \"ipc:///x\";\n", "hosts lists no genred host");
    expect_error(HOST "publish = ;\n", ":2: syntax error");

    /* The documented example loads (its key files need not exist here). */
    hub_config c;
    hub_config_defaults(&c);
    char path[4096];
    snprintf(path, sizeof path, "%s/config/fleet/genre-hub.conf", getenv("GENRED_SOURCE_DIR"));
    int rc = hub_config_load(&c, path, err, sizeof err);
    if (rc) fprintf(stderr, "%s\n", err);
    CHECK(rc == 0 && c.n_hosts == 3 && c.jetstream.replicas == 3 && c.n_publish == 2);
}

int main(void)
{
    test_cache();
    test_hosts();
    test_config();
    test_subject();
    return check_report("test_hub_parts");
}
