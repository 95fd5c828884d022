/* regular_file: opening a file that settings name (a config file) without
 * waiting on it. open() on a FIFO waits for a writer, and a device may
 * never end: either would hang --check-config, or stall the main thread on
 * a reload with SIGTERM unanswered. What is not a regular file is refused
 * before anything is read, as is a file larger than the caller will parse. */
#ifndef GENRED_REGULAR_FILE_H
#define GENRED_REGULAR_FILE_H

#include <stdio.h>

/* The largest config file read (genred's, genre-hub's): about 15,000
 * streams. libconfig's time grows with the square of a string's length
 * (1 MiB: 2 s, 4 MiB: 36 s on a busy machine), so a larger file is refused
 * before parsing. */
#define REGULAR_FILE_CONFIG_MAX (1 << 20)

/* path opened for reading, or NULL with "PATH: reason" in err (no such
 * file, not a regular file, more than max_bytes). */
FILE *regular_file_open(const char *path, long long max_bytes, char *err, size_t err_len);

#endif
