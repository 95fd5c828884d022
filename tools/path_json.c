#include "path_json.h"

#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *path_json_base64(const char *path)
{
    const unsigned char *data = (const unsigned char *)path;
    size_t len = strlen(path);
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)data[i] << 16;
        if (i + 1 < len) v |= (unsigned)data[i + 1] << 8;
        if (i + 2 < len) v |= data[i + 2];
        *o++ = digits[v >> 18 & 63];
        *o++ = digits[v >> 12 & 63];
        *o++ = i + 1 < len ? digits[v >> 6 & 63] : '=';
        *o++ = i + 2 < len ? digits[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

int path_json_set(json_t *obj, const char *key, const char *path)
{
    if (json_object_set_new(obj, key, utf8_json(path))) return -1;
    if (utf8_valid(path)) return 0;
    char *bytes = path_json_base64(path), name[64];
    snprintf(name, sizeof name, "%s_b64", key);
    int rc = bytes ? json_object_set_new(obj, name, json_string(bytes)) : -1;
    free(bytes);
    return rc;
}

json_t *path_json_file(const char *path)
{
    json_t *o = json_object();
    if (o && path_json_set(o, "file", path)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *path_json_error(const char *path, const char *message)
{
    json_t *o = path_json_file(path);
    if (o && json_object_set_new(o, "error", utf8_json(message))) {
        json_decref(o);
        return NULL;
    }
    return o;
}
