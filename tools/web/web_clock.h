/* web_clock: the one clock genre-web's modules share. Times are monotonic
 * milliseconds, so a wall-clock step never ages the history or the cache. */
#ifndef GENRED_WEB_CLOCK_H
#define GENRED_WEB_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t web_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
