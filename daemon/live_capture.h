/* Live capture handles: created, filtered and polled without blocking. */
#ifndef UDPFLOWS_LIVE_CAPTURE_H
#define UDPFLOWS_LIVE_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include <pcap/pcap.h>

#include "daemon/live.h"

/* How long a read waits: short, not immediate, which keeps batching. */
#define LIVE_READ_TIMEOUT_MS	100

struct live_handle {
	pcap_t		*p;
	const char	*name;		/* the interface */
	int		 linktype;
};

/* Open, filter and make non-blocking the handle of h->name; fatal on error. */
void live_capture_open(struct live_handle *, const struct live_opts *);
/* Packets the kernel dropped on handles h[0..n) so far. */
uint64_t live_capture_drops(const struct live_handle *h, int n);

#endif
