/* plot: the training report's figures, written as plain SVG (no plotting
 * dependency; any browser shows them). */
#ifndef GENRED_PLOT_H
#define GENRED_PLOT_H

typedef struct {
    const char *name;
    const double *y; /* n points at x = 1..n; NAN points are skipped */
} plot_series;

/* Line chart of several series over epochs. 0 or -1 (cannot write). */
int plot_lines(const char *path, const char *title, const char *y_label, const plot_series *s,
               unsigned n_series, unsigned n);
/* Confusion matrix as a heat map, rows normalised (recall), counts shown. */
int plot_confusion(const char *path, const char *title, const unsigned long *counts,
                   const char (*labels)[64], unsigned n);

#endif
