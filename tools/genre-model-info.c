/* genre-model-info [FILE]: what a model file holds (the built-in default
 * model without FILE). Exit status 1 with the loader's one-line reason when
 * the file is not a valid model. */
#include "cli.h"
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t layer_bytes(const model_layer *l)
{
    size_t g = model_layer_rows(l), w = g * (l->input + l->hidden);
    size_t weights = l->weights == MODEL_WEIGHTS_Q8 ? w + 2 * g * sizeof(float) : w * sizeof(float);
    return weights + 2 * g * sizeof(float);
}

static void print_model(const model_t *m, const char *source, size_t file_bytes)
{
    const mfcc_params *fe = &m->frontend.mfcc;
    double fmax = fe->fmax == 0 ? fe->sample_rate / 2 : fe->fmax;
    printf("model:     %s\n", source);
    printf("id:        %s\n", m->id[0] ? m->id : "(none)");
    printf("size:      %zu bytes (format version %u)\n", file_bytes, m->file_version);
    printf("front-end: %g Hz, n_fft %u, hop %u, %u mels, %u coefficients, %g..%g Hz\n",
           fe->sample_rate, fe->n_fft, fe->hop, fe->n_mels, fe->n_coeffs, fe->fmin, fmax);
    printf("window:    %g s = %u frames\n", m->frontend.window_seconds, model_window_frames(m));
    int identity = 1;
    for (uint32_t i = 0; i < m->n_inputs; i++)
        identity &= m->mean[i] == 0 && m->std[i] == 1;
    printf("inputs:    %u per frame: %u coefficients%s%s\n", m->n_inputs, fe->n_coeffs,
           m->no_c0 ? " less c0 (the level)" : "",
           m->deltas ? " then their deltas over the window" : "");
    printf("deltas:    %s\n", m->deltas ? "yes" : "no");
    printf("normalise: %s over %u inputs\n", identity ? "identity" : "mean/std", m->n_inputs);
    printf("labels:    %u:", m->n_labels);
    for (uint32_t k = 0; k < m->n_labels; k++)
        printf("%s %s", k ? "," : "", m->labels[k]);
    printf("\n");
    for (uint32_t i = 0; i < m->n_layers; i++) {
        const model_layer *l = &m->layers[i];
        printf("layer %u:   %s %u -> %u, %s weights, %zu bytes\n", i,
               model_layer_kind_name(l->kind), l->input, l->hidden,
               l->weights == MODEL_WEIGHTS_Q8 ? "int8 (per-row scales)" : "float32",
               layer_bytes(l));
    }
    uint32_t h = model_output_hidden(m);
    printf("pool:      %s\n", m->pool == MODEL_POOL_MEAN ? "mean over time" : "last state");
    printf("dense:     %u -> %u, float32, %zu bytes\n", h, m->n_labels,
           ((size_t)h + 1) * m->n_labels * sizeof(float));
}

static const char usage[] =
    "usage: genre-model-info [MODEL]\n"
    "Prints a model's labels, front-end, layers and sizes; without MODEL, the built-in default.\n"
    "Exit status: 0, 1 when MODEL does not load, 2 usage error.\n";

int main(int argc, char **argv)
{
    int rc = cli_positional("genre-model-info", argc, argv, usage);
    if (rc >= 0) return rc;
    if (argc > 2) {
        fputs(usage, stderr);
        return cli_error("genre-model-info", "one MODEL at most");
    }
    char err[512];
    model_t *m =
        argc == 2 ? model_load_file(argv[1], err, sizeof err) : model_load_default(err, sizeof err);
    if (!m) {
        fprintf(stderr, "genre-model-info: %s\n", err);
        return 1;
    }
    size_t bytes = 0;
    void *image = model_serialize(m, &bytes, err, sizeof err);
    free(image);
    print_model(m, argc == 2 ? argv[1] : "built-in default", bytes);
    model_destroy(m);
    return 0;
}
