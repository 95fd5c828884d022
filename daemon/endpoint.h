/* endpoint: what can be known about a ZeroMQ endpoint before binding it, so
 * that --check-config catches what would stop the real start. */
#ifndef GENRED_ENDPOINT_H
#define GENRED_ENDPOINT_H

#include <stddef.h>

/* For ipc://PATH: PATH fits a socket address and its directory exists and
 * may be written (the socket file is created there at bind). Other
 * transports pass. 0, or -1 with the reason in err. */
int endpoint_check_ipc(const char *endpoint, char *err, size_t err_len);

#endif
