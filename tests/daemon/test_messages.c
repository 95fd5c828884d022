/* messages: the JSON each topic carries, parsed back with jansson and
 * checked field by field against messages.h, without a daemon or a socket. */
#include "check.h"
#include "config.h"
#include "messages.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
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
        CHECK(!strcmp(str(o, "title"), "Artist - Song"));
        json_decref(o);
    }
}

/* A song counts the windows wholly inside it and not silent: their mean,
 * the label with the highest mean, and the share of windows it topped. */
static void test_track(const message_source *src)
{
    song_t *song = song_create(2);
    REQUIRE(song);
    song_summary s;
    CHECK(!song_end(song, 10, &s)); /* no title yet: no song */
    song_start(song, "Artist - Song", 1000);
    const float before[2] = {0.0f, 1.0f}, a[2] = {0.9f, 0.1f}, b[2] = {0.7f, 0.3f},
                c[2] = {0.2f, 0.8f};
    song_add(song, 999, before, 0); /* began inside the song before: not counted */
    song_add(song, 1000, a, 0);
    song_add(song, 1500, b, 0);
    song_add(song, 2000, c, 0);
    song_add(song, 2500, c, 1); /* silent */
    REQUIRE(song_end(song, 45100, &s));
    json_t *o = parse_as(PROTOCOL_TRACK, message_track(src, &s));
    CHECK(!strcmp(str(o, "title"), "Artist - Song") && !strcmp(str(o, "stream"), "radio"));
    CHECK(json_integer_value(json_object_get(o, "start")) == 1000 &&
          json_integer_value(json_object_get(o, "end")) == 45100);
    CHECK_NEAR(json_real_value(json_object_get(o, "seconds")), 1.0, 1e-9);
    CHECK(json_integer_value(json_object_get(o, "windows")) == 3 &&
          json_integer_value(json_object_get(o, "silent_windows")) == 1);
    CHECK_NEAR(json_real_value(json_array_get(json_object_get(o, "probs"), 0)), 0.6, 1e-6);
    CHECK(!strcmp(str(o, "top"), "jazz"));
    CHECK_NEAR(json_real_value(json_object_get(o, "share")), 2.0 / 3.0, 1e-6);
    json_decref(o);

    /* A song too short for a window: no probabilities, no top. */
    song_start(song, "Jingle", 45100);
    REQUIRE(song_end(song, 46000, &s));
    o = parse_as(PROTOCOL_TRACK, message_track(src, &s));
    CHECK(json_is_null(json_object_get(o, "probs")) && json_is_null(json_object_get(o, "top")));
    CHECK(json_integer_value(json_object_get(o, "windows")) == 0);
    json_decref(o);
    song_start(song, "", 46000); /* between songs: none open */
    CHECK(!song_end(song, 47000, &s) && !strcmp(song_title(song), ""));
    song_destroy(song);
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
    strcpy(st[1].stats.title, "Artist - Song");
    json_t *o = parse_as(PROTOCOL_STATUS, message_status(&proc, st, 2));
    CHECK(!strcmp(str(o, "version"), "9.9.9") &&
          json_integer_value(json_object_get(o, "sent")) == 42);
    json_t *a = json_array_get(json_object_get(o, "streams"), 0);
    json_t *b = json_array_get(json_object_get(o, "streams"), 1);
    CHECK(!strcmp(str(a, "error"), "") && !strcmp(str(a, "note"), "stdin: end of input"));
    CHECK(!strcmp(str(b, "note"), "") && strstr(str(b, "error"), "went away"));
    CHECK(json_integer_value(json_object_get(json_object_get(a, "latency_ms"), "n")) == 3);
    CHECK(json_is_null(json_object_get(b, "latency_ms")));
    CHECK(!strcmp(str(a, "title"), "") && !strcmp(str(b, "title"), "Artist - Song"));
    CHECK(json_is_null(json_object_get(a, "level_dbfs")) &&
          json_is_null(json_object_get(a, "top")));
    json_decref(o);
}

/* A stream whose every text is at its longest; made of c. */
static void longest_stream(message_stream_status *st, char c, char *name, char *input)
{
    memset(st, 0, sizeof *st);
    memset(name, c, CONFIG_NAME_LEN - 1);
    name[CONFIG_NAME_LEN - 1] = '\0';
    memset(input, c, CONFIG_TEXT_LEN - 1);
    input[CONFIG_TEXT_LEN - 1] = '\0';
    st->name = name;
    st->input = input;
    memset(st->error, c, sizeof st->error - 1);
    memset(st->note, c, sizeof st->note - 1);
    memset(st->stats.title, c, sizeof st->stats.title - 1);
    memset(st->stats.top, c, sizeof st->stats.top - 1);
    st->stats.state = "starting"; /* the longest state name */
    st->stats.have_top = st->stats.have_level = 1;
    st->stats.rate = st->stats.p = st->stats.level_dbfs = -1.2345678901234567e-300;
    st->stats.channels = 1000000000;
    st->stats.position = st->stats.hops = st->stats.overruns = UINT64_MAX / 2;
    st->stats.overrun_samples = st->stats.nonfinite = UINT64_MAX / 2;
    st->latency_n = 1000000000;
    st->latency_p50 = st->latency_p99 = st->latency_max = -1.2345678901234567e-300;
}

/* What one stream adds to genre.status: the status of n copies of st less
 * the status of none. */
static size_t status_bytes(const message_stream_status *st, unsigned n)
{
    message_process_status proc = {"9.9.9", "test-model", 1, 1, 1, 1, 1, 1};
    message_stream_status *many = malloc(n * sizeof *many);
    REQUIRE(many);
    for (unsigned i = 0; i < n; i++)
        many[i] = *st;
    char *text = message_status(&proc, many, n);
    REQUIRE(text);
    size_t len = strlen(text);
    if (len <= PROTOCOL_STATUS_MAX)
        json_decref(parse_as(PROTOCOL_STATUS, text));
    else
        free(text);
    free(many);
    return len;
}

/* genre.status is sized for its worst stream (protocol.h): every text at
 * its longest and escaped to 6 bytes a character; a genred with as many
 * such streams as a config may name still sends a status receivers take. */
static void test_status_size(void)
{
    static char name[CONFIG_NAME_LEN], input[CONFIG_TEXT_LEN];
    message_stream_status st;
    longest_stream(&st, 'x', name, input);
    size_t base = status_bytes(&st, 0), plain = status_bytes(&st, 1) - base;
    longest_stream(&st, '\x01', name, input);
    size_t worst = status_bytes(&st, 1) - base;
    printf("genre.status bytes a stream: %zu with every text at its longest, %zu escaped\n", plain,
           worst);
    CHECK(plain < worst && worst <= PROTOCOL_STATUS_STREAM_MAX);
    size_t all = status_bytes(&st, CONFIG_STREAMS_MAX);
    printf("genre.status of %d such streams: %zu bytes (limit %d)\n", CONFIG_STREAMS_MAX, all,
           PROTOCOL_STATUS_MAX);
    CHECK(all <= PROTOCOL_STATUS_MAX && all > PROTOCOL_MESSAGE_MAX);
}

int main(void)
{
    model_t *m = two_labels();
    message_source src = {"radio", m, 123456, 44100.0, 7, 1700000000123, "Artist - Song"};
    test_probs(&src);
    test_change(&src);
    test_track(&src);
    test_status();
    test_status_size();
    CHECK(!strcmp(protocol_topic_name(PROTOCOL_TRACK), "genre.track"));
    model_destroy(m);
    return check_report("test_messages");
}
