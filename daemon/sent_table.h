/*
 * Packets seen recently, so that an ICMP error can be matched to the very
 * packet it quotes: that gives the time from packet to error (the round
 * trip to the reporter), the TTL the packet had (how far the reporter is),
 * and whether this packet already drew an error (rate limiting).
 *
 * A bucket is chosen by what NAT leaves alone (family, protocol,
 * destination address and port, IP length, IPv4 ID) and each entry keeps
 * what NAT rewrites (source address and port, transport bytes 4-7 with the
 * UDP checksum), so a quote rewritten on the way still finds its packet
 * when nothing else sent one like it. Fixed in size, like the fragment
 * table: a newer packet replaces the oldest of its bucket.
 */
#ifndef UDPFLOWS_SENT_TABLE_H
#define UDPFLOWS_SENT_TABLE_H

#include <stdint.h>

#include "parsers/decode.h"

#define SENT_SLOTS	(1u << 17)	/* 2 MiB */
#define SENT_WINDOW_US	(30 * 1000000LL)

/* What an ICMP quote shows of a packet (and what is kept of one sent). */
struct sent_pkt {
	const struct tuple *t;		/* with ports */
	uint32_t	ip_bytes;
	uint32_t	ip_id;		/* IPv4; 0 for IPv6 */
	uint32_t	l4;		/* transport header bytes 4-7 */
};

enum sent_match {
	SENT_NONE,	/* not captured, no longer remembered, or ambiguous */
	SENT_EXACT,	/* the quote is the packet as captured */
	/*
	 * Source, port or checksum differ: NAT rewrote the packet (Linux
	 * restores address and port in the quote on the way back, not the
	 * UDP checksum), or the capture saw a checksum the NIC had yet to
	 * fill in (offload).
	 */
	SENT_ALTERED,
};

struct sent_hit {
	int64_t		ts_us;		/* when the packet was seen */
	uint32_t	flow;		/* low half of its flow's flow_key_hash */
	uint8_t		from_a;		/* sent by that key's side a */
	uint8_t		ttl;		/* its TTL there */
	uint8_t		first_error;	/* no error had quoted it before */
	uint8_t		packet;		/* 0: only the flow is known */
	uint8_t		rewritten;	/* the quote's source differs (NAT) */
};

struct sent_table;

struct sent_table *sent_table_new(void);
void sent_table_free(struct sent_table *);

/*
 * Adding a packet: its key first, and a prefetch of where it goes while
 * the packet's flow is looked up. flow: flow_key_hash of the packet's
 * flow; from_a: sent by key side a.
 */
uint64_t sent_table_key(const struct sent_pkt *);
void sent_table_prefetch(struct sent_table *, uint64_t key);
void sent_table_add(struct sent_table *, uint64_t key,
    const struct sent_pkt *, uint64_t flow, int from_a, uint8_t ttl,
    int64_t ts_us);

/*
 * Find the packet a quote names, seen at most SENT_WINDOW_US before the
 * error at ts_us; quote_flow is the flow_key_hash of the quote's own
 * 5-tuple. Failing an exact match, SENT_ALTERED when the packets alike
 * but for what NAT rewrites all belong to one flow: the quote's own, or
 * any when other_source (the quote names no known flow); with more than
 * one such packet only the flow is known (hit->packet 0). Packets of
 * different flows are ambiguous: SENT_NONE.
 */
enum sent_match sent_table_match(struct sent_table *, const struct sent_pkt *,
    uint64_t quote_flow, int64_t ts_us, int other_source, struct sent_hit *);

#endif
