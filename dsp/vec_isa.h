/* vec_isa: vec.h's tables, one per instruction set (internal to dsp/vec*.c).
 * vec.c holds the portable table and picks one; vec_avx.c and vec_neon.c,
 * each built for its architecture only, hold the others. */
#ifndef GENRED_VEC_ISA_H
#define GENRED_VEC_ISA_H

#include "vec.h"

extern const vec_ops vec_ops_portable;
#ifdef SIMD_ARCH_X86
extern const vec_ops vec_ops_avx2, vec_ops_avx512;
#endif
#ifdef SIMD_ARCH_ARM64
extern const vec_ops vec_ops_neon;
#endif

#endif
