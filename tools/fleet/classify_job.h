/* classify_job: one archive file through genre-classify --json, for a
 * work-queue worker.
 *
 * The worker runs the genre-classify program rather than linking its code,
 * so that a result is exactly the line `genre-classify --json FILE` prints
 * (the same program, options and model), and a file that crashes the
 * decoder costs one result, not the worker. */
#ifndef GENRED_CLASSIFY_JOB_H
#define GENRED_CLASSIFY_JOB_H

#include <stddef.h>

typedef struct {
    const char *program; /* genre-classify's path */
    const char *model;   /* --model, or NULL for the built-in one */
    double hop;          /* --hop, or 0 for its default */
} classify_job_options;

/* Called about every `every_ms` while the file is being classified (the
 * worker tells JetStream the job is still in progress). */
typedef void (*classify_job_tick)(void *ctx);

/* The result line for `path`, without its newline (malloc'd): the program's
 * JSON line, for a file it cannot read too ({"file":PATH,"error":"empty
 * file"}), or, when it prints none (a crash, a model that will not load) or
 * PATH is a directory, {"file":PATH,"error":"its message"}. NULL
 * (err says why) when the program cannot be run at all, or was stopped by
 * SIGINT, SIGTERM or SIGHUP, which come from outside (Ctrl-C, a service
 * stop), not from the file: such a job must not be answered. */
char *classify_job_run(const classify_job_options *o, const char *path, classify_job_tick tick,
                       void *ctx, int every_ms, char *err, size_t err_len);

/* The result line of a job that has no audio result: {"file":PATH,
 * "error":MESSAGE}, the name kept exactly (path_json.h). NULL when out of
 * memory. */
char *classify_job_error(const char *path, const char *message);

/* genre-classify next to the running program (same build or install). */
void classify_job_default_program(char *out, size_t out_len);

#endif
