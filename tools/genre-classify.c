/* genre-classify: the batch tool for tagging recordings. Every file is cut
 * into windows (start 0, step --hop), each classified with the raw model
 * output (no smoothing); the file's verdict is the mean over its windows
 * (classify.h). Folders are walked recursively; files run on --jobs threads
 * and their results are printed in the order the files were named. */
#include "classify.h"
#include "cli.h"
#include "evaluate.h"
#include "file_list.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROG      "genre-classify"
#define fail(...) cli_error(PROG, __VA_ARGS__)

static void usage(FILE *out)
{
    fprintf(out,
            "usage: genre-classify [--model MODEL] [--hop SECONDS] [--windows[=WHICH]] [--json]\n"
            "                      [--smoothing S] [--change-hold S] [--jobs N] AUDIO|FOLDER...\n"
            "  --model    model file (default: the built-in model)\n"
            "  --hop      window step in seconds (default 0.5)\n"
            "  --windows  what each file's result carries besides its verdict:\n"
            "             all      every window (--windows alone; --json's default for files)\n"
            "             changes  genre segments (start, end, label), from genred's tracker\n"
            "                      (--json's default when a FOLDER is given)\n"
            "             none     the verdict only (the text output's default)\n"
            "  --smoothing, --change-hold  the tracker's, for changes (genred's: %g, %g)\n"
            "  --json     one JSON object per file per line, errors included\n"
            "  --jobs     files classified at once (default: every core)\n"
            "  --help, --version\n"
            "Folders are searched recursively for audio files (by name: .wav .flac .ogg ...).\n"
            "Exit status: 0 every file classified, 1 some file failed, 2 usage error.\n",
            TRACKER_DEFAULT_SMOOTHING, TRACKER_DEFAULT_CHANGE_HOLD);
}

typedef struct {
    int json, windows; /* windows: a classify_windows, or -1 until chosen */
    double hop;
    tracker_settings tracker;
    unsigned jobs;
    const char *model_path;
} options;

/* One file's printed output, kept until every file before it is printed. */
typedef struct {
    char *out, *err;
    int done, failed;
} slot;

typedef struct {
    const options *o;
    const model_t *m;
    file_list files;
    slot *slots;
    size_t next_file, next_print;
    int failed;
    pthread_mutex_t lock;
} batch;

/* One indented line per genre segment: start - end, label. */
static int text_segments(FILE *f, const classify_t *c, const model_t *m, const classify_result *r,
                         const tracker_settings *s)
{
    classify_segment *seg;
    int n = classify_segments(c, r, s, &seg);
    for (int i = 0; i < n; i++)
        fprintf(f, "  %9.3f - %9.3f s  %s\n", seg[i].start, seg[i].end,
                seg[i].label >= 0 ? m->labels[seg[i].label] : "(silence)");
    if (n >= 0) free(seg);
    return n < 0 ? -1 : 0;
}

static char *text_result(const classify_t *c, const model_t *m, const char *path,
                         const classify_result *r, const options *o)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    fprintf(f, "%s: %s %.3f\n", path, m->labels[r->top], r->probs[r->top]);
    for (unsigned w = 0; o->windows == CLASSIFY_WINDOWS_ALL && w < r->n_windows; w++) {
        const float *q = r->window_probs + (size_t)w * m->n_labels;
        unsigned k = metrics_argmax(q, m->n_labels);
        fprintf(f, "  %9.3f s  %-12s %.3f\n", classify_window_start(c, w), m->labels[k], q[k]);
    }
    int rc = o->windows == CLASSIFY_WINDOWS_CHANGES ? text_segments(f, c, m, r, &o->tracker) : 0;
    if (fclose(f) || rc) {
        free(buf);
        return NULL;
    }
    return buf;
}

static char *json_line(char *text)
{
    char *line = text ? realloc(text, strlen(text) + 2) : NULL;
    if (!line) {
        free(text);
        return NULL;
    }
    strcat(line, "\n");
    return line;
}

static char *message(const char *text)
{
    char *s = malloc(strlen(PROG) + strlen(text) + 4);
    if (s) sprintf(s, "%s: %s\n", PROG, text);
    return s;
}

/* Classifies one file into its slot: the result line(s) on stdout, errors
 * and warnings on stderr (with --json, errors go to stdout as lines too). */
static void run_one(batch *b, classify_t *c, size_t i)
{
    const char *path = b->files.paths[i];
    slot *s = &b->slots[i];
    classify_result r;
    char err[1024];
    if (classify_file(c, path, &r, err, sizeof err)) {
        s->failed = 1;
        s->err = message(err);
        if (b->o->json)
            s->out = json_line(classify_json_line(c, path, NULL, err, 0, &b->o->tracker));
        return;
    }
    if (r.warning[0]) {
        char text[1200];
        snprintf(text, sizeof text, "%s: warning: %s", path, r.warning);
        s->err = message(text);
    }
    s->out = b->o->json ? json_line(classify_json_line(
                              c, path, &r, NULL, (classify_windows)b->o->windows, &b->o->tracker))
                        : text_result(c, b->m, path, &r, b->o);
    if (!s->out) {
        s->failed = 1;
        free(s->err);
        s->err = message("out of memory printing the result");
    }
}

/* Prints every finished slot that has no unfinished one before it. */
static void print_ready(batch *b)
{
    while (b->next_print < b->files.n && b->slots[b->next_print].done) {
        slot *s = &b->slots[b->next_print++];
        if (s->err) fputs(s->err, stderr);
        if (s->out) fputs(s->out, stdout);
        fflush(stdout);
        b->failed |= s->failed;
        free(s->out);
        free(s->err);
        s->out = s->err = NULL;
    }
}

static void *worker(void *arg)
{
    batch *b = arg;
    char err[1024];
    classify_t *c = classify_create(b->m, b->o->hop, err, sizeof err);
    for (;;) {
        pthread_mutex_lock(&b->lock);
        size_t i = b->next_file++;
        pthread_mutex_unlock(&b->lock);
        if (i >= b->files.n) break;
        if (c)
            run_one(b, c, i);
        else
            b->slots[i].err = message(err), b->slots[i].failed = 1;
        pthread_mutex_lock(&b->lock);
        b->slots[i].done = 1;
        print_ready(b);
        pthread_mutex_unlock(&b->lock);
    }
    classify_destroy(c);
    return NULL;
}

static int run_batch(batch *b)
{
    unsigned jobs = b->o->jobs;
    if (jobs > b->files.n) jobs = (unsigned)b->files.n;
    pthread_t *threads = calloc(jobs, sizeof *threads);
    b->slots = calloc(b->files.n, sizeof *b->slots);
    if (!threads || !b->slots || pthread_mutex_init(&b->lock, NULL)) {
        free(threads);
        return fail("out of memory");
    }
    unsigned started = 0;
    while (started < jobs && pthread_create(&threads[started], NULL, worker, b) == 0)
        started++;
    if (started == 0) worker(b);
    for (unsigned t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    pthread_mutex_destroy(&b->lock);
    free(threads);
    free(b->slots);
    return b->failed ? 1 : 0;
}

static unsigned default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

static int parse_windows(const char *arg, options *o)
{
    static const char *const names[] = {"none", "changes", "all"};
    for (int k = 0; k < 3; k++)
        if (!arg || !strcmp(arg, names[k])) {
            o->windows = arg ? k : CLASSIFY_WINDOWS_ALL;
            return 0;
        }
    return fail("--windows: expected all, changes or none, not '%s'", arg);
}

/* 0, or the exit status of a usage error or --help/--version (-1 for 0). */
static int parse(int argc, char **argv, options *o)
{
    static const struct option longs[] = {{"model", 1, 0, 'm'},       {"hop", 1, 0, 'h'},
                                          {"windows", 2, 0, 'w'},     {"json", 0, 0, 'j'},
                                          {"jobs", 1, 0, 'J'},        {"smoothing", 1, 0, 's'},
                                          {"change-hold", 1, 0, 'H'}, {"help", 0, 0, '?'},
                                          {"version", 0, 0, 'V'},     {0, 0, 0, 0}};
    *o = (options){.windows = -1,
                   .hop = 0.5,
                   .tracker = {.smoothing = TRACKER_DEFAULT_SMOOTHING,
                               .change_hold = TRACKER_DEFAULT_CHANGE_HOLD,
                               .silence_dbfs = TRACKER_DEFAULT_SILENCE_DBFS,
                               .decoder = TRACKER_DEFAULT_DECODER,
                               .hmm = TRACKER_DEFAULT_HMM},
                   .jobs = default_jobs()};
    int c, rc = 0;
    opterr = 0;
    while (!rc && (c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'm':
            o->model_path = optarg;
            break;
        case 'w':
            rc = parse_windows(optarg, o);
            break;
        case 'j':
            o->json = 1;
            break;
        case 'h':
            rc = cli_real(PROG, "hop", optarg, 0.01, 60, &o->hop);
            break;
        case 's':
            rc = cli_real(PROG, "smoothing", optarg, 0, 3600, &o->tracker.smoothing);
            break;
        case 'H':
            rc = cli_real(PROG, "change-hold", optarg, 0, 3600, &o->tracker.change_hold);
            break;
        case 'J':
            rc = cli_uint(PROG, "jobs", optarg, 1, 1024, &o->jobs);
            break;
        case 'V':
            cli_version(PROG);
            return -1;
        default:
            return cli_help_or_usage_error(PROG, argv[optind - 1], usage);
        }
    }
    if (rc) return 2;
    if (optind >= argc) {
        usage(stderr);
        return fail("no audio files or folders given");
    }
    return 0;
}

/* --windows when not given: the verdict alone in text; in JSON every window
 * for files named one by one, genre segments when a folder is walked (an
 * archive: a 5 h file's every window is a 4.7 MB line). */
static int default_windows(const options *o, char *const *args, size_t n)
{
    if (!o->json) return CLASSIFY_WINDOWS_NONE;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(args[i], &st) == 0 && S_ISDIR(st.st_mode)) return CLASSIFY_WINDOWS_CHANGES;
    }
    return CLASSIFY_WINDOWS_ALL;
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    if (o.windows < 0) o.windows = default_windows(&o, argv + optind, (size_t)(argc - optind));
    char err[1024];
    model_t *m = eval_load_model(o.model_path, err, sizeof err);
    if (!m) return fail("%s", err);
    batch b = {.o = &o, .m = m};
    if (file_list_collect(&b.files, argv + optind, (size_t)(argc - optind), err, sizeof err)) {
        model_destroy(m);
        return fail("%s", err);
    }
    if (b.files.n == 0) {
        fprintf(stderr, "%s: no audio files found in the folders given\n", PROG);
        rc = 1;
    } else {
        rc = run_batch(&b);
    }
    file_list_free(&b.files);
    model_destroy(m);
    return rc;
}
