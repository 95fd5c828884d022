#include "config.h"

#include "curve.h"
#include "input.h"
#include "log.h"
#include "regular_file.h"
#include "tracker.h"
#include "utf8.h"

#include <errno.h>
#include <libconfig.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The scalar keys, shared by the file parser and the command line so both
 * accept exactly the same values. Lists (publish, streams) and the single
 * stream shorthand (input, name) are handled separately. */
/* KEY_PLAYS: true (forever, -1), false (once, 0) or a number of plays.
 * KEY_CHOICE: one of a list of words, stored as its index (an enum). */
typedef enum {
    KEY_NUMBER,
    KEY_INT,
    KEY_BOOL,
    KEY_PLAYS,
    KEY_TEXT,
    KEY_LOG_LEVEL,
    KEY_CHOICE /* one word of `choices`, stored as its index */
} key_kind;

typedef struct {
    const char *name;
    key_kind kind;
    size_t offset, size;
    double lo, hi;
    const char *const *choices; /* NULL-terminated */
} key_info;

/* Designated, so that each kind names only the members it uses. */
#define KEY(field, k)      .name = #field, .kind = k, .offset = offsetof(genred_config, field)
#define NUM(field, l, h)   KEY(field, KEY_NUMBER), .lo = l, .hi = h
#define INT(field, l, h)   KEY(field, KEY_INT), .lo = l, .hi = h
#define BOOL(field)        KEY(field, KEY_BOOL), .hi = 1
#define TEXT(field, k)     KEY(field, k), .size = sizeof(((genred_config *)0)->field)
#define CHOICE(field, all) KEY(field, KEY_CHOICE), .choices = all

/* In the order of their enums (config.h). */
static const char *const drop_policies[] = {"count", "isolate", NULL};
static const char *const jack_client_modes[] = {"shared", "per_stream", NULL};
static const char *const change_decoders[] = {"hold", "hmm", NULL}; /* tracker_decoder */

static const key_info keys[] = {
    {NUM(hop, 0.01, 60)},
    {NUM(smoothing, 0, 3600)},
    {NUM(change_hold, 0, 3600)},
    {CHOICE(change_decoder, change_decoders)},
    {NUM(hmm_segment, 1, 36000)},
    {NUM(hmm_exponent, 0.01, 1)},
    {NUM(hmm_threshold, 0, 0.999)},
    {NUM(hmm_hold, 0, 3600)},
    {NUM(silence_dbfs, -200, 0)},
    {NUM(status_interval, 0.1, 3600)},
    {NUM(ring_seconds, 0.1, 60)},
    {INT(send_hwm, 1, 1000000)},
    {BOOL(realtime)},
    {KEY(loop, KEY_PLAYS), .lo = 1, .hi = 1e9},
    {BOOL(print)},
    {TEXT(model, KEY_TEXT)},
    {TEXT(log_level, KEY_LOG_LEVEL)},
    {CHOICE(drop_policy, drop_policies)},
    {CHOICE(jack_clients, jack_client_modes)},
    {TEXT(curve_secret_key, KEY_TEXT)},
    {TEXT(curve_allow, KEY_TEXT)},
    {BOOL(allow_plaintext_remote)},
};

static const key_info *find_key(const char *name)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(keys[i].name, name)) return &keys[i];
    return NULL;
}

int conf_defaults(genred_config *c)
{
    memset(c, 0, sizeof *c);
    c->streams = calloc(1, sizeof *c->streams);
    if (!c->streams) return -1;
    c->n_streams = 1;
    snprintf(c->streams[0].name, sizeof c->streams[0].name, "main");
    snprintf(c->streams[0].input, sizeof c->streams[0].input, "portaudio");
    c->n_publish = 1;
    snprintf(c->publish[0], sizeof c->publish[0], "tcp://127.0.0.1:5556");
    c->hop = 0.5;
    /* Chosen by genre-eval --events over the cross-validation folds of the
     * shipped model (nn/default_model/README.md, "Genre events"). */
    c->smoothing = TRACKER_DEFAULT_SMOOTHING;
    c->change_hold = TRACKER_DEFAULT_CHANGE_HOLD;
    c->change_decoder = TRACKER_DEFAULT_DECODER;
    c->hmm_segment = TRACKER_DEFAULT_HMM.segment;
    c->hmm_exponent = TRACKER_DEFAULT_HMM.exponent;
    c->hmm_threshold = TRACKER_DEFAULT_HMM.threshold;
    c->hmm_hold = TRACKER_DEFAULT_HMM.hold;
    c->silence_dbfs = TRACKER_DEFAULT_SILENCE_DBFS;
    c->status_interval = 5.0;
    c->ring_seconds = 2.0;
    c->send_hwm = 1000;
    c->drop_policy = DROP_COUNT;
    snprintf(c->log_level, sizeof c->log_level, "info");
    return 0;
}

/* Stores a validated value; `where` prefixes errors ("FILE:LINE" or "--flag"). */
static int store_number(genred_config *c, const key_info *k, double v, const char *where, char *err,
                        size_t err_len)
{
    if (!(v >= k->lo && v <= k->hi)) {
        snprintf(err, err_len, "%s: %s must be in %g..%g, not %g", where, k->name, k->lo, k->hi, v);
        return -1;
    }
    if ((k->kind == KEY_INT || k->kind == KEY_PLAYS) && v != floor(v)) {
        snprintf(err, err_len, "%s: %s must be an integer, not %g", where, k->name, v);
        return -1;
    }
    char *field = (char *)c + k->offset;
    if (k->kind == KEY_NUMBER)
        *(double *)field = v;
    else
        *(int *)field = (int)v;
    return 0;
}

/* Stores the index of word s among k->choices, or says which words there
 * are ("drop_policy must be count or isolate, not 'never'"). */
static int store_choice(genred_config *c, const key_info *k, const char *s, const char *where,
                        char *err, size_t err_len)
{
    unsigned n = 0;
    while (k->choices[n] && strcmp(k->choices[n], s))
        n++;
    if (k->choices[n]) {
        *(int *)((char *)c + k->offset) = (int)n;
        return 0;
    }
    char words[128] = "";
    for (unsigned i = 0; k->choices[i]; i++) {
        const char *sep = i == 0 ? "" : k->choices[i + 1] ? ", " : " or ";
        size_t used = strlen(words);
        snprintf(words + used, sizeof words - used, "%s%s", sep, k->choices[i]);
    }
    snprintf(err, err_len, "%s: %s must be %s, not '%s'", where, k->name, words, s);
    return -1;
}

static int store_text(genred_config *c, const key_info *k, const char *s, const char *where,
                      char *err, size_t err_len)
{
    char *field = (char *)c + k->offset;
    if (k->kind == KEY_LOG_LEVEL && log_parse_level(s) < 0) {
        snprintf(err, err_len, "%s: log_level must be error, warn, info or debug, not '%s'", where,
                 s);
        return -1;
    }
    if (k->kind == KEY_CHOICE) return store_choice(c, k, s, where, err, err_len);
    if (strlen(s) >= k->size) {
        snprintf(err, err_len, "%s: %s is too long (at most %zu bytes)", where, k->name,
                 k->size - 1);
        return -1;
    }
    memcpy(field, s, strlen(s) + 1);
    return 0;
}

int conf_set(genred_config *c, const char *key, const char *value, const char *flag, char *err,
             size_t err_len)
{
    const key_info *k = find_key(key);
    if (!k) {
        snprintf(err, err_len, "%s: unknown setting '%s'", flag, key);
        return -1;
    }
    if (k->kind == KEY_TEXT || k->kind == KEY_LOG_LEVEL || k->kind == KEY_CHOICE)
        return store_text(c, k, value, flag, err, err_len);
    int plays = k->kind == KEY_PLAYS;
    if (k->kind == KEY_BOOL || plays) {
        /* For a play count, "1" is one play, not true. */
        int on = !strcmp(value, "true") || !strcmp(value, "yes") || (!plays && !strcmp(value, "1"));
        int off =
            !strcmp(value, "false") || !strcmp(value, "no") || (!plays && !strcmp(value, "0"));
        if (on || off) {
            *(int *)((char *)c + k->offset) = plays ? (on ? -1 : 0) : on;
            return 0;
        }
        if (!plays) {
            snprintf(err, err_len, "%s: expected true or false, not '%s'", flag, value);
            return -1;
        }
    }
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (errno || end == value || *end) {
        snprintf(err, err_len, "%s: expected a number, not '%s'", flag, value);
        return -1;
    }
    return store_number(c, k, v, flag, err, err_len);
}

/* One key's value as the file would spell it. */
static int format_value(const genred_config *c, const key_info *k, char *buf, size_t len)
{
    const char *field = (const char *)c + k->offset;
    switch (k->kind) {
    case KEY_NUMBER:
        return snprintf(buf, len, "%g", *(const double *)field);
    case KEY_INT:
        return snprintf(buf, len, "%d", *(const int *)field);
    case KEY_BOOL:
        return snprintf(buf, len, "%s", *(const int *)field ? "true" : "false");
    case KEY_PLAYS: {
        int plays = *(const int *)field;
        return plays > 0 ? snprintf(buf, len, "%d", plays)
                         : snprintf(buf, len, "%s", plays ? "true" : "false");
    }
    case KEY_CHOICE:
        return snprintf(buf, len, "\"%s\"", k->choices[*(const int *)field]);
    default:
        return snprintf(buf, len, "\"%s\"", field);
    }
}

void conf_format_settings(const genred_config *c, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0] && used < len; i++) {
        char value[CONFIG_TEXT_LEN + 3];
        format_value(c, &keys[i], value, sizeof value);
        int n = snprintf(buf + used, len - used, "%s%s = %s;", i ? " " : "", keys[i].name, value);
        used += n > 0 ? (size_t)n : 0;
    }
}

int conf_copy(genred_config *dst, const genred_config *src)
{
    *dst = *src;
    dst->streams = malloc(src->n_streams * sizeof *dst->streams);
    if (!dst->streams) return -1;
    memcpy(dst->streams, src->streams, src->n_streams * sizeof *dst->streams);
    return 0;
}

void conf_free(genred_config *c)
{
    free(c->streams);
    c->streams = NULL;
    c->n_streams = 0;
}

/* There is always at least one stream (conf_defaults made it), so keeping
 * the first as the only one needs no allocation. */
void conf_set_input(genred_config *c, const char *name, const char *input)
{
    c->n_streams = 1;
    snprintf(c->streams[0].name, sizeof c->streams[0].name, "%s", name ? name : "main");
    snprintf(c->streams[0].input, sizeof c->streams[0].input, "%s", input);
}

/* tcp://HOST:PORT (PORT 1..65535 or *) or ipc://PATH: what genred binds,
 * checked here so that --check-config catches a typo before a restart. */
static int check_endpoint(const char *ep, char *err, size_t err_len)
{
    const char *why = NULL;
    if (!strncmp(ep, "ipc://", 6)) {
        if (!ep[6]) why = "ipc:// needs a path";
    } else if (!strncmp(ep, "tcp://", 6)) {
        const char *colon = strrchr(ep + 6, ':');
        char *end;
        long port = colon ? strtol(colon + 1, &end, 10) : 0;
        if (!colon || colon == ep + 6)
            why = "expected tcp://HOST:PORT";
        else if (strcmp(colon + 1, "*") && (!colon[1] || *end || port < 1 || port > 65535))
            why = "the port must be 1..65535 or *";
    } else {
        why = "expected tcp://HOST:PORT or ipc://PATH";
    }
    if (why) snprintf(err, err_len, "publish '%.200s': %s", ep, why);
    return why ? -1 : 0;
}

int conf_add_publish(genred_config *c, const char *endpoint, int reset, char *err, size_t err_len)
{
    if (reset) c->n_publish = 0;
    if (c->n_publish == CONFIG_MAX_PUBLISH) {
        snprintf(err, err_len, "publish: at most %d endpoints", CONFIG_MAX_PUBLISH);
        return -1;
    }
    if (!*endpoint || strlen(endpoint) >= CONFIG_TEXT_LEN) {
        snprintf(err, err_len, "publish: endpoint '%.40s' is empty or too long", endpoint);
        return -1;
    }
    if (check_endpoint(endpoint, err, err_len)) return -1;
    snprintf(c->publish[c->n_publish++], CONFIG_TEXT_LEN, "%s", endpoint);
    return 0;
}

/* ---- the file ---- */

typedef struct {
    const char *path;
    char *err;
    size_t err_len;
} file_ctx;

static const char *type_name(int type)
{
    switch (type) {
    case CONFIG_TYPE_GROUP:
        return "a group";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        return "an integer";
    case CONFIG_TYPE_FLOAT:
        return "a number";
    case CONFIG_TYPE_STRING:
        return "a string";
    case CONFIG_TYPE_BOOL:
        return "a boolean";
    case CONFIG_TYPE_ARRAY:
        return "an array";
    case CONFIG_TYPE_LIST:
        return "a list";
    }
    return "nothing";
}

static int fail_at(const file_ctx *f, const config_setting_t *s, const char *fmt, const char *a,
                   const char *b)
{
    char what[256];
    snprintf(what, sizeof what, fmt, a, b);
    snprintf(f->err, f->err_len, "%s:%u: %s", f->path, config_setting_source_line(s), what);
    return -1;
}

static int wrong_type(const file_ctx *f, const config_setting_t *s, const char *expected)
{
    char what[128];
    snprintf(what, sizeof what, "%s must be %s",
             config_setting_name(s) ? config_setting_name(s) : "value", expected);
    return fail_at(f, s, "%s, not %s", what, type_name(config_setting_type(s)));
}

static int is_number(const config_setting_t *s)
{
    int t = config_setting_type(s);
    return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64 || t == CONFIG_TYPE_FLOAT;
}

static int where(const file_ctx *f, const config_setting_t *s, char *buf, size_t len)
{
    return snprintf(buf, len, "%s:%u", f->path, config_setting_source_line(s));
}

static int read_scalar(genred_config *c, const file_ctx *f, const config_setting_t *s,
                       const key_info *k)
{
    char at[CONFIG_TEXT_LEN + 16];
    where(f, s, at, sizeof at);
    switch (k->kind) {
    case KEY_NUMBER:
    case KEY_INT:
        if (!is_number(s)) return wrong_type(f, s, k->kind == KEY_INT ? "an integer" : "a number");
        return store_number(c, k,
                            config_setting_type(s) == CONFIG_TYPE_FLOAT
                                ? config_setting_get_float(s)
                                : (double)config_setting_get_int64(s),
                            at, f->err, f->err_len);
    case KEY_BOOL:
        if (config_setting_type(s) != CONFIG_TYPE_BOOL) return wrong_type(f, s, "true or false");
        *(int *)((char *)c + k->offset) = config_setting_get_bool(s);
        return 0;
    case KEY_PLAYS:
        if (config_setting_type(s) == CONFIG_TYPE_BOOL) {
            *(int *)((char *)c + k->offset) = config_setting_get_bool(s) ? -1 : 0;
            return 0;
        }
        if (config_setting_type(s) == CONFIG_TYPE_FLOAT || !is_number(s))
            return wrong_type(f, s, "true, false or a number of plays");
        return store_number(c, k, (double)config_setting_get_int64(s), at, f->err, f->err_len);
    default:
        if (config_setting_type(s) != CONFIG_TYPE_STRING) return wrong_type(f, s, "a string");
        return store_text(c, k, config_setting_get_string(s), at, f->err, f->err_len);
    }
}

static int read_publish(genred_config *c, const file_ctx *f, const config_setting_t *s)
{
    char at[CONFIG_TEXT_LEN + 16];
    where(f, s, at, sizeof at);
    char reason[256];
    if (config_setting_type(s) == CONFIG_TYPE_STRING) {
        if (conf_add_publish(c, config_setting_get_string(s), 1, reason, sizeof reason))
            return fail_at(f, s, "%s%s", reason, "");
        return 0;
    }
    if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST)
        return wrong_type(f, s, "a string or an array of strings");
    c->n_publish = 0;
    for (int i = 0; i < config_setting_length(s); i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING)
            return fail_at(f, e, "publish entries must be strings, not %s%s",
                           type_name(config_setting_type(e)), "");
        if (conf_add_publish(c, config_setting_get_string(e), 0, reason, sizeof reason))
            return fail_at(f, e, "%s%s", reason, "");
    }
    if (!c->n_publish) return fail_at(f, s, "publish lists no endpoint%s%s", "", "");
    return 0;
}

static int read_stream_text(const file_ctx *f, const config_setting_t *s, char *dst, size_t size)
{
    if (config_setting_type(s) != CONFIG_TYPE_STRING) return wrong_type(f, s, "a string");
    const char *v = config_setting_get_string(s);
    if (!*v || strlen(v) >= size)
        return fail_at(f, s, "%s is empty or too long%s", config_setting_name(s), "");
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

static int read_input(const file_ctx *f, const config_setting_t *s, char dst[CONFIG_TEXT_LEN])
{
    char why[CONFIG_TEXT_LEN + 128];
    if (read_stream_text(f, s, dst, CONFIG_TEXT_LEN)) return -1;
    if (!input_check_spec(dst, why, sizeof why)) return 0;
    snprintf(f->err, f->err_len, "%s:%u: %s", f->path, config_setting_source_line(s), why);
    return -1;
}

static int read_streams(genred_config *c, const file_ctx *f, const config_setting_t *s)
{
    if (config_setting_type(s) != CONFIG_TYPE_LIST)
        return wrong_type(f, s, "a list of groups ( { name = ...; input = ...; }, ... )");
    int n = config_setting_length(s);
    if (n < 1) return fail_at(f, s, "streams must list at least one stream%s%s", "", "");
    if (n > CONFIG_STREAMS_MAX) {
        char count[16], most[16];
        snprintf(count, sizeof count, "%d", n);
        snprintf(most, sizeof most, "%d", CONFIG_STREAMS_MAX);
        return fail_at(f, s, "streams lists %s streams; one genred runs at most %s", count, most);
    }
    config_stream *list = calloc((size_t)n, sizeof *list);
    if (!list) return fail_at(f, s, "out of memory for the stream list%s%s", "", "");
    /* c owns its copy of the list (see load_parsed): replace it. */
    free(c->streams);
    c->streams = list;
    c->n_streams = 1; /* until every entry is read */
    for (int i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
        config_stream *st = &c->streams[i];
        if (config_setting_type(g) != CONFIG_TYPE_GROUP) return wrong_type(f, g, "a group");
        snprintf(st->name, sizeof st->name, "stream%d", i + 1);
        st->input[0] = '\0';
        for (int j = 0; j < config_setting_length(g); j++) {
            const config_setting_t *e = config_setting_get_elem(g, (unsigned)j);
            const char *key = config_setting_name(e);
            int bad;
            if (!strcmp(key, "name"))
                bad = read_stream_text(f, e, st->name, sizeof st->name);
            else if (!strcmp(key, "input"))
                bad = read_input(f, e, st->input);
            else
                bad = fail_at(f, e, "unknown key '%s' in a stream (name, input)%s", key, "");
            if (bad) return -1;
        }
        if (!st->input[0]) return fail_at(f, g, "stream '%s' has no input%s", st->name, "");
    }
    c->n_streams = (unsigned)n;
    return 0;
}

static int read_root(genred_config *c, const file_ctx *f, const config_setting_t *root)
{
    const config_setting_t *input = NULL, *name = NULL, *streams = NULL;
    for (int i = 0; i < config_setting_length(root); i++) {
        const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        const char *key = config_setting_name(s);
        const key_info *k = find_key(key);
        int bad = 0;
        if (k)
            bad = read_scalar(c, f, s, k);
        else if (!strcmp(key, "publish"))
            bad = read_publish(c, f, s);
        else if (!strcmp(key, "streams"))
            bad = read_streams(c, f, (streams = s));
        else if (!strcmp(key, "input"))
            bad = read_input(f, (input = s), c->streams[0].input);
        else if (!strcmp(key, "name"))
            bad = read_stream_text(f, (name = s), c->streams[0].name, CONFIG_NAME_LEN);
        else
            bad = fail_at(f, s, "unknown key '%s'%s", key, "");
        if (bad) return -1;
    }
    if (streams && (input || name))
        return fail_at(f, input ? input : name,
                       "'%s' cannot be combined with 'streams'; give each stream its own%s",
                       config_setting_name(input ? input : name), "");
    if (input) c->n_streams = 1;
    return 0;
}

/* Validates what libconfig read into lc (ok = its read succeeded) over c;
 * `name` stands for the file in errors and in c->source. */
static int load_parsed(genred_config *c, config_t *lc, int ok, const char *name, char *err,
                       size_t err_len)
{
    if (!ok) {
        if (config_error_type(lc) == CONFIG_ERR_FILE_IO)
            snprintf(err, err_len, "%s: cannot read: %s", name, strerror(errno));
        else
            snprintf(err, err_len, "%s:%d: %s",
                     config_error_file(lc) ? config_error_file(lc) : name, config_error_line(lc),
                     config_error_text(lc));
        return -1;
    }
    /* Read into a copy, so a failure leaves c as it was. */
    genred_config work;
    if (conf_copy(&work, c)) {
        snprintf(err, err_len, "%s: out of memory", name);
        return -1;
    }
    file_ctx f = {name, err, err_len};
    if (read_root(&work, &f, config_root_setting(lc))) {
        conf_free(&work);
        return -1;
    }
    snprintf(work.source, sizeof work.source, "%s", name);
    conf_free(c);
    *c = work;
    return 0;
}

int conf_load_file(genred_config *c, const char *path, char *err, size_t err_len)
{
    FILE *f = regular_file_open(path, REGULAR_FILE_CONFIG_MAX, err, err_len);
    if (!f) return -1;
    config_t lc;
    config_init(&lc);
    int rc = load_parsed(c, &lc, config_read(&lc, f), path, err, err_len);
    config_destroy(&lc);
    fclose(f);
    return rc;
}

int conf_load_string(genred_config *c, const char *text, const char *name, char *err,
                     size_t err_len)
{
    config_t lc;
    config_init(&lc);
    int rc = load_parsed(c, &lc, config_read_string(&lc, text), name, err, err_len);
    config_destroy(&lc);
    return rc;
}

static unsigned key_line(const char *path, const char *key)
{
    unsigned line = 0;
    if (!path || !*path) return 0;
    char why[CONFIG_TEXT_LEN + 80];
    FILE *f = regular_file_open(path, REGULAR_FILE_CONFIG_MAX, why, sizeof why);
    if (!f) return 0;
    config_t lc;
    config_init(&lc);
    if (config_read(&lc, f)) {
        const config_setting_t *s = config_lookup(&lc, key);
        if (s) line = config_setting_source_line(s);
    }
    config_destroy(&lc);
    fclose(f);
    return line;
}

void conf_key_where(const char *path, const char *key, char *buf, size_t len)
{
    unsigned line = key_line(path, key);
    if (line)
        snprintf(buf, len, "%s:%u: ", path, line);
    else
        buf[0] = '\0';
}

static void key_where(const genred_config *c, const char *key, char *buf, size_t len)
{
    conf_key_where(c->source, key, buf, len);
}

/* A stream's name goes into every message (JSON: UTF-8 only) and log line
 * (a newline would forge one): printable UTF-8, nothing else. */
static int check_name(const genred_config *c, const char *name, char *err, size_t err_len)
{
    if (utf8_printable(name)) return 0;
    char at[CONFIG_TEXT_LEN + 16], shown[4 * CONFIG_NAME_LEN + 1];
    key_where(c, "streams", at, sizeof at);
    if (!at[0]) key_where(c, "name", at, sizeof at);
    utf8_escape(name, shown, sizeof shown);
    snprintf(err, err_len,
             "%sstream name '%s': not printable UTF-8 (control characters and bytes that are "
             "not UTF-8 are refused)",
             at, shown);
    return -1;
}

int conf_check(const genred_config *c, char *err, size_t err_len)
{
    char at[CONFIG_TEXT_LEN + 16];
    if (!c->n_publish) {
        snprintf(err, err_len, "publish: no endpoint");
        return -1;
    }
    for (unsigned i = 0; i < c->n_streams; i++)
        if (check_name(c, c->streams[i].name, err, err_len)) return -1;
    for (unsigned i = 0; i < c->n_streams; i++)
        for (unsigned j = 0; j < i; j++)
            if (!strcmp(c->streams[i].name, c->streams[j].name)) {
                key_where(c, "streams", at, sizeof at);
                snprintf(err, err_len, "%sstreams: the name '%s' is used twice", at,
                         c->streams[i].name);
                return -1;
            }
    if (c->curve_allow[0] && !c->curve_secret_key[0]) {
        key_where(c, "curve_allow", at, sizeof at);
        snprintf(err, err_len, "%scurve_allow: needs curve_secret_key (CURVE is off without it)",
                 at);
        return -1;
    }
    /* Plain text off this machine lets anyone on the path read and subscribe. */
    for (unsigned i = 0; i < c->n_publish; i++)
        if (!c->curve_secret_key[0] && !c->allow_plaintext_remote &&
            !curve_endpoint_is_local(c->publish[i])) {
            key_where(c, "publish", at, sizeof at);
            snprintf(err, err_len,
                     "%spublish '%s': not loopback or ipc, so it needs curve_secret_key (see "
                     "genred --gen-keys), or allow_plaintext_remote = true",
                     at, c->publish[i]);
            return -1;
        }
    return 0;
}
