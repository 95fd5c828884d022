/* eval_run: genre-eval's work: clips of any number of datasets (optionally
 * only the held-out fold of a group split, the very split genre-train made)
 * through a model, scores per source, and the genre.change event scores. */
#ifndef GENRED_EVAL_RUN_H
#define GENRED_EVAL_RUN_H

#include "dataset.h"
#include "tracker.h"
#include "train_options.h"

typedef struct {
    const char *model, *cache;
    train_list lists[TRAIN_MAX_LISTS];
    unsigned n_lists;
    const char *groups[TRAIN_MAX_LISTS];
    unsigned n_groups, fold, folds;
    double hop, level_db;
    int json, events, sweep;
    double segment, smoothing, change_hold, silence_dbfs, tolerance;
    tracker_decoder decoder;
    tracker_hmm_settings hmm;
    unsigned long seed;
    /* Changes to the audio before the front end: how much a model keys on
     * level, bandwidth, limiting or noise shows as the score it loses. */
    dataset_augment change;
} eval_opts;

/* 0; 1 after --help/--version; 2 after a usage error (printed). */
int eval_options_parse(int argc, char **argv, eval_opts *o);
/* Exit status: 0, 1 (nothing could be evaluated), 2 (bad input). */
int eval_run(const eval_opts *o);

#endif
