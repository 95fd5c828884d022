/* rt_guard: an LD_PRELOAD library that proves an audio callback stays real-time safe.
 *
 * It wraps the two ways genred hands a callback to an audio API
 * (jack_set_process_callback and Pa_OpenStream) so that the callback runs with
 * a thread-local flag set, and interposes the calls a real-time callback must
 * never make: heap allocation, locks and condition waits, blocking or I/O
 * syscalls, stdio. A call made while the flag is set is counted. At exit the
 * counts are appended to the file named by RT_GUARD_REPORT as one line:
 *
 *   pid=P callbacks=N violations=M first=NAME wakeups=W
 *
 * so a test can require N > 0 (the guard really saw the callback) and M == 0.
 *
 * One syscall is allowed, and counted apart as W: write(2) of 8 bytes to an
 * eventfd created with EFD_NONBLOCK, genred's wake-up of its worker
 * (daemon/arrivals.h). It cannot block: a non-blocking eventfd write fails
 * with EAGAIN rather than wait, and only when the counter nears 2^64 - 2,
 * which the worker's reads keep far away. The guard learns such fds by
 * wrapping eventfd(); any other write, to a blocking eventfd included, is a
 * violation.
 *
 * Allocation is forwarded to glibc's __libc_* entry points rather than
 * dlsym(RTLD_NEXT), because dlsym itself allocates. Counters are lock-free
 * atomics, safe from any thread or signal handler. Not for sanitizer builds:
 * ASan and TSan interpose the same functions. */
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include <jack/jack.h>
#include <portaudio.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

/* initial-exec: the flag is read inside malloc, where a lazily allocated TLS
 * block (general-dynamic model) could recurse into malloc. */
static __thread int in_callback __attribute__((tls_model("initial-exec")));

static atomic_ulong callbacks;
static atomic_ulong violations;
static atomic_ulong wakeups;
static _Atomic(const char *) first_violation;

static void note(const char *name)
{
    if (!in_callback) return;
    atomic_fetch_add_explicit(&violations, 1, memory_order_relaxed);
    const char *none = NULL;
    atomic_compare_exchange_strong(&first_violation, &none, name);
}

/* Looks up the next definition of a symbol once. ISO C has no cast from
 * dlsym's object pointer to a function pointer, hence the memcpy. dlsym may
 * allocate, which is harmless: allocation does not go through dlsym. */
static void next_symbol(void *fn_out, const char *name, const char *version)
{
    void *p = version ? dlvsym(RTLD_NEXT, name, version) : NULL;
    if (!p) p = dlsym(RTLD_NEXT, name);
    memcpy(fn_out, &p, sizeof p);
}

#define NEXT(type, name, version)                                                                  \
    static type next_##name;                                                                       \
    if (!next_##name) next_symbol(&next_##name, #name, version)

/* ---- the wrapped callbacks ---- */

/* PortAudio's JACK host registers a JACK process callback of its own, whose
 * internals (a trylock, its buffer processor) are PortAudio's business; the
 * callback genred gives PortAudio is guarded through Pa_OpenStream instead. */
static int registered_by_portaudio(const void *caller)
{
    Dl_info info;
    return dladdr(caller, &info) && info.dli_fname && strstr(info.dli_fname, "libportaudio");
}

/* A handful of slots: genred registers one callback per stream. Slots are
 * never reused, so a callback in flight never sees its slot change. */
enum { SLOTS = 64 };

struct jack_slot {
    JackProcessCallback cb;
    void *arg;
};
static struct jack_slot jack_slots[SLOTS];
static atomic_int jack_used;

static int guarded_jack_process(jack_nframes_t nframes, void *arg)
{
    struct jack_slot *slot = arg;
    atomic_fetch_add_explicit(&callbacks, 1, memory_order_relaxed);
    in_callback = 1;
    int r = slot->cb(nframes, slot->arg);
    in_callback = 0;
    return r;
}

int jack_set_process_callback(jack_client_t *client, JackProcessCallback cb, void *arg)
{
    typedef int (*fn)(jack_client_t *, JackProcessCallback, void *);
    NEXT(fn, jack_set_process_callback, NULL);
    if (!cb || registered_by_portaudio(__builtin_return_address(0)))
        return next_jack_set_process_callback(client, cb, arg);
    int i = atomic_fetch_add(&jack_used, 1);
    if (i >= SLOTS) return next_jack_set_process_callback(client, cb, arg);
    jack_slots[i] = (struct jack_slot){cb, arg};
    return next_jack_set_process_callback(client, guarded_jack_process, &jack_slots[i]);
}

struct pa_slot {
    PaStreamCallback *cb;
    void *arg;
};
static struct pa_slot pa_slots[SLOTS];
static atomic_int pa_used;

static int guarded_pa_callback(const void *input, void *output, unsigned long frames,
                               const PaStreamCallbackTimeInfo *time, PaStreamCallbackFlags status,
                               void *arg)
{
    struct pa_slot *slot = arg;
    atomic_fetch_add_explicit(&callbacks, 1, memory_order_relaxed);
    in_callback = 1;
    int r = slot->cb(input, output, frames, time, status, slot->arg);
    in_callback = 0;
    return r;
}

PaError Pa_OpenStream(PaStream **stream, const PaStreamParameters *in,
                      const PaStreamParameters *out, double rate, unsigned long frames,
                      PaStreamFlags flags, PaStreamCallback *cb, void *arg)
{
    typedef PaError (*fn)(PaStream **, const PaStreamParameters *, const PaStreamParameters *,
                          double, unsigned long, PaStreamFlags, PaStreamCallback *, void *);
    NEXT(fn, Pa_OpenStream, NULL);
    if (!cb) return next_Pa_OpenStream(stream, in, out, rate, frames, flags, cb, arg);
    int i = atomic_fetch_add(&pa_used, 1);
    if (i >= SLOTS) return next_Pa_OpenStream(stream, in, out, rate, frames, flags, cb, arg);
    pa_slots[i] = (struct pa_slot){cb, arg};
    return next_Pa_OpenStream(stream, in, out, rate, frames, flags, guarded_pa_callback,
                              &pa_slots[i]);
}

/* ---- heap ---- */

void *malloc(size_t n)
{
    note("malloc");
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    note("calloc");
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    note("realloc");
    return __libc_realloc(p, n);
}

void free(void *p)
{
    note("free");
    __libc_free(p);
}

void *aligned_alloc(size_t align, size_t n)
{
    note("aligned_alloc");
    return __libc_memalign(align, n);
}

void *memalign(size_t align, size_t n)
{
    note("memalign");
    return __libc_memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    note("posix_memalign");
    void *p = __libc_memalign(align, n);
    if (!p) return 12; /* ENOMEM */
    *out = p;
    return 0;
}

/* ---- locks and waits ---- */

#define GUARD_FORWARD(ret, name, params, args)                                                     \
    ret name params                                                                                \
    {                                                                                              \
        typedef ret(*fn) params;                                                                   \
        NEXT(fn, name, NULL);                                                                      \
        note(#name);                                                                               \
        return next_##name args;                                                                   \
    }

GUARD_FORWARD(int, pthread_mutex_lock, (pthread_mutex_t * m), (m))
GUARD_FORWARD(int, pthread_mutex_trylock, (pthread_mutex_t * m), (m))
GUARD_FORWARD(int, pthread_mutex_timedlock, (pthread_mutex_t * m, const struct timespec *t), (m, t))

/* Plain dlsym would hand back glibc's pre-2.3.2 condition variables, whose
 * layout differs: ask for the version the program itself was linked to. */
#define GUARD_FORWARD_COND(name, params, args)                                                     \
    int name params                                                                                \
    {                                                                                              \
        typedef int(*fn) params;                                                                   \
        NEXT(fn, name, "GLIBC_2.3.2");                                                             \
        note(#name);                                                                               \
        return next_##name args;                                                                   \
    }

GUARD_FORWARD_COND(pthread_cond_wait, (pthread_cond_t * c, pthread_mutex_t *m), (c, m))
GUARD_FORWARD_COND(pthread_cond_timedwait,
                   (pthread_cond_t * c, pthread_mutex_t *m, const struct timespec *t), (c, m, t))
GUARD_FORWARD_COND(pthread_cond_signal, (pthread_cond_t * c), (c))
GUARD_FORWARD_COND(pthread_cond_broadcast, (pthread_cond_t * c), (c))
GUARD_FORWARD(int, pthread_rwlock_rdlock, (pthread_rwlock_t * l), (l))
GUARD_FORWARD(int, pthread_rwlock_wrlock, (pthread_rwlock_t * l), (l))
GUARD_FORWARD(int, pthread_spin_lock, (pthread_spinlock_t * l), (l))
GUARD_FORWARD(int, pthread_join, (pthread_t t, void **r), (t, r))
GUARD_FORWARD(int, sem_wait, (sem_t * s), (s))
GUARD_FORWARD(int, sem_timedwait, (sem_t * s, const struct timespec *t), (s, t))

/* ---- blocking and I/O syscalls ---- */

GUARD_FORWARD(ssize_t, read, (int fd, void *buf, size_t n), (fd, buf, n))
/* Non-blocking eventfds, by fd (those past the table are not allowed). */
enum { MAX_FDS = 4096 };
static atomic_bool wake_fds[MAX_FDS];

int eventfd(unsigned int initval, int flags)
{
    typedef int (*fn)(unsigned int, int);
    NEXT(fn, eventfd, NULL);
    int fd = next_eventfd(initval, flags);
    if (fd >= 0 && fd < MAX_FDS) atomic_store(&wake_fds[fd], (flags & EFD_NONBLOCK) != 0);
    return fd;
}

int close(int fd)
{
    typedef int (*fn)(int);
    NEXT(fn, close, NULL);
    note("close");
    if (fd >= 0 && fd < MAX_FDS) atomic_store(&wake_fds[fd], false);
    return next_close(fd);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    typedef ssize_t (*fn)(int, const void *, size_t);
    NEXT(fn, write, NULL);
    if (in_callback && n == 8 && fd >= 0 && fd < MAX_FDS && atomic_load(&wake_fds[fd]))
        atomic_fetch_add_explicit(&wakeups, 1, memory_order_relaxed);
    else
        note("write");
    return next_write(fd, buf, n);
}
GUARD_FORWARD(int, nanosleep, (const struct timespec *t, struct timespec *rem), (t, rem))
GUARD_FORWARD(int, clock_nanosleep,
              (clockid_t c, int flags, const struct timespec *t, struct timespec *rem),
              (c, flags, t, rem))
GUARD_FORWARD(int, usleep, (useconds_t us), (us))
GUARD_FORWARD(unsigned, sleep, (unsigned s), (s))
GUARD_FORWARD(int, poll, (struct pollfd * fds, nfds_t n, int timeout), (fds, n, timeout))
GUARD_FORWARD(int, select, (int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *t),
              (n, r, w, e, t))
GUARD_FORWARD(int, sched_yield, (void), ())

int open(const char *path, int flags, ...)
{
    typedef int (*fn)(const char *, int, ...);
    NEXT(fn, open, NULL);
    note("open");
    va_list ap;
    va_start(ap, flags);
    int mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, int) : 0;
    va_end(ap);
    return next_open(path, flags, mode);
}

/* ---- stdio (glibc's printf reaches write internally, past any interposer) ---- */

GUARD_FORWARD(int, vfprintf, (FILE * f, const char *fmt, va_list ap), (f, fmt, ap))
GUARD_FORWARD(int, __vfprintf_chk, (FILE * f, int flag, const char *fmt, va_list ap),
              (f, flag, fmt, ap))
GUARD_FORWARD(size_t, fwrite, (const void *p, size_t size, size_t n, FILE *f), (p, size, n, f))
GUARD_FORWARD(int, fputs, (const char *s, FILE *f), (s, f))
GUARD_FORWARD(int, puts, (const char *s), (s))
GUARD_FORWARD(int, fflush, (FILE * f), (f))

int fprintf(FILE *f, const char *fmt, ...)
{
    note("fprintf");
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(f, fmt, ap);
    va_end(ap);
    return r;
}

int printf(const char *fmt, ...)
{
    note("printf");
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(stdout, fmt, ap);
    va_end(ap);
    return r;
}

/* _FORTIFY_SOURCE builds call these instead. */
int __fprintf_chk(FILE *f, int flag, const char *fmt, ...)
{
    note("__fprintf_chk");
    va_list ap;
    va_start(ap, fmt);
    int r = __vfprintf_chk(f, flag, fmt, ap);
    va_end(ap);
    return r;
}

int __printf_chk(int flag, const char *fmt, ...)
{
    note("__printf_chk");
    va_list ap;
    va_start(ap, fmt);
    int r = __vfprintf_chk(stdout, flag, fmt, ap);
    va_end(ap);
    return r;
}

/* ---- the report ---- */

/* Appends, one line per process: a test may run the guarded program under
 * helpers such as timeout(1), which inherit LD_PRELOAD and exit too. */
__attribute__((destructor)) static void report(void)
{
    const char *path = getenv("RT_GUARD_REPORT");
    if (!path) return;
    const char *first = atomic_load(&first_violation);
    char line[256];
    int n =
        snprintf(line, sizeof line, "pid=%d callbacks=%lu violations=%lu first=%s wakeups=%lu\n",
                 (int)getpid(), atomic_load(&callbacks), atomic_load(&violations),
                 first ? first : "-", atomic_load(&wakeups));
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return;
    if (write(fd, line, (size_t)n) != n) {
        /* nothing sensible to do at exit; the test sees a missing line */
    }
    close(fd);
}
