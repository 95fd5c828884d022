/* file_list: the files a batch tool works on, from the paths a user named:
 * a file stands for itself (whatever its name), a folder for the audio
 * files under it, recursively, by name (.wav .flac .ogg ...: cover art,
 * cue sheets and notes beside the music are left out), in sorted order. */
#ifndef GENRED_FILE_LIST_H
#define GENRED_FILE_LIST_H

#include <stddef.h>

typedef struct {
    char **paths;
    size_t n, cap;
} file_list;

/* Appends the files for args[0..n_args); 0, or -1 with the reason (out of
 * memory). A folder that cannot be read is kept as an entry, so the tool
 * reports it like any file it cannot open. */
int file_list_collect(file_list *l, char *const *args, size_t n_args, char *err, size_t err_len);
void file_list_free(file_list *l);

/* Whether a name ends in an audio extension a folder walk takes. */
int file_list_is_audio_name(const char *name);

#endif
