/* genred: real-time music-genre classification daemon.
 *
 * Threads: one producer per input (audio callback or reader), one pipeline
 * worker per stream, one publisher owning the ZeroMQ socket, and this main
 * thread, which owns signals, reload, systemd notifications and shutdown.
 * Signals are blocked everywhere and taken synchronously here with
 * sigtimedwait, so no handler ever runs inside another thread. */
#include "classifier.h"
#include "clock.h"
#include "config.h"
#include "curve.h"
#include "endpoint.h"
#include "frontend.h"
#include "input.h"
#include "log.h"
#include "messages.h"
#include "model.h"
#include "notify.h"
#include "pipeline.h"
#include "publisher.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifndef GENRED_VERSION
#define GENRED_VERSION "0.0.0"
#endif

#define MAX_OVERRIDES 32
#define LOOP_MS       100
#define ERR_LEN       2048 /* room for FILE:LINE: and a reason naming another file */

/* Command-line settings, kept so that a reload re-applies them over the
 * re-read file: the command line always wins. */
typedef struct {
    const char *config_path; /* --config, or NULL */
    const char *input, *name;
    const char *publish[CONFIG_MAX_PUBLISH];
    unsigned n_publish;
    struct {
        const char *key, *value, *flag;
    } set[MAX_OVERRIDES];
    unsigned n_set;
    int check_config, list_devices, model_info, wait_subscriber;
    const char *gen_keys; /* --gen-keys DIR, or NULL */
} cli;

/* One running stream. Its settings are fixed at start (a reload cannot
 * change them), so the status thread reads them without a lock while
 * reload rewrites cfg. */
typedef struct {
    config_stream conf;
    input_t *input;
    pipeline_t *pipeline;
} stream_slot;

typedef struct {
    cli args;
    genred_config cfg;
    const char *config_file; /* what was actually read, or NULL */
    model_ref *model;
    publisher_t *publisher;
    /* Sized at start from the config. */
    stream_slot *streams;
    unsigned n_streams;
    int running;            /* inputs were started */
    atomic_int stop_signal; /* SIGINT or SIGTERM once one asked genred to stop */

    pthread_mutex_t lock; /* model id and cpu figures, read by the status thread */
    char model_id[MODEL_ID_LEN + 1];
    int64_t start_ns, last_cpu_ns;
    double last_cpu_s;
} app;

/* The defaults shown are read from conf_defaults, the one place the
 * parser takes them from, so --help cannot drift from the real ones. */
static void usage(FILE *out)
{
    genred_config d;
    if (conf_defaults(&d)) return;
    fprintf(out,
            "Usage: genred [OPTION]...\n"
            "Classifies the music genre of live audio and publishes it over ZeroMQ.\n\n"
            "  -c, --config FILE       settings file (default " CONFIG_DEFAULT_PATH " if present)\n"
            "      --check-config      validate the settings and the model, print the settings\n"
            "                          in effect, then exit 0 or 1\n"
            "  -i, --input SPEC        portaudio[:DEVICE] | jack[:PORT,...] |\n"
            "                          stdin[:FORMAT:RATE:CHANNELS] | file:PATH |\n"
            "                          url:URL\n"
            "  -n, --name NAME         stream name for --input (default %s)\n"
            "  -p, --publish ENDPOINT  ZeroMQ endpoint to bind; repeatable\n"
            "                          (default %s)\n"
            "  -m, --model FILE        model file (default: the built-in model)\n"
            "      --hop SECONDS       time between classifications (%g)\n"
            "      --smoothing SECONDS probability smoothing time constant, 0 = off (%g)\n"
            "      --change-hold SECONDS  how long a new genre must hold (%g)\n"
            "      --change-decoder D  hold | hmm: how genre.change is decided (%s)\n"
            "      --hmm-segment S, --hmm-exponent X, --hmm-threshold P, --hmm-hold S\n"
            "                          the hmm decoder's settings (%g, %g, %g, %g)\n"
            "      --silence-dbfs DB   level below which a stream is silent (%g)\n"
            "      --status-interval SECONDS  genre.status period (%g)\n"
            "      --send-hwm N        messages queued per subscriber (%d)\n"
            "      --drop-policy P     count | isolate (%s; see README)\n"
            "      --ring-seconds S    input buffer length (%g)\n"
            "      --realtime          file input: pace like a live source\n"
            "      --loop[=N]          file input: start again at the end (N: play N times)\n"
            "      --print             print a line per update on stdout\n"
            "      --wait-subscriber   start the inputs once a subscriber is connected\n"
            "      --log-level LEVEL   error | warn | info | debug (%s)\n"
            "      --list-devices      list PortAudio capture devices\n"
            "      --model-info        print the model's labels and front-end as JSON\n"
            "      --gen-keys DIR      write a CURVE keypair DIR/curve.key, DIR/curve.pub\n"
            "  -h, --help              this help\n"
            "  -V, --version           version and built-in model\n",
            d.streams[0].name, d.publish[0], d.hop, d.smoothing, d.change_hold,
            d.change_decoder == TRACKER_DECODE_HMM ? "hmm" : "hold", d.hmm_segment, d.hmm_exponent,
            d.hmm_threshold, d.hmm_hold, d.silence_dbfs, d.status_interval, d.send_hwm,
            d.drop_policy == DROP_ISOLATE ? "isolate" : "count", d.ring_seconds, d.log_level);
    conf_free(&d);
}

enum {
    OPT_CHECK = 256,
    OPT_SET,
    OPT_FLAG,
    OPT_LOOP,
    OPT_WAIT,
    OPT_LIST,
    OPT_MODEL_INFO,
    OPT_GEN_KEYS,
};

static const struct option long_options[] = {
    {"config", required_argument, NULL, 'c'},
    {"check-config", no_argument, NULL, OPT_CHECK},
    {"input", required_argument, NULL, 'i'},
    {"name", required_argument, NULL, 'n'},
    {"publish", required_argument, NULL, 'p'},
    {"model", required_argument, NULL, 'm'},
    {"hop", required_argument, NULL, OPT_SET},
    {"smoothing", required_argument, NULL, OPT_SET},
    {"change-hold", required_argument, NULL, OPT_SET},
    {"change-decoder", required_argument, NULL, OPT_SET},
    {"hmm-segment", required_argument, NULL, OPT_SET},
    {"hmm-exponent", required_argument, NULL, OPT_SET},
    {"hmm-threshold", required_argument, NULL, OPT_SET},
    {"hmm-hold", required_argument, NULL, OPT_SET},
    {"silence-dbfs", required_argument, NULL, OPT_SET},
    {"status-interval", required_argument, NULL, OPT_SET},
    {"send-hwm", required_argument, NULL, OPT_SET},
    {"drop-policy", required_argument, NULL, OPT_SET},
    {"ring-seconds", required_argument, NULL, OPT_SET},
    {"log-level", required_argument, NULL, OPT_SET},
    {"realtime", no_argument, NULL, OPT_FLAG},
    {"loop", optional_argument, NULL, OPT_LOOP},
    {"print", no_argument, NULL, OPT_FLAG},
    {"wait-subscriber", no_argument, NULL, OPT_WAIT},
    {"list-devices", no_argument, NULL, OPT_LIST},
    {"model-info", no_argument, NULL, OPT_MODEL_INFO},
    {"gen-keys", required_argument, NULL, OPT_GEN_KEYS},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* Config key for a long option: "change-hold" -> "change_hold". */
static const char *option_key(const char *option)
{
    static char keys[MAX_OVERRIDES][32];
    static unsigned next; /* parse_cli stops at MAX_OVERRIDES settings */
    char *k = keys[next++ % MAX_OVERRIDES];
    snprintf(k, 32, "%s", option);
    for (char *c = k; *c; c++)
        if (*c == '-') *c = '_';
    return k;
}

static void add_override(cli *a, const char *key, const char *value, const char *flag)
{
    if (a->n_set == MAX_OVERRIDES) return;
    a->set[a->n_set].key = key;
    a->set[a->n_set].value = value;
    a->set[a->n_set].flag = flag;
    a->n_set++;
}

/* Returns -1 to continue, else the exit status. */
static int parse_cli(cli *a, int argc, char **argv)
{
    static char flags[MAX_OVERRIDES][40];
    int idx = -1, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:i:n:p:m:hV", long_options, &idx)) != -1) {
        const char *name = idx >= 0 ? long_options[idx].name : NULL;
        switch (c) {
        case 'c':
            a->config_path = optarg;
            break;
        case 'i':
            a->input = optarg;
            break;
        case 'n':
            a->name = optarg;
            break;
        case 'p':
            if (a->n_publish == CONFIG_MAX_PUBLISH) {
                fprintf(stderr, "genred: --publish: at most %d endpoints\n", CONFIG_MAX_PUBLISH);
                return 2;
            }
            a->publish[a->n_publish++] = optarg;
            break;
        case 'm':
        case OPT_SET:
        case OPT_FLAG:
        case OPT_LOOP:
            if (a->n_set == MAX_OVERRIDES) {
                fprintf(stderr, "genred: more than %d settings on the command line\n",
                        MAX_OVERRIDES);
                return 2;
            }
            if (c == 'm') name = "model";
            snprintf(flags[a->n_set], sizeof flags[0], "--%s", name);
            add_override(a, option_key(name),
                         c == OPT_FLAG || (c == OPT_LOOP && !optarg) ? "true" : optarg,
                         flags[a->n_set]);
            break;
        case OPT_CHECK:
            a->check_config = 1;
            break;
        case OPT_WAIT:
            a->wait_subscriber = 1;
            break;
        case OPT_LIST:
            a->list_devices = 1;
            break;
        case OPT_MODEL_INFO:
            a->model_info = 1;
            break;
        case OPT_GEN_KEYS:
            a->gen_keys = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            return 'V';
        case ':':
            fprintf(stderr, "genred: option '%s' needs a value (see --help)\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "genred: unknown option '%s' (see --help)\n", argv[optind - 1]);
            return 2;
        }
        idx = -1;
    }
    if (optind < argc) {
        fprintf(stderr, "genred: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    return -1;
}

/* Where a setting came from, as a prefix for errors found after loading:
 * "--flag: " when the command line set it, "FILE:LINE: " when the file did. */
static void origin(const cli *a, const char *file, const char *key, char *buf, size_t len)
{
    for (unsigned i = a->n_set; i-- > 0;)
        if (!strcmp(a->set[i].key, key)) {
            snprintf(buf, len, "%s: ", a->set[i].flag);
            return;
        }
    conf_key_where(file, key, buf, len);
}

/* What the config names outside itself: the key files must load and an
 * ipc endpoint's directory must take a socket, so that --check-config and
 * a reload catch what would stop a restart. */
static int check_outside(const cli *a, const genred_config *cfg, const char *file, char *err,
                         size_t len)
{
    char why[CONFIG_TEXT_LEN + 600], at[CONFIG_TEXT_LEN + 32];
    for (unsigned i = 0; i < cfg->n_publish; i++)
        if (endpoint_check_ipc(cfg->publish[i], why, sizeof why)) {
            if (a->n_publish) /* the flag replaced the file's list */
                snprintf(at, sizeof at, "--publish: ");
            else
                origin(a, file, "publish", at, sizeof at);
            snprintf(err, len, "%spublish %s", at, why);
            return -1;
        }
    if (!cfg->curve_secret_key[0] ||
        !curve_check_files(cfg->curve_secret_key, cfg->curve_allow, why, sizeof why))
        return 0;
    origin(a, file, strncmp(why, "curve_allow", 11) ? "curve_secret_key" : "curve_allow", at,
           sizeof at);
    snprintf(err, len, "%s%s", at, why);
    return -1;
}

/* The file, then the command line, over the defaults in cfg. 0, or the
 * exit status: 2 when a flag's value is wrong (a command-line error, as
 * genred.8 says), 1 for the file or the settings as a whole. */
static int fill_config(const cli *a, genred_config *cfg, const char **file, char *err, size_t len)
{
    *file = a->config_path;
    if (!*file && access(CONFIG_DEFAULT_PATH, F_OK) == 0) *file = CONFIG_DEFAULT_PATH;
    if (*file && conf_load_file(cfg, *file, err, len)) return 1;
    if (a->input) {
        if (input_check_spec(a->input, err, len)) return 2;
        conf_set_input(cfg, a->name, a->input);
    } else if (a->name) {
        snprintf(cfg->streams[0].name, sizeof cfg->streams[0].name, "%s", a->name);
    }
    for (unsigned i = 0; i < a->n_publish; i++)
        if (conf_add_publish(cfg, a->publish[i], i == 0, err, len)) return 2;
    for (unsigned i = 0; i < a->n_set; i++)
        if (conf_set(cfg, a->set[i].key, a->set[i].value, a->set[i].flag, err, len)) return 2;
    return conf_check(cfg, err, len) || check_outside(a, cfg, *file, err, len) ? 1 : 0;
}

/* Defaults, then the file, then the command line; on success cfg owns
 * memory (conf_free), on failure nothing. 0, or the exit status as
 * fill_config says. */
static int build_config(const cli *a, genred_config *cfg, const char **file, char *err, size_t len)
{
    if (conf_defaults(cfg)) {
        snprintf(err, len, "out of memory");
        return 1;
    }
    int rc = fill_config(a, cfg, file, err, len);
    if (rc) conf_free(cfg);
    return rc;
}

/* The model the settings name; errors say where it was named. */
static model_t *load_model(const cli *a, const genred_config *cfg, const char *file, char *err,
                           size_t len)
{
    if (!cfg->model[0]) return model_load_default(err, len);
    char why[512], at[CONFIG_TEXT_LEN + 32];
    model_t *m = model_load_file(cfg->model, why, sizeof why);
    if (!m) {
        origin(a, file, "model", at, sizeof at);
        snprintf(err, len, "%smodel: %s", at, why);
    }
    return m;
}

static pipeline_settings settings_of(const genred_config *cfg)
{
    tracker_hmm_settings hmm = {cfg->hmm_segment, cfg->hmm_exponent, cfg->hmm_threshold,
                                cfg->hmm_hold};
    pipeline_settings s = {
        {cfg->hop, cfg->smoothing, cfg->change_hold, cfg->silence_dbfs, cfg->change_decoder, hmm},
        cfg->print};
    return s;
}

/* ---- genre.status ---- */

static double cpu_seconds(double *user, double *sys)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    *sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    return *user + *sys;
}

static void stream_status(app *g, unsigned i, publisher_t *pub, message_stream_status *s)
{
    s->name = g->streams[i].conf.name;
    s->input = g->streams[i].conf.input;
    pipeline_get_stats(g->streams[i].pipeline, &s->stats);
    input_error(g->streams[i].input, s->error, sizeof s->error);
    input_note(g->streams[i].input, s->note, sizeof s->note);
    if (s->stats.stalled_s > 0) /* the input has not noticed: say it here */
        snprintf(s->note, sizeof s->note, "no audio for %.0f s", s->stats.stalled_s);
    /* After a stop signal no more audio is analysed: the closing status
     * says the stream ended and why, as an ordinary end of input does,
     * rather than "running". An input that ended or failed keeps its own. */
    int sig = atomic_load(&g->stop_signal);
    if (sig && strcmp(s->stats.state, "ended") && strcmp(s->stats.state, "failed")) {
        s->stats.state = "ended";
        snprintf(s->note, sizeof s->note, "genred stopped by %s",
                 sig == SIGINT ? "SIGINT" : "SIGTERM");
    }
    s->latency_n =
        publisher_take_latency(pub, s->name, &s->latency_p50, &s->latency_p99, &s->latency_max);
}

static char *make_status(publisher_t *pub, void *ctx)
{
    app *g = ctx;
    int64_t now = monotonic_ns();
    message_process_status proc = {GENRED_VERSION, g->model_id, 0, 0, 0, 0, 0, 0};
    double cpu = cpu_seconds(&proc.cpu_user_s, &proc.cpu_system_s);
    message_stream_status *streams = calloc(g->n_streams ? g->n_streams : 1, sizeof *streams);
    if (!streams) return NULL;
    for (unsigned i = 0; i < g->n_streams; i++)
        stream_status(g, i, pub, &streams[i]);
    pthread_mutex_lock(&g->lock);
    double wall = (double)(now - g->last_cpu_ns) / 1e9;
    proc.cpu_percent = wall > 0 ? 100.0 * (cpu - g->last_cpu_s) / wall : 0.0;
    proc.uptime_s = (double)(now - g->start_ns) / 1e9;
    proc.sent = publisher_sent(pub);
    proc.dropped = publisher_dropped(pub);
    g->last_cpu_ns = now;
    g->last_cpu_s = cpu;
    char *text = message_status(&proc, streams, g->n_streams);
    pthread_mutex_unlock(&g->lock);
    free(streams);
    return text;
}

/* ---- start, reload, stop ---- */

static void set_model_id(app *g, const char *id)
{
    pthread_mutex_lock(&g->lock);
    snprintf(g->model_id, sizeof g->model_id, "%s", id);
    pthread_mutex_unlock(&g->lock);
}

/* With several streams, each has its own PortAudio client genred-<stream>,
 * and its JACK ports are <stream>_in_N on the one client genred, or in_N on
 * its own genred-<stream> (jack_clients = "per_stream"). One stream is
 * genred, in_N either way. */
static void name_clients(const app *g, const config_stream *s, input_options *io,
                         char client[CONFIG_NAME_LEN + 8], char prefix[CONFIG_NAME_LEN + 2])
{
    int several = g->n_streams > 1;
    snprintf(client, CONFIG_NAME_LEN + 8, several ? "genred-%s" : "genred", s->name);
    if (several && g->cfg.jack_clients == JACK_SHARED) {
        snprintf(prefix, CONFIG_NAME_LEN + 2, "%s_", s->name);
        io->jack_client = "genred";
        io->port_prefix = prefix;
    }
}

static int start_streams(app *g, char *err, size_t len)
{
    g->streams = calloc(g->cfg.n_streams, sizeof *g->streams);
    if (!g->streams) {
        snprintf(err, len, "out of memory for %u streams", g->cfg.n_streams);
        return -1;
    }
    g->n_streams = g->cfg.n_streams;
    for (unsigned i = 0; i < g->n_streams; i++) {
        const config_stream *s = &g->cfg.streams[i];
        g->streams[i].conf = *s;
        char client[CONFIG_NAME_LEN + 8], prefix[CONFIG_NAME_LEN + 2];
        input_options io = {.spec = s->input,
                            .client_name = client,
                            .realtime = g->cfg.realtime,
                            .loop = g->cfg.loop,
                            .ring_seconds = g->cfg.ring_seconds,
                            .name = s->name};
        name_clients(g, s, &io, client, prefix);
        g->streams[i].input = input_create(&io, err, len);
        if (!g->streams[i].input) return -1;
        pipeline_options po = {s->name, g->streams[i].input, g->publisher, g->model,
                               settings_of(&g->cfg)};
        g->streams[i].pipeline = pipeline_create(&po, err, len);
        if (!g->streams[i].pipeline) return -1;
    }
    return 0;
}

static int run_streams(app *g, char *err, size_t len)
{
    for (unsigned i = 0; i < g->n_streams; i++)
        if (pipeline_start(g->streams[i].pipeline, err, len)) return -1;
    for (unsigned i = 0; i < g->n_streams; i++) {
        /* Said before the start, whose audio the worker may log at once:
         * the input was opened (its format known) by input_create. */
        log_info("stream '%s': %s (%g Hz, %u channel(s))", g->streams[i].conf.name,
                 g->streams[i].conf.input, input_rate(g->streams[i].input),
                 input_channels(g->streams[i].input));
        if (input_start(g->streams[i].input, err, len)) return -1;
    }
    return 0;
}

static void stop_all(app *g)
{
    /* Every worker and reader is asked first and joined after, so that 128
     * streams stop as fast as one. */
    for (unsigned i = 0; i < g->n_streams; i++)
        if (g->streams[i].pipeline) pipeline_request_stop(g->streams[i].pipeline);
    for (unsigned i = 0; i < g->n_streams; i++)
        if (g->streams[i].pipeline) pipeline_stop(g->streams[i].pipeline);
    if (g->publisher) publisher_stop(g->publisher);
    if (g->running) {
        log_info("published %llu messages, dropped %llu",
                 (unsigned long long)publisher_sent(g->publisher),
                 (unsigned long long)publisher_dropped(g->publisher));
    }
    for (unsigned i = 0; g->running && i < g->n_streams; i++) {
        pipeline_stats st;
        pipeline_get_stats(g->streams[i].pipeline, &st);
        log_info("stream '%s': %llu hops, %llu overruns (%llu samples), %llu non-finite samples",
                 pipeline_name(g->streams[i].pipeline), (unsigned long long)st.hops,
                 (unsigned long long)st.overruns, (unsigned long long)st.overrun_samples,
                 (unsigned long long)st.nonfinite);
    }
    /* Inputs outlive the publisher's closing status, which reports them. */
    for (unsigned i = 0; i < g->n_streams; i++)
        input_request_stop(g->streams[i].input);
    for (unsigned i = 0; i < g->n_streams; i++) {
        pipeline_destroy(g->streams[i].pipeline);
        input_destroy(g->streams[i].input);
    }
    free(g->streams);
    g->streams = NULL;
    g->n_streams = 0;
    publisher_destroy(g->publisher);
    g->publisher = NULL;
    model_ref_release(g->model);
    g->model = NULL;
}

/* Settings that only a restart can change: the reload says so rather than
 * silently ignoring them. */
static void warn_fixed_settings(const genred_config *old, const genred_config *new)
{
    if (old->n_streams != new->n_streams ||
        memcmp(old->streams, new->streams, old->n_streams * sizeof *old->streams))
        log_warn("reload: streams/input changed; restart genred to apply");
    if (old->n_publish != new->n_publish || memcmp(old->publish, new->publish, sizeof old->publish))
        log_warn("reload: publish endpoints changed; restart genred to apply");
    if (old->send_hwm != new->send_hwm || old->drop_policy != new->drop_policy ||
        old->ring_seconds != new->ring_seconds || old->status_interval != new->status_interval ||
        old->realtime != new->realtime || old->loop != new->loop ||
        old->jack_clients != new->jack_clients)
        log_warn("reload: send_hwm, drop_policy, ring_seconds, status_interval, realtime, loop "
                 "and jack_clients need a restart to change");
}

static void reload(app *g)
{
    char err[ERR_LEN];
    genred_config cfg;
    const char *file;
    notify_reloading();
    log_info("reload: SIGHUP received");
    if (build_config(&g->args, &cfg, &file, err, sizeof err)) {
        log_error("reload failed, keeping the running configuration and model: %s", err);
        notify_ready();
        return;
    }
    model_t *m = load_model(&g->args, &cfg, file, err, sizeof err);
    model_ref *ref = m ? model_ref_new(m) : NULL;
    if (!ref) {
        if (m) model_destroy(m);
        log_error("reload failed, keeping model '%s': %s", g->model_id, m ? "out of memory" : err);
        conf_free(&cfg);
        notify_ready();
        return;
    }
    unsigned i;
    pipeline_settings s = settings_of(&cfg);
    for (i = 0; i < g->n_streams; i++)
        if (pipeline_prepare_reload(g->streams[i].pipeline, ref, &s, err, sizeof err)) break;
    if (i < g->n_streams) {
        for (unsigned j = 0; j < g->n_streams; j++)
            pipeline_abort_reload(g->streams[j].pipeline);
        log_error("reload failed, keeping model '%s': %s", g->model_id, err);
        model_ref_release(ref);
        conf_free(&cfg);
        notify_ready();
        return;
    }
    for (i = 0; i < g->n_streams; i++)
        pipeline_commit_reload(g->streams[i].pipeline);
    warn_fixed_settings(&g->cfg, &cfg);
    log_set_level((log_level)log_parse_level(cfg.log_level));
    model_ref_release(g->model);
    g->model = ref;
    set_model_id(g, ref->model->id);
    /* Keep what is fixed, take what changed. */
    genred_config keep = g->cfg;
    conf_free(&cfg);
    g->cfg = cfg;
    g->cfg.streams = keep.streams;
    g->cfg.n_streams = keep.n_streams;
    log_info("reload: done, model '%s'%s%s", ref->model->id, file ? " from " : "",
             file ? file : "");
    notify_ready();
}

/* ---- main loop ---- */

typedef struct {
    int ready;
    int64_t last_watchdog, last_status;
    char status[256];
} supervision;

/* READY=1 once audio flows, WATCHDOG=1 while every worker loop is alive,
 * STATUS= with the current genre. Returns 1 when every stream is done. */
static int supervise(app *g, supervision *sv, int *failed)
{
    int64_t now = monotonic_ns();
    uint64_t wd_usec = notify_watchdog_usec();
    int all_done = 1, alive = 1, flowing = 0;
    char status[256] = "";
    size_t used = 0;
    *failed = 0;
    for (unsigned i = 0; i < g->n_streams; i++) {
        pipeline_stats st;
        pipeline_get_stats(g->streams[i].pipeline, &st);
        all_done &= st.finished;
        flowing |= st.audio_seen;
        *failed |= !strcmp(st.state, "failed");
        /* A worker that has not looped for a second is stuck. */
        if (!st.finished && now - st.heartbeat_ns > 1000000000LL) alive = 0;
        if (used < sizeof status)
            used += (size_t)snprintf(status + used, sizeof status - used, "%s%s: %s", i ? "; " : "",
                                     pipeline_name(g->streams[i].pipeline),
                                     st.have_top  ? st.top
                                     : st.silence ? "(silence)"
                                                  : st.state);
    }
    if (flowing && !sv->ready) {
        sv->ready = 1;
        notify_ready(); /* each worker logs its own "audio is flowing" */
    }
    if (wd_usec && alive && now - sv->last_watchdog >= (int64_t)wd_usec * 1000 / 2) {
        notify_watchdog();
        sv->last_watchdog = now;
    }
    if (now - sv->last_status >= 1000000000LL && strcmp(status, sv->status)) {
        notify_status(status);
        snprintf(sv->status, sizeof sv->status, "%s", status);
        sv->last_status = now;
    }
    return all_done;
}

/* Waits for the next signal, at most LOOP_MS. */
static int next_signal(const sigset_t *set)
{
    struct timespec t = {0, LOOP_MS * 1000000L};
    int sig = sigtimedwait(set, NULL, &t);
    return sig < 0 ? 0 : sig;
}

/* SIGINT or SIGTERM if one is waiting (taken), else 0: a start-up step that
 * gave up because of it was a stop, not a failure. */
static int pending_stop(void)
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    struct timespec now = {0, 0};
    int sig = sigtimedwait(&stop, NULL, &now);
    return sig < 0 ? 0 : sig;
}

static int wait_for_subscriber(app *g, const sigset_t *set)
{
    log_info("waiting for a subscriber before starting the input(s)");
    while (!publisher_subscribed(g->publisher)) {
        int sig = next_signal(set);
        if (sig == SIGINT || sig == SIGTERM) {
            atomic_store(&g->stop_signal, sig);
            return -1;
        }
    }
    /* Give ZeroMQ a moment to attach the subscriber's filter on every
     * endpoint before the first message. */
    struct timespec t = {0, 50 * 1000000L};
    nanosleep(&t, NULL);
    return 0;
}

static int run(app *g, const sigset_t *set)
{
    supervision sv = {0, 0, 0, ""};
    int failed = 0;
    for (;;) {
        int sig = next_signal(set);
        if (sig == SIGINT || sig == SIGTERM) {
            log_info("%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
            atomic_store(&g->stop_signal, sig);
            notify_stopping();
            return 0;
        }
        if (sig == SIGHUP) reload(g);
        if (supervise(g, &sv, &failed)) {
            log_info("all inputs ended");
            return failed ? 1 : 0;
        }
    }
}

static int print_model_info(const model_t *m)
{
    unsigned frames = model_window_frames(m);
    json_t *labels = json_array();
    for (unsigned i = 0; i < m->n_labels; i++)
        json_array_append_new(labels, json_string(m->labels[i]));
    json_t *info = json_pack(
        "{s:s, s:o, s:b, s:b, s:i, s:{s:f, s:i, s:i, s:i, s:i, s:f, s:f, s:f, s:i}}", "id", m->id,
        "labels", labels, "deltas", (int)m->deltas, "no_c0", (int)m->no_c0, "n_inputs",
        (int)m->n_inputs, "frontend", "sample_rate", m->frontend.mfcc.sample_rate, "n_fft",
        (int)m->frontend.mfcc.n_fft, "hop", (int)m->frontend.mfcc.hop, "n_mels",
        (int)m->frontend.mfcc.n_mels, "n_coeffs", (int)m->frontend.mfcc.n_coeffs, "fmin",
        m->frontend.mfcc.fmin, "fmax", m->frontend.mfcc.fmax, "window_seconds",
        m->frontend.window_seconds, "window_frames", (int)frames);
    json_dumpf(info, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(info);
    return 0;
}

static int generate_keys(const char *dir)
{
    char err[512];
    if (curve_generate_keys(dir, err, sizeof err)) {
        fprintf(stderr, "genred: %s\n", err);
        return 1;
    }
    printf("genred: wrote %s/curve.key (secret, 0600) and %s/curve.pub (public, 0644)\n", dir, dir);
    return 0;
}

static int print_version(void)
{
    char err[256];
    model_t *m = model_load_default(err, sizeof err);
    printf("genred %s (built-in model: %s)\n", GENRED_VERSION, m ? m->id : err);
    if (m) model_destroy(m);
    return 0;
}

/* --check-config: what was checked, and the settings that will be used. */
static int print_config_ok(const app *g, const model_t *m)
{
    char settings[4096];
    conf_format_settings(&g->cfg, settings, sizeof settings);
    printf("genred: configuration OK (%s, model '%s', %u stream(s))\n"
           "genred: settings: %s\n",
           g->config_file ? g->config_file : "built-in defaults", m->id, g->cfg.n_streams,
           settings);
    return 0;
}

/* The daemon on model m (from here g's): publisher, streams, the main loop
 * until a signal or the end of every input; everything stopped and freed. */
/* Each stream holds a few descriptors (its ZeroMQ socket's mailbox, an
 * input's files or sockets): 1024 streams pass the usual soft limit of 1024
 * open files ("Too many open files" at start-up), so take what the hard
 * limit allows, as servers do. */
static void raise_file_limit(void)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r)) return;
    rlim_t want = r.rlim_max == RLIM_INFINITY || r.rlim_max > 65536 ? 65536 : r.rlim_max;
    if (r.rlim_cur >= want) return;
    r.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &r) == 0)
        log_debug("open files: up to %llu", (unsigned long long)want);
}

static int serve(app *g, model_t *m)
{
    char err[ERR_LEN];
    g->model = model_ref_new(m);
    if (!g->model) {
        model_destroy(m);
        conf_free(&g->cfg);
        fprintf(stderr, "genred: out of memory\n");
        return 1;
    }
    pthread_mutex_init(&g->lock, NULL);
    set_model_id(g, m->id);
    g->start_ns = g->last_cpu_ns = monotonic_ns();

    /* Block the signals before any thread exists, so every thread inherits
     * the mask and only sigtimedwait below ever sees them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    raise_file_limit();
    g->publisher = publisher_create(&g->cfg, err, sizeof err);
    if (!g->publisher || start_streams(g, err, sizeof err) ||
        publisher_start(g->publisher, make_status, g, err, sizeof err)) {
        log_error("%s", err);
        goto out;
    }
    for (unsigned i = 0; i < g->cfg.n_publish; i++)
        log_info("publishing on %s", g->cfg.publish[i]);
    if (g->args.wait_subscriber && wait_for_subscriber(g, &set)) {
        rc = 0;
        goto out;
    }
    if (run_streams(g, err, sizeof err)) {
        int sig = pending_stop();
        if (sig) {
            log_info("%s: stopping during start-up (%s)", sig == SIGINT ? "SIGINT" : "SIGTERM",
                     err);
            atomic_store(&g->stop_signal, sig);
            rc = 0;
        } else {
            log_error("%s", err);
        }
        goto out;
    }
    g->running = 1;
    rc = run(g, &set);
out:
    stop_all(g);
    conf_free(&g->cfg);
    pthread_mutex_destroy(&g->lock);
    return rc;
}

int main(int argc, char **argv)
{
    app g;
    memset(&g, 0, sizeof g);
    int rc = parse_cli(&g.args, argc, argv);
    if (rc == 'V') return print_version();
    if (rc >= 0) return rc;
    if (g.args.list_devices) return input_list_devices();
    if (g.args.gen_keys) return generate_keys(g.args.gen_keys);

    char err[ERR_LEN];
    rc = build_config(&g.args, &g.cfg, &g.config_file, err, sizeof err);
    if (rc) {
        fprintf(stderr, "genred: %s\n", err);
        return rc;
    }
    log_set_level((log_level)log_parse_level(g.cfg.log_level));
    model_t *m = load_model(&g.args, &g.cfg, g.config_file, err, sizeof err);
    if (!m) {
        fprintf(stderr, "genred: %s\n", err);
        conf_free(&g.cfg);
        return 1;
    }
    if (g.args.model_info || g.args.check_config) {
        rc = g.args.model_info ? print_model_info(m) : print_config_ok(&g, m);
        model_destroy(m);
        conf_free(&g.cfg);
        return rc;
    }
    return serve(&g, m);
}
