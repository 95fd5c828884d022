#include "hub_config.h"

#include "curve.h"
#include "regular_file.h"

#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef enum { K_REAL, K_INT, K_UINT, K_BOOL, K_TEXT } key_type;

/* One scalar key: where it lives in the struct the table describes. */
typedef struct {
    const char *name;
    key_type type;
    size_t offset, size; /* size: text buffer length */
    double lo, hi;
} key_info;

/* A key of struct S: name, type, field, range (numbers). */
#define KEY(S, name, type, field, lo, hi)                                                          \
    {                                                                                              \
        name, type, offsetof(S, field), sizeof(((S *)0)->field), lo, hi                            \
    }
#define ROOT(name, type, lo, hi) KEY(hub_config, #name, type, name, lo, hi)
#define JS(name, type, lo, hi)   KEY(hub_jetstream_config, #name, type, name, lo, hi)

static const key_info root_keys[] = {ROOT(curve_secret_key, K_TEXT, 0, 0),
                                     ROOT(curve_allow, K_TEXT, 0, 0),
                                     ROOT(allow_plaintext_remote, K_BOOL, 0, 1),
                                     ROOT(status_interval, K_REAL, 0.05, 3600),
                                     ROOT(lost_after, K_UINT, 2, 100),
                                     ROOT(max_streams, K_UINT, 1, 1000000),
                                     ROOT(max_cache_mb, K_UINT, 1, 1048576),
                                     ROOT(send_hwm, K_INT, 1, 10000000),
                                     ROOT(log_level, K_TEXT, 0, 0),
                                     {NULL, 0, 0, 0, 0, 0}};

static const key_info jetstream_keys[] = {JS(url, K_TEXT, 0, 0),
                                          JS(stream, K_TEXT, 0, 0),
                                          JS(replicas, K_INT, 1, 5),
                                          JS(probs_interval, K_REAL, -1, 86400),
                                          JS(buffer, K_UINT, 1, 10000000),
                                          JS(duplicate_window, K_REAL, 1, 86400),
                                          {NULL, 0, 0, 0, 0, 0}};

void hub_config_defaults(hub_config *c)
{
    memset(c, 0, sizeof *c);
    c->status_interval = 5.0;
    c->lost_after = 3;
    c->max_streams = 4096;
    c->max_cache_mb = 32;
    c->send_hwm = 100000;
    snprintf(c->log_level, sizeof c->log_level, "info");
    snprintf(c->jetstream.stream, sizeof c->jetstream.stream, "GENRE");
    c->jetstream.replicas = 1;
    c->jetstream.probs_interval = 10.0;
    c->jetstream.buffer = 50000;
    c->jetstream.duplicate_window = 120.0;
}

typedef struct {
    const char *path;
    char *err;
    size_t err_len;
} file_ctx;

static int fail_at(const file_ctx *f, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(const file_ctx *f, const config_setting_t *s, const char *fmt, ...)
{
    char why[HUB_TEXT_LEN + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(f->err, f->err_len, "%s:%u: %s", f->path, config_setting_source_line(s), why);
    return -1;
}

static int read_text(const file_ctx *f, const config_setting_t *s, char *dst, size_t size)
{
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return fail_at(f, s, "%s must be a string", config_setting_name(s));
    const char *v = config_setting_get_string(s);
    if (strlen(v) >= size)
        return fail_at(f, s, "%s is too long (at most %zu bytes)", config_setting_name(s),
                       size - 1);
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

static int read_number(const file_ctx *f, const config_setting_t *s, const key_info *k, double *v)
{
    int t = config_setting_type(s);
    if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)
        *v = (double)config_setting_get_int64(s);
    else if (t == CONFIG_TYPE_FLOAT && k->type == K_REAL)
        *v = config_setting_get_float(s);
    else
        return fail_at(f, s, "%s must be %s", k->name,
                       k->type == K_REAL ? "a number" : "an integer");
    if (!(*v >= k->lo && *v <= k->hi))
        return fail_at(f, s, "%s must be in %g..%g, not %g", k->name, k->lo, k->hi, *v);
    return 0;
}

/* One scalar key of `table` into the struct at base; 1 if the table lacks it. */
static int read_key(const file_ctx *f, const config_setting_t *s, const key_info *table, void *base)
{
    const char *name = config_setting_name(s);
    const key_info *k = table;
    while (k->name && strcmp(k->name, name))
        k++;
    if (!k->name) return 1;
    char *field = (char *)base + k->offset;
    double v;
    switch (k->type) {
    case K_TEXT:
        return read_text(f, s, field, k->size) ? -1 : 0;
    case K_BOOL:
        if (config_setting_type(s) != CONFIG_TYPE_BOOL)
            return fail_at(f, s, "%s must be true or false", name);
        *(int *)field = config_setting_get_bool(s);
        return 0;
    case K_REAL:
        if (read_number(f, s, k, &v)) return -1;
        *(double *)field = v;
        return 0;
    case K_INT:
        if (read_number(f, s, k, &v)) return -1;
        *(int *)field = (int)v;
        return 0;
    case K_UINT:
        if (read_number(f, s, k, &v)) return -1;
        *(unsigned *)field = (unsigned)v;
        return 0;
    }
    return 1;
}

static int read_publish(const file_ctx *f, const config_setting_t *s, hub_config *c)
{
    if (config_setting_type(s) == CONFIG_TYPE_STRING) {
        c->n_publish = 1;
        return read_text(f, s, c->publish[0], HUB_TEXT_LEN);
    }
    if (!config_setting_is_aggregate(s) || config_setting_is_group(s))
        return fail_at(f, s, "publish must be a string or a list of strings");
    int n = config_setting_length(s);
    if (n > HUB_MAX_PUBLISH) return fail_at(f, s, "publish: at most %d endpoints", HUB_MAX_PUBLISH);
    c->n_publish = 0;
    for (int i = 0; i < n; i++)
        if (read_text(f, config_setting_get_elem(s, (unsigned)i), c->publish[c->n_publish++],
                      HUB_TEXT_LEN))
            return -1;
    return 0;
}

static int read_host(const file_ctx *f, const config_setting_t *g, hub_host_config *h)
{
    if (!config_setting_is_group(g))
        return fail_at(f, g, "hosts: each entry is a group { name = ...; endpoint = ...; }");
    for (int j = 0; j < config_setting_length(g); j++) {
        const config_setting_t *e = config_setting_get_elem(g, (unsigned)j);
        const char *key = config_setting_name(e);
        int bad = !strcmp(key, "name")       ? read_text(f, e, h->name, sizeof h->name)
                  : !strcmp(key, "endpoint") ? read_text(f, e, h->endpoint, sizeof h->endpoint)
                  : !strcmp(key, "server_key")
                      ? read_text(f, e, h->server_key, sizeof h->server_key)
                      : fail_at(f, e,
                                "unknown key '%s' in a host "
                                "(name, endpoint, server_key)",
                                key);
        if (bad) return -1;
    }
    if (!h->name[0] || strchr(h->name, '/'))
        return fail_at(f, g, "a host needs a name without '/' (its streams are HOST/STREAM)");
    if (!h->endpoint[0]) return fail_at(f, g, "host '%s' has no endpoint", h->name);
    return 0;
}

static int read_hosts(const file_ctx *f, const config_setting_t *s, hub_config *c)
{
    if (!config_setting_is_list(s))
        return fail_at(f, s, "hosts must be a list of groups ( { name = ...; endpoint = ...; } )");
    int n = config_setting_length(s);
    if (n > HUB_MAX_HOSTS) return fail_at(f, s, "hosts: at most %d", HUB_MAX_HOSTS);
    c->n_hosts = 0;
    for (int i = 0; i < n; i++)
        if (read_host(f, config_setting_get_elem(s, (unsigned)i), &c->hosts[c->n_hosts++]))
            return -1;
    return 0;
}

static int read_jetstream(const file_ctx *f, const config_setting_t *s, hub_jetstream_config *j)
{
    if (!config_setting_is_group(s)) return fail_at(f, s, "jetstream must be a group { ... }");
    for (int i = 0; i < config_setting_length(s); i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        int r = read_key(f, e, jetstream_keys, j);
        if (r < 0) return -1;
        if (r > 0)
            return fail_at(f, e,
                           "unknown key 'jetstream.%s' (url, stream, replicas, "
                           "probs_interval, buffer, duplicate_window)",
                           config_setting_name(e));
    }
    return 0;
}

static int read_root(const file_ctx *f, const config_setting_t *root, hub_config *c)
{
    for (int i = 0; i < config_setting_length(root); i++) {
        const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        const char *key = config_setting_name(s);
        int r = !strcmp(key, "publish")     ? read_publish(f, s, c)
                : !strcmp(key, "hosts")     ? read_hosts(f, s, c)
                : !strcmp(key, "jetstream") ? read_jetstream(f, s, &c->jetstream)
                                            : read_key(f, s, root_keys, c);
        if (r < 0) return -1;
        if (r > 0) return fail_at(f, s, "unknown key '%s' (see config/genre-hub.conf)", key);
    }
    return 0;
}

int hub_config_load(hub_config *c, const char *path, char *err, size_t err_len)
{
    /* A FIFO would hang the start, a huge file the parser (genred's rule). */
    FILE *file = regular_file_open(path, REGULAR_FILE_CONFIG_MAX, err, err_len);
    if (!file) return -1;
    config_t cf;
    config_init(&cf);
    file_ctx f = {path, err, err_len};
    int rc = -1;
    if (!config_read(&cf, file)) {
        if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
            snprintf(err, err_len, "%s: cannot read the file", path);
        else
            snprintf(err, err_len, "%s:%d: %s", path, config_error_line(&cf),
                     config_error_text(&cf));
    } else if (!read_root(&f, config_root_setting(&cf), c)) {
        snprintf(c->source, sizeof c->source, "%s", path);
        rc = hub_config_check(c, err, err_len);
    }
    config_destroy(&cf);
    fclose(file);
    return rc;
}

static int check_hosts(const hub_config *c, char *err, size_t err_len)
{
    for (unsigned i = 0; i < c->n_hosts; i++) {
        const hub_host_config *h = &c->hosts[i];
        for (unsigned j = 0; j < i; j++)
            if (!strcmp(c->hosts[j].name, h->name)) {
                snprintf(err, err_len, "%s: host name '%s' used twice", c->source, h->name);
                return -1;
            }
        if (h->server_key[0] && !c->curve_secret_key[0]) {
            snprintf(err, err_len,
                     "%s: host '%s' has a server_key but the hub has no "
                     "curve_secret_key to connect with",
                     c->source, h->name);
            return -1;
        }
        if (!h->server_key[0] && !curve_endpoint_is_local(h->endpoint) &&
            !c->allow_plaintext_remote) {
            snprintf(err, err_len,
                     "%s: host '%s' (%s) is off this machine: give its server_key "
                     "(CURVE) or set allow_plaintext_remote",
                     c->source, h->name, h->endpoint);
            return -1;
        }
    }
    return 0;
}

int hub_config_check(const hub_config *c, char *err, size_t err_len)
{
    if (!c->n_hosts) {
        snprintf(err, err_len, "%s: hosts lists no genred host", c->source);
        return -1;
    }
    if (!c->n_publish) {
        snprintf(err, err_len, "%s: publish lists no endpoint", c->source);
        return -1;
    }
    for (unsigned i = 0; i < c->n_publish; i++)
        if (!c->curve_secret_key[0] && !curve_endpoint_is_local(c->publish[i]) &&
            !c->allow_plaintext_remote) {
            snprintf(err, err_len,
                     "%s: publish '%s' leaves this machine: set curve_secret_key "
                     "or allow_plaintext_remote",
                     c->source, c->publish[i]);
            return -1;
        }
    if (strcmp(c->log_level, "error") && strcmp(c->log_level, "warn") &&
        strcmp(c->log_level, "info") && strcmp(c->log_level, "debug")) {
        snprintf(err, err_len, "%s: log_level must be error, warn, info or debug", c->source);
        return -1;
    }
    return check_hosts(c, err, err_len);
}
