/* genre-sub: prints what a genred publishes.
 *
 *   genre-sub [--json] [--count N] [--timeout S] [--server-key FILE
 *             [--client-key FILE]] [ENDPOINT] [TOPIC...]
 *
 * ENDPOINT defaults to tcp://127.0.0.1:5556, TOPIC to every genre.* topic;
 * a first argument starting with "genre" is a topic. --count 0 is no limit,
 * as in the Python and Node examples.
 * Pretty lines for people, or with --json one JSON object per line (the
 * message with its "topic" added) for scripts. It asks for a snapshot of
 * each topic, so the current state comes first, and drops what it has
 * already printed (protocol_seen.h), so a log holds each message once. */
#include "cli.h"
#include "handshake_watch.h"
#include "protocol.h"
#include "protocol_limits.h"
#include "protocol_seen.h"
#include "sockopt.h"
#include "sub_keys.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

static void clock_prefix(json_t *msg)
{
    json_int_t ms = json_integer_value(json_object_get(msg, "time_ms"));
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    printf("%02d:%02d:%02d.%01d ", tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000) / 100);
}

static const char *str(json_t *msg, const char *key, const char *fallback)
{
    const char *s = json_string_value(json_object_get(msg, key));
    return s ? s : fallback;
}

static void print_probs(json_t *msg)
{
    json_t *labels = json_object_get(msg, "labels"), *probs = json_object_get(msg, "probs");
    printf("%-10s ", str(msg, "stream", "?"));
    if (json_is_true(json_object_get(msg, "silence"))) {
        printf("(silence)");
    } else {
        /* The top three, best first. */
        size_t n = json_array_size(probs);
        int used[3] = {-1, -1, -1};
        for (int k = 0; k < 3 && k < (int)n; k++) {
            int best = -1;
            for (size_t i = 0; i < n; i++) {
                if ((int)i == used[0] || (int)i == used[1]) continue;
                if (best < 0 || json_number_value(json_array_get(probs, i)) >
                                    json_number_value(json_array_get(probs, (size_t)best)))
                    best = (int)i;
            }
            used[k] = best;
            printf(k ? "  %s %.0f%%" : "%-12s %3.0f%%",
                   json_string_value(json_array_get(labels, (size_t)best)),
                   100 * json_number_value(json_array_get(probs, (size_t)best)));
        }
    }
    printf("   %.1f dBFS\n", json_number_value(json_object_get(msg, "level_dbfs")));
}

static void print_status(json_t *msg)
{
    printf("status: up %.0f s, cpu %.1f%%, sent %lld, dropped %lld\n",
           json_number_value(json_object_get(msg, "uptime_s")),
           json_number_value(json_object_get(msg, "cpu_percent")),
           (long long)json_integer_value(json_object_get(msg, "sent")),
           (long long)json_integer_value(json_object_get(msg, "dropped")));
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(msg, "streams"), i, s)
    {
        json_t *lat = json_object_get(s, "latency_ms");
        printf("    %-10s %-8s %s  overruns %lld", str(s, "name", "?"), str(s, "state", "?"),
               str(s, "top", "-"), (long long)json_integer_value(json_object_get(s, "overruns")));
        if (json_is_object(lat))
            printf("  latency p50 %.2f p99 %.2f max %.2f ms",
                   json_number_value(json_object_get(lat, "p50")),
                   json_number_value(json_object_get(lat, "p99")),
                   json_number_value(json_object_get(lat, "max")));
        putchar('\n');
    }
}

/* One line per song, the title last as it is the one of any length: a
 * station's genre log. share: of the song's windows, those the top label
 * topped. */
static void print_track(json_t *msg)
{
    printf("%-10s track: %-12s %3.0f%%  %6.0f s  %s\n", str(msg, "stream", "?"),
           str(msg, "top", "(none)"), 100 * json_number_value(json_object_get(msg, "share")),
           json_number_value(json_object_get(msg, "seconds")), str(msg, "title", ""));
}

static void print_pretty(protocol_topic topic, json_t *msg)
{
    clock_prefix(msg);
    if (topic == PROTOCOL_PROBS) {
        print_probs(msg);
    } else if (topic == PROTOCOL_CHANGE) {
        /* previous is null both at start-up and after silence: the
         * previous_silence field tells them apart. */
        const char *none =
            json_is_true(json_object_get(msg, "previous_silence")) ? "(silence)" : "(none)";
        printf("%-10s change: %s -> %s (%.2f)\n", str(msg, "stream", "?"),
               str(msg, "previous", none), str(msg, "new", "(silence)"),
               json_number_value(json_object_get(msg, "p")));
    } else if (topic == PROTOCOL_TRACK) {
        print_track(msg);
    } else if (topic == PROTOCOL_STATUS) {
        print_status(msg);
    } else {
        printf("%s\n", protocol_topic_name(topic));
    }
}

static void usage(FILE *out)
{
    fprintf(out, "usage: genre-sub [--json] [--count N] [--timeout SECONDS]\n"
                 "                 [--server-key FILE [--client-key FILE]] [ENDPOINT] [TOPIC...]\n"
                 "Prints genred's messages (default tcp://127.0.0.1:5556, all genre.* topics).\n"
                 "  --json        one JSON object per line, the message with its \"topic\"\n"
                 "  --count       stop after N messages (0, the default: no limit)\n"
                 "  --timeout     exit 1 when nothing arrives for SECONDS\n"
                 "  --server-key  genred's CURVE public key (curve.pub): subscribe encrypted\n"
                 "  --client-key  our CURVE secret key, for genred's allow-list (default: a\n"
                 "                fresh key each start)\n"
                 "  --help, --version\n"
                 "ENDPOINT is tcp://HOST:PORT or ipc://PATH; a first argument starting with\n"
                 "'genre' is a topic (genre-sub genre.change). Exit status: 0 after --count\n"
                 "messages or Ctrl-C, 1 on a timeout or a connection error, 2 usage error.\n");
}

#define PROG "genre-sub"
/* (topic, stream) pairs remembered to drop duplicates: a large fleet. */
#define SEEN_CAPACITY 16384

typedef struct {
    int json_lines;
    unsigned count; /* 0: no limit */
    double timeout; /* 0: none */
    const char *endpoint;
    char **topics;
    int n_topics;
    const char *server_key, *client_key; /* CURVE key files, or NULL */
} options;

/* 0, or the exit status (-1 for 0 after --help/--version). */
static int parse(int argc, char **argv, options *o)
{
    static const struct option longs[] = {{"json", no_argument, NULL, 'j'},
                                          {"count", required_argument, NULL, 'n'},
                                          {"timeout", required_argument, NULL, 't'},
                                          {"help", no_argument, NULL, 'h'},
                                          {"version", no_argument, NULL, 'V'},
                                          {"server-key", required_argument, NULL, 's'},
                                          {"client-key", required_argument, NULL, 'c'},
                                          {NULL, 0, NULL, 0}};
    *o = (options){.endpoint = "tcp://127.0.0.1:5556"};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'j':
            o->json_lines = 1;
            break;
        case 'n':
            if (cli_uint(PROG, "count", optarg, 0, 4000000000u, &o->count)) return 2;
            break;
        case 't':
            if (cli_real(PROG, "timeout", optarg, 0, 1e6, &o->timeout)) return 2;
            break;
        case 's':
            o->server_key = optarg;
            break;
        case 'c':
            o->client_key = optarg;
            break;
        case 'V':
            cli_version(PROG);
            return -1;
        case 'h':
            usage(stdout);
            return -1;
        default:
            return cli_help_or_usage_error(PROG, argv[optind - 1], usage);
        }
    }
    /* Topics are prefixes of genred's "genre.*" names: anything else first
     * is an endpoint, and must look like one. */
    if (optind < argc && strncmp(argv[optind], "genre", 5)) {
        o->endpoint = argv[optind++];
        if (!strstr(o->endpoint, "://"))
            return cli_error(PROG,
                             "'%s': expected an endpoint like tcp://127.0.0.1:5556 or "
                             "ipc:///run/genred/pub, or a topic like genre.probs",
                             o->endpoint);
    }
    o->topics = argv + optind;
    o->n_topics = argc - optind;
    /* A publisher drops a subscriber whose subscription is longer. */
    for (int i = 0; i < o->n_topics; i++)
        if (strlen(o->topics[i]) > PROTOCOL_TOPIC_MAX)
            return cli_error(PROG, "topic '%.20s...': longer than any topic (%d bytes at most)",
                             o->topics[i], PROTOCOL_TOPIC_MAX);
    if (o->client_key && !o->server_key) return cli_error(PROG, "--client-key needs --server-key");
    return 0;
}

static void *connect_sub(void *ctx, const options *o, const sub_keys *keys,
                         handshake_watch_t **watch)
{
    void *sub = zmq_socket(ctx, ZMQ_SUB);
    protocol_limit_frames(sub, PROTOCOL_MESSAGE_FRAME_MAX); /* a hostile publisher's reach */
    sockopt_int(sub, ZMQ_LINGER, 0); /* nothing to deliver at exit: stop at once */
    char err[256];
    *watch = sub_keys_secure(keys, ctx, sub, PROG, NULL, err, sizeof err);
    if (!*watch) {
        fprintf(stderr, PROG ": %s\n", err);
        zmq_close(sub);
        return NULL;
    }
    if (zmq_connect(sub, o->endpoint)) {
        fprintf(stderr,
                "genre-sub: %s: %s (expected an endpoint like tcp://127.0.0.1:5556 or "
                "ipc:///run/genred/pub)\n",
                o->endpoint, zmq_strerror(zmq_errno()));
        handshake_watch_destroy(*watch);
        zmq_close(sub);
        return NULL;
    }
    /* Each topic with a snapshot: the current state comes first. */
    if (o->n_topics == 0) protocol_subscribe(sub, "genre.");
    for (int i = 0; i < o->n_topics; i++)
        protocol_subscribe(sub, o->topics[i]);
    sockopt_int(sub, ZMQ_RCVTIMEO, o->timeout > 0 ? (int)(o->timeout * 1000) : 200);
    return sub;
}

/* One message printed; 1 when one was, 0 on nothing yet, -1 on a timeout. */
static int receive_one(void *sub, protocol_seen_t *seen, const options *o)
{
    protocol_message m;
    zmq_msg_t body;
    const char *why = "";
    int got = protocol_recv(sub, 0, &m, &body, &why);
    zmq_msg_close(&body);
    if (got < 0) {
        if (o->timeout > 0 && zmq_errno() == EAGAIN) {
            fprintf(stderr, "genre-sub: nothing received for %g s\n", o->timeout);
            return -1;
        }
        return 0;
    }
    /* A topic this version does not know may be a newer protocol's. */
    if (!got && strcmp(why, PROTOCOL_NOT_A_TOPIC))
        fprintf(stderr, "genre-sub: dropped a message: %s\n", why);
    if (!got || !protocol_seen_check(seen, &m)) {
        json_decref(m.body);
        return 0;
    }
    if (o->json_lines) {
        json_object_set_new(m.body, "topic", json_string(protocol_topic_name(m.topic)));
        json_dumpf(m.body, stdout, JSON_COMPACT | JSON_REAL_PRECISION(7));
        putchar('\n');
    } else {
        print_pretty(m.topic, m.body);
    }
    fflush(stdout);
    json_decref(m.body);
    return 1;
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    sub_keys keys;
    char err[600];
    if (sub_keys_load(&keys, o.server_key, o.client_key, err, sizeof err))
        return cli_error(PROG, "%s", err);
    volatile sig_atomic_t *interrupted = cli_stop_on_signals();

    handshake_watch_t *watch = NULL;
    void *ctx = zmq_ctx_new(), *sub = connect_sub(ctx, &o, &keys, &watch);
    protocol_seen_t *seen = protocol_seen_create(SEEN_CAPACITY);
    unsigned printed = 0;
    while (sub && seen && !*interrupted && (!o.count || printed < o.count)) {
        int got = receive_one(sub, seen, &o);
        if (got < 0) {
            rc = 1;
            break;
        }
        printed += (unsigned)got;
    }
    handshake_watch_destroy(watch);
    if (sub) zmq_close(sub);
    zmq_ctx_term(ctx);
    protocol_seen_destroy(seen);
    sub_keys_free(&keys);
    return sub && seen ? rc : 1;
}
