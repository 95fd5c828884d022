#include "replay.h"

#include "nats_util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define BATCH    256
#define FETCH_MS 500

static void print_event(natsMsg *m, FILE *out)
{
    json_t *o = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, NULL);
    if (json_is_object(o)) json_object_set_new(o, "subject", json_string(natsMsg_GetSubject(m)));
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(7)) : NULL;
    if (text)
        fprintf(out, "%s\n", text);
    else /* not JSON: as it is */
        fprintf(out, "%.*s\n", natsMsg_GetDataLength(m), natsMsg_GetData(m));
    free(text);
    json_decref(o);
}

/* A durable keeps the filter of its first run, and libnats words another
 * one "(js.c:2202): subject ... does not match consumer filter subject".
 * Said here in the user's terms, with the two ways out. --reset deletes the
 * durable, so the run starts again from the oldest event under its filter. */
static int prepare_durable(jsCtx *js, const replay_options *o, char *err, size_t err_len)
{
    jsErrCode code = 0;
    if (o->reset) {
        natsStatus s = js_DeleteConsumer(js, o->stream, o->durable, NULL, &code);
        if (s == NATS_OK || code == JSConsumerNotFoundErr || code == JSStreamNotFoundErr) return 0;
        snprintf(err, err_len, "--reset: deleting durable '%s' of stream '%s': %s", o->durable,
                 o->stream, nats_util_error(s));
        return -1;
    }
    jsConsumerInfo *ci = NULL;
    /* None yet (or no stream: the subscription says so). */
    if (js_GetConsumerInfo(&ci, js, o->stream, o->durable, NULL, &code) != NATS_OK) return 0;
    const char *had = ci->Config && ci->Config->FilterSubject ? ci->Config->FilterSubject : "";
    int same = !strcmp(had, o->filter);
    if (!same)
        snprintf(err, err_len,
                 "durable '%s' already exists on stream '%s' with --subject '%s', not '%s': use a "
                 "new --durable name, or add --reset to delete it and start again from the "
                 "oldest stored event",
                 o->durable, o->stream, had, o->filter);
    jsConsumerInfo_Destroy(ci);
    return same ? 0 : -1;
}

long replay_run(jsCtx *js, const replay_options *o, FILE *out, volatile sig_atomic_t *stop,
                char *err, size_t err_len)
{
    if (prepare_durable(js, o, err, err_len)) return -1;
    natsSubscription *sub =
        nats_util_pull(js, o->stream, o->filter, o->durable, 30.0, err, err_len);
    if (!sub) return -1;
    long count = 0;
    int64_t busy_ms = nats_Now(); /* when the last message came */
    while (!*stop && (!o->max_events || count < o->max_events)) {
        natsMsgList list = {0};
        int want =
            o->max_events && o->max_events - count < BATCH ? (int)(o->max_events - count) : BATCH;
        natsStatus s = nats_util_fetch(sub, &list, want, FETCH_MS);
        if (s == NATS_TIMEOUT) {
            if (o->idle_exit > 0 && nats_Now() - busy_ms >= (int64_t)(o->idle_exit * 1000)) break;
            continue;
        }
        if (s != NATS_OK) {
            snprintf(err, err_len, "fetching from '%s': %s", o->stream, nats_util_error(s));
            count = -1;
            break;
        }
        busy_ms = nats_Now();
        for (int i = 0; i < list.Count; i++)
            print_event(list.Msgs[i], out);
        fflush(out);
        /* Acknowledged only once written out, so a crash replays them; the
         * last synchronously, which also sees the others (sent before it on
         * the same connection) to the server before an exit. */
        for (int i = 0; i < list.Count; i++)
            if (i + 1 < list.Count)
                natsMsg_Ack(list.Msgs[i], NULL);
            else
                natsMsg_AckSync(list.Msgs[i], NULL, NULL);
        count += list.Count;
        natsMsgList_Destroy(&list);
    }
    natsSubscription_Destroy(sub);
    return count;
}
