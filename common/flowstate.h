/*
 * The vocabulary shared by the daemon, the store and the CLI: flow states,
 * numbered from most to least specific (a flow takes the lowest number
 * any of its errors implies), and which ICMP errors lead to which.
 * The numbers are stored in the database: never renumber, only append.
 */
#ifndef UDPFLOWS_FLOWSTATE_H
#define UDPFLOWS_FLOWSTATE_H

#include <stdint.h>

#include "common/flow_record.h"

enum flow_state {
	STATE_REFUSED		= 1,	/* 3/3, ICMPv6 1/4, TCP RST to SYN */
	STATE_HOST_UNREACH	= 2,	/* 3/1, 3/7, 3/12, ICMPv6 1/3 */
	STATE_NET_UNREACH	= 3,	/* 3/0, 3/6, 3/11, ICMPv6 1/0 */
	STATE_PROTO_UNREACH	= 4,	/* 3/2 */
	STATE_PROHIBITED	= 5,	/* 3/9, 3/10, 3/13, ICMPv6 1/1, 1/5, 1/6 */
	STATE_FRAG_NEEDED	= 6,	/* 3/4, ICMPv6 2 */
	STATE_TTL_EXCEEDED	= 7,	/* 11, ICMPv6 3 */
	STATE_UNREACHABLE	= 8,	/* any other 3/x, ICMPv6 1/x */
	STATE_PARAM_PROBLEM	= 9,	/* 12, ICMPv6 4 */
	STATE_ANSWERED		= 10,	/* packets came back, no error */
	STATE_SILENT		= 11,	/* nothing came back, no error */
	STATE_MAX		= 11
};

/* "refused", "host-unreachable", ...; NULL for an unknown number. */
const char *flow_state_name(int state);
/* The state of a name, or 0 when there is none. */
int flow_state_parse(const char *name);

/* The state one ICMP error implies (family 4 or 6). */
enum flow_state icmp_error_state(uint8_t family, uint8_t type, uint8_t code);

/*
 * How an answered TCP connection ended: its first FIN or RST, else data
 * retransmitted with no answer, else still open when last seen.
 * Stored: never renumber.
 */
enum flow_end {
	END_NONE	= 0,	/* not an answered TCP connection */
	END_OPEN	= 1,
	END_FIN		= 2,
	END_RST		= 3,
	END_TIMEOUT	= 4,
};
/* "open", "fin", "rst", "timeout"; NULL for END_NONE. */
const char *flow_end_name(int end);

/*
 * Who sent a reset, told by comparing its TTL (hop limit) with the TTL of
 * the destination's own packets seen at the same place: a firewall that
 * rejects with a TCP reset forges the destination's address, not its
 * distance.
 */
enum rst_origin {
	RST_UNKNOWN,		/* nothing of the destination to compare */
	RST_DESTINATION,	/* same TTL as the destination's packets */
	RST_ON_PATH,		/* another TTL: forged on the way */
};
enum rst_origin rst_origin(uint8_t rst_ttl, uint8_t dst_ttl);

/*
 * Hops from the capture point implied by a TTL: the distance from the
 * nearest usual initial TTL (64, 128, 255) at or above it.
 */
int ttl_hops(uint8_t ttl);

/*
 * How many hops past the capture point a router sent an error, from the
 * TTL the packet had there and the TTL the router quotes; -1 when either
 * is unknown. A packet that expired (time exceeded) did so at hop
 * sent_ttl; other errors quote the TTL as the router saw it, before or
 * after its own decrement depending on the code path, so the estimate is
 * good to one hop.
 */
int error_hops(uint8_t family, uint8_t type, uint8_t sent_ttl,
    uint8_t quoted_ttl);

/*
 * Read-side rules: derived from a stored record whenever it is shown,
 * never stored themselves.
 */
/* Who sent an error: the flow's destination, its source, or a router. */
enum error_role { ROLE_ROUTER, ROLE_DESTINATION, ROLE_SOURCE };
enum error_role error_role(const struct flow_record *, const struct error_record *);
/* "router", "destination", "source". */
const char *error_role_name(enum error_role);
/* Hops from the capture point to a router that sent an error; -1: unknown. */
int flow_error_hops(const struct flow_record *, const struct error_record *);
/* Who sent a flow's first reset: "destination", "on-path", "unknown"; NULL: none. */
const char *flow_rst_from(const struct flow_record *);

/*
 * Packets sent after one that drew an error drew none themselves: the
 * errors were rate-limited, not the packets let through. Not said of
 * fragmentation needed (only the large packets draw it) nor of a
 * tunnel's own flow (its packets carry many flows).
 */
int flow_errors_rate_limited(const struct flow_record *);

/*
 * A TCP connection refused by a reset to its SYN (no ICMP): the refusal
 * the timeline and the summary count beside ICMP errors.
 */
int flow_refused_by_reset(const struct flow_record *);
/*
 * Nothing came back, or an answered TCP connection whose peer then went
 * silent (its data retransmitted unanswered): trouble, not an answer.
 */
int flow_went_silent(const struct flow_record *);

#endif
