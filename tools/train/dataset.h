/* dataset: clip lists, label sets and MFCC features (computed by the shared
 * front-end, optionally augmented, cached on disk) for genre-train,
 * genre-eval and genre-classify. */
#ifndef GENRED_DATASET_H
#define GENRED_DATASET_H

#include "mfcc.h"

#include <stddef.h>
#include <stdint.h>

#define DATASET_LABEL_LEN  63
#define DATASET_SOURCE_LEN 31
#define DATASET_GROUP_LEN  127

typedef struct {
    char *path;      /* root + "/" + line */
    const char *rel; /* the line: inside path, independent of where the root is */
    char label[DATASET_LABEL_LEN + 1];
    int label_index;   /* into the dataset's label set, -1 before resolving */
    double level_dbfs; /* > -200: scale the clip to this RMS level first */
    /* Which dataset the clip came from: reports give scores per source. */
    char source[DATASET_SOURCE_LEN + 1];
    /* Clips of one group (an artist, a song) stay on one side of a split;
     * empty: the clip's group is unknown. */
    char group[DATASET_GROUP_LEN + 1];
} dataset_clip;

typedef struct {
    dataset_clip *clips;
    size_t n_clips;
} dataset;

/* Appends the clips of LIST (paths relative to ROOT, first folder = label).
 * level_dbfs > -200 marks them for level normalisation. Blank lines and
 * lines starting with '#' are skipped. Errors (missing root or list, empty
 * or malformed list) come back as "LIST:LINE: reason" and nothing is added. */
int dataset_add_list(dataset *d, const char *root, const char *list, double level_dbfs, char *err,
                     size_t err_len);
/* The same with the clips' source named (NULL: the name of LIST's folder,
 * e.g. "gtzan" for gtzan/train.txt). */
int dataset_add_source(dataset *d, const char *source, const char *root, const char *list,
                       double level_dbfs, char *err, size_t err_len);
void dataset_free(dataset *d);

/* Reads a group file (lines "FILE<TAB>GROUP[<TAB>...]", FILE as in the
 * lists; lines whose FILE has no '/' are headers) and sets the group of
 * every clip it names. Errors as "TSV:LINE: reason". */
int dataset_load_groups(dataset *d, const char *tsv, char *err, size_t err_len);

/* Group-disjoint k-fold split: the groups of each label are ordered by a
 * hash of their name and dealt round-robin into `folds` folds, so each fold
 * holds every label's groups in proportion; the clips of fold `fold` move
 * from d to valid. Clips with no group stay in d. Returns the number
 * moved, -1 on out of memory. */
long dataset_split_fold(dataset *d, dataset *valid, unsigned fold, unsigned folds);

/* The sorted distinct labels of d: a malloc'd array of n strings. */
char (*dataset_label_set(const dataset *d, unsigned *n))[DATASET_LABEL_LEN + 1];
/* Sets every clip's label_index; -1 with "LIST: label 'x' ..." if one is
 * not in the set. what names the dataset in the message. */
int dataset_resolve(dataset *d, char (*labels)[DATASET_LABEL_LEN + 1], unsigned n_labels,
                    const char *what, char *err, size_t err_len);

/* Audio changes applied before the front-end (training augmentation). */
typedef struct {
    double gain_db;    /* added after level normalisation */
    double snr_db;     /* additive noise at this SNR; <= -100: none */
    double lowpass_hz; /* Butterworth low-pass; 0: none */
    double speed;      /* playback speed through the resampler; 1: none */
    double drive_db;   /* soft clipping (a loud master's limiter) driven this hard; 0: none */
    uint64_t seed;     /* noise */
} dataset_augment;

void dataset_augment_none(dataset_augment *a);

typedef struct {
    float *frames; /* n_frames x n_coeffs, not normalised */
    unsigned n_frames, n_coeffs;
    double rms_dbfs; /* of the audio as the front-end saw it */
} dataset_features;

/* Decodes a clip and runs it through dsp/frontend. level_dbfs as in
 * dataset_clip, a may be NULL. "PATH: reason" in err on failure. */
int dataset_features_compute(const char *path, const mfcc_params *p, double level_dbfs,
                             const dataset_augment *a, dataset_features *out, char *err,
                             size_t err_len);
/* The same through a cache directory (NULL: no cache): entries are keyed by
 * the front-end parameters and its output on a probe signal (so a changed
 * dsp/ implementation never reuses stale entries), level, augmentation and
 * the file's contents (CRC32 and size). */
int dataset_features_cached(const char *cache_dir, const char *path, const mfcc_params *p,
                            double level_dbfs, const dataset_augment *a, dataset_features *out,
                            char *err, size_t err_len);
void dataset_features_free(dataset_features *f);
/* Frees the front-ends this thread keeps for reuse (call before a thread
 * that computed features ends). */
void dataset_thread_release(void);

/* Frames per window (mfcc_window_frames). */
unsigned dataset_window_frames(const mfcc_params *p, double window_seconds);
/* Shortest clip the tools accept, in frames: 1 s of audio. Clips between
 * this and one window are evaluated as a single shorter window. */
unsigned dataset_min_frames(const mfcc_params *p);

/* Makes DIR and its parents; 0 or -1 with the reason. */
int dataset_mkdirs(const char *dir, char *err, size_t err_len);

#endif
