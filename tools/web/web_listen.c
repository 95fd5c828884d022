#include "web_listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Splits HOST:PORT or [IPV6]:PORT into host and *port (pointing into spec). */
static int split(const char *spec, char *host, size_t host_len, const char **port)
{
    const char *end;
    if (spec[0] == '[') {
        end = strchr(spec, ']');
        if (!end || end[1] != ':') return -1;
        spec++;
        *port = end + 2;
    } else {
        end = strrchr(spec, ':');
        if (!end || end == spec || memchr(spec, ':', (size_t)(end - spec))) return -1;
        *port = end + 1;
    }
    size_t n = (size_t)(end - spec);
    if (n >= host_len) return -1;
    memcpy(host, spec, n);
    host[n] = '\0';
    return 0;
}

int web_listen_parse(const char *spec, web_address *a, char *err, size_t err_len)
{
    char host[256];
    const char *port;
    if (split(spec, host, sizeof host, &port)) {
        snprintf(err, err_len, "--listen '%s': expected HOST:PORT or [IPV6]:PORT", spec);
        return -1;
    }
    char *end;
    errno = 0;
    long number = strtol(port, &end, 10);
    if (!*port || *end || errno || number < 0 || number > 65535) {
        snprintf(err, err_len, "--listen '%s': the port must be a number from 0 to 65535", spec);
        return -1;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *found = NULL;
    int rc = getaddrinfo(host, port, &hints, &found);
    if (rc != 0) {
        snprintf(err, err_len, "--listen '%s': %s", spec, gai_strerror(rc));
        return -1;
    }
    memcpy(&a->addr, found->ai_addr, found->ai_addrlen);
    a->len = found->ai_addrlen;
    freeaddrinfo(found);
    return 0;
}

int web_listen_is_loopback(const web_address *a)
{
    if (a->addr.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&a->addr;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->addr;
    return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
}

int web_listen_open(const web_address *a, const char *spec, char *err, size_t err_len)
{
    int fd = socket(a->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int on = 1;
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    /* A full backlog: hundreds of browsers reconnecting at once (genre-web
     * restarted) must queue, not see refused SYNs. */
    if (fd < 0 || bind(fd, (const struct sockaddr *)&a->addr, a->len) != 0 ||
        listen(fd, SOMAXCONN) != 0) {
        snprintf(err, err_len, "cannot serve on %s: %s", spec, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

void web_listen_print_url(int fd)
{
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    char host[INET6_ADDRSTRLEN] = "?";
    getsockname(fd, (struct sockaddr *)&addr, &len);
    if (addr.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&addr;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        printf("genre-web: serving http://%s:%u/\n", host, (unsigned)ntohs(in->sin_port));
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&addr;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        printf("genre-web: serving http://[%s]:%u/\n", host, (unsigned)ntohs(in6->sin6_port));
    }
    fflush(stdout);
}
