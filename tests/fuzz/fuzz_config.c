/* libFuzzer target for the config loader: libconfig's parser and genred's
 * own validation (conf_load_string, then conf_check on what loaded). A
 * failure must leave the settings untouched and say where; a success must
 * leave settings that the validation's own ranges admit. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

/* What every successfully loaded configuration must satisfy. */
static int sane(const genred_config *c)
{
    if (c->n_streams < 1 || !c->streams) return 0;
    if (c->n_publish < 1 || c->n_publish > CONFIG_MAX_PUBLISH) return 0;
    for (unsigned i = 0; i < c->n_streams; i++)
        if (!terminated(c->streams[i].name, sizeof c->streams[i].name) ||
            !terminated(c->streams[i].input, sizeof c->streams[i].input) ||
            !c->streams[i].input[0] || !c->streams[i].name[0])
            return 0;
    for (unsigned i = 0; i < c->n_publish; i++)
        if (!terminated(c->publish[i], sizeof c->publish[i]) || !c->publish[i][0]) return 0;
    if (!terminated(c->model, sizeof c->model) || !terminated(c->log_level, sizeof c->log_level) ||
        !terminated(c->curve_secret_key, sizeof c->curve_secret_key) ||
        !terminated(c->curve_allow, sizeof c->curve_allow))
        return 0;
    return c->hop >= 0.01 && c->hop <= 60 && c->smoothing >= 0 && c->smoothing <= 3600 &&
           c->change_hold >= 0 && c->change_hold <= 3600 && c->silence_dbfs >= -200 &&
           c->silence_dbfs <= 0 && c->status_interval >= 0.1 && c->status_interval <= 3600 &&
           c->ring_seconds >= 0.1 && c->ring_seconds <= 60 && c->send_hwm >= 1 &&
           c->send_hwm <= 1000000 && (c->realtime | c->print | c->allow_plaintext_remote) <= 1 &&
           c->loop >= -1 && (c->drop_policy == DROP_COUNT || c->drop_policy == DROP_ISOLATE) &&
           (c->change_decoder == TRACKER_DECODE_HOLD || c->change_decoder == TRACKER_DECODE_HMM) &&
           c->hmm_segment >= 1 && c->hmm_segment <= 36000 && c->hmm_exponent >= 0.01 &&
           c->hmm_exponent <= 1 && c->hmm_threshold >= 0 && c->hmm_threshold <= 0.999 &&
           c->hmm_hold >= 0 && c->hmm_hold <= 3600;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    /* @include would read other files (even a blocking /dev/stdin); it is
     * libconfig's own file handling, not input genred parses. */
    if (strstr(text, "@include")) {
        free(text);
        return 0;
    }
    static genred_config before;
    static int ready;
    if (!ready && conf_defaults(&before)) __builtin_trap();
    ready = 1;
    genred_config c;
    if (conf_copy(&c, &before)) __builtin_trap();
    genred_config copy = c; /* the same list pointer: a failure keeps it */
    char err[512] = "";
    if (conf_load_string(&c, text, "fuzz", err, sizeof err)) {
        if (strncmp(err, "fuzz:", 5) || memcmp(&c, &copy, sizeof c) ||
            memcmp(c.streams, before.streams, before.n_streams * sizeof *c.streams))
            __builtin_trap();
    } else {
        if (!sane(&c) || strcmp(c.source, "fuzz")) __builtin_trap();
        err[0] = '\0';
        if (conf_check(&c, err, sizeof err) && !err[0]) __builtin_trap();
    }
    conf_free(&c);
    free(text);
    return 0;
}
