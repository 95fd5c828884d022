/* genre-web: a kiosk web page of what genred hears.
 *
 * web_subscriber (a ZeroMQ SUB thread) turns genred's messages into Server-
 * Sent Events frames for web_fanout and notes each stream's recent genres in
 * web_history; web_http serves the page and, through web_events, one
 * /events stream per browser within web_conns' limits. This file reads the
 * command line and the keys, starts those, and waits for SIGINT or SIGTERM. */
#include "cli.h"
#include "log.h"
#include "sub_keys.h"
#include "web_fanout.h"
#include "web_history.h"
#include "web_http.h"
#include "web_listen.h"
#include "web_subscriber.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PROG "genre-web"

enum { MAX_ENDPOINTS = 16 };

typedef struct {
    const char *listen;
    const char *endpoints[MAX_ENDPOINTS];
    int n_endpoints;
    bool allow_remote;
    const char *server_key; /* genred's CURVE public key file, or NULL */
    const char *client_key; /* our CURVE secret key file, or NULL: a fresh one */
    web_limits limits;
} options;

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: genre-web [--listen HOST:PORT] [--endpoint ENDPOINT]... [--allow-remote]\n"
        "                 [--server-key FILE [--client-key FILE]] [--max-streams N]\n"
        "Serves a live kiosk page of what genred hears and relays its messages as\n"
        "Server-Sent Events on /events.\n"
        "  --listen HOST:PORT   address to serve on (default 127.0.0.1:8080; port 0 picks one)\n"
        "  --endpoint ENDPOINT  genred's ZeroMQ publisher (default tcp://127.0.0.1:5556);\n"
        "                       repeat to show several genred processes on one page\n"
        "  --allow-remote       allow a --listen address other than loopback\n"
        "  --server-key FILE    genred's CURVE public key (its curve.pub): subscribe\n"
        "                       encrypted, as genred requires off this machine\n"
        "  --client-key FILE    our CURVE secret key, for genred's allow-list\n"
        "                       (default: a fresh key each start)\n"
        "  --max-streams N      event streams served at once (default 1000; 16 of them\n"
        "                       only to this machine); more get 503\n"
        "  --help, --version\n");
}

/* One option; 0, or the exit status (-1 for 0 after --help/--version). */
static int take_option(int c, options *o, const char *arg, const char *where)
{
    switch (c) {
    case 'l':
        o->listen = arg;
        return 0;
    case 'e':
        if (o->n_endpoints == MAX_ENDPOINTS)
            return cli_error(PROG, "--endpoint: at most %d endpoints", MAX_ENDPOINTS);
        if (!*arg) return cli_error(PROG, "--endpoint: empty endpoint");
        o->endpoints[o->n_endpoints++] = arg;
        return 0;
    case 'r':
        o->allow_remote = true;
        return 0;
    case 's':
        o->server_key = arg;
        return 0;
    case 'c':
        o->client_key = arg;
        return 0;
    case 'm':
        return cli_uint(PROG, "max-streams", arg, 1, 100000, &o->limits.max_streams) ? 2 : 0;
    case 'h':
        usage(stdout);
        return -1;
    case 'V':
        cli_version(PROG);
        return -1;
    case ':':
        return cli_error(PROG, "%s needs a value (see genre-web --help)", where);
    default:
        return cli_error(PROG, "unknown option '%s' (see genre-web --help)", where);
    }
}

static int parse(int argc, char **argv, options *o)
{
    static const struct option longs[] = {{"listen", required_argument, NULL, 'l'},
                                          {"endpoint", required_argument, NULL, 'e'},
                                          {"allow-remote", no_argument, NULL, 'r'},
                                          {"server-key", required_argument, NULL, 's'},
                                          {"client-key", required_argument, NULL, 'c'},
                                          {"max-streams", required_argument, NULL, 'm'},
                                          {"help", no_argument, NULL, 'h'},
                                          {"version", no_argument, NULL, 'V'},
                                          {NULL, 0, NULL, 0}};
    *o = (options){.listen = "127.0.0.1:8080", .limits = web_limits_default()};
    opterr = 0;
    int c, rc = 0;
    while (!rc && (c = getopt_long(argc, argv, ":h", longs, NULL)) != -1)
        rc = take_option(c, o, optarg, argv[optind - 1]);
    if (rc) return rc;
    if (optind < argc) return cli_error(PROG, "unexpected argument '%s'", argv[optind]);
    if (o->client_key && !o->server_key) return cli_error(PROG, "--client-key needs --server-key");
    if (o->n_endpoints == 0) o->endpoints[o->n_endpoints++] = "tcp://127.0.0.1:5556";
    if (o->limits.local_reserve >= o->limits.max_streams)
        o->limits.local_reserve = o->limits.max_streams / 2;
    return 0;
}

/* Everything that runs, in the order it starts. */
typedef struct {
    web_fanout_t *fanout;
    web_history_t *history;
    web_subscriber_t *subscriber;
    web_http_t *http;
} parts;

/* The subscriber stops first: nothing publishes into what is torn down. */
static void stop(parts *p)
{
    web_subscriber_destroy(p->subscriber);
    web_http_destroy(p->http);
    web_history_destroy(p->history);
    web_fanout_destroy(p->fanout);
}

static int start(parts *p, const options *o, const web_subscriber_config *sub)
{
    char err[600];
    web_address addr;
    *p = (parts){0};
    if (web_listen_parse(o->listen, &addr, err, sizeof err)) return cli_error(PROG, "%s", err);
    if (!web_listen_is_loopback(&addr) && !o->allow_remote)
        return cli_error(PROG,
                         "--listen %s is not a loopback address; add --allow-remote to serve "
                         "other machines",
                         o->listen);
    int fd = web_listen_open(&addr, o->listen, err, sizeof err);
    if (fd >= 0 && (!(p->fanout = web_fanout_create(err, sizeof err)) ||
                    !(p->history = web_history_create(err, sizeof err)))) {
        close(fd);
        fd = -1;
    }
    /* The server (which wakes its streams on each publish) before the
     * subscriber (which publishes); web_http owns fd from here on. */
    if (fd >= 0 && (p->http = web_http_create(fd, addr.addr.ss_family, &o->limits, p->fanout,
                                              p->history, err, sizeof err)))
        p->subscriber = web_subscriber_create(sub, p->fanout, p->history, err, sizeof err);
    if (p->subscriber) {
        web_listen_print_url(fd);
        return 0;
    }
    log_error("%s", err);
    stop(p);
    return 1;
}

/* Waits for SIGINT or SIGTERM, ticking the server's deadlines each second. */
static int wait_for_stop(const sigset_t *signals, web_http_t *http)
{
    for (;;) {
        struct timespec second = {.tv_sec = 1};
        int sig = sigtimedwait(signals, NULL, &second);
        if (sig == SIGINT || sig == SIGTERM) return sig;
        web_http_tick(http);
    }
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    log_set_program(PROG);
    sub_keys keys;
    char err[600];
    if (sub_keys_load(&keys, o.server_key, o.client_key, err, sizeof err))
        return cli_error(PROG, "%s", err);

    /* Signals are taken by sigtimedwait() below; every thread inherits the mask. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    web_subscriber_config sub = {
        .endpoints = o.endpoints, .n_endpoints = o.n_endpoints, .keys = &keys};
    parts p;
    if ((rc = start(&p, &o, &sub))) {
        sub_keys_free(&keys);
        return rc;
    }
    for (int i = 0; i < o.n_endpoints; i++)
        log_info("listening to genred at %s", o.endpoints[i]);
    int sig = wait_for_stop(&signals, p.http);

    unsigned long published, skipped, rejected, too_big, refused, cut, errors;
    web_fanout_counts(p.fanout, &published, &skipped);
    web_subscriber_counts(p.subscriber, &rejected, &too_big);
    web_http_counts(p.http, &refused, &cut, &errors);
    stop(&p);
    sub_keys_free(&keys);
    log_info("stopped on %s (relayed %lu, rejected %lu, too big %lu, frames skipped by slow "
             "browsers %lu, requests refused %lu, slow connections cut %lu, HTTP errors %lu)",
             sig == SIGINT ? "SIGINT" : "SIGTERM", published, rejected, too_big, skipped, refused,
             cut, errors);
    return 0;
}
