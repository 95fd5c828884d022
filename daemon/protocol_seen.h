/* protocol_seen: the receiver's half of the protocol's sequence numbers,
 * which drops messages it has already passed on.
 *
 * The rule, for any client (protocol.h, messages.h): keep, per (topic, key)
 * of a sequenced topic, the started_ms and seq of the last message taken. A
 * message with the same started_ms and a seq not above the kept one has been
 * seen (a snapshot after a reconnect, the same state through two paths):
 * drop it. Any other started_ms is a genred that restarted: take the message
 * and keep its pair. Messages without seq, and topics without one, are
 * always new.
 *
 * Room is fixed at create time; once it is full everything is forgotten and
 * it starts again, so a flood of names costs bounded memory and at worst
 * lets a message through twice. Owned by one thread. */
#ifndef GENRED_PROTOCOL_SEEN_H
#define GENRED_PROTOCOL_SEEN_H

#include "protocol.h"

typedef struct protocol_seen protocol_seen_t;

/* Room for `capacity` (topic, key) pairs. NULL without memory. */
protocol_seen_t *protocol_seen_create(unsigned capacity);
void protocol_seen_destroy(protocol_seen_t *s);

/* 1 when m is new (and is now the latest of its topic and key), 0 when it
 * has been seen. */
int protocol_seen_check(protocol_seen_t *s, const protocol_message *m);

#endif
