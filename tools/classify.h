/* classify: one audio file through a model, as genre-classify reports it.
 *
 * The file is decoded and run through the front-end in blocks, so memory
 * does not grow with its length (only the per-window results do: 40 bytes
 * per window with 10 labels). Windows start every hop from 0, each
 * classified from a zero state with the raw model output; the verdict is
 * the mean over the windows. A clip of at least 1 s of audio but shorter
 * than one window is classified as one shorter window, with a warning. A
 * file that stops decoding part-way is classified on what decoded, with a
 * warning. Results equal those of decoding the whole file first
 * (dataset_features_compute + eval_clip), bit for bit.
 *
 * One classify_t per thread; the model is shared read-only. Used by
 * genre-classify and meant for other programs that tag files one at a time
 * (a work-queue consumer, say): classify_json gives genre-classify's --json
 * line for a result or an error. */
#ifndef GENRED_CLASSIFY_H
#define GENRED_CLASSIFY_H

#include "model.h"
#include "tracker.h"

#include <stddef.h>

typedef struct classify classify_t;

typedef struct {
    unsigned n_windows;
    const float *window_probs;     /* n_windows x n_labels; valid until the next classify_file */
    float probs[MODEL_MAX_LABELS]; /* the verdict: mean of the windows */
    unsigned top;                  /* argmax of probs */
    double seconds;                /* audio decoded */
    char warning[512];             /* "" or why the result deserves a second look */
} classify_result;

/* hop_seconds: the window step (genre-classify's --hop). The model must
 * outlive the classifier. NULL with the reason in err. */
classify_t *classify_create(const model_t *m, double hop_seconds, char *err, size_t err_len);
void classify_destroy(classify_t *c);

/* 0 with *r filled, or -1 with "PATH: reason" in err (nothing decoded,
 * under 1 s of audio, unreadable or unsupported file). */
int classify_file(classify_t *c, const char *path, classify_result *r, char *err, size_t err_len);

/* Start of window w in seconds of the file. */
double classify_window_start(const classify_t *c, unsigned w);

/* A stretch of one genre (or silence: label -1) in seconds of the file. */
typedef struct {
    double start, end;
    int label;
} classify_segment;

/* The last file's genre segments, from genred's own tracker run over its
 * windows (the settings' hop is the classifier's): a segment is a state the
 * tracker reported a change to, from where it began (the middle of the
 * first window the new genre led, the start of the first silent one, the
 * end of the first one with sound after silence less half a hop: so a
 * change at T reads about T) to the next; the first starts at 0, the last
 * ends with the file. A file whose first
 * state never held change_hold seconds is one segment of its last window's
 * state. Returns the count with *out malloc'd, or -1 (out of memory, bad
 * settings). */
int classify_segments(const classify_t *c, const classify_result *r, const tracker_settings *s,
                      classify_segment **out);

/* What a --json line carries besides the verdict. */
typedef enum {
    CLASSIFY_WINDOWS_NONE,
    CLASSIFY_WINDOWS_CHANGES,
    CLASSIFY_WINDOWS_ALL
} classify_windows;

/* genre-classify's --json line, without the newline, malloc'd (NULL when out
 * of memory): {"file","labels","top","probs"}, then with ALL
 * "windows":[{"start","probs"}...], with CHANGES "segments":[{"start","end",
 * "label"}...] (label null for silence; segments from classify_segments with
 * `s`), plus "warning" when there is one; r NULL gives {"file","error"},
 * the error without the file name. Written window by window, so its
 * memory is the text's own (about 130 bytes a window with 10 labels). */
char *classify_json_line(const classify_t *c, const char *path, const classify_result *r,
                         const char *err, classify_windows windows, const tracker_settings *s);

#endif
