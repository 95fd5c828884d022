/* classify (genre-classify's per-file work, streamed in blocks) against the
 * whole-file path it replaced: decode everything, compute every MFCC frame
 * (dataset_features_compute), then every window (eval_clip). The window and
 * clip probabilities must be identical bit for bit, for hops that do and do
 * not divide the window, several rates and channel counts, and a clip
 * shorter than a window. A FLAC cut short is classified on what decodes,
 * with a warning; under 1 s of audio is an error naming the file. */
#include "check.h"
#include "classify.h"
#include "evaluate.h"

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

/* Music-like enough to move the model: two drifting partials and noise. */
static void write_audio(const char *name, double seconds, int rate, int channels, int format)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    SF_INFO info = {.samplerate = rate, .channels = channels, .format = format};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    REQUIRE(f);
    unsigned seed = 1;
    long n = lround(seconds * rate);
    for (long i = 0; i < n; i++) {
        float x[8];
        double t = (double)i / rate;
        for (int c = 0; c < channels; c++) {
            seed = seed * 1103515245u + 12345u;
            x[c] = (float)(0.3 * sin(2 * M_PI * (220 + 40 * c) * t * (1 + 0.1 * sin(t))) +
                           0.1 * sin(2 * M_PI * 3 * t) * sin(2 * M_PI * 1800 * t) +
                           0.02 * ((double)(seed >> 16) / 32768.0 - 1));
        }
        sf_writef_float(f, x, 1);
    }
    sf_close(f);
}

static void same_as_whole_file(const model_t *m, const char *name, double hop)
{
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    mfcc_params p = eval_model_params(m);
    eval_geometry g = eval_geometry_for(&p, m->frontend.window_seconds, hop);
    classifier_t *cl = classifier_create(m, g.window_frames, err, sizeof err);
    REQUIRE(cl);
    dataset_features f;
    REQUIRE(dataset_features_compute(path, &p, -1000, NULL, &f, err, sizeof err) == 0);
    unsigned length, count = eval_window_count(&g, f.n_frames, &length);
    REQUIRE(count > 0);
    float *wp = malloc((size_t)count * m->n_labels * sizeof *wp), clip[MODEL_MAX_LABELS];
    REQUIRE(wp && eval_clip(cl, &g, &f, wp, clip) == count);

    classify_t *c = classify_create(m, hop, err, sizeof err);
    REQUIRE(c);
    classify_result r;
    CHECK(classify_file(c, path, &r, err, sizeof err) == 0);
    fprintf(stderr, "%s, hop %g: %u windows (whole file %u)\n", name, hop, r.n_windows, count);
    CHECK(r.n_windows == count);
    if (r.n_windows == count) {
        CHECK(!memcmp(r.window_probs, wp, (size_t)count * m->n_labels * sizeof *wp));
        CHECK(!memcmp(r.probs, clip, m->n_labels * sizeof *clip));
        CHECK(r.top == metrics_argmax(clip, m->n_labels));
        for (unsigned w = 0; w < count; w++)
            CHECK(classify_window_start(c, w) ==
                  (double)eval_window_start(&g, w) * p.hop / p.sample_rate);
    }
    /* A short clip is one window, and says so. */
    CHECK((length < g.window_frames) == (strstr(r.warning, "shorter than the 3 s window") != NULL));
    classify_destroy(c);
    free(wp);
    dataset_features_free(&f);
    classifier_destroy(cl);
}

static void truncated_flac(const model_t *m)
{
    char path[256], err[512];
    write_audio("cut.flac", 20, 44100, 2, SF_FORMAT_FLAC | SF_FORMAT_PCM_16);
    snprintf(path, sizeof path, "%s/cut.flac", dir);
    FILE *f = fopen(path, "r+b");
    REQUIRE(f && fseek(f, 0, SEEK_END) == 0);
    long size = ftell(f);
    fclose(f);
    REQUIRE(truncate(path, size / 2) == 0);
    classify_t *c = classify_create(m, 0.5, err, sizeof err);
    REQUIRE(c);
    classify_result r;
    int rc = classify_file(c, path, &r, err, sizeof err);
    fprintf(stderr, "cut.flac: rc %d, %.2f s, %u windows, warning '%s', err '%s'\n", rc, r.seconds,
            r.n_windows, r.warning, rc ? err : "");
    CHECK(rc == 0);
    CHECK(r.seconds > 5 && r.seconds < 15);
    CHECK(r.n_windows > 5);
    /* libsndfile reports the cut as a decode error ("lost sync"): what
     * decoded is classified, and the error becomes a warning. */
    CHECK(strstr(r.warning, "decoding stopped after") && !strstr(r.warning, path));

    /* Exactly 1 s at 44.1 kHz: the resampler's delay leaves one frame short
     * of 1 s at the model rate, which the whole-file path refused as
     * "shorter than 1 s" (issue 17.2). */
    write_audio("exact1.wav", 1.0, 44100, 2, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    snprintf(path, sizeof path, "%s/exact1.wav", dir);
    rc = classify_file(c, path, &r, err, sizeof err);
    CHECK(rc == 0 && r.n_windows == 1 && r.seconds == 1.0);
    CHECK(strstr(r.warning, "1.00 s of audio is shorter than the 3 s window") != NULL);

    write_audio("half.wav", 0.6, 44100, 2, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    snprintf(path, sizeof path, "%s/half.wav", dir);
    CHECK(classify_file(c, path, &r, err, sizeof err) == -1);
    CHECK(strstr(err, "half.wav: 0.60 s of audio, under the 1 s minimum") != NULL);
    classify_destroy(c);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/genred-classify-XXXXXX");
    REQUIRE(mkdtemp(dir));
    char err[512];
    model_t *m = model_load_default(err, sizeof err);
    REQUIRE(m);
    write_audio("stereo44.wav", 20, 44100, 2, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    write_audio("mono22.flac", 7.3, 22050, 1, SF_FORMAT_FLAC | SF_FORMAT_PCM_16);
    write_audio("three48.wav", 9, 48000, 3, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
    write_audio("short.wav", 1.7, 44100, 2, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    same_as_whole_file(m, "stereo44.wav", 0.5);
    same_as_whole_file(m, "stereo44.wav", 0.37);
    same_as_whole_file(m, "stereo44.wav", 4.0);
    same_as_whole_file(m, "mono22.flac", 0.5);
    same_as_whole_file(m, "three48.wav", 0.25);
    same_as_whole_file(m, "short.wav", 0.5);
    truncated_flac(m);
    model_destroy(m);
    dataset_thread_release();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return check_report("test_classify");
}
