#include <stddef.h>

#include "cli/icmp_text.h"

/* RFC 792, RFC 1122 3.2.2.1, RFC 1812 5.2.7.1. */
static const char *const unreach4[16] = {
	"net unreachable", "host unreachable", "protocol unreachable",
	"port unreachable", "fragmentation needed", "source route failed",
	"network unknown", "host unknown", "source host isolated",
	"network prohibited", "host prohibited", "net unreachable for TOS",
	"host unreachable for TOS", "administratively prohibited",
	"host precedence violation", "precedence cutoff",
};

/* RFC 4443 3.1, RFC 7112. */
static const char *const unreach6[9] = {
	"no route", "administratively prohibited", "beyond scope of source",
	"address unreachable", "port unreachable", "source address policy",
	"reject route", "source routing header error", "headers too long",
};

const char *
icmp_error_text(uint8_t family, uint8_t type, uint8_t code)
{
	if (family == 4) {
		switch (type) {
		case 3:
			return code < 16 ? unreach4[code] : "unreachable";
		case 11:
			return code == 1 ? "reassembly time exceeded" :
			    "TTL exceeded";
		case 12:
			return "parameter problem";
		}
	} else {
		switch (type) {
		case 1:
			return code < 9 ? unreach6[code] : "unreachable";
		case 2:
			return "packet too big";
		case 3:
			return code == 1 ? "reassembly time exceeded" :
			    "hop limit exceeded";
		case 4:
			return "parameter problem";
		}
	}
	return "ICMP error";
}
