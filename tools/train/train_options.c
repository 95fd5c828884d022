/* train_options: genre-train's flags. */
#include "train_options.h"

#include "cli.h"
#include "gru_train.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG      "genre-train"
#define fail(...) cli_error(PROG, __VA_ARGS__)

/* Long options past the letters. */
enum { OPT_AVERAGE_LAST = 256 };

static void usage(FILE *out)
{
    fprintf(out,
            "usage: genre-train --data [NAME=]ROOT:LIST... (--valid-data [NAME=]ROOT:LIST... |\n"
            "                   --groups TSV --fold K/N) --out MODEL [options]\n"
            "  --data [NAME=]ROOT:LIST   a training dataset (repeatable): paths in LIST are\n"
            "                            relative to ROOT, their first folder the label; NAME\n"
            "                            (default: LIST's folder) names it in reports\n"
            "  --valid-data [NAME=]ROOT:LIST  a validation dataset (repeatable)\n"
            "  --groups TSV              FILE<TAB>GROUP lines (artist, song); repeatable\n"
            "  --fold K/N                validate on fold K (0..N-1) of a group-disjoint,\n"
            "                            label-stratified split of the grouped training clips\n"
            "  --level-db DB (-19)       RMS level --data clips are scaled to first\n"
            "                            (--extra-level-db: the same)\n"
            "  --root DIR --train LIST --valid LIST   lists under one root, as recorded\n"
            "  --train-extra, --valid-extra ROOT:LIST  the same as --data, --valid-data\n"
            "  --report DIR              metrics.json, SVG plots, the float model\n"
            "                            (default: MODEL without .gmdl, plus .report)\n"
            "  --cache DIR               feature cache (default: REPORT/cache; 'none' disables)\n"
            "  --hidden N (128) --layers N (1) --pool last|mean (mean) --coeffs N (20)\n"
            "  --deltas | --no-deltas    inputs: coefficients and their deltas (default), or\n"
            "                            the coefficients alone\n"
            "  --no-c0                   leave coefficient 0 (the frame's level) out of the\n"
            "                            inputs, keeping its delta: blind to the level\n"
            "  --mels N (128) --epochs N (40) --batch N (64) --epoch-windows N (3072)\n"
            "  --patience N (15) --lr X (0.002) --weight-decay X (0.01) --dropout X (0.2)\n"
            "  --clip-norm X (2) --hop S (0.5: validation window hop) --seed N (1)\n"
            "  --threads N (all cores) --variants N (3 augmented copies per clip)\n"
            "  --no-augment | --no-gain --no-eq --no-noise --no-lowpass --no-speed --no-drive\n"
            "  --allow-empty-labels      train even when a label has no usable clip\n"
            "  --name NAME (genred) model id prefix\n"
            "  --qat-epochs N (5): quantisation-aware fine-tuning epochs, run when the int8\n"
            "                     model loses more than 0.5 points of clip balanced accuracy\n"
            "                     to the float one (0: never); --qat-always: run them anyway\n"
            "  --select best|last (best): keep the epoch with the best validation score, or\n"
            "                     the last one (for a final run on all data)\n"
            "  --valid-every N (1) with --select last: validate every Nth epoch and the last\n"
            "  --average-last N (0) with --select last: the model is the mean of the weights\n"
            "                     at the end of the last N epochs\n"
            "  --soft-labels DIR  distil: DIR/<clip's list line>.soft holds a teacher's\n"
            "                     probabilities per window (tools/teacher) for every\n"
            "                     training clip; --soft-weight X (0.5) of the loss is the\n"
            "                     KL divergence to them at --temperature T (2)\n"
            "  --help, --version\n");
}

static void defaults(train_opts *o)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    *o = (train_opts){.level_db = LEVEL_DEFAULT_DBFS,
                      .hidden = 128,
                      .layers = 1,
                      .coeffs = 20,
                      .mels = 128,
                      .pool_mean = 1,
                      .deltas = 1,
                      .epochs = 40,
                      .batch = 64,
                      .epoch_windows = 3072,
                      .patience = 15,
                      .threads = cores > 0 ? (unsigned)cores : 1,
                      .variants = 3,
                      .valid_every = 1,
                      .lr = 0.002,
                      .weight_decay = 0.01,
                      .dropout = 0.2,
                      .qat_epochs = 5,
                      .clip_norm = 2,
                      .hop_seconds = 0.5,
                      .seed = 1,
                      .aug_gain = 1,
                      .aug_eq = 1,
                      .aug_noise = 1,
                      .aug_lowpass = 1,
                      .aug_speed = 1,
                      .aug_drive = 1,
                      .name = "genred",
                      .soft_weight = 0.5,
                      .temperature = 2};
}

/* "[NAME=]ROOT:LIST" (named) or "ROOT:LIST" into a list entry; the string
 * is argv's, cut in place. */
int train_list_parse(const char *prog, const char *flag, char *spec, int named, train_list *lists,
                     unsigned *n)
{
    if (*n == TRAIN_MAX_LISTS)
        return cli_error(prog, "%s: at most %d lists", flag, TRAIN_MAX_LISTS);
    train_list *l = &lists[*n];
    *l = (train_list){.level_dbfs = LEVEL_FROM_FLAG};
    char *eq = named ? strchr(spec, '=') : NULL, *colon = strrchr(spec, ':');
    const char *slash = strchr(spec, '/');
    if (eq && colon && eq < colon && (!slash || eq < slash)) {
        if (eq == spec || eq - spec > 31 || memchr(spec, ' ', (size_t)(eq - spec)))
            return cli_error(prog, "%s: NAME in '%s' must be 1-31 characters without spaces", flag,
                             spec);
        *eq = 0;
        l->source = spec;
        spec = eq + 1;
    }
    if (!colon || colon == spec || !colon[1])
        return cli_error(prog, "%s: expected %sROOT:LIST, got '%s'", flag, named ? "[NAME=]" : "",
                         spec);
    *colon = 0;
    l->root = spec;
    l->list = colon + 1;
    (*n)++;
    return 0;
}

static int add_plain(const char *flag, const char *list, train_list *lists, unsigned *n)
{
    if (*n == TRAIN_MAX_LISTS) return fail("%s: at most %d lists", flag, TRAIN_MAX_LISTS);
    lists[(*n)++] = (train_list){.list = list, .level_dbfs = LEVEL_AS_IS};
    return 0;
}

int train_fold_parse(const char *prog, const char *s, unsigned *fold, unsigned *folds)
{
    unsigned k, n;
    char end;
    if (sscanf(s, "%u/%u%c", &k, &n, &end) != 2 || n < 2 || n > 100 || k >= n)
        return cli_error(prog, "--fold: '%s' is not K/N with 0 <= K < N and 2 <= N <= 100", s);
    *fold = k;
    *folds = n;
    return 0;
}

static int augment_flag(int c, train_opts *o)
{
    switch (c) {
    case 'A':
        o->aug_gain = o->aug_eq = o->aug_noise = o->aug_lowpass = o->aug_speed = o->aug_drive = 0;
        return 1;
    case 'G':
        o->aug_gain = 0;
        return 1;
    case 'q':
        o->aug_eq = 0;
        return 1;
    case 'N':
        o->aug_noise = 0;
        return 1;
    case 'W':
        o->aug_lowpass = 0;
        return 1;
    case 'S':
        o->aug_speed = 0;
        return 1;
    case 'X':
        o->aug_drive = 0;
        return 1;
    }
    return 0;
}

static int choice(const char *flag, const char *s, const char *a, const char *b, int *is_b)
{
    if (strcmp(s, a) && strcmp(s, b)) return fail("%s: '%s' is not %s or %s", flag, s, a, b);
    *is_b = !strcmp(s, b);
    return 0;
}

/* Options with a number. */
static int number_flag(int c, const char *arg, train_opts *o)
{
    unsigned u;
    switch (c) {
    case 'E':
        return cli_real(PROG, "level-db", arg, -80, 0, &o->level_db);
    case 'H':
        return cli_uint(PROG, "hidden", arg, 4, 512, &o->hidden);
    case 'L':
        return cli_uint(PROG, "layers", arg, 1, GRU_TRAIN_MAX_LAYERS, &o->layers);
    case 'c':
        return cli_uint(PROG, "coeffs", arg, 2, 128, &o->coeffs);
    case 'm':
        return cli_uint(PROG, "mels", arg, 8, 256, &o->mels);
    case 'e':
        return cli_uint(PROG, "epochs", arg, 1, 100000, &o->epochs);
    case 'b':
        return cli_uint(PROG, "batch", arg, 1, 4096, &o->batch);
    case 'w':
        return cli_uint(PROG, "epoch-windows", arg, 1, 10000000, &o->epoch_windows);
    case 'p':
        return cli_uint(PROG, "patience", arg, 1, 100000, &o->patience);
    case 'l':
        return cli_real(PROG, "lr", arg, 1e-7, 1, &o->lr);
    case 'd':
        return cli_real(PROG, "weight-decay", arg, 0, 1, &o->weight_decay);
    case 'Q':
        return cli_uint(PROG, "qat-epochs", arg, 0, 1000, &o->qat_epochs);
    case 'D':
        return cli_real(PROG, "dropout", arg, 0, 0.9, &o->dropout);
    case 'n':
        return cli_real(PROG, "clip-norm", arg, 0, 1e6, &o->clip_norm);
    case 'M':
        return cli_real(PROG, "soft-weight", arg, 0, 1, &o->soft_weight);
    case 'O':
        return cli_real(PROG, "temperature", arg, 0.1, 100, &o->temperature);
    case 'h':
        return cli_real(PROG, "hop", arg, 0.01, 60, &o->hop_seconds);
    case 'j':
        return cli_uint(PROG, "threads", arg, 1, 256, &o->threads);
    case 'k':
        return cli_uint(PROG, "variants", arg, 0, 32, &o->variants);
    case 'J':
        return cli_uint(PROG, "valid-every", arg, 1, 100000, &o->valid_every);
    case OPT_AVERAGE_LAST:
        return cli_uint(PROG, "average-last", arg, 0, 100000, &o->average_last);
    case 's':
        if (cli_uint(PROG, "seed", arg, 0, UINT_MAX, &u)) return -1;
        o->seed = u;
        return 0;
    }
    return 1;
}

static int other_flag(int c, char *arg, const char *flag, train_opts *o, const char **root)
{
    switch (c) {
    case 'r':
        *root = arg;
        return 0;
    case 't':
        return add_plain(flag, arg, o->train, &o->n_train);
    case 'v':
        return add_plain(flag, arg, o->valid, &o->n_valid);
    case 'T':
    case 'V':
    case 'a':
    case 'B':
        return train_list_parse(PROG, flag, arg, c == 'a' || c == 'B',
                                c == 'T' || c == 'a' ? o->train : o->valid,
                                c == 'T' || c == 'a' ? &o->n_train : &o->n_valid);
    case 'g':
        if (o->n_groups == TRAIN_MAX_LISTS)
            return fail("--groups: at most %d files", TRAIN_MAX_LISTS);
        o->groups[o->n_groups++] = arg;
        return 0;
    case 'f':
        return train_fold_parse(PROG, arg, &o->fold, &o->folds);
    case 'o':
        o->out = arg;
        return 0;
    case 'F':
        o->soft_labels = arg;
        return 0;
    case 'R':
        o->report = arg;
        return 0;
    case 'C':
        o->cache = arg;
        o->cache_flag = "--cache";
        return 0;
    case 'P':
        return choice(flag, arg, "last", "mean", &o->pool_mean);
    case 'Z':
        return choice(flag, arg, "best", "last", &o->select_last);
    case 'x':
        if (strlen(arg) > 64 || strchr(arg, ' '))
            return fail("--name: '%s' must be at most 64 characters without spaces", arg);
        o->name = arg;
        return 0;
    }
    return fail("unknown or incomplete option '%s'", flag);
}

/* The lists' roots and levels, known once every flag is read. */
static int finish(train_opts *o, const char *root)
{
    for (unsigned s = 0; s < 2; s++) {
        train_list *l = s ? o->valid : o->train;
        for (unsigned i = 0, n = s ? o->n_valid : o->n_train; i < n; i++) {
            if (l[i].level_dbfs == LEVEL_FROM_FLAG) l[i].level_dbfs = o->level_db;
            if (l[i].root) continue;
            if (!root) return fail("--train and --valid need --root");
            l[i].root = root;
        }
    }
    if (!o->n_train || !o->out) {
        usage(stderr);
        return fail("a training dataset (--data or --train) and --out are required");
    }
    if (!o->n_valid && !o->folds)
        return fail("no validation data: give --valid-data (or --valid), or --groups with --fold");
    if (o->folds && !o->n_groups) return fail("--fold needs --groups");
    if (o->average_last && !o->select_last) return fail("--average-last needs --select last");
    if (o->average_last > o->epochs)
        return fail("--average-last %u: more than the %u epochs", o->average_last, o->epochs);
    if (!o->aug_noise && !o->aug_lowpass && !o->aug_speed && !o->aug_drive) o->variants = 0;
    return 0;
}

/* genre-train's flags, long options only (getopt_long with no short ones). */
static const struct option long_options[] = {{"root", 1, 0, 'r'},
                                             {"train", 1, 0, 't'},
                                             {"valid", 1, 0, 'v'},
                                             {"data", 1, 0, 'a'},
                                             {"valid-data", 1, 0, 'B'},
                                             {"groups", 1, 0, 'g'},
                                             {"fold", 1, 0, 'f'},
                                             {"level-db", 1, 0, 'E'},
                                             {"allow-empty-labels", 0, 0, 'z'},
                                             {"out", 1, 0, 'o'},
                                             {"report", 1, 0, 'R'},
                                             {"cache", 1, 0, 'C'},
                                             {"train-extra", 1, 0, 'T'},
                                             {"valid-extra", 1, 0, 'V'},
                                             {"extra-level-db", 1, 0, 'E'},
                                             {"hidden", 1, 0, 'H'},
                                             {"layers", 1, 0, 'L'},
                                             {"pool", 1, 0, 'P'},
                                             {"coeffs", 1, 0, 'c'},
                                             {"mels", 1, 0, 'm'},
                                             {"deltas", 0, 0, 'Y'},
                                             {"no-deltas", 0, 0, 'y'},
                                             {"epochs", 1, 0, 'e'},
                                             {"batch", 1, 0, 'b'},
                                             {"epoch-windows", 1, 0, 'w'},
                                             {"patience", 1, 0, 'p'},
                                             {"lr", 1, 0, 'l'},
                                             {"weight-decay", 1, 0, 'd'},
                                             {"dropout", 1, 0, 'D'},
                                             {"clip-norm", 1, 0, 'n'},
                                             {"hop", 1, 0, 'h'},
                                             {"seed", 1, 0, 's'},
                                             {"threads", 1, 0, 'j'},
                                             {"variants", 1, 0, 'k'},
                                             {"no-augment", 0, 0, 'A'},
                                             {"no-gain", 0, 0, 'G'},
                                             {"no-eq", 0, 0, 'q'},
                                             {"no-noise", 0, 0, 'N'},
                                             {"no-lowpass", 0, 0, 'W'},
                                             {"no-speed", 0, 0, 'S'},
                                             {"no-drive", 0, 0, 'X'},
                                             {"name", 1, 0, 'x'},
                                             {"select", 1, 0, 'Z'},
                                             {"qat-epochs", 1, 0, 'Q'},
                                             {"qat-always", 0, 0, 'K'},
                                             {"help", 0, 0, '?'},
                                             {"version", 0, 0, 'U'},
                                             {"soft-labels", 1, 0, 'F'},
                                             {"soft-weight", 1, 0, 'M'},
                                             {"temperature", 1, 0, 'O'},
                                             {"no-c0", 0, 0, 'I'},
                                             {"valid-every", 1, 0, 'J'},
                                             {"average-last", 1, 0, OPT_AVERAGE_LAST},
                                             {0, 0, 0, 0}};

int train_options_parse(int argc, char **argv, train_opts *o)
{
    const char *root = NULL;
    int c, rc = 0;
    defaults(o);
    opterr = 0;
    int idx = -1;
    char flag[64];
    while (rc == 0 && (c = getopt_long(argc, argv, "", long_options, &idx)) != -1) {
        cli_option_name(c, long_options, &idx, argc, argv, flag, sizeof flag);
        if (c == '?' && optopt == 0 && !strcmp(flag, "--help")) {
            usage(stdout);
            return 1;
        }
        if (c == 'U') {
            printf("genre-train %s\n", GENRED_VERSION);
            return 1;
        }
        if (c == 'Y' || c == 'y')
            o->deltas = c == 'Y';
        else if (c == 'I')
            o->no_c0 = 1;
        else if (c == 'K')
            o->qat_always = 1;
        else if (c == 'z')
            o->allow_empty_labels = 1;
        else if (!augment_flag(c, o) && (rc = number_flag(c, optarg, o)) > 0)
            rc = other_flag(c, optarg, flag, o, &root);
    }
    if (rc) return 2;
    if (optind < argc) return fail("unexpected argument '%s'", argv[optind]);
    return finish(o, root) ? 2 : 0;
}
