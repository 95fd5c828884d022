/* web_history: the last five minutes of each stream's top label, as runs
 * (segments) of one label, so that a kiosk that reloads or reboots shows the
 * page's strip at once, also while genred is down. A pause longer than the
 * page's "no signal" time breaks a run. At most WEB_HISTORY_STREAMS streams;
 * a new one replaces the one heard from least recently. Thread-safe. */
#ifndef GENRED_WEB_HISTORY_H
#define GENRED_WEB_HISTORY_H

#include "protocol.h"

#include <stddef.h>
#include <stdint.h>

/* A JSON string of n bytes, quoted, escaped (a control byte is \u00XX). */
#define WEB_JSON_STRING_MAX(n) (6 * (n) + 2)

enum {
    WEB_HISTORY_STREAMS = 16,
    /* A stream name as a JSON string, and its labels as a compact JSON
     * array, with their NULs: room for the protocol's longest name and
     * largest label set. */
    WEB_STREAM_JSON_MAX = WEB_JSON_STRING_MAX(PROTOCOL_NAME_LEN) + 1,
    WEB_LABELS_JSON_MAX = PROTOCOL_LABELS_MAX * (WEB_JSON_STRING_MAX(PROTOCOL_LABEL_LEN) + 1) + 2
};

typedef struct web_history web_history_t;

web_history_t *web_history_create(char *err, size_t err_len);
void web_history_destroy(web_history_t *h);

/* Notes that stream_json (a JSON string) had label `top` (an index into
 * labels_json; -1 for silence) at now_ms (monotonic). New labels start the
 * stream's history again: old indices would name other labels. */
void web_history_record(web_history_t *h, const char *stream_json, const char *labels_json, int top,
                        int64_t now_ms);

/* Formats stream number `index` (0 .. WEB_HISTORY_STREAMS-1) as a
 * genre-web.history Server-Sent Event into buf: 1 with *len set; 0 when
 * that slot holds nothing from the last five minutes; -1 when cap is too
 * small, with *len a size that is enough. Segments are
 * [start_age_ms, end_age_ms, top]: ages, so the browser's clock does not
 * matter. */
int web_history_frame(web_history_t *h, int index, int64_t now_ms, char *buf, size_t cap,
                      size_t *len);

#endif
