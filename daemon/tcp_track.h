/*
 * TCP tracking: what each segment tells of a connection (SYNs, answers,
 * retransmissions, the first FIN or RST and the TTL of a reset), and how
 * a connection ended, decided when its flow is written.
 */
#ifndef UDPFLOWS_TCP_TRACK_H
#define UDPFLOWS_TCP_TRACK_H

#include <stdint.h>

#include "daemon/flow_table.h"
#include "daemon/host_ttl.h"
#include "parsers/decode.h"

/*
 * Note TCP segment d of flow f (back: sent by f's destination) seen on
 * interface iface; -1 when memory for the flow's TCP state runs out.
 */
int tcp_track_segment(struct flow_table *, const struct host_ttl *,
    struct flow *f, const struct decoded *d, int back, int64_t ts_us,
    uint64_t iface);

/* How an answered TCP flow ended (enum flow_end), and by which side. */
int tcp_track_end(const struct flow_table *, const struct flow *, int state);
int tcp_track_end_by(const struct flow_table *, const struct flow *, int end);
/*
 * The TTL the destination's own packets arrive with where its reset was
 * seen, now or when the reset came; 0: unknown or no reset.
 */
uint8_t tcp_track_dst_ttl(const struct flow_table *, const struct host_ttl *,
    const struct flow *);

#endif
