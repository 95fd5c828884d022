/* genre-queue: archive tagging on many machines through a JetStream work
 * queue (see jobqueue.h). enqueue adds files, work runs a worker, results
 * prints what the workers stored. */
#include "cli.h"
#include "jobqueue.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define PROG "genre-queue"

/* Set by SIGINT/SIGTERM in a worker (cli_stop_on_signals). */
static volatile sig_atomic_t *stop_requested;

static void usage(FILE *out)
{
    fprintf(out, "usage: genre-queue enqueue --nats URLS --queue NAME [--replicas N] PATH...\n"
                 "       genre-queue work    --nats URLS --queue NAME [--classify PROGRAM]\n"
                 "                           [--model MODEL] [--hop S] [--ack-wait S]\n"
                 "                           [--idle-exit S] [--max-jobs N]\n"
                 "       genre-queue results --nats URLS --queue NAME\n"
                 "  --nats      NATS server URLs, comma-separated (one JetStream cluster)\n"
                 "  --queue     queue name: letters, digits, '_', '-'\n"
                 "  --replicas  stream replicas when a command creates the queue (default 1;\n"
                 "              any command creates it if it is missing, work included)\n"
                 "  --classify  genre-classify to run (default: the one beside genre-queue)\n"
                 "  --model, --hop  passed to genre-classify\n"
                 "  --ack-wait  s before a job a worker holds goes to another (default 60)\n"
                 "  --idle-exit s without jobs before a worker exits (default: never)\n"
                 "  --max-jobs  jobs before a worker exits (default: no limit)\n"
                 "  --help, --version\n");
}

typedef struct {
    const char *nats, *queue;
    unsigned replicas, max_jobs;
    jobqueue_work_options work;
    char classify[4096];
} args;

static int parse_option(args *a, int c, const char *v)
{
    switch (c) {
    case 'n':
        a->nats = v;
        return 0;
    case 'q':
        a->queue = v;
        return 0;
    case 'c':
        snprintf(a->classify, sizeof a->classify, "%s", v);
        return 0;
    case 'm':
        a->work.classify.model = v;
        return 0;
    case 'r':
        return cli_uint(PROG, "replicas", v, 1, 5, &a->replicas);
    case 'j':
        return cli_uint(PROG, "max-jobs", v, 1, 2000000000, &a->max_jobs);
    case 'h':
        return cli_real(PROG, "hop", v, 0.01, 60, &a->work.classify.hop);
    case 'a':
        return cli_real(PROG, "ack-wait", v, 1, 86400, &a->work.ack_wait);
    case 'i':
        return cli_real(PROG, "idle-exit", v, 0.5, 86400, &a->work.idle_exit);
    default:
        return -1;
    }
}

/* Options from argv[first] on. 0, or the exit status of a usage error or
 * --help/--version (-1 for 0). */
static int parse(int argc, char **argv, int first, args *a)
{
    static const struct option opts[] = {
        {"nats", 1, 0, 'n'},     {"queue", 1, 0, 'q'},     {"replicas", 1, 0, 'r'},
        {"classify", 1, 0, 'c'}, {"model", 1, 0, 'm'},     {"hop", 1, 0, 'h'},
        {"ack-wait", 1, 0, 'a'}, {"idle-exit", 1, 0, 'i'}, {"max-jobs", 1, 0, 'j'},
        {"help", 0, 0, '?'},     {"version", 0, 0, 'V'},   {0, 0, 0, 0}};
    int c;
    opterr = 0;
    optind = first;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'V') {
            cli_version(PROG);
            return -1;
        }
        if (c == '?') return cli_help_or_usage_error(PROG, argv[optind - 1], usage);
        if (parse_option(a, c, optarg)) return 2;
    }
    return 0;
}

static int run(const char *cmd, args *a, int n_paths, char **paths)
{
    char err[1024];
    if (!strcmp(cmd, "enqueue") && !n_paths) return cli_error(PROG, "enqueue: no PATH given");
    if (strcmp(cmd, "enqueue") && n_paths) return cli_error(PROG, "unexpected '%s'", paths[0]);
    jobqueue_t *q = jobqueue_open(a->nats, a->queue, (int)a->replicas, err, sizeof err);
    if (!q) {
        fprintf(stderr, PROG ": %s\n", err);
        return 1;
    }
    long n;
    if (!strcmp(cmd, "enqueue")) {
        n = jobqueue_enqueue(q, (const char *const *)paths, n_paths, err, sizeof err);
        if (n >= 0) printf(PROG ": %ld jobs on queue '%s'\n", n, a->queue);
    } else if (!strcmp(cmd, "work")) {
        a->work.max_jobs = a->max_jobs;
        *err = '\0';
        n = jobqueue_work(q, &a->work, stop_requested, err, sizeof err);
        if (n >= 0 && *stop_requested && *err)
            fprintf(stderr, PROG ": stopped: %s; the job is back on the queue\n", err);
        if (n >= 0) fprintf(stderr, PROG ": %ld jobs done\n", n);
    } else {
        n = jobqueue_results(q, stdout, err, sizeof err);
    }
    if (n < 0) fprintf(stderr, PROG ": %s\n", err);
    jobqueue_close(q);
    return n < 0 ? 1 : 0;
}

static int is_command(const char *s)
{
    return !strcmp(s, "enqueue") || !strcmp(s, "work") || !strcmp(s, "results");
}

int main(int argc, char **argv)
{
    /* --help and --version answer before or after the command alike. */
    const char *cmd = argc > 1 && argv[1][0] != '-' ? argv[1] : NULL;
    args a = {.replicas = 1, .work = {.ack_wait = 60}};
    int rc = parse(argc, argv, cmd ? 2 : 1, &a);
    if (rc) return rc < 0 ? 0 : rc;
    if (!cmd || !is_command(cmd)) {
        usage(stderr);
        return cli_error(PROG, "the first argument is enqueue, work or results, not '%s'",
                         argc > 1 ? argv[1] : "");
    }
    if (!a.nats || !a.queue) return cli_error(PROG, "--nats and --queue are required");
    if (!a.classify[0]) classify_job_default_program(a.classify, sizeof a.classify);
    a.work.classify.program = a.classify;
    /* Only a worker has a point to stop at (between jobs); enqueue and
     * results stop at once on Ctrl-C, as by default. */
    if (!strcmp(cmd, "work")) stop_requested = cli_stop_on_signals();
    return run(cmd, &a, argc - optind, argv + optind);
}
