/* web_listen: the address genre-web serves on (--listen HOST:PORT or
 * [IPV6]:PORT), bound by genre-web itself rather than inside libmicrohttpd,
 * which gives one clear error line and the real port when port 0 was asked
 * for. */
#ifndef GENRED_WEB_LISTEN_H
#define GENRED_WEB_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

typedef struct {
    struct sockaddr_storage addr;
    socklen_t len;
} web_address;

/* Parses spec into *a (numeric hosts and names). 0, or -1 with a reason
 * naming spec. */
int web_listen_parse(const char *spec, web_address *a, char *err, size_t err_len);
/* 127.0.0.0/8 or ::1. */
int web_listen_is_loopback(const web_address *a);
/* A bound, listening socket, or -1 with "cannot serve on SPEC: reason". */
int web_listen_open(const web_address *a, const char *spec, char *err, size_t err_len);
/* "genre-web: serving http://HOST:PORT/" on stdout: the line scripts (and
 * the tests) wait for. */
void web_listen_print_url(int fd);

#endif
