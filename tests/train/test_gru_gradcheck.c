/* Analytic gradients of every parameter group against central finite
 * differences, in double precision, for both poolings, one and two layers,
 * with sample weights, dropout (its masks are fixed by the seed, so the
 * loss is a smooth function of the parameters) and distillation targets. */
#include "check.h"
#include "gru_train.h"

#include <string.h>

enum { IN = 3, HID = 4, LABELS = 3, BATCH = 3, FRAMES = 5 };

static double loss_at(gru_work *w, const real *params, const real *x, const int *labels,
                      const real *weight, const real *soft, const gru_train_opts *o, real *scratch,
                      size_t n)
{
    memset(scratch, 0, n * sizeof *scratch);
    return gru_train_step(w, params, x, BATCH, FRAMES, labels, weight, soft, o, 0, scratch, NULL);
}

/* Teacher rows unlike the labels, one with a zero (a term KL must skip). */
static const real SOFT[BATCH * LABELS] = {0.2, 0.5, 0.3, 0.6, 0.0, 0.4, 0.1, 0.1, 0.8};

/* Relative error of one group: |analytic - numeric| / max(|analytic|, |numeric|), in L2. */
static double group_error(const real *a, const real *b, size_t n)
{
    double diff = 0, na = 0, nb = 0;
    for (size_t i = 0; i < n; i++) {
        diff += (a[i] - b[i]) * (a[i] - b[i]);
        na += a[i] * a[i];
        nb += b[i] * b[i];
    }
    double scale = sqrt(na > nb ? na : nb);
    return scale > 0 ? sqrt(diff) / scale : 0;
}

static void check_case(unsigned layers, int pool_mean, double dropout, int distill)
{
    gru_shape s = {IN, HID, layers, LABELS, pool_mean};
    size_t n = gru_param_count(&s);
    real *params = malloc(n * sizeof *params), *grad = calloc(n, sizeof *grad);
    real *numeric = calloc(n, sizeof *numeric), *scratch = calloc(n, sizeof *scratch);
    REQUIRE(params && grad && numeric && scratch);
    gru_params_init(&s, params, 42 + layers);
    /* Larger weights than the default init, so gates leave their linear range. */
    for (size_t i = 0; i < n; i++)
        params[i] *= 3;
    real x[BATCH * FRAMES * IN];
    uint64_t st = 7;
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) {
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (real)((double)(st >> 11) / 9007199254740992.0 * 2 - 1);
    }
    int labels[BATCH] = {0, 2, 1};
    real weight[BATCH] = {1.0, 2.5, 0.5};
    gru_train_opts o = {dropout, 1234, 1.0 / 4.0, distill ? 0.6 : 0, distill ? 2.5 : 0};
    const real *soft = distill ? SOFT : NULL;
    gru_work *w = gru_work_create(&s, BATCH, FRAMES);
    REQUIRE(w);

    double loss =
        gru_train_step(w, params, x, BATCH, FRAMES, labels, weight, soft, &o, 0, grad, NULL);
    CHECK(isfinite(loss) && loss > 0);
    const double eps = 1e-6;
    for (size_t i = 0; i < n; i++) {
        real keep = params[i];
        params[i] = keep + eps;
        double up = loss_at(w, params, x, labels, weight, soft, &o, scratch, n);
        params[i] = keep - eps;
        double down = loss_at(w, params, x, labels, weight, soft, &o, scratch, n);
        params[i] = keep;
        numeric[i] = (up - down) / (2 * eps);
    }

    gru_params pa = gru_params_view(&s, grad), pn = gru_params_view(&s, numeric);
    size_t h3 = 3 * HID;
    for (unsigned l = 0; l < layers; l++) {
        size_t in = l ? HID : IN;
        double e[4] = {group_error(pa.layer[l].w_ih, pn.layer[l].w_ih, h3 * in),
                       group_error(pa.layer[l].w_hh, pn.layer[l].w_hh, h3 * HID),
                       group_error(pa.layer[l].b_ih, pn.layer[l].b_ih, h3),
                       group_error(pa.layer[l].b_hh, pn.layer[l].b_hh, h3)};
        const char *names[4] = {"W_ih", "W_hh", "b_ih", "b_hh"};
        for (int k = 0; k < 4; k++) {
            printf("layers %u pool %s dropout %.1f distill %d: layer %u %s rel err %.2e\n", layers,
                   pool_mean ? "mean" : "last", dropout, distill, l, names[k], e[k]);
            CHECK(e[k] < 1e-4);
        }
    }
    double efw = group_error(pa.fc_w, pn.fc_w, (size_t)LABELS * HID);
    double efb = group_error(pa.fc_b, pn.fc_b, LABELS);
    printf("layers %u pool %s dropout %.1f distill %d: fc_w %.2e fc_b %.2e\n", layers,
           pool_mean ? "mean" : "last", dropout, distill, efw, efb);
    CHECK(efw < 1e-4);
    CHECK(efb < 1e-4);
    /* Every group really carries gradient, so the comparison means something. */
    for (size_t i = 0, nonzero = 0; i <= n; i++) {
        if (i == n) {
            CHECK(nonzero > n / 2);
            break;
        }
        nonzero += grad[i] != 0;
    }

    gru_work_destroy(w);
    free(params);
    free(grad);
    free(numeric);
    free(scratch);
}

/* A shard of a batch must produce the same loss and gradient sum as the
 * whole batch (the trainer splits batches over threads). */
static void check_shards(void)
{
    gru_shape s = {IN, HID, 2, LABELS, 1};
    size_t n = gru_param_count(&s);
    real *params = malloc(n * sizeof *params), *g1 = calloc(n, sizeof *g1);
    real *g2 = calloc(n, sizeof *g2);
    REQUIRE(params && g1 && g2);
    gru_params_init(&s, params, 3);
    real x[BATCH * FRAMES * IN];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = sin((double)i);
    int labels[BATCH] = {1, 0, 2};
    gru_train_opts o = {0.25, 99, 1.0 / BATCH, 0, 0};
    gru_work *w = gru_work_create(&s, BATCH, FRAMES);
    REQUIRE(w);
    double whole = gru_train_step(w, params, x, BATCH, FRAMES, labels, NULL, NULL, &o, 0, g1, NULL);
    double part = gru_train_step(w, params, x, 1, FRAMES, labels, NULL, NULL, &o, 0, g2, NULL);
    part += gru_train_step(w, params, x + FRAMES * IN, 2, FRAMES, labels + 1, NULL, NULL, &o, 1, g2,
                           NULL);
    CHECK_NEAR(whole, part, 1e-12);
    CHECK(group_error(g1, g2, n) < 1e-12);
    gru_work_destroy(w);
    free(params);
    free(g1);
    free(g2);
}

/* A teacher that is certain of the label, at T = 1 and weight 1, is the
 * label: KL(one-hot || p) = -log p_label, so loss and gradient must be the
 * hard loss's, an identity independent of the code's own algebra. */
static void check_one_hot_teacher(void)
{
    gru_shape s = {IN, HID, 1, LABELS, 1};
    size_t n = gru_param_count(&s);
    real *params = malloc(n * sizeof *params), *g1 = calloc(n, sizeof *g1);
    real *g2 = calloc(n, sizeof *g2);
    REQUIRE(params && g1 && g2);
    gru_params_init(&s, params, 5);
    real x[BATCH * FRAMES * IN];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = cos(0.7 * (double)i);
    int labels[BATCH] = {2, 0, 1};
    real one_hot[BATCH * LABELS] = {0, 0, 1, 1, 0, 0, 0, 1, 0};
    gru_train_opts hard = {0, 1, 1.0 / BATCH, 0, 0}, soft = {0, 1, 1.0 / BATCH, 1, 1};
    gru_work *w = gru_work_create(&s, BATCH, FRAMES);
    REQUIRE(w);
    double lh = gru_train_step(w, params, x, BATCH, FRAMES, labels, NULL, NULL, &hard, 0, g1, NULL);
    double ls =
        gru_train_step(w, params, x, BATCH, FRAMES, labels, NULL, one_hot, &soft, 0, g2, NULL);
    CHECK_NEAR(lh, ls, 1e-12);
    CHECK(group_error(g1, g2, n) < 1e-12);
    gru_work_destroy(w);
    free(params);
    free(g1);
    free(g2);
}

int main(void)
{
    for (unsigned layers = 1; layers <= 2; layers++)
        for (int pool = 0; pool <= 1; pool++)
            for (int d = 0; d <= 1; d++)
                for (int distill = 0; distill <= 1; distill++)
                    check_case(layers, pool, d ? 0.3 : 0.0, distill);
    check_shards();
    check_one_hot_teacher();
    return check_report("test_gru_gradcheck");
}
