/*
 * Pure packet decoders: captured bytes in, a decoded struct out.
 * No allocation, no I/O, no global state; safe to call from any thread.
 */
#ifndef UDPFLOWS_DECODE_H
#define UDPFLOWS_DECODE_H

#include <stddef.h>
#include <stdint.h>

/* Link types as libpcap's pcap_datalink() reports them (DLT_ values). */
enum {
	LINK_NULL	= 0,	/* BSD loopback, host-order AF */
	LINK_EN10MB	= 1,
	LINK_PPP	= 9,	/* PPP, with or without HDLC-like framing */
	LINK_RAW	= 12,	/* DLT_RAW on Linux and most systems */
	LINK_RAW_OBSD	= 14,	/* DLT_RAW on OpenBSD */
	LINK_PPP_SERIAL	= 50,	/* PPP in HDLC-like framing, or Cisco HDLC */
	LINK_PPP_ETHER	= 51,	/* PPPoE session header, no Ethernet */
	LINK_RAW_LT	= 101,	/* LINKTYPE_RAW, in case it is not mapped */
	LINK_C_HDLC	= 104,	/* Cisco HDLC: an ethertype (MPLS too) */
	LINK_LOOP	= 108,	/* OpenBSD loopback, network-order AF */
	LINK_LINUX_SLL	= 113,
	LINK_PPP_WITH_DIR = 204, /* a direction byte, then PPP */
	LINK_IPV4	= 228,
	LINK_IPV6	= 229,
	LINK_LINUX_SLL2	= 276,
};

enum decode_status {
	DECODE_OK,		/* an IP packet we track: see struct decoded */
	DECODE_NOT_IP,		/* not ours, not wrong: see decoded.skip */
	DECODE_MALFORMED,	/* truncated or invalid: see decoded.why */
	DECODE_UNSUPPORTED_LINK, /* decoded.skip is SKIP_LINK_TYPE */
};

/*
 * Why a packet was not decoded although nothing in it is wrong: it is not
 * something udpflows tracks, or carried in a way it does not decode.
 * decoded.skip_arg says which (the ethertype, the protocol number...).
 */
enum skip_reason {
	SKIP_NONE,
	SKIP_LINK_TYPE,		/* arg: the link type */
	SKIP_ETHERTYPE,		/* arg: the ethertype (ARP, LLDP...) */
	SKIP_LLC,		/* an 802.3 length field: LLC (STP, CDP...) */
	SKIP_LOOP_FAMILY,	/* arg: the loopback address family */
	SKIP_PPPOE_DISCOVERY,	/* PADI, PADO, PADR, PADS, PADT */
	SKIP_PPP_PROTOCOL,	/* arg: LCP, IPCP, CHAP... */
	SKIP_MPLS_PAYLOAD,	/* arg: the first nibble after the labels */
	SKIP_GRE_PROTOCOL,	/* arg: the protocol type */
	SKIP_GRE_VERSION,	/* arg */
	SKIP_GRE_ROUTING,	/* RFC 1701 source routing */
	SKIP_ERSPAN_VERSION,	/* arg */
	SKIP_VXLAN_NO_VNI,	/* the I flag is not set */
	SKIP_GENEVE_PROTOCOL,	/* arg: the protocol type */
	SKIP_GENEVE_VERSION,	/* arg */
	SKIP_GTP_VERSION,	/* arg */
	SKIP_GTP_MESSAGE,	/* arg: the message type (echo...) */
	SKIP_TOO_DEEP,		/* more than ENCAP_MAX_LAYERS layers */
	SKIP_COUNT
};

/*
 * The name of a reason and its argument, as printed and stored:
 * "ethertype 0x88cc (LLDP)", "ppp protocol 0xc021 (LCP)", ...; always
 * NUL-terminated, cut to len.
 */
void decode_skip_text(enum skip_reason, uint32_t arg, char *buf, size_t len);

/*
 * Why a packet was not decoded. "truncated" means the capture cut it short
 * (a normal outcome with a small snaplen); "bad" means invalid on the wire.
 */
enum decode_reason {
	WHY_NONE,
	WHY_LINK_TRUNCATED,
	WHY_LINK_BAD_FAMILY,
	WHY_VLAN_TOO_DEEP,
	WHY_IP_TRUNCATED,
	WHY_IP_BAD_VERSION,
	WHY_IP_BAD_HLEN,
	WHY_IP_BAD_LENGTH,
	WHY_IP6_EXT_TRUNCATED,
	WHY_IP6_EXT_TOO_MANY,
	WHY_UDP_TRUNCATED,
	WHY_UDP_BAD_LENGTH,
	WHY_TCP_TRUNCATED,
	WHY_TCP_BAD_HLEN,
	WHY_ICMP_TRUNCATED,
	WHY_PPPOE_TRUNCATED,
	WHY_PPP_TRUNCATED,
	WHY_MPLS_TRUNCATED,
	WHY_GRE_TRUNCATED,
	WHY_ERSPAN_TRUNCATED,
	WHY_VXLAN_TRUNCATED,
	WHY_GENEVE_TRUNCATED,
	WHY_GTP_TRUNCATED,
	WHY_COUNT
};

/* The stable name of a reason, as printed in summaries and stored. */
const char *decode_reason_name(enum decode_reason why);

enum {
	PROTO_ICMP	= 1,
	PROTO_TCP	= 6,
	PROTO_UDP	= 17,
	PROTO_ICMPV6	= 58,
	PROTO_UNKNOWN	= 255,	/* quote cut short before the protocol */
};

/* TCP flags, RFC 9293 section 3.1. */
enum {
	TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08,
	TCP_ACK = 0x10, TCP_URG = 0x20,
};

/* One side of an IP conversation: addresses, protocol, ports if known. */
struct tuple {
	uint8_t		family;		/* 4 or 6 */
	uint8_t		proto;		/* IP protocol number */
	uint8_t		has_ports;	/* sport/dport were read */
	uint8_t		src[16];	/* IPv4 uses the first 4 bytes */
	uint8_t		dst[16];
	uint16_t	sport, dport;
};

enum frag_kind {
	FRAG_NONE,	/* not a fragment */
	FRAG_FIRST,	/* offset 0, more follow: carries the ports */
	FRAG_LATER,	/* offset > 0: never read ports from it */
};

enum icmp_kind {
	ICMP_NONE,	/* not ICMP */
	ICMP_ERROR,	/* quotes a packet: unreachable, too big, ... */
	ICMP_INFO,	/* echo, ND, MLD, redirect...: never an error record */
};

/* What the quoted packet inside an ICMP error tells. */
enum quote_depth {
	QUOTE_NONE,	/* too short for the quoted addresses */
	QUOTE_ADDRS,	/* addresses and protocol, no ports */
	QUOTE_PORTS,	/* the full 5-tuple */
};

/*
 * How a packet was carried: the layers between the link and the IP packet
 * decoded, outermost first. A tunnel layer (an IP packet carrying
 * another) names its endpoints, the outer packet's addresses.
 */
enum encap_kind {
	ENCAP_NONE,
	ENCAP_VLAN,		/* id: the VLAN ID (802.1Q, 802.1ad) */
	ENCAP_PPPOE,		/* id: the session ID */
	ENCAP_MPLS,		/* id: the label; one layer a label */
	ENCAP_PW,		/* MPLS pseudowire control word */
	ENCAP_GRE,		/* id: the key, when present */
	ENCAP_PPTP,		/* GRE version 1; id: the call ID */
	ENCAP_ERSPAN,		/* id: the session ID (types II, III) */
	ENCAP_IPIP,		/* IPv4 in IPv4 */
	ENCAP_6IN4,		/* IPv6 in IPv4 (protocol 41) */
	ENCAP_4IN6,
	ENCAP_6IN6,
	ENCAP_VXLAN,		/* id: the VNI */
	ENCAP_GENEVE,		/* id: the VNI */
	ENCAP_GTPU,		/* id: the TEID */
	ENCAP_KIND_COUNT
};

/* Layers at most; a packet carried deeper is SKIP_TOO_DEEP. */
#define ENCAP_MAX_LAYERS	10
/* IP tunnels at most (each also a layer). */
#define ENCAP_MAX_TUNNELS	4

struct encap_layer {
	uint8_t		kind;		/* enum encap_kind */
	uint8_t		has_id;
	uint8_t		family;		/* a tunnel's: 4 or 6; else 0 */
	uint8_t		pad;		/* zero: layers are compared bytewise */
	uint32_t	id;
	uint8_t		src[16], dst[16];	/* a tunnel's endpoints */
};

/*
 * The outer packet of an IP tunnel, a conversation of its own (the
 * tunnel's flow): what a flow is accounted from, and what an error from
 * the underlay quotes.
 */
struct tunnel_packet {
	struct tuple	t;		/* endpoints; ports of a UDP tunnel */
	uint32_t	ip_bytes;
	uint32_t	frag_id;	/* IPv4 ID */
	uint32_t	l4_word;	/* UDP bytes 4-7 */
	uint8_t		ttl;
	uint8_t		layer;		/* its layer in encap.layer[] */
};

struct decoded_encap {
	uint8_t		n;		/* layers */
	uint8_t		ntunnels;
	struct encap_layer layer[ENCAP_MAX_LAYERS];
	struct tunnel_packet tunnel[ENCAP_MAX_TUNNELS];
};

/* The stable name of a kind ("vlan", "gre", "vxlan"...). */
const char *encap_kind_name(int kind);
/* 1 for the kinds that are IP tunnels (they have endpoints). */
int encap_kind_is_tunnel(int kind);

struct decoded {
	struct tuple	t;		/* the packet itself */
	uint32_t	ip_bytes;	/* IP length as the header says */
	uint8_t		ttl;		/* TTL or hop limit */
	uint8_t		tcp_flags;
	uint16_t	l4_cksum;	/* UDP/TCP/ICMP checksum, as sent */
	uint32_t	tcp_seq;
	uint32_t	tcp_len;	/* TCP payload bytes, per the headers */
	uint32_t	l4_word;	/* UDP/TCP header bytes 4-7, as quoted */
	uint8_t		frag;		/* enum frag_kind */
	uint32_t	frag_id;	/* IPv4 ID or IPv6 fragment ID */

	uint8_t		icmp;		/* enum icmp_kind */
	uint8_t		icmp_type, icmp_code;
	uint8_t		has_mtu;
	uint32_t	mtu;		/* 3/4 next-hop MTU, ICMPv6 2 MTU */
	uint8_t		quote_depth;	/* enum quote_depth */
	struct tuple	quote;		/* the offending packet, as sent */
	uint8_t		quote_frag;	/* enum frag_kind of the quote */
	uint32_t	quote_frag_id;
	/*
	 * What identifies the quoted packet among its flow's packets: its
	 * TTL or hop limit when the reporter saw it, its IP length (as
	 * ip_bytes counts it), its IPv4 ID, and bytes 4-7 of its transport
	 * header (TCP sequence; UDP length and checksum), the last of the 8
	 * bytes RFC 792 guarantees.
	 */
	uint8_t		quote_ttl;
	uint8_t		quote_has_l4;	/* quote_l4 was read */
	uint32_t	quote_ip_bytes;
	uint32_t	quote_l4;

	uint32_t	link_if;	/* SLL2 ifindex, SLL packet type + 1 */

	enum decode_reason why;		/* with DECODE_MALFORMED */
	uint8_t		skip;		/* enum skip_reason, with NOT_IP */
	uint32_t	skip_arg;

	struct decoded_encap encap;	/* how the packet was carried */
};

/*
 * Decode one captured frame of the given link type. caplen bytes at pkt are
 * readable; nothing beyond them is touched. The packet decoded is the
 * innermost: d->encap says what carried it, and its tunnels[] are valid
 * whatever the status (the outer packets decoded before an inner one
 * turned out malformed or not ours).
 */
enum decode_status pkt_decode(int linktype, const uint8_t *pkt, size_t caplen,
    struct decoded *d);

/*
 * Decode from the IP header on (version taken from the first nibble).
 * Exposed for the unit tests and for raw-IP callers.
 */
enum decode_status ip_decode(const uint8_t *p, size_t len, struct decoded *d);

/* True when the link type is one pkt_decode() understands. */
int link_supported(int linktype);

#endif
