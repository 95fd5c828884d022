/* bench_gru: time per 3 s window (126 frames x 20 MFCCs and their deltas,
 * mean pooling: the shipped model's input) through the classifier, one
 * thread, median of many runs, for hidden 64/128/192 (192: the shipped
 * model) and 1/2 layers: float32 kernel and int8 kernel on the best
 * level this CPU has (dsp/simd.h; GENRED_SIMD caps it), and the int8
 * kernel's portable C. Prints one line per configuration:
 *   hidden layers float_us int8_us int8_portable_us float/int8
 * Times are this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so that other
 * load on a shared machine inflates them less than wall time would.
 * Usage: bench_gru [RUNS] (default 300). */
#include "classifier.h"
#include "cli.h"
#include "clock.h"
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FRAMES 126
#define INPUTS 20

static uint32_t rng = 1;

static float rnd(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / 8388608.0f - 1.0f;
}

static model_t *random_model(uint32_t layers, uint32_t hidden)
{
    frontend_params fe = {{22050, 2048, 512, 128, INPUTS, 0, 11025}, 3.0};
    char err[256];
    model_t *m = model_create(&fe, layers, hidden, 10, MODEL_POOL_MEAN, 1, err, sizeof err);
    if (!m) {
        fprintf(stderr, "bench_gru: %s\n", err);
        exit(1);
    }
    for (uint32_t i = 0; i < layers; i++) {
        model_layer *l = &m->layers[i];
        size_t g = 3 * (size_t)hidden;
        for (size_t k = 0; k < g * l->input; k++)
            l->w_ih[k] = rnd() * 0.3f;
        for (size_t k = 0; k < g * hidden; k++)
            l->w_hh[k] = rnd() * 0.3f;
    }
    for (size_t k = 0; k < 10 * (size_t)hidden; k++)
        m->fc_w[k] = rnd();
    return m;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median microseconds per classifier_process over `runs` windows, on the
 * kernels of `level`. */
static double time_model(const model_t *m, simd_level level, const float *window, int runs)
{
    char err[256];
    classifier_t *c = classifier_create_at(m, FRAMES, level, err, sizeof err);
    if (!c) {
        fprintf(stderr, "bench_gru: %s\n", err);
        exit(1);
    }
    double *t = malloc(runs * sizeof *t);
    float probs[10];
    for (int i = 0; i < 10; i++) /* warm caches and branch predictors */
        classifier_process(c, window, FRAMES, probs);
    for (int i = 0; i < runs; i++) {
        double t0 = 1e6 * thread_cpu_s();
        classifier_process(c, window, FRAMES, probs);
        t[i] = 1e6 * thread_cpu_s() - t0;
    }
    qsort(t, runs, sizeof *t, cmp_double);
    double median = t[runs / 2];
    free(t);
    classifier_destroy(c);
    return median;
}

int main(int argc, char **argv)
{
    static const char usage[] = "usage: bench_gru [RUNS]\n"
                                "CPU time per window of the GRU kernels, median of RUNS (300).\n";
    int rc = cli_positional("bench_gru", argc, argv, usage);
    if (rc >= 0) return rc;
    unsigned n = 300;
    if (argc > 2) return cli_error("bench_gru", "one RUNS at most");
    if (argc == 2 && cli_uint("bench_gru", "runs", argv[1], 1, 1000000, &n)) return 2;
    int runs = (int)n;
    float window[FRAMES * INPUTS];
    for (int i = 0; i < FRAMES * INPUTS; i++)
        window[i] = rnd() * 3;
    printf("# CPU microseconds per %d-frame window, median of %d, one thread\n", FRAMES, runs);
    printf("# hidden layers float_us int8_us int8_portable_us float/int8\n");
    static const uint32_t hiddens[] = {64, 128, 192}, layer_counts[] = {1, 2};
    for (int h = 0; h < 3; h++)
        for (int l = 0; l < 2; l++) {
            char err[256];
            model_t *f = random_model(layer_counts[l], hiddens[h]);
            model_t *q = model_quantize(f, err, sizeof err);
            double t_f = time_model(f, simd_level_get(), window, runs);
            double t_q = time_model(q, simd_level_get(), window, runs);
            double t_c = time_model(q, SIMD_PORTABLE, window, runs);
            printf("%u %u %.1f %.1f %.1f %.2f\n", hiddens[h], layer_counts[l], t_f, t_q, t_c,
                   t_f / t_q);
            model_destroy(f);
            model_destroy(q);
        }
    return 0;
}
