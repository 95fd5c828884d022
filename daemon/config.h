/* config: genred's settings, from built-in defaults, a libconfig file and
 * command-line overrides, validated with errors that name file and line
 * (or the flag). See config/genred.conf for every key. */
#ifndef GENRED_CONFIG_H
#define GENRED_CONFIG_H

#include "tracker.h"

#include <stddef.h>

#define CONFIG_MAX_PUBLISH 8
#define CONFIG_NAME_LEN    64
#define CONFIG_TEXT_LEN    512
/* The most streams one genred runs: genre.status, which lists every stream
 * in one message, is sized for this many (protocol.h). */
#define CONFIG_STREAMS_MAX 1024

typedef enum { DROP_COUNT = 0, DROP_ISOLATE = 1 } config_drop_policy;
/* JACK_SHARED: one client "genred" carries every JACK stream's ports;
 * JACK_PER_STREAM: a client per stream, genred-<stream>. */
typedef enum { JACK_SHARED = 0, JACK_PER_STREAM = 1 } config_jack_clients;

typedef struct {
    char name[CONFIG_NAME_LEN];
    char input[CONFIG_TEXT_LEN];
} config_stream;

typedef struct {
    char source[CONFIG_TEXT_LEN]; /* file the settings came from; "" for defaults */
    /* On the heap, as many as the file lists: no fixed cap on streams per
     * process. Owned by the struct: conf_copy to duplicate, conf_free. */
    unsigned n_streams;
    config_stream *streams;
    unsigned n_publish;
    char publish[CONFIG_MAX_PUBLISH][CONFIG_TEXT_LEN];
    char model[CONFIG_TEXT_LEN];    /* "" for the built-in model */
    double hop;                     /* seconds between classifications */
    double smoothing;               /* time constant of the probability smoothing, s; 0 = off */
    double change_hold;             /* s a new top label must hold before genre.change */
    tracker_decoder change_decoder; /* how genre.change is decided */
    double hmm_segment;             /* hmm decoder: expected s in one genre */
    double hmm_exponent;            /* power of the model's probabilities as likelihoods */
    double hmm_threshold;           /* posterior a new genre must reach */
    double hmm_hold;                /* s it must then hold before genre.change */
    double silence_dbfs;            /* window level below which the stream is silent */
    double status_interval;         /* s between genre.status messages */
    double ring_seconds;            /* input ring capacity, s */
    int send_hwm;                   /* ZeroMQ send high-water mark, messages per subscriber */
    int drop_policy;                /* config_drop_policy */
    int jack_clients;               /* config_jack_clients */
    int realtime, print;
    int loop; /* file: inputs: 0 play once, -1 forever, N > 0 play N times in all */
    char log_level[16];
    char curve_secret_key[CONFIG_TEXT_LEN]; /* server secret key file; "" = no CURVE */
    char curve_allow[CONFIG_TEXT_LEN];      /* client public keys allowed; "" = any */
    int allow_plaintext_remote;             /* non-loopback endpoints without CURVE */
} genred_config;

#define CONFIG_DEFAULT_PATH "/etc/genred/genred.conf"

/* 0, or -1 when out of memory (then nothing to free). */
int conf_defaults(genred_config *c);
/* A deep copy of src into *dst (which owns nothing yet); 0 or -1. */
int conf_copy(genred_config *dst, const genred_config *src);
/* Frees what c owns (the stream list); c may then be reused by
 * conf_defaults or conf_copy. */
void conf_free(genred_config *c);

/* Reads a libconfig file over c. 0, or -1 with "FILE:LINE: reason" in err
 * (syntax errors, unknown keys, wrong types, values out of range). */
int conf_load_file(genred_config *c, const char *path, char *err, size_t err_len);

/* The same for settings held in memory (tests, fuzzing); `name` stands for
 * the file in errors and in c->source. */
int conf_load_string(genred_config *c, const char *text, const char *name, char *err,
                     size_t err_len);

/* Sets one scalar key from text, as a command-line override; `flag` names
 * the option in errors ("--hop: ..."). 0, or -1 with err set. */
int conf_set(genred_config *c, const char *key, const char *value, const char *flag, char *err,
             size_t err_len);

/* The scalar settings in file syntax, on one line ("hop = 0.5; ..."):
 * what --check-config reports as in effect. Truncated to len. */
void conf_format_settings(const genred_config *c, char *buf, size_t len);

/* Replaces the stream list by one stream. */
void conf_set_input(genred_config *c, const char *name, const char *input);
/* Replaces (reset) or extends the publish list. */
int conf_add_publish(genred_config *c, const char *endpoint, int reset, char *err, size_t err_len);

/* "PATH:LINE: " for `key` (a libconfig path: "model", "streams.[1].input")
 * in the file at path, or "" when it is not there: errors found after
 * loading (a model or key file that will not load) name the line too. */
void conf_key_where(const char *path, const char *key, char *buf, size_t len);

/* Cross-field checks (unique stream names, at least one endpoint, CURVE
 * or allow_plaintext_remote for endpoints that leave the machine). */
int conf_check(const genred_config *c, char *err, size_t err_len);

#endif
