/* Bad input to genre-train, genre-eval and genre-classify: each case must
 * end with a non-zero status (never a signal) and a one-line error naming
 * the culprit, and genre-train must fail before computing any feature. */
#include "check.h"

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char dir[64], bin[1024];

static void write_text(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fputs(text, f);
    fclose(f);
}

static void write_wav(const char *name, double seconds)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    SF_INFO info = {.samplerate = 22050, .channels = 2, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    REQUIRE(f);
    for (long i = 0; i < (long)(seconds * 22050); i++) {
        float x[2] = {(float)(0.3 * sin(i * 0.05)), (float)(0.2 * sin(i * 0.031))};
        sf_writef_float(f, x, 1);
    }
    sf_close(f);
}

/* Runs `args` (relative paths are in dir) through sh; expects a failure with
 * status want (0: any non-zero) and `needle` in stderr. Returns stdout+stderr
 * text for further checks in a static buffer. */
static const char *expect_failure(const char *tool, const char *args, int want, const char *needle)
{
    static char text[16384];
    char cmd[4096], err_path[512];
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    snprintf(cmd, sizeof cmd, "cd %s && %s%s/%s %s > stdout.txt 2> stderr.txt", dir, run_prefix(),
             bin, tool, args);
    int status = system(cmd);
    REQUIRE(status != -1);
    FILE *f = fopen(err_path, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[n] = 0;
    if (f) fclose(f);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    int ok = code > 0 && code < 126 && (!want || code == want) && strstr(text, needle) != NULL;
    if (!ok)
        fprintf(stderr, "FAILED: %s %s\n  status %d, wanted %d and '%s' in stderr:\n%s\n", tool,
                args, code, want, needle, text);
    CHECK(ok);
    return text;
}

#define TRAIN_ARGS(train, valid, out)                                                              \
    "--root audio --train " train " --valid " valid " --out " out " --threads 1"

int main(void)
{
    const char *build = getenv("GENRED_BUILD_DIR");
    REQUIRE(build);
    snprintf(bin, sizeof bin, "%s/bin", build);
    snprintf(dir, sizeof dir, "/tmp/genred-errors-XXXXXX");
    REQUIRE(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof path, "%s/audio", dir);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/out", dir);
    mkdir(path, 0777);
    write_text("train.txt", "rock/rock.1.wav\n# comment\n\njazz/jazz.1.wav\n");
    write_text("valid.txt", "rock/rock.2.wav\njazz/jazz.2.wav\n");
    write_text("valid_polka.txt", "rock/rock.2.wav\npolka/polka.1.wav\n");
    write_text("empty.txt", "\n# nothing\n");
    write_text("noslash.txt", "rock/rock.1.wav\nrock.2.wav\n");
    write_text("absolute.txt", "/etc/passwd\n");
    write_text("dotdot.txt", "rock/../../etc/passwd\n");
    write_text("afile", "not a folder\n");
    write_text("garbage.wav", "this is not audio at all\n");
    write_text("garbage.gmdl", "GENRED?? not a model\n");
    write_wav("good.wav", 4.0);
    write_wav("short.wav", 0.5);
    snprintf(path, sizeof path, "%s/audio/rock", dir);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/audio/jazz", dir);
    mkdir(path, 0777);
    write_wav("audio/rock/ok.wav", 2.0);
    write_wav("audio/jazz/ok.wav", 2.0);
    write_text("lost_label.txt", "rock/ok.wav\njazz/ok.wav\nmetal/gone.wav\n");

    /* genre-train: everything is checked before any work. */
    const char *t;
    t = expect_failure("genre-train",
                       "--root nowhere --train train.txt --valid valid.txt --out out/m", 2,
                       "nowhere");
    CHECK(!strstr(t, "features"));
    expect_failure("genre-train", TRAIN_ARGS("missing.txt", "valid.txt", "out/m"), 2,
                   "missing.txt: cannot open list");
    expect_failure("genre-train", TRAIN_ARGS("empty.txt", "valid.txt", "out/m"), 2,
                   "empty.txt: list is empty");
    expect_failure("genre-train", TRAIN_ARGS("noslash.txt", "valid.txt", "out/m"), 2,
                   "noslash.txt:2: no label folder");
    expect_failure("genre-train", TRAIN_ARGS("absolute.txt", "valid.txt", "out/m"), 2,
                   "absolute.txt:1: absolute path");
    expect_failure("genre-train", TRAIN_ARGS("dotdot.txt", "valid.txt", "out/m"), 2,
                   "dotdot.txt:1: '..'");
    t = expect_failure("genre-train", TRAIN_ARGS("train.txt", "valid_polka.txt", "out/m"), 2,
                       "label 'polka'");
    CHECK(!strstr(t, "features") && !strstr(t, "skipping"));
    t = expect_failure("genre-train", TRAIN_ARGS("train.txt", "valid.txt", "afile/model.gmdl"), 2,
                       "afile/model.gmdl");
    CHECK(!strstr(t, "features") && !strstr(t, "skipping"));
    expect_failure("genre-train", TRAIN_ARGS("train.txt", "valid.txt", "out"), 2, "out");
    expect_failure("genre-train", TRAIN_ARGS("train.txt", "valid.txt", "out/m") " --epochs x", 2,
                   "--epochs: 'x'");
    expect_failure("genre-train", TRAIN_ARGS("train.txt", "valid.txt", "out/m") " --pool max", 2,
                   "--pool: 'max'");
    expect_failure("genre-train", TRAIN_ARGS("train.txt", "valid.txt", "out/m") " --qat-epochs 5x",
                   2, "--qat-epochs: '5x'");
    expect_failure("genre-train", TRAIN_ARGS("train.txt", "valid.txt", "out/m") " --train-extra x",
                   2, "ROOT:LIST");
    expect_failure("genre-train", "--root audio --train train.txt", 2, "required");
    expect_failure("genre-train", "--data audio:train.txt --out out/m", 2, "no validation data");
    expect_failure("genre-train", "--data audio:train.txt --fold 1/4 --out out/m", 2,
                   "--fold needs --groups");
    expect_failure("genre-train", "--data audio:train.txt --groups g.tsv --fold 4/4 --out out/m", 2,
                   "--fold: '4/4'");
    expect_failure("genre-train", "--data audio --valid-data audio:valid.txt --out out/m", 2,
                   "--data: expected [NAME=]ROOT:LIST");
    expect_failure("genre-train",
                   "--data audio:train.txt --groups nothere.tsv --fold 0/2 --out out/m", 2,
                   "nothere.tsv: cannot open group file");
    /* The error names the flag the user gave, not a derived one. */
    expect_failure("genre-train", TRAIN_ARGS("train.txt", "valid.txt", "/proc/x.gmdl"), 2,
                   "--out (its report folder)");
    expect_failure("genre-train", TRAIN_ARGS("train.txt", "valid.txt", "out/m") " --bogus", 2,
                   "--bogus");
    /* Clips that do not decode are skipped with a warning naming them; with
     * none left, a clear error. */
    expect_failure("genre-train", TRAIN_ARGS("train.txt", "valid.txt", "out/m") " --cache none", 2,
                   "rock/rock.1.wav");

    write_text("bad.tsv", "file\tgroup\nrock/ok.wav no tab here\n");
    expect_failure("genre-train", "--data audio:train.txt --groups bad.tsv --fold 0/2 --out out/m",
                   2, "bad.tsv:2: expected FILE<TAB>GROUP");
    /* A label whose only clip is missing is refused, not trained on nothing. */
    expect_failure("genre-train", TRAIN_ARGS("lost_label.txt", "valid.txt", "out/m"), 2,
                   "label 'metal' has no usable training clip");

    /* genre-eval */
    expect_failure("genre-eval", "--model garbage.gmdl --root audio --list valid.txt", 2,
                   "garbage.gmdl");
    expect_failure("genre-eval", "--model nothere.gmdl --root audio --list valid.txt", 2,
                   "nothere.gmdl");
    expect_failure("genre-eval", "--root nowhere --list valid.txt", 2, "nowhere");
    expect_failure("genre-eval", "--root audio --list valid_polka.txt", 2, "label 'polka'");
    expect_failure("genre-eval", "--root audio --list noslash.txt", 2, "noslash.txt:2:");
    expect_failure("genre-eval", "--root audio", 2, "--list");
    expect_failure("genre-eval", "--root audio --list valid.txt --hop -1", 2, "--hop");
    expect_failure("genre-eval", "--data audio", 2, "--data: expected [NAME=]ROOT:LIST");
    expect_failure("genre-eval", "--data audio:valid.txt --fold 0/2", 2, "--fold needs --groups");
    expect_failure("genre-eval", "--data audio:valid.txt --events --segment 1", 2, "--segment");
    expect_failure("genre-eval", "--data audio:valid.txt --lowpass x", 2, "--lowpass: 'x'");
    expect_failure("genre-eval", "--data audio:valid.txt --events --change-decoder viterbi", 2,
                   "--change-decoder: expected hold or hmm, not 'viterbi'");
    expect_failure("genre-eval", "--data audio:valid.txt --events --hmm-exponent 2", 2,
                   "--hmm-exponent");

    /* genre-classify: a bad file is reported and skipped, the rest classified. */
    t = expect_failure("genre-classify", "nothere.wav good.wav garbage.wav", 1, "nothere.wav");
    CHECK(strstr(t, "garbage.wav") != NULL);
    snprintf(path, sizeof path, "%s/stdout.txt", dir);
    FILE *f = fopen(path, "r");
    char line[4096] = "";
    REQUIRE(f);
    CHECK(fgets(line, sizeof line, f) && !strncmp(line, "good.wav: ", 10));
    fclose(f);
    expect_failure("genre-classify", "short.wav", 1,
                   "short.wav: 0.50 s of audio, under the 1 s minimum");
    expect_failure("genre-classify", "", 2, "no audio files");
    expect_failure("genre-classify", "--hop 0 good.wav", 2, "--hop");
    expect_failure("genre-classify", "--model garbage.gmdl good.wav", 2, "garbage.gmdl");

    snprintf(path, sizeof path, "rm -rf %s", dir);
    CHECK(system(path) == 0);
    return check_report("test_tools_errors");
}
