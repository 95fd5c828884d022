/* genre-features [--model FILE] AUDIO: the MFCC frames genred computes for an
 * audio file, one frame per line, coefficients tab-separated. The front-end
 * (rate, framing, bands) is the model's: FILE's, or the built-in default's.
 * Exit status 2 for bad usage, 1 for runtime errors. */
#include "audio_file.h"
#include "cli.h"
#include "frontend.h"
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 4096 /* frames read per call */

static int usage(FILE *out, int status)
{
    fprintf(out, "usage: genre-features [--model FILE] AUDIO\n"
                 "Prints AUDIO's MFCC frames, one per line, coefficients tab-separated, computed\n"
                 "with the front-end of model FILE (default: the built-in model).\n"
                 "Exit status: 0, 1 when FILE or AUDIO cannot be read, 2 usage error.\n");
    return status;
}

static void print_newest(const frontend_t *fe)
{
    unsigned c = frontend_coeffs(fe);
    uint64_t count = frontend_frame_count(fe);
    unsigned held = frontend_window_full(fe) ? frontend_window_frames(fe) : (unsigned)count;
    const float *row = frontend_window(fe) + (size_t)(held - 1) * c;
    for (unsigned k = 0; k < c; k++)
        printf(k ? "\t%.6f" : "%.6f", row[k]);
    putchar('\n');
}

static int run(const char *model_path, const char *audio_path)
{
    char err[1024];
    model_t *model = model_path ? model_load_file(model_path, err, sizeof err)
                                : model_load_default(err, sizeof err);
    if (!model) {
        fprintf(stderr, "genre-features: %s\n", err);
        return 1;
    }
    audio_file_t *in = audio_file_open(audio_path, err, sizeof err);
    if (!in) {
        fprintf(stderr, "genre-features: %s\n", err);
        model_destroy(model);
        return 1;
    }
    unsigned channels = audio_file_channels(in);
    frontend_t *fe = model_frontend_create(model, audio_file_rate(in), channels, err, sizeof err);
    float *buf = malloc((size_t)BLOCK * channels * sizeof *buf);
    int status = 1;
    if (!fe) {
        fprintf(stderr, "genre-features: %s: %s\n", audio_path, err);
        goto done;
    }
    if (!buf) {
        fprintf(stderr, "genre-features: out of memory\n");
        goto done;
    }
    long got;
    while ((got = audio_file_read(in, buf, BLOCK, err, sizeof err)) > 0) {
        const float *x = buf;
        size_t left = (size_t)got;
        while (left) {
            size_t used;
            if (frontend_process(fe, x, left, &used)) print_newest(fe);
            x += used * channels;
            left -= used;
        }
    }
    if (got < 0) {
        fprintf(stderr, "genre-features: %s\n", err);
        goto done;
    }
    if (frontend_nonfinite_count(fe))
        fprintf(stderr, "genre-features: %s: %llu non-finite samples replaced by 0\n", audio_path,
                (unsigned long long)frontend_nonfinite_count(fe));
    status = fflush(stdout) == 0 ? 0 : 1;
    if (status) fprintf(stderr, "genre-features: cannot write output\n");
done:
    free(buf);
    frontend_destroy(fe);
    audio_file_close(in);
    model_destroy(model);
    return status;
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *audio_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout, 0);
        if (!strcmp(a, "--version")) {
            cli_version("genre-features");
            return 0;
        }
        if (!strcmp(a, "--model")) {
            if (++i == argc) {
                fprintf(stderr, "genre-features: --model needs a FILE\n");
                return usage(stderr, 2);
            }
            model_path = argv[i];
        } else if (!strncmp(a, "--model=", 8)) {
            model_path = a + 8;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "genre-features: unknown option '%s'\n", a);
            return usage(stderr, 2);
        } else if (audio_path) {
            fprintf(stderr, "genre-features: more than one AUDIO ('%s', '%s')\n", audio_path, a);
            return usage(stderr, 2);
        } else {
            audio_path = a;
        }
    }
    if (!audio_path) {
        fprintf(stderr, "genre-features: no AUDIO file given\n");
        return usage(stderr, 2);
    }
    return run(model_path, audio_path);
}
