/*
 * Decapsulation: what carries an IP packet on a gateway's wire besides
 * Ethernet and VLAN tags. PPPoE sessions and PPP (RFC 2516, RFC 1661),
 * MPLS label stacks (RFC 3032) with the pseudowire control word (RFC
 * 4385), GRE (RFC 2784, RFC 2890; version 1 is PPTP's, RFC 2637) and the
 * ERSPAN mirrors it carries, VXLAN (RFC 7348), Geneve (RFC 8926) and
 * GTP-U (3GPP TS 29.281). Each decoder reads its header through the
 * cursor, records its layer in d->encap, and hands the payload on; a
 * header cut short is a named malformation, something it does not carry
 * a named skip.
 */
#include <stdio.h>

#include "parsers/decode_int.h"

#define ETHERTYPE_IPV4		0x0800
#define ETHERTYPE_IPV6		0x86dd
#define ETHERTYPE_TEB		0x6558	/* transparent Ethernet bridging */
#define ETHERTYPE_ERSPAN_2	0x88be	/* also type I, without a sequence */
#define ETHERTYPE_ERSPAN_3	0x22eb
#define ETHERTYPE_MPLS		0x8847
#define ETHERTYPE_MPLS_MCAST	0x8848
#define ETHERTYPE_PPP		0x880b	/* PPTP's GRE */

#define PPP_IPV4		0x0021
#define PPP_IPV6		0x0057
#define PPP_MPLS		0x0281
#define PPP_MPLS_MCAST		0x0283

#define PORT_VXLAN		4789
#define PORT_GENEVE		6081
#define PORT_GTPU		2152

#define MPLS_MAX_LABELS		8

static const char *const kind_names[ENCAP_KIND_COUNT] = {
	[ENCAP_NONE]	= "none",
	[ENCAP_VLAN]	= "vlan",
	[ENCAP_PPPOE]	= "pppoe",
	[ENCAP_MPLS]	= "mpls",
	[ENCAP_PW]	= "pw",
	[ENCAP_GRE]	= "gre",
	[ENCAP_PPTP]	= "pptp",
	[ENCAP_ERSPAN]	= "erspan",
	[ENCAP_IPIP]	= "ipip",
	[ENCAP_6IN4]	= "6in4",
	[ENCAP_4IN6]	= "4in6",
	[ENCAP_6IN6]	= "6in6",
	[ENCAP_VXLAN]	= "vxlan",
	[ENCAP_GENEVE]	= "geneve",
	[ENCAP_GTPU]	= "gtpu",
};

const char *
encap_kind_name(int kind)
{
	if (kind < 0 || kind >= ENCAP_KIND_COUNT)
		return "unknown";
	return kind_names[kind];
}

int
encap_kind_is_tunnel(int kind)
{
	switch (kind) {
	case ENCAP_GRE: case ENCAP_PPTP: case ENCAP_IPIP: case ENCAP_6IN4:
	case ENCAP_4IN6: case ENCAP_6IN6: case ENCAP_VXLAN: case ENCAP_GENEVE:
	case ENCAP_GTPU:
		return 1;
	}
	return 0;
}

/* Names of the values people meet most; the number is always given. */
static const char *
ethertype_name(uint32_t et)
{
	switch (et) {
	case 0x0806: return "ARP";
	case 0x8035: return "RARP";
	case 0x88cc: return "LLDP";
	case 0x888e: return "802.1X";
	case 0x8809: return "slow protocols, LACP";
	case 0x88f7: return "PTP";
	case 0x8899: return "Realtek";
	case 0x9000: return "loopback";
	case 0x88e5: return "MACsec";
	case 0x8906: return "FCoE";
	case 0x8914: return "FIP";
	case 0x893a: return "IEEE 1905";
	case 0x88b5: case 0x88b6: return "experimental";
	}
	return NULL;
}

static const char *
ppp_protocol_name(uint32_t p)
{
	switch (p) {
	case 0xc021: return "LCP";
	case 0xc023: return "PAP";
	case 0xc223: return "CHAP";
	case 0xc227: return "EAP";
	case 0x8021: return "IPCP";
	case 0x8057: return "IPv6CP";
	case 0x80fd: return "CCP";
	case 0x002d: case 0x002f: return "Van Jacobson compressed";
	case 0x00fd: return "compressed datagram";
	}
	return NULL;
}

static const char *
gtp_message_name(uint32_t t)
{
	switch (t) {
	case 1: return "echo request";
	case 2: return "echo response";
	case 26: return "error indication";
	case 31: return "supported extension headers";
	case 254: return "end marker";
	}
	return NULL;
}

/* "ethertype ARP (0x0806)" as tcpdump says it, or "ethertype 0x88b5". */
static void
named(char *buf, size_t len, const char *what, const char *name,
    uint32_t v)
{
	if (name != NULL)
		snprintf(buf, len, "%s %s (0x%04x)", what, name, v);
	else
		snprintf(buf, len, "%s 0x%04x", what, v);
}

void
decode_skip_text(enum skip_reason why, uint32_t arg, char *buf, size_t len)
{
	const char *name = NULL;

	if (len == 0)
		return;
	switch (why) {
	case SKIP_LINK_TYPE:
		snprintf(buf, len, "link type %u", arg);
		return;
	case SKIP_ETHERTYPE:
		named(buf, len, "ethertype", ethertype_name(arg), arg);
		return;
	case SKIP_LLC:
		snprintf(buf, len, "802.3 LLC frame (STP, CDP...)");
		return;
	case SKIP_LOOP_FAMILY:
		snprintf(buf, len, "loopback address family %u", arg);
		return;
	case SKIP_PPPOE_DISCOVERY:
		snprintf(buf, len, "pppoe discovery");
		return;
	case SKIP_PPP_PROTOCOL:
		named(buf, len, "ppp protocol", ppp_protocol_name(arg), arg);
		return;
	case SKIP_MPLS_PAYLOAD:
		snprintf(buf, len, "mpls payload of unknown type (first "
		    "nibble %u)", arg);
		return;
	case SKIP_GRE_PROTOCOL:
		named(buf, len, "gre protocol", ethertype_name(arg), arg);
		return;
	case SKIP_GRE_VERSION:
		snprintf(buf, len, "gre version %u", arg);
		return;
	case SKIP_GRE_ROUTING:
		snprintf(buf, len, "gre with source routing (RFC 1701)");
		return;
	case SKIP_ERSPAN_VERSION:
		snprintf(buf, len, "erspan version %u", arg);
		return;
	case SKIP_VXLAN_NO_VNI:
		snprintf(buf, len, "vxlan without a VNI (I flag clear)");
		return;
	case SKIP_GENEVE_PROTOCOL:
		snprintf(buf, len, "geneve protocol 0x%04x", arg);
		return;
	case SKIP_GENEVE_VERSION:
		snprintf(buf, len, "geneve version %u", arg);
		return;
	case SKIP_GTP_VERSION:
		snprintf(buf, len, "gtp version %u on the GTP-U port", arg);
		return;
	case SKIP_GTP_MESSAGE:
		name = gtp_message_name(arg);
		snprintf(buf, len, "gtp-u message %u%s%s%s", arg,
		    name ? " (" : "", name ? name : "", name ? ")" : "");
		return;
	case SKIP_TOO_DEEP:
		snprintf(buf, len, "encapsulation deeper than %d layers",
		    ENCAP_MAX_LAYERS);
		return;
	case SKIP_NONE:
	case SKIP_COUNT:
		break;
	}
	snprintf(buf, len, "unknown");
}

int
encap_push(struct decoded *d, enum encap_kind kind, int has_id, uint32_t id)
{
	struct decoded_encap *e = &d->encap;

	if (e->n == ENCAP_MAX_LAYERS) {
		decode_skip(d, SKIP_TOO_DEEP, 0);
		return -1;
	}
	struct encap_layer *l = &e->layer[e->n++];
	*l = (struct encap_layer){ .kind = (uint8_t)kind,
	    .has_id = (uint8_t)has_id, .id = id };
	if (encap_kind_is_tunnel(kind)) {
		l->family = d->t.family;
		memcpy(l->src, d->t.src, 16);
		memcpy(l->dst, d->t.dst, 16);
	}
	return 0;
}

/* Name the id of layer i, once its header tells it. */
static void
layer_id(struct decoded *d, int i, uint32_t id)
{
	d->encap.layer[i].has_id = 1;
	d->encap.layer[i].id = id;
}

/*
 * A PPP protocol field (RFC 1661 section 2: two bytes, or one when
 * compressed, its low bit then set) and what it carries.
 */
enum decode_status
ppp_decode(struct cursor *c, struct decoded *d, int hdlc)
{
	struct cursor probe = *c;

	/* RFC 1662 framing: address 0xff, control 0x03, when present */
	if (hdlc && cur_u8(&probe) == 0xff && cur_u8(&probe) == 0x03)
		cur_skip(c, 2);
	uint32_t proto = cur_u8(c);
	if (!(proto & 1))
		proto = proto << 8 | cur_u8(c);
	if (c->err)
		return decode_malformed(d, WHY_PPP_TRUNCATED);
	switch (proto) {
	case PPP_IPV4:
	case PPP_IPV6:
		return ip_decode_rest(c, d);
	case PPP_MPLS:
	case PPP_MPLS_MCAST:
		return mpls_decode(c, d);
	}
	return decode_skip(d, SKIP_PPP_PROTOCOL, proto);
}

/*
 * RFC 2516 section 4: version and type (0x11), code (0 in a session),
 * session ID, length of the PPP payload (the frame may be padded).
 */
enum decode_status
pppoe_session_decode(struct cursor *c, struct decoded *d)
{
	struct span h = cur_take(c, 6);

	if (h.len == 0)
		return decode_malformed(d, WHY_PPPOE_TRUNCATED);
	uint16_t session = span_be16(h, 2);
	uint16_t length = span_be16(h, 4);
	if (encap_push(d, ENCAP_PPPOE, 1, session) != 0)
		return DECODE_NOT_IP;
	struct cursor payload = cur_window(c, length);
	return ppp_decode(&payload, d, 0);
}

/*
 * Label stack entries (RFC 3032 section 2.1): label 20 bits, traffic
 * class 3, bottom of stack 1, TTL 8. What follows has no type field: the
 * first nibble tells IPv4 (4) from IPv6 (6), and 0 is a pseudowire's
 * control word (RFC 4385), then an Ethernet frame (RFC 4448), as tcpdump
 * and Wireshark guess.
 */
enum decode_status
mpls_decode(struct cursor *c, struct decoded *d)
{
	for (int n = 0;; n++) {
		uint32_t e = cur_be32(c);
		if (c->err)
			return decode_malformed(d, WHY_MPLS_TRUNCATED);
		if (n == MPLS_MAX_LABELS)
			return decode_skip(d, SKIP_TOO_DEEP, 0);
		if (encap_push(d, ENCAP_MPLS, 1, e >> 12) != 0)
			return DECODE_NOT_IP;
		if (e & 0x100)
			break;
	}
	if (cur_left(c) == 0)
		return decode_malformed(d, WHY_MPLS_TRUNCATED);
	uint8_t nibble = c->base[c->off] >> 4;
	switch (nibble) {
	case 4:
	case 6:
		return ip_decode_rest(c, d);
	case 0:
		cur_skip(c, 4);
		if (c->err)
			return decode_malformed(d, WHY_MPLS_TRUNCATED);
		if (encap_push(d, ENCAP_PW, 0, 0) != 0)
			return DECODE_NOT_IP;
		return eth_decode(c, d);
	}
	return decode_skip(d, SKIP_MPLS_PAYLOAD, nibble);
}

/*
 * ERSPAN (draft-foschiano-erspan): type II, an 8-byte header (version 1,
 * the session ID in the low 10 bits of the second word's top half); type
 * III, 12 bytes (version 2, the same session ID) and an 8-byte platform
 * subheader when its O flag is set. The mirrored Ethernet frame follows.
 */
static enum decode_status
erspan_decode(struct cursor *c, struct decoded *d, int type3)
{
	struct span h = cur_take(c, type3 ? 12 : 8);

	if (h.len == 0)
		return decode_malformed(d, WHY_ERSPAN_TRUNCATED);
	uint32_t version = span_u8(h, 0) >> 4;
	if (version != (type3 ? 2u : 1u))
		return decode_skip(d, SKIP_ERSPAN_VERSION, version);
	uint32_t session = span_be16(h, 2) & 0x03ff;
	if (type3 && (span_u8(h, 11) & 0x01)) {
		cur_skip(c, 8);
		if (c->err)
			return decode_malformed(d, WHY_ERSPAN_TRUNCATED);
	}
	if (encap_push(d, ENCAP_ERSPAN, 1, session) != 0)
		return DECODE_NOT_IP;
	return eth_decode(c, d);
}

/* GRE flags and version (RFC 2784, RFC 2890, RFC 2637). */
#define GRE_C		0x8000	/* checksum and offset present */
#define GRE_R		0x4000	/* routing present (RFC 1701) */
#define GRE_K		0x2000	/* key present */
#define GRE_S		0x1000	/* sequence number present */
#define GRE_A		0x0080	/* version 1: acknowledgment present */
#define GRE_VERSION	0x0007

enum decode_status
gre_decode(struct cursor *c, struct decoded *d)
{
	int layer = d->encap.n - 1;
	struct span h = cur_take(c, 4);

	if (h.len == 0)
		return decode_malformed(d, WHY_GRE_TRUNCATED);
	uint16_t flags = span_be16(h, 0);
	uint16_t proto = span_be16(h, 2);
	uint32_t version = flags & GRE_VERSION;
	if (version > 1)
		return decode_skip(d, SKIP_GRE_VERSION, version);
	if (flags & GRE_R)
		return decode_skip(d, SKIP_GRE_ROUTING, 0);
	if (flags & GRE_C)
		cur_skip(c, 4);			/* checksum, offset */
	if (version == 1) {
		/* PPTP: the key is payload length and call ID */
		cur_skip(c, 2);
		uint16_t call = cur_be16(c);
		if (flags & GRE_S)
			cur_skip(c, 4);
		if (flags & GRE_A)
			cur_skip(c, 4);
		if (c->err)
			return decode_malformed(d, WHY_GRE_TRUNCATED);
		d->encap.layer[layer].kind = ENCAP_PPTP;
		layer_id(d, layer, call);
		if (proto != ETHERTYPE_PPP)
			return decode_skip(d, SKIP_GRE_PROTOCOL, proto);
		if (cur_left(c) == 0)		/* an acknowledgment alone */
			return decode_skip(d, SKIP_PPP_PROTOCOL, 0);
		return ppp_decode(c, d, 1);
	}
	if (flags & GRE_K) {
		uint32_t key = cur_be32(c);
		if (!c->err)
			layer_id(d, layer, key);
	}
	if (flags & GRE_S)
		cur_skip(c, 4);
	if (c->err)
		return decode_malformed(d, WHY_GRE_TRUNCATED);
	switch (proto) {
	case ETHERTYPE_IPV4:
	case ETHERTYPE_IPV6:
		return ip_decode_rest(c, d);
	case ETHERTYPE_TEB:
		return eth_decode(c, d);
	case ETHERTYPE_MPLS:
	case ETHERTYPE_MPLS_MCAST:
		return mpls_decode(c, d);
	case ETHERTYPE_ERSPAN_2:
		if (!(flags & GRE_S)) {		/* type I: no header */
			if (encap_push(d, ENCAP_ERSPAN, 0, 0) != 0)
				return DECODE_NOT_IP;
			return eth_decode(c, d);
		}
		return erspan_decode(c, d, 0);
	case ETHERTYPE_ERSPAN_3:
		return erspan_decode(c, d, 1);
	}
	return decode_skip(d, SKIP_GRE_PROTOCOL, proto);
}

int
udp_tunnel_port(uint16_t dport)
{
	switch (dport) {
	case PORT_VXLAN:
		return ENCAP_VXLAN;
	case PORT_GENEVE:
		return ENCAP_GENEVE;
	case PORT_GTPU:
		return ENCAP_GTPU;
	}
	return -1;
}

/* RFC 7348 section 5: flags (I: 0x08), 24 reserved bits, VNI, 8 bits. */
static enum decode_status
vxlan_decode(struct cursor *c, struct decoded *d, int layer)
{
	struct span h = cur_take(c, 8);

	if (h.len == 0)
		return decode_malformed(d, WHY_VXLAN_TRUNCATED);
	if (!(span_u8(h, 0) & 0x08))
		return decode_skip(d, SKIP_VXLAN_NO_VNI, 0);
	layer_id(d, layer, span_be32(h, 4) >> 8);
	return eth_decode(c, d);
}

/*
 * RFC 8926 section 3.4: version (2 bits) and options length (6 bits, in
 * 4-byte words), flags, protocol type, VNI (24 bits), reserved, options.
 */
static enum decode_status
geneve_decode(struct cursor *c, struct decoded *d, int layer)
{
	struct span h = cur_take(c, 8);

	if (h.len == 0)
		return decode_malformed(d, WHY_GENEVE_TRUNCATED);
	uint32_t version = span_u8(h, 0) >> 6;
	if (version != 0)
		return decode_skip(d, SKIP_GENEVE_VERSION, version);
	uint16_t proto = span_be16(h, 2);
	layer_id(d, layer, span_be32(h, 4) >> 8);
	cur_skip(c, (size_t)(span_u8(h, 0) & 0x3f) * 4);
	if (c->err)
		return decode_malformed(d, WHY_GENEVE_TRUNCATED);
	switch (proto) {
	case ETHERTYPE_TEB:
		return eth_decode(c, d);
	case ETHERTYPE_IPV4:
	case ETHERTYPE_IPV6:
		return ip_decode_rest(c, d);
	}
	return decode_skip(d, SKIP_GENEVE_PROTOCOL, proto);
}

/*
 * GTP-U (TS 29.281 section 5): flags (version 3 bits, PT, E, S, PN),
 * message type (255: a user packet, G-PDU), length, TEID; with any of E,
 * S, PN a sequence number, N-PDU number and next extension type; each
 * extension header is a length in 4-byte words, its content, and the
 * next type in its last byte. The user packet is IP.
 */
static enum decode_status
gtpu_decode(struct cursor *c, struct decoded *d, int layer)
{
	struct span h = cur_take(c, 8);

	if (h.len == 0)
		return decode_malformed(d, WHY_GTP_TRUNCATED);
	uint8_t flags = span_u8(h, 0);
	uint32_t version = flags >> 5;
	if (version != 1)
		return decode_skip(d, SKIP_GTP_VERSION, version);
	layer_id(d, layer, span_be32(h, 4));
	uint8_t type = span_u8(h, 1);
	if (type != 255)
		return decode_skip(d, SKIP_GTP_MESSAGE, type);
	if (flags & 0x07) {
		cur_skip(c, 3);			/* sequence, N-PDU number */
		uint8_t next = cur_u8(c);
		for (int n = 0; next != 0 && !c->err; n++) {
			if (n == ENCAP_MAX_LAYERS)
				return decode_skip(d, SKIP_TOO_DEEP, 0);
			size_t words = cur_u8(c);
			if (words == 0)
				return decode_malformed(d, WHY_GTP_TRUNCATED);
			cur_skip(c, words * 4 - 2);
			next = cur_u8(c);
		}
	}
	if (c->err)
		return decode_malformed(d, WHY_GTP_TRUNCATED);
	return ip_decode_rest(c, d);
}

enum decode_status
udp_tunnel_decode(struct cursor *c, uint16_t dport, struct decoded *d)
{
	int layer = d->encap.n - 1;

	switch (udp_tunnel_port(dport)) {
	case ENCAP_VXLAN:
		return vxlan_decode(c, d, layer);
	case ENCAP_GENEVE:
		return geneve_decode(c, d, layer);
	default:
		return gtpu_decode(c, d, layer);
	}
}
