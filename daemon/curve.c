#include "curve.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define KEY_BYTES      32
#define KEY_FILE_MAX   4096
#define ALLOW_FILE_MAX (256 * 1024)
#define ZAP_ENDPOINT   "inproc://zeromq.zap.01"

struct curve {
    char secret[CURVE_KEY_Z85_LEN + 1];
    char public[CURVE_KEY_Z85_LEN + 1];
    uint8_t *allowed; /* n_allowed keys of KEY_BYTES, binary */
    unsigned n_allowed;
    void *zap;     /* REP socket, used by the handler thread only once started */
    void *control; /* PAIR: the main thread's end, to stop the handler */
    void *stop;    /* PAIR: the handler's end */
    pthread_t thread;
    int running;
    atomic_uint_least64_t denied;
};

/* Reads a whole small file after checking who may change or read it. The
 * checks use the open descriptor, so a file swapped after them is not read. */
static char *read_guarded(const char *what, const char *path, mode_t forbidden, size_t max,
                          char *err, size_t err_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK); /* a FIFO: no wait */
    if (fd < 0) {
        snprintf(err, err_len, "%s '%s': %s", what, path, strerror(errno));
        return NULL;
    }
    struct stat st;
    char *text = NULL;
    if (fstat(fd, &st) != 0) {
        snprintf(err, err_len, "%s '%s': %s", what, path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        snprintf(err, err_len, "%s '%s': not a regular file", what, path);
    } else if (st.st_uid != geteuid() && st.st_uid != 0) {
        snprintf(err, err_len, "%s '%s': owned by uid %u, neither root nor this user (uid %u)",
                 what, path, (unsigned)st.st_uid, (unsigned)geteuid());
    } else if (st.st_mode & forbidden) {
        int secret = (forbidden & 044) != 0;
        snprintf(err, err_len, "%s '%s': %s by group or others (mode %04o); chmod %s it", what,
                 path, secret ? "accessible" : "writable", (unsigned)(st.st_mode & 07777),
                 secret ? "600" : "go-w");
    } else if ((size_t)st.st_size > max) {
        snprintf(err, err_len, "%s '%s': %lld bytes, more than a key file can hold", what, path,
                 (long long)st.st_size);
    } else if (!(text = malloc((size_t)st.st_size + 1))) {
        snprintf(err, err_len, "%s '%s': out of memory", what, path);
    } else {
        ssize_t got = read(fd, text, (size_t)st.st_size);
        if (got < 0) {
            snprintf(err, err_len, "%s '%s': %s", what, path, strerror(errno));
            free(text);
            text = NULL;
        } else {
            text[got] = '\0';
        }
    }
    close(fd);
    return text;
}

/* Next key line of a key file: skips blank and '#' lines, trims blanks, and
 * returns the line's text (NUL-terminated in place), or NULL at the end. */
static char *next_key_line(char **cursor, unsigned *line_no)
{
    while (**cursor) {
        char *line = *cursor;
        char *end = strchr(line, '\n');
        *cursor = end ? end + 1 : line + strlen(line);
        if (end) *end = '\0';
        ++*line_no;
        while (*line == ' ' || *line == '\t')
            line++;
        size_t n = strlen(line);
        while (n && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n && line[0] != '#') return line;
    }
    return NULL;
}

static int decode_key(const char *text, uint8_t out[KEY_BYTES])
{
    return strlen(text) == CURVE_KEY_Z85_LEN && zmq_z85_decode(out, text) != NULL;
}

/* The one key of a key file into out (Z85); `kind` names it in errors. */
static int read_one_key(const char *what, const char *path, mode_t forbidden, const char *kind,
                        char out[CURVE_KEY_Z85_LEN + 1], char *err, size_t err_len)
{
    char *text = read_guarded(what, path, forbidden, KEY_FILE_MAX, err, err_len);
    if (!text) return -1;
    char *cursor = text, *key;
    unsigned line = 0;
    uint8_t bytes[KEY_BYTES];
    int rc = -1;
    if (!(key = next_key_line(&cursor, &line)))
        snprintf(err, err_len, "%s '%s': no key in the file", what, path);
    else if (!decode_key(key, bytes))
        snprintf(err, err_len, "%s '%s': line %u: not a %d-character Z85 %s", what, path, line,
                 CURVE_KEY_Z85_LEN, kind);
    else if (memcpy(out, key, CURVE_KEY_Z85_LEN + 1), next_key_line(&cursor, &line))
        snprintf(err, err_len, "%s '%s': line %u: more than one key", what, path, line);
    else
        rc = 0;
    memset(text, 0, strlen(text));
    free(text);
    return rc;
}

static int load_secret(curve_t *c, const char *what, const char *path, char *err, size_t err_len)
{
    if (read_one_key(what, path, 077, "CURVE key", c->secret, err, err_len)) return -1;
    if (zmq_curve_public(c->public, c->secret) != 0) {
        snprintf(err, err_len, "%s '%s': %s", what, path, zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

static int load_allow_list(curve_t *c, const char *path, char *err, size_t err_len)
{
    const char *what = "curve_allow";
    char *text = read_guarded(what, path, 022, ALLOW_FILE_MAX, err, err_len);
    if (!text) return -1;
    /* Every key line is at least 40 characters and a newline. */
    size_t most = strlen(text) / CURVE_KEY_Z85_LEN + 1;
    c->allowed = malloc(most * KEY_BYTES);
    char *cursor = text, *key;
    unsigned line = 0;
    int rc = c->allowed ? 0 : -1;
    if (rc) snprintf(err, err_len, "%s '%s': out of memory", what, path);
    while (!rc && (key = next_key_line(&cursor, &line))) {
        if (!decode_key(key, c->allowed + (size_t)c->n_allowed * KEY_BYTES)) {
            snprintf(err, err_len, "%s '%s': line %u: not a %d-character Z85 public key", what,
                     path, line, CURVE_KEY_Z85_LEN);
            rc = -1;
        } else {
            c->n_allowed++;
        }
    }
    if (!rc && c->n_allowed == 0) {
        snprintf(err, err_len, "%s '%s': no keys; it would refuse every subscriber", what, path);
        rc = -1;
    }
    free(text);
    return rc;
}

static int is_allowed(const curve_t *c, const uint8_t *key, size_t len)
{
    if (len != KEY_BYTES) return 0;
    for (unsigned i = 0; i < c->n_allowed; i++)
        if (!memcmp(c->allowed + (size_t)i * KEY_BYTES, key, KEY_BYTES)) return 1;
    return 0;
}

/* One ZAP request (RFC 27): version, request id, domain, address, routing
 * id, mechanism, credentials. Frames are copied into fixed buffers, longer
 * ones truncated, so a hostile handshake cannot make the handler allocate. */
enum {
    ZAP_VERSION,
    ZAP_REQUEST_ID,
    ZAP_DOMAIN,
    ZAP_ADDRESS,
    ZAP_ROUTING_ID,
    ZAP_MECHANISM,
    ZAP_CREDENTIALS,
    ZAP_FRAMES
};

static void zap_answer(curve_t *c)
{
    uint8_t frame[ZAP_FRAMES][256];
    int size[ZAP_FRAMES] = {0};
    int n = 0, more = 1;
    while (more) {
        uint8_t scratch[256];
        uint8_t *dst = n < ZAP_FRAMES ? frame[n] : scratch;
        int got = zmq_recv(c->zap, dst, sizeof scratch, 0);
        if (got < 0) return;
        if (n < ZAP_FRAMES) size[n] = got;
        n++;
        size_t more_len = sizeof more;
        zmq_getsockopt(c->zap, ZMQ_RCVMORE, &more, &more_len);
    }
    int ok = n == ZAP_FRAMES && size[ZAP_VERSION] == 3 && !memcmp(frame[ZAP_VERSION], "1.0", 3) &&
             size[ZAP_MECHANISM] == 5 && !memcmp(frame[ZAP_MECHANISM], "CURVE", 5) &&
             is_allowed(c, frame[ZAP_CREDENTIALS], (size_t)size[ZAP_CREDENTIALS]);
    if (!ok) atomic_fetch_add(&c->denied, 1);
    int id_len = n > ZAP_REQUEST_ID ? size[ZAP_REQUEST_ID] : 0;
    if (id_len > 255) id_len = 255;
    zmq_send(c->zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(c->zap, frame[ZAP_REQUEST_ID], (size_t)id_len, ZMQ_SNDMORE);
    zmq_send(c->zap, ok ? "200" : "400", 3, ZMQ_SNDMORE);
    zmq_send(c->zap, ok ? "OK" : "client key not allowed", ok ? 2 : 22, ZMQ_SNDMORE);
    zmq_send(c->zap, "", 0, ZMQ_SNDMORE); /* user id */
    zmq_send(c->zap, "", 0, 0);           /* metadata */
}

static void *zap_thread(void *arg)
{
    curve_t *c = arg;
    zmq_pollitem_t items[2] = {{c->zap, 0, ZMQ_POLLIN, 0}, {c->stop, 0, ZMQ_POLLIN, 0}};
    for (;;) {
        if (zmq_poll(items, 2, -1) < 0) {
            if (zmq_errno() == EINTR) continue;
            break;
        }
        if (items[1].revents) break;
        if (items[0].revents) zap_answer(c);
    }
    return NULL;
}

static int start_zap(curve_t *c, void *ctx, char *err, size_t err_len)
{
    char control[64];
    snprintf(control, sizeof control, "inproc://genred-curve-stop-%p", (void *)c);
    int linger = 0;
    c->zap = zmq_socket(ctx, ZMQ_REP);
    c->control = zmq_socket(ctx, ZMQ_PAIR);
    c->stop = zmq_socket(ctx, ZMQ_PAIR);
    if (!c->zap || !c->control || !c->stop ||
        zmq_setsockopt(c->zap, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_bind(c->zap, ZAP_ENDPOINT) || zmq_bind(c->control, control) ||
        zmq_connect(c->stop, control)) {
        snprintf(err, err_len, "curve_allow: ZAP handler: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    if (pthread_create(&c->thread, NULL, zap_thread, c) != 0) {
        snprintf(err, err_len, "curve_allow: cannot start the ZAP handler thread");
        return -1;
    }
    c->running = 1;
    return 0;
}

static curve_t *curve_alloc(const char *what, char *err, size_t err_len)
{
    if (!zmq_has("curve")) {
        snprintf(err, err_len, "%s: this libzmq was built without CURVE", what);
        return NULL;
    }
    curve_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, err_len, "curve: out of memory");
        return NULL;
    }
    atomic_init(&c->denied, 0);
    return c;
}

/* zmq_ctx NULL: the files are read and checked, but no ZAP handler runs. */
curve_t *curve_create(void *zmq_ctx, const char *secret_key_path, const char *allow_path, char *err,
                      size_t err_len)
{
    curve_t *c = curve_alloc("curve_secret_key", err, err_len);
    if (!c) return NULL;
    int rc = load_secret(c, "curve_secret_key", secret_key_path, err, err_len);
    if (!rc && allow_path && allow_path[0])
        rc = load_allow_list(c, allow_path, err, err_len) ||
             (zmq_ctx && start_zap(c, zmq_ctx, err, err_len));
    if (rc) {
        curve_destroy(c);
        return NULL;
    }
    return c;
}

curve_t *curve_create_client(const char *what, const char *secret_key_path, char *err,
                             size_t err_len)
{
    curve_t *c = curve_alloc(what, err, err_len);
    if (!c) return NULL;
    int rc = secret_key_path ? load_secret(c, what, secret_key_path, err, err_len)
                             : zmq_curve_keypair(c->public, c->secret);
    if (rc && !secret_key_path) snprintf(err, err_len, "%s: %s", what, zmq_strerror(zmq_errno()));
    if (rc) {
        curve_destroy(c);
        return NULL;
    }
    return c;
}

int curve_check_files(const char *secret_key_path, const char *allow_path, char *err,
                      size_t err_len)
{
    curve_t *c = curve_create(NULL, secret_key_path, allow_path, err, err_len);
    int rc = c ? 0 : -1;
    curve_destroy(c);
    return rc;
}

int curve_apply(const curve_t *c, void *socket, char *err, size_t err_len)
{
    int server = 1;
    if (zmq_setsockopt(socket, ZMQ_CURVE_SERVER, &server, sizeof server) ||
        zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, c->secret, CURVE_KEY_Z85_LEN)) {
        snprintf(err, err_len, "curve: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

int curve_apply_client(const curve_t *c, void *socket, const char *server_public, char *err,
                       size_t err_len)
{
    if (zmq_setsockopt(socket, ZMQ_CURVE_SERVERKEY, server_public, CURVE_KEY_Z85_LEN) ||
        zmq_setsockopt(socket, ZMQ_CURVE_PUBLICKEY, c->public, CURVE_KEY_Z85_LEN) ||
        zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, c->secret, CURVE_KEY_Z85_LEN)) {
        snprintf(err, err_len, "curve: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

int curve_read_public(const char *what, const char *path, char out[CURVE_KEY_Z85_LEN + 1],
                      char *err, size_t err_len)
{
    return read_one_key(what, path, 022, "public key", out, err, err_len);
}

const char *curve_public_key(const curve_t *c)
{
    return c->public;
}

unsigned curve_allowed(const curve_t *c)
{
    return c->n_allowed;
}

uint64_t curve_denied(const curve_t *c)
{
    return atomic_load(&((curve_t *)c)->denied);
}

void curve_destroy(curve_t *c)
{
    if (!c) return;
    if (c->running) {
        zmq_send(c->control, "", 0, 0);
        pthread_join(c->thread, NULL);
    }
    if (c->zap) zmq_close(c->zap);
    if (c->stop) zmq_close(c->stop);
    if (c->control) zmq_close(c->control);
    memset(c->secret, 0, sizeof c->secret);
    free(c->allowed);
    free(c);
}

/* Creates path exclusively with exactly `mode`, whatever the umask. */
static int write_new(const char *path, mode_t mode, const char *key, const char *comment, char *err,
                     size_t err_len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        snprintf(err, err_len, "--gen-keys: '%s': %s", path, strerror(errno));
        return -1;
    }
    char text[256];
    int n = snprintf(text, sizeof text, "# %s\n%s\n", comment, key);
    int ok = fchmod(fd, mode) == 0 && write(fd, text, (size_t)n) == n && fsync(fd) == 0;
    if (!ok) snprintf(err, err_len, "--gen-keys: '%s': %s", path, strerror(errno));
    close(fd);
    memset(text, 0, sizeof text);
    return ok ? 0 : -1;
}

int curve_generate_keys(const char *dir, char *err, size_t err_len)
{
    char secret_path[4096], public_path[4096];
    if (snprintf(secret_path, sizeof secret_path, "%s/curve.key", dir) >= (int)sizeof secret_path ||
        snprintf(public_path, sizeof public_path, "%s/curve.pub", dir) >= (int)sizeof public_path) {
        snprintf(err, err_len, "--gen-keys: directory name too long");
        return -1;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, err_len, "--gen-keys: '%s': %s", dir, strerror(errno));
        return -1;
    }
    struct stat st;
    const char *existing = lstat(secret_path, &st) == 0   ? secret_path
                           : lstat(public_path, &st) == 0 ? public_path
                                                          : NULL;
    if (existing) {
        snprintf(err, err_len, "--gen-keys: '%s' exists; not replacing a key", existing);
        return -1;
    }
    char public[CURVE_KEY_Z85_LEN + 1], secret[CURVE_KEY_Z85_LEN + 1];
    if (zmq_curve_keypair(public, secret) != 0) {
        snprintf(err, err_len, "--gen-keys: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    int rc = write_new(secret_path, 0600, secret,
                       "genred CURVE secret key: keep private (curve_secret_key)", err, err_len);
    if (!rc)
        rc = write_new(public_path, 0644, public,
                       "genred CURVE public key: give to subscribers, or add to an allow-list", err,
                       err_len);
    memset(secret, 0, sizeof secret);
    return rc;
}

/* tcp://HOST:PORT where HOST is 127.x.y.z, [::1], ::1 or localhost. */
static int tcp_host_is_loopback(const char *host_port)
{
    const char *colon = strrchr(host_port, ':');
    if (!colon) return 0;
    size_t n = (size_t)(colon - host_port);
    char host[256];
    if (n == 0 || n >= sizeof host) return 0;
    memcpy(host, host_port, n);
    host[n] = '\0';
    if (!strcmp(host, "localhost") || !strcmp(host, "[::1]") || !strcmp(host, "::1")) return 1;
    unsigned a, b, c, d;
    char tail;
    return sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b < 256 &&
           c < 256 && d < 256;
}

int curve_endpoint_is_local(const char *endpoint)
{
    if (!strncmp(endpoint, "ipc://", 6) || !strncmp(endpoint, "inproc://", 9)) return 1;
    if (!strncmp(endpoint, "tcp://", 6)) return tcp_host_is_loopback(endpoint + 6);
    return 0;
}
