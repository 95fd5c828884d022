/* notify: systemd service notifications (sd_notify); no-ops when genred is
 * not run by systemd. */
#ifndef GENRED_NOTIFY_H
#define GENRED_NOTIFY_H

#include <stdint.h>

void notify_ready(void);
void notify_reloading(void);
void notify_stopping(void);
void notify_status(const char *text);
void notify_watchdog(void);
/* The watchdog interval systemd expects, in microseconds; 0 when off. */
uint64_t notify_watchdog_usec(void);

#endif
