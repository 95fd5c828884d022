/* smoother: exponential smoothing of a probability vector, so the reported
 * genre does not flicker with every hop. */
#ifndef GENRED_SMOOTHER_H
#define GENRED_SMOOTHER_H

typedef struct smoother smoother_t;

/* n: vector length. time_constant and step in seconds; time_constant 0
 * turns smoothing off (output = input). NULL on bad arguments. */
smoother_t *smoother_create(unsigned n, double time_constant, double step);
void smoother_destroy(smoother_t *s);

/* Blends in one vector; out (n values) sums to 1 when the input does. The
 * first vector after create/reset is taken as is. */
void smoother_process(smoother_t *s, const float *in, float *out);
void smoother_reset(smoother_t *s);

#endif
