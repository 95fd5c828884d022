/* simd: which vector instruction set the kernels may use on this CPU.
 *
 * The one CPU probe and the one dispatch shape, as in liquid-dsp: every
 * kernel family (dsp/vec, nn/gru_f32, nn/gru_q8) keeps one table of
 * function pointers per instruction set, each with a name, and exposes
 *   const X_ops *X_ops_for(simd_level level);   the table for a level
 *   const X_ops *X_ops_get(void);               X_ops_for(simd_level_get())
 * An object takes its table once, when it is created, never in the
 * processing path; objects built on kernels have a create variant taking
 * the level (resampler_create_at, classifier_create_at, ...), which is how
 * tests run every level. A family's portable C is in FAMILY.c, its x86
 * tables in FAMILY_avx.c and its AArch64 ones in FAMILY_neon.c, each built
 * only for its architecture (GENRED_SIMD_ISAS, CMakeLists.txt).
 *
 * Adding an instruction set means one enumerator here, its probe in
 * simd.c, and a table in each family that has kernels for it; a family
 * without one takes its best table below that level. */
#ifndef GENRED_SIMD_H
#define GENRED_SIMD_H

/* Levels in order of what they add; x86 and AArch64 levels share the
 * order, so that a cap at another architecture's level leaves this CPU's
 * best below it. */
typedef enum {
    SIMD_PORTABLE,   /* plain C, any CPU */
    SIMD_AVX2,       /* x86-64 AVX2 + FMA */
    SIMD_AVX512,     /* x86-64 AVX-512 F/VL/DQ/BW, with AVX2 + FMA */
    SIMD_AVX512VNNI, /* SIMD_AVX512 and AVX-512 VNNI (int8 dot products) */
    SIMD_NEON,       /* AArch64 Advanced SIMD: every ARMv8-A core has it */
} simd_level;

/* The last enumerator, for loops over every level. */
#define SIMD_LEVEL_LAST SIMD_NEON

/* The guards kernels compile their tables under: one per architecture,
 * and for x86 one target attribute per level, enabling exactly what that
 * level's probe checks (so code built for a level runs where it is
 * chosen, and nowhere needs a -march flag). */
#if defined(__x86_64__) || defined(__i386__)
#define SIMD_ARCH_X86      1
#define SIMD_TARGET_AVX2   __attribute__((target("avx2,fma")))
#define SIMD_TARGET_AVX512 __attribute__((target("avx2,fma,avx512f,avx512vl,avx512dq,avx512bw")))
#define SIMD_TARGET_AVX512VNNI                                                                     \
    __attribute__((target("avx2,fma,avx512f,avx512vl,avx512dq,avx512bw,avx512vnni")))
#endif
#ifdef __aarch64__
#define SIMD_ARCH_ARM64 1
#endif

/* The best level this CPU runs, capped by the environment:
 * GENRED_NO_SIMD=1 (or any value but "" and "0") gives SIMD_PORTABLE,
 * GENRED_SIMD=portable|avx2|avx512|avx512vnni|neon caps the level (for
 * users and benchmarks comparing paths; "avx2" or "avx512" keep the int8
 * GRU off AVX-512 VNNI). Reads the environment: call at create time only. */
simd_level simd_level_get(void);

/* The best level at or below `cap` that this CPU runs (environment
 * ignored): what every X_ops_for takes, so no table is ever chosen for an
 * instruction set the CPU lacks. */
simd_level simd_level_best(simd_level cap);

/* Whether this CPU runs `level` at all (environment ignored). */
int simd_level_supported(simd_level level);

/* "portable", "avx2", "avx512", "avx512vnni", "neon". */
const char *simd_level_name(simd_level level);

#endif
