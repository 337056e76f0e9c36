/*
 * The TTL each host's packets arrive with, per interface: the reference a
 * TCP reset is compared with (common/flowstate.h, rst_origin). Resets are
 * never noted, so a firewall that forges them cannot teach its own TTL.
 * Direct-mapped and fixed in size: a newer host takes an older one's slot.
 */
#ifndef UDPFLOWS_HOST_TTL_H
#define UDPFLOWS_HOST_TTL_H

#include <stdint.h>

#include "parsers/decode.h"

struct host_ttl;

struct host_ttl *host_ttl_new(void);
void host_ttl_free(struct host_ttl *);

/*
 * Whether d's TTL is its sender's default: UDP, TCP but its resets (the
 * suspects), ICMP errors and echo. Not neighbour discovery (hop limit 255
 * by RFC 4861), MLD or IGMP (1), VRRP (255) and the like, whose TTL is
 * fixed by their protocol.
 */
int host_ttl_reference(const struct decoded *d);

/* d's source sends with d's TTL, as seen on interface iface. */
void host_ttl_note(struct host_ttl *, const struct decoded *d,
    uint64_t iface);
/*
 * The same in two steps, for a packet that waits on the analyzer's
 * pipeline: the slot of d's source fetched now (the key returned), the
 * TTL noted when the packet is accounted.
 */
uint64_t host_ttl_prefetch(struct host_ttl *, const struct decoded *d,
    uint64_t iface);
void host_ttl_note_key(struct host_ttl *, uint64_t key, uint8_t ttl);
/* The TTL of addr's packets on iface; 0: unknown. */
uint8_t host_ttl_find(const struct host_ttl *, uint8_t family,
    const uint8_t addr[16], uint64_t iface);

#endif
