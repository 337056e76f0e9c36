#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

#include "common/text.h"

void
time_iso(int64_t us, char *buf, size_t len)
{
	time_t secs = (time_t)(us / 1000000);
	long frac = (long)(us % 1000000);
	struct tm tm;

	if (frac < 0) {
		frac += 1000000;
		secs--;
	}
	gmtime_r(&secs, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, frac);
}

void
addr_text(uint8_t family, const uint8_t *addr, char *buf, size_t len)
{
	if (inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, buf,
	    (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
}

const char *
proto_name(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case 1:		return "icmp";
	case 6:		return "tcp";
	case 17:	return "udp";
	case 47:	return "gre";
	case 50:	return "esp";
	case 51:	return "ah";
	case 58:	return "ipv6-icmp";
	case 132:	return "sctp";
	case 255:	return "unknown";
	}
	snprintf(buf, len, "%u", proto);
	return buf;
}
