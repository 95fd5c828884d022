#include "osc_out.h"

#include "log.h"

#include <lo/lo.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { RETRY_MS = 1000 };

struct osc_out {
    char *url;
    lo_address addr;
    int tcp;
    int failing;      /* the last send failed: said once until one succeeds */
    int64_t next_try; /* TCP: no connection attempt before this (ms) */
    int reconnected;  /* a TCP receiver came back: send every state */
    uint64_t sent, failed;
};

/* HOST:PORT, PORT 1..65535, for a URL's host part and port. */
static int valid_port(const char *port)
{
    char *end;
    long n = port ? strtol(port, &end, 10) : 0;
    return port && *port && !*end && n >= 1 && n <= 65535;
}

osc_out_t *osc_out_create(const char *url, char *err, size_t err_len)
{
    osc_out_t *o = calloc(1, sizeof *o);
    int scheme = !strncmp(url, "osc.udp://", 10) || !strncmp(url, "osc.tcp://", 10);
    size_t len = strlen(url) + 16;
    if (o) o->url = malloc(len);
    if (!o || !o->url) {
        snprintf(err, err_len, "--osc '%s': out of memory", url);
        osc_out_destroy(o);
        return NULL;
    }
    snprintf(o->url, len, "%s%s", scheme ? "" : "osc.udp://", url);
    o->addr = lo_address_new_from_url(o->url);
    const char *host = o->addr ? lo_address_get_hostname(o->addr) : NULL;
    if (!o->addr || !host || !*host || !valid_port(lo_address_get_port(o->addr)) ||
        (lo_address_get_protocol(o->addr) != LO_UDP &&
         lo_address_get_protocol(o->addr) != LO_TCP)) {
        snprintf(err, err_len,
                 "--osc '%s': expected osc.udp://HOST:PORT, osc.tcp://HOST:PORT or HOST:PORT", url);
        osc_out_destroy(o);
        return NULL;
    }
    o->tcp = lo_address_get_protocol(o->addr) == LO_TCP;
    return o;
}

void osc_out_destroy(osc_out_t *o)
{
    if (!o) return;
    if (o->addr) lo_address_free(o->addr);
    free(o->url);
    free(o);
}

/* Sends m to /genred/STREAM/WHAT and frees it, keeping count and saying
 * when the receiver stops and starts taking messages. */
static void send_to(osc_out_t *o, const bridge_stream *s, const char *what, lo_message m,
                    int64_t now_ms)
{
    char path[2 * BRIDGE_NAME_LEN + 32];
    snprintf(path, sizeof path, "/genred/%s/%s", s->safe, what);
    int built = m != NULL, ok = 0;
    if (built && !(o->tcp && o->failing && now_ms < o->next_try))
        ok = lo_send_message(o->addr, path, m) >= 0;
    if (built) lo_message_free(m);
    if (ok) {
        o->sent++;
        if (o->failing) log_info("OSC receiver %s takes messages again", o->url);
        o->reconnected |= o->failing && o->tcp;
        o->failing = 0;
        return;
    }
    o->failed++;
    if (o->tcp && now_ms >= o->next_try) o->next_try = now_ms + RETRY_MS;
    if (!o->failing) {
        const char *why = built ? lo_address_errstr(o->addr) : "out of memory";
        log_warn("OSC receiver %s: %s; %s", o->url, why ? why : "send failed",
                 o->tcp ? "retrying every second" : "sending on");
    }
    o->failing = 1;
}

static const char *text(json_t *msg, const char *key)
{
    const char *s = json_string_value(json_object_get(msg, key));
    return s ? s : "";
}

static float number(json_t *msg, const char *key)
{
    return (float)json_number_value(json_object_get(msg, key));
}

static int32_t flag(json_t *msg, const char *key)
{
    return json_is_true(json_object_get(msg, key));
}

/* Appends (label, value) pairs: the model's labels with msg[key]. */
static void add_pairs(lo_message m, json_t *msg, const char *key)
{
    json_t *labels = json_object_get(msg, "labels"), *values = json_object_get(msg, key);
    for (size_t i = 0; i < json_array_size(labels) && i < json_array_size(values); i++) {
        const char *label = json_string_value(json_array_get(labels, i));
        lo_message_add_string(m, label ? label : "");
        lo_message_add_float(m, (float)json_number_value(json_array_get(values, i)));
    }
}

static lo_message change_message(json_t *msg)
{
    lo_message m = lo_message_new();
    if (!m) return NULL;
    lo_message_add_string(m, text(msg, "new"));
    lo_message_add_float(m, number(msg, "p"));
    lo_message_add_string(m, text(msg, "previous"));
    lo_message_add_int32(m, flag(msg, "silence"));
    lo_message_add_int32(m, flag(msg, "previous_silence"));
    lo_message_add_string(m, text(msg, "title"));
    return m;
}

static lo_message track_message(json_t *msg)
{
    double rate = json_number_value(json_object_get(msg, "rate"));
    double start = json_number_value(json_object_get(msg, "start"));
    double end = json_number_value(json_object_get(msg, "end"));
    lo_message m = lo_message_new();
    if (!m) return NULL;
    lo_message_add_string(m, text(msg, "title"));
    lo_message_add_string(m, text(msg, "top"));
    lo_message_add_float(m, number(msg, "share"));
    lo_message_add_float(m, number(msg, "seconds"));
    lo_message_add_float(m, rate > 0 ? (float)(start / rate) : 0.0f);
    lo_message_add_float(m, rate > 0 ? (float)(end / rate) : 0.0f);
    lo_message_add_int32(m, (int32_t)json_integer_value(json_object_get(msg, "windows")));
    add_pairs(m, msg, "probs");
    return m;
}

static void send_probs(osc_out_t *o, const bridge_stream *s, json_t *msg, int64_t now_ms)
{
    lo_message m = lo_message_new();
    if (m) {
        lo_message_add_string(m, text(msg, "top"));
        lo_message_add_float(m, number(msg, "p"));
        lo_message_add_int32(m, flag(msg, "silence"));
        lo_message_add_float(m, number(msg, "level_dbfs"));
        add_pairs(m, msg, "probs");
    }
    send_to(o, s, "probs", m, now_ms);
    json_t *labels = json_object_get(msg, "labels"), *probs = json_object_get(msg, "probs");
    for (size_t i = 0; i < json_array_size(labels) && i < json_array_size(probs); i++) {
        char what[BRIDGE_NAME_LEN + 8] = "prob/";
        const char *label = json_string_value(json_array_get(labels, i));
        bridge_safe_name(what + 5, sizeof what - 5, label ? label : "");
        lo_message one = lo_message_new();
        if (one) lo_message_add_float(one, (float)json_number_value(json_array_get(probs, i)));
        send_to(o, s, what, one, now_ms);
    }
}

void osc_out_send(osc_out_t *o, protocol_topic topic, const bridge_stream *s, json_t *msg,
                  int64_t now_ms)
{
    if (topic == PROTOCOL_PROBS)
        send_probs(o, s, msg, now_ms);
    else if (topic == PROTOCOL_CHANGE)
        send_to(o, s, "change", change_message(msg), now_ms);
    else
        send_to(o, s, "track", track_message(msg), now_ms);
}

void osc_out_state(osc_out_t *o, const bridge_stream *s, int64_t now_ms)
{
    if (!s->has_state) return;
    lo_message m = lo_message_new();
    if (m) {
        lo_message_add_string(m, s->genre);
        lo_message_add_float(m, (float)s->p);
        lo_message_add_int32(m, s->silence);
        lo_message_add_string(m, s->title);
    }
    send_to(o, s, "state", m, now_ms);
}

int osc_out_reconnected(osc_out_t *o)
{
    int r = o->reconnected;
    o->reconnected = 0;
    return r;
}

uint64_t osc_out_sent(const osc_out_t *o)
{
    return o->sent;
}

uint64_t osc_out_failed(const osc_out_t *o)
{
    return o->failed;
}
