/* sockopt: an int ZeroMQ socket option in one line, for the options whose
 * failure cannot happen with a valid socket and a known option (HWMs,
 * linger, XPUB flags); what may fail (CURVE keys, frame limits) is checked
 * where it is set. */
#ifndef GENRED_SOCKOPT_H
#define GENRED_SOCKOPT_H

#include <zmq.h>

static inline int sockopt_int(void *socket, int option, int value)
{
    return zmq_setsockopt(socket, option, &value, sizeof value);
}

#endif
