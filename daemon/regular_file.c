#include "regular_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind(mode_t mode)
{
    return S_ISFIFO(mode)   ? "a FIFO"
           : S_ISDIR(mode)  ? "a directory"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
           : S_ISSOCK(mode) ? "a socket"
                            : "not a regular file";
}

FILE *regular_file_open(const char *path, long long max_bytes, char *err, size_t err_len)
{
    /* O_NONBLOCK: open() returns at once whatever path is; the checks then
     * use the descriptor, so a file swapped after them is not read. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_len, "%s: cannot read: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st)) {
        snprintf(err, err_len, "%s: cannot read: %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        snprintf(err, err_len, "%s: %s, not a regular file", path, kind(st.st_mode));
    } else if ((long long)st.st_size > max_bytes) {
        snprintf(err, err_len, "%s: %lld bytes, more than the %lld a config file may have", path,
                 (long long)st.st_size, max_bytes);
    } else {
        FILE *f = fdopen(fd, "r");
        if (f) return f;
        snprintf(err, err_len, "%s: cannot read: %s", path, strerror(errno));
    }
    close(fd);
    return NULL;
}
