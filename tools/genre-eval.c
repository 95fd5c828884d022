/* genre-eval: scores a model on a listed dataset, window level and clip
 * level (the clip verdict is the mean of its window probabilities). */
#include "dataset.h"
#include "evaluate.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

#define PROG      "genre-eval"
#define fail(...) cli_error(PROG, __VA_ARGS__)

static void usage(FILE *out)
{
    fprintf(out,
            "usage: genre-eval [--model MODEL] --root DIR --list LIST [--json] [--hop SECONDS]\n"
            "                  [--cache DIR] [--level-db DBFS]\n"
            "  --model     model file (default: the built-in model)\n"
            "  --hop       window step in seconds (default 0.5)\n"
            "  --cache     reuse/keep features in DIR\n"
            "  --level-db  scale every clip to this RMS level first (for peak-normalised\n"
            "              excerpts, e.g. -19)\n"
            "  --help, --version\n"
            "Exit status: 0, 1 when the model or the data cannot be used, 2 usage error.\n");
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"model", 1, 0, 'm'},   {"root", 1, 0, 'r'},  {"list", 1, 0, 'l'},     {"json", 0, 0, 'j'},
        {"hop", 1, 0, 'h'},     {"cache", 1, 0, 'c'}, {"level-db", 1, 0, 'L'}, {"help", 0, 0, '?'},
        {"version", 0, 0, 'V'}, {0, 0, 0, 0}};
    const char *model_path = NULL, *root = NULL, *list = NULL, *cache = NULL;
    int json = 0, c;
    double hop = 0.5, level = -1000;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'm':
            model_path = optarg;
            break;
        case 'r':
            root = optarg;
            break;
        case 'l':
            list = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'c':
            cache = optarg;
            break;
        case 'h':
            if (cli_real(PROG, "hop", optarg, 0.01, 60, &hop)) return 2;
            break;
        case 'L':
            if (cli_real(PROG, "level-db", optarg, -80, 0, &level)) return 2;
            break;
        case 'V':
            cli_version(PROG);
            return 0;
        default:
            c = cli_help_or_usage_error(PROG, argv[optind - 1], usage);
            return c < 0 ? 0 : c;
        }
    }
    if (optind < argc) return fail("unexpected argument '%s'", argv[optind]);
    if (!root || !list) {
        usage(stderr);
        return fail("--root and --list are required");
    }

    char err[1024];
    model_t *m = eval_load_model(model_path, err, sizeof err);
    if (!m) return fail("%s", err);
    dataset d = {0};
    if (dataset_add_list(&d, root, list, level, err, sizeof err) ||
        dataset_resolve(&d, m->labels, m->n_labels, list, err, sizeof err)) {
        dataset_free(&d);
        model_destroy(m);
        return fail("%s", err);
    }
    if (cache && dataset_mkdirs(cache, err, sizeof err)) {
        dataset_free(&d);
        model_destroy(m);
        return fail("--cache: %s", err);
    }
    mfcc_params p = eval_model_params(m);
    eval_geometry g = eval_geometry_for(&p, m->frontend.window_seconds, hop);
    classifier_t *cl = classifier_create(m, g.window_frames, err, sizeof err);
    eval_totals t;
    if (!cl || eval_totals_init(&t, m->n_labels)) {
        if (cl) snprintf(err, sizeof err, "out of memory");
        classifier_destroy(cl);
        dataset_free(&d);
        model_destroy(m);
        return fail("%s", err);
    }

    size_t skipped = 0;
    float clip[MODEL_MAX_LABELS];
    for (size_t i = 0; i < d.n_clips; i++) {
        dataset_features f;
        unsigned length;
        if (dataset_features_cached(cache, d.clips[i].path, &p, d.clips[i].level_dbfs, NULL, &f,
                                    err, sizeof err)) {
            fprintf(stderr, "genre-eval: warning: skipping %s\n", err);
            skipped++;
            continue;
        }
        unsigned count = eval_window_count(&g, f.n_frames, &length);
        float *wp = count ? malloc((size_t)count * m->n_labels * sizeof *wp) : NULL;
        if (!count || !wp) {
            fprintf(stderr, "genre-eval: warning: skipping %s: %s\n", d.clips[i].path,
                    count ? "out of memory" : "shorter than 1 s");
            skipped++;
        } else {
            eval_clip(cl, &g, &f, wp, clip);
            eval_totals_add(&t, d.clips[i].label_index, wp, count, clip);
        }
        free(wp);
        dataset_features_free(&f);
    }
    int rc = 0;
    if (metrics_total(&t.clip) == 0) {
        rc = fail("%s: no clip could be evaluated", list);
    } else if (json) {
        json_t *labels = json_array();
        for (unsigned k = 0; k < m->n_labels; k++)
            json_array_append_new(labels, json_string(m->labels[k]));
        json_t *o = json_pack(
            "{s:s, s:I, s:I, s:o, s:f, s:f, s:f, s:f, s:o}", "model", m->id, "clips",
            (json_int_t)metrics_total(&t.clip), "windows", (json_int_t)metrics_total(&t.window),
            "labels", labels, "clip_accuracy", metrics_accuracy(&t.clip), "clip_balanced_accuracy",
            metrics_balanced_accuracy(&t.clip), "window_accuracy", metrics_accuracy(&t.window),
            "window_balanced_accuracy", metrics_balanced_accuracy(&t.window), "confusion",
            metrics_confusion_json(&t.clip));
        char *text = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
        if (!text)
            rc = fail("cannot format JSON");
        else
            printf("%s\n", text);
        free(text);
        json_decref(o);
    } else {
        printf("model %s\n%lu clips (%zu skipped), %lu windows of up to %u frames, hop %.3f s\n",
               m->id, metrics_total(&t.clip), skipped, metrics_total(&t.window), g.window_frames,
               hop);
        printf("clip level:   accuracy %6.2f%%  balanced accuracy %6.2f%%\n",
               100 * metrics_accuracy(&t.clip), 100 * metrics_balanced_accuracy(&t.clip));
        printf("window level: accuracy %6.2f%%  balanced accuracy %6.2f%%\n\n",
               100 * metrics_accuracy(&t.window), 100 * metrics_balanced_accuracy(&t.window));
        metrics_print(&t.clip, (const char(*)[64])m->labels, "clip level", stdout);
        printf("\n");
        metrics_print(&t.window, (const char(*)[64])m->labels, "window level", stdout);
    }
    eval_totals_free(&t);
    dataset_thread_release();
    classifier_destroy(cl);
    dataset_free(&d);
    model_destroy(m);
    return rc;
}
