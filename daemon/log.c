#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "daemon/log.h"

static int to_stderr = 1;

void
log_init(int foreground)
{
	to_stderr = foreground;
	if (!foreground)
		openlog("udpflowd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_reopen(void)
{
	if (!to_stderr) {
		closelog();
		openlog("udpflowd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	}
}

static void vlog(int, const char *, va_list, int)
    __attribute__((format(printf, 2, 0)));

static void
vlog(int pri, const char *fmt, va_list ap, int with_errno)
{
	char msg[1024];
	int saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		size_t n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	}
	if (to_stderr) {
		fprintf(stderr, "udpflowd: %s\n", msg);
		fflush(stderr);
	} else {
		syslog(pri, "%s", msg);
	}
	errno = saved;
}

#define LOGFN(name, pri, err)					\
void name(const char *fmt, ...)					\
{								\
	va_list ap;						\
	va_start(ap, fmt);					\
	vlog(pri, fmt, ap, err);				\
	va_end(ap);						\
}
LOGFN(log_warn, LOG_WARNING, 1)
LOGFN(log_warnx, LOG_WARNING, 0)
LOGFN(log_info, LOG_INFO, 0)

#define FATALFN(name, err)					\
void name(const char *fmt, ...)					\
{								\
	va_list ap;						\
	va_start(ap, fmt);					\
	vlog(LOG_CRIT, fmt, ap, err);				\
	va_end(ap);						\
	exit(1);						\
}
FATALFN(fatal, 1)
FATALFN(fatalx, 0)
