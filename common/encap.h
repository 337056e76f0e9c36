/*
 * How a flow was carried, as stored and shown: the layers between the link
 * and the flow's own IP packets (VLAN tags, PPPoE, MPLS labels, tunnels
 * with their endpoints and VNI / key / TEID), outermost first, and for a
 * tunnel's own flow (the outer conversation of a GRE, IP-in-IP, VXLAN,
 * Geneve or GTP-U tunnel) which tunnel it is.
 *
 * The stored text (flows.encap) is the layers joined by '/', each
 * NAME[:ID][@SRC>DST]: "vlan:100/pppoe:18", "mpls:16/mpls:1003",
 * "vxlan:42@198.18.0.1>198.18.0.2".
 */
#ifndef UDPFLOWS_ENCAP_H
#define UDPFLOWS_ENCAP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "parsers/decode.h"

struct flow_encap {
	uint8_t		n;		/* layers */
	uint8_t		tunnel;		/* enum encap_kind this flow is; 0 */
	uint8_t		pad[2];		/* zero: compared bytewise */
	struct encap_layer layer[ENCAP_MAX_LAYERS];
};

/* Room for the longest text: every layer a tunnel between IPv6 hosts. */
#define ENCAP_TEXT_MAX	(ENCAP_MAX_LAYERS * 104)

/* The stored text of the layers ("" for none). */
void encap_text(const struct flow_encap *, char *buf, size_t len);
/* Back from that text; -1 when it is not one (e's layers are then 0). */
int encap_parse(const char *text, struct flow_encap *e);
/* The kind of a name ("gre"), or -1. */
int encap_kind_of(const char *name);

/*
 * The JSON form of the layers: [{"type":"vlan","id":100},
 * {"type":"vxlan","vni":42,"src":"...","dst":"..."}], or null for none.
 */
json_t *encap_json(const struct flow_encap *);

/*
 * The layers in plain words for --explain: "VLAN 100, PPPoE session
 * 0x0012", "VXLAN VNI 42 from 198.18.0.1 to 198.18.0.2".
 */
void encap_words(const struct flow_encap *, char *buf, size_t len);
/* "VXLAN" for a kind, as people write it. */
const char *encap_kind_title(int kind);
/* Bytes a tunnel of this kind adds around what it carries (IPv4 outer). */
int encap_overhead(int kind);

#endif
