/* media: FFmpeg's demuxers and decoders behind a small reader (media.h). */
#include "media.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TITLE_LEN = 512 };

struct media {
    char *url;
    media_options opt;
    AVFormatContext *fmt;
    AVCodecContext *dec;
    SwrContext *swr;
    AVChannelLayout swr_in; /* the input swr is set up for */
    int swr_in_rate, swr_in_format;
    AVPacket *pkt;
    AVFrame *frame;
    int stream;
    int held;    /* pkt is read but not yet sent to the decoder */
    int drained; /* the decoder has been told the stream ended */
    unsigned channels;
    double rate;
    float *buf; /* converted frames not yet returned: buf[pos..have) */
    size_t cap, have, pos;
    char title[TITLE_LEN]; /* of the frames the last read returned */
    char next[TITLE_LEN];  /* a change read before its frames were due */
    char said[TITLE_LEN];  /* what media_title last returned */
    int next_pending;
};

static pthread_once_t ffmpeg_once = PTHREAD_ONCE_INIT;

/* FFmpeg prints to stderr by default: a daemon's log would fill with
 * "Header missing" from every network glitch. genred reports what matters
 * through err. */
static void ffmpeg_init(void)
{
    av_log_set_level(AV_LOG_QUIET);
    avformat_network_init();
}

static int on_interrupt(void *arg)
{
    const media_t *m = arg;
    return m->opt.interrupted && m->opt.interrupted(m->opt.ctx);
}

/* "URL: reason" in FFmpeg's words. */
static void say_averror(char *err, size_t err_len, const char *url, int code)
{
    char why[AV_ERROR_MAX_STRING_SIZE];
    if (code == AVERROR_EXIT)
        snprintf(why, sizeof why, "interrupted");
    else if (code == AVERROR_INVALIDDATA)
        snprintf(why, sizeof why, "not audio FFmpeg can read");
    else
        av_strerror(code, why, sizeof why);
    snprintf(err, err_len, "%s: %s", url, why);
}

int media_available(void)
{
    return 1;
}

int media_has_protocol(const char *url)
{
    pthread_once(&ffmpeg_once, ffmpeg_init);
    return avio_find_protocol_name(url) != NULL;
}

/* ---- titles ---- */

/* 1 when s is valid UTF-8. */
static int is_utf8(const unsigned char *s)
{
    while (*s) {
        int more = *s < 0x80             ? 0
                   : (*s & 0xe0) == 0xc0 ? 1
                   : (*s & 0xf0) == 0xe0 ? 2
                   : (*s & 0xf8) == 0xf0 ? 3
                                         : -1;
        if (more < 0) return 0;
        for (s++; more--; s++)
            if ((*s & 0xc0) != 0x80) return 0;
    }
    return 1;
}

/* Many stations send ICY titles in Latin-1, and messages are UTF-8 JSON:
 * text that is not UTF-8 is read as Latin-1. */
static void as_utf8(char *buf, size_t len)
{
    if (is_utf8((const unsigned char *)buf)) return;
    char *latin1 = strdup(buf);
    if (!latin1) {
        *buf = '\0';
        return;
    }
    size_t o = 0;
    for (const unsigned char *c = (const unsigned char *)latin1; *c && o + 3 < len; c++) {
        if (*c >= 0x80) buf[o++] = (char)(0xc0 | *c >> 6);
        buf[o++] = (char)(*c >= 0x80 ? 0x80 | (*c & 0x3f) : *c);
    }
    buf[o] = '\0';
    free(latin1);
}

/* "ARTIST - TITLE", or TITLE, from tags; 0 when there is no title tag. */
static int tag_title(const AVDictionary *d, char *buf, size_t len)
{
    const AVDictionaryEntry *title = av_dict_get(d, "title", NULL, 0);
    const AVDictionaryEntry *artist = av_dict_get(d, "artist", NULL, 0);
    if (!title) return 0;
    if (artist && *artist->value)
        snprintf(buf, len, "%s - %s", artist->value, title->value);
    else
        snprintf(buf, len, "%s", title->value);
    return 1;
}

/* The title the stream carries now: a radio station's ICY StreamTitle
 * (libavformat copies it into the context's metadata as it arrives), else
 * the stream's tags (Ogg carries them per chained stream), else the file's. */
static void current_title(const media_t *m, char *buf, size_t len)
{
    const AVDictionaryEntry *icy = av_dict_get(m->fmt->metadata, "StreamTitle", NULL, 0);
    if (icy)
        snprintf(buf, len, "%s", icy->value);
    else if (!tag_title(m->fmt->streams[m->stream]->metadata, buf, len) &&
             !tag_title(m->fmt->metadata, buf, len))
        *buf = '\0';
    as_utf8(buf, len);
}

/* After a packet is read: 1 when the title changed with it. */
static int title_changed(media_t *m)
{
    AVStream *st = m->fmt->streams[m->stream];
    if (!(m->fmt->event_flags & AVFMT_EVENT_FLAG_METADATA_UPDATED) &&
        !(st->event_flags & AVSTREAM_EVENT_FLAG_METADATA_UPDATED))
        return 0;
    m->fmt->event_flags &= ~AVFMT_EVENT_FLAG_METADATA_UPDATED;
    st->event_flags &= ~AVSTREAM_EVENT_FLAG_METADATA_UPDATED;
    current_title(m, m->next, sizeof m->next);
    return strcmp(m->next, m->title) != 0;
}

int media_title(media_t *m, char *buf, size_t len)
{
    snprintf(buf, len, "%s", m->title);
    /* Cut short, a title must not end inside a character. */
    size_t n = strlen(buf), lead = n;
    while (lead > 0 && ((unsigned char)buf[lead - 1] & 0xc0) == 0x80)
        lead--;
    if (lead > 0 && (unsigned char)buf[lead - 1] >= 0xc0) {
        unsigned char c = (unsigned char)buf[lead - 1];
        size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        if (n - (lead - 1) < need) buf[lead - 1] = '\0';
    }
    int changed = strcmp(m->said, m->title) != 0;
    memcpy(m->said, m->title, sizeof m->said);
    return changed;
}

/* ---- opening ---- */

static int open_decoder(media_t *m, char *err, size_t err_len)
{
    const AVCodec *codec = NULL;
    m->stream = av_find_best_stream(m->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
    if (m->stream < 0 || !codec) {
        const AVStream *other = m->fmt->nb_streams ? m->fmt->streams[0] : NULL;
        snprintf(err, err_len, "%s: no audio in it (%s%s%s)", m->url,
                 other ? av_get_media_type_string(other->codecpar->codec_type) : "no streams",
                 other ? ": " : "", other ? avcodec_get_name(other->codecpar->codec_id) : "");
        return -1;
    }
    m->dec = avcodec_alloc_context3(codec);
    int e = m->dec ? avcodec_parameters_to_context(m->dec, m->fmt->streams[m->stream]->codecpar)
                   : AVERROR(ENOMEM);
    if (!e) e = avcodec_open2(m->dec, codec, NULL);
    if (e < 0) {
        say_averror(err, err_len, m->url, e);
        return -1;
    }
    unsigned ch = (unsigned)m->dec->ch_layout.nb_channels;
    m->channels = m->opt.max_channels && ch > m->opt.max_channels ? m->opt.max_channels : ch;
    m->rate = m->dec->sample_rate;
    if (m->channels < 1 || m->rate < 1) {
        snprintf(err, err_len, "%s: no audio in it (%u channels at %g Hz)", m->url, ch, m->rate);
        return -1;
    }
    return 0;
}

static int open_format(media_t *m, char *err, size_t err_len)
{
    m->fmt = avformat_alloc_context();
    if (!m->fmt) {
        snprintf(err, err_len, "%s: out of memory", m->url);
        return -1;
    }
    m->fmt->interrupt_callback = (AVIOInterruptCB){on_interrupt, m};
    /* A live stream has no end to measure: one second is plenty to learn
     * the codec, and opening 300 stations should not take 5 s each. */
    m->fmt->max_analyze_duration = AV_TIME_BASE;
    AVDictionary *o = NULL;
    av_dict_set(&o, "user_agent", "genred", 0);
    av_dict_set(&o, "icy", "1", 0);
    int e = avformat_open_input(&m->fmt, m->url, NULL, &o);
    av_dict_free(&o);
    if (e >= 0) e = avformat_find_stream_info(m->fmt, NULL);
    if (e < 0) {
        say_averror(err, err_len, m->url, e);
        return -1;
    }
    return 0;
}

media_t *media_open(const char *url, const media_options *opt, char *err, size_t err_len)
{
    pthread_once(&ffmpeg_once, ffmpeg_init);
    media_t *m = calloc(1, sizeof *m);
    if (!m || !(m->url = strdup(url)) || !(m->pkt = av_packet_alloc()) ||
        !(m->frame = av_frame_alloc())) {
        snprintf(err, err_len, "%s: out of memory", url);
        media_close(m);
        return NULL;
    }
    if (opt) m->opt = *opt;
    if (open_format(m, err, err_len) || open_decoder(m, err, err_len)) {
        media_close(m);
        return NULL;
    }
    current_title(m, m->title, sizeof m->title);
    return m;
}

void media_close(media_t *m)
{
    if (!m) return;
    swr_free(&m->swr);
    av_channel_layout_uninit(&m->swr_in);
    avcodec_free_context(&m->dec);
    avformat_close_input(&m->fmt);
    av_packet_free(&m->pkt);
    av_frame_free(&m->frame);
    free(m->buf);
    free(m->url);
    free(m);
}

double media_rate(const media_t *m)
{
    return m->rate;
}

unsigned media_channels(const media_t *m)
{
    return m->channels;
}

int64_t media_frames(const media_t *m)
{
    if (m->fmt->duration == AV_NOPTS_VALUE || m->fmt->duration <= 0) return -1;
    return (int64_t)((double)m->fmt->duration / AV_TIME_BASE * m->rate + 0.5);
}

void media_describe(const media_t *m, char *buf, size_t len)
{
    snprintf(buf, len, "%s, %.0f Hz, %u channel%s", avcodec_get_name(m->dec->codec_id), m->rate,
             m->channels, m->channels == 1 ? "" : "s");
}

/* ---- decoding ---- */

/* (Re)configures the converter for a frame's format: the output stays at
 * the rate and channels the stream opened with, so a stream that changes
 * format midway (a chained Ogg, an HLS variant) reads on unchanged. The
 * frame is not const because FFmpeg 5.1's swr_alloc_set_opts2 wants a
 * mutable layout. */
static int setup_converter(media_t *m, AVFrame *f)
{
    if (m->swr && f->sample_rate == m->swr_in_rate && f->format == m->swr_in_format &&
        !av_channel_layout_compare(&f->ch_layout, &m->swr_in))
        return 0;
    swr_free(&m->swr);
    av_channel_layout_uninit(&m->swr_in);
    AVChannelLayout out;
    av_channel_layout_default(&out, (int)m->channels);
    int e = swr_alloc_set_opts2(&m->swr, &out, AV_SAMPLE_FMT_FLT, (int)m->rate, &f->ch_layout,
                                f->format, f->sample_rate, 0, NULL);
    av_channel_layout_uninit(&out);
    if (e >= 0) e = swr_init(m->swr);
    if (e >= 0) e = av_channel_layout_copy(&m->swr_in, &f->ch_layout);
    m->swr_in_rate = f->sample_rate;
    m->swr_in_format = f->format;
    return e;
}

/* Converts a decoded frame (or, with f NULL, what the converter still
 * holds) into buf. */
static int convert(media_t *m, AVFrame *f)
{
    m->have = m->pos = 0;
    if (f && setup_converter(m, f) < 0) return AVERROR(EINVAL);
    if (!m->swr) return 0;
    int want = swr_get_out_samples(m->swr, f ? f->nb_samples : 0);
    if (want <= 0) return 0;
    if ((size_t)want > m->cap) {
        float *grown = realloc(m->buf, sizeof *grown * (size_t)want * m->channels);
        if (!grown) return AVERROR(ENOMEM);
        m->buf = grown;
        m->cap = (size_t)want;
    }
    uint8_t *out = (uint8_t *)m->buf;
    int got = swr_convert(m->swr, &out, want, f ? (const uint8_t **)f->extended_data : NULL,
                          f ? f->nb_samples : 0);
    if (got < 0) return got;
    m->have = (size_t)got;
    return 0;
}

/* Reads the next packet of our stream into pkt. 0, AVERROR_EOF, or an
 * error. Sets *changed when the title changed with it. */
static int read_packet(media_t *m, int *changed)
{
    for (;;) {
        int e = av_read_frame(m->fmt, m->pkt);
        if (e < 0) return e;
        *changed |= title_changed(m);
        if (m->pkt->stream_index == m->stream) return 0;
        av_packet_unref(m->pkt);
    }
}

/* Refills buf: 1 with frames in it, 0 at the end, 2 when a title change
 * comes first (the packet is held until the next call), or an AVERROR. */
static int refill(media_t *m, int may_break)
{
    for (;;) {
        int e = avcodec_receive_frame(m->dec, m->frame);
        if (e == 0) {
            e = convert(m, m->frame);
            av_frame_unref(m->frame);
            if (e < 0) return e;
            if (m->have) return 1;
            continue;
        }
        if (e == AVERROR_EOF) return convert(m, NULL) < 0 ? 0 : m->have > 0;
        if (e != AVERROR(EAGAIN)) return e;
        if (!m->held) {
            int changed = 0;
            e = read_packet(m, &changed);
            if (e == AVERROR_EOF) {
                avcodec_send_packet(m->dec, NULL);
                continue;
            }
            if (e < 0) return e;
            m->held = 1;
            if (changed && may_break) return 2;
            if (changed) memcpy(m->title, m->next, sizeof m->title);
        }
        /* A damaged packet (a network glitch) is skipped, not fatal. */
        avcodec_send_packet(m->dec, m->pkt);
        av_packet_unref(m->pkt);
        m->held = 0;
    }
}

long media_read(media_t *m, float *out, size_t frames, char *err, size_t err_len)
{
    if (m->next_pending) {
        memcpy(m->title, m->next, sizeof m->title);
        m->next_pending = 0;
    }
    size_t done = 0;
    while (done < frames) {
        if (m->pos < m->have) {
            size_t n = m->have - m->pos < frames - done ? m->have - m->pos : frames - done;
            memcpy(out + done * m->channels, m->buf + m->pos * m->channels,
                   sizeof *out * n * m->channels);
            m->pos += n;
            done += n;
            continue;
        }
        int r = refill(m, done > 0);
        if (r == 2) {
            m->next_pending = 1; /* the frames so far keep the old title */
            break;
        }
        if (r == 0) break;
        if (r < 0) {
            say_averror(err, err_len, m->url, r);
            return -1;
        }
    }
    return (long)done;
}
