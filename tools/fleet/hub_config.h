/* hub_config: genre-hub's settings, from built-in defaults and a libconfig
 * file, validated with errors that name the file and line. Every key is
 * documented in config/genre-hub.conf. */
#ifndef GENRED_HUB_CONFIG_H
#define GENRED_HUB_CONFIG_H

#include <stddef.h>

#define HUB_MAX_HOSTS   256
#define HUB_MAX_PUBLISH 8
#define HUB_NAME_LEN    64
#define HUB_TEXT_LEN    512

typedef struct {
    char name[HUB_NAME_LEN];       /* the HOST of its streams' "HOST/STREAM" names */
    char endpoint[HUB_TEXT_LEN];   /* the genred's publish endpoint */
    char server_key[HUB_TEXT_LEN]; /* its curve.pub; "" = plain text (loopback only) */
} hub_host_config;

typedef struct {
    char url[HUB_TEXT_LEN];    /* NATS server URLs, comma-separated; "" = no bridge */
    char stream[HUB_NAME_LEN]; /* JetStream stream name */
    int replicas;              /* stream replicas when the bridge creates it */
    double probs_interval;     /* s between bridged genre.probs per stream; 0 all, <0 none */
    unsigned buffer;           /* events kept while NATS is unreachable */
    double duplicate_window;   /* s JetStream remembers message ids */
} hub_jetstream_config;

typedef struct {
    char source[HUB_TEXT_LEN];
    unsigned n_hosts;
    hub_host_config hosts[HUB_MAX_HOSTS];
    unsigned n_publish;
    char publish[HUB_MAX_PUBLISH][HUB_TEXT_LEN];
    char curve_secret_key[HUB_TEXT_LEN]; /* the hub's keypair, both sides; "" = none */
    char curve_allow[HUB_TEXT_LEN];      /* subscriber keys allowed; "" = any with the key */
    int allow_plaintext_remote;
    double status_interval; /* the hosts' genre.status interval, s */
    unsigned lost_after;    /* missed intervals before a host is reported lost */
    unsigned max_streams;   /* last-value cache capacity, streams of all hosts */
    unsigned max_cache_mb;  /* and its bound in MiB of messages */
    int send_hwm;
    char log_level[16];
    hub_jetstream_config jetstream;
} hub_config;

void hub_config_defaults(hub_config *c);

/* Reads a libconfig file over c and checks it (hub_config_check). 0, or -1
 * with "FILE:LINE: reason" in err. */
int hub_config_load(hub_config *c, const char *path, char *err, size_t err_len);

/* Cross-field checks: hosts and endpoints present, unique host names, CURVE
 * for every endpoint off this machine unless allow_plaintext_remote. */
int hub_config_check(const hub_config *c, char *err, size_t err_len);

#endif
