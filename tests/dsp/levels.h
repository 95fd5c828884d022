/* levels: runs a test once per kernel instruction set this CPU has
 * (dsp/simd.h), with GENRED_SIMD capping the objects it creates to it. */
#ifndef GENRED_TEST_LEVELS_H
#define GENRED_TEST_LEVELS_H

#include "simd.h"

#include <stdio.h>
#include <stdlib.h>

static inline void for_each_level(void (*test)(void))
{
    for (simd_level l = SIMD_PORTABLE; l <= SIMD_LEVEL_LAST; l++) {
        if (!simd_level_supported(l)) continue;
        printf("-- kernels: %s\n", simd_level_name(l));
        setenv("GENRED_SIMD", simd_level_name(l), 1);
        test();
    }
    unsetenv("GENRED_SIMD");
}

#endif
