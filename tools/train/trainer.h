/* trainer: the optimisation of one training run. Batches of windows drawn
 * in balance (sampler), augmented on the fly (gain and EQ act exactly on
 * MFCCs), turned into network input exactly as the classifier does
 * (model_input), AdamW with a cosine schedule over sharded threads, a
 * validation pass per epoch with scores per source, and the parameters of
 * the epoch chosen (best score, or last). */
#ifndef GENRED_TRAINER_H
#define GENRED_TRAINER_H

#include "corpus.h"
#include "evaluate.h"
#include "gru_train.h"
#include "model_input.h"
#include "train_options.h"

/* Scores per epoch, o->epochs long, epochs_run filled. */
typedef struct {
    double *train_loss, *train_acc, *valid_loss, *valid_win_bal, *valid_win_acc, *valid_clip_bal,
        *valid_clip_acc, *valid_score, *lr;
    double *source_clip_bal; /* [epoch x CORPUS_MAX_SOURCES] */
    unsigned epochs_run, best_epoch;
    double seconds; /* wall time of the epochs */
} train_history;

typedef struct trainer trainer_t;

/* Everything sized and allocated here. NULL on out of memory. */
trainer_t *trainer_create(const train_opts *o, const corpus *c, const mfcc_params *p,
                          const eval_geometry *g, const model_input_spec *input);
void trainer_destroy(trainer_t *t);

/* Runs the epochs (early stopping after o->patience without a better
 * score, unless o->select_last). */
void trainer_run(trainer_t *t);

/* Quantisation-aware fine-tuning from the chosen parameters: o->qat_epochs
 * epochs with forward and backward passes on the GRU weights as int8 holds
 * them (straight-through), at the schedule's final rate; result in params
 * (gru_param_count values). 0, or 2 after printing. */
int trainer_finetune_int8(trainer_t *t, float *params);

const gru_shape *trainer_shape(const trainer_t *t);
const float *trainer_chosen(const trainer_t *t);
const train_history *trainer_history(const trainer_t *t);

#endif
