/* levels: runs a test once per kernel instruction set this CPU has
 * (dsp/simd.h), handing it the level to create its objects on. */
#ifndef GENRED_TEST_LEVELS_H
#define GENRED_TEST_LEVELS_H

#include "simd.h"

#include <stdio.h>

static inline void for_each_level(void (*test)(simd_level level))
{
    for (simd_level l = SIMD_PORTABLE; l <= SIMD_LEVEL_LAST; l++) {
        if (!simd_level_supported(l)) continue;
        printf("-- kernels: %s\n", simd_level_name(l));
        test(l);
    }
}

#endif
