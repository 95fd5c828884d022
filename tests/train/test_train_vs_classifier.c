/* The trainer's float forward pass (gru_train) and the daemon's classifier
 * (nn/, float and int8 kernels) must agree on the same weights: otherwise
 * validation during training would not predict what the daemon does. With
 * deltas (and without c0), the trainer's input is built here from the spec
 * (double, clamped window edges), independently of nn/model_input.c, which
 * the classifier runs. */
#include "check.h"
#include "classifier.h"
#include "gru_export.h"

#include <string.h>

enum { C = 20, HID = 24, LABELS = 5, FRAMES = 126, BATCH = 3 };

/* The network input of the first `frames` frames of raw (FRAMES x C):
 * coefficients (c0 left out with no_c0) then deltas over those frames only,
 * normalised; mean/std are per input. */
static void reference_input(const float *raw, unsigned frames, unsigned deltas, unsigned no_c0,
                            const float *mean, const float *std, float *x)
{
    unsigned in = C * (1 + deltas);
    for (unsigned t = 0; t < frames; t++)
        for (unsigned k = no_c0; k < in; k++) {
            double v = raw[t * C + k % C];
            if (k >= C) {
                double c[5];
                for (int j = -2; j <= 2; j++) {
                    int u = (int)t + j;
                    u = u < 0 ? 0 : u >= (int)frames ? (int)frames - 1 : u;
                    c[j + 2] = raw[u * C + k - C];
                }
                v = (c[3] - c[1] + 2 * (c[4] - c[0])) / 10;
            }
            unsigned i = k - no_c0;
            x[t * (in - no_c0) + i] = (float)((v - mean[i]) / std[i]);
        }
}

static void check_shape(unsigned layers, int pool_mean, unsigned deltas, unsigned no_c0)
{
    const unsigned IN = C * (1 + deltas) - no_c0;
    gru_shape s = {IN, HID, layers, LABELS, pool_mean};
    size_t n = gru_param_count(&s);
    float *params = malloc(n * sizeof *params);
    REQUIRE(params);
    gru_params_init(&s, params, 11 + layers);
    for (size_t i = 0; i < n; i++)
        params[i] *= 2.5f; /* weights well beyond the init range, as after training */
    float mean[2 * C], std[2 * C];
    for (unsigned k = 0; k < C; k++) {
        mean[k] = (float)(k * 0.7 - 3);
        std[k] = (float)(0.5 + k * 0.1);
        /* Delta channels: centred near 0, spread like a coefficient's. */
        mean[C + k] = (float)(0.1 * k - 1);
        std[C + k] = (float)(0.8 + 0.05 * k);
    }
    char labels[LABELS][MODEL_MAX_LABEL_LEN + 1] = {"a", "b", "c", "d", "e"};
    frontend_params fe = {{22050, 2048, 512, 128, C, 0, 11025}, 3.0};
    char err[256];
    unsigned flags = (deltas ? MODEL_INPUT_DELTAS : 0) | (no_c0 ? MODEL_INPUT_NO_C0 : 0);
    model_t *m = gru_export(&s, params, &fe, flags, mean, std,
                            (const char(*)[MODEL_MAX_LABEL_LEN + 1]) labels,
                            "test 2026-01-01 00000000", err, sizeof err);
    REQUIRE(m);
    model_t *q = model_quantize(m, err, sizeof err);
    REQUIRE(q);
    classifier_t *cf = classifier_create(m, FRAMES, err, sizeof err);
    classifier_t *cq = classifier_create(q, FRAMES, err, sizeof err);
    gru_work *w = gru_work_create(&s, BATCH, FRAMES);
    REQUIRE(cf && cq && w);

    static float raw[BATCH][FRAMES * C];
    uint64_t st = 99;
    for (unsigned b = 0; b < BATCH; b++)
        for (unsigned i = 0; i < FRAMES * C; i++) {
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            double u = (double)(st >> 11) / 9007199254740992.0;
            unsigned k = i % C;
            raw[b][i] = (float)(mean[k] + std[k] * (4 * u - 2 + sin(i * 0.01 * (b + 1))));
        }
    float train_probs[BATCH * LABELS], pf[LABELS], pq[LABELS];
    /* Full windows, and a shorter one as the tools use for short clips. */
    for (unsigned frames = FRAMES; frames >= 84; frames -= 42) {
        static float batch[BATCH * FRAMES * 2 * C];
        for (unsigned b = 0; b < BATCH; b++)
            reference_input(raw[b], frames, deltas, no_c0, mean, std,
                            batch + (size_t)b * frames * IN);
        gru_forward(w, params, batch, BATCH, frames, train_probs);
        for (unsigned b = 0; b < BATCH; b++) {
            classifier_process(cf, raw[b], frames, pf);
            classifier_process(cq, raw[b], frames, pq);
            double worst = 0, worst_q = 0;
            for (unsigned k = 0; k < LABELS; k++) {
                worst = fmax(worst, fabs(pf[k] - train_probs[b * LABELS + k]));
                worst_q = fmax(worst_q, fabs(pq[k] - train_probs[b * LABELS + k]));
            }
            printf("layers %u pool %s deltas %u no_c0 %u frames %u window %u: |float - trainer| "
                   "%.2e, |int8 - trainer| %.2e\n",
                   layers, pool_mean ? "mean" : "last", deltas, no_c0, frames, b, worst, worst_q);
            CHECK(worst < 1e-4);
            CHECK(worst_q < 0.05);
        }
    }
    gru_work_destroy(w);
    classifier_destroy(cf);
    classifier_destroy(cq);
    model_destroy(m);
    model_destroy(q);
    free(params);
}

int main(void)
{
    for (unsigned layers = 1; layers <= 2; layers++)
        for (int pool = 0; pool <= 1; pool++)
            for (unsigned deltas = 0; deltas <= 1; deltas++)
                for (unsigned no_c0 = 0; no_c0 <= 1; no_c0++)
                    check_shape(layers, pool, deltas, no_c0);
    return check_report("test_train_vs_classifier");
}
