#include "web_http.h"

#include "clock.h"
#include "log.h"
#include "web_events.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

extern const unsigned char genre_web_page[];
extern const size_t genre_web_page_size;

enum {
    IDLE_TIMEOUT_S = 30, /* a browser that takes nothing this long is dropped */
    RETRY_AFTER_S = 10,  /* what a 503 asks the client to wait */
    FDS_BESIDES = 64,    /* descriptors the rest of the process may need */
    LOGGED_HTTP_ERRORS = 10
};

struct web_http {
    struct MHD_Daemon *daemon;
    int listen_fd;
    web_events_t *events;
    web_limits limits;
    /* Guards conns and refused: libmicrohttpd's thread opens, admits and
     * closes; the main thread's tick cuts. A connection's fd is shut down
     * only under the lock, and its entry leaves the table (under the lock)
     * before libmicrohttpd closes the fd, so a reused fd is never hit. */
    pthread_mutex_t lock;
    web_conns_t *conns;
    unsigned long refused;
    atomic_ulong http_errors;
};

/* More browsers than file descriptors would fail at accept(), with no
 * answer: raise the soft limit as far as allowed, else serve fewer. */
static void fit_to_file_limit(web_limits *l)
{
    struct rlimit r;
    rlim_t need = web_limits_connections(l) + FDS_BESIDES;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur >= need) return;
    r.rlim_cur = r.rlim_max == RLIM_INFINITY || r.rlim_max >= need ? need : r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
    if (r.rlim_cur >= need) return;
    rlim_t others = need - l->max_streams;
    unsigned streams = r.rlim_cur > others + 1 ? (unsigned)(r.rlim_cur - others) : 1;
    log_warn("the file limit (%llu, ulimit -n) allows %u event streams, not %u",
             (unsigned long long)r.rlim_cur, streams, l->max_streams);
    l->max_streams = streams;
    if (l->local_reserve >= streams) l->local_reserve = streams / 2;
}

/* ---- Responses --------------------------------------------------------- */

static enum MHD_Result queue(struct MHD_Connection *conn, unsigned status,
                             struct MHD_Response *response)
{
    if (!response) return MHD_NO;
    enum MHD_Result ret = MHD_queue_response(conn, status, response);
    MHD_destroy_response(response);
    return ret;
}

static struct MHD_Response *text_response(const char *text, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text, mode);
    if (r) MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    return r;
}

static enum MHD_Result queue_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    struct MHD_Response *r = text_response(text, MHD_RESPMEM_PERSISTENT);
    if (r && status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, "Allow", "GET, HEAD");
    return queue(conn, status, r);
}

/* A 503 that says which limit, and closes the connection to free its slot. */
static enum MHD_Result queue_busy(struct MHD_Connection *conn, web_admission why,
                                  const web_limits *l)
{
    char text[256], retry[16];
    if (why == WEB_STREAMS_FULL)
        snprintf(text, sizeof text,
                 "genre-web: no event stream free (%u at most, the last %u for this machine); "
                 "try again later\n",
                 l->max_streams, l->local_reserve);
    else
        snprintf(text, sizeof text,
                 "genre-web: too many connections from your address (%u at most)\n",
                 l->per_remote_address);
    snprintf(retry, sizeof retry, "%d", RETRY_AFTER_S);
    struct MHD_Response *r = text_response(text, MHD_RESPMEM_MUST_COPY);
    if (r) {
        MHD_add_response_header(r, "Retry-After", retry);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    }
    return queue(conn, MHD_HTTP_SERVICE_UNAVAILABLE, r);
}

static enum MHD_Result serve_page(struct MHD_Connection *conn)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        genre_web_page_size, (void *)genre_web_page, MHD_RESPMEM_PERSISTENT);
    if (r) {
        MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
        MHD_add_response_header(r, "Cache-Control", "no-cache");
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        /* The page must work offline, so it may load nothing from elsewhere. */
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'none'; script-src 'unsafe-inline'; "
                                "style-src 'unsafe-inline'; connect-src 'self'; img-src data:");
    }
    return queue(conn, MHD_HTTP_OK, r);
}

/* ---- Connections and requests ------------------------------------------ */

static web_conn *conn_entry(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static web_admission admit(web_http_t *h, struct MHD_Connection *conn, bool stream)
{
    pthread_mutex_lock(&h->lock);
    web_conn *c = conn_entry(conn);
    web_admission a = c ? web_conns_request(h->conns, c, stream) : WEB_ADMIT;
    if (a != WEB_ADMIT) h->refused++;
    pthread_mutex_unlock(&h->lock);
    return a;
}

static enum MHD_Result handle_request(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **req_ctx)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    web_http_t *h = cls;
    if (*req_ctx) return MHD_YES; /* answered at the first call */
    *req_ctx = h;
    bool page = !strcmp(url, "/") || !strcmp(url, "/index.html");
    bool stream = !strcmp(url, "/events");
    bool method_ok = !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);
    web_admission a = admit(h, conn, stream && method_ok);
    if (a != WEB_ADMIT) return queue_busy(conn, a, &h->limits);
    if (!method_ok) return queue_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    if (page) return serve_page(conn);
    if (!stream) return queue_text(conn, MHD_HTTP_NOT_FOUND, "not found: try / or /events\n");
    struct MHD_Response *r = web_events_response(h->events, conn);
    if (!r) return queue_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
    return queue(conn, MHD_HTTP_OK, r);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode what)
{
    web_http_t *h = cls;
    pthread_mutex_lock(&h->lock);
    if (what == MHD_CONNECTION_NOTIFY_CLOSED) {
        if (*socket_context) web_conns_close(h->conns, *socket_context);
        *socket_context = NULL;
    } else {
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *peer =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        int evict = -1;
        web_conn *c = fd ? web_conns_open(h->conns, fd->connect_fd, peer ? peer->client_addr : NULL,
                                          monotonic_ms(), &evict)
                         : NULL;
        /* Shutting down, not closing: libmicrohttpd owns the fd and closes
         * it when it sees the end. */
        if (evict >= 0) shutdown(evict, SHUT_RDWR);
        if (!c && fd) shutdown(fd->connect_fd, SHUT_RDWR);
        *socket_context = c;
    }
    pthread_mutex_unlock(&h->lock);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_ctx,
                         enum MHD_RequestTerminationCode why)
{
    (void)req_ctx;
    (void)why;
    web_http_t *h = cls;
    pthread_mutex_lock(&h->lock);
    web_conn *c = conn_entry(conn);
    if (c) web_conns_response_done(h->conns, c, monotonic_ms());
    pthread_mutex_unlock(&h->lock);
}

void web_http_tick(web_http_t *h)
{
    int64_t now = monotonic_ms();
    int fds[64];
    size_t n;
    pthread_mutex_lock(&h->lock);
    do {
        n = web_conns_overdue(h->conns, now, fds, sizeof fds / sizeof fds[0]);
        for (size_t i = 0; i < n; i++)
            shutdown(fds[i], SHUT_RDWR);
    } while (n == sizeof fds / sizeof fds[0]);
    pthread_mutex_unlock(&h->lock);
    web_events_tick(h->events, now);
}

/* ---- The server -------------------------------------------------------- */

/* Logs what libmicrohttpd reports (malformed or oversized requests, say)
 * up to a point, so that a peer sending junk cannot flood the journal. */
static void log_http_error(void *cls, const char *fmt, va_list ap)
{
    web_http_t *h = cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    /* A browser closing its tab is routine for an event stream, not news;
     * so is a connection cut for being slow (one line each would let a
     * slowloris flood the journal; the count is in the last line). */
    if (!strncmp(line, "Failed to send", 14) || strstr(line, "onnection reset") ||
        strstr(line, "socket is closed when reading request"))
        return;
    line[strcspn(line, "\n")] = '\0';
    unsigned long n = atomic_fetch_add(&h->http_errors, 1) + 1;
    if (n <= LOGGED_HTTP_ERRORS)
        log_warn("http: %s%s", line,
                 n == LOGGED_HTTP_ERRORS ? " (further HTTP errors are counted silently)" : "");
}

static struct MHD_Daemon *start_daemon(web_http_t *h, int family)
{
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
                     (family == AF_INET6 ? MHD_USE_IPv6 : 0);
    return MHD_start_daemon(flags, 0, NULL, NULL, handle_request, h, MHD_OPTION_EXTERNAL_LOGGER,
                            log_http_error, h, MHD_OPTION_LISTEN_SOCKET, h->listen_fd,
                            MHD_OPTION_CONNECTION_LIMIT, web_limits_connections(&h->limits),
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
                            MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_END);
}

web_http_t *web_http_create(int listen_fd, int family, const web_limits *limits,
                            web_fanout_t *fanout, web_history_t *history, char *err, size_t err_len)
{
    web_http_t *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, err_len, "out of memory");
        close(listen_fd);
        return NULL;
    }
    h->listen_fd = listen_fd;
    h->limits = *limits;
    fit_to_file_limit(&h->limits);
    pthread_mutex_init(&h->lock, NULL);
    atomic_init(&h->http_errors, 0);
    h->conns = web_conns_create(&h->limits, err, err_len);
    h->events = h->conns ? web_events_create(fanout, history, err, err_len) : NULL;
    h->daemon = h->events ? start_daemon(h, family) : NULL;
    if (h->events && !h->daemon) snprintf(err, err_len, "libmicrohttpd failed to start");
    if (!h->daemon) {
        web_http_destroy(h);
        return NULL;
    }
    return h;
}

void web_http_destroy(web_http_t *h)
{
    if (!h) return;
    if (h->daemon) {
        /* No new connections, no stream left suspended, then stop. */
        MHD_quiesce_daemon(h->daemon);
        web_events_stop(h->events);
        MHD_stop_daemon(h->daemon);
    }
    if (h->listen_fd >= 0) close(h->listen_fd);
    web_events_destroy(h->events);
    web_conns_destroy(h->conns);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

void web_http_counts(web_http_t *h, unsigned long *refused, unsigned long *cut,
                     unsigned long *errors)
{
    *errors = atomic_load(&h->http_errors);
    pthread_mutex_lock(&h->lock);
    *refused = h->refused;
    *cut = web_conns_cut(h->conns);
    pthread_mutex_unlock(&h->lock);
}
