/* eval_run: genre-eval's options, scoring per source, event scores. */
#include "eval_run.h"

#include "cli.h"
#include "dataset.h"
#include "evaluate.h"
#include "events.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG        "genre-eval"
#define fail(...)   cli_error(PROG, __VA_ARGS__)
#define MAX_SOURCES 16

static void usage(FILE *out)
{
    fprintf(out,
            "usage: genre-eval [--model MODEL] (--data [NAME=]ROOT:LIST... | --root DIR --list "
            "LIST)\n"
            "                  [--groups TSV --fold K/N] [--json] [--hop S] [--cache DIR]\n"
            "                  [--level-db DBFS] [--events [--sweep] [--segment S]\n"
            "                  [--smoothing S] [--change-hold S] [--change-decoder hold|hmm]\n"
            "                  [--hmm-segment S] [--hmm-exponent X] [--hmm-threshold P]\n"
            "                  [--hmm-hold S] [--seed N]]\n"
            "  --model       model file (default: the built-in model)\n"
            "  --data        a dataset: paths in LIST relative to ROOT, first folder the label;\n"
            "                NAME (default: LIST's folder) names it in the report; repeatable\n"
            "  --root, --list  one dataset, as --data ROOT:LIST\n"
            "  --groups, --fold  only the clips genre-train held out with the same flags\n"
            "                (and every clip without a group)\n"
            "  --hop         window step in seconds (default 0.5)\n"
            "  --cache       reuse/keep features in DIR\n"
            "  --level-db    RMS level in dBFS every clip is scaled to first, or as-is\n"
            "                (default: --data clips at %g, as genre-train scales them;\n"
            "                --root/--list clips as recorded)\n"
            "  --gain DB, --lowpass HZ, --drive DB, --snr DB  change the audio first (a\n"
            "                level, a band limit, a limiter's soft clipping, added noise)\n"
            "  --events      score genre.change on a playlist of the clips whose genre changes\n"
            "                every --segment seconds (30), with the daemon's smoothing and\n"
            "                change-hold (--smoothing 0, --change-hold 5, --silence-dbfs -60),\n"
            "                or --change-decoder hmm (--hmm-segment 20, --hmm-exponent 0.15,\n"
            "                --hmm-threshold 0.9, --hmm-hold 0); --sweep: a table over the\n"
            "                hold decoder's settings and one over the hmm's; --seed orders\n"
            "                the playlist (1)\n"
            "  --help, --version\n",
            LEVEL_DEFAULT_DBFS);
}

static int flag_value(int c, char *arg, const char *flag, eval_opts *o)
{
    switch (c) {
    case 'm':
        o->model = arg;
        return 0;
    case 'a':
        return train_list_parse(PROG, flag, arg, 1, o->lists, &o->n_lists);
    case 'g':
        if (o->n_groups == TRAIN_MAX_LISTS) return fail("--groups: at most %d", TRAIN_MAX_LISTS);
        o->groups[o->n_groups++] = arg;
        return 0;
    case 'f':
        return train_fold_parse(PROG, arg, &o->fold, &o->folds);
    case 'c':
        o->cache = arg;
        return 0;
    case 'h':
        return cli_real(PROG, "hop", arg, 0.01, 60, &o->hop);
    case 'L':
        if (!strcmp(arg, "as-is")) {
            o->level_db = LEVEL_AS_IS;
            return 0;
        }
        return cli_real(PROG, "level-db", arg, -80, 0, &o->level_db);
    case 'S':
        return cli_real(PROG, "segment", arg, 3, 600, &o->segment);
    case 's':
        return cli_real(PROG, "smoothing", arg, 0, 3600, &o->smoothing);
    case 'H':
        return cli_real(PROG, "change-hold", arg, 0, 3600, &o->change_hold);
    case 'D':
        return cli_real(PROG, "silence-dbfs", arg, -200, 0, &o->silence_dbfs);
    case 'd':
        if (strcmp(arg, "hold") && strcmp(arg, "hmm"))
            return fail("--change-decoder: expected hold or hmm, not '%s'", arg);
        o->decoder = strcmp(arg, "hmm") ? TRACKER_DECODE_HOLD : TRACKER_DECODE_HMM;
        return 0;
    case 'M':
        return cli_real(PROG, "hmm-segment", arg, 1, 36000, &o->hmm.segment);
    case 'E':
        return cli_real(PROG, "hmm-exponent", arg, 0.01, 1, &o->hmm.exponent);
    case 'P':
        return cli_real(PROG, "hmm-threshold", arg, 0, 0.999, &o->hmm.threshold);
    case 'O':
        return cli_real(PROG, "hmm-hold", arg, 0, 3600, &o->hmm.hold);
    case 'G':
        return cli_real(PROG, "gain", arg, -60, 60, &o->change.gain_db);
    case 'W':
        return cli_real(PROG, "lowpass", arg, 100, 100000, &o->change.lowpass_hz);
    case 'X':
        return cli_real(PROG, "drive", arg, 0, 40, &o->change.drive_db);
    case 'N':
        return cli_real(PROG, "snr", arg, -20, 80, &o->change.snr_db);
    case 'n': {
        unsigned u;
        if (cli_uint(PROG, "seed", arg, 0, 0xffffffffu, &u)) return 2;
        o->seed = u;
        return 0;
    }
    }
    return fail("unknown or incomplete option '%s'", flag);
}

/* genre-eval's flags, long options only (getopt_long with no short ones). */
static const struct option long_options[] = {{"model", 1, 0, 'm'},
                                             {"root", 1, 0, 'r'},
                                             {"list", 1, 0, 'l'},
                                             {"data", 1, 0, 'a'},
                                             {"groups", 1, 0, 'g'},
                                             {"fold", 1, 0, 'f'},
                                             {"json", 0, 0, 'j'},
                                             {"hop", 1, 0, 'h'},
                                             {"cache", 1, 0, 'c'},
                                             {"level-db", 1, 0, 'L'},
                                             {"events", 0, 0, 'e'},
                                             {"sweep", 0, 0, 'w'},
                                             {"segment", 1, 0, 'S'},
                                             {"smoothing", 1, 0, 's'},
                                             {"change-hold", 1, 0, 'H'},
                                             {"seed", 1, 0, 'n'},
                                             {"silence-dbfs", 1, 0, 'D'},
                                             {"help", 0, 0, '?'},
                                             {"version", 0, 0, 'V'},
                                             {"gain", 1, 0, 'G'},
                                             {"lowpass", 1, 0, 'W'},
                                             {"drive", 1, 0, 'X'},
                                             {"snr", 1, 0, 'N'},
                                             {"change-decoder", 1, 0, 'd'},
                                             {"hmm-segment", 1, 0, 'M'},
                                             {"hmm-exponent", 1, 0, 'E'},
                                             {"hmm-threshold", 1, 0, 'P'},
                                             {"hmm-hold", 1, 0, 'O'},
                                             {0, 0, 0, 0}};

static void defaults(eval_opts *o)
{
    dataset_augment none;
    dataset_augment_none(&none);
    *o = (eval_opts){.change = none,
                     .hop = 0.5,
                     .level_db = LEVEL_FROM_FLAG, /* not given */
                     .segment = 30,
                     .smoothing = TRACKER_DEFAULT_SMOOTHING,
                     .change_hold = TRACKER_DEFAULT_CHANGE_HOLD,
                     .silence_dbfs = TRACKER_DEFAULT_SILENCE_DBFS,
                     .decoder = TRACKER_DEFAULT_DECODER,
                     .hmm = TRACKER_DEFAULT_HMM,
                     .tolerance = 10,
                     .seed = 1};
}

/* The datasets and their levels, known once every flag is read. */
static int finish(eval_opts *o, const char *root, const char *list)
{
    if ((root != NULL) != (list != NULL)) return fail("--root and --list go together");
    if (root && o->n_lists < TRAIN_MAX_LISTS)
        o->lists[o->n_lists++] = (train_list){NULL, root, list, LEVEL_AS_IS};
    if (!o->n_lists) {
        usage(stderr);
        return fail("no dataset: give --data ROOT:LIST, or --root and --list");
    }
    /* As genre-train: --data clips at --level-db (by default the same
     * LEVEL_DEFAULT_DBFS), --root/--list as recorded unless it is given. */
    int level_given = o->level_db != LEVEL_FROM_FLAG;
    if (!level_given) o->level_db = LEVEL_DEFAULT_DBFS;
    for (unsigned i = 0; i < o->n_lists; i++)
        if (o->lists[i].level_dbfs == LEVEL_FROM_FLAG || level_given)
            o->lists[i].level_dbfs = o->level_db;
    if (o->folds && !o->n_groups) return fail("--fold needs --groups");
    if (o->sweep) o->events = 1;
    return 0;
}

int eval_options_parse(int argc, char **argv, eval_opts *o)
{
    const char *root = NULL, *list = NULL;
    defaults(o);
    int c, rc = 0;
    opterr = 0;
    int idx = -1;
    char flag[64];
    while (rc == 0 && (c = getopt_long(argc, argv, "", long_options, &idx)) != -1) {
        cli_option_name(c, long_options, &idx, argc, argv, flag, sizeof flag);
        if (c == '?' && !strcmp(flag, "--help")) {
            usage(stdout);
            return 1;
        }
        if (c == 'V') {
            printf("genre-eval %s\n", GENRED_VERSION);
            return 1;
        }
        if (c == 'r' || c == 'l')
            *(c == 'r' ? &root : &list) = optarg;
        else if (c == 'j' || c == 'e' || c == 'w')
            *(c == 'j' ? &o->json : c == 'e' ? &o->events : &o->sweep) = 1;
        else
            rc = flag_value(c, optarg, flag, o);
    }
    if (rc) return 2;
    if (optind < argc) return fail("unexpected argument '%s'", argv[optind]);
    return finish(o, root, list);
}

static int move_ungrouped(dataset *from, dataset *to)
{
    dataset_clip *grown = realloc(to->clips, (to->n_clips + from->n_clips + 1) * sizeof *grown);
    if (!grown) return -1;
    to->clips = grown;
    size_t kept = 0;
    for (size_t i = 0; i < from->n_clips; i++) {
        if (from->clips[i].group[0])
            from->clips[kept++] = from->clips[i];
        else
            to->clips[to->n_clips++] = from->clips[i];
    }
    from->n_clips = kept;
    return 0;
}

/* The clips to evaluate: every list, then with --fold only the held-out
 * fold of the grouped clips and every clip without a group. */
static int load(const eval_opts *o, const model_t *m, dataset *out)
{
    char err[1024];
    dataset all = {0};
    for (unsigned i = 0; i < o->n_lists; i++)
        if (dataset_add_source(&all, o->lists[i].source, o->lists[i].root, o->lists[i].list,
                               o->lists[i].level_dbfs, err, sizeof err))
            goto fail;
    for (unsigned i = 0; i < o->n_groups; i++)
        if (dataset_load_groups(&all, o->groups[i], err, sizeof err)) goto fail;
    if (o->folds) {
        if (dataset_split_fold(&all, out, o->fold, o->folds) < 0) {
            snprintf(err, sizeof err, "out of memory");
            goto fail;
        }
        if (move_ungrouped(&all, out)) {
            snprintf(err, sizeof err, "out of memory");
            goto fail;
        }
    } else {
        *out = all;
        all = (dataset){0};
    }
    dataset_free(&all);
    if (dataset_resolve(out, (char(*)[DATASET_LABEL_LEN + 1]) m->labels, m->n_labels, "dataset",
                        err, sizeof err))
        goto fail;
    return 0;
fail:
    dataset_free(&all);
    dataset_free(out);
    return fail("%s", err);
}

typedef struct {
    const eval_opts *o;
    model_t *m;
    classifier_t *cl;
    eval_geometry g;
    dataset d;
    dataset_features *f; /* per clip; n_frames 0 when skipped */
    char sources[MAX_SOURCES][DATASET_SOURCE_LEN + 1];
    unsigned n_sources, *source_of; /* per clip */
    eval_totals all, per_source[MAX_SOURCES];
    size_t skipped;
} eval_ctx;

static unsigned source_index(eval_ctx *e, const char *name)
{
    for (unsigned k = 0; k < e->n_sources; k++)
        if (!strcmp(e->sources[k], name)) return k;
    if (e->n_sources == MAX_SOURCES) return MAX_SOURCES - 1;
    snprintf(e->sources[e->n_sources], sizeof e->sources[0], "%s", name);
    return e->n_sources++;
}

/* Features and scores of every clip. */
static int score(eval_ctx *e)
{
    char err[1024];
    mfcc_params p = eval_model_params(e->m);
    unsigned L = e->m->n_labels;
    float clip[MODEL_MAX_LABELS];
    for (size_t i = 0; i < e->d.n_clips; i++) {
        const dataset_clip *c = &e->d.clips[i];
        unsigned length, count = 0;
        float *wp = NULL;
        e->source_of[i] = source_index(e, c->source);
        if (dataset_features_cached(e->o->cache, c->path, &p, c->level_dbfs, &e->o->change,
                                    &e->f[i], err, sizeof err))
            fprintf(stderr, "genre-eval: warning: skipping %s\n", err);
        else if (!(count = eval_window_count(&e->g, e->f[i].n_frames, &length)))
            fprintf(stderr, "genre-eval: warning: skipping %s: shorter than %.2f s\n", c->path,
                    (double)e->g.min_frames * p.hop / p.sample_rate);
        else if (!(wp = malloc((size_t)count * L * sizeof *wp)))
            return fail("out of memory");
        if (!wp) {
            dataset_features_free(&e->f[i]);
            e->skipped++;
            continue;
        }
        eval_clip(e->cl, &e->g, &e->f[i], wp, clip);
        eval_totals_add(&e->all, c->label_index, wp, count, clip);
        eval_totals_add(&e->per_source[e->source_of[i]], c->label_index, wp, count, clip);
        free(wp);
    }
    return 0;
}

static json_t *scores_json(const eval_totals *t, const model_t *m)
{
    json_t *clip = metrics_json(&t->clip, (const char(*)[64])m->labels);
    json_t *per_class = json_incref(json_object_get(clip, "per_class"));
    json_decref(clip);
    return json_pack(
        "{s:I, s:I, s:f, s:f, s:f, s:f, s:o}", "clips", (json_int_t)metrics_total(&t->clip),
        "windows", (json_int_t)metrics_total(&t->window), "clip_accuracy",
        metrics_accuracy(&t->clip), "clip_balanced_accuracy", metrics_balanced_accuracy(&t->clip),
        "window_accuracy", metrics_accuracy(&t->window), "window_balanced_accuracy",
        metrics_balanced_accuracy(&t->window), "per_class", per_class);
}

static int print_json(const eval_ctx *e)
{
    json_t *labels = json_array(), *sources = json_object();
    for (unsigned k = 0; k < e->m->n_labels; k++)
        json_array_append_new(labels, json_string(e->m->labels[k]));
    for (unsigned s = 0; s < e->n_sources; s++)
        json_object_set_new(sources, e->sources[s], scores_json(&e->per_source[s], e->m));
    json_t *o = scores_json(&e->all, e->m);
    json_t *more = json_pack("{s:s, s:o, s:o, s:o}", "model", e->m->id, "labels", labels,
                             "confusion", metrics_confusion_json(&e->all.clip), "sources", sources);
    json_object_update(o, more);
    json_decref(more);
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(o);
    if (!text) return fail("cannot format JSON");
    printf("%s\n", text);
    free(text);
    return 0;
}

static void print_text(const eval_ctx *e)
{
    const eval_totals *t = &e->all;
    printf("model %s\n%lu clips (%zu skipped), %lu windows of up to %u frames, hop %.3f s\n",
           e->m->id, metrics_total(&t->clip), e->skipped, metrics_total(&t->window),
           e->g.window_frames, e->o->hop);
    for (unsigned s = 0; e->n_sources > 1 && s < e->n_sources; s++)
        printf("%-12s %4lu clips: clip balanced accuracy %6.2f%%, window %6.2f%%\n", e->sources[s],
               metrics_total(&e->per_source[s].clip),
               100 * metrics_balanced_accuracy(&e->per_source[s].clip),
               100 * metrics_balanced_accuracy(&e->per_source[s].window));
    printf("clip level:   accuracy %6.2f%%  balanced accuracy %6.2f%%\n",
           100 * metrics_accuracy(&t->clip), 100 * metrics_balanced_accuracy(&t->clip));
    printf("window level: accuracy %6.2f%%  balanced accuracy %6.2f%%\n\n",
           100 * metrics_accuracy(&t->window), 100 * metrics_balanced_accuracy(&t->window));
    metrics_print(&t->clip, (const char(*)[64])e->m->labels, "clip level", stdout);
    printf("\n");
    metrics_print(&t->window, (const char(*)[64])e->m->labels, "window level", stdout);
}

static void print_score(const events_score *r, const char *setting)
{
    printf("events (%s): announced genre right %.1f%% of the time; %.1f%% of %u changes "
           "announced right within 10 s; %.1f false changes per hour; median delay %.2f s\n",
           setting, 100 * r->right, 100 * r->announced, r->true_changes, r->false_per_hour,
           r->median_delay);
}

static void print_row(const events_score *r)
{
    printf(" %8.1f%% %9.1f%% %9.1f %7.2f\n", 100 * r->right, 100 * r->announced, r->false_per_hour,
           r->median_delay);
}

/* The hold decoder's table: every smoothing with every hold. */
static void sweep_hold(const events_t *ev, const eval_opts *o)
{
    static const double smooth[] = {0, 1, 1.5, 2, 3, 4, 6, 8, 10, 12, 15};
    static const double hold[] = {0, 1, 2, 3, 4, 5, 6, 8};
    printf("smoothing   hold    right announced  false/h   delay\n");
    for (size_t i = 0; i < sizeof smooth / sizeof *smooth; i++)
        for (size_t j = 0; j < sizeof hold / sizeof *hold; j++) {
            tracker_settings s = {.hop = o->hop,
                                  .smoothing = smooth[i],
                                  .change_hold = hold[j],
                                  .silence_dbfs = o->silence_dbfs};
            events_score r = events_run(ev, &s, o->tolerance);
            printf("%9.1f %6.1f", smooth[i], hold[j]);
            print_row(&r);
        }
}

/* The hmm decoder's table: every combination of the grids below, which
 * bracket the settings that scored well on a development fold model. */
static void sweep_hmm(const events_t *ev, const eval_opts *o)
{
    static const double segment[] = {3, 5, 10, 20, 30, 60, 120};
    static const double exponent[] = {0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1};
    static const double threshold[] = {0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95};
    static const double hold[] = {0, 0.5, 1, 2, 3};
    enum { NS = 7, NE = 8, NT = 7, NH = 5 };
    printf("segment exponent threshold   hold    right announced  false/h   delay\n");
    for (size_t k = 0; k < NS * NE * NT * NH; k++) {
        tracker_hmm_settings h = {segment[k / (NE * NT * NH)], exponent[k / (NT * NH) % NE],
                                  threshold[k / NH % NT], hold[k % NH]};
        tracker_settings s = {.hop = o->hop,
                              .silence_dbfs = o->silence_dbfs,
                              .decoder = TRACKER_DECODE_HMM,
                              .hmm = h};
        events_score r = events_run(ev, &s, o->tolerance);
        printf("%7.0f %8.2f %9.2f %6.1f", h.segment, h.exponent, h.threshold, h.hold);
        print_row(&r);
    }
}

/* The one setting the flags give. */
static void score_one(const events_t *ev, const eval_opts *o)
{
    tracker_settings s = {.hop = o->hop,
                          .smoothing = o->smoothing,
                          .change_hold = o->change_hold,
                          .silence_dbfs = o->silence_dbfs,
                          .decoder = o->decoder,
                          .hmm = o->hmm};
    char setting[160];
    if (o->decoder == TRACKER_DECODE_HMM)
        snprintf(setting, sizeof setting,
                 "hmm: segment %.0f s, exponent %.2f, threshold %.2f, hold %.1f s", o->hmm.segment,
                 o->hmm.exponent, o->hmm.threshold, o->hmm.hold);
    else
        snprintf(setting, sizeof setting, "smoothing %.1f s, change hold %.1f s", o->smoothing,
                 o->change_hold);
    events_score r = events_run(ev, &s, o->tolerance);
    print_score(&r, setting);
}

static int events(const eval_ctx *e)
{
    char err[512];
    const eval_opts *o = e->o;
    int *labels = malloc((e->d.n_clips ? e->d.n_clips : 1) * sizeof *labels);
    if (!labels) return fail("out of memory");
    for (size_t i = 0; i < e->d.n_clips; i++)
        labels[i] = e->f[i].n_frames ? e->d.clips[i].label_index : -1;
    events_t *ev = events_create(e->cl, &e->g, e->f, labels, e->d.n_clips, o->segment, o->seed, err,
                                 sizeof err);
    free(labels);
    if (!ev) return fail("--events: %s", err);
    printf("\nplaylist: %zu segments of %.0f s (%.2f h), hop %.2f s\n", events_segments(ev),
           o->segment, events_seconds(ev) / 3600, o->hop);
    if (o->sweep) {
        sweep_hold(ev, o);
        printf("\n");
        sweep_hmm(ev, o);
    } else {
        score_one(ev, o);
    }
    events_destroy(ev);
    return 0;
}

static void ctx_free(eval_ctx *e)
{
    for (size_t i = 0; e->f && i < e->d.n_clips; i++)
        dataset_features_free(&e->f[i]);
    free(e->f);
    free(e->source_of);
    eval_totals_free(&e->all);
    for (unsigned s = 0; s < MAX_SOURCES; s++)
        eval_totals_free(&e->per_source[s]);
    classifier_destroy(e->cl);
    dataset_free(&e->d);
    model_destroy(e->m);
    dataset_thread_release();
}

int eval_run(const eval_opts *o)
{
    char err[1024];
    eval_ctx e = {.o = o};
    e.m = eval_load_model(o->model, err, sizeof err);
    if (!e.m) return fail("%s", err);
    int rc = load(o, e.m, &e.d);
    if (!rc && o->cache && dataset_mkdirs(o->cache, err, sizeof err)) rc = fail("--cache: %s", err);
    mfcc_params p = eval_model_params(e.m);
    e.g = eval_geometry_for(&p, e.m->frontend.window_seconds, o->hop);
    int ok = !rc && (e.cl = classifier_create(e.m, e.g.window_frames, err, sizeof err)) &&
             !eval_totals_init(&e.all, e.m->n_labels);
    for (unsigned s = 0; ok && s < MAX_SOURCES; s++)
        ok = !eval_totals_init(&e.per_source[s], e.m->n_labels);
    e.f = ok ? calloc(e.d.n_clips + 1, sizeof *e.f) : NULL;
    e.source_of = ok ? calloc(e.d.n_clips + 1, sizeof *e.source_of) : NULL;
    if (!rc && (!e.f || !e.source_of)) rc = fail("%s", e.cl ? "out of memory" : err);
    if (!rc) rc = score(&e);
    if (!rc && metrics_total(&e.all.clip) == 0) rc = fail("no clip could be evaluated");
    if (!rc && o->json) rc = print_json(&e);
    if (!rc && !o->json) print_text(&e);
    if (!rc && o->events) rc = events(&e);
    ctx_free(&e);
    return rc;
}
