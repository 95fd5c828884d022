/* check: the few assertion macros the C tests share. A failed check prints
 * file:line and the expression, and the test exits non-zero at the end. */
#ifndef GENRED_CHECK_H
#define GENRED_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int check_failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                      \
    do {                                                                                           \
        double check_a_ = (a), check_b_ = (b);                                                     \
        if (!(fabs(check_a_ - check_b_) <= (tol))) {                                               \
            fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s = %.9g, %s = %.9g, tol %g\n", __FILE__,  \
                    __LINE__, #a, check_a_, #b, check_b_, (double)(tol));                          \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

/* Stop at once: for preconditions without which the rest is meaningless. */
#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond);             \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* What a command line must start with to run one of the project's programs:
 * "" natively, "EMULATOR " in a cross build whose tests run under qemu-user
 * (GENRED_EMULATOR, set by tests/CMakeLists.txt), where the kernel cannot
 * execute the target's binaries itself. */
static inline const char *run_prefix(void)
{
    static char prefix[512];
    const char *emulator = getenv("GENRED_EMULATOR");
    if (!emulator || !*emulator) return "";
    snprintf(prefix, sizeof prefix, "%s ", emulator);
    return prefix;
}

static inline int check_report(const char *name)
{
    if (check_failures) fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
    return check_failures ? 1 : 0;
}

#endif
