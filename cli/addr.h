#ifndef UDPFLOWS_ADDR_H
#define UDPFLOWS_ADDR_H

#include <stddef.h>
#include <stdint.h>

/* An address or a CIDR net as an inclusive range of network-order bytes. */
struct addr_range {
	uint8_t	lo[16], hi[16];
	size_t	len;		/* 4 or 16 */
};

/* "198.18.0.2", "2001:db8::1", or with allow_prefix "198.18.0.0/15". */
int addr_range_parse(const char *s, int allow_prefix, struct addr_range *r);

#endif
