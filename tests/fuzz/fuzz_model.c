/* libFuzzer target for the model loader. model.c is compiled into this
 * target with GENRED_FUZZING, which lets inputs past a CRC mismatch so the
 * fuzzer reaches the field parser. Whatever loads must serialise back to the
 * same bytes and run through the classifier; whatever fails must say why. */
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
    size_t n = 0;
    unsigned char *image = model_serialize(m, &n, err, sizeof err);
    /* The CRC may differ: the loader skipped its check. A version 1 input
     * comes back as version 2: the same bytes with a deltas field of 0
     * after n_inputs (offset 64). */
    enum { OFF_VERSION = 8, OFF_DELTAS = 64 };
    static const unsigned char v2[4] = {2, 0, 0, 0}, zero[4] = {0};
    int v1 = data[OFF_VERSION] == 1;
    if (!image || (v1 ? n != size + 4 : n != size)) __builtin_trap();
    if (!v1 && memcmp(image, data, size - 4)) __builtin_trap();
    if (v1 &&
        (memcmp(image, data, OFF_VERSION) || memcmp(image + OFF_VERSION, v2, 4) ||
         memcmp(image + 12, data + 12, OFF_DELTAS - 12) || memcmp(image + OFF_DELTAS, zero, 4) ||
         memcmp(image + OFF_DELTAS + 4, data + OFF_DELTAS, size - 4 - OFF_DELTAS)))
        __builtin_trap();
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
