/*
 * The record of one flow and of the ICMP errors it drew: what the daemon's
 * exporter makes of a flow in memory, what the store writes and reads back,
 * and what every output (table, JSON, CSV, explanation) is made from.
 *
 * Which facts are decided when: the state, the TCP ending and the TTLs
 * are decided by the daemon when it writes a flow (they need the packets);
 * who sent an error (reporter role), how many hops away, and who sent a
 * TCP reset (rst_from) are derived from the record whenever it is read
 * (common/flowstate.h), so they are never stored.
 */
#ifndef UDPFLOWS_FLOW_RECORD_H
#define UDPFLOWS_FLOW_RECORD_H

#include <stddef.h>
#include <stdint.h>

struct flow_encap;

/* One ICMP error aggregate: per type, code and reporter. */
struct error_record {
	uint8_t		family;		/* 4 ICMP, 6 ICMPv6 */
	uint8_t		type, code;
	uint8_t		has_mtu;
	uint8_t		reporter[16];
	uint32_t	count;
	uint32_t	mtu;
	int64_t		first_us, last_us;
	/*
	 * Matching the quote to a captured packet: how many occurrences
	 * matched one, how many of those only after undoing an address or
	 * port rewrite (NAT), the shortest time from packet to error, and
	 * the TTL the packet had where captured against the TTL the
	 * reporter quotes (0: unknown).
	 */
	uint32_t	matched;
	uint32_t	altered;
	int64_t		rtt_us;		/* -1: no quoted packet captured */
	uint8_t		sent_ttl, quoted_ttl;
};

/* One flow as stored; src is the side whose packet was seen first. */
struct flow_record {
	int64_t		id;		/* rowid, set when read */
	int64_t		run_id;		/* its run, set when read */
	uint8_t		family;		/* 4 or 6 */
	uint8_t		proto;
	uint8_t		has_ports;
	uint8_t		state;		/* enum flow_state */
	uint8_t		src[16], dst[16];
	uint16_t	sport, dport;
	int64_t		first_us, last_us;
	uint64_t	pkts_sent, bytes_sent, pkts_back, bytes_back;
	uint64_t	pkts_errored;	/* packets an ICMP error quoted */
	/* TCP: SYNs from src and the time from the first to the last. */
	uint32_t	syns;
	int64_t		syn_span_us;
	uint8_t		end, end_by;	/* enum flow_end; 0 src, 1 dst */
	uint8_t		rst_ttl;	/* first RST from dst; 0: none */
	uint8_t		dst_ttl;	/* dst's other packets; 0: unknown */
	size_t		nerrors;
	const struct error_record *errors;
	/* how it was carried, and the tunnel it is (common/encap.h) */
	const struct flow_encap *encap;		/* NULL: carried plainly */
	/* the gateway, read from the fleet store; NULL elsewhere */
	const char	*gateway;
};

#endif
