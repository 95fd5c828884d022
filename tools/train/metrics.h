/* metrics: confusion matrices and the scores every report gives
 * (accuracy, balanced accuracy = mean recall over the classes present,
 * per-class precision, recall and F1). */
#ifndef GENRED_METRICS_H
#define GENRED_METRICS_H

#include <jansson.h>
#include <stddef.h>

typedef struct {
    unsigned n;
    unsigned long *counts; /* n x n, rows = true label, columns = predicted */
} metrics_confusion;

int metrics_init(metrics_confusion *c, unsigned n_labels);
void metrics_free(metrics_confusion *c);
void metrics_clear(metrics_confusion *c);
void metrics_add(metrics_confusion *c, unsigned truth, unsigned predicted);
unsigned long metrics_total(const metrics_confusion *c);
double metrics_accuracy(const metrics_confusion *c);
double metrics_balanced_accuracy(const metrics_confusion *c);
/* NAN where undefined (no support / nothing predicted). */
double metrics_precision(const metrics_confusion *c, unsigned k);
double metrics_recall(const metrics_confusion *c, unsigned k);
double metrics_f1(const metrics_confusion *c, unsigned k);

/* The confusion matrix as a JSON array of rows. */
json_t *metrics_confusion_json(const metrics_confusion *c);
/* {"n", "accuracy", "balanced_accuracy", "per_class": {label: {...}}, "confusion"} */
json_t *metrics_json(const metrics_confusion *c, const char (*labels)[64]);
/* Human-readable table and matrix. */
void metrics_print(const metrics_confusion *c, const char (*labels)[64], const char *title,
                   FILE *out);

/* Index of the largest of n values. */
unsigned metrics_argmax(const float *p, unsigned n);

#endif
