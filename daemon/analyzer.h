/*
 * The analysis of one packet: decode, account it to its flow, and attach
 * ICMP errors to the flow whose packet they quote (correlation); and what
 * state a flow is in (classification). Shared by both run modes, the
 * tests and the fuzzers. TCP tracking (daemon/tcp_track.h), host TTLs
 * (daemon/host_ttl.h) and cross-interface de-duplication
 * (daemon/dedupe.h) are its parts.
 *
 * An interface (iface) is where a packet was seen: the capture handle in
 * the high 32 bits, the link layer's own interface index (SLL2) or packet
 * type (SLL) in the low, 0 where the link says nothing.
 */
#ifndef UDPFLOWS_ANALYZER_H
#define UDPFLOWS_ANALYZER_H

#include <stdint.h>

#include "daemon/flow_table.h"
#include "parsers/decode.h"

/* Packets not decoded for one reason and value ("ethertype 0x0806"). */
struct analyzer_skip {
	uint8_t		why;			/* enum skip_reason */
	uint32_t	arg;
	uint64_t	count;
};

/* Distinct reasons kept apart; the rest are counted together. */
#define ANALYZER_SKIP_KINDS	32

struct analyzer_stats {
	uint64_t	packets;		/* handed to the analyzer */
	uint64_t	decoded;		/* IP packets analysed */
	uint64_t	not_ip;			/* not decoded: skip[] */
	struct analyzer_skip skip[ANALYZER_SKIP_KINDS];
	uint32_t	nskip;
	uint64_t	skip_other;		/* beyond ANALYZER_SKIP_KINDS */
	uint64_t	tunneled;		/* carried in an IP tunnel */
	/* by family (IPv4, IPv6): IP packets decoded, and ICMP ones of them */
	uint64_t	ip_pkts[2], icmp_pkts[2];
	uint64_t	malformed[WHY_COUNT];	/* by reason */
	uint64_t	icmp_info;		/* echo, ND...: no error record */
	uint64_t	frag_unmatched;		/* later fragment, first unseen */
	uint64_t	errors_matched;		/* ICMP error, its flow was seen */
	uint64_t	errors_unseen;		/* flow created from the quote */
	uint64_t	errors_no_quote;	/* quote too short for addresses */
	uint64_t	nomem;			/* flows or errors lost to ENOMEM */
	uint64_t	duplicates;		/* same packet on another iface */
	uint64_t	errors_capped;		/* beyond FLOW_MAX_ERRORS */
	uint64_t	errors_exact;		/* quoted packet was captured */
	uint64_t	errors_altered;		/* ... after NAT rewrote it */
};

struct analyzer;

struct analyzer *analyzer_new(void);
void analyzer_free(struct analyzer *);

void analyzer_packet(struct analyzer *, int linktype, const uint8_t *pkt,
    uint32_t caplen, int64_t ts_us);
/* The same, for a packet that came from capture handle handle. */
void analyzer_packet_on(struct analyzer *, int handle, int linktype,
    const uint8_t *pkt, uint32_t caplen, int64_t ts_us);

/*
 * Drop a packet seen again on another interface within window_us (0: off),
 * as happens when a router is captured on several interfaces or "any": a
 * forwarded packet crosses two, differing only in TTL and link header.
 * The same packet twice on one interface is two packets.
 */
void analyzer_set_dedupe(struct analyzer *, int64_t window_us);

uint64_t analyzer_malformed_total(const struct analyzer_stats *);
const struct analyzer_stats *analyzer_stats(const struct analyzer *);
/*
 * Account every packet still waiting in the pipeline, and return the flow
 * table, then complete: the only way to the flows.
 */
struct flow_table *analyzer_settle(struct analyzer *);

/* The state of a flow, from its errors and its packets. */
int analyzer_flow_state(const struct flow_table *, const struct flow *);
/* The TTL the destination's own packets arrive with where its RST was seen. */
uint8_t analyzer_dst_ttl(struct analyzer *, const struct flow *);

#endif
