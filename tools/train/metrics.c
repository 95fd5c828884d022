/* metrics: scores over a confusion matrix. */
#include "metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int metrics_init(metrics_confusion *c, unsigned n_labels)
{
    c->n = n_labels;
    c->counts = calloc((size_t)n_labels * n_labels, sizeof *c->counts);
    return c->counts ? 0 : -1;
}

void metrics_free(metrics_confusion *c)
{
    free(c->counts);
    c->counts = NULL;
}

void metrics_clear(metrics_confusion *c)
{
    memset(c->counts, 0, (size_t)c->n * c->n * sizeof *c->counts);
}

void metrics_add(metrics_confusion *c, unsigned truth, unsigned predicted)
{
    if (truth < c->n && predicted < c->n) c->counts[(size_t)truth * c->n + predicted]++;
}

static unsigned long row_sum(const metrics_confusion *c, unsigned k)
{
    unsigned long s = 0;
    for (unsigned j = 0; j < c->n; j++)
        s += c->counts[(size_t)k * c->n + j];
    return s;
}

static unsigned long col_sum(const metrics_confusion *c, unsigned k)
{
    unsigned long s = 0;
    for (unsigned j = 0; j < c->n; j++)
        s += c->counts[(size_t)j * c->n + k];
    return s;
}

unsigned long metrics_total(const metrics_confusion *c)
{
    unsigned long s = 0;
    for (unsigned k = 0; k < c->n; k++)
        s += row_sum(c, k);
    return s;
}

double metrics_accuracy(const metrics_confusion *c)
{
    unsigned long total = metrics_total(c), right = 0;
    for (unsigned k = 0; k < c->n; k++)
        right += c->counts[(size_t)k * c->n + k];
    return total ? (double)right / (double)total : NAN;
}

double metrics_precision(const metrics_confusion *c, unsigned k)
{
    unsigned long s = col_sum(c, k);
    return s ? (double)c->counts[(size_t)k * c->n + k] / (double)s : NAN;
}

double metrics_recall(const metrics_confusion *c, unsigned k)
{
    unsigned long s = row_sum(c, k);
    return s ? (double)c->counts[(size_t)k * c->n + k] / (double)s : NAN;
}

double metrics_f1(const metrics_confusion *c, unsigned k)
{
    double p = metrics_precision(c, k), r = metrics_recall(c, k);
    if (isnan(r)) return NAN;
    if (isnan(p) || p + r == 0) return 0;
    return 2 * p * r / (p + r);
}

double metrics_balanced_accuracy(const metrics_confusion *c)
{
    double sum = 0;
    unsigned present = 0;
    for (unsigned k = 0; k < c->n; k++) {
        double r = metrics_recall(c, k);
        if (!isnan(r)) {
            sum += r;
            present++;
        }
    }
    return present ? sum / present : NAN;
}

unsigned metrics_argmax(const float *p, unsigned n)
{
    unsigned best = 0;
    for (unsigned k = 1; k < n; k++)
        if (p[k] > p[best]) best = k;
    return best;
}

static json_t *number_or_null(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

json_t *metrics_confusion_json(const metrics_confusion *c)
{
    json_t *rows = json_array();
    for (unsigned i = 0; i < c->n; i++) {
        json_t *row = json_array();
        for (unsigned j = 0; j < c->n; j++)
            json_array_append_new(row, json_integer((json_int_t)c->counts[(size_t)i * c->n + j]));
        json_array_append_new(rows, row);
    }
    return rows;
}

json_t *metrics_json(const metrics_confusion *c, const char (*labels)[64])
{
    json_t *per = json_object();
    for (unsigned k = 0; k < c->n; k++)
        json_object_set_new(
            per, labels[k],
            json_pack("{s:o, s:o, s:o, s:I}", "precision", number_or_null(metrics_precision(c, k)),
                      "recall", number_or_null(metrics_recall(c, k)), "f1",
                      number_or_null(metrics_f1(c, k)), "support", (json_int_t)row_sum(c, k)));
    return json_pack("{s:I, s:o, s:o, s:o, s:o}", "n", (json_int_t)metrics_total(c), "accuracy",
                     number_or_null(metrics_accuracy(c)), "balanced_accuracy",
                     number_or_null(metrics_balanced_accuracy(c)), "per_class", per, "confusion",
                     metrics_confusion_json(c));
}

static void print_score(FILE *out, double x)
{
    if (isnan(x))
        fprintf(out, "       -");
    else
        fprintf(out, " %7.3f", x);
}

void metrics_print(const metrics_confusion *c, const char (*labels)[64], const char *title,
                   FILE *out)
{
    fprintf(out, "%s: accuracy %.2f%%, balanced accuracy %.2f%% (%lu)\n", title,
            100 * metrics_accuracy(c), 100 * metrics_balanced_accuracy(c), metrics_total(c));
    fprintf(out, "  %-12s %8s %8s %8s %8s\n", "label", "precis.", "recall", "f1", "support");
    for (unsigned k = 0; k < c->n; k++) {
        fprintf(out, "  %-12.12s", labels[k]);
        print_score(out, metrics_precision(c, k));
        print_score(out, metrics_recall(c, k));
        print_score(out, metrics_f1(c, k));
        fprintf(out, " %8lu\n", row_sum(c, k));
    }
    fprintf(out, "  confusion (rows true, columns predicted):\n  %-12s", "");
    for (unsigned j = 0; j < c->n; j++)
        fprintf(out, " %5.5s", labels[j]);
    fprintf(out, "\n");
    for (unsigned i = 0; i < c->n; i++) {
        fprintf(out, "  %-12.12s", labels[i]);
        for (unsigned j = 0; j < c->n; j++)
            fprintf(out, " %5lu", c->counts[(size_t)i * c->n + j]);
        fprintf(out, "\n");
    }
}
