/* bench_stream [MODEL|-] [SECONDS] [HOP]: the classifier stage alone on one
 * core for SECONDS of audio (default 3600) at genred's hop (default 0.5 s):
 * the per-window classifier (each window's GRU over all its frames) against
 * the stream classifier (the live windows' states advanced together), CPU
 * time and times real time each, and the int8 kernel path. The frames are
 * synthetic (the cost does not depend on them); both must give the same
 * probabilities for every window, or the program fails. */
#include "cli.h"
#include "clock.h"
#include "classifier.h"
#include "frontend.h"
#include "gru_layer.h"
#include "model.h"
#include "stream_classifier.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Frame f's raw MFCCs: varied, about the model's own statistics. */
static void frame_at(const model_t *m, uint64_t f, float *out)
{
    unsigned C = m->frontend.mfcc.n_coeffs;
    for (unsigned k = 0; k < C; k++)
        out[k] = m->mean[k] + m->std[k] * (float)(((f * 7919 + k * 104729) % 1000) / 500.0 - 1);
}

typedef struct {
    double cpu_s;
    unsigned windows;
    float *probs; /* windows x n_labels */
} result;

/* frames: n x C, the whole stream. */
static result per_window(const model_t *m, const float *frames, uint64_t n, uint64_t hop)
{
    char err[256];
    unsigned N = model_window_frames(m), C = m->frontend.mfcc.n_coeffs, L = m->n_labels;
    classifier_t *c = classifier_create(m, N, err, sizeof err);
    result r = {0, 0, malloc((n + 1) * L * sizeof(float))};
    if (!c || !r.probs) exit(1);
    double t0 = thread_cpu_s();
    for (uint64_t s; (s = frontend_window_start(&m->frontend, hop, r.windows)) + N <= n;
         r.windows++)
        classifier_process(c, frames + s * C, N, r.probs + (size_t)r.windows * L);
    r.cpu_s = thread_cpu_s() - t0;
    classifier_destroy(c);
    return r;
}

static result staggered(const model_t *m, const float *frames, uint64_t n, uint64_t hop)
{
    char err[256];
    unsigned N = model_window_frames(m), C = m->frontend.mfcc.n_coeffs, L = m->n_labels;
    stream_classifier_t *s =
        stream_classifier_create(m, N, frontend_windows_live(&m->frontend, hop), err, sizeof err);
    result r = {0, 0, malloc((n + 1) * L * sizeof(float))};
    if (!s || !r.probs) exit(1);
    double t0 = thread_cpu_s();
    for (uint64_t f = 0; f < n; f++)
        r.windows += (unsigned)stream_classifier_push(
            s, frames + f * C, frontend_window_starts_at(&m->frontend, hop, f),
            r.probs + (size_t)r.windows * L);
    r.cpu_s = thread_cpu_s() - t0;
    stream_classifier_destroy(s);
    return r;
}

int main(int argc, char **argv)
{
    int rc =
        cli_positional("bench_stream", argc, argv,
                       "usage: bench_stream [MODEL|-] [SECONDS >= 10] [HOP > 0]\n"
                       "The classifier stage alone over SECONDS of audio (3600) at HOP (0.5):\n"
                       "staggered windows vs one at a time.\n");
    if (rc >= 0) return rc;
    char err[512];
    model_t *m = argc > 1 && strcmp(argv[1], "-") ? model_load_file(argv[1], err, sizeof err)
                                                  : model_load_default(err, sizeof err);
    double seconds = argc > 2 ? atof(argv[2]) : 3600, hop_s = argc > 3 ? atof(argv[3]) : 0.5;
    if (!m || !(seconds >= 10) || !(hop_s > 0)) {
        fprintf(stderr, "usage: bench_stream [MODEL|-] [SECONDS >= 10] [HOP > 0]%s%s\n",
                m ? "" : "\nbench_stream: ", m ? "" : err);
        return 2;
    }
    const frontend_params *fp = &m->frontend;
    unsigned C = fp->mfcc.n_coeffs;
    uint64_t n = (uint64_t)(seconds * fp->mfcc.sample_rate / fp->mfcc.hop);
    uint64_t hop = frontend_hop_samples(fp, hop_s);
    float *frames = malloc(n * C * sizeof *frames);
    if (!frames) return 1;
    for (uint64_t f = 0; f < n; f++)
        frame_at(m, f, frames + f * C);
    result a = per_window(m, frames, n, hop), b = staggered(m, frames, n, hop);
    int same = a.windows == b.windows &&
               !memcmp(a.probs, b.probs, (size_t)a.windows * m->n_labels * sizeof(float));
    gru_layer_t *g = gru_layer_create(&m->layers[0], 1, 1);
    if (!g) return 1;
    printf("classifier stage, %.0f s of audio, hop %g s, %u windows, %s kernels, one thread:\n"
           "  per-window  %7.3f s cpu  %8.0fx real time\n"
           "  staggered   %7.3f s cpu  %8.0fx real time  (%.2fx faster; outputs %s)\n",
           seconds, hop_s, a.windows, gru_layer_isa(g), a.cpu_s, seconds / a.cpu_s, b.cpu_s,
           seconds / b.cpu_s, a.cpu_s / b.cpu_s, same ? "bit-identical" : "DIFFER");
    gru_layer_destroy(g);
    free(a.probs);
    free(b.probs);
    free(frames);
    model_destroy(m);
    return same ? 0 : 1;
}
