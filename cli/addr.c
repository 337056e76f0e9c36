#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cli/addr.h"

int
addr_range_parse(const char *s, int allow_prefix, struct addr_range *r)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	long bits;

	if (n >= sizeof(buf) || (slash && !allow_prefix))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(r, 0, sizeof(*r));
	if (inet_pton(AF_INET, buf, r->lo) == 1)
		r->len = 4;
	else if (inet_pton(AF_INET6, buf, r->lo) == 1)
		r->len = 16;
	else
		return -1;
	bits = (long)r->len * 8;
	if (slash) {
		char *end;
		bits = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || bits < 0 ||
		    bits > (long)r->len * 8)
			return -1;
	}
	/* lo: host bits cleared; hi: host bits set */
	for (size_t i = 0; i < r->len; i++) {
		long keep = bits - (long)i * 8;
		uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 :
		    (uint8_t)(0xff << (8 - keep));
		r->hi[i] = (uint8_t)(r->lo[i] | ~mask);
		r->lo[i] &= mask;
	}
	return 0;
}
