/*
 * Daemon logging, after OpenBSD's log.c: stderr in the foreground, syslog
 * once detached. log_warn adds strerror(errno); fatal exits.
 */
#ifndef UDPFLOWS_LOG_H
#define UDPFLOWS_LOG_H

#define LOGF __attribute__((format(printf, 1, 2)))

void log_init(int foreground);
void log_reopen(void);
void log_warn(const char *, ...) LOGF;
void log_warnx(const char *, ...) LOGF;
void log_info(const char *, ...) LOGF;
__attribute__((noreturn)) void fatal(const char *, ...) LOGF;
__attribute__((noreturn)) void fatalx(const char *, ...) LOGF;

#endif
