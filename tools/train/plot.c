/* plot: minimal SVG line charts and heat maps. */
#include "plot.h"

#include <math.h>
#include <stdio.h>

static const char *const colours[] = {"#1f77b4", "#d62728", "#2ca02c",
                                      "#ff7f0e", "#9467bd", "#8c564b"};

static int finish(FILE *f)
{
    fprintf(f, "</svg>\n");
    return fclose(f) == 0 ? 0 : -1;
}

int plot_lines(const char *path, const char *title, const char *y_label, const plot_series *s,
               unsigned n_series, unsigned n)
{
    const double W = 640, H = 400, left = 60, right = 170, top = 40, bottom = 50;
    double lo = INFINITY, hi = -INFINITY;
    for (unsigned k = 0; k < n_series; k++)
        for (unsigned i = 0; i < n; i++)
            if (isfinite(s[k].y[i])) {
                lo = fmin(lo, s[k].y[i]);
                hi = fmax(hi, s[k].y[i]);
            }
    if (!isfinite(lo)) lo = 0, hi = 1;
    if (hi - lo < 1e-9) hi = lo + 1;
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    double pw = W - left - right, ph = H - top - bottom;
    fprintf(f,
            "<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' "
            "font-family='sans-serif' font-size='12'>\n<rect width='100%%' height='100%%' "
            "fill='white'/>\n<text x='%.0f' y='24' font-size='15'>%s</text>\n",
            W, H, left, title);
    fprintf(f, "<rect x='%.0f' y='%.0f' width='%.0f' height='%.0f' fill='none' stroke='#888'/>\n",
            left, top, pw, ph);
    for (int g = 0; g <= 4; g++) {
        double v = lo + (hi - lo) * g / 4, y = top + ph - ph * g / 4;
        fprintf(f, "<line x1='%.0f' x2='%.0f' y1='%.1f' y2='%.1f' stroke='#eee'/>", left, left + pw,
                y, y);
        fprintf(f, "<text x='%.0f' y='%.1f' text-anchor='end'>%.3g</text>\n", left - 4, y + 4, v);
    }
    fprintf(f, "<text x='%.0f' y='%.0f' text-anchor='middle'>epoch (1..%u)</text>\n", left + pw / 2,
            H - 15, n);
    fprintf(f, "<text transform='translate(14 %.0f) rotate(-90)' text-anchor='middle'>%s</text>\n",
            top + ph / 2, y_label);
    for (unsigned k = 0; k < n_series; k++) {
        const char *colour = colours[k % (sizeof colours / sizeof colours[0])];
        fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='2' points='", colour);
        for (unsigned i = 0; i < n; i++) {
            if (!isfinite(s[k].y[i])) continue;
            double x = left + (n > 1 ? pw * i / (n - 1) : pw / 2);
            double y = top + ph - ph * (s[k].y[i] - lo) / (hi - lo);
            fprintf(f, "%.1f,%.1f ", x, y);
        }
        fprintf(f,
                "'/>\n<rect x='%.0f' y='%.0f' width='14' height='4' fill='%s'/>"
                "<text x='%.0f' y='%.0f'>%s</text>\n",
                W - right + 12, top + 10 + 20.0 * k, colour, W - right + 32, top + 15 + 20.0 * k,
                s[k].name);
    }
    return finish(f);
}

int plot_confusion(const char *path, const char *title, const unsigned long *counts,
                   const char (*labels)[64], unsigned n)
{
    const double cell = 44, left = 100, top = 60;
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    double W = left + cell * n + 20, H = top + cell * n + 50;
    fprintf(f,
            "<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' "
            "font-family='sans-serif' font-size='11'>\n<rect width='100%%' height='100%%' "
            "fill='white'/>\n<text x='10' y='20' font-size='14'>%s</text>\n"
            "<text x='10' y='40'>rows: true label, columns: predicted; shade: row share</text>\n",
            W, H, title);
    for (unsigned i = 0; i < n; i++) {
        unsigned long row = 0;
        for (unsigned j = 0; j < n; j++)
            row += counts[(size_t)i * n + j];
        fprintf(f, "<text x='%.0f' y='%.0f' text-anchor='end'>%s</text>\n", left - 6,
                top + cell * i + cell / 2 + 4, labels[i]);
        for (unsigned j = 0; j < n; j++) {
            unsigned long c = counts[(size_t)i * n + j];
            double share = row ? (double)c / (double)row : 0;
            int shade = (int)lround(255 * (1 - share));
            fprintf(f,
                    "<rect x='%.0f' y='%.0f' width='%.0f' height='%.0f' fill='rgb(%d,%d,255)' "
                    "stroke='#ccc'/><text x='%.0f' y='%.0f' text-anchor='middle' fill='%s'>%lu"
                    "</text>\n",
                    left + cell * j, top + cell * i, cell, cell, shade, shade,
                    left + cell * j + cell / 2, top + cell * i + cell / 2 + 4,
                    share > 0.5 ? "white" : "black", c);
        }
    }
    for (unsigned j = 0; j < n; j++)
        fprintf(f, "<text transform='translate(%.0f %.0f) rotate(40)' font-size='10'>%s</text>\n",
                left + cell * j + cell / 2 - 6, top + cell * n + 12, labels[j]);
    return finish(f);
}
