#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t utf8_sequence(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    unsigned char c = s[0], lo = 0x80, hi = 0xBF; /* the second byte's range */
    size_t n;
    if (c && c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4;
    else
        return 0;
    if (c == 0xE0) lo = 0xA0; /* overlong */
    if (c == 0xED) hi = 0x9F; /* surrogates */
    if (c == 0xF0) lo = 0x90; /* overlong */
    if (c == 0xF4) hi = 0x8F; /* past U+10FFFF */
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < n; i++) /* a NUL ends the check here too */
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return n;
}

int utf8_valid(const char *s)
{
    while (*s) {
        size_t n = utf8_sequence(s);
        if (!n) return 0;
        s += n;
    }
    return 1;
}

/* The length of the printable character at s, or 0 (a control character,
 * U+0000-U+001F, U+007F-U+009F, or a byte that is not UTF-8). */
static size_t printable(const char *s)
{
    unsigned char c = (unsigned char)s[0], c1 = (unsigned char)s[1];
    if (c < 0x20 || c == 0x7F || (c == 0xC2 && c1 < 0xA0)) return 0;
    return utf8_sequence(s);
}

int utf8_printable(const char *s)
{
    while (*s) {
        size_t n = printable(s);
        if (!n) return 0;
        s += n;
    }
    return 1;
}

char *utf8_lossy(const char *s)
{
    char *copy = malloc(3 * strlen(s) + 1), *out = copy; /* U+FFFD is 3 bytes */
    if (!copy) return NULL;
    while (*s) {
        size_t n = utf8_sequence(s);
        if (n) {
            memcpy(out, s, n);
            out += n;
            s += n;
        } else {
            memcpy(out, "\xEF\xBF\xBD", 3);
            out += 3;
            s++;
        }
    }
    *out = '\0';
    return copy;
}

json_t *utf8_json(const char *s)
{
    if (utf8_valid(s)) return json_string(s);
    char *readable = utf8_lossy(s);
    json_t *j = readable ? json_string(readable) : NULL;
    free(readable);
    return j;
}

void utf8_escape(const char *s, char *out, size_t out_len)
{
    size_t o = 0;
    while (*s && o + 5 < out_len) {
        size_t n = printable(s);
        if (n && o + n < out_len) {
            memcpy(out + o, s, n);
            o += n;
            s += n;
        } else if (n) {
            break;
        } else {
            o += (size_t)snprintf(out + o, out_len - o, "\\x%02X", (unsigned char)*s++);
        }
    }
    if (out_len) out[o] = '\0';
}
