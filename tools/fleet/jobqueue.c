#include "jobqueue.h"

#include "nats_util.h"
#include "path_json.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NAME_LEN       64
#define RESULTS_DUP_S  600.0
#define JOBS_DUP_S     120.0
#define FETCH_MS       1000
#define STORE_ATTEMPTS 5

struct jobqueue {
    natsConnection *nc;
    jsCtx *js;
    char jobs_stream[NAME_LEN + 16], results_stream[NAME_LEN + 16];
    char jobs_subject[NAME_LEN + 16], results_subject[NAME_LEN + 16];
};

static int valid_name(const char *name)
{
    size_t n = strlen(name);
    if (!n || n >= NAME_LEN) return 0;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '-'))
            return 0;
    return 1;
}

static int make_streams(jobqueue_t *q, int replicas, char *err, size_t err_len)
{
    const char *jobs[] = {q->jobs_subject}, *results[] = {q->results_subject};
    nats_stream_spec j = {q->jobs_stream, jobs, 1, 1, replicas, JOBS_DUP_S};
    nats_stream_spec r = {q->results_stream, results, 1, 0, replicas, RESULTS_DUP_S};
    return nats_util_stream(q->js, &j, err, err_len) || nats_util_stream(q->js, &r, err, err_len)
               ? -1
               : 0;
}

jobqueue_t *jobqueue_open(const char *urls, const char *name, int replicas, char *err,
                          size_t err_len)
{
    if (!valid_name(name)) {
        snprintf(err, err_len, "--queue '%s': use 1-63 letters, digits, '_' or '-'", name);
        return NULL;
    }
    jobqueue_t *q = calloc(1, sizeof *q);
    if (!q) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    snprintf(q->jobs_stream, sizeof q->jobs_stream, "GENRE_JOBS_%s", name);
    snprintf(q->results_stream, sizeof q->results_stream, "GENRE_RESULTS_%s", name);
    snprintf(q->jobs_subject, sizeof q->jobs_subject, "genre.jobs.%s", name);
    snprintf(q->results_subject, sizeof q->results_subject, "genre.results.%s", name);
    if (!(q->nc = nats_util_connect(urls, "genre-queue", 0, err, err_len)) ||
        !(q->js = nats_util_jetstream(q->nc, NULL, err, err_len)) ||
        make_streams(q, replicas, err, err_len)) {
        jobqueue_close(q);
        return NULL;
    }
    return q;
}

void jobqueue_close(jobqueue_t *q)
{
    if (!q) return;
    jsCtx_Destroy(q->js);
    natsConnection_Destroy(q->nc);
    free(q);
}

/* Stores `data` on `subject` with a message id, waiting for JetStream. */
/* 0 stored (*duplicate, if given, set when JetStream had the id already
 * and kept the first), -1 with err set. */
static int store(jobqueue_t *q, const char *subject, const char *id, const char *data,
                 int *duplicate, char *err, size_t err_len)
{
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = id;
    jsErrCode code = 0;
    jsPubAck *ack = NULL;
    natsStatus s = js_Publish(&ack, q->js, subject, data, (int)strlen(data), &po, &code);
    if (s != NATS_OK)
        snprintf(err, err_len, "%s: %s (JetStream error %d)", subject, nats_util_error(s),
                 (int)code);
    if (duplicate) *duplicate = ack && ack->Duplicate;
    jsPubAck_Destroy(ack);
    return s == NATS_OK ? 0 : -1;
}

/* A path's job; its id makes a second enqueue of the same file within the
 * jobs stream's duplicate window (2 min, e.g. a retried command) a no-op,
 * which is not counted: 1 a new job, 0 a duplicate, -1 an error. */
static long add_file(jobqueue_t *q, const char *path, char *err, size_t err_len)
{
    char full[PATH_MAX];
    if (!realpath(path, full)) {
        snprintf(err, err_len, "'%s': %s", path, strerror(errno));
        return -1;
    }
    /* The id goes in a header line, which a name's bytes (a newline, say)
     * could break; base64 keeps it one line and still one id per file. */
    char *id = path_json_base64(full);
    if (!id) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    int duplicate = 0, rc = store(q, q->jobs_subject, id, full, &duplicate, err, err_len);
    free(id);
    return rc ? -1 : !duplicate;
}

static long add_tree(jobqueue_t *q, const char *path, char *err, size_t err_len)
{
    struct stat st;
    if (stat(path, &st)) {
        snprintf(err, err_len, "'%s': %s", path, strerror(errno));
        return -1;
    }
    if (S_ISREG(st.st_mode)) return add_file(q, path, err, err_len);
    if (!S_ISDIR(st.st_mode)) return 0;
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    if (n < 0) {
        snprintf(err, err_len, "'%s': %s", path, strerror(errno));
        return -1;
    }
    long added = 0;
    for (int i = 0; i < n; i++) {
        const char *leaf = names[i]->d_name;
        char child[PATH_MAX];
        long r = 0;
        if (strcmp(leaf, ".") && strcmp(leaf, "..") && leaf[0] != '.') {
            snprintf(child, sizeof child, "%s/%s", path, leaf);
            r = added < 0 ? 0 : add_tree(q, child, err, err_len);
        }
        added = r < 0 || added < 0 ? -1 : added + r;
        free(names[i]);
    }
    free(names);
    return added;
}

long jobqueue_enqueue(jobqueue_t *q, const char *const *paths, int n, char *err, size_t err_len)
{
    long total = 0;
    for (int i = 0; i < n; i++) {
        long r = add_tree(q, paths[i], err, err_len);
        if (r < 0) return -1;
        total += r;
    }
    return total;
}

static void still_working(void *msg)
{
    natsMsg_InProgress(msg, NULL);
}

/* The job's result line: genre-classify's, or an error line for a job that
 * names no file (NULL, err set, when there is no result to give). */
static char *job_result(const jobqueue_work_options *o, natsMsg *job, char *err, size_t err_len)
{
    /* A job is a path's bytes (jobqueue.h), not necessarily UTF-8. */
    char path[PATH_MAX];
    int len = natsMsg_GetDataLength(job);
    const char *data = natsMsg_GetData(job);
    snprintf(path, sizeof path, "%.*s", len, data ? data : "");
    if (len <= 0 || (size_t)len >= sizeof path || memchr(data, '\0', (size_t)len)) {
        char *line = classify_job_error(path, "the job is not a file path");
        if (!line) snprintf(err, err_len, "out of memory");
        return line;
    }
    int every_ms = (int)(o->ack_wait * 1000 / 3);
    return classify_job_run(&o->classify, path, still_working, job, every_ms, err, err_len);
}

/* Classifies one job, stores its result, then acknowledges the job. */
static int do_job(jobqueue_t *q, const jobqueue_work_options *o, natsMsg *job, char *err,
                  size_t err_len)
{
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, job) != NATS_OK) {
        snprintf(err, err_len, "a job without JetStream metadata");
        return -1;
    }
    char id[64];
    snprintf(id, sizeof id, "job-%llu", (unsigned long long)meta->Sequence.Stream);
    jsMsgMetaData_Destroy(meta);
    char *result = job_result(o, job, err, err_len);
    if (!result) {
        natsMsg_Nak(job, NULL); /* back on the queue now, not after ack_wait */
        return -1;
    }
    int rc = -1;
    for (int i = 0; i < STORE_ATTEMPTS && rc; i++)
        if ((rc = store(q, q->results_subject, id, result, NULL, err, err_len))) nats_Sleep(1000);
    free(result);
    if (rc) return -1; /* not acknowledged: the job comes back */
    natsStatus s = natsMsg_AckSync(job, NULL, NULL);
    if (s != NATS_OK) snprintf(err, err_len, "acknowledging %s: %s", id, nats_util_error(s));
    return s == NATS_OK ? 0 : -1;
}

long jobqueue_work(jobqueue_t *q, const jobqueue_work_options *o, volatile sig_atomic_t *stop,
                   char *err, size_t err_len)
{
    natsSubscription *sub = nats_util_pull(q->js, q->jobs_stream, q->jobs_subject, "workers",
                                           o->ack_wait, err, err_len);
    if (!sub) return -1;
    long done = 0;
    int64_t busy_ms = nats_Now(); /* when the last message came */
    /* done < 0: a job failed without a result (the worker, not the file, is
     * at fault, and the job went back for another): stop here. */
    while (!*stop && done >= 0 && (!o->max_jobs || done < o->max_jobs)) {
        natsMsgList list = {0};
        natsStatus s = nats_util_fetch(sub, &list, 1, FETCH_MS);
        if (s == NATS_TIMEOUT) {
            if (o->idle_exit > 0 && nats_Now() - busy_ms >= (int64_t)(o->idle_exit * 1000)) break;
            continue;
        }
        if (s != NATS_OK) {
            snprintf(err, err_len, "fetching a job: %s", nats_util_error(s));
            done = -1;
            break;
        }
        busy_ms = nats_Now();
        for (int i = 0; i < list.Count && done >= 0; i++) {
            if (!do_job(q, o, list.Msgs[i], err, err_len))
                done++;
            else if (!*stop) /* a stop ends the job it interrupted: not a failure */
                done = -1;
        }
        natsMsgList_Destroy(&list);
    }
    natsSubscription_Destroy(sub);
    return done;
}

long jobqueue_results(jobqueue_t *q, FILE *out, char *err, size_t err_len)
{
    jsStreamInfo *si = NULL;
    natsStatus s = js_GetStreamInfo(&si, q->js, q->results_stream, NULL, NULL);
    if (s != NATS_OK) {
        snprintf(err, err_len, "stream '%s': %s", q->results_stream, nats_util_error(s));
        return -1;
    }
    uint64_t first = si->State.FirstSeq, last = si->State.LastSeq;
    long count = 0;
    jsStreamInfo_Destroy(si);
    for (uint64_t seq = first; seq && seq <= last; seq++) {
        natsMsg *m = NULL;
        jsErrCode code = 0;
        if (js_GetMsg(&m, q->js, q->results_stream, seq, NULL, &code) != NATS_OK) continue;
        fprintf(out, "%.*s\n", natsMsg_GetDataLength(m), natsMsg_GetData(m));
        natsMsg_Destroy(m);
        count++;
    }
    return count;
}
