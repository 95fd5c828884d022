/* path_json: file names in JSON results. A name is bytes; a JSON string is
 * UTF-8. A name that is UTF-8 goes in as it is. Any other (a Latin-1
 * `caf\xe9.wav` from an old archive) gets a readable string, with U+FFFD for
 * each byte that is not UTF-8, and beside it KEY_b64: the name's exact
 * bytes in base64, so that a consumer can still open the file and tell two
 * such names apart. */
#ifndef GENRED_PATH_JSON_H
#define GENRED_PATH_JSON_H

#include <jansson.h>

/* Sets obj[key] to the readable name and, when the name is not UTF-8,
 * obj[key + "_b64"] to its bytes. 0, or -1 when out of memory. */
int path_json_set(json_t *obj, const char *key, const char *path);

/* {"file": PATH} with file_b64 where needed: how every result line of
 * genre-classify and genre-queue starts. NULL when out of memory. */
json_t *path_json_file(const char *path);
/* {"file": PATH, "error": MESSAGE}, MESSAGE being any text (it may quote
 * the name). */
json_t *path_json_error(const char *path, const char *message);

/* The name's bytes in base64 (malloc'd; NULL when out of memory): the
 * name as plain ASCII, for places that take no other bytes. */
char *path_json_base64(const char *path);

#endif
