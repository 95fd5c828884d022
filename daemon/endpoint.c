#include "endpoint.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int endpoint_check_ipc(const char *endpoint, char *err, size_t err_len)
{
    static const char scheme[] = "ipc://";
    if (strncmp(endpoint, scheme, sizeof scheme - 1)) return 0;
    const char *path = endpoint + sizeof scheme - 1;
    /* "@name" is Linux's abstract namespace: no file, no directory. */
    if (path[0] == '@' || !strcmp(path, "*")) return 0;
    size_t most = sizeof((struct sockaddr_un *)0)->sun_path - 1;
    if (strlen(path) > most) {
        snprintf(err, err_len, "'%s': the path is %zu bytes, more than a socket's %zu", endpoint,
                 strlen(path), most);
        return -1;
    }
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    if (slash == path) snprintf(dir, sizeof dir, "/");
    struct stat st;
    if (stat(dir, &st)) {
        snprintf(err, err_len, "'%s': directory '%s': %s", endpoint, dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, err_len, "'%s': '%s' is not a directory", endpoint, dir);
        return -1;
    }
    if (access(dir, W_OK | X_OK)) {
        snprintf(err, err_len, "'%s': cannot create the socket in '%s': %s", endpoint, dir,
                 strerror(errno));
        return -1;
    }
    return 0;
}
