/* libFuzzer target for the model loader. model.c is compiled into this
 * target with GENRED_FUZZING, which lets inputs past a CRC mismatch so the
 * fuzzer reaches the field parser. Whatever loads must serialise back to the
 * same bytes (in its own format version) and run through the classifier;
 * whatever fails must say why. */
#include "classifier.h"
#include "model.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256] = "";
    model_t *m = model_load_memory(data, size, "fuzz", err, sizeof err);
    if (!m) {
        if (strncmp(err, "fuzz: ", 6) || !strchr(err + 6, ':')) __builtin_trap();
        return 0;
    }
    /* Written in the input's own version the bytes are the input's, but
     * for the CRC, which the loader did not check. */
    size_t n = 0;
    unsigned char *image = model_serialize_version(m, data[8], &n, err, sizeof err);
    if (!image || n != size || memcmp(image, data, size - 4)) __builtin_trap();
    free(image);

    /* Small models only, so each input stays fast. */
    if (model_output_hidden(m) <= 64 && m->n_layers <= 2) {
        classifier_t *c = classifier_create(m, 3, err, sizeof err);
        if (!c) __builtin_trap();
        float window[3 * 1024], probs[MODEL_MAX_LABELS]; /* n_coeffs <= n_mels <= 1024 */
        for (size_t i = 0; i < 3 * (size_t)m->frontend.mfcc.n_coeffs; i++)
            window[i] = (float)data[i % size] - 128;
        classifier_process(c, window, 3, probs);
        double sum = 0;
        for (uint32_t k = 0; k < m->n_labels; k++) {
            if (!(probs[k] >= 0 && probs[k] <= 1)) __builtin_trap();
            sum += probs[k];
        }
        if (!(sum > 0.999 && sum < 1.001)) __builtin_trap();
        classifier_destroy(c);
    }
    model_destroy(m);
    return 0;
}
