#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

int cli_real(const char *prog, const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        cli_error(prog, "--%s: '%s' is not a number in %g..%g", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_uint(const char *prog, const char *opt, const char *s, unsigned lo, unsigned hi,
             unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi) {
        cli_error(prog, "--%s: '%s' is not a whole number in %u..%u", opt, s, lo, hi);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

int cli_positional(const char *prog, int argc, char **argv, const char *usage)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--version")) {
            cli_version(prog);
            return 0;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1] && !(a[1] >= '0' && a[1] <= '9') && a[1] != '.') {
            fputs(usage, stderr);
            return cli_error(prog, "unknown option '%s'", a);
        }
    }
    return -1;
}

void cli_version(const char *prog)
{
    printf("%s %s\n", prog, GENRED_VERSION);
}

int cli_help_or_usage_error(const char *prog, const char *arg, void (*usage)(FILE *out))
{
    if (!strcmp(arg, "--help")) {
        usage(stdout);
        return -1;
    }
    usage(stderr);
    return cli_error(prog, "unknown or incomplete option '%s'", arg);
}

const char *cli_option_name(int c, const struct option *longs, int *idx, int argc, char **argv,
                            char *buf, size_t len)
{
    if (c == '?' || *idx < 0)
        snprintf(buf, len, "%s", optind > 0 && optind <= argc ? argv[optind - 1] : "?");
    else
        snprintf(buf, len, "--%s", longs[*idx].name);
    *idx = -1;
    return buf;
}

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

volatile sig_atomic_t *cli_stop_on_signals(void)
{
    signal(SIGINT, on_stop_signal);
    signal(SIGTERM, on_stop_signal);
    return &stop_requested;
}
