#include "nats_util.h"

#include <stdio.h>
#include <string.h>

const char *nats_util_error(natsStatus s)
{
    const char *text = nats_GetLastError(NULL);
    return text && *text ? text : natsStatus_GetText(s);
}

#define MAX_SERVERS  32
#define MAX_SUBJECTS 64

/* natsOptions_SetServers with the comma-separated list (SetURL takes one). */
static natsStatus set_servers(natsOptions *o, const char *urls)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", urls);
    const char *list[MAX_SERVERS];
    int n = 0;
    for (char *save = NULL, *t = strtok_r(copy, ", ", &save); t && n < MAX_SERVERS;
         t = strtok_r(NULL, ", ", &save))
        list[n++] = t;
    return n ? natsOptions_SetServers(o, list, n) : NATS_INVALID_ARG;
}

natsConnection *nats_util_connect(const char *urls, const char *name, int keep_trying, char *err,
                                  size_t err_len)
{
    natsOptions *o = NULL;
    natsConnection *nc = NULL;
    natsStatus s = natsOptions_Create(&o);
    if (s == NATS_OK) s = set_servers(o, urls);
    if (s == NATS_OK) s = natsOptions_SetName(o, name);
    if (s == NATS_OK) s = natsOptions_SetTimeout(o, 2000);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(o, 250);
    /* Reconnect forever; what was published while away is the caller's to
     * keep (the bridge's buffer), not the library's. */
    if (s == NATS_OK && keep_trying) s = natsOptions_SetMaxReconnect(o, -1);
    if (s == NATS_OK && keep_trying) s = natsOptions_SetRetryOnFailedConnect(o, true, NULL, NULL);
    if (s == NATS_OK) s = natsConnection_Connect(&nc, o);
    /* With retry on, "not yet connected" is how a connection to a cluster
     * that is down starts. */
    if (s == NATS_NOT_YET_CONNECTED) s = NATS_OK;
    if (s != NATS_OK) {
        snprintf(err, err_len, "nats '%s': %s", urls, nats_util_error(s));
        natsConnection_Destroy(nc);
        nc = NULL;
    }
    natsOptions_Destroy(o);
    return nc;
}

/* Whether the stream's subjects already take subject ("A.B.>"): the same
 * subject, ">", or a wildcard "A.>" above it. */
static int covered(const jsStreamConfig *have, const char *subject)
{
    for (int i = 0; i < have->SubjectsLen; i++) {
        const char *h = have->Subjects[i];
        size_t n = strlen(h);
        if (!strcmp(h, subject) || !strcmp(h, ">")) return 1;
        if (n >= 2 && !strcmp(h + n - 2, ".>") && !strncmp(h, subject, n - 1)) return 1;
    }
    return 0;
}

/* A stream made by an older genre-hub bridged fewer topics: adds the
 * subjects it lacks, and keeps everything else about it. */
static int add_missing_subjects(jsCtx *js, const jsStreamConfig *have, const nats_stream_spec *spec,
                                char *err, size_t err_len)
{
    const char *all[MAX_SUBJECTS];
    int n = 0, added = 0;
    for (int i = 0; i < have->SubjectsLen && n < MAX_SUBJECTS; i++)
        all[n++] = have->Subjects[i];
    for (int i = 0; i < spec->n_subjects && n < MAX_SUBJECTS; i++)
        if (!covered(have, spec->subjects[i])) {
            all[n++] = spec->subjects[i];
            added++;
        }
    if (!added) return 0;
    jsStreamConfig sc = *have;
    sc.Subjects = all;
    sc.SubjectsLen = n;
    jsStreamInfo *si = NULL;
    jsErrCode code = 0;
    natsStatus s = js_UpdateStream(&si, js, &sc, NULL, &code);
    jsStreamInfo_Destroy(si);
    if (s == NATS_OK) return 0;
    snprintf(err, err_len,
             "stream '%s': cannot add the subjects of newer topics: %s (JetStream "
             "error %d)",
             spec->name, nats_util_error(s), (int)code);
    return -1;
}

int nats_util_stream(jsCtx *js, const nats_stream_spec *spec, char *err, size_t err_len)
{
    jsStreamInfo *si = NULL;
    jsErrCode code = 0;
    natsStatus s = js_GetStreamInfo(&si, js, spec->name, NULL, &code);
    if (s == NATS_OK) {
        int r = add_missing_subjects(js, si->Config, spec, err, err_len);
        jsStreamInfo_Destroy(si);
        return r;
    }
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = spec->name;
    sc.Subjects = spec->subjects;
    sc.SubjectsLen = spec->n_subjects;
    sc.Storage = js_FileStorage;
    sc.Replicas = spec->replicas;
    sc.Retention = spec->work_queue ? js_WorkQueuePolicy : js_LimitsPolicy;
    sc.Duplicates = (int64_t)(spec->duplicate_window_s * 1e9);
    code = 0;
    s = js_AddStream(&si, js, &sc, NULL, &code);
    if (s != NATS_OK && code != JSStreamNameExistErr) {
        snprintf(err, err_len, "stream '%s': %s (JetStream error %d)", spec->name,
                 nats_util_error(s), (int)code);
        return -1;
    }
    jsStreamInfo_Destroy(si);
    return 0;
}

void nats_util_subject(char *out, size_t out_len, const char *prefix, const char *name)
{
    int n = snprintf(out, out_len, "%s.", prefix);
    if (n < 0 || (size_t)n >= out_len) return;
    size_t i = (size_t)n, start = i;
    for (const char *c = name; *c && i + 1 < out_len; c++, i++) {
        unsigned char ch = (unsigned char)*c;
        /* A '/' separates tokens only where it leaves no token empty. */
        int separator = ch == '/' && i > start && out[i - 1] != '.' && c[1] && c[1] != '/';
        out[i] = separator                                                         ? '.'
                 : (ch <= ' ' || ch == '.' || ch == '*' || ch == '>' || ch == '/') ? '_'
                                                                                   : *c;
    }
    out[i] = '\0';
}

natsSubscription *nats_util_pull(jsCtx *js, const char *stream, const char *filter,
                                 const char *durable, double ack_wait_s, char *err, size_t err_len)
{
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.AckWait = (int64_t)(ack_wait_s * 1e9);
    natsSubscription *sub = NULL;
    jsErrCode code = 0;
    natsStatus s = js_PullSubscribe(&sub, js, filter, durable, NULL, &so, &code);
    if (s != NATS_OK) {
        snprintf(err, err_len, "consumer '%s' of stream '%s': %s", durable, stream,
                 nats_util_error(s));
        return NULL;
    }
    return sub;
}

natsStatus nats_util_fetch(natsSubscription *sub, natsMsgList *list, int batch, int wait_ms)
{
    for (int waited = 0;; waited += 100) {
        jsFetchRequest req;
        jsFetchRequest_Init(&req);
        req.Batch = batch;
        req.NoWait = true;
        req.Expires = 250000000LL; /* ns: bounds the wait for the reply */
        natsStatus s = natsSubscription_FetchRequest(list, sub, &req);
        if (s == NATS_OK && list->Count > 0) return NATS_OK;
        if (s == NATS_OK) natsMsgList_Destroy(list);
        if (s != NATS_OK && s != NATS_TIMEOUT && s != NATS_NOT_FOUND) return s;
        if (waited >= wait_ms) return NATS_TIMEOUT;
        nats_Sleep(100);
    }
}

jsCtx *nats_util_jetstream(natsConnection *nc, jsOptions *o, char *err, size_t err_len)
{
    jsOptions defaults;
    if (!o) {
        jsOptions_Init(&defaults);
        o = &defaults;
    }
    o->Wait = 30000;
    jsCtx *js = NULL;
    natsStatus s = natsConnection_JetStream(&js, nc, o);
    if (s != NATS_OK) snprintf(err, err_len, "jetstream: %s", nats_util_error(s));
    return s == NATS_OK ? js : NULL;
}
