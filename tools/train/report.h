/* report: how a trained model scores on the validation clips, through the
 * real classifier (the daemon's float or int8 kernels), combined and per
 * source, printed and written as metrics.json with SVG plots. */
#ifndef GENRED_REPORT_H
#define GENRED_REPORT_H

#include "corpus.h"
#include "evaluate.h"
#include "trainer.h"

#include <jansson.h>

typedef struct {
    eval_totals all;
    eval_totals per_source[CORPUS_MAX_SOURCES];
    unsigned n_sources;
} report_scores;

/* Scores m on c's validation clips. 0, or 2 after printing. */
int report_score(report_scores *s, const model_t *m, const corpus *c, const eval_geometry *g);
void report_scores_free(report_scores *s);
double report_clip_balanced(const report_scores *s);

/* The verdict: float and int8 balanced accuracy, then per source the int8
 * model's balanced accuracy and per-class recall. chosen: which weights they
 * are ("epoch 40", "the mean of epochs 21-40"). */
void report_print(const report_scores *f, const report_scores *q, const corpus *c,
                  const char *chosen, FILE *out);

/* metrics.json and the plots into dir. extra: more members for the JSON
 * object (taken). 0, or 2 after printing. */
int report_write(const char *dir, const report_scores *f, const report_scores *q, const corpus *c,
                 const train_history *h, json_t *extra);

#endif
