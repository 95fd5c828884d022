/* train_options: what a training run is asked to do, from genre-train's
 * command line. One struct read by every part of the trainer. */
#ifndef GENRED_TRAIN_OPTIONS_H
#define GENRED_TRAIN_OPTIONS_H

#define TRAIN_MAX_LISTS 16

/* A list whose level is --level-db, known only once every flag is read;
 * one played as recorded. */
#define LEVEL_FROM_FLAG 1.0
#define LEVEL_AS_IS     -1000.0
/* What --level-db is when not given, in genre-train and genre-eval alike,
 * so that genre-eval on the lists genre-train validated on scores exactly
 * what its report says. */
#define LEVEL_DEFAULT_DBFS -19.0

/* A list of clips: paths in LIST relative to ROOT, the first folder the
 * label; source names the dataset in reports (NULL: LIST's folder). */
typedef struct {
    const char *source, *root, *list;
    double level_dbfs; /* -1000: as recorded */
} train_list;

typedef struct {
    const char *out, *report, *cache;
    const char *cache_flag; /* the flag --cache's value came from, for errors */
    train_list train[TRAIN_MAX_LISTS], valid[TRAIN_MAX_LISTS];
    unsigned n_train, n_valid;
    const char *groups[TRAIN_MAX_LISTS];
    unsigned n_groups, fold, folds; /* folds 0: no group split */
    double level_db;
    unsigned hidden, layers, coeffs, mels;
    int pool_mean, select_last, deltas, no_c0, allow_empty_labels;
    unsigned epochs, batch, epoch_windows, patience, threads, variants, valid_every;
    unsigned average_last; /* with select_last: the model is the mean of the last N epochs */
    double lr, weight_decay, dropout, clip_norm, hop_seconds;
    unsigned qat_epochs;
    int qat_always;
    unsigned long seed;
    /* Augmentation: gain and EQ act on each training window's MFCCs (exact
     * for a level or a smooth EQ), the others on audio copies. */
    int aug_gain, aug_eq, aug_noise, aug_lowpass, aug_speed, aug_drive;
    const char *name;
    /* Distillation: a teacher's window probabilities (tools/teacher) for
     * every training clip, mixed into the loss (gru_train_opts). */
    const char *soft_labels;
    double soft_weight, temperature;
} train_opts;

/* One "[NAME=]ROOT:LIST" (named) or "ROOT:LIST" value of flag into
 * lists[*n] (argv's string, cut in place), level from --level-db later;
 * "K/N" of --fold. 0, or 2 after printing "PROG: reason". */
int train_list_parse(const char *prog, const char *flag, char *spec, int named, train_list *lists,
                     unsigned *n);
int train_fold_parse(const char *prog, const char *s, unsigned *fold, unsigned *folds);

/* Fills o from the command line. 0; 1 after --help or --version (printed,
 * exit 0); 2 after a usage error (printed). */
int train_options_parse(int argc, char **argv, train_opts *o);

#endif
