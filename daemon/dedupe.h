/*
 * Cross-interface de-duplication: a router captured on several interfaces
 * (or on "any") sees a forwarded packet on each, differing only in TTL
 * and link header, the second time up to a few seconds later when the
 * packet waited for ARP/ND. The same packet twice on one interface is two
 * packets.
 */
#ifndef UDPFLOWS_DEDUPE_H
#define UDPFLOWS_DEDUPE_H

#include <stdint.h>

#include "parsers/decode.h"

struct dedupe;

/* Repeats within window_us are dropped; NULL when memory runs out. */
struct dedupe *dedupe_new(int64_t window_us);
void dedupe_free(struct dedupe *);
void dedupe_set_window(struct dedupe *, int64_t window_us);

/*
 * 1 when d, seen on interface iface (daemon/analyzer.h), is a repeat of a
 * sighting on another interface within the window; notes the sighting.
 */
int dedupe_seen(struct dedupe *, const struct decoded *d, uint64_t iface,
    int64_t ts_us);

#endif
