/*
 * Time arguments of --since/--until, as people who use journalctl and date
 * type them: ISO 8601 (2026-11-21, 2026-11-21T18:01, 2026-11-21T18:01:25.5Z,
 * with Z or +hh:mm, or a space instead of T; no zone means the local zone,
 * or UTC when asked), a time of day, today, yesterday, now, or a span back
 * from now: 90s, 15m, 2h, 3d, 1w.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "cli/timearg.h"

static int
digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int
duration_parse(const char *s, int64_t *out_us)
{
	char *end;
	long long n;
	int64_t unit;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (end == s || errno != 0 || n < 0 || end[0] == '\0' ||
	    end[1] != '\0')
		return -1;
	switch (*end) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: return -1;
	}
	if (n > INT64_MAX / 1000000 / unit)
		return -1;
	*out_us = (int64_t)n * unit * 1000000;
	return 0;
}

/* Seconds since the epoch of a broken-down time, local or UTC. */
static int64_t
epoch_of(struct tm *tm, int utc)
{
	if (utc)
		return (int64_t)timegm(tm);
	tm->tm_isdst = -1;		/* let the zone's rules say */
	return (int64_t)mktime(tm);
}

static int
iso8601(const char *s, int utc, int64_t *out)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, sec = 0;
	int64_t frac = 0, offset = 0;
	const char *p = s;

	memset(&tm, 0, sizeof(tm));
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) ||
	    *p++ != '-' || digits(&p, 2, &d))
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
			return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec))
				return -1;
			if (*p == '.' || *p == ',') {
				int64_t scale = 100000;
				p++;
				if (!isdigit((unsigned char)*p))
					return -1;
				for (; isdigit((unsigned char)*p); p++) {
					frac += (*p - '0') * scale;
					scale /= 10;
				}
			}
		}
	}
	int zoned = 1;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om;
		if (digits(&p, 2, &oh))
			return -1;
		if (*p == ':')
			p++;
		if (digits(&p, 2, &om))
			return -1;
		offset = sign * (oh * 3600 + om * 60);
	} else
		zoned = 0;
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = ((zoned ? (int64_t)timegm(&tm) : epoch_of(&tm, utc)) -
	    offset) * 1000000 + frac;
	return 0;
}

/* HH:MM or HH:MM:SS; -1 when s is not one. */
static int
time_of_day(const char *s, int *h, int *mi, int *sec)
{
	const char *p = s;

	*sec = 0;
	if (digits(&p, 2, h) || *p++ != ':' || digits(&p, 2, mi))
		return -1;
	if (*p == ':') {
		p++;
		if (digits(&p, 2, sec))
			return -1;
	}
	return *p == '\0' && *h < 24 && *mi < 60 && *sec <= 60 ? 0 : -1;
}

/*
 * "today", "yesterday" (midnight, or at a time of day after a space) and
 * a time of day alone: the last one that is not in the future.
 */
static int
day_and_time(const char *s, int64_t now_us, int utc, int64_t *out)
{
	time_t now = (time_t)(now_us / 1000000);
	struct tm tm;
	int back = 0, alone = 0, h = 0, mi = 0, sec = 0;
	const char *t = s;

	if (strncmp(s, "today", 5) == 0)
		t = s + 5;
	else if (strncmp(s, "yesterday", 9) == 0) {
		t = s + 9;
		back = 1;
	} else
		alone = 1;		/* a time of day alone */
	if (!alone && *t == ' ')
		t++;
	else if (!alone && *t != '\0')
		return -1;
	if (*t != '\0' && time_of_day(t, &h, &mi, &sec) != 0)
		return -1;
	if (alone && *t == '\0')
		return -1;
	if ((utc ? gmtime_r(&now, &tm) : localtime_r(&now, &tm)) == NULL)
		return -1;
	tm.tm_mday -= back;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	int64_t at = epoch_of(&tm, utc) * 1000000;
	/* a time of day alone that is still to come today: yesterday's */
	if (alone && at > now_us) {
		tm.tm_mday -= 1;
		at = epoch_of(&tm, utc) * 1000000;
	}
	*out = at;
	return 0;
}

int
timearg_parse_at(const char *s, int64_t now_us, int utc, int64_t *out_us)
{
	int64_t span;
	char buf[32];
	size_t n = strlen(s);

	if (strcmp(s, "now") == 0) {
		*out_us = now_us;
		return 0;
	}
	/* "2h ago" and "-2h" are the span back from now */
	if (n < sizeof(buf) && n > 4 && strcmp(s + n - 4, " ago") == 0) {
		memcpy(buf, s, n - 4);
		buf[n - 4] = '\0';
		s = buf;
	} else if (s[0] == '-')
		s++;
	if (duration_parse(s, &span) == 0) {
		*out_us = now_us - span;
		return 0;
	}
	if (day_and_time(s, now_us, utc, out_us) == 0)
		return 0;
	return iso8601(s, utc, out_us);
}

int
timearg_parse(const char *s, int64_t *out_us)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return timearg_parse_at(s, (int64_t)tv.tv_sec * 1000000 + tv.tv_usec,
	    1, out_us);
}
