#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_int current_level = LOG_INFO;
static const char *program = "genred";

static const char *const level_names[] = {"error", "warn", "info", "debug"};
/* sd-daemon(3) priority prefixes, so journald keeps the level. */
static const char *const journal_prefix[] = {"<3>", "<4>", "<6>", "<7>"};

int log_parse_level(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, level_names[i])) return i;
    return -1;
}

void log_set_level(log_level level)
{
    atomic_store(&current_level, (int)level);
}

void log_set_program(const char *name)
{
    program = name;
}

int log_enabled(log_level level)
{
    return (int)level <= atomic_load(&current_level);
}

/* A message is one line whatever it quotes: a control character (a newline
 * in a stream name or a peer's text) becomes \xNN, so it can neither forge
 * a line nor drive a terminal. */
static void escape_controls(const char *in, char *out, size_t out_len)
{
    size_t o = 0;
    for (; *in && o + 5 < out_len; in++) {
        unsigned char c = (unsigned char)*in;
        if (c < 0x20 || c == 0x7F)
            o += (size_t)snprintf(out + o, out_len - o, "\\x%02X", c);
        else
            out[o++] = (char)c;
    }
    out[o] = '\0';
}

void log_msg(log_level level, const char *fmt, ...)
{
    if (!log_enabled(level)) return;
    char text[1024], line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    escape_controls(text, line, sizeof line);
    /* One fprintf per line: stdio locks the stream, so lines from several
     * threads never interleave. */
    if (getenv("JOURNAL_STREAM"))
        fprintf(stderr, "%s%s\n", journal_prefix[level], line);
    else
        fprintf(stderr, "%s: %s: %s\n", program, level_names[level], line);
}
