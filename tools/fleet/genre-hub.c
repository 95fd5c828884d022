/* genre-hub: one ZeroMQ endpoint for a fleet of genred hosts, with their
 * last values for late subscribers, lost-host reports and, optionally, a
 * JetStream bridge. The work is in hub.c; this reads flags and waits for a
 * signal. */
#include "curve.h"
#include "endpoint.h"
#include "hub.h"
#include "hub_config.h"
#include "log.h"
#include "protocol.h"

#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#define DEFAULT_CONFIG "/etc/genre-hub/genre-hub.conf"

static void usage(FILE *out)
{
    fprintf(out, "usage: genre-hub [--config FILE] [--check-config] [--log-level LEVEL]\n"
                 "       genre-hub --gen-keys DIR\n"
                 "  --config FILE    settings (default " DEFAULT_CONFIG ")\n"
                 "  --check-config   check the settings and key files, then exit\n"
                 "  --log-level L    error, warn, info or debug (overrides the file)\n"
                 "  --gen-keys DIR   write a CURVE keypair DIR/curve.key, DIR/curve.pub\n"
                 "  --version, --help\n");
}

/* 0 to run, 1 to exit 0 (--help, --version, --gen-keys done), 2 on errors. */
static int parse(int argc, char **argv, const char **config, int *check, const char **level)
{
    static const struct option opts[] = {{"config", 1, 0, 'c'},
                                         {"check-config", 0, 0, 'k'},
                                         {"log-level", 1, 0, 'l'},
                                         {"gen-keys", 1, 0, 'g'},
                                         {"version", 0, 0, 'V'},
                                         {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    char err[1024];
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            *config = optarg;
            break;
        case 'k':
            *check = 1;
            break;
        case 'l':
            *level = optarg;
            break;
        case 'V':
            printf("genre-hub %s\n", GENRED_VERSION);
            return 1;
        case 'h':
            usage(stdout);
            return 1;
        case 'g':
            if (curve_generate_keys(optarg, err, sizeof err)) {
                fprintf(stderr, "genre-hub: %s\n", err);
                return 2;
            }
            printf("genre-hub: wrote %s/curve.key and %s/curve.pub\n", optarg, optarg);
            return 1;
        default:
            usage(stderr);
            fprintf(stderr, "genre-hub: unknown or incomplete option '%s'\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "genre-hub: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return 0;
}

/* What the config names outside itself: key files that load, and ipc
 * endpoints whose directory takes a socket (systemd makes /run/genre-hub
 * before ExecStartPre runs this check). */
static int check_outside(const hub_config *cfg, char *err, size_t err_len)
{
    char why[1024];
    for (unsigned i = 0; i < cfg->n_publish; i++)
        if (endpoint_check_ipc(cfg->publish[i], why, sizeof why)) {
            snprintf(err, err_len, "%.400s: publish %.600s", cfg->source, why);
            return -1;
        }
    if (cfg->curve_secret_key[0] &&
        curve_check_files(cfg->curve_secret_key, cfg->curve_allow, err, err_len))
        return -1;
    char key[CURVE_KEY_Z85_LEN + 1];
    for (unsigned i = 0; i < cfg->n_hosts; i++)
        if (cfg->hosts[i].server_key[0] &&
            curve_read_public("server_key", cfg->hosts[i].server_key, key, err, err_len))
            return -1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *config = DEFAULT_CONFIG, *level = NULL;
    int check = 0;
    int r = parse(argc, argv, &config, &check, &level);
    if (r) return r == 1 ? 0 : 2;
    log_set_program("genre-hub");
    hub_config cfg;
    hub_config_defaults(&cfg);
    char err[1024];
    if (hub_config_load(&cfg, config, err, sizeof err) || check_outside(&cfg, err, sizeof err)) {
        fprintf(stderr, "genre-hub: %s\n", err);
        return 1;
    }
    if (level) snprintf(cfg.log_level, sizeof cfg.log_level, "%s", level);
    if (log_parse_level(cfg.log_level) < 0) {
        fprintf(stderr, "genre-hub: --log-level: '%s' is not error, warn, info or debug\n", level);
        return 2;
    }
    log_set_level((log_level)log_parse_level(cfg.log_level));
    if (check) {
        printf("genre-hub: %s: ok (%u hosts)\n", config, cfg.n_hosts);
        return 0;
    }
    /* A message larger than the protocol allows is read only to be dropped.
     * glibc raises its mmap threshold to the size of the first such block
     * it frees and keeps the next ones in the heap, where a host sending
     * 10 MB messages left tens of MiB resident; a fixed threshold gives
     * them back to the system as soon as they are dropped. */
    mallopt(M_MMAP_THRESHOLD, PROTOCOL_MESSAGE_MAX);
    /* Signals go to sigwait below, not to the threads hub_create starts. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    hub_t *hub = hub_create(&cfg, GENRED_VERSION, err, sizeof err);
    if (!hub) {
        log_error("%s", err);
        return 1;
    }
    log_info("%u hosts, publishing on %s%s", cfg.n_hosts, cfg.publish[0],
             cfg.jetstream.url[0] ? ", bridging to JetStream" : "");
    sd_notify(0, "READY=1");
    int sig;
    sigwait(&stop, &sig);
    sd_notify(0, "STOPPING=1");
    hub_destroy(hub);
    log_info("stopped");
    return 0;
}
