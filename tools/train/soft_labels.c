/* soft_labels: reads a teacher's per-window probabilities (format in the
 * header). Files are written by a program, but a truncated or hand-edited
 * one must still give a line-exact error, never a half-read table. */
#include "soft_labels.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct soft_labels {
    float *rows; /* n_rows x n_labels */
    unsigned n_rows, n_labels;
    double hop;
};

typedef struct {
    FILE *f;
    const char *path;
    char *line;
    size_t cap;
    unsigned number;
    char *err;
    size_t err_len;
} reader;

static int bad(reader *r, const char *why)
{
    snprintf(r->err, r->err_len, "%s:%u: %s", r->path, r->number, why);
    return -1;
}

/* The next line without its newline; NULL at the end of the file. */
static char *next_line(reader *r)
{
    ssize_t n = getline(&r->line, &r->cap, r->f);
    if (n < 0) return NULL;
    r->number++;
    while (n > 0 && (r->line[n - 1] == '\n' || r->line[n - 1] == '\r'))
        r->line[--n] = 0;
    return r->line;
}

static int check_labels(reader *r, const char (*labels)[DATASET_LABEL_LEN + 1], unsigned n)
{
    char *line = next_line(r), *save = NULL;
    if (!line || strncmp(line, "labels\t", 7)) return bad(r, "expected 'labels<TAB>...'");
    unsigned k = 0;
    char *tok = strtok_r(line + 7, "\t", &save);
    for (; tok && k < n && !strcmp(tok, labels[k]); tok = strtok_r(NULL, "\t", &save))
        k++;
    if (k != n || tok) return bad(r, "labels differ from the model's (order and names must match)");
    return 0;
}

static int read_seconds(reader *r, const char *key, double *out)
{
    char *line = next_line(r), *end;
    size_t n = strlen(key);
    if (!line || strncmp(line, key, n) || line[n] != '\t') {
        char why[64];
        snprintf(why, sizeof why, "expected '%s<TAB>SECONDS'", key);
        return bad(r, why);
    }
    errno = 0;
    *out = strtod(line + n + 1, &end);
    if (errno || *end || !(*out > 0) || *out > 3600) return bad(r, "not a number of seconds");
    return 0;
}

/* One row into out; rows are renormalised (the file rounds to 5 decimals). */
static int parse_row(reader *r, char *line, unsigned n, float *out)
{
    double sum = 0;
    char *p = line, *end;
    for (unsigned k = 0; k < n; k++) {
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || !isfinite(v) || v < 0 || v > 1)
            return bad(r, "expected a probability (0 to 1)");
        if (*end != (k + 1 < n ? '\t' : 0))
            return bad(r, k + 1 < n ? "too few values" : "too many values");
        out[k] = (float)v;
        sum += v;
        p = end + 1;
    }
    if (fabs(sum - 1) > 1e-2) return bad(r, "probabilities do not sum to 1");
    for (unsigned k = 0; k < n; k++)
        out[k] = (float)(out[k] / sum);
    return 0;
}

static int read_rows(reader *r, soft_labels_t *s)
{
    unsigned cap = 0;
    for (char *line; (line = next_line(r));) {
        if (s->n_rows == cap) {
            cap = cap ? 2 * cap : 64;
            float *grown = realloc(s->rows, (size_t)cap * s->n_labels * sizeof *grown);
            if (!grown) return bad(r, "out of memory");
            s->rows = grown;
        }
        if (parse_row(r, line, s->n_labels, s->rows + (size_t)s->n_rows * s->n_labels)) return -1;
        s->n_rows++;
    }
    return s->n_rows ? 0 : bad(r, "no rows");
}

static int read_file(reader *r, soft_labels_t *s, const char (*labels)[DATASET_LABEL_LEN + 1])
{
    double window;
    char *line = next_line(r);
    if (!line || strcmp(line, "genred-soft 1")) return bad(r, "not a genred-soft 1 file");
    return check_labels(r, labels, s->n_labels) || read_seconds(r, "hop", &s->hop) ||
                   read_seconds(r, "window", &window) || read_rows(r, s)
               ? -1
               : 0;
}

soft_labels_t *soft_labels_load(const char *dir, const char *rel,
                                const char (*labels)[DATASET_LABEL_LEN + 1], unsigned n_labels,
                                char *err, size_t err_len)
{
    size_t n = strlen(dir) + strlen(rel) + 8;
    char *path = malloc(n);
    soft_labels_t *s = calloc(1, sizeof *s);
    if (!path || !s) {
        snprintf(err, err_len, "out of memory");
        free(path);
        free(s);
        return NULL;
    }
    snprintf(path, n, "%s/%s.soft", dir, rel);
    s->n_labels = n_labels;
    reader r = {fopen(path, "r"), path, NULL, 0, 0, err, err_len};
    int rc = r.f ? read_file(&r, s, labels) : -1;
    if (!r.f) snprintf(err, err_len, "%s: %s", path, strerror(errno));
    if (r.f) fclose(r.f);
    free(r.line);
    free(path);
    if (rc) {
        soft_labels_destroy(s);
        return NULL;
    }
    return s;
}

void soft_labels_destroy(soft_labels_t *s)
{
    if (!s) return;
    free(s->rows);
    free(s);
}

const float *soft_labels_at(const soft_labels_t *s, double seconds)
{
    double i = floor(seconds / s->hop + 0.5);
    unsigned row = i <= 0 ? 0 : i >= s->n_rows - 1 ? s->n_rows - 1 : (unsigned)i;
    return s->rows + (size_t)row * s->n_labels;
}
