/* cli: argument helpers the companion programs share, so every tool words
 * its errors the same way: one line, "PROGRAM: reason". */
#ifndef GENRED_CLI_H
#define GENRED_CLI_H

#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>

/* Prints the line; returns 2, the exit status for usage errors. */
int cli_error(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse option --opt's value s into *out within lo..hi. 0, or -1 after
 * printing "PROGRAM: --opt: 's' is not ..." */
int cli_real(const char *prog, const char *opt, const char *s, double lo, double hi, double *out);
int cli_uint(const char *prog, const char *opt, const char *s, unsigned lo, unsigned hi,
             unsigned *out);

/* For programs whose arguments are positional: --help (the usage on
 * stdout) or --version anywhere answers and returns 0; another option
 * ("-x", "--x"; "-" alone and negative numbers are arguments) prints
 * "unknown option" and the usage on stderr and returns 2; -1: go on. */
int cli_positional(const char *prog, int argc, char **argv, const char *usage);

/* From now on SIGINT and SIGTERM (Ctrl-C, a service stop) only set the
 * flag returned, which the program checks at the points where it can stop
 * cleanly. */
volatile sig_atomic_t *cli_stop_on_signals(void);

/* Prints "PROGRAM VERSION" on stdout (--version). */
void cli_version(const char *prog);

/* For getopt's '?' on arg: "--help" prints the usage on stdout and returns
 * -1 (exit 0); anything else prints it on stderr with "unknown or
 * incomplete option 'ARG'" and returns 2. */
int cli_help_or_usage_error(const char *prog, const char *arg, void (*usage)(FILE *out));

/* The name of the option getopt_long just returned c for, as the user
 * wrote it ("--pool", not its value), for errors: longs[*idx].name when
 * getopt set *idx, else the argument it stopped at. Resets *idx to -1 for
 * the next call. */
const char *cli_option_name(int c, const struct option *longs, int *idx, int argc, char **argv,
                            char *buf, size_t len);

#endif
