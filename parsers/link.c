/*
 * Link-layer decoders: find the IP header in a captured frame.
 */
#include "parsers/decode.h"
#include "parsers/cursor.h"

#define ETHERTYPE_IPV4	0x0800
#define ETHERTYPE_IPV6	0x86dd
#define ETHERTYPE_VLAN	0x8100	/* IEEE 802.1Q */
#define ETHERTYPE_QINQ	0x88a8	/* IEEE 802.1ad service tag */
#define ETHERTYPE_QINQ_OLD 0x9100 /* pre-standard QinQ */
#define MAX_VLAN_TAGS	8

int
link_supported(int linktype)
{
	switch (linktype) {
	case LINK_NULL: case LINK_EN10MB: case LINK_RAW: case LINK_RAW_OBSD:
	case LINK_RAW_LT: case LINK_LOOP: case LINK_LINUX_SLL:
	case LINK_IPV4: case LINK_IPV6: case LINK_LINUX_SLL2:
		return 1;
	}
	return 0;
}

/*
 * Skip any number of VLAN tags (each: TCI, then the inner ethertype) and
 * return the ethertype that follows them; -1 when the frame is cut short.
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
		cur_skip(c, 2);			/* TCI */
		ethertype = cur_be16(c);
		if (c->err) {
			d->why = WHY_LINK_TRUNCATED;
			return -1;
		}
	}
	return ethertype;
}

static enum decode_status
by_ethertype(struct cursor *c, uint16_t ethertype, struct decoded *d)
{
	int et = skip_vlan_tags(c, ethertype, d);

	if (et < 0)
		return DECODE_MALFORMED;
	if (et != ETHERTYPE_IPV4 && et != ETHERTYPE_IPV6)
		return DECODE_NOT_IP;
	return ip_decode(c->base + c->off, cur_left(c), d);
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
	if (c->err) {
		d->why = WHY_LINK_TRUNCATED;
		return DECODE_MALFORMED;
	}
	switch (af) {
	case 2:					/* AF_INET everywhere */
	case 10: case 24: case 28: case 30:	/* AF_INET6 */
		return ip_decode(c->base + c->off, cur_left(c), d);
	}
	return DECODE_NOT_IP;
}

enum decode_status
pkt_decode(int linktype, const uint8_t *pkt, size_t caplen, struct decoded *d)
{
	struct cursor c = cur_make(pkt, caplen);
	uint32_t link_if = 0;
	uint16_t et;
	enum decode_status st;

	/*
	 * A copy of a constant, not memset: for these 144 bytes GCC emits
	 * rep stos, whose start-up cost was most of decoding a packet.
	 */
	static const struct decoded zero;
	*d = zero;
	switch (linktype) {
	case LINK_EN10MB:
		cur_skip(&c, 12);		/* destination, source MAC */
		et = cur_be16(&c);
		break;
	case LINK_LINUX_SLL: {
		/* packet type, ARPHRD, address length, 8 address bytes */
		uint16_t pkttype = cur_be16(&c);
		cur_skip(&c, 12);
		et = cur_be16(&c);
		link_if = (uint32_t)pkttype + 1;
		break;
	}
	case LINK_LINUX_SLL2:
		et = cur_be16(&c);
		cur_skip(&c, 2);		/* reserved */
		link_if = cur_be32(&c);		/* interface index */
		/* ARPHRD, packet type, addr len, address */
		cur_skip(&c, 12);
		break;
	case LINK_NULL:
		return loopback(&c, 0, d);
	case LINK_LOOP:
		return loopback(&c, 1, d);
	case LINK_RAW: case LINK_RAW_OBSD: case LINK_RAW_LT:
	case LINK_IPV4: case LINK_IPV6:
		return ip_decode(pkt, caplen, d);
	default:
		return DECODE_UNSUPPORTED_LINK;
	}
	if (c.err) {
		d->why = WHY_LINK_TRUNCATED;
		return DECODE_MALFORMED;
	}
	st = by_ethertype(&c, et, d);
	d->link_if = link_if;
	return st;
}
