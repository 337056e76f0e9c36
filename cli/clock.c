#include <stdio.h>
#include <time.h>

#include "cli/clock.h"

static int use_utc;

void
clock_use_utc(int utc)
{
	use_utc = utc;
}

/* The broken-down time of us (seconds floored, also before 1970). */
static struct tm
broken(int64_t us)
{
	int64_t s = us / 1000000 - (us % 1000000 < 0);
	time_t t = (time_t)s;
	struct tm tm;

	if ((use_utc ? gmtime_r(&t, &tm) : localtime_r(&t, &tm)) == NULL) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	return tm;
}

enum form { F_DATETIME, F_DATE, F_HMS, F_SHORT, F_ZONE };

/* strftime with literal formats only (-Wformat-nonliteral) */
static void
format(int64_t us, enum form form, char *buf, size_t len)
{
	struct tm tm = broken(us);
	size_t n = 0;

	if (len == 0)
		return;
	switch (form) {
	case F_DATETIME:
		n = strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
		break;
	case F_DATE:
		n = strftime(buf, len, "%Y-%m-%d", &tm);
		break;
	case F_HMS:
		n = strftime(buf, len, "%H:%M:%S", &tm);
		break;
	case F_SHORT:
		n = strftime(buf, len, "%m-%d %H:%M:%S", &tm);
		break;
	case F_ZONE:
		n = strftime(buf, len, "%Z", &tm);
		break;
	}
	if (n == 0)
		buf[0] = '\0';
}

void
clock_datetime(int64_t us, char *buf, size_t len)
{
	format(us, F_DATETIME, buf, len);
}

void
clock_date(int64_t us, char *buf, size_t len)
{
	format(us, F_DATE, buf, len);
}

void
clock_hms(int64_t us, char *buf, size_t len)
{
	format(us, F_HMS, buf, len);
}

void
clock_short(int64_t us, char *buf, size_t len)
{
	format(us, F_SHORT, buf, len);
}

void
clock_zone(int64_t us, char *buf, size_t len)
{
	if (use_utc)
		snprintf(buf, len, "UTC");
	else
		format(us, F_ZONE, buf, len);
}

int
clock_same_day(int64_t a_us, int64_t b_us)
{
	struct tm a = broken(a_us), b = broken(b_us);

	return a.tm_year == b.tm_year && a.tm_yday == b.tm_yday;
}
