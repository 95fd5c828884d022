#include "sub_keys.h"

#include <string.h>

int sub_keys_load(sub_keys *k, const char *server_key, const char *client_key, char *err,
                  size_t err_len)
{
    memset(k, 0, sizeof *k);
    if (!server_key) return 0;
    if (curve_read_public("--server-key", server_key, k->server_public, err, err_len)) return -1;
    k->client = curve_create_client("--client-key", client_key, err, err_len);
    return k->client ? 0 : -1;
}

void sub_keys_free(sub_keys *k)
{
    curve_destroy(k->client);
    k->client = NULL;
}

handshake_watch_t *sub_keys_secure(const sub_keys *k, void *zmq_ctx, void *socket, const char *prog,
                                   void (*log_line)(const char *line), char *err, size_t err_len)
{
    if (k->client && curve_apply_client(k->client, socket, k->server_public, err, err_len))
        return NULL;
    handshake_watch_info info = {.prog = prog,
                                 .server_key_option = "--server-key",
                                 .client_key_option = "--client-key",
                                 .public_key = k->client ? curve_public_key(k->client) : NULL,
                                 .log_line = log_line};
    return handshake_watch_create(zmq_ctx, socket, &info, err, err_len);
}
