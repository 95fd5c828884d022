/* train_run: corpus -> features -> trainer -> int8 model -> report. */
#include "train_run.h"

#include "cli.h"
#include "clock.h"
#include "corpus.h"
#include "gru_export.h"
#include "report.h"
#include "trainer.h"

#include <cblas.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define PROG      "genre-train"
#define fail(...) cli_error(PROG, __VA_ARGS__)

#define WINDOW_SECONDS 3.0

/* Side files are named after --out unless --report says where: MODEL.gmdl
 * gets MODEL.report/ (metrics.json, plots, the float model, the cache). */
static int check_outputs(train_opts *o, char *report, size_t len)
{
    char err[512];
    struct stat st;
    char *dir = strdup(o->out), *slash = dir ? strrchr(dir, '/') : NULL;
    if (!dir) return fail("out of memory");
    if (slash) *(slash == dir ? slash + 1 : slash) = 0;
    const char *out_dir = slash ? dir : ".";
    int bad = stat(out_dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(out_dir, W_OK) != 0;
    if (bad) fail("--out %s: folder %s is missing or not writable", o->out, out_dir);
    free(dir);
    if (bad) return 2;
    if (stat(o->out, &st) == 0 && (S_ISDIR(st.st_mode) || access(o->out, W_OK) != 0))
        return fail("--out %s: exists and is not a writable file", o->out);
    size_t n = strlen(o->out);
    if (o->report)
        snprintf(report, len, "%s", o->report);
    else if (n > 5 && !strcmp(o->out + n - 5, ".gmdl"))
        snprintf(report, len, "%.*s.report", (int)(n - 5), o->out);
    else
        snprintf(report, len, "%s.report", o->out);
    if (dataset_mkdirs(report, err, sizeof err))
        return fail("%s: %s", o->report ? "--report" : "--out (its report folder)", err);
    static char cache[4200];
    if (!o->cache) {
        snprintf(cache, sizeof cache, "%.4090s/cache", report);
        o->cache = cache;
    }
    if (!strcmp(o->cache, "none"))
        o->cache = NULL;
    else if (dataset_mkdirs(o->cache, err, sizeof err))
        return fail("%s: %s", o->cache_flag ? o->cache_flag : "--out (its feature cache)", err);
    return 0;
}

static int front_end(const train_opts *o, mfcc_params *p)
{
    char err[512];
    *p = mfcc_params_default();
    p->n_coeffs = o->coeffs;
    p->n_mels = o->mels;
    if (o->coeffs > o->mels) return fail("--coeffs %u exceeds --mels %u", o->coeffs, o->mels);
    mfcc_t *probe = mfcc_create(p, err, sizeof err);
    if (!probe) return fail("front-end: %s", err);
    mfcc_destroy(probe);
    return 0;
}

static model_t *make_model(const train_opts *o, const gru_shape *s, const float *params,
                           const mfcc_params *p, const model_input_spec *in, const corpus *c)
{
    char err[512], date[32], id[MODEL_ID_LEN + 1];
    frontend_params fe = {*p, WINDOW_SECONDS};
    if (fe.mfcc.fmax <= 0) fe.mfcc.fmax = p->sample_rate / 2;
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d", gmtime(&now));
    uint32_t hash = (uint32_t)crc32(0, (const unsigned char *)params,
                                    (unsigned)(gru_param_count(s) * sizeof(float)));
    snprintf(id, sizeof id, "%s %s %08x", o->name, date, hash);
    model_t *m =
        gru_export(s, params, &fe, model_input_flags(in), in->mean, in->std,
                   (const char(*)[MODEL_MAX_LABEL_LEN + 1]) c->labels, id, err, sizeof err);
    if (!m) fail("model: %s", err);
    return m;
}

static model_t *quantize(model_t *f)
{
    char err[512];
    model_t *q = f ? model_quantize(f, err, sizeof err) : NULL;
    if (f && !q) fail("quantize: %s", err);
    return q;
}

typedef struct {
    const train_opts *o;
    const corpus *c;
    const mfcc_params *p;
    const eval_geometry *g;
    const model_input_spec *in;
    trainer_t *t;
} run_ctx;

/* When int8 loses more than half a point (or always, if asked), fine-tunes
 * for int8 and keeps whichever int8 model scores better. *q and *qs are
 * replaced when the fine-tuned one wins. Returns the "qat" report member. */
static json_t *maybe_finetune(const run_ctx *r, model_t **q, report_scores *qs, double loss_points)
{
    const train_opts *o = r->o;
    if (!o->qat_epochs || (loss_points <= 0.5 && !o->qat_always)) return json_null();
    fprintf(stderr, "genre-train: int8 loses %.2f points; quantisation-aware fine-tuning\n",
            loss_points);
    const gru_shape *sh = trainer_shape(r->t);
    float *params = malloc(gru_param_count(sh) * sizeof *params);
    model_t *ff = params && !trainer_finetune_int8(r->t, params)
                      ? make_model(o, sh, params, r->p, r->in, r->c)
                      : NULL;
    model_t *fq = quantize(ff);
    report_scores fs;
    free(params);
    model_destroy(ff);
    if (!fq || report_score(&fs, fq, r->c, r->g)) {
        model_destroy(fq);
        return json_null();
    }
    double ptq = report_clip_balanced(qs), qat = report_clip_balanced(&fs);
    int kept = qat > ptq;
    fprintf(stderr,
            "genre-train: int8 clip balanced accuracy %.2f%% after fine-tuning, %.2f%% without: "
            "keeping %s\n",
            100 * qat, 100 * ptq, kept ? "the fine-tuned" : "the first");
    report_scores old = *qs;
    model_t *drop = fq;
    if (kept) {
        *qs = fs;
        fs = old;
        drop = *q;
        *q = fq;
    }
    report_scores_free(&fs);
    model_destroy(drop);
    return json_pack("{s:I, s:f, s:f, s:b}", "epochs", (json_int_t)o->qat_epochs,
                     "ptq_int8_clip_balanced_accuracy", ptq, "qat_int8_clip_balanced_accuracy", qat,
                     "kept", kept);
}

static json_t *run_json(const run_ctx *r, const model_t *q, int argc, char **argv, json_t *qat,
                        double loss_points)
{
    const train_opts *o = r->o;
    json_t *cmd = json_array();
    for (int i = 0; i < argc; i++)
        json_array_append_new(cmd, json_string(argv[i]));
    const gru_shape *sh = trainer_shape(r->t);
    return json_pack("{s:s, s:o, s:{s:I, s:b, s:b, s:I, s:I, s:s, s:I, s:I, s:f}, s:f, s:o, s:I}",
                     "model", q->id, "command", cmd, "architecture", "coeffs",
                     (json_int_t)o->coeffs, "deltas", o->deltas, "no_c0", o->no_c0, "hidden",
                     (json_int_t)o->hidden, "layers", (json_int_t)o->layers, "pool",
                     o->pool_mean ? "mean" : "last", "window_frames",
                     (json_int_t)r->g->window_frames, "parameters", (json_int_t)gru_param_count(sh),
                     "window_seconds", WINDOW_SECONDS, "int8_clip_balanced_accuracy_loss_points",
                     loss_points, "qat", qat, "averaged_epochs", (json_int_t)o->average_last);
}

/* Float and int8 models of the chosen weights, scored, saved, reported. */
static int finish(const run_ctx *r, const char *report_dir, int argc, char **argv)
{
    char err[512], float_path[4200];
    const train_history *h = trainer_history(r->t);
    model_t *f = make_model(r->o, trainer_shape(r->t), trainer_chosen(r->t), r->p, r->in, r->c);
    model_t *q = quantize(f);
    report_scores fs, qs;
    if (!q || report_score(&fs, f, r->c, r->g) || report_score(&qs, q, r->c, r->g)) {
        model_destroy(f);
        model_destroy(q);
        return 1;
    }
    double loss_points = 100 * (report_clip_balanced(&fs) - report_clip_balanced(&qs));
    json_t *qat = maybe_finetune(r, &q, &qs, loss_points);
    loss_points = 100 * (report_clip_balanced(&fs) - report_clip_balanced(&qs));
    char chosen[64];
    if (r->o->average_last)
        snprintf(chosen, sizeof chosen, "the mean of epochs %u-%u",
                 h->epochs_run - r->o->average_last + 1, h->epochs_run);
    else
        snprintf(chosen, sizeof chosen, "epoch %u", h->best_epoch);
    report_print(&fs, &qs, r->c, chosen, stdout);
    snprintf(float_path, sizeof float_path, "%s/model-float.gmdl", report_dir);
    int rc = model_save(q, r->o->out, err, sizeof err) || model_save(f, float_path, err, sizeof err)
                 ? fail("%s", err)
                 : report_write(report_dir, &fs, &qs, r->c, h,
                                run_json(r, q, argc, argv, qat, loss_points));
    if (!rc)
        fprintf(stderr, "genre-train: wrote %s (int8), %s, report in %s (%.1f s training)\n",
                r->o->out, float_path, report_dir, h->seconds);
    report_scores_free(&fs);
    report_scores_free(&qs);
    model_destroy(f);
    model_destroy(q);
    return rc;
}

int train_run(train_opts *o, int argc, char **argv)
{
    corpus c;
    mfcc_params p;
    char report_dir[4096];
    openblas_set_num_threads(1); /* parallel over batch shards instead */
    /* Everything that can be wrong with the input is checked before work. */
    int rc = corpus_load(&c, o);
    if (!rc) rc = front_end(o, &p);
    if (!rc) rc = check_outputs(o, report_dir, sizeof report_dir);
    eval_geometry g = eval_geometry_for(&p, WINDOW_SECONDS, o->hop_seconds);
    if (!rc) {
        fprintf(stderr,
                "genre-train: %zu train and %zu valid clips, %u labels; %u coefficients, "
                "%u-frame windows; GRU %ux%u pool %s; %u threads\n",
                c.train.n_clips, c.valid.n_clips, c.n_labels, p.n_coeffs, g.window_frames,
                o->layers, o->hidden, o->pool_mean ? "mean" : "last", o->threads);
        double t0 = monotonic_s();
        rc = corpus_extract(&c, &p, o, g.min_frames);
        if (!rc) fprintf(stderr, "genre-train: features ready in %.1f s\n", monotonic_s() - t0);
    }
    /* Features stay raw: every window, in training and validation, becomes
     * network input through model_input, as in the classifier. */
    float mean[256], std[256];
    if (!rc)
        rc = corpus_feature_stats(&c.tset, p.n_coeffs, (unsigned)o->deltas, g.window_frames, mean,
                                  std);
    /* Without c0 the inputs are the statistics' layout minus its first entry. */
    unsigned skip = o->no_c0 ? 1 : 0;
    model_input_spec in = {p.n_coeffs, (unsigned)o->deltas, skip, mean + skip, std + skip};
    trainer_t *t = rc ? NULL : trainer_create(o, &c, &p, &g, &in);
    if (!rc && !t) rc = fail("out of memory");
    if (!rc) {
        trainer_run(t);
        run_ctx r = {o, &c, &p, &g, &in, t};
        rc = finish(&r, report_dir, argc, argv);
    }
    trainer_destroy(t);
    corpus_free(&c);
    return rc;
}
