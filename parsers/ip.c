/*
 * IPv4, IPv6 and transport decoders, and the quoted packet of ICMP errors.
 *
 * The same header walkers serve the packet itself and the packet quoted in
 * an ICMP error; for a quote the window is narrowed to the ICMP payload and
 * what cannot be read just lowers how much of the 5-tuple is known.
 */
#include <stddef.h>

#include "parsers/decode_int.h"

#define MAX_IP6_EXT	16	/* more than any sane packet carries */

static const char *const reason_names[WHY_COUNT] = {
	[WHY_NONE]		= "none",
	[WHY_LINK_TRUNCATED]	= "link-truncated",
	[WHY_LINK_BAD_FAMILY]	= "link-bad-family",
	[WHY_VLAN_TOO_DEEP]	= "vlan-too-deep",
	[WHY_IP_TRUNCATED]	= "ip-truncated",
	[WHY_IP_BAD_VERSION]	= "ip-bad-version",
	[WHY_IP_BAD_HLEN]	= "ip-bad-header-length",
	[WHY_IP_BAD_LENGTH]	= "ip-bad-total-length",
	[WHY_IP6_EXT_TRUNCATED]	= "ip6-ext-truncated",
	[WHY_IP6_EXT_TOO_MANY]	= "ip6-ext-too-many",
	[WHY_UDP_TRUNCATED]	= "udp-truncated",
	[WHY_UDP_BAD_LENGTH]	= "udp-bad-length",
	[WHY_TCP_TRUNCATED]	= "tcp-truncated",
	[WHY_TCP_BAD_HLEN]	= "tcp-bad-header-length",
	[WHY_ICMP_TRUNCATED]	= "icmp-truncated",
	[WHY_PPPOE_TRUNCATED]	= "pppoe-truncated",
	[WHY_PPP_TRUNCATED]	= "ppp-truncated",
	[WHY_MPLS_TRUNCATED]	= "mpls-truncated",
	[WHY_GRE_TRUNCATED]	= "gre-truncated",
	[WHY_ERSPAN_TRUNCATED]	= "erspan-truncated",
	[WHY_VXLAN_TRUNCATED]	= "vxlan-truncated",
	[WHY_GENEVE_TRUNCATED]	= "geneve-truncated",
	[WHY_GTP_TRUNCATED]	= "gtp-truncated",
};

const char *
decode_reason_name(enum decode_reason why)
{
	if ((unsigned)why >= WHY_COUNT || reason_names[why] == NULL)
		return "unknown";
	return reason_names[why];
}

/* What an IP header walk found; payload is the rest of the window. */
struct ip_info {
	size_t		payload_len;	/* per the header; may exceed capture */
	int		jumbo;		/* IPv6 length 0: take what is there */
	uint8_t		frag;		/* enum frag_kind */
	uint32_t	frag_id;
	uint8_t		ttl;
	uint32_t	ip_bytes;
};

/*
 * IPv4 header, RFC 791 section 3.1:
 *   0 version/IHL, 1 TOS, 2 total length, 4 ID, 6 flags/fragment offset,
 *   8 TTL, 9 protocol, 10 checksum, 12 source, 16 destination, 20 options.
 */
static enum decode_reason
ip4_header(struct cursor *c, struct tuple *t, struct ip_info *ii, int quote)
{
	struct span h = cur_take(c, 20);

	if (h.len == 0)
		return WHY_IP_TRUNCATED;
	uint8_t vhl = span_u8(h, 0);
	uint16_t totlen = span_be16(h, 2);
	uint16_t id = span_be16(h, 4);
	uint16_t ff = span_be16(h, 6);
	ii->ttl = span_u8(h, 8);
	t->proto = span_u8(h, 9);
	span_copy(h, 12, t->src, 4);
	span_copy(h, 16, t->dst, 4);
	t->family = 4;
	if (vhl >> 4 != 4)
		return WHY_IP_BAD_VERSION;

	size_t hlen = (size_t)(vhl & 0x0f) * 4;
	if (hlen < 20)
		return WHY_IP_BAD_HLEN;
	/* A quote is cut short on purpose: only its header must be sane. */
	if (!quote && totlen < hlen)
		return WHY_IP_BAD_LENGTH;
	cur_skip(c, hlen - 20);			/* options */
	if (c->err)
		return WHY_IP_TRUNCATED;

	ii->ip_bytes = totlen;
	ii->payload_len = totlen > hlen ? totlen - hlen : 0;
	ii->frag_id = id;
	if ((ff & 0x1fff) != 0)
		ii->frag = FRAG_LATER;
	else if (ff & 0x2000)
		ii->frag = FRAG_FIRST;
	else
		ii->frag = FRAG_NONE;
	return WHY_NONE;
}

/*
 * IPv6 header, RFC 8200 section 3, then its extension headers (section 4):
 * hop-by-hop (0), routing (43), fragment (44), destination options (60),
 * AH (51, RFC 4302: length in 4-byte units minus 2) and mobility (135).
 * On return t->proto is the upper-layer protocol.
 */
static enum decode_reason
ip6_header(struct cursor *c, struct tuple *t, struct ip_info *ii)
{
	struct span h = cur_take(c, 40);

	if (h.len == 0)
		return WHY_IP_TRUNCATED;
	uint32_t vtf = span_be32(h, 0);
	uint16_t plen = span_be16(h, 4);
	uint8_t nh = span_u8(h, 6);
	ii->ttl = span_u8(h, 7);
	span_copy(h, 8, t->src, 16);
	span_copy(h, 24, t->dst, 16);
	t->family = 6;
	if (vtf >> 28 != 6)
		return WHY_IP_BAD_VERSION;

	size_t ext_bytes = 0;
	ii->frag = FRAG_NONE;
	for (int n = 0;; n++) {
		if (nh != 0 && nh != 43 && nh != 44 && nh != 60 && nh != 51 &&
		    nh != 135)
			break;
		if (n == MAX_IP6_EXT)
			return WHY_IP6_EXT_TOO_MANY;
		t->proto = nh;		/* what is known if the walk stops */
		uint8_t next = cur_u8(c);
		uint8_t hl = cur_u8(c);
		size_t len;
		if (nh == 44) {
			/* RFC 8200 4.5: offset(13) res(2) M(1), ID(32) */
			uint16_t offm = cur_be16(c);
			ii->frag_id = cur_be32(c);
			if (offm >> 3)
				ii->frag = FRAG_LATER;
			else if (offm & 1)
				ii->frag = FRAG_FIRST;
			len = 8;
		} else if (nh == 51) {
			len = ((size_t)hl + 2) * 4;
			cur_skip(c, len - 2);
		} else {
			len = ((size_t)hl + 1) * 8;
			cur_skip(c, len - 2);
		}
		if (c->err)
			return WHY_IP6_EXT_TRUNCATED;
		ext_bytes += len;
		nh = next;
		if (ii->frag == FRAG_LATER)
			break;		/* the rest is fragment data */
	}
	t->proto = nh;
	ii->ip_bytes = 40u + plen;
	ii->jumbo = plen == 0;
	if (!ii->jumbo && plen < ext_bytes)
		return WHY_IP_BAD_LENGTH;
	ii->payload_len = ii->jumbo ? 0 : plen - ext_bytes;
	return WHY_NONE;
}

/* Ports of UDP (RFC 768) and TCP (RFC 9293): the first 4 bytes of both. */
static int
has_port_header(uint8_t proto)
{
	return proto == PROTO_UDP || proto == PROTO_TCP;
}

/*
 * The packet quoted in an ICMP error: its IP header with options or
 * extension headers, then the first 4 bytes of the transport header.
 * RFC 792 guarantees only 8 bytes after the IP header; RFC 1812 and RFC 4443
 * ask for more, but nothing beyond the window is ever read.
 */
static void
quote_decode(struct cursor *c, struct decoded *d)
{
	struct tuple *q = &d->quote;
	struct ip_info ii = { 0 };
	struct cursor probe = *c;
	uint8_t version = cur_u8(&probe) >> 4;
	enum decode_reason why;

	if (probe.err)
		return;
	if (version == 4)
		why = ip4_header(c, q, &ii, 1);
	else if (version == 6)
		why = ip6_header(c, q, &ii);
	else
		return;

	if (why != WHY_NONE) {
		/*
		 * The family is set once the fixed header (and so both
		 * addresses) was read: the error still names the address
		 * pair. An IPv6 walk cut short hides the upper protocol.
		 */
		if (q->family == 0 || why == WHY_IP_BAD_VERSION)
			return;
		if (why == WHY_IP6_EXT_TRUNCATED || why == WHY_IP6_EXT_TOO_MANY)
			q->proto = PROTO_UNKNOWN;
		d->quote_depth = QUOTE_ADDRS;
		return;
	}
	d->quote_depth = QUOTE_ADDRS;
	d->quote_frag = ii.frag;
	d->quote_frag_id = ii.frag_id;
	d->quote_ttl = ii.ttl;
	d->quote_ip_bytes = ii.ip_bytes;
	if (ii.frag == FRAG_LATER || !has_port_header(q->proto))
		return;
	q->sport = cur_be16(c);
	q->dport = cur_be16(c);
	if (c->err) {
		q->sport = q->dport = 0;
		return;
	}
	q->has_ports = 1;
	d->quote_depth = QUOTE_PORTS;
	d->quote_l4 = cur_be32(c);
	d->quote_has_l4 = !c->err;
	if (c->err)
		d->quote_l4 = 0;
}

/*
 * ICMPv4, RFC 792: type, code, checksum, 4 bytes that depend on the type,
 * then for errors the quoted datagram. Errors: 3 destination unreachable
 * (code 4 carries the next-hop MTU in bytes 6-7, RFC 1191), 11 time
 * exceeded, 12 parameter problem.
 */
static enum decode_reason
icmp4_decode(struct cursor *c, struct decoded *d)
{
	d->icmp_type = cur_u8(c);
	d->icmp_code = cur_u8(c);
	d->l4_cksum = cur_be16(c);
	cur_skip(c, 2);			/* unused, or RFC 4884 length */
	uint16_t rest_lo = cur_be16(c);
	if (c->err)
		return WHY_ICMP_TRUNCATED;
	switch (d->icmp_type) {
	case 3:
		if (d->icmp_code == 4) {
			d->has_mtu = 1;
			d->mtu = rest_lo;
		}
		/* FALLTHROUGH */
	case 11:
	case 12:
		d->icmp = ICMP_ERROR;
		quote_decode(c, d);
		break;
	default:
		d->icmp = ICMP_INFO;
	}
	return WHY_NONE;
}

/*
 * ICMPv6, RFC 4443: errors are types 1 (destination unreachable), 2 (packet
 * too big, MTU in bytes 4-7), 3 (time exceeded), 4 (parameter problem);
 * types 128 and up are informational (echo, ND, MLD...).
 */
static enum decode_reason
icmp6_decode(struct cursor *c, struct decoded *d)
{
	d->icmp_type = cur_u8(c);
	d->icmp_code = cur_u8(c);
	d->l4_cksum = cur_be16(c);
	uint32_t rest = cur_be32(c);
	if (c->err)
		return WHY_ICMP_TRUNCATED;
	if (d->icmp_type >= 1 && d->icmp_type <= 4) {
		d->icmp = ICMP_ERROR;
		if (d->icmp_type == 2) {
			d->has_mtu = 1;
			d->mtu = rest;
		}
		quote_decode(c, d);
	} else {
		d->icmp = ICMP_INFO;
	}
	return WHY_NONE;
}

static enum decode_reason
transport_decode(struct cursor *c, struct decoded *d, const struct ip_info *ii)
{
	struct tuple *t = &d->t;

	switch (t->proto) {
	case PROTO_UDP: {
		struct span ports = cur_take(c, 4);
		if (ports.len == 0)
			return WHY_UDP_TRUNCATED;
		t->sport = span_be16(ports, 0);
		t->dport = span_be16(ports, 2);
		t->has_ports = 1;
		struct span rest = cur_take(c, 4);
		if (rest.len == 0)
			return WHY_NONE;	/* snaplen: the ports are enough */
		uint16_t ulen = span_be16(rest, 0);
		d->l4_cksum = span_be16(rest, 2);
		d->l4_word = (uint32_t)ulen << 16 | d->l4_cksum;
		/* The first fragment holds only part of the datagram. */
		if (ulen < 8 || (ii->frag == FRAG_NONE && !ii->jumbo &&
		    ulen > ii->payload_len))
			return WHY_UDP_BAD_LENGTH;
		return WHY_NONE;
	}
	case PROTO_TCP: {
		t->sport = cur_be16(c);
		t->dport = cur_be16(c);
		d->tcp_seq = d->l4_word = cur_be32(c);
		cur_skip(c, 4);			/* acknowledgment */
		uint8_t off = cur_u8(c);
		d->tcp_flags = cur_u8(c);
		if (c->err)
			return WHY_TCP_TRUNCATED;
		cur_skip(c, 2);			/* window */
		d->l4_cksum = cur_be16(c);	/* 0 when cut short */
		t->has_ports = 1;
		if (off >> 4 < 5)
			return WHY_TCP_BAD_HLEN;
		size_t thl = (size_t)(off >> 4) * 4;
		if (!ii->jumbo && ii->frag == FRAG_NONE)
			d->tcp_len = ii->payload_len > thl ?
			    (uint32_t)(ii->payload_len - thl) : 0;
		return WHY_NONE;
	}
	case PROTO_ICMP:
		return t->family == 4 ? icmp4_decode(c, d) : WHY_NONE;
	case PROTO_ICMPV6:
		return t->family == 6 ? icmp6_decode(c, d) : WHY_NONE;
	}
	return WHY_NONE;		/* another protocol: tracked without ports */
}

/*
 * The packet decoded so far carries another (IP protocol 4, 41 or 47, or
 * UDP to a tunnel port): it becomes a tunnel packet and layer kind, and d
 * is cleared for the packet inside. The layer's index, or -1 when the
 * packet is carried too deep to follow (d says so).
 */
static int
tunnel_begin(struct decoded *d, enum encap_kind kind, const struct ip_info *ii)
{
	struct decoded_encap *e = &d->encap;

	if (e->ntunnels == ENCAP_MAX_TUNNELS) {
		decode_skip(d, SKIP_TOO_DEEP, 0);
		return -1;
	}
	if (encap_push(d, kind, 0, 0) != 0)
		return -1;
	e->tunnel[e->ntunnels++] = (struct tunnel_packet){
		.t = d->t, .ip_bytes = ii->ip_bytes, .frag_id = ii->frag_id,
		.l4_word = d->l4_word, .ttl = ii->ttl, .layer = e->n - 1,
	};
	static const struct decoded zero;
	memcpy(d, &zero, offsetof(struct decoded, link_if));
	return e->n - 1;
}

/* The tunnel an unfragmented packet of protocol proto is, or 0. */
static enum encap_kind
ip_tunnel_kind(uint8_t family, uint8_t proto)
{
	switch (proto) {
	case 4:
		return family == 4 ? ENCAP_IPIP : ENCAP_4IN6;
	case 41:
		return family == 4 ? ENCAP_6IN4 : ENCAP_6IN6;
	case 47:
		return ENCAP_GRE;
	}
	return ENCAP_NONE;
}

/*
 * A UDP datagram to a tunnel port: what follows its header, up to the
 * length the header says, is the tunnel's payload.
 */
static enum decode_status
udp_tunnel(struct cursor *after_header, struct decoded *d,
    const struct ip_info *ii)
{
	uint16_t dport = d->t.dport;
	size_t ulen = d->l4_word >> 16;
	int kind = udp_tunnel_port(dport);
	struct cursor c = cur_window(after_header, ulen - 8);

	if (tunnel_begin(d, (enum encap_kind)kind, ii) < 0)
		return DECODE_NOT_IP;
	return udp_tunnel_decode(&c, dport, d);
}

enum decode_status
ip_decode(const uint8_t *p, size_t len, struct decoded *d)
{
	struct cursor c = cur_make(p, len);
	struct ip_info ii = { 0 };
	enum decode_reason why;

	if (len == 0)
		return decode_malformed(d, WHY_IP_TRUNCATED);
	switch (p[0] >> 4) {
	case 4:
		why = ip4_header(&c, &d->t, &ii, 0);
		break;
	case 6:
		why = ip6_header(&c, &d->t, &ii);
		break;
	default:
		return decode_malformed(d, WHY_IP_BAD_VERSION);
	}
	if (why != WHY_NONE)
		return decode_malformed(d, why);
	d->ip_bytes = ii.ip_bytes;
	d->ttl = ii.ttl;
	d->frag = ii.frag;
	d->frag_id = ii.frag_id;
	if (ii.frag == FRAG_LATER)
		return DECODE_OK;	/* no transport header here */

	/* Trailing link padding is not IP payload; a short capture is. */
	struct cursor payload = cur_window(&c, ii.jumbo ? cur_left(&c) :
	    ii.payload_len);
	enum encap_kind tk = ii.frag == FRAG_NONE ?
	    ip_tunnel_kind(d->t.family, d->t.proto) : ENCAP_NONE;
	if (tk != ENCAP_NONE) {
		if (tunnel_begin(d, tk, &ii) < 0)
			return DECODE_NOT_IP;
		return tk == ENCAP_GRE ? gre_decode(&payload, d) :
		    ip_decode_rest(&payload, d);
	}
	why = transport_decode(&payload, d, &ii);
	if (why != WHY_NONE)
		return decode_malformed(d, why);
	/* a whole UDP header: its length says where the payload ends */
	if (d->t.proto == PROTO_UDP && ii.frag == FRAG_NONE &&
	    (d->l4_word >> 16) >= 8 && udp_tunnel_port(d->t.dport) > 0)
		return udp_tunnel(&payload, d, &ii);
	return DECODE_OK;
}
