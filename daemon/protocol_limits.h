/* protocol_limits: the largest frames genred's protocol (messages.h) can
 * need, which every socket that takes frames from peers enforces with
 * ZMQ_MAXMSGSIZE. Without a cap one peer could make a process hold any
 * amount of memory: an XPUB keeps every distinct subscription it is sent
 * (50 subscriptions of 2 MB took genre-hub from 9 MiB to 4.3 GB). A peer that
 * sends a larger frame is disconnected before the frame is read, so what
 * it costs is bounded by the cap, not by what it sends.
 *
 * libzmq checks the cap against a frame as it is on the wire, so the
 * figures below include the wire's own overhead. */
#ifndef GENRED_PROTOCOL_LIMITS_H
#define GENRED_PROTOCOL_LIMITS_H

#include "config.h"
#include "protocol.h"

#include <stdint.h>
#include <zmq.h>

/* The longest topic a subscription can usefully name: "genre." and a topic
 * name ("genre.status" and "genre.change", 12 bytes, are the longest; 15
 * leaves room for new names), then "." and a stream name (at most
 * CONFIG_NAME_LEN - 1 bytes), for topics that name a stream. 79 bytes. */
#define PROTOCOL_TOPIC_MAX (15 + 1 + CONFIG_NAME_LEN - 1)

/* What a subscriber sends: a subscription is "\x01" + topic under ZMTP 3.0
 * and the command "\x09SUBSCRIBE" + topic under ZMTP 3.1 (libzmq 4.3), 10
 * bytes besides the topic. In plain text nothing else a SUB sends is
 * larger (its READY command is about 30 bytes). */
#define PROTOCOL_SUBSCRIBER_FRAME_MAX (PROTOCOL_TOPIC_MAX + 10)
/* Under CURVE a subscription gains 33 bytes of box (122 in all), but the
 * client's INITIATE handshake command is larger: 276 bytes for a SUB, 277
 * for an XSUB, more if the client adds ZMQ_METADATA properties. 512 holds
 * both with room; it lets a CURVE client (one the server accepted) send
 * topics up to 469 bytes, which costs little more than 79. */
#define PROTOCOL_CURVE_SUBSCRIBER_FRAME_MAX 512

/* A snapshot request ("snapshot/NONCE/TOPIC", protocol.h) fits in a topic's
 * cap, so one cap holds both. */
_Static_assert(PROTOCOL_SUBSCRIPTION_MAX <= PROTOCOL_TOPIC_MAX, "a snapshot request is a topic");

/* The largest message body is protocol.h's PROTOCOL_MESSAGE_MAX (256 KiB),
 * and PROTOCOL_STATUS_MAX (9 MiB) for genre.status: genred drops (and
 * counts) a larger one rather than send what its subscribers would refuse. */
/* The cap for sockets that receive messages (SUB, XSUB). Above the
 * protocol's body limit on purpose: a message between the two is read,
 * then dropped and counted as not the protocol (protocol.c) while its
 * sender stays connected, so one bad message does not cost the good ones
 * behind it. Only a frame over 16 MiB (plus CURVE's 33 bytes of box and room
 * for a frame header) disconnects the peer before it is read: what a
 * hostile publisher can make a receiver hold stays bounded. */
#define PROTOCOL_RECEIVE_MAX       (16 << 20)
#define PROTOCOL_MESSAGE_FRAME_MAX ((int64_t)PROTOCOL_RECEIVE_MAX + 64)
/* The socket caps hold the largest genre.status, and a genred config can
 * name no more streams than that status was sized for. */
_Static_assert(PROTOCOL_STATUS_MAX + 64 <= PROTOCOL_RECEIVE_MAX, "a status fits a frame");
_Static_assert(CONFIG_STREAMS_MAX <= PROTOCOL_STREAMS_MAX, "every stream fits one status");

/* Sets a socket's cap (before its bind or connect: endpoints take the
 * options the socket has then). ZMQ_MAXMSGSIZE is an int64_t: an int is
 * refused. 0, or -1 with zmq_errno set. */
static inline int protocol_limit_frames(void *socket, int64_t most)
{
    return zmq_setsockopt(socket, ZMQ_MAXMSGSIZE, &most, sizeof most);
}

#endif
