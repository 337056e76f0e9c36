/*
 * The JSON contract of a flow, shared by every program that prints one:
 *   {"proto","src","sport","dst","dport","first","last","pkts_sent",
 *    "bytes_sent","pkts_back","bytes_back","state","errors":[{"family",
 *    "type","code","reporter","count","first","last","mtu"}]}
 * Unknown ports and absent MTUs are null.
 */
#ifndef UDPFLOWS_FLOW_JSON_H
#define UDPFLOWS_FLOW_JSON_H

#include <jansson.h>
#include <stdint.h>

#include "store/store.h"

json_t *flow_json(const struct store_flow *);

/* "2026-11-21T18:01:25.866581Z" into buf (at least 32 bytes). */
void time_iso(int64_t us, char *buf, size_t len);
/* inet_ntop of a 4- or 16-byte address. */
void addr_text(uint8_t family, const uint8_t *addr, char *buf, size_t len);
/* "udp", "tcp", "icmp", "ipv6-icmp", or the number. */
const char *proto_name(uint8_t proto, char *buf, size_t len);

#endif
