#include "utf8.h"

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

int utf8_printable(const char *s)
{
    while (*s) {
        size_t n = utf8_sequence(s);
        unsigned char c = (unsigned char)s[0], c1 = (unsigned char)s[1];
        if (!n || c < 0x20 || c == 0x7F || (c == 0xC2 && c1 < 0xA0)) return 0;
        s += n;
    }
    return 1;
}
