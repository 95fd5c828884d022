/* sub_keys: the CURVE keys of a program that subscribes to genred
 * (--server-key FILE [--client-key FILE]: genre-web, genre-sub,
 * genre-bridge), read with genred's own rules for key files
 * (daemon/curve.c), so that they accept and refuse the same files as
 * genred and genre-hub, and put on the SUB socket with a handshake watch,
 * so that all three say the same when the keys do not fit. */
#ifndef GENRED_SUB_KEYS_H
#define GENRED_SUB_KEYS_H

#include "curve.h"
#include "handshake_watch.h"

#include <stddef.h>

typedef struct {
    curve_t *client;                           /* our keypair; NULL: no CURVE */
    char server_public[CURVE_KEY_Z85_LEN + 1]; /* genred's public key (Z85) */
} sub_keys;

/* Reads the server's public key file and our secret key file (NULL: a
 * fresh keypair for this run); with server_key NULL there is nothing to
 * read and k->client stays NULL. 0, or -1 with "--OPTION 'PATH': reason". */
int sub_keys_load(sub_keys *k, const char *server_key, const char *client_key, char *err,
                  size_t err_len);
void sub_keys_free(sub_keys *k);

/* CURVE on `socket` with k's keys (none: plain text) and a handshake watch
 * whose lines name prog and --server-key/--client-key (log_line NULL:
 * stderr), before the socket connects. The watch, or NULL with a one-line
 * reason. */
handshake_watch_t *sub_keys_secure(const sub_keys *k, void *zmq_ctx, void *socket, const char *prog,
                                   void (*log_line)(const char *line), char *err, size_t err_len);

#endif
