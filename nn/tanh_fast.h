/* tanh_fast: float tanh and sigmoid without libm, for GRU gates.
 *
 * Eigen's rational tanh (odd degree-13 over even degree-6 polynomial, a few
 * ulp from tanhf), clamped where it reaches +-1. The int8 kernels (gru_q8)
 * and the float trainer (gru_train) both use it: glibc's tanhf, through
 * expm1f, was 40 % of a training epoch's CPU. The constants are also what
 * gru_gates.h's tanh8 (AVX2) and tanh4 (NEON) evaluate, lane by lane. */
#ifndef GENRED_TANH_FAST_H
#define GENRED_TANH_FAST_H

/* Eigen's rational tanh: odd degree-13 over even degree-6 polynomial. */
#define TANH_CLAMP 7.90531110763549805f
#define TANH_A1    4.89352455891786e-03f
#define TANH_A3    6.37261928875436e-04f
#define TANH_A5    1.48572235717979e-05f
#define TANH_A7    5.12229709037114e-08f
#define TANH_A9    -8.60467152213735e-11f
#define TANH_A11   2.00018790482477e-13f
#define TANH_A13   -2.76076847742355e-16f
#define TANH_B0    4.89352518554385e-03f
#define TANH_B2    2.26843463243900e-03f
#define TANH_B4    1.18534705686654e-04f
#define TANH_B6    1.19825839466702e-06f

static inline float tanh_fast(float x)
{
    /* Comparisons, not fminf/fmaxf: those stay libm calls at -O2 (NaN
     * rules), and a NaN now passes through as it does in tanh8. */
    x = x < -TANH_CLAMP ? -TANH_CLAMP : x;
    x = x > TANH_CLAMP ? TANH_CLAMP : x;
    float x2 = x * x;
    float p = x2 * TANH_A13 + TANH_A11;
    p = p * x2 + TANH_A9;
    p = p * x2 + TANH_A7;
    p = p * x2 + TANH_A5;
    p = p * x2 + TANH_A3;
    p = p * x2 + TANH_A1;
    float q = x2 * TANH_B6 + TANH_B4;
    q = q * x2 + TANH_B2;
    q = q * x2 + TANH_B0;
    return x * p / q;
}

static inline float sigmoid_fast(float x)
{
    return 0.5f * tanh_fast(0.5f * x) + 0.5f;
}

#endif
