/*
 * Link-layer decoders: find the IP header in a captured frame, through
 * VLAN tags, PPPoE, PPP and MPLS (parsers/encap.c) as they come.
 */
#include <stddef.h>

#include "parsers/decode_int.h"

#define ETHERTYPE_IPV4	0x0800
#define ETHERTYPE_IPV6	0x86dd
#define ETHERTYPE_VLAN	0x8100	/* IEEE 802.1Q */
#define ETHERTYPE_QINQ	0x88a8	/* IEEE 802.1ad service tag */
#define ETHERTYPE_QINQ_OLD 0x9100 /* pre-standard QinQ */
#define ETHERTYPE_PPPOE_DISC	0x8863
#define ETHERTYPE_PPPOE_SESS	0x8864
#define ETHERTYPE_MPLS		0x8847
#define ETHERTYPE_MPLS_MCAST	0x8848
#define ETHERTYPE_MIN		0x0600	/* below: an 802.3 length */
#define MAX_VLAN_TAGS	8

int
link_supported(int linktype)
{
	switch (linktype) {
	case LINK_NULL: case LINK_EN10MB: case LINK_RAW: case LINK_RAW_OBSD:
	case LINK_RAW_LT: case LINK_LOOP: case LINK_LINUX_SLL:
	case LINK_IPV4: case LINK_IPV6: case LINK_LINUX_SLL2:
	case LINK_PPP: case LINK_PPP_SERIAL: case LINK_PPP_ETHER:
	case LINK_C_HDLC: case LINK_PPP_WITH_DIR:
		return 1;
	}
	return 0;
}

enum decode_status
decode_skip(struct decoded *d, enum skip_reason why, uint32_t arg)
{
	d->skip = (uint8_t)why;
	d->skip_arg = arg;
	return DECODE_NOT_IP;
}

enum decode_status
decode_malformed(struct decoded *d, enum decode_reason why)
{
	d->why = why;
	return DECODE_MALFORMED;
}

/*
 * Skip any number of VLAN tags (each: TCI, then the inner ethertype),
 * each a layer, and return the ethertype that follows them; -1 when the
 * frame is cut short or too deep (d says why).
 */
static int
skip_vlan_tags(struct cursor *c, uint16_t ethertype, struct decoded *d)
{
	int tags = 0;

	while (ethertype == ETHERTYPE_VLAN || ethertype == ETHERTYPE_QINQ ||
	    ethertype == ETHERTYPE_QINQ_OLD) {
		if (++tags > MAX_VLAN_TAGS) {
			d->why = WHY_VLAN_TOO_DEEP;
			return -1;
		}
		uint16_t tci = cur_be16(c);
		ethertype = cur_be16(c);
		if (c->err) {
			d->why = WHY_LINK_TRUNCATED;
			return -1;
		}
		if (encap_push(d, ENCAP_VLAN, 1, tci & 0x0fff) != 0)
			return -2;
	}
	return ethertype;
}

enum decode_status
ethertype_decode(struct cursor *c, uint16_t ethertype, struct decoded *d)
{
	int et = skip_vlan_tags(c, ethertype, d);

	if (et == -2)
		return DECODE_NOT_IP;		/* too deep */
	if (et < 0)
		return DECODE_MALFORMED;
	switch (et) {
	case ETHERTYPE_IPV4:
	case ETHERTYPE_IPV6:
		return ip_decode_rest(c, d);
	case ETHERTYPE_PPPOE_SESS:
		return pppoe_session_decode(c, d);
	case ETHERTYPE_PPPOE_DISC:
		return decode_skip(d, SKIP_PPPOE_DISCOVERY, 0);
	case ETHERTYPE_MPLS:
	case ETHERTYPE_MPLS_MCAST:
		return mpls_decode(c, d);
	}
	if (et < ETHERTYPE_MIN)
		return decode_skip(d, SKIP_LLC, (uint32_t)et);
	return decode_skip(d, SKIP_ETHERTYPE, (uint32_t)et);
}

enum decode_status
eth_decode(struct cursor *c, struct decoded *d)
{
	cur_skip(c, 12);			/* destination, source MAC */
	uint16_t et = cur_be16(c);
	if (c->err)
		return decode_malformed(d, WHY_LINK_TRUNCATED);
	return ethertype_decode(c, et, d);
}

/*
 * BSD loopback: a 4-byte address family. DLT_NULL has it in the capturing
 * host's byte order, DLT_LOOP in network order. The IPv6 value differs
 * between systems (Linux 10, BSDs 24, 28, 30).
 */
static enum decode_status
loopback(struct cursor *c, int big_endian, struct decoded *d)
{
	uint32_t af;

	if (big_endian) {
		af = cur_be32(c);
	} else {
		af = cur_le32(c);
		if (af & 0xffff0000u)		/* written big-endian */
			af = __builtin_bswap32(af);
	}
	if (c->err)
		return decode_malformed(d, WHY_LINK_TRUNCATED);
	switch (af) {
	case 2:					/* AF_INET everywhere */
	case 10: case 24: case 28: case 30:	/* AF_INET6 */
		return ip_decode_rest(c, d);
	}
	return decode_skip(d, SKIP_LOOP_FAMILY, af);
}

/*
 * Cisco HDLC (and PPP_SERIAL frames that use it): address 0x0f or 0x8f,
 * control 0, then an ethertype.
 */
static enum decode_status
cisco_hdlc(struct cursor *c, struct decoded *d)
{
	cur_skip(c, 2);
	uint16_t et = cur_be16(c);
	if (c->err)
		return decode_malformed(d, WHY_LINK_TRUNCATED);
	return ethertype_decode(c, et, d);
}

static enum decode_status
ppp_serial(struct cursor *c, struct decoded *d)
{
	struct cursor probe = *c;
	uint8_t addr = cur_u8(&probe);

	if (probe.err)
		return decode_malformed(d, WHY_LINK_TRUNCATED);
	if (addr == 0x0f || addr == 0x8f)
		return cisco_hdlc(c, d);
	return ppp_decode(c, d, 1);
}

static enum decode_status
link_decode(int linktype, struct cursor *c, struct decoded *d)
{
	uint16_t et;

	switch (linktype) {
	case LINK_EN10MB: {
		/* most frames carry IP right away */
		struct span h = cur_take(c, 14);
		if (h.len == 0)
			return decode_malformed(d, WHY_LINK_TRUNCATED);
		et = span_be16(h, 12);
		if (et == ETHERTYPE_IPV4 || et == ETHERTYPE_IPV6)
			return ip_decode_rest(c, d);
		return ethertype_decode(c, et, d);
	}
	case LINK_LINUX_SLL: {
		/* packet type, ARPHRD, address length, 8 address bytes */
		uint16_t pkttype = cur_be16(c);
		cur_skip(c, 12);
		et = cur_be16(c);
		d->link_if = (uint32_t)pkttype + 1;
		break;
	}
	case LINK_LINUX_SLL2:
		et = cur_be16(c);
		cur_skip(c, 2);			/* reserved */
		d->link_if = cur_be32(c);	/* interface index */
		/* ARPHRD, packet type, addr len, address */
		cur_skip(c, 12);
		break;
	case LINK_NULL:
		return loopback(c, 0, d);
	case LINK_LOOP:
		return loopback(c, 1, d);
	case LINK_RAW: case LINK_RAW_OBSD: case LINK_RAW_LT:
	case LINK_IPV4: case LINK_IPV6:
		return ip_decode_rest(c, d);
	case LINK_PPP:
		return ppp_decode(c, d, 1);
	case LINK_PPP_WITH_DIR:
		cur_skip(c, 1);			/* direction */
		return ppp_decode(c, d, 1);
	case LINK_PPP_SERIAL:
		return ppp_serial(c, d);
	case LINK_C_HDLC:
		return cisco_hdlc(c, d);
	case LINK_PPP_ETHER:
		return pppoe_session_decode(c, d);
	default:
		decode_skip(d, SKIP_LINK_TYPE, (uint32_t)linktype);
		return DECODE_UNSUPPORTED_LINK;
	}
	if (c->err)
		return decode_malformed(d, WHY_LINK_TRUNCATED);
	return ethertype_decode(c, et, d);
}

enum decode_status
pkt_decode(int linktype, const uint8_t *pkt, size_t caplen, struct decoded *d)
{
	struct cursor c = cur_make(pkt, caplen);

	/*
	 * A copy of a constant, not memset: for these bytes GCC emits rep
	 * stos, whose start-up cost was most of decoding a packet. The
	 * layers are read only up to their counts, so only those are reset.
	 */
	static const struct decoded zero;
	memcpy(d, &zero, offsetof(struct decoded, encap));
	d->encap.n = 0;
	d->encap.ntunnels = 0;
	return link_decode(linktype, &c, d);
}
