/* simd: the one CPU probe (simd.h). */
#include "simd.h"

#include <stdlib.h>
#include <string.h>

static const char *const names[] = {"portable", "avx2", "avx512", "avx512vnni", "neon"};

int simd_level_supported(simd_level level)
{
    switch (level) {
    case SIMD_PORTABLE:
        return 1;
#ifdef SIMD_ARCH_X86
    case SIMD_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case SIMD_AVX512:
        return simd_level_supported(SIMD_AVX2) && __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512bw");
    case SIMD_AVX512VNNI:
        return simd_level_supported(SIMD_AVX512) && __builtin_cpu_supports("avx512vnni");
#endif
#ifdef SIMD_ARCH_ARM64
    case SIMD_NEON:
        return 1;
#endif
    default:
        return 0;
    }
}

const char *simd_level_name(simd_level level)
{
    return (unsigned)level < sizeof names / sizeof *names ? names[level] : "?";
}

simd_level simd_level_best(simd_level cap)
{
    simd_level level = (unsigned)cap > SIMD_LEVEL_LAST ? SIMD_LEVEL_LAST : cap;
    while (level > SIMD_PORTABLE && !simd_level_supported(level))
        level--;
    return level;
}

/* The cap the environment sets; an unknown name caps nothing. */
static simd_level env_cap(void)
{
    const char *no = getenv("GENRED_NO_SIMD");
    if (no && strcmp(no, "") && strcmp(no, "0")) return SIMD_PORTABLE;
    const char *cap = getenv("GENRED_SIMD");
    for (unsigned i = 0; cap && i < sizeof names / sizeof *names; i++)
        if (!strcmp(cap, names[i])) return (simd_level)i;
    return SIMD_LEVEL_LAST;
}

simd_level simd_level_get(void)
{
    return simd_level_best(env_cap());
}
