/*
 * The JSON contract of a flow, shared by every program that prints one:
 *   {"proto","src","sport","dst","dport","first","last","pkts_sent",
 *    "bytes_sent","pkts_back","bytes_back","state","pkts_errored",
 *    "syn_retries","syn_span_us","end","end_by","rst_ttl","dst_ttl",
 *    "rst_from","errors":[{"family","type","code","reporter","count",
 *    "first","last","mtu","reporter_role","hops","rtt_us","matched",
 *    "quote_altered"}]}
 * Unknown ports, absent MTUs, TCP fields of other protocols and unknown
 * TTLs, hops and round trips are null.
 */
#ifndef UDPFLOWS_FLOW_JSON_H
#define UDPFLOWS_FLOW_JSON_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "store/store.h"

json_t *flow_json(const struct store_flow *);

/*
 * One compact JSON value and a newline, in one write: jansson's
 * json_dumpf writes token by token, each through stdio's lock, which
 * costs more than building the line. -1 on a write error or ENOMEM.
 */
int json_line_write(const json_t *, FILE *);

/* Who sent an error: the flow's destination, its source, or a router. */
enum error_role { ROLE_ROUTER, ROLE_DESTINATION, ROLE_SOURCE };
enum error_role error_role(const struct store_flow *, const struct store_error *);
/* "router", "destination", "source". */
const char *error_role_name(enum error_role);
/* Hops from the capture point to a router that sent an error; -1: unknown. */
int flow_error_hops(const struct store_flow *, const struct store_error *);

/* "2026-11-21T18:01:25.866581Z" into buf (at least 32 bytes). */
void time_iso(int64_t us, char *buf, size_t len);
/* inet_ntop of a 4- or 16-byte address. */
void addr_text(uint8_t family, const uint8_t *addr, char *buf, size_t len);
/* "udp", "tcp", "icmp", "ipv6-icmp", or the number. */
const char *proto_name(uint8_t proto, char *buf, size_t len);

#endif
