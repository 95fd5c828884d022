/* log: one-line messages on stderr with a level, for people and journald. */
#ifndef GENRED_LOG_H
#define GENRED_LOG_H

typedef enum { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG } log_level;

/* "error", "warn", "info" or "debug"; -1 if unknown. */
int log_parse_level(const char *name);
void log_set_level(log_level level);
/* The name lines start with outside journald (default "genred"); set it
 * before any thread logs. */
void log_set_program(const char *name);
int log_enabled(log_level level);
void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
