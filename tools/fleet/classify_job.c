#include "classify_job.h"

#include "path_json.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define OUTPUT_MAX (64u << 20)

extern char **environ;

void classify_job_default_program(char *out, size_t out_len)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        snprintf(out, out_len, "genre-classify");
        return;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) *slash = '\0';
    snprintf(out, out_len, "%s/genre-classify", self);
}

typedef struct {
    char *data;
    size_t len, cap;
} buffer;

static int append(buffer *b, const char *src, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > OUTPUT_MAX) return -1;
        char *d = realloc(b->data, cap);
        if (!d) return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, src, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

/* Reads the child's stdout and stderr to their ends, ticking while it works. */
static void collect(int out_fd, int err_fd, buffer *out, buffer *errs, classify_job_tick tick,
                    void *ctx, int every_ms)
{
    struct pollfd p[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    int open_fds = 2;
    while (open_fds) {
        int r = poll(p, 2, every_ms);
        if (r < 0 && errno == EINTR) continue;
        if (r == 0 && tick) tick(ctx);
        for (int i = 0; r > 0 && i < 2; i++) {
            if (p[i].fd < 0 || !p[i].revents) continue;
            char chunk[8192];
            ssize_t n = read(p[i].fd, chunk, sizeof chunk);
            if (n > 0 && !append(i ? errs : out, chunk, (size_t)n)) continue;
            if (n < 0 && errno == EINTR) continue;
            p[i].fd = -1;
            open_fds--;
        }
    }
}

char *classify_job_error(const char *path, const char *message)
{
    char text[1024];
    snprintf(text, sizeof text, "%s", message && *message ? message : "genre-classify failed");
    text[strcspn(text, "\n")] = '\0';
    json_t *o = path_json_error(path, text);
    char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return line;
}

static int spawn(const classify_job_options *o, const char *path, int out[2], int errs[2],
                 pid_t *pid)
{
    char hop[32];
    snprintf(hop, sizeof hop, "%g", o->hop);
    char *argv[10];
    int n = 0;
    argv[n++] = (char *)o->program;
    argv[n++] = "--json";
    if (o->model) argv[n++] = "--model", argv[n++] = (char *)o->model;
    if (o->hop > 0) argv[n++] = "--hop", argv[n++] = hop;
    argv[n++] = "--";
    argv[n++] = (char *)path;
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, errs[1], 2);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    posix_spawn_file_actions_addclose(&fa, errs[0]);
    int rc = posix_spawn(pid, o->program, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

/* Ctrl-C in a terminal and a service stop signal the whole process group
 * or cgroup, genre-classify with its worker: that says nothing of the
 * file. A crash (SIGSEGV, SIGABRT, ...) does, and becomes its result. */
static int stopped_from_outside(int status)
{
    if (!WIFSIGNALED(status)) return 0;
    int sig = WTERMSIG(status);
    return sig == SIGINT || sig == SIGTERM || sig == SIGHUP;
}

char *classify_job_run(const classify_job_options *o, const char *path, classify_job_tick tick,
                       void *ctx, int every_ms, char *err, size_t err_len)
{
    /* genre-classify would take a folder's files, one line each; a job is
     * one file and has one result. */
    struct stat st;
    if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
        char *line = classify_job_error(path, "a directory: enqueue its files");
        if (!line) snprintf(err, err_len, "out of memory");
        return line;
    }
    int out[2], errs[2];
    if (pipe2(out, O_CLOEXEC)) {
        snprintf(err, err_len, "pipe: %s", strerror(errno));
        return NULL;
    }
    if (pipe2(errs, O_CLOEXEC)) {
        snprintf(err, err_len, "pipe: %s", strerror(errno));
        close(out[0]), close(out[1]);
        return NULL;
    }
    pid_t pid;
    int rc = spawn(o, path, out, errs, &pid);
    close(out[1]);
    close(errs[1]);
    buffer stdout_text = {0}, stderr_text = {0};
    if (rc == 0) collect(out[0], errs[0], &stdout_text, &stderr_text, tick, ctx, every_ms);
    close(out[0]);
    close(errs[0]);
    int status = 0;
    if (rc == 0) waitpid(pid, &status, 0);
    char *line = NULL;
    if (rc) {
        snprintf(err, err_len, "cannot run '%s': %s", o->program, strerror(rc));
    } else if (stopped_from_outside(status)) {
        snprintf(err, err_len, "genre-classify stopped by signal %d on '%s': no result",
                 WTERMSIG(status), path);
    } else if (WIFEXITED(status) && stdout_text.len && stdout_text.data[0] != '\n') {
        /* Also for a file that failed (exit 1): --json printed its
         * {"file","error"} line, which is the result as it is. */
        stdout_text.data[strcspn(stdout_text.data, "\n")] = '\0';
        line = stdout_text.data;
        stdout_text.data = NULL;
    } else {
        /* No line (a crash, a bad --model): genre-classify's own message,
         * "genre-classify: PATH: reason". */
        char why[64];
        snprintf(why, sizeof why, "genre-classify killed by signal %d",
                 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        line = classify_job_error(path, WIFSIGNALED(status) ? why : stderr_text.data);
        if (!line) snprintf(err, err_len, "out of memory");
    }
    free(stdout_text.data);
    free(stderr_text.data);
    return line;
}
