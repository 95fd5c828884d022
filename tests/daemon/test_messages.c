/* messages: the JSON each topic carries, parsed back with jansson and
 * checked field by field against messages.h, without a daemon or a socket. */
#include "check.h"
#include "messages.h"

#include <jansson.h>
#include <string.h>

/* The built-in model with its first two labels renamed, so the expected
 * strings below are written out rather than read from the model. */
static model_t *two_labels(void)
{
    char err[256];
    model_t *m = model_load_default(err, sizeof err);
    REQUIRE(m && m->n_labels >= 2);
    m->n_labels = 2; /* model_destroy frees by pointer, not by count */
    strcpy(m->labels[0], "jazz");
    strcpy(m->labels[1], "metal");
    strcpy(m->id, "test-model");
    return m;
}

/* Parses a built message as any receiver would (protocol_parse), which
 * also checks it against the protocol's rules. */
static json_t *parse_as(protocol_topic topic, char *text)
{
    REQUIRE(text);
    protocol_message m;
    const char *why = "";
    const char *name = protocol_topic_name(topic);
    if (protocol_parse(name, strlen(name), text, strlen(text), &m, &why))
        fprintf(stderr, "%s: %s\n", name, why);
    free(text);
    REQUIRE(m.body);
    return m.body;
}

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void test_probs(const message_source *src)
{
    float probs[2] = {0.25f, 0.75f}, raw[2] = {0.4f, 0.6f};
    tracker_decision d = {probs, 1, 0, 0.75, 1, 0, TRACKER_NONE};
    json_t *o = parse_as(PROTOCOL_PROBS, message_probs(src, &d, raw, -20.5));
    CHECK(json_integer_value(json_object_get(o, "v")) == 1);
    CHECK(json_integer_value(json_object_get(o, "seq")) == 7);
    CHECK(json_integer_value(json_object_get(o, "started_ms")) == 1700000000123);
    CHECK(!strcmp(str(o, "stream"), "radio") && !strcmp(str(o, "model"), "test-model"));
    CHECK(json_integer_value(json_object_get(o, "position")) == 123456);
    CHECK(json_real_value(json_object_get(o, "rate")) == 44100.0);
    CHECK(!strcmp(str(o, "top"), "metal"));
    CHECK_NEAR(json_real_value(json_object_get(o, "p")), 0.75, 1e-6);
    CHECK_NEAR(json_real_value(json_array_get(json_object_get(o, "probs"), 0)), 0.25, 1e-6);
    CHECK_NEAR(json_real_value(json_array_get(json_object_get(o, "raw"), 1)), 0.6, 1e-6);
    CHECK(!strcmp(json_string_value(json_array_get(json_object_get(o, "labels"), 1)), "metal"));
    CHECK(json_is_false(json_object_get(o, "silence")));
    CHECK_NEAR(json_real_value(json_object_get(o, "level_dbfs")), -20.5, 1e-6);
    json_decref(o);

    /* Silent: top is null and p 0, the held probabilities still listed. */
    tracker_decision s = {probs, 1, 1, 0.0, TRACKER_SILENCE, 0, 1};
    o = parse_as(PROTOCOL_PROBS, message_probs(src, &s, raw, -90));
    CHECK(json_is_null(json_object_get(o, "top")) && json_is_true(json_object_get(o, "silence")));
    CHECK(json_real_value(json_object_get(o, "p")) == 0.0);
    CHECK(json_array_size(json_object_get(o, "probs")) == 2);
    json_decref(o);
}

/* previous and new are null for silence and for "nothing yet";
 * previous_silence tells those apart. */
static void test_change(const message_source *src)
{
    float probs[2] = {0.2f, 0.8f};
    const struct {
        int previous, state;
        const char *prev, *now;
        int silence, previous_silence;
    } cases[] = {
        {TRACKER_NONE, 1, NULL, "metal", 0, 0},
        {1, TRACKER_SILENCE, "metal", NULL, 1, 0},
        {TRACKER_SILENCE, 0, NULL, "jazz", 0, 1},
        {0, 1, "jazz", "metal", 0, 0},
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tracker_decision d = {probs, 1, cases[i].silence, 0, cases[i].state, 1, cases[i].previous};
        json_t *o = parse_as(PROTOCOL_CHANGE, message_change(src, &d));
        CHECK(json_integer_value(json_object_get(o, "seq")) == 7);
        json_t *prev = json_object_get(o, "previous"), *now = json_object_get(o, "new");
        CHECK(cases[i].prev ? !strcmp(json_string_value(prev), cases[i].prev) : json_is_null(prev));
        CHECK(cases[i].now ? !strcmp(json_string_value(now), cases[i].now) : json_is_null(now));
        CHECK(json_boolean_value(json_object_get(o, "silence")) == cases[i].silence);
        CHECK(json_boolean_value(json_object_get(o, "previous_silence")) ==
              cases[i].previous_silence);
        double p = cases[i].state >= 0 ? probs[cases[i].state] : 0.0;
        CHECK_NEAR(json_real_value(json_object_get(o, "p")), p, 1e-6);
        json_decref(o);
    }
}

/* error and note are separate fields; latency_ms is null without hops. */
static void test_status(void)
{
    message_process_status proc = {"9.9.9", "test-model", 12.5, 3.0, 1.0, 0.5, 42, 1};
    message_stream_status st[2];
    memset(st, 0, sizeof st);
    st[0].name = "a";
    st[0].input = "stdin";
    strcpy(st[0].note, "stdin: end of input");
    st[0].stats.state = "ended";
    st[0].latency_n = 3;
    st[0].latency_p50 = 1.5;
    st[1].name = "b";
    st[1].input = "jack";
    strcpy(st[1].error, "JACK server went away; retrying every 0.5 s");
    st[1].stats.state = "waiting";
    json_t *o = parse_as(PROTOCOL_STATUS, message_status(&proc, st, 2));
    CHECK(!strcmp(str(o, "version"), "9.9.9") &&
          json_integer_value(json_object_get(o, "sent")) == 42);
    json_t *a = json_array_get(json_object_get(o, "streams"), 0);
    json_t *b = json_array_get(json_object_get(o, "streams"), 1);
    CHECK(!strcmp(str(a, "error"), "") && !strcmp(str(a, "note"), "stdin: end of input"));
    CHECK(!strcmp(str(b, "note"), "") && strstr(str(b, "error"), "went away"));
    CHECK(json_integer_value(json_object_get(json_object_get(a, "latency_ms"), "n")) == 3);
    CHECK(json_is_null(json_object_get(b, "latency_ms")));
    CHECK(json_is_null(json_object_get(a, "level_dbfs")) &&
          json_is_null(json_object_get(a, "top")));
    json_decref(o);
}

int main(void)
{
    model_t *m = two_labels();
    message_source src = {"radio", m, 123456, 44100.0, 7, 1700000000123};
    test_probs(&src);
    test_change(&src);
    test_status();
    model_destroy(m);
    return check_report("test_messages");
}
