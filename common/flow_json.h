/*
 * The JSON contract of a flow, shared by every program that prints one:
 *   {"proto","src","sport","dst","dport","first","last","pkts_sent",
 *    "bytes_sent","pkts_back","bytes_back","state","pkts_errored",
 *    "syn_retries","syn_span_us","end","end_by","rst_ttl","dst_ttl",
 *    "rst_from","tunnel","encap","errors":[{"family","type","code",
 *    "reporter","count","first","last","mtu","reporter_role","hops",
 *    "rtt_us","matched","quote_altered"}]}
 * Unknown ports, absent MTUs, TCP fields of other protocols and unknown
 * TTLs, hops and round trips are null. "tunnel" names the tunnel a
 * tunnel's own flow is ("gre", "vxlan"...), "encap" how the flow was
 * carried (common/encap.h: [{"type":"vlan","id":100},...]); both null
 * for a plain flow.
 */
#ifndef UDPFLOWS_FLOW_JSON_H
#define UDPFLOWS_FLOW_JSON_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "common/flow_record.h"

json_t *flow_json(const struct flow_record *);

/*
 * One compact JSON value and a newline, in one write: jansson's
 * json_dumpf writes token by token, each through stdio's lock, which
 * costs more than building the line. -1 on a write error or ENOMEM.
 */
int json_line_write(const json_t *, FILE *);

#endif
