/* End to end: synthesised "genres" (harmonic tones vs filtered noise vs
 * click trains) written as WAV files, a tiny genre-train run that must learn
 * to separate them, then genre-eval --json and genre-classify --json parsed
 * back with jansson; and a distillation run whose teacher swaps two genres,
 * which the student must follow. */
#include "check.h"

#include <jansson.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const genres[] = {"clicks", "noise", "tones"};
enum { N_GENRES = 3, RATE = 16000 };

static uint64_t rng = 12345;
static double uniform(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static void write_clip(const char *path, int genre, double seconds)
{
    SF_INFO info = {.samplerate = RATE, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    size_t n = (size_t)(seconds * RATE);
    float *x = calloc(n, sizeof *x);
    REQUIRE(x);
    double f0 = 150 + 500 * uniform(), pole = 0.3 + 0.6 * uniform(), y = 0,
           gain = 0.05 + 0.3 * uniform();
    unsigned period = (unsigned)(RATE / (2 + 6 * uniform()));
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / RATE, v = 0;
        if (genre == 2) {
            for (int h = 1; h <= 4; h++)
                v += sin(2 * M_PI * f0 * h * t) / h;
        } else if (genre == 1) {
            v = y = pole * y + (1 - pole) * (2 * uniform() - 1) * 3;
        } else {
            v = (i % period) < 40 ? (2 * uniform() - 1) * 2 : 0;
        }
        x[i] = (float)(gain * v);
    }
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    REQUIRE(f);
    REQUIRE(sf_writef_float(f, x, (sf_count_t)n) == (sf_count_t)n);
    sf_close(f);
    free(x);
}

static void make_split(const char *root, const char *list, int first, int count, double seconds)
{
    char path[1024];
    FILE *l = fopen(list, "w");
    REQUIRE(l);
    for (int g = 0; g < N_GENRES; g++) {
        snprintf(path, sizeof path, "%s/%s", root, genres[g]);
        mkdir(path, 0777);
        for (int i = first; i < first + count; i++) {
            snprintf(path, sizeof path, "%s/%s/%s.%03d.wav", root, genres[g], genres[g], i);
            write_clip(path, g, seconds);
            fprintf(l, "%s/%s.%03d.wav\n", genres[g], genres[g], i);
        }
    }
    fclose(l);
}

/* Runs a shell command, stdout to out_path; returns the exit status. */
static int run(const char *cmd, const char *out_path)
{
    char full[8192];
    snprintf(full, sizeof full, "%s%s > %s", run_prefix(), cmd, out_path);
    int status = system(full);
    REQUIRE(status != -1);
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "killed by signal %d: %s\n", WTERMSIG(status), cmd);
        return 128 + WTERMSIG(status);
    }
    return WEXITSTATUS(status);
}

/* --qat-always ran the fine-tuning and recorded both int8 scores; returns
 * the reported int8 clip balanced accuracy. */
static double check_qat_report(const char *path)
{
    json_error_t e;
    json_t *o = json_load_file(path, 0, &e);
    REQUIRE(o);
    /* Deltas are the default: the model reads 13 coefficients and 13 deltas. */
    CHECK(json_is_true(json_object_get(json_object_get(o, "architecture"), "deltas")));
    json_t *qat = json_object_get(o, "qat");
    CHECK(json_integer_value(json_object_get(qat, "epochs")) == 2);
    double ptq = json_number_value(json_object_get(qat, "ptq_int8_clip_balanced_accuracy"));
    double fine = json_number_value(json_object_get(qat, "qat_int8_clip_balanced_accuracy"));
    int kept = json_is_true(json_object_get(qat, "kept"));
    CHECK(json_is_boolean(json_object_get(qat, "kept")) && kept == (fine > ptq));
    CHECK(fine > 0.5 && ptq >= 0 && ptq <= 1 && fine <= 1);
    json_t *all = json_object_get(json_object_get(o, "valid_int8"), "all");
    json_t *clip = json_object_get(all, "clip");
    double reported = json_number_value(json_object_get(clip, "balanced_accuracy"));
    CHECK(fabs(reported - (kept ? fine : ptq)) < 1e-6);
    json_decref(o);
    return reported;
}

/* Whether the file at path contains text. */
static int count_in_file(const char *path, const char *text);

static int file_contains(const char *path, const char *text)
{
    return count_in_file(path, text) > 0;
}

static int count_in_file(const char *path, const char *text)
{
    static char buf[1 << 16];
    FILE *f = fopen(path, "r");
    REQUIRE(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    int count = 0;
    for (const char *p = buf; (p = strstr(p, text)); p++)
        count++;
    return count;
}

static double check_eval_json(const char *path, const char *model)
{
    json_error_t e;
    json_t *o = json_load_file(path, 0, &e);
    REQUIRE(o);
    CHECK(json_is_string(json_object_get(o, "model")));
    CHECK(json_integer_value(json_object_get(o, "clips")) == N_GENRES * 3);
    CHECK(json_integer_value(json_object_get(o, "windows")) > N_GENRES * 3);
    json_t *labels = json_object_get(o, "labels");
    CHECK(json_array_size(labels) == N_GENRES);
    for (int g = 0; g < N_GENRES; g++)
        CHECK(!strcmp(json_string_value(json_array_get(labels, (size_t)g)), genres[g]));
    double clip = json_number_value(json_object_get(o, "clip_accuracy"));
    double clip_bal = json_number_value(json_object_get(o, "clip_balanced_accuracy"));
    double win = json_number_value(json_object_get(o, "window_accuracy"));
    double win_bal = json_number_value(json_object_get(o, "window_balanced_accuracy"));
    printf("%s: clip accuracy %.3f (balanced %.3f), window %.3f (balanced %.3f)\n", model, clip,
           clip_bal, win, win_bal);
    /* Chance is 1/3; these classes are easy, a working trainer gets them. */
    CHECK(clip >= 0.75);
    CHECK(win >= 0.7);
    CHECK(clip_bal >= 0.75);
    json_t *conf = json_object_get(o, "confusion");
    CHECK(json_array_size(conf) == N_GENRES);
    json_int_t total = 0, diag = 0;
    for (size_t i = 0; i < json_array_size(conf); i++) {
        json_t *row = json_array_get(conf, i);
        CHECK(json_array_size(row) == N_GENRES);
        for (size_t j = 0; j < json_array_size(row); j++) {
            json_int_t v = json_integer_value(json_array_get(row, j));
            total += v;
            if (i == j) diag += v;
        }
    }
    CHECK(total == N_GENRES * 3);
    CHECK_NEAR((double)diag / (double)total, clip, 1e-5);
    json_decref(o);
    return clip_bal;
}

static void check_classify_json(const char *path, const char *root)
{
    FILE *f = fopen(path, "r");
    REQUIRE(f);
    char line[1 << 16];
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        json_error_t e;
        json_t *o = json_loads(line, 0, &e);
        REQUIRE(o);
        const char *file = json_string_value(json_object_get(o, "file"));
        CHECK(file && !strncmp(file, root, strlen(root)));
        const char *top = json_string_value(json_object_get(o, "top"));
        json_t *probs = json_object_get(o, "probs"), *windows = json_object_get(o, "windows");
        CHECK(json_array_size(json_object_get(o, "labels")) == N_GENRES);
        CHECK(json_array_size(probs) == N_GENRES);
        double sum = 0;
        for (size_t k = 0; k < json_array_size(probs); k++)
            sum += json_number_value(json_array_get(probs, k));
        CHECK_NEAR(sum, 1.0, 1e-4);
        /* 4 s clips (169 frames), 3 s windows (126), hop 0.25 s: genred's rule
         * starts windows at the first frame at or past 0, 0.25, 0.5, 0.75 s;
         * the one due at 1.0 s would start at frame 44 (1.02 s) and not fit. */
        CHECK(json_array_size(windows) == 4);
        for (size_t w = 0; w < json_array_size(windows); w++) {
            double start = json_number_value(json_object_get(json_array_get(windows, w), "start"));
            CHECK(fabs(start - 0.25 * (double)w) < 0.02);
            CHECK(json_array_size(json_object_get(json_array_get(windows, w), "probs")) ==
                  N_GENRES);
        }
        /* The file's folder is its genre. */
        CHECK(top && file && strstr(file, top));
        json_decref(o);
        lines++;
    }
    fclose(f);
    CHECK(lines == N_GENRES);
}

/* A teacher file for every training clip that calls noise "tones" and
 * tones "noise" (labels in the model's sorted order: clicks, noise, tones). */
static void write_swapped_teacher(const char *soft, const char *list)
{
    char path[1024], line[256];
    FILE *l = fopen(list, "r");
    REQUIRE(l);
    for (int g = 0; g < N_GENRES; g++) {
        snprintf(path, sizeof path, "%s/%s", soft, genres[g]);
        mkdir(path, 0777);
    }
    while (fgets(line, sizeof line, l)) {
        line[strcspn(line, "\n")] = 0;
        int g = 0;
        while (strncmp(line, genres[g], strlen(genres[g])))
            g++;
        int teacher = g == 0 ? 0 : 3 - g;
        snprintf(path, sizeof path, "%s/%s.soft", soft, line);
        FILE *f = fopen(path, "w");
        REQUIRE(f);
        fprintf(f, "genred-soft 1\nlabels\tclicks\tnoise\ttones\nhop\t0.5\nwindow\t3.0\n");
        for (int row = 0; row < 3; row++)
            for (int k = 0; k < N_GENRES; k++)
                fprintf(f, "%.2f%c", k == teacher ? 0.9 : 0.05, k + 1 < N_GENRES ? '\t' : '\n');
        fclose(f);
    }
    fclose(l);
}

/* With all of the loss on the teacher (--soft-weight 1), the student learns
 * the teacher's swap, not the folders' labels: proof the rows are used. A
 * missing teacher file is a one-line error naming it. */
static void test_distillation(const char *build, const char *dir, const char *root,
                              const char *train, const char *valid)
{
    char soft[600], model[600], out[600], cmd[8192];
    snprintf(soft, sizeof soft, "%s/soft", dir);
    snprintf(model, sizeof model, "%s/student.gmdl", dir);
    snprintf(out, sizeof out, "%s/student.txt", dir);
    mkdir(soft, 0777);
    write_swapped_teacher(soft, train);
    snprintf(cmd, sizeof cmd,
             "%s/bin/genre-train --root %s --train %s --valid %s --out %s --hidden 12 "
             "--coeffs 13 --epochs 8 --epoch-windows 384 --batch 32 --lr 0.01 --threads 2 "
             "--variants 1 --seed 3 --qat-epochs 0 --soft-labels %s --soft-weight 1 "
             "--temperature 1 --select last --valid-every 3 2>%s",
             build, root, train, valid, model, soft, out);
    CHECK(run(cmd, "/dev/null") == 0);
    /* --valid-every 3: epochs 3, 6 and the last (8) are validated, 5 are not. */
    CHECK(count_in_file(out, "| not validated") == 5);
    CHECK(count_in_file(out, "| valid loss") == 3);
    snprintf(cmd, sizeof cmd,
             "%s/bin/genre-classify --model %s %s/clicks/clicks.100.wav %s/noise/noise.101.wav "
             "%s/tones/tones.102.wav",
             build, model, root, root, root);
    CHECK(run(cmd, out) == 0);
    CHECK(file_contains(out, "clicks.100.wav: clicks "));
    CHECK(file_contains(out, "noise.101.wav: tones "));
    CHECK(file_contains(out, "tones.102.wav: noise "));

    snprintf(cmd, sizeof cmd, "rm %s/tones/tones.003.wav.soft", soft);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd,
             "%s/bin/genre-train --root %s --train %s --valid %s --out %s --epochs 1 "
             "--soft-labels %s 2>%s",
             build, root, train, valid, model, soft, out);
    CHECK(run(cmd, "/dev/null") == 2);
    CHECK(file_contains(out, "tones/tones.003.wav.soft: No such file or directory"));
}

/* --average-last N: the mean of the last N epochs' weights. Of one epoch it
 * is that epoch, so the model is byte for byte the plain last-epoch one; of
 * three it is another model, reported as such and still right on the clean
 * clips; without
 * --select last, or longer than the run, it is a one-line error. */
static void test_weight_average(const char *build, const char *dir, const char *root,
                                const char *train, const char *valid)
{
    static const char *const average[] = {"", "--average-last 1", "--average-last 3"};
    char model[3][600], out[600], cmd[8192];
    snprintf(out, sizeof out, "%s/average.txt", dir);
    for (int i = 0; i < 3; i++) {
        snprintf(model[i], sizeof model[i], "%s/average%d.gmdl", dir, i);
        snprintf(cmd, sizeof cmd,
                 "%s/bin/genre-train --root %s --train %s --valid %s --out %s --hidden 12 "
                 "--coeffs 13 --epochs 8 --epoch-windows 384 --batch 32 --lr 0.01 --threads 2 "
                 "--variants 1 --seed 5 --qat-epochs 0 --select last %s",
                 build, root, train, valid, model[i], average[i]);
        CHECK(run(cmd, i == 2 ? out : "/dev/null") == 0);
    }
    CHECK(file_contains(out, "genre-train: chosen the mean of epochs 6-8;"));
    snprintf(cmd, sizeof cmd, "cmp -s %s %s", model[0], model[1]);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd, "cmp -s %s %s", model[0], model[2]);
    CHECK(system(cmd) != 0);
    snprintf(cmd, sizeof cmd,
             "%s/bin/genre-classify --model %s %s/clicks/clicks.100.wav %s/noise/noise.101.wav "
             "%s/tones/tones.102.wav",
             build, model[2], root, root, root);
    CHECK(run(cmd, out) == 0);
    CHECK(file_contains(out, "clicks.100.wav: clicks "));
    CHECK(file_contains(out, "noise.101.wav: noise "));
    CHECK(file_contains(out, "tones.102.wav: tones "));
    snprintf(cmd, sizeof cmd,
             "%s/bin/genre-train --root %s --train %s --valid %s --out %s --average-last 3 2>%s",
             build, root, train, valid, model[0], out);
    CHECK(run(cmd, "/dev/null") == 2);
    CHECK(file_contains(out, "genre-train: --average-last needs --select last"));
    snprintf(cmd, sizeof cmd,
             "%s/bin/genre-train --root %s --train %s --valid %s --out %s --epochs 2 "
             "--select last --average-last 3 2>%s",
             build, root, train, valid, model[0], out);
    CHECK(run(cmd, "/dev/null") == 2);
    CHECK(file_contains(out, "genre-train: --average-last 3: more than the 2 epochs"));
}

int main(void)
{
    const char *build = getenv("GENRED_BUILD_DIR");
    REQUIRE(build);
    char dir[] = "/tmp/genred-e2e-XXXXXX";
    REQUIRE(mkdtemp(dir));
    char root[600], train[600], valid[600], model[600], out[600], cmd[8192];
    snprintf(root, sizeof root, "%s/audio", dir);
    mkdir(root, 0777);
    snprintf(train, sizeof train, "%s/train.txt", dir);
    snprintf(valid, sizeof valid, "%s/valid.txt", dir);
    snprintf(model, sizeof model, "%s/model.gmdl", dir);
    snprintf(out, sizeof out, "%s/out.json", dir);
    make_split(root, train, 0, 6, 4.0);
    make_split(root, valid, 100, 3, 4.0);

    snprintf(cmd, sizeof cmd,
             "%s/bin/genre-train --root %s --train %s --valid %s --out %s --hidden 12 "
             "--coeffs 13 --epochs 8 --epoch-windows 384 --batch 32 --lr 0.01 --threads 2 "
             "--variants 1 --seed 3 --qat-always --qat-epochs 2",
             build, root, train, valid, model);
    CHECK(run(cmd, "/dev/null") == 0);
    /* Side files are named after the model: model.gmdl -> model.report/. */
    snprintf(cmd, sizeof cmd, "%s/metrics.json", dir);
    struct stat st;
    CHECK(stat(cmd, &st) != 0);
    snprintf(cmd, sizeof cmd, "%s/model.report/confusion.svg", dir);
    CHECK(stat(cmd, &st) == 0 && st.st_size > 100);
    snprintf(cmd, sizeof cmd, "%s/model.report/metrics.json", dir);
    double reported_int8 = check_qat_report(cmd);
    snprintf(cmd, sizeof cmd, "%s/bin/genre-model-info %s", build, model);
    CHECK(run(cmd, out) == 0);
    CHECK(file_contains(out, "deltas:    yes"));
    CHECK(file_contains(out, "layer 0:   GRU 26 -> 12"));

    snprintf(cmd, sizeof cmd, "%s/bin/genre-eval --model %s --root %s --list %s --json", build,
             model, root, valid);
    CHECK(run(cmd, out) == 0);
    double evaluated_int8 = check_eval_json(out, "int8");
    /* Whichever int8 model fine-tuning left, the saved one is the one reported. */
    CHECK(fabs(evaluated_int8 - reported_int8) < 1e-5);
    snprintf(
        cmd, sizeof cmd,
        "%s/bin/genre-eval --model %s/model.report/model-float.gmdl --root %s --list %s --json",
        build, dir, root, valid);
    CHECK(run(cmd, out) == 0);
    check_eval_json(out, "float");

    /* genre.change events on a playlist of the clips (3 s segments of the
     * 4 s clips): the report line and the sweep table come out. */
    snprintf(cmd, sizeof cmd,
             "%s/bin/genre-eval --model %s --root %s --list %s --events --segment 3 --sweep", build,
             model, root, valid);
    CHECK(run(cmd, out) == 0);
    CHECK(file_contains(out, "playlist: 9 segments of 3 s"));
    CHECK(file_contains(out, "smoothing   hold    right announced  false/h   delay"));
    CHECK(file_contains(out,
                        "segment exponent threshold   hold    right announced  false/h   delay"));
    snprintf(cmd, sizeof cmd,
             "%s/bin/genre-eval --model %s --root %s --list %s --events --segment 3", build, model,
             root, valid);
    CHECK(run(cmd, out) == 0);
    CHECK(file_contains(out, "events (smoothing 0.0 s, change hold 5.0 s): announced genre right"));
    snprintf(cmd, sizeof cmd,
             "%s/bin/genre-eval --model %s --root %s --list %s --events --segment 3 "
             "--change-decoder hmm --hmm-segment 60 --hmm-exponent 0.2 --hmm-threshold 0.9 "
             "--hmm-hold 1",
             build, model, root, valid);
    CHECK(run(cmd, out) == 0);
    CHECK(file_contains(out, "events (hmm: segment 60 s, exponent 0.20, threshold 0.90, hold 1.0 "
                             "s): announced genre right"));

    snprintf(cmd, sizeof cmd,
             "%s/bin/genre-classify --model %s --hop 0.25 --json %s/clicks/clicks.100.wav "
             "%s/noise/noise.101.wav %s/tones/tones.102.wav",
             build, model, root, root, root);
    CHECK(run(cmd, out) == 0);
    check_classify_json(out, root);
    test_distillation(build, dir, root, train, valid);
    test_weight_average(build, dir, root, train, valid);

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return check_report("test_tools_e2e");
}
