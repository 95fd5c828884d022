/* stream_classifier: one stream's overlapping windows, classified frame by
 * frame.
 *
 * genred classifies a 3 s window every 0.5 s, so each MFCC frame belongs to
 * about six live windows, and classifier_process runs each window's GRU
 * over all its frames from a zero state: six times the work. This object
 * keeps the live windows' states instead and advances them together as
 * each frame arrives. Each window still starts from a zero state at its own
 * first frame and ends after its own last, so its probabilities are bit for
 * bit what classifier_process gives for that window (tests/nn/
 * test_stream_classifier.c checks it).
 *
 * What is shared: a frame's network input and its first-layer projection,
 * the same in every window where the frame is at least two frames from
 * both edges (nearer an edge its deltas are clamped to the window, so those
 * rows are computed per window); and each layer's recurrent matrix product,
 * one for all states, so the weights are read once per frame. A window's
 * input for frame t needs frames up to t + 2, so windows run two frames
 * behind the newest and catch up at their last frame.
 *
 * All memory is allocated at create; push does no allocation, locking or
 * I/O. The model must outlive the object. */
#ifndef GENRED_STREAM_CLASSIFIER_H
#define GENRED_STREAM_CLASSIFIER_H

#include "model.h"
#include "simd.h"

#include <stddef.h>

typedef struct stream_classifier stream_classifier_t;

/* window_frames: the window length (model_window_frames); max_windows: the
 * most windows live at once (frontend_windows_live for the hop in use). */
stream_classifier_t *stream_classifier_create(const model_t *m, unsigned window_frames,
                                              unsigned max_windows, char *err, size_t err_len);
/* The same on the kernels of `level`, for tests and benchmarks comparing
 * levels; stream_classifier_create takes simd_level_get(). */
stream_classifier_t *stream_classifier_create_at(const model_t *m, unsigned window_frames,
                                                 unsigned max_windows, simd_level level, char *err,
                                                 size_t err_len);
void stream_classifier_destroy(stream_classifier_t *s);

/* Feeds the stream's next raw MFCC frame (n_coeffs values). start: a window
 * begins at this frame (the front end's FRONTEND_WINDOW_START). Returns 1
 * when a window followed from its first frame ends with this one, with its
 * probabilities in probs (n_labels); 0 otherwise (no window ends here, or
 * it began before this object saw the stream, or more than max_windows
 * were live): then the caller runs classifier_process on the window. */
int stream_classifier_push(stream_classifier_t *s, const float *frame, int start, float *probs);

/* Forgets every window and frame (a new front end, a gap in the stream). */
void stream_classifier_reset(stream_classifier_t *s);

#endif
