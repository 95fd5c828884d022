/* tracker: what one stream's window-by-window classifier outputs mean over
 * time. Pure logic, no I/O, no clocks, no threads: the daemon's pipeline
 * feeds it every window and turns its decisions into messages, and tools
 * (genre-eval --events, genre-classify --windows=changes) run the very same
 * decoding over a file.
 *
 * Per window it takes the raw probabilities, the window's level and the
 * window's end in seconds of audio, and decides:
 *   - silence: the level is below silence_dbfs. While silent the tracked
 *     probabilities are held, so a pause between tracks does not drag them
 *     towards whatever the model makes of silence.
 *   - the tracked probabilities and their top label, by one of two change
 *     decoders:
 *       hold: the raw probabilities smoothed (first-order low-pass, time
 *         constant `smoothing` seconds at a step of `hop` seconds); the
 *         candidate state is their top label.
 *       hmm: the posterior of an online HMM forward filter (hmm_filter.h);
 *         the candidate state is the top label once its posterior reaches
 *         hmm.threshold, else the reported state stays the candidate.
 *   - a change: the candidate state (or silence) differs from the last
 *     reported one and has held for change_hold (hold) or hmm.hold (hmm)
 *     seconds of audio, measured between window ends, so a hold means the
 *     same whatever the hop. */
#ifndef GENRED_TRACKER_H
#define GENRED_TRACKER_H

/* States besides label indices (which are >= 0). */
#define TRACKER_NONE    (-2) /* nothing reported yet (start, or labels changed) */
#define TRACKER_SILENCE (-1)

typedef enum { TRACKER_DECODE_HOLD = 0, TRACKER_DECODE_HMM = 1 } tracker_decoder;

typedef struct {
    double segment;   /* expected s of audio in one genre, > 0 */
    double exponent;  /* power of the model's probabilities as likelihoods, (0, 1] */
    double threshold; /* posterior a new label must reach, [0, 1) */
    double hold;      /* s of audio it (or silence) must then hold, >= 0 */
} tracker_hmm_settings;

/* genred's defaults (config/genred.conf), chosen by genre-eval --events
 * (nn/default_model/README.md); the tools that replay the tracker start from
 * them too. */
#define TRACKER_DEFAULT_SMOOTHING    0.0
#define TRACKER_DEFAULT_CHANGE_HOLD  5.0
#define TRACKER_DEFAULT_SILENCE_DBFS (-60.0)
#define TRACKER_DEFAULT_DECODER      TRACKER_DECODE_HOLD
#define TRACKER_DEFAULT_HMM          ((tracker_hmm_settings){20, 0.15, 0.9, 0})

typedef struct {
    double hop;          /* s of audio between windows (the smoothing step), > 0 */
    double smoothing;    /* hold decoder: time constant, s; 0 turns smoothing off */
    double change_hold;  /* hold decoder: s of audio a new state must hold before it is reported */
    double silence_dbfs; /* a window below this level is silence */
    tracker_decoder decoder;
    tracker_hmm_settings hmm; /* hmm decoder */
} tracker_settings;

typedef struct {
    const float *probs; /* smoothed or filtered, one per label; the tracker's, valid until the
                           next call */
    int top;            /* argmax of probs; while silent, that of the held probabilities */
    int silence;
    double p;    /* probs[top], 0 while silent */
    int state;   /* the reported state after this window (TRACKER_* or a label) */
    int changed; /* this window completed a change: report previous -> state */
    int previous;
} tracker_decision;

typedef struct tracker tracker_t;

/* NULL on bad settings (n_labels 0, hop <= 0, negative smoothing or hold,
 * NaN, an unknown decoder, hmm settings out of range for the hmm decoder)
 * or out of memory. */
tracker_t *tracker_create(unsigned n_labels, const tracker_settings *s);
void tracker_destroy(tracker_t *t);

/* One window: raw (n_labels probabilities), its level in dBFS, and its end
 * in seconds of audio since any fixed origin (non-decreasing). */
void tracker_process(tracker_t *t, const float *raw, double level_dbfs, double end_s,
                     tracker_decision *out);

/* The reported state: TRACKER_NONE, TRACKER_SILENCE or a label index. */
int tracker_state(const tracker_t *t);
/* End, in seconds of audio, of the window in which the reported state first
 * appeared (its change was reported change_hold later); 0 before any. Where
 * a genre began, for tools that cut a file into genre segments. */
double tracker_state_since(const tracker_t *t);

/* Carries the history of `from` (same label count: tracked probabilities,
 * reported state, a pending change) into a fresh tracker, so that a reload
 * with new settings, another decoder or a new model of the same labels does
 * not restart the tracking or report a change that did not happen. */
void tracker_continue(tracker_t *t, const tracker_t *from);

#endif
