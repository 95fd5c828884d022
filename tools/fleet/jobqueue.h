/* jobqueue: archive tagging on a JetStream work queue.
 *
 * Queue NAME is two streams: GENRE_JOBS_NAME (subject genre.jobs.NAME,
 * work-queue retention: a job is gone once a worker acknowledges it) holds
 * file paths on storage every worker sees; GENRE_RESULTS_NAME (subject
 * genre.results.NAME) holds one result line per job. A worker stores the
 * result, waits for JetStream to confirm it, and only then acknowledges the
 * job; a worker that dies mid-file never acknowledges, so the job is
 * delivered again after ack_wait. The result's message id is the job's
 * sequence number, so a job redelivered after its result was stored (the
 * worker died between the two) is stored once: the results stream remembers
 * ids for 10 minutes, far longer than the 60 s ack wait. */
#ifndef GENRED_JOBQUEUE_H
#define GENRED_JOBQUEUE_H

#include "classify_job.h"

#include <signal.h>
#include <stdio.h>

typedef struct jobqueue jobqueue_t;

/* Connects and creates the queue's streams if missing. NULL with a reason. */
jobqueue_t *jobqueue_open(const char *urls, const char *name, int replicas, char *err,
                          size_t err_len);
void jobqueue_close(jobqueue_t *q);

/* Adds every regular file under each path (folders recursively, in name
 * order) as a job. The count of new jobs (a file enqueued again within the
 * jobs stream's 2-minute duplicate window is not one), or -1 with err set. */
long jobqueue_enqueue(jobqueue_t *q, const char *const *paths, int n, char *err, size_t err_len);

typedef struct {
    classify_job_options classify;
    double ack_wait;  /* s before an unacknowledged job is delivered again */
    double idle_exit; /* s without jobs before returning; 0 = never */
    long max_jobs;    /* return after this many; 0 = no limit */
} jobqueue_work_options;

/* Takes jobs one at a time until idle_exit, max_jobs, or *stop. The count
 * done, or -1 with err set. A job that fails without a result (its
 * genre-classify stopped by a signal from outside) goes back on the queue
 * at once; when *stop caused that, the count is still returned, and err
 * says which job. */
long jobqueue_work(jobqueue_t *q, const jobqueue_work_options *o, volatile sig_atomic_t *stop,
                   char *err, size_t err_len);

/* Prints every stored result line, oldest first, and returns their count
 * (or -1 with err set). */
long jobqueue_results(jobqueue_t *q, FILE *out, char *err, size_t err_len);

#endif
