/* bench_model: CPU time of one window through a model file's classifier
 * (its own front-end geometry and kernels), one thread, median of RUNS.
 * Usage: bench_model [MODEL] [RUNS]; without MODEL the built-in default. */
#include "classifier.h"
#include "cli.h"
#include "clock.h"
#include "model.h"
#include "mfcc_window.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int rc = cli_positional("bench_model", argc, argv,
                            "usage: bench_model [MODEL|-] [RUNS]\n"
                            "CPU time of one window through MODEL's classifier (- or none: the\n"
                            "built-in model), median of RUNS (500). Exit status 1 when MODEL does\n"
                            "not load, 2 usage error.\n");
    if (rc >= 0) return rc;
    char err[512];
    model_t *m = argc > 1 && strcmp(argv[1], "-") ? model_load_file(argv[1], err, sizeof err)
                                                  : model_load_default(err, sizeof err);
    int runs = argc > 2 ? atoi(argv[2]) : 500;
    if (!m) {
        fprintf(stderr, "bench_model: %s\n", err);
        return 1;
    }
    if (runs < 1) runs = 1;
    unsigned frames = model_window_frames(m);
    classifier_t *c = classifier_create(m, frames, err, sizeof err);
    /* Raw MFCCs: the classifier adds deltas and normalises (nn/model_input.h). */
    const unsigned C = m->frontend.mfcc.n_coeffs;
    float *window = malloc((size_t)frames * C * sizeof *window);
    double *t = malloc((size_t)runs * sizeof *t);
    float probs[MODEL_MAX_LABELS];
    if (!c || !window || !t) {
        fprintf(stderr, "bench_model: %s\n", c ? "out of memory" : err);
        return 1;
    }
    for (size_t i = 0; i < (size_t)frames * C; i++)
        window[i] = m->mean[i % C] + m->std[i % C] * (float)((i * 7919 % 1000) / 500.0 - 1);
    for (int r = 0; r < runs; r++) {
        double t0 = 1e6 * thread_cpu_s();
        classifier_process(c, window, frames, probs);
        t[r] = 1e6 * thread_cpu_s() - t0;
    }
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    printf("%s: %u layer(s) x %u hidden, %u inputs, %u frames, %s: median %.1f us per window "
           "(%d runs, one thread)\n",
           m->id, m->n_layers, m->layers[0].hidden, m->n_inputs, frames,
           m->layers[0].weights == MODEL_WEIGHTS_Q8 ? "int8" : "float", t[runs / 2], runs);
    free(t);
    free(window);
    classifier_destroy(c);
    model_destroy(m);
    return 0;
}
