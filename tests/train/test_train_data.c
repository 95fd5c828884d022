/* The trainer's data handling: group-disjoint, label-stratified folds; the
 * balanced sampler (label, then source, then clip by length); teacher rows
 * (soft labels) and their errors; and the genre.change event scores on
 * playlists whose answers are known. */
#include "check.h"
#include "dataset.h"
#include "events.h"
#include "sampler.h"
#include "soft_labels.h"
#include "splitmix.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char dir[64];

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fputs(text, f);
    fclose(f);
}

/* 4 labels x 10 groups x 2 clips; every group on one side of each fold,
 * every label in every fold, every clip in exactly one fold. */
static void test_folds(void)
{
    char list[8192] = "", groups[16384] = "file\tgroup\tsource\n", path[256], err[256];
    const char *labels[] = {"blues", "jazz", "pop", "rock"};
    for (int k = 0; k < 4; k++)
        for (int g = 0; g < 10; g++)
            for (int c = 0; c < 2; c++) {
                char line[128];
                snprintf(line, sizeof line, "%s/%d_%d.wav\n", labels[k], g, c);
                strcat(list, line);
                snprintf(line, sizeof line, "%s/%d_%d.wav\t%s-artist-%d\tx\n", labels[k], g, c,
                         labels[k], g);
                strcat(groups, line);
            }
    write_file("list.txt", list);
    write_file("groups.tsv", groups);
    snprintf(path, sizeof path, "%s/list.txt", dir);
    char seen[80] = {0};
    for (unsigned fold = 0; fold < 4; fold++) {
        dataset d = {0}, v = {0};
        REQUIRE(dataset_add_source(&d, NULL, dir, path, -1000, err, sizeof err) == 0);
        char tsv[256];
        snprintf(tsv, sizeof tsv, "%s/groups.tsv", dir);
        REQUIRE(dataset_load_groups(&d, tsv, err, sizeof err) == 0);
        CHECK(!strcmp(d.clips[0].group, "blues-artist-0"));
        long moved = dataset_split_fold(&d, &v, fold, 4);
        CHECK(moved == (long)v.n_clips && moved >= 16 && moved <= 24);
        CHECK(d.n_clips + v.n_clips == 80);
        for (size_t i = 0; i < v.n_clips; i++) {
            for (size_t j = 0; j < d.n_clips; j++)
                CHECK(strcmp(v.clips[i].group, d.clips[j].group));
            int k = 0, g = 0, c = 0;
            sscanf(strchr(v.clips[i].rel, '/') + 1, "%d_%d", &g, &c);
            for (k = 0; k < 4 && strcmp(labels[k], v.clips[i].label); k++)
                ;
            seen[k * 20 + g * 2 + c]++;
        }
        for (int k = 0; k < 4; k++) {
            int n = 0;
            for (size_t i = 0; i < v.n_clips; i++)
                n += !strcmp(v.clips[i].label, labels[k]);
            CHECK(n >= 4 && n <= 6); /* 2 or 3 of the label's 10 groups */
        }
        CHECK(!strcmp(v.clips[0].source, "genred-train-data") || v.clips[0].source[0]);
        dataset_free(&d);
        dataset_free(&v);
    }
    for (int i = 0; i < 80; i++)
        CHECK(seen[i] == 1);
}

static void test_sampler(void)
{
    /* label 0: source 0 has a 100-frame and a 300-frame clip, source 1 one
     * 100-frame clip; label 1: source 0 only, one clip. */
    dataset_features f[4] = {
        {NULL, 100, 1, 0}, {NULL, 300, 1, 0}, {NULL, 100, 1, 0}, {NULL, 50, 1, 0}};
    clip_data clips[4] = {{&f[0], 1, 0, 0, "a", "a", NULL},
                          {&f[1], 1, 0, 0, "b", "b", NULL},
                          {&f[2], 1, 0, 1, "c", "c", NULL},
                          {&f[3], 1, 1, 0, "d", "d", NULL}};
    clip_set set = {clips, 4};
    sampler_t *s = sampler_create(&set, 2, 2);
    REQUIRE(s);
    unsigned count[4] = {0};
    uint64_t rng = 42;
    const unsigned N = 40000;
    for (unsigned i = 0; i < N; i++)
        count[sampler_draw(s, &rng).clip]++;
    /* Labels half each; within label 0 sources half each; within source 0
     * of label 0 by length, 1:3. */
    CHECK_NEAR((double)count[3] / N, 0.5, 0.01);
    CHECK_NEAR((double)count[2] / N, 0.25, 0.01);
    CHECK_NEAR((double)count[0] / N, 0.0625, 0.01);
    CHECK_NEAR((double)count[1] / N, 0.1875, 0.01);
    sampler_destroy(s);
}

/* A playlist of 6 segments of 30 s, windows every 0.5 s of 3 s. */
#define SEGS 6
#define HOP  0.5
#define WIN  3.0
#define L    3
#define NWIN 355 /* (SEGS * 30 - WIN) / HOP + 1 */

static const int truth[SEGS] = {0, 1, 2, 0, 2, 1};

static events_score score_with(int noisy, const tracker_settings *s)
{
    static float probs[NWIN * L];
    static double end[NWIN], level[NWIN];
    uint64_t rng = 7;
    for (int w = 0; w < NWIN; w++) {
        end[w] = w * HOP + WIN;
        level[w] = -20;
        /* The truth at the window's middle, or with noise (1) a wrong
         * label every fifth window; a stuck classifier (2) says 0 always. */
        int k = noisy == 2 ? 0 : truth[(int)((end[w] - WIN / 2) / 30)];
        if (noisy == 1 && w % 5 == 2) k = (k + 1 + (int)(splitmix64(&rng) % 2)) % L;
        for (int j = 0; j < L; j++)
            probs[w * L + j] = j == k ? 0.9f : 0.05f;
    }
    events_t *e = events_from_windows(L, truth, SEGS, 30, probs, end, level, NWIN);
    REQUIRE(e);
    events_score r = events_run(e, s, 10);
    events_destroy(e);
    return r;
}

static events_score score(int noisy, double hold)
{
    tracker_settings s = {.hop = HOP, .change_hold = hold, .silence_dbfs = -60};
    return score_with(noisy, &s);
}

static void test_events(void)
{
    /* A perfect classifier: every change announced, none false, the delay
     * half a window, wrong only until the first window and for that lag. */
    events_score r = score(0, 0);
    CHECK(r.true_changes == SEGS - 1 && r.hits == SEGS - 1);
    CHECK_NEAR(r.announced, 1.0, 1e-9);
    CHECK_NEAR(r.false_per_hour, 0.0, 1e-9);
    CHECK_NEAR(r.median_delay, WIN / 2, HOP);
    CHECK_NEAR(r.right, 1 - (WIN + (SEGS - 1) * WIN / 2) / (SEGS * 30), 0.01);
    CHECK_NEAR(r.hours, SEGS * 30 / 3600.0, 1e-9);
    /* A wrong window in five: without a hold each is two false changes
     * (there and back); a 1 s hold removes them all and delays by 1 s. */
    events_score noisy = score(1, 0), held = score(1, 1.0);
    CHECK(noisy.false_per_hour > 100 / r.hours / 60);
    CHECK(noisy.changes > 2 * 30);
    CHECK_NEAR(held.false_per_hour, 0.0, 1e-9);
    CHECK_NEAR(held.announced, 1.0, 1e-9);
    CHECK(held.median_delay >= r.median_delay + 0.9 && held.median_delay <= r.median_delay + 1.6);
    /* A 9 s hold announces every change right but after the 10 s tolerance:
     * none is a hit, none is false, and the delay says how late. */
    events_score late = score(0, 9.0);
    CHECK(late.hits == 0 && late.changes == SEGS);
    /* Stuck on genre 0: the change back to 0 at 90 s finds 0 announced all
     * along, which is no catch and no delay, so nothing is caught. */
    events_score stuck = score(2, 0);
    CHECK(stuck.hits == 0 && stuck.changes == 1 && stuck.true_changes == SEGS - 1);
    CHECK(isnan(stuck.median_delay));
    CHECK_NEAR(late.false_per_hour, 0.0, 1e-9);
    CHECK_NEAR(late.median_delay, WIN / 2 + 9.0, HOP);
    /* The hmm decoder rides out the wrong windows without any hold, and
     * still announces every change within the tolerance. */
    tracker_settings hmm = {.hop = HOP,
                            .silence_dbfs = -60,
                            .decoder = TRACKER_DECODE_HMM,
                            .hmm = {.segment = 30, .exponent = 0.3, .threshold = 0.8}};
    events_score filtered = score_with(1, &hmm);
    CHECK_NEAR(filtered.false_per_hour, 0.0, 1e-9);
    CHECK_NEAR(filtered.announced, 1.0, 1e-9);
}

static soft_labels_t *load_soft(const char *text, char *err)
{
    static const char labels[3][DATASET_LABEL_LEN + 1] = {"blues", "jazz", "rock"};
    REQUIRE(mkdir(dir, 0755) == 0 || errno == EEXIST);
    char sub[128];
    snprintf(sub, sizeof sub, "%s/jazz", dir);
    REQUIRE(mkdir(sub, 0755) == 0 || errno == EEXIST);
    write_file("jazz/a.ogg.soft", text);
    err[0] = 0;
    return soft_labels_load(dir, "jazz/a.ogg", labels, 3, err, 256);
}

/* Errors name the file and line, so a broken teacher run is found at once. */
static void check_soft_error(const char *text, const char *line_and_reason)
{
    char err[256], want[256];
    soft_labels_t *s = load_soft(text, err);
    CHECK(s == NULL);
    snprintf(want, sizeof want, "%s/jazz/a.ogg.soft:%s", dir, line_and_reason);
    if (strcmp(err, want)) printf("got '%s'\nwant '%s'\n", err, want);
    CHECK(!strcmp(err, want));
    soft_labels_destroy(s);
}

static void test_soft_labels(void)
{
    const char *head = "genred-soft 1\nlabels\tblues\tjazz\trock\nhop\t0.5\nwindow\t3.0\n";
    char text[512], err[256];
    snprintf(text, sizeof text, "%s0.2\t0.5\t0.3\n0\t1\t0\n0.33333\t0.33333\t0.33333\n", head);
    soft_labels_t *s = load_soft(text, err);
    CHECK(s != NULL);
    if (!s) return;
    /* Nearest window start: 0.24 s is row 0, 0.26 s row 1; past the end and
     * before the start clamp. */
    CHECK_NEAR(soft_labels_at(s, 0.24)[1], 0.5, 1e-6);
    CHECK_NEAR(soft_labels_at(s, 0.26)[1], 1.0, 1e-6);
    CHECK_NEAR(soft_labels_at(s, -3)[0], 0.2, 1e-6);
    CHECK_NEAR(soft_labels_at(s, 99)[2], 1.0 / 3, 1e-6); /* renormalised */
    soft_labels_destroy(s);

    check_soft_error("genred-soft 2\n", "1: not a genred-soft 1 file");
    check_soft_error("genred-soft 1\nlabels\tblues\trock\tjazz\n",
                     "2: labels differ from the model's (order and names must match)");
    check_soft_error("genred-soft 1\nlabels\tblues\tjazz\trock\thiphop\n",
                     "2: labels differ from the model's (order and names must match)");
    check_soft_error("genred-soft 1\nlabels\tblues\tjazz\trock\nhop\t0\n",
                     "3: not a number of seconds");
    snprintf(text, sizeof text, "%s", head);
    check_soft_error(text, "4: no rows");
    snprintf(text, sizeof text, "%s0.5\t0.5\n", head);
    check_soft_error(text, "5: too few values");
    snprintf(text, sizeof text, "%s0.5\t0.5\t0\t0\n", head);
    check_soft_error(text, "5: too many values");
    snprintf(text, sizeof text, "%s0.2\t0.5\t0.3\n0.5\t0.5\t0.5\n", head);
    check_soft_error(text, "6: probabilities do not sum to 1");
    snprintf(text, sizeof text, "%s0.2\tnan\t0.3\n", head);
    check_soft_error(text, "5: expected a probability (0 to 1)");

    static const char labels[3][DATASET_LABEL_LEN + 1] = {"blues", "jazz", "rock"};
    CHECK(soft_labels_load(dir, "rock/missing.ogg", labels, 3, err, sizeof err) == NULL);
    CHECK(strstr(err, "rock/missing.ogg.soft: No such file") != NULL);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/genred-train-data-XXXXXX");
    REQUIRE(mkdtemp(dir));
    test_folds();
    test_sampler();
    test_events();
    test_soft_labels();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return check_report("test_train_data");
}
