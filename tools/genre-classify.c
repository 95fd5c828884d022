/* genre-classify: the batch tool for tagging recordings. Every file is cut
 * into windows (start 0, step --hop), each classified with the raw model
 * output (no smoothing); the file's verdict is the mean over its windows. */
#include "dataset.h"
#include "evaluate.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

#define PROG      "genre-classify"
#define fail(...) cli_error(PROG, __VA_ARGS__)

static void usage(FILE *out)
{
    fprintf(out,
            "usage: genre-classify [--model MODEL] [--hop SECONDS] [--windows] [--json] AUDIO...\n"
            "  --model    model file (default: the built-in model)\n"
            "  --hop      window step in seconds (default 0.5)\n"
            "  --windows  also print every window (JSON output always carries them)\n"
            "  --json     one JSON object per file per line\n");
}

/* File names need not be UTF-8; JSON strings must be. */
static json_t *json_path(const char *path)
{
    json_t *s = json_string(path);
    if (s) return s;
    char *copy = strdup(path);
    if (!copy) return json_null();
    for (char *c = copy; *c; c++)
        if ((unsigned char)*c >= 0x80) *c = '?';
    s = json_string(copy);
    free(copy);
    return s ? s : json_null();
}

static json_t *probs_json(const float *p, unsigned n)
{
    json_t *a = json_array();
    for (unsigned k = 0; k < n; k++)
        json_array_append_new(a, json_real((double)p[k]));
    return a;
}

static void print_json(const char *path, const model_t *m, const eval_geometry *g,
                       const mfcc_params *p, const float *wp, unsigned count, const float *clip)
{
    json_t *labels = json_array(), *windows = json_array();
    unsigned top = metrics_argmax(clip, m->n_labels);
    for (unsigned k = 0; k < m->n_labels; k++)
        json_array_append_new(labels, json_string(m->labels[k]));
    for (unsigned w = 0; w < count; w++)
        json_array_append_new(
            windows, json_pack("{s:f, s:o}", "start",
                               (double)eval_window_start(g, w) * p->hop / p->sample_rate, "probs",
                               probs_json(wp + (size_t)w * m->n_labels, m->n_labels)));
    json_t *o =
        json_pack("{s:o, s:o, s:s, s:o, s:o}", "file", json_path(path), "labels", labels, "top",
                  m->labels[top], "probs", probs_json(clip, m->n_labels), "windows", windows);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    if (text) printf("%s\n", text);
    free(text);
    json_decref(o);
}

static void print_text(const char *path, const model_t *m, const eval_geometry *g,
                       const mfcc_params *p, const float *wp, unsigned count, const float *clip,
                       int windows)
{
    unsigned top = metrics_argmax(clip, m->n_labels);
    printf("%s: %s %.3f\n", path, m->labels[top], clip[top]);
    for (unsigned w = 0; windows && w < count; w++) {
        const float *q = wp + (size_t)w * m->n_labels;
        unsigned k = metrics_argmax(q, m->n_labels);
        printf("  %9.3f s  %-12s %.3f\n", (double)eval_window_start(g, w) * p->hop / p->sample_rate,
               m->labels[k], q[k]);
    }
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {{"model", 1, 0, 'm'},   {"hop", 1, 0, 'h'},
                                          {"windows", 0, 0, 'w'}, {"json", 0, 0, 'j'},
                                          {"help", 0, 0, '?'},    {0, 0, 0, 0}};
    const char *model_path = NULL;
    int json = 0, windows = 0, c;
    double hop = 0.5;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'm':
            model_path = optarg;
            break;
        case 'w':
            windows = 1;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            errno = 0;
            hop = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(hop >= 0.01 && hop <= 60))
                return fail("--hop: '%s' is not a number of seconds in 0.01..60", optarg);
            break;
        default:
            if (!strcmp(argv[optind - 1], "--help")) {
                usage(stdout);
                return 0;
            }
            usage(stderr);
            return fail("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return fail("no audio files given");
    }
    char err[1024];
    model_t *m = eval_load_model(model_path, err, sizeof err);
    if (!m) return fail("%s", err);
    mfcc_params p = eval_model_params(m);
    eval_geometry g = eval_geometry_for(&p, m->frontend.window_seconds, hop);
    classifier_t *cl = classifier_create(m, g.window_frames, err, sizeof err);
    if (!cl) {
        model_destroy(m);
        return fail("%s", err);
    }

    int rc = 0;
    float clip[MODEL_MAX_LABELS];
    for (int i = optind; i < argc; i++) {
        dataset_features f;
        unsigned length;
        if (dataset_features_compute(argv[i], &p, -1000, NULL, &f, err, sizeof err)) {
            fprintf(stderr, "genre-classify: %s\n", err);
            rc = 1;
            continue;
        }
        unsigned count = eval_window_count(&g, f.n_frames, &length);
        float *wp = count ? malloc((size_t)count * m->n_labels * sizeof *wp) : NULL;
        if (!count || !wp) {
            fprintf(stderr, "genre-classify: %s: %s\n", argv[i],
                    count ? "out of memory" : "shorter than 1 s, nothing to classify");
            rc = 1;
        } else {
            eval_clip(cl, &g, &f, wp, clip);
            if (json)
                print_json(argv[i], m, &g, &p, wp, count, clip);
            else
                print_text(argv[i], m, &g, &p, wp, count, clip, windows);
            fflush(stdout);
        }
        free(wp);
        dataset_features_free(&f);
    }
    dataset_thread_release();
    classifier_destroy(cl);
    model_destroy(m);
    return rc;
}
