/* genre-bridge: forwards what genred (or genre-hub) publishes to OSC
 * receivers and an MQTT broker, for DJ and installation software
 * (TouchDesigner, Resolume, Max, Pure Data, QLab) and home automation
 * (Home Assistant, Node-RED). The work is in tools/bridge/; this is its
 * command line. man tools/genre-bridge.1 */
#include "bridge.h"
#include "cli.h"
#include "log.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "genre-bridge"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: genre-bridge [--osc URL]... [--mqtt HOST[:PORT]] [OPTION]... [ENDPOINT]...\n"
            "Forwards genred's genre.change, genre.track and genre.probs to OSC and MQTT.\n"
            "ENDPOINT: genred or genre-hub, default tcp://127.0.0.1:5556 (up to 8).\n"
            "  --osc URL             osc.udp://HOST:PORT, osc.tcp://HOST:PORT or HOST:PORT\n"
            "                        (UDP); up to 8\n"
            "  --mqtt HOST[:PORT]    MQTT broker (port 1883 by default)\n"
            "  --mqtt-prefix P       topic prefix (default genred): P/STREAM/state ...\n"
            "  --mqtt-id ID          MQTT client id (default: a random one)\n"
            "  --mqtt-user USER      MQTT user name; the password comes from the\n"
            "                        environment variable GENRE_BRIDGE_MQTT_PASSWORD\n"
            "  --probs-interval S    forward a stream's genre.probs at most every S seconds\n"
            "                        (default 1; 0: every one)\n"
            "  --no-probs            forward no genre.probs\n"
            "  --state-interval S    repeat each stream's OSC /state every S seconds\n"
            "                        (default 10; 0: only when it changes)\n"
            "  --server-key FILE     genred's CURVE public key (curve.pub): subscribe encrypted\n"
            "  --client-key FILE     our CURVE secret key, for genred's allow-list (default: a\n"
            "                        fresh key each start)\n"
            "  --log-level L         error, warn, info (default) or debug\n"
            "  --help, --version\n"
            "Exit status: 0 after SIGINT or SIGTERM, 1 on a ZeroMQ error, 2 on a usage\n"
            "error or an endpoint or output that cannot be set up.\n");
}

enum {
    OPT_OSC = 256,
    OPT_MQTT,
    OPT_PREFIX,
    OPT_ID,
    OPT_USER,
    OPT_PROBS,
    OPT_NO_PROBS,
    OPT_STATE,
    OPT_SERVER_KEY,
    OPT_CLIENT_KEY,
    OPT_LOG_LEVEL,
    OPT_HELP,
    OPT_VERSION
};

static const struct option longs[] = {{"osc", required_argument, NULL, OPT_OSC},
                                      {"mqtt", required_argument, NULL, OPT_MQTT},
                                      {"mqtt-prefix", required_argument, NULL, OPT_PREFIX},
                                      {"mqtt-id", required_argument, NULL, OPT_ID},
                                      {"mqtt-user", required_argument, NULL, OPT_USER},
                                      {"probs-interval", required_argument, NULL, OPT_PROBS},
                                      {"no-probs", no_argument, NULL, OPT_NO_PROBS},
                                      {"state-interval", required_argument, NULL, OPT_STATE},
                                      {"server-key", required_argument, NULL, OPT_SERVER_KEY},
                                      {"client-key", required_argument, NULL, OPT_CLIENT_KEY},
                                      {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
                                      {"help", no_argument, NULL, OPT_HELP},
                                      {"version", no_argument, NULL, OPT_VERSION},
                                      {NULL, 0, NULL, 0}};

/* HOST, HOST:PORT, [IPV6]:PORT, optionally after mqtt://, into host (in
 * buf) and port. 0, or 2 after the usage error. */
static int parse_broker(const char *arg, char *buf, size_t size, mqtt_out_options *m)
{
    const char *s = strncmp(arg, "mqtt://", 7) ? arg : arg + 7;
    snprintf(buf, size, "%s", s);
    char *port = NULL;
    if (buf[0] == '[') {
        char *close = strchr(buf, ']');
        if (close && (close[1] == ':' || !close[1])) {
            port = close[1] ? close + 2 : NULL;
            *close = '\0';
            memmove(buf, buf + 1, strlen(buf));
        }
    } else if (strchr(buf, ':') == strrchr(buf, ':') && strchr(buf, ':')) {
        port = strchr(buf, ':');
        *port++ = '\0';
    }
    unsigned p = 1883;
    if (!buf[0] || strchr(buf, '[') || strchr(buf, ']') || strchr(buf, '/'))
        return cli_error(PROG, "--mqtt '%s': expected HOST or HOST:PORT", arg);
    if (port && cli_uint(PROG, "mqtt", port, 1, 65535, &p)) return 2;
    m->host = buf;
    m->port = (int)p;
    return 0;
}

static int check_prefix(const char *p)
{
    if (!*p || strpbrk(p, "+#") || strlen(p) > 200)
        return cli_error(PROG,
                         "--mqtt-prefix '%s': expected 1 to 200 characters without '+' or "
                         "'#'",
                         p);
    return 0;
}

static int add_to(const char **list, int *n, int max, const char *value, const char *what)
{
    if (*n == max) return cli_error(PROG, "at most %d %s", max, what);
    list[(*n)++] = value;
    return 0;
}

typedef struct {
    bridge_options b;
    char broker[256];
    const char *log_level;
} options;

/* One option; 0, 2 after a usage error, -1 after --help or --version. */
static int take(options *o, int c, const char *arg)
{
    switch (c) {
    case OPT_OSC:
        return add_to(o->b.osc, &o->b.n_osc, BRIDGE_MAX_OSC, arg, "--osc receivers");
    case OPT_MQTT:
        o->b.mqtt = 1;
        return parse_broker(arg, o->broker, sizeof o->broker, &o->b.mqtt_options);
    case OPT_PREFIX:
        o->b.mqtt_options.prefix = arg;
        return check_prefix(arg);
    case OPT_ID:
        o->b.mqtt_options.client_id = arg;
        return 0;
    case OPT_USER:
        o->b.mqtt_options.username = arg;
        o->b.mqtt_options.password = getenv("GENRE_BRIDGE_MQTT_PASSWORD");
        return 0;
    case OPT_PROBS:
        return cli_real(PROG, "probs-interval", arg, 0, 86400, &o->b.probs_interval) ? 2 : 0;
    case OPT_NO_PROBS:
        o->b.probs_interval = -1;
        return 0;
    case OPT_STATE:
        return cli_real(PROG, "state-interval", arg, 0, 86400, &o->b.state_interval) ? 2 : 0;
    case OPT_SERVER_KEY:
        o->b.server_key = arg;
        return 0;
    case OPT_CLIENT_KEY:
        o->b.client_key = arg;
        return 0;
    case OPT_LOG_LEVEL:
        o->log_level = arg;
        return log_parse_level(arg) < 0
                   ? cli_error(PROG, "--log-level '%s': expected error, warn, info or debug", arg)
                   : 0;
    case OPT_VERSION:
        cli_version(PROG);
        return -1;
    default: /* OPT_HELP */
        usage(stdout);
        return -1;
    }
}

/* 0, or the exit status (-1 for 0 after --help/--version). */
static int parse(int argc, char **argv, options *o)
{
    *o = (options){.b = {.probs_interval = 1,
                         .state_interval = 10,
                         .max_streams = 4096,
                         .mqtt_options = {.prefix = "genred", .keepalive_s = 30}},
                   .log_level = "info"};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        int rc =
            c == '?' ? cli_help_or_usage_error(PROG, argv[optind - 1], usage) : take(o, c, optarg);
        if (rc) return rc;
    }
    for (; optind < argc; optind++) {
        if (!strstr(argv[optind], "://"))
            return cli_error(PROG,
                             "'%s': expected an endpoint like tcp://127.0.0.1:5556 or "
                             "ipc:///run/genred/pub",
                             argv[optind]);
        if (add_to(o->b.endpoints, &o->b.n_endpoints, BRIDGE_MAX_ENDPOINTS, argv[optind],
                   "endpoints"))
            return 2;
    }
    if (!o->b.n_endpoints) o->b.endpoints[o->b.n_endpoints++] = "tcp://127.0.0.1:5556";
    if (!o->b.n_osc && !o->b.mqtt)
        return cli_error(PROG, "nothing to forward to: give --osc URL or --mqtt HOST (or both)");
    if (o->b.client_key && !o->b.server_key)
        return cli_error(PROG, "--client-key needs --server-key");
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    log_set_program(PROG);
    log_set_level((log_level)log_parse_level(o.log_level));
    signal(SIGPIPE, SIG_IGN); /* a TCP receiver that went away is an error, not an exit */
    volatile sig_atomic_t *stop = cli_stop_on_signals();
    char err[512];
    bridge_t *b = bridge_create(&o.b, err, sizeof err);
    if (!b) {
        fprintf(stderr, "%s: %s\n", PROG, err);
        return 2;
    }
    rc = bridge_run(b, stop);
    bridge_destroy(b);
    return rc;
}
