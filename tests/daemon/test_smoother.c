/* smoother against a double-precision reference of the same first-order
 * low-pass, and the meaning of its time constant. */
#include "check.h"
#include "smoother.h"

#include <math.h>
#include <stdlib.h>

#define N 4

static void reference(double *state, const float *in, double alpha, int first)
{
    double sum = 0;
    for (int i = 0; i < N; i++) {
        state[i] = first ? in[i] : state[i] + alpha * (in[i] - state[i]);
        sum += state[i];
    }
    for (int i = 0; i < N; i++)
        state[i] /= sum;
}

int main(void)
{
    const double tau = 1.5, step = 0.5;
    smoother_t *s = smoother_create(N, tau, step);
    REQUIRE(s);
    double ref[N];
    float in[N], out[N];
    srand(1);
    for (int k = 0; k < 200; k++) {
        float sum = 0;
        for (int i = 0; i < N; i++)
            sum += in[i] = (float)rand() / (float)RAND_MAX + 1e-3f;
        for (int i = 0; i < N; i++)
            in[i] /= sum;
        smoother_process(s, in, out);
        reference(ref, in, 1 - exp(-step / tau), k == 0);
        double total = 0;
        for (int i = 0; i < N; i++) {
            CHECK_NEAR(out[i], ref[i], 1e-6);
            total += out[i];
        }
        CHECK_NEAR(total, 1.0, 1e-6);
    }

    /* A step from one label to another: after tau seconds the new label has
     * 1 - 1/e of the weight, whatever the step size. */
    const double steps[] = {0.05, 0.25, 0.5};
    for (unsigned k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        smoother_t *t = smoother_create(2, tau, steps[k]);
        REQUIRE(t);
        float a[2] = {1, 0}, b[2] = {0, 1}, o[2];
        smoother_process(t, a, o);
        int n = (int)lround(tau / steps[k]);
        for (int i = 0; i < n; i++)
            smoother_process(t, b, o);
        CHECK_NEAR(o[1], 1 - exp(-1), 1e-5);
        smoother_reset(t);
        smoother_process(t, a, o);
        CHECK_NEAR(o[0], 1.0, 0); /* the first vector after reset is taken as is */
        smoother_destroy(t);
    }

    /* Time constant 0: no smoothing at all. */
    smoother_t *off = smoother_create(N, 0, step);
    REQUIRE(off);
    float a[N] = {0.7f, 0.1f, 0.1f, 0.1f}, b[N] = {0.1f, 0.1f, 0.1f, 0.7f};
    smoother_process(off, a, out);
    smoother_process(off, b, out);
    for (int i = 0; i < N; i++)
        CHECK_NEAR(out[i], b[i], 1e-7);
    smoother_destroy(off);

    CHECK(!smoother_create(0, 1, 1) && !smoother_create(N, -1, 1) && !smoother_create(N, 1, 0));
    smoother_destroy(s);
    return check_report("test_smoother");
}
