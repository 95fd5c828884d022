/* events: how far a DJ app or a radio log can trust genre.change. Builds a
 * playlist of clips whose genre changes every segment (30 s), runs the
 * model over it window by window as the daemon would (same hop, same
 * classifier), replays the daemon's own tracker (silence and either change
 * decoder, daemon/tracker) and scores the announcements against the truth:
 *   right      share of audio time where the last announced genre is right
 *              (time before the first announcement counts as wrong)
 *   announced  share of true changes announced with the right genre within
 *              `tolerance` seconds. Neighbours never share a genre, so a
 *              change whose genre was already the announced one found the
 *              decoder wrong through the previous segment: it is not
 *              caught, and has no delay (counting it as caught at delay 0
 *              rewarded decoders that seldom announce anything)
 *   false/h    announcements other than the first of the right genre after
 *              each true change, per hour of audio
 *   delay      median time from a true change to the announcement of its
 *              genre, over the changes whose genre was announced after the
 *              change and before the next one (late ones too)
 * The playlist deals clips label by label in random rounds, so neighbours
 * never share a genre and every genre recurs through the hour. */
#ifndef GENRED_EVENTS_H
#define GENRED_EVENTS_H

#include "classifier.h"
#include "dataset.h"
#include "evaluate.h"
#include "tracker.h"

#include <stdint.h>
#include <stdio.h>

typedef struct {
    double right, announced, false_per_hour, median_delay;
    unsigned changes, true_changes, hits;
    double hours;
} events_score;

typedef struct events events_t;

/* clips: features of n clips with their labels; those shorter than a
 * segment are left out. The model's windows over the playlist are computed
 * here, once. NULL with the reason in err. */
events_t *events_create(classifier_t *c, const eval_geometry *g, const dataset_features *clips,
                        const int *labels, size_t n, double segment_s, uint64_t seed, char *err,
                        size_t err_len);
/* The same from a playlist already classified: n_segments segments of
 * segment_s seconds with their labels; n_windows windows with their
 * probabilities (n_windows x L), end times and levels. Copies them. */
events_t *events_from_windows(unsigned L, const int *segment_label, size_t n_segments,
                              double segment_s, const float *window_probs, const double *window_end,
                              const double *window_level, size_t n_windows);
void events_destroy(events_t *e);

/* Replays the tracker with settings s over the playlist and scores it. */
events_score events_run(const events_t *e, const tracker_settings *s, double tolerance_s);

/* Segments in the playlist and its length in seconds. */
size_t events_segments(const events_t *e);
double events_seconds(const events_t *e);

#endif
