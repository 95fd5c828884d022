/* media: any audio FFmpeg's libraries read, from a file or a network stream
 * (http and https, Icecast and Shoutcast, HLS), decoded to interleaved
 * floats at the source's rate, with the title it carries.
 *
 * The title is the ICY `StreamTitle` of a radio stream, or the title tag
 * (as "ARTIST - TITLE" when there is an artist) of a file or an Ogg
 * stream. media_read ends its block where the title changes, so a caller
 * that asks media_title after each read knows the sample where the new one
 * starts (to the packet: a few milliseconds).
 *
 * Blocking: opening and reading wait on the network. `interrupted`, when
 * given, is asked about ten times a second while they wait (FFmpeg's
 * AVIOInterruptCB); a nonzero answer makes the open or read fail at once
 * with "interrupted". One media_t per thread; any number in a process.
 * FFmpeg's own log lines are silenced: errors come back in err. */
#ifndef GENRED_MEDIA_H
#define GENRED_MEDIA_H

#include <stddef.h>
#include <stdint.h>

typedef struct media media_t;

typedef struct {
    int (*interrupted)(void *ctx); /* NULL: never */
    void *ctx;
    unsigned max_channels; /* more are mixed down to this many; 0: keep all */
} media_options;

/* Opens `url` (a path or anything FFmpeg has a protocol for) and its best
 * audio stream. NULL with "URL: reason" in err, the reason in FFmpeg's
 * words ("Connection refused", "Server returned 404 Not Found") or "no
 * audio in it (video: h264)" for a stream without audio. */
media_t *media_open(const char *url, const media_options *opt, char *err, size_t err_len);
void media_close(media_t *m);

/* 0 in a build without FFmpeg (GENRED_WITH_FFMPEG off: media_none.c), where
 * media_open always fails. */
int media_available(void);

/* 1 when FFmpeg can name a protocol for url (http, https, hls, file...). */
int media_has_protocol(const char *url);

double media_rate(const media_t *m);
unsigned media_channels(const media_t *m);
/* Frames in all, from the container's duration; -1 when unknown (live). */
int64_t media_frames(const media_t *m);
/* "mp3, 44100 Hz, 2 channels" and the like, for logs. */
void media_describe(const media_t *m, char *buf, size_t len);

/* Reads up to `frames` frames into out (frames * media_channels floats).
 * Returns the frames read, 0 at the end of the stream, -1 with "URL:
 * reason" in err on an error or an interruption. Fewer than asked when the
 * title changes after them. */
long media_read(media_t *m, float *out, size_t frames, char *err, size_t err_len);

/* The title now ("" for none); returns 1 when it differs from what the
 * previous call returned, 0 when not. */
int media_title(media_t *m, char *buf, size_t len);

#endif
