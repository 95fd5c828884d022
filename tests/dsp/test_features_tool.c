/* genre-features, run as a program: its output for the committed music
 * excerpt matches the torchaudio reference; --model's front-end is honoured;
 * usage errors exit 2 and runtime errors 1, with a one-line reason. */
#include "check.h"
#include "model.h"
#include "signals.h"

#include <sndfile.h>
#include <sys/wait.h>
#include <unistd.h>

static char tool[4096];

/* Coefficients per output line when the model keeps more than the
 * reference (0: as many as the reference). The first ones of an orthonormal
 * DCT-II do not depend on how many are kept, so the reference is a prefix. */
static unsigned line_coeffs;

/* Runs the tool; compares its lines with the reference (if any) and returns
 * the exit status. */
static int run(const char *args, const reference *ref, const char *what)
{
    char cmd[16384], line[8192];
    snprintf(cmd, sizeof cmd, "%s'%s' %s 2>/dev/null", run_prefix(), tool, args);
    FILE *p = popen(cmd, "r");
    REQUIRE(p);
    size_t frames = 0;
    double worst = 0.0;
    while (fgets(line, sizeof line, p)) {
        if (!ref) continue;
        unsigned n = 0;
        char *s = line, *end;
        for (;; n++) {
            double v = strtod(s, &end);
            if (end == s) break;
            if (frames < ref->frames && n < ref->coeffs)
                worst = fmax(worst, fabs(v - ref->values[frames * ref->coeffs + n]));
            s = end;
        }
        CHECK(n == (line_coeffs ? line_coeffs : ref->coeffs));
        frames++;
    }
    int status = pclose(p);
    if (ref) {
        printf("%s: %zu frames, worst |diff| %.2e\n", what, frames, worst);
        CHECK(frames == ref->frames);
        CHECK(worst <= 2e-3);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void write_noise_wav(const char *path)
{
    size_t n = 3 * SIGNAL_RATE;
    float *x = signal_noise(n);
    SF_INFO info = {
        .samplerate = SIGNAL_RATE, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    REQUIRE(sf);
    REQUIRE(sf_writef_float(sf, x, (sf_count_t)n) == (sf_count_t)n);
    sf_close(sf);
    free(x);
}

static void write_alt_model(const char *path)
{
    char err[512];
    frontend_params fe = {.mfcc = {.sample_rate = SIGNAL_RATE,
                                   .n_fft = 1024,
                                   .hop = 256,
                                   .n_mels = 40,
                                   .n_coeffs = 20,
                                   .fmin = 30.0,
                                   .fmax = 8000.0},
                          .window_seconds = 3.0};
    model_t *m = model_create(&fe, 1, 4, 2, MODEL_POOL_LAST, 0, err, sizeof err);
    if (!m) fprintf(stderr, "%s\n", err);
    REQUIRE(m);
    snprintf(m->labels[0], sizeof m->labels[0], "a");
    snprintf(m->labels[1], sizeof m->labels[1], "b");
    if (model_save(m, path, err, sizeof err)) fprintf(stderr, "%s\n", err);
    model_destroy(m);
}

int main(void)
{
    const char *build = getenv("GENRED_BUILD_DIR");
    snprintf(tool, sizeof tool, "%s/bin/genre-features", build ? build : ".");
    char music[2048], args[8192], wav[512], model[512];
    source_path(music, sizeof music, "tests/data/music_excerpt.wav");

    reference ref = reference_load("tests/data/mfcc_ref_music.txt");
    char err[256];
    model_t *def = model_load_default(err, sizeof err);
    REQUIRE(def);
    line_coeffs = def->frontend.mfcc.n_coeffs;
    CHECK(line_coeffs >= ref.coeffs);
    model_destroy(def);
    snprintf(args, sizeof args, "'%s'", music);
    CHECK(run(args, &ref, "music, default model") == 0);
    line_coeffs = 0;
    reference_free(&ref);

    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(wav, sizeof wav, "%s/genred_features_%d.wav", tmp, (int)getpid());
    snprintf(model, sizeof model, "%s/genred_features_%d.gmdl", tmp, (int)getpid());
    write_noise_wav(wav);
    write_alt_model(model);
    ref = reference_load("tests/data/mfcc_ref_noise_alt.txt");
    snprintf(args, sizeof args, "--model '%s' '%s'", model, wav);
    CHECK(run(args, &ref, "noise, --model with other front-end") == 0);
    reference_free(&ref);

    CHECK(run("", NULL, NULL) == 2);
    CHECK(run("--frobnicate x.wav", NULL, NULL) == 2);
    CHECK(run("--model", NULL, NULL) == 2);
    CHECK(run("a.wav b.wav", NULL, NULL) == 2);
    CHECK(run("--help", NULL, NULL) == 0);
    CHECK(run("/nonexistent/audio.wav", NULL, NULL) == 1);
    snprintf(args, sizeof args, "--model /nonexistent/model.gmdl '%s'", music);
    CHECK(run(args, NULL, NULL) == 1);
    snprintf(args, sizeof args, "--model '%s' '%s'", music, music); /* not a model */
    CHECK(run(args, NULL, NULL) == 1);
    snprintf(args, sizeof args, "'%s'", model); /* not audio */
    CHECK(run(args, NULL, NULL) == 1);

    /* The error names the file. */
    char cmd[8192], line[1024] = "";
    snprintf(cmd, sizeof cmd, "%s'%s' /nonexistent/audio.wav 2>&1", run_prefix(), tool);
    FILE *p = popen(cmd, "r");
    REQUIRE(p && fgets(line, sizeof line, p));
    pclose(p);
    CHECK(strcmp(line, "genre-features: /nonexistent/audio.wav: No such file or directory\n") == 0);

    unlink(wav);
    unlink(model);
    return check_report("test_features_tool");
}
