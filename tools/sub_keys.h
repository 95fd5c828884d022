/* sub_keys: the CURVE keys of a program that subscribes to genred
 * (--server-key FILE [--client-key FILE]: genre-web, genre-sub,
 * genre-bridge), read with genred's own rules for key files
 * (daemon/curve.c), so that they accept
 * and refuse the same files as genred and genre-hub. */
#ifndef GENRED_SUB_KEYS_H
#define GENRED_SUB_KEYS_H

#include "curve.h"

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

#endif
