/* audio_file: a thin libsndfile reader with "PATH: reason" errors. */
#include "audio_file.h"

#include <errno.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct audio_file {
    SNDFILE *sf;
    SF_INFO info;
    char *path;
};

/* "PATH: reason", without libsndfile's closing full stop. */
static void report(char *err, size_t err_len, const char *path, const char *reason)
{
    int len = (int)strlen(reason);
    while (len && (reason[len - 1] == '.' || reason[len - 1] == '\n'))
        len--;
    snprintf(err, err_len, "%s: %.*s", path, len, reason);
}

/* libsndfile's own words for a format it cannot read ("Format not
 * recognised") leave users of .m4a or ffmpeg's .opus guessing; say what
 * to do instead. */
static void open_error(char *err, size_t err_len, const char *path)
{
    int code = sf_error(NULL);
    const char *what = code == SF_ERR_UNRECOGNISED_FORMAT || code == SF_ERR_UNSUPPORTED_ENCODING
                           ? "codec not supported"
                       : code == SF_ERR_MALFORMED_FILE ? "damaged file or codec not supported"
                                                       : NULL;
    if (!what) {
        report(err, err_len, path, sf_strerror(NULL));
        return;
    }
    char why[200];
    report(why, sizeof why, "libsndfile", sf_strerror(NULL));
    snprintf(err, err_len,
             "%s: %s (%s): convert it (ffmpeg -i IN OUT.flac), or pipe it through ffmpeg into "
             "`genred --input stdin:`",
             path, what, why);
}

/* Whether the file's first bytes are text: no audio format's header is (all
 * hold binary sizes or sync words), while an HTML error page saved as .mp3
 * or a text file renamed .wav is, and deserves "not an audio file" rather
 * than libsndfile's "Format not recognised" or a decoder's guesses. */
static int looks_like_text(FILE *f)
{
    unsigned char head[4096];
    size_t n = fread(head, 1, sizeof head, f);
    for (size_t i = 0; i < n; i++)
        if ((head[i] < 0x20 && !strchr("\t\n\v\f\r", head[i])) || head[i] == 0x7f) return 0;
    return n > 0;
}

audio_file_t *audio_file_open(const char *path, char *err, size_t err_len)
{
    audio_file_t *f = calloc(1, sizeof *f);
    size_t len = strlen(path);
    if (!f || !(f->path = malloc(len + 1))) {
        free(f);
        snprintf(err, err_len, "%s: out of memory", path);
        return NULL;
    }
    memcpy(f->path, path, len + 1);
    /* libsndfile words a missing file "System error : ..."; say it plainly. */
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        audio_file_close(f);
        return NULL;
    }
    struct stat st;
    int known = fstat(fileno(probe), &st) == 0;
    int text = known && S_ISREG(st.st_mode) && looks_like_text(probe);
    fclose(probe);
    if (known && (S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) && st.st_size == 0) || text)) {
        snprintf(err, err_len, "%s: %s", path,
                 S_ISDIR(st.st_mode) ? strerror(EISDIR)
                 : text              ? "not an audio file (it holds text)"
                                     : "empty file");
        audio_file_close(f);
        return NULL;
    }
    f->sf = sf_open(path, SFM_READ, &f->info);
    if (!f->sf) {
        open_error(err, err_len, path);
        audio_file_close(f);
        return NULL;
    }
    if (f->info.channels < 1 || f->info.samplerate < 1) {
        snprintf(err, err_len, "%s: no audio (channels %d, rate %d)", path, f->info.channels,
                 f->info.samplerate);
        audio_file_close(f);
        return NULL;
    }
    return f;
}

void audio_file_close(audio_file_t *f)
{
    if (!f) return;
    if (f->sf) sf_close(f->sf);
    free(f->path);
    free(f);
}

double audio_file_rate(const audio_file_t *f)
{
    return f->info.samplerate;
}

unsigned audio_file_channels(const audio_file_t *f)
{
    return (unsigned)f->info.channels;
}

int64_t audio_file_frames(const audio_file_t *f)
{
    /* libsndfile reports SF_COUNT_MAX for streams of unknown length. */
    if (f->info.frames < 0 || f->info.frames == SF_COUNT_MAX) return -1;
    return f->info.frames;
}

long audio_file_read(audio_file_t *f, float *out, size_t frames, char *err, size_t err_len)
{
    sf_count_t got = sf_readf_float(f->sf, out, (sf_count_t)frames);
    if (got < 0 || (got < (sf_count_t)frames && sf_error(f->sf) != SF_ERR_NO_ERROR)) {
        report(err, err_len, f->path, sf_strerror(f->sf));
        return -1;
    }
    return (long)got;
}
