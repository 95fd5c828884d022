/* audio_file: reading audio files as interleaved floats: what libsndfile
 * reads well (WAV, FLAC, Ogg Vorbis, MP3, ...) through libsndfile, and, in a
 * build with FFmpeg (GENRED_WITH_FFMPEG), what it reads badly or not at all
 * (Opus, AAC and M4A, WMA, the audio of video containers) through FFmpeg. */
#ifndef GENRED_AUDIO_FILE_H
#define GENRED_AUDIO_FILE_H

#include <stddef.h>
#include <stdint.h>

typedef struct audio_file audio_file_t;

/* NULL with "PATH: reason" in err when the file cannot be opened or decoded. */
audio_file_t *audio_file_open(const char *path, char *err, size_t err_len);
void audio_file_close(audio_file_t *f);

double audio_file_rate(const audio_file_t *f);
unsigned audio_file_channels(const audio_file_t *f);
/* -1 if unknown; from the container's duration (an estimate) for files
 * FFmpeg decodes. */
int64_t audio_file_frames(const audio_file_t *f);
/* The title tag, as "ARTIST - TITLE" when there is an artist; "" when the
 * file has none. */
void audio_file_title(audio_file_t *f, char *buf, size_t len);

/* Reads up to `frames` interleaved frames; returns frames read, 0 at end.
 * Returns -1 on a decode error (message in err). */
long audio_file_read(audio_file_t *f, float *out, size_t frames, char *err, size_t err_len);

#endif
