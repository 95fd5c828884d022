/* file_list: paths and recursive folder walks for the batch tools. */
#include "file_list.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* What libsndfile reads, and what FFmpeg reads for it (m4a, mp4, aac, wma,
 * the audio of video files); in a build without FFmpeg those are taken
 * too, so the user hears "codec not supported" instead of finding them
 * silently missing from the results. */
static const char *const audio_ext[] = {
    "wav", "wave", "flac", "ogg", "oga", "opus", "mp3", "aif", "aiff", "aifc", "au",  "snd",
    "caf", "w64",  "rf64", "m4a", "mp4", "aac",  "wma", "mka", "webm", "mkv",  "mov", "m4v"};

int file_list_is_audio_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name) return 0;
    for (size_t i = 0; i < sizeof audio_ext / sizeof *audio_ext; i++)
        if (!strcasecmp(dot + 1, audio_ext[i])) return 1;
    return 0;
}

static int add(file_list *l, const char *path)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char **grown = realloc(l->paths, cap * sizeof *grown);
        if (!grown) return -1;
        l->paths = grown;
        l->cap = cap;
    }
    if (!(l->paths[l->n] = strdup(path))) return -1;
    l->n++;
    return 0;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int walk(file_list *l, const char *dir)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) return add(l, dir);
    int rc = 0;
    size_t len = strlen(dir);
    int slash = len && dir[len - 1] == '/';
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        char *path = NULL;
        /* Hidden entries (., .., editors' and OSes' files) are skipped. */
        if (!rc && name[0] != '.' && asprintf(&path, "%s%s%s", dir, slash ? "" : "/", name) < 0) {
            path = NULL;
            rc = -1;
        }
        if (path && is_dir(path))
            rc = walk(l, path);
        else if (path && file_list_is_audio_name(name))
            rc = add(l, path);
        free(path);
        free(names[i]);
    }
    free(names);
    return rc;
}

int file_list_collect(file_list *l, char *const *args, size_t n_args, char *err, size_t err_len)
{
    for (size_t i = 0; i < n_args; i++)
        if (is_dir(args[i]) ? walk(l, args[i]) : add(l, args[i])) {
            snprintf(err, err_len, "out of memory listing %s", args[i]);
            return -1;
        }
    return 0;
}

void file_list_free(file_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->paths[i]);
    free(l->paths);
    *l = (file_list){0};
}
