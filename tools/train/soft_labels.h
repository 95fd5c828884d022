/* soft_labels: a teacher's probabilities for one training clip, window by
 * window, as tools/teacher writes them (distillation targets for
 * genre-train --soft-labels). The file DIR/<rel>.soft, rel being the clip's
 * line in its list:
 *
 *   genred-soft 1
 *   labels<TAB>blues<TAB>classical...   the model's labels, in its order
 *   hop<TAB>0.5                         seconds between window starts
 *   window<TAB>3.0                      window length, seconds
 *   p0<TAB>p1...                        one row per window start i * hop
 *
 * The teacher files are made once from the clean audio; augmented copies of a
 * clip look up the same rows at the same musical position. */
#ifndef GENRED_SOFT_LABELS_H
#define GENRED_SOFT_LABELS_H

#include "dataset.h"

#include <stddef.h>

typedef struct soft_labels soft_labels_t;

/* Reads DIR/REL.soft and checks its labels are exactly labels[0..n_labels)
 * in that order. NULL with "FILE:LINE: reason" in err. */
soft_labels_t *soft_labels_load(const char *dir, const char *rel,
                                const char (*labels)[DATASET_LABEL_LEN + 1], unsigned n_labels,
                                char *err, size_t err_len);
void soft_labels_destroy(soft_labels_t *s);

/* The row of the window that starts nearest `seconds` into the clean clip
 * (clamped to the rows there are): n_labels probabilities summing to 1. */
const float *soft_labels_at(const soft_labels_t *s, double seconds);

#endif
