#include <stddef.h>
#include <string.h>

#include "common/encap.h"
#include "common/flowstate.h"

static const char *const names[STATE_MAX + 1] = {
	[STATE_REFUSED]		= "refused",
	[STATE_HOST_UNREACH]	= "host-unreachable",
	[STATE_NET_UNREACH]	= "net-unreachable",
	[STATE_PROTO_UNREACH]	= "proto-unreachable",
	[STATE_PROHIBITED]	= "prohibited",
	[STATE_FRAG_NEEDED]	= "frag-needed",
	[STATE_TTL_EXCEEDED]	= "ttl-exceeded",
	[STATE_UNREACHABLE]	= "unreachable",
	[STATE_PARAM_PROBLEM]	= "param-problem",
	[STATE_ANSWERED]	= "answered",
	[STATE_SILENT]		= "silent",
};

const char *
flow_state_name(int state)
{
	if (state < 1 || state > STATE_MAX)
		return NULL;
	return names[state];
}

int
flow_state_parse(const char *name)
{
	for (int s = 1; s <= STATE_MAX; s++)
		if (strcmp(names[s], name) == 0)
			return s;
	return 0;
}

/* ICMPv4 type 3 codes, RFC 792 and RFC 1812 5.2.7.1. */
static enum flow_state
icmp4_unreach(uint8_t code)
{
	switch (code) {
	case 3:				return STATE_REFUSED;
	case 1: case 7: case 12:	return STATE_HOST_UNREACH;
	case 0: case 6: case 11:	return STATE_NET_UNREACH;
	case 2:				return STATE_PROTO_UNREACH;
	case 9: case 10: case 13:	return STATE_PROHIBITED;
	case 4:				return STATE_FRAG_NEEDED;
	}
	return STATE_UNREACHABLE;
}

/* ICMPv6 type 1 codes, RFC 4443 3.1. */
static enum flow_state
icmp6_unreach(uint8_t code)
{
	switch (code) {
	case 4:				return STATE_REFUSED;
	case 3:				return STATE_HOST_UNREACH;
	case 0:				return STATE_NET_UNREACH;
	case 1: case 5: case 6:		return STATE_PROHIBITED;
	}
	return STATE_UNREACHABLE;
}

enum flow_state
icmp_error_state(uint8_t family, uint8_t type, uint8_t code)
{
	if (family == 4) {
		switch (type) {
		case 3:		return icmp4_unreach(code);
		case 11:	return STATE_TTL_EXCEEDED;
		case 12:	return STATE_PARAM_PROBLEM;
		}
	} else {
		switch (type) {
		case 1:		return icmp6_unreach(code);
		case 2:		return STATE_FRAG_NEEDED;
		case 3:		return STATE_TTL_EXCEEDED;
		case 4:		return STATE_PARAM_PROBLEM;
		}
	}
	return STATE_UNREACHABLE;
}

const char *
flow_end_name(int end)
{
	switch (end) {
	case END_OPEN:		return "open";
	case END_FIN:		return "fin";
	case END_RST:		return "rst";
	case END_TIMEOUT:	return "timeout";
	}
	return NULL;
}

int
ttl_hops(uint8_t ttl)
{
	if (ttl <= 64)
		return 64 - ttl;
	if (ttl <= 128)
		return 128 - ttl;
	return 255 - ttl;
}

enum rst_origin
rst_origin(uint8_t rst_ttl, uint8_t dst_ttl)
{
	if (rst_ttl == 0 || dst_ttl == 0)
		return RST_UNKNOWN;
	return rst_ttl == dst_ttl ? RST_DESTINATION : RST_ON_PATH;
}

int
error_hops(uint8_t family, uint8_t type, uint8_t sent_ttl, uint8_t quoted_ttl)
{
	int expired = family == 4 ? type == 11 : type == 3;

	if (sent_ttl == 0)
		return -1;
	if (expired)
		return sent_ttl;
	if (quoted_ttl > sent_ttl)
		return -1;	/* not the TTL we saw: another path */
	return sent_ttl - quoted_ttl > 0 ? sent_ttl - quoted_ttl : 1;
}

enum error_role
error_role(const struct flow_record *f, const struct error_record *e)
{
	size_t alen = f->family == 6 ? 16 : 4;

	if (e->family != f->family)
		return ROLE_ROUTER;
	if (memcmp(e->reporter, f->dst, alen) == 0)
		return ROLE_DESTINATION;
	if (memcmp(e->reporter, f->src, alen) == 0)
		return ROLE_SOURCE;
	return ROLE_ROUTER;
}

const char *
error_role_name(enum error_role r)
{
	switch (r) {
	case ROLE_DESTINATION:	return "destination";
	case ROLE_SOURCE:	return "source";
	default:		return "router";
	}
}

int
flow_error_hops(const struct flow_record *f, const struct error_record *e)
{
	if (error_role(f, e) != ROLE_ROUTER)
		return -1;
	return error_hops(e->family, e->type, e->sent_ttl, e->quoted_ttl);
}

const char *
flow_rst_from(const struct flow_record *f)
{
	if (f->rst_ttl == 0)
		return NULL;
	switch (rst_origin(f->rst_ttl, f->dst_ttl)) {
	case RST_DESTINATION:	return "destination";
	case RST_ON_PATH:	return "on-path";
	default:		return "unknown";
	}
}

int
flow_errors_rate_limited(const struct flow_record *f)
{
	return f->nerrors > 0 && f->pkts_errored > 0 &&
	    f->pkts_errored < f->pkts_sent && f->state < STATE_ANSWERED &&
	    f->state != STATE_FRAG_NEEDED &&
	    (f->encap == NULL || f->encap->tunnel == ENCAP_NONE);
}

int
flow_refused_by_reset(const struct flow_record *f)
{
	return f->proto == 6 && f->state == STATE_REFUSED && f->rst_ttl != 0;
}

int
flow_went_silent(const struct flow_record *f)
{
	return f->state == STATE_SILENT ||
	    (f->proto == 6 && f->end == END_TIMEOUT);
}
