/* genre-replay: prints the events genre-hub's bridge stored in JetStream,
 * as a durable consumer that resumes where it stopped (see replay.h). */
#include "cli.h"
#include "nats_util.h"
#include "protocol.h"
#include "replay.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define PROG "genre-replay"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: genre-replay --nats URLS --durable NAME [--stream NAME]\n"
            "                    [--subject FILTER] [--reset] [--idle-exit S] [--max N]\n"
            "  --nats       NATS server URLs, comma-separated\n"
            "  --durable    consumer name: the server remembers what it acknowledged\n"
            "  --stream     genre-hub's jetstream.stream (default GENRE)\n"
            "  --subject    default %s.> (all streams' changes); the first\n"
            "               run under a --durable name fixes it\n"
            "  --reset      forget the durable (its position and --subject) and start\n"
            "               again from the oldest stored event\n"
            "  --idle-exit  s without events before exiting (default: never)\n"
            "  --max        events before exiting (default: no limit)\n"
            "  --help, --version\n",
            protocol_topic_name(PROTOCOL_CHANGE));
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"nats", 1, 0, 'n'},      {"durable", 1, 0, 'd'},
                                         {"stream", 1, 0, 's'},    {"subject", 1, 0, 'f'},
                                         {"idle-exit", 1, 0, 'i'}, {"max", 1, 0, 'm'},
                                         {"reset", 0, 0, 'r'},     {"help", 0, 0, 'h'},
                                         {"version", 0, 0, 'V'},   {0, 0, 0, 0}};
    char changes[PROTOCOL_TOPIC_LEN + 3];
    snprintf(changes, sizeof changes, "%s.>", protocol_topic_name(PROTOCOL_CHANGE));
    replay_options o = {"GENRE", changes, NULL, 0, 0, 0};
    const char *nats = NULL;
    unsigned max = 0;
    int c, bad = 0;
    opterr = 0;
    while (!bad && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            nats = optarg;
            break;
        case 'd':
            o.durable = optarg;
            break;
        case 's':
            o.stream = optarg;
            break;
        case 'f':
            o.filter = optarg;
            break;
        case 'i':
            bad = cli_real(PROG, "idle-exit", optarg, 0.5, 86400, &o.idle_exit);
            break;
        case 'm':
            bad = cli_uint(PROG, "max", optarg, 1, 2000000000, &max);
            break;
        case 'r':
            o.reset = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            cli_version(PROG);
            return 0;
        default:
            return cli_help_or_usage_error(PROG, argv[optind - 1], usage);
        }
    }
    if (bad) return 2;
    /* A subject filter given without --subject would otherwise be ignored. */
    if (optind < argc) return cli_error(PROG, "unexpected argument '%s'", argv[optind]);
    if (!nats || !o.durable) return cli_error(PROG, "--nats and --durable are required");
    o.max_events = max;
    volatile sig_atomic_t *stop = cli_stop_on_signals();
    char err[1024];
    natsConnection *nc = nats_util_connect(nats, PROG, 0, err, sizeof err);
    jsCtx *js = NULL;
    long n = -1;
    if (nc && (js = nats_util_jetstream(nc, NULL, err, sizeof err)))
        n = replay_run(js, &o, stdout, stop, err, sizeof err);
    if (n < 0) fprintf(stderr, PROG ": %s\n", err);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return n < 0 ? 1 : 0;
}
