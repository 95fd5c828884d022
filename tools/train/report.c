/* report: per-source scores, the printed verdict, metrics.json, plots. */
#include "report.h"

#include "cli.h"
#include "plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PROG      "genre-train"
#define fail(...) cli_error(PROG, __VA_ARGS__)

#define LABELS(c) ((const char(*)[64])(c)->labels)

int report_score(report_scores *s, const model_t *m, const corpus *c, const eval_geometry *g)
{
    char err[256];
    memset(s, 0, sizeof *s);
    s->n_sources = c->n_sources;
    int rc = eval_totals_init(&s->all, m->n_labels);
    for (unsigned k = 0; !rc && k < c->n_sources; k++)
        rc = eval_totals_init(&s->per_source[k], m->n_labels);
    classifier_t *cl = rc ? NULL : classifier_create(m, g->window_frames, err, sizeof err);
    if (!cl) return fail("%s", !rc ? err : "out of memory");
    float clip[MODEL_MAX_LABELS];
    /* Every clip, however long, as genre-eval scores it: the two agree. */
    for (size_t i = 0; !rc && i < c->vset.n; i++) {
        const clip_data *cd = &c->vset.clips[i];
        unsigned length, count = eval_window_count(g, cd->variants[0].n_frames, &length);
        float *wp = count ? malloc((size_t)count * m->n_labels * sizeof *wp) : NULL;
        if (count && !wp) rc = fail("out of memory");
        unsigned n = wp ? eval_clip(cl, g, &cd->variants[0], wp, clip) : 0;
        if (n) {
            eval_totals_add(&s->all, cd->label, wp, n, clip);
            eval_totals_add(&s->per_source[cd->source], cd->label, wp, n, clip);
        }
        free(wp);
    }
    classifier_destroy(cl);
    return rc;
}

void report_scores_free(report_scores *s)
{
    eval_totals_free(&s->all);
    for (unsigned k = 0; k < s->n_sources; k++)
        eval_totals_free(&s->per_source[k]);
}

double report_clip_balanced(const report_scores *s)
{
    return metrics_balanced_accuracy(&s->all.clip);
}

static void print_recalls(const metrics_confusion *m, const corpus *c, FILE *out)
{
    fprintf(out, "   ");
    for (unsigned k = 0; k < c->n_labels; k++) {
        double r = metrics_recall(m, k);
        if (isnan(r))
            fprintf(out, " %s -", c->labels[k]);
        else
            fprintf(out, " %s %.2f", c->labels[k], r);
    }
    fprintf(out, "\n");
}

void report_print(const report_scores *f, const report_scores *q, const corpus *c,
                  const char *chosen, FILE *out)
{
    fprintf(out,
            "genre-train: chosen %s; validation, clip / window balanced accuracy:\n"
            "  all sources: float %.2f%% / %.2f%%   int8 %.2f%% / %.2f%%\n",
            chosen, 100 * metrics_balanced_accuracy(&f->all.clip),
            100 * metrics_balanced_accuracy(&f->all.window),
            100 * metrics_balanced_accuracy(&q->all.clip),
            100 * metrics_balanced_accuracy(&q->all.window));
    for (unsigned s = 0; s < c->n_sources; s++) {
        const eval_totals *t = &q->per_source[s];
        if (!metrics_total(&t->clip)) continue;
        fprintf(out, "  %s (%lu clips): int8 %.2f%% / %.2f%%; per-class clip recall:\n",
                c->sources[s], metrics_total(&t->clip), 100 * metrics_balanced_accuracy(&t->clip),
                100 * metrics_balanced_accuracy(&t->window));
        print_recalls(&t->clip, c, out);
    }
    metrics_print(&q->all.clip, LABELS(c), "int8, all sources, clip level", out);
    metrics_print(&q->all.window, LABELS(c), "int8, all sources, window level", out);
}

static json_t *series_json(const double *y, unsigned n)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < n; i++)
        json_array_append_new(a, isfinite(y[i]) ? json_real(y[i]) : json_null());
    return a;
}

/* {source: [clip balanced accuracy per epoch]} */
static json_t *source_history_json(const train_history *h, const corpus *c)
{
    json_t *o = json_object();
    for (unsigned s = 0; s < c->n_sources; s++) {
        json_t *a = json_array();
        for (unsigned e = 0; e < h->epochs_run; e++)
            json_array_append_new(
                a, json_real(h->source_clip_bal[(size_t)e * CORPUS_MAX_SOURCES + s]));
        json_object_set_new(o, c->sources[s], a);
    }
    return o;
}

static json_t *history_json(const train_history *h, const corpus *c)
{
    unsigned n = h->epochs_run;
    json_t *o = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "train_loss",
                          series_json(h->train_loss, n), "train_window_accuracy",
                          series_json(h->train_acc, n), "valid_loss", series_json(h->valid_loss, n),
                          "valid_window_balanced_accuracy", series_json(h->valid_win_bal, n),
                          "valid_window_accuracy", series_json(h->valid_win_acc, n),
                          "valid_clip_balanced_accuracy", series_json(h->valid_clip_bal, n),
                          "valid_clip_accuracy", series_json(h->valid_clip_acc, n), "valid_score",
                          series_json(h->valid_score, n), "lr", series_json(h->lr, n));
    json_object_set_new(o, "valid_clip_balanced_accuracy_by_source", source_history_json(h, c));
    return o;
}

/* {"all": ..., "sources": {name: ...}} of eval_totals_json. */
static json_t *scores_json(const report_scores *s, const corpus *c)
{
    json_t *sources = json_object();
    for (unsigned k = 0; k < c->n_sources; k++)
        if (metrics_total(&s->per_source[k].clip))
            json_object_set_new(sources, c->sources[k],
                                eval_totals_json(&s->per_source[k], LABELS(c)));
    return json_pack("{s:o, s:o}", "all", eval_totals_json(&s->all, LABELS(c)), "sources", sources);
}

/* Clips per source and label on each side. */
static json_t *data_json(const corpus *c)
{
    json_t *out = json_object();
    for (int side = 0; side < 2; side++) {
        const clip_set *set = side ? &c->vset : &c->tset;
        json_t *by_source = json_object();
        for (unsigned s = 0; s < c->n_sources; s++) {
            json_t *counts = json_object();
            for (unsigned k = 0; k < c->n_labels; k++) {
                json_int_t n = 0;
                for (size_t i = 0; i < set->n; i++)
                    n += set->clips[i].source == s && set->clips[i].label == (int)k;
                if (n) json_object_set_new(counts, c->labels[k], json_integer(n));
            }
            json_object_set_new(by_source, c->sources[s], counts);
        }
        json_object_set_new(out, side ? "valid" : "train", by_source);
    }
    return out;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int write_plots(const char *dir, const report_scores *q, const corpus *c,
                       const train_history *h)
{
    train_history hh = *h;
    plot_series loss[] = {{"train", hh.train_loss}, {"valid", hh.valid_loss}};
    plot_series acc[] = {{"train window acc", hh.train_acc},
                         {"valid window bal", hh.valid_win_bal},
                         {"valid clip bal", hh.valid_clip_bal},
                         {"selection score", hh.valid_score}};
    char *paths[4] = {join(dir, "loss.svg"), join(dir, "accuracy.svg"), join(dir, "confusion.svg"),
                      join(dir, "confusion-window.svg")};
    int rc =
        !paths[0] || !paths[1] || !paths[2] || !paths[3] ||
        plot_lines(paths[0], "cross-entropy per window", "loss", loss, 2, h->epochs_run) ||
        plot_lines(paths[1], "accuracy (balanced where marked)", "share", acc, 4, h->epochs_run) ||
        plot_confusion(paths[2], "validation, clip level, int8 model", q->all.clip.counts,
                       LABELS(c), c->n_labels) ||
        plot_confusion(paths[3], "validation, window level, int8 model", q->all.window.counts,
                       LABELS(c), c->n_labels);
    for (int i = 0; i < 4; i++)
        free(paths[i]);
    return rc ? fail("%s: cannot write plots", dir) : 0;
}

int report_write(const char *dir, const report_scores *f, const report_scores *q, const corpus *c,
                 const train_history *h, json_t *extra)
{
    json_t *labels = json_array();
    for (unsigned k = 0; k < c->n_labels; k++)
        json_array_append_new(labels, json_string(c->labels[k]));
    json_t *report = json_pack("{s:o, s:o, s:I, s:I, s:f, s:o, s:o, s:o}", "labels", labels, "data",
                               data_json(c), "epochs_run", (json_int_t)h->epochs_run, "best_epoch",
                               (json_int_t)h->best_epoch, "train_seconds", h->seconds,
                               "valid_float", scores_json(f, c), "valid_int8", scores_json(q, c),
                               "history", history_json(h, c));
    json_object_update(report, extra);
    json_decref(extra);
    char *path = join(dir, "metrics.json");
    int rc =
        !report || !path || json_dump_file(report, path, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    json_decref(report);
    free(path);
    if (rc) return fail("%s/metrics.json: cannot write", dir);
    return write_plots(dir, q, c, h);
}
