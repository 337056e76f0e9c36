#include <arpa/inet.h>
#include <netdb.h>
#include <string.h>

#include "cli/service.h"

static int numeric;

void
service_numeric(int on)
{
	numeric = on;
}

/* Names people use that /etc/services spells otherwise. */
static const struct {
	const char	*name;
	uint16_t	 port;
} aliases[] = {
	{ "dns", 53 }, { "quic", 443 }, { "dhcp", 67 }, { "snmp-trap", 162 },
	{ "syslog", 514 }, { "ipsec", 500 }, { "wireguard", 51820 },
};

int
service_port(const char *name)
{
	struct servent *se;

	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcmp(name, aliases[i].name) == 0)
			return aliases[i].port;
	if ((se = getservbyname(name, "udp")) == NULL &&
	    (se = getservbyname(name, "tcp")) == NULL)
		return -1;
	return ntohs((uint16_t)se->s_port);
}

const char *
service_name(uint16_t port, uint8_t proto)
{
	static uint16_t last_port;
	static uint8_t last_proto;
	static char last[32];
	static int have;
	struct servent *se;

	if (numeric || port == 0 || port >= 1024 ||
	    (proto != 6 && proto != 17))
		return NULL;
	/* a table shows the same few ports again and again */
	if (have && port == last_port && proto == last_proto)
		return last[0] ? last : NULL;
	se = getservbyport(htons(port), proto == 6 ? "tcp" : "udp");
	last_port = port;
	last_proto = proto;
	have = 1;
	if (se == NULL || strlen(se->s_name) >= sizeof(last)) {
		last[0] = '\0';
		return NULL;
	}
	strcpy(last, se->s_name);
	return last;
}
