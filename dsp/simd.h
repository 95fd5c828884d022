/* simd: which vector instruction set the kernels may use on this CPU.
 *
 * Each kernel family (dsp/vec, nn/gru_f32) keeps one table of function
 * pointers per instruction set and picks its table from simd_level() when
 * its object is created, never in the processing path: this is the one
 * dispatch entry, for dsp/vec, nn/gru_f32 and nn/gru_q8 alike. Adding an
 * instruction set means one enumerator here, its test in simd.c, and a
 * table in each family that has kernels for it; families without one fall
 * back to the portable table. */
#ifndef GENRED_SIMD_H
#define GENRED_SIMD_H

typedef enum {
    SIMD_PORTABLE, /* plain C, any CPU */
    SIMD_AVX2,     /* x86-64 AVX2 + FMA */
    SIMD_AVX512,   /* x86-64 AVX-512 F/VL/DQ/BW, with AVX2 + FMA */
    SIMD_NEON,     /* AArch64 Advanced SIMD: every ARMv8-A core has it */
} simd_level;

/* The last enumerator, for loops over every level. */
#define SIMD_LEVEL_LAST SIMD_NEON

/* The best level this CPU runs, capped by the environment:
 * GENRED_NO_SIMD=1 (or any value but "" and "0") gives SIMD_PORTABLE,
 * GENRED_SIMD=portable|avx2|avx512|neon caps the level (for tests and
 * benchmarks comparing paths; "avx2" keeps the int8 GRU off AVX-512 VNNI).
 * Reads the environment: call at create time only. */
simd_level simd_level_get(void);

/* Whether this CPU runs `level` at all (environment ignored). */
int simd_level_supported(simd_level level);

/* "portable", "avx2", "avx512", "neon". */
const char *simd_level_name(simd_level level);

#endif
