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
