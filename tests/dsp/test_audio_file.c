/* audio_file: reads back a WAV written here with libsndfile; clear
 * "PATH: reason" errors on missing and garbage files. */
#include "audio_file.h"
#include "check.h"

#include <sndfile.h>
#include <string.h>
#include <unistd.h>

static void temp_path(char *buf, size_t len, const char *name)
{
    const char *dir = getenv("TMPDIR");
    snprintf(buf, len, "%s/genred_test_audio_%d_%s", dir ? dir : "/tmp", (int)getpid(), name);
}

static void test_roundtrip(int format, const char *name)
{
    char path[512], err[512];
    temp_path(path, sizeof path, name);
    SF_INFO info = {.samplerate = 44100, .channels = 2, .format = format};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    REQUIRE(sf);
    enum { N = 10000 };
    static float x[2 * N], y[2 * (N + 777)];
    for (int i = 0; i < 2 * N; i++)
        x[i] = (float)(0.5 * sin(0.01 * i) * (i % 2 ? -1 : 1));
    REQUIRE(sf_writef_float(sf, x, N) == N);
    sf_close(sf);

    audio_file_t *f = audio_file_open(path, err, sizeof err);
    if (!f) fprintf(stderr, "%s\n", err);
    REQUIRE(f);
    CHECK(audio_file_rate(f) == 44100.0);
    CHECK(audio_file_channels(f) == 2);
    CHECK(audio_file_frames(f) == N);
    long total = 0, got;
    while ((got = audio_file_read(f, y + 2 * total, 777, err, sizeof err)) > 0)
        total += got;
    CHECK(got == 0);
    CHECK(total == N);
    double worst = 0;
    /* Not fmax(): gcc 12.2's aarch64 vectoriser crashes on that reduction
     * here (internal compiler error in vect_transform_reduction). */
    for (int i = 0; i < 2 * N; i++) {
        double d = fabs((double)x[i] - y[i]);
        if (d > worst) worst = d;
    }
    CHECK(worst < 2.0 / 32768); /* 16-bit quantisation */
    audio_file_close(f);
    unlink(path);
}

static void test_errors(void)
{
    char path[512], err[512] = "";
    temp_path(path, sizeof path, "missing.wav");
    CHECK(audio_file_open(path, err, sizeof err) == NULL);
    printf("missing: %s\n", err);
    CHECK(strncmp(err, path, strlen(path)) == 0 && err[strlen(path)] == ':');

    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    CHECK(audio_file_open(dir, err, sizeof err) == NULL);
    printf("directory: %s\n", err);
    CHECK(strncmp(err, dir, strlen(dir)) == 0 && strstr(err, "directory"));

    temp_path(path, sizeof path, "garbage.wav");
    FILE *g = fopen(path, "wb");
    REQUIRE(g);
    for (int i = 0; i < 5000; i++)
        fputc((i * 7919) & 0xff, g);
    fclose(g);
    err[0] = 0;
    CHECK(audio_file_open(path, err, sizeof err) == NULL);
    printf("garbage: %s\n", err);
    CHECK(strncmp(err, path, strlen(path)) == 0 && strstr(err, ": codec not supported (") &&
          strstr(err, "`genred --input stdin:`"));
    unlink(path);

    /* A text file renamed .wav, or an HTML error page saved as .mp3: "not an
     * audio file", not "codec not supported" or a decoder's guesses. */
    const char *texts[][2] = {{"notes.wav", "track 1\tintro\r\ntrack 2\tverse\n"},
                              {"page.mp3", "<!DOCTYPE html><html><body>Not found</body></html>\n"}};
    for (int t = 0; t < 2; t++) {
        temp_path(path, sizeof path, texts[t][0]);
        g = fopen(path, "wb");
        REQUIRE(g);
        fputs(texts[t][1], g);
        fclose(g);
        CHECK(audio_file_open(path, err, sizeof err) == NULL);
        printf("text: %s\n", err);
        CHECK(strncmp(err, path, strlen(path)) == 0 &&
              !strcmp(err + strlen(path), ": not an audio file (it holds text)"));
        unlink(path);
    }

    /* A 0-byte file says so, not "Format not recognised". */
    temp_path(path, sizeof path, "empty.m4a");
    g = fopen(path, "wb");
    REQUIRE(g);
    fclose(g);
    CHECK(audio_file_open(path, err, sizeof err) == NULL);
    printf("empty: %s\n", err);
    CHECK(strncmp(err, path, strlen(path)) == 0 && !strcmp(err + strlen(path), ": empty file"));
    unlink(path);

    /* An MPEG-4 container (what .m4a files are): libsndfile has no codec. */
    temp_path(path, sizeof path, "song.m4a");
    g = fopen(path, "wb");
    REQUIRE(g);
    fwrite("\0\0\0\x20"
           "ftypM4A \0\0\0\0M4A mp42isom\0\0\0\0",
           1, 32, g);
    for (int i = 0; i < 4000; i++)
        fputc((i * 31) & 0xff, g);
    fclose(g);
    CHECK(audio_file_open(path, err, sizeof err) == NULL);
    printf("m4a: %s\n", err);
    CHECK(strstr(err, ": codec not supported (") != NULL);
    unlink(path);

    /* A truncated WAV header is an error too, not a crash. */
    temp_path(path, sizeof path, "truncated.wav");
    g = fopen(path, "wb");
    fputs("RIFF\x24\x00\x00\x00WAVEfmt ", g);
    fclose(g);
    CHECK(audio_file_open(path, err, sizeof err) == NULL);
    CHECK(strncmp(err, path, strlen(path)) == 0);
    unlink(path);
}

int main(void)
{
    test_roundtrip(SF_FORMAT_WAV | SF_FORMAT_PCM_16, "rt.wav");
    test_roundtrip(SF_FORMAT_FLAC | SF_FORMAT_PCM_16, "rt.flac");
    test_errors();
    return check_report("test_audio_file");
}
