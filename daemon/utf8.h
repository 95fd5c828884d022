/* utf8: what text from outside (config values, file names) may be before
 * it goes into a JSON message or a log line. JSON strings must be UTF-8
 * (jansson refuses anything else), and a control character in a name would
 * break a log line or forge one. */
#ifndef GENRED_UTF8_H
#define GENRED_UTF8_H

#include <jansson.h>
#include <stddef.h>

/* The length (1-4) of the UTF-8 sequence at s, or 0 when the byte at s
 * starts none or s is at its NUL. RFC 3629, as jansson checks it: no
 * overlong forms, no surrogates, nothing past U+10FFFF. */
size_t utf8_sequence(const char *s);

/* Whether s is UTF-8 throughout. */
int utf8_valid(const char *s);

/* Whether s is UTF-8 with no control character (U+0000-U+001F,
 * U+007F-U+009F): text that prints on one line as it is. */
int utf8_printable(const char *s);

/* A copy of s (malloc'd; NULL when out of memory) in which each byte that
 * starts no UTF-8 sequence is U+FFFD: readable, and valid for JSON. */
char *utf8_lossy(const char *s);

/* s as a JSON string, lossy (utf8_lossy) where it is not UTF-8: a name or
 * message from outside never makes a whole JSON message fail. NULL only
 * when out of memory. */
json_t *utf8_json(const char *s);

/* s for an error message, on one line: printable UTF-8 as it is, any other
 * byte as \xNN; cut to fit out_len. */
void utf8_escape(const char *s, char *out, size_t out_len);

#endif
