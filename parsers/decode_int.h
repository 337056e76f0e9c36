/*
 * Between the decoders of parsers/ only: each layer's decoder takes a
 * cursor over its own header and what follows, and hands the payload to
 * the next layer's.
 */
#ifndef UDPFLOWS_DECODE_INT_H
#define UDPFLOWS_DECODE_INT_H

#include "parsers/cursor.h"
#include "parsers/decode.h"

/* A reason not to decode d further: DECODE_NOT_IP with it set. */
enum decode_status decode_skip(struct decoded *, enum skip_reason,
    uint32_t arg);
enum decode_status decode_malformed(struct decoded *, enum decode_reason);

/*
 * Add a layer to d->encap (a tunnel's endpoints are d->t's addresses);
 * -1, with SKIP_TOO_DEEP set, when there is no room.
 */
int encap_push(struct decoded *, enum encap_kind, int has_id, uint32_t id);

/* An Ethernet frame from its destination address on (VXLAN, GRE TEB...). */
enum decode_status eth_decode(struct cursor *, struct decoded *);
/* What follows an ethertype (VLAN tags, PPPoE, MPLS, IP). */
enum decode_status ethertype_decode(struct cursor *, uint16_t ethertype,
    struct decoded *);
/* The rest of the window is an IP packet (of either version). */
static inline enum decode_status
ip_decode_rest(struct cursor *c, struct decoded *d)
{
	return ip_decode(c->err ? c->base : c->base + c->off, cur_left(c), d);
}

/* parsers/encap.c */
enum decode_status pppoe_session_decode(struct cursor *, struct decoded *);
/* hdlc: an ff 03 address and control may come first */
enum decode_status ppp_decode(struct cursor *, struct decoded *, int hdlc);
enum decode_status mpls_decode(struct cursor *, struct decoded *);
/* The payload of IP protocol 47, the outer header decoded into d. */
enum decode_status gre_decode(struct cursor *, struct decoded *);
/* The payload of a UDP datagram to a tunnel port; -1: not a tunnel port. */
int udp_tunnel_port(uint16_t dport);
enum decode_status udp_tunnel_decode(struct cursor *, uint16_t dport,
    struct decoded *);

#endif
