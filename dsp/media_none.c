/* media_none: media.h in a build without FFmpeg (GENRED_WITH_FFMPEG off).
 * Nothing opens, so the readers below are never reached. */
#include "media.h"

#include <stdio.h>

int media_available(void)
{
    return 0;
}

int media_has_protocol(const char *url)
{
    (void)url;
    return 0;
}

media_t *media_open(const char *url, const media_options *opt, char *err, size_t err_len)
{
    (void)opt;
    snprintf(err, err_len, "%s: this build has no FFmpeg (GENRED_WITH_FFMPEG)", url);
    return NULL;
}

void media_close(media_t *m)
{
    (void)m;
}

double media_rate(const media_t *m)
{
    (void)m;
    return 0;
}

unsigned media_channels(const media_t *m)
{
    (void)m;
    return 0;
}

int64_t media_frames(const media_t *m)
{
    (void)m;
    return -1;
}

void media_describe(const media_t *m, char *buf, size_t len)
{
    (void)m;
    snprintf(buf, len, "none");
}

long media_read(media_t *m, float *out, size_t frames, char *err, size_t err_len)
{
    (void)m;
    (void)out;
    (void)frames;
    snprintf(err, err_len, "this build has no FFmpeg");
    return -1;
}

int media_title(media_t *m, char *buf, size_t len)
{
    (void)m;
    snprintf(buf, len, "%s", "");
    return 0;
}
