/* corpus: the clips one training run learns from and is validated on, from
 * any number of labelled datasets, with their MFCC features (clean, and
 * augmented copies of the training clips). */
#ifndef GENRED_CORPUS_H
#define GENRED_CORPUS_H

#include "dataset.h"
#include "soft_labels.h"
#include "train_options.h"

#define CORPUS_MAX_SOURCES 16

typedef struct {
    dataset_features *variants; /* [0] clean, then augmented copies */
    unsigned n_variants;
    int label;
    unsigned source; /* into corpus.sources */
    const char *path;
    const char *rel;     /* the clip's line in its list */
    soft_labels_t *soft; /* training clips under --soft-labels, else NULL */
} clip_data;

typedef struct {
    clip_data *clips;
    size_t n;
} clip_set;

typedef struct {
    dataset train, valid; /* the lists, after any group split */
    char (*labels)[DATASET_LABEL_LEN + 1];
    unsigned n_labels;
    char sources[CORPUS_MAX_SOURCES][DATASET_SOURCE_LEN + 1];
    unsigned n_sources;
    clip_set tset, vset; /* usable clips with features */
} corpus;

/* Reads the lists and group files, splits by fold, sets the label set (the
 * training lists' labels) and resolves every clip. Nothing is decoded yet:
 * every error in the input is found before any work. 0, or 2 after
 * printing one line. */
int corpus_load(corpus *c, const train_opts *o);

/* Features of every clip; training clips get o->variants augmented copies
 * and, under --soft-labels, their teacher rows (a missing or bad file is an
 * error naming it). Clips that cannot be decoded or are shorter than
 * min_frames are skipped with a warning naming them; a label left without
 * training clips is an error unless o->allow_empty_labels. 0, or 2 after
 * printing. */
int corpus_extract(corpus *c, const mfcc_params *p, const train_opts *o, unsigned min_frames);

void corpus_free(corpus *c);

/* Per-input mean and standard deviation of the clean training clips, cut
 * into consecutive windows of W frames so deltas are taken exactly as the
 * network sees them. mean/std: C * (1 + deltas) values. */
int corpus_feature_stats(const clip_set *s, unsigned C, unsigned deltas, unsigned W, float *mean,
                         float *std);

#endif
