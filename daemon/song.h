/* song: what one titled stretch of a stream was, for genre.track. A radio
 * station's song title (or a file's title tag) starts a song; the next
 * title, or the end of the input, ends it. Pure logic like tracker.h: no
 * I/O, clocks or threads.
 *
 * A song counts the windows that lie wholly inside it, so the first
 * window_seconds after a title change, which still hear the song before,
 * count for neither. Over those windows it keeps the mean of the raw
 * (unsmoothed) probabilities, whose argmax is the song's top label, and how
 * many windows each label topped. Silent windows are counted apart and left
 * out of the mean. */
#ifndef GENRED_SONG_H
#define GENRED_SONG_H

#include <stdint.h>

typedef struct song song_t;

/* NULL when out of memory or n_labels is 0. No song is open. */
song_t *song_create(unsigned n_labels);
void song_destroy(song_t *s);

/* Opens a song called `title` at input frame `start`, forgetting any open
 * one; an empty title opens none (a stream between titled songs). */
void song_start(song_t *s, const char *title, uint64_t start);
/* The open song's title, "" when none is open. */
const char *song_title(const song_t *s);

/* One window, whose audio began at input frame `first`: n_labels raw
 * probabilities, and whether it was silent. Counted when it began at or
 * after the song's start. */
void song_add(song_t *s, uint64_t first, const float *raw, int silence);

typedef struct {
    const char *title;
    uint64_t start, end; /* input frames */
    unsigned windows;    /* not silent, wholly inside the song */
    unsigned silent;     /* silent windows inside the song */
    const float *mean;   /* n_labels mean probabilities over `windows`; valid until the next call */
    int top;             /* argmax of mean; -1 when windows is 0 */
    double share;        /* of the windows, those whose own top label was `top` */
} song_summary;

/* Ends the open song at input frame `end` (the song stays open until the
 * next song_start): 1 with *out filled, 0 when no song is open. */
int song_end(song_t *s, uint64_t end, song_summary *out);

/* Carries the open song of `from` (same label count) into s, a fresh song
 * of an engine built for a reload. */
void song_continue(song_t *s, const song_t *from);

#endif
