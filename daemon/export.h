/*
 * The exporter: what a flow in memory becomes when it is written, shared
 * by the offline and the live run. The state, the TCP ending and the
 * destination's TTL are decided here, from the packets; what is derived
 * from the record alone is decided when it is read (common/flowstate.h).
 */
#ifndef UDPFLOWS_EXPORT_H
#define UDPFLOWS_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "common/flow_record.h"
#include "daemon/analyzer.h"
#include "store/store.h"

/* How long a flow may stay idle before it is written and leaves memory. */
struct expiry {
	int64_t	udp_us;		/* and every protocol but TCP */
	int64_t	tcp_us;
	int64_t	closed_us;	/* TCP after a RST or FIN both ways */
};
int64_t export_idle_timeout(const struct expiry *, const struct flow *);

/*
 * Flow f as a record, its state decided; its errors go into *buf, grown
 * as needed (free it when done). -1 when memory runs out.
 */
int export_flow(struct analyzer *, const struct flow *f, struct flow_record *,
    struct error_record **buf, size_t *cap);

/*
 * A malformed row for each reason counted, and an undecoded row for each
 * reason a packet was not decoded, in the run being written.
 */
int export_malformed(struct store *, const struct analyzer_stats *);
/* The text of a reason not to decode: "ethertype ARP (0x0806)". */
void export_skip_name(const struct analyzer_skip *, char *buf, size_t len);
/* " (reason N, reason N)" of the undecoded counts, most first; "" none. */
void export_undecoded_text(const struct analyzer_stats *, char *buf,
    size_t len);
/*
 * The commonest reason a packet was malformed or not decoded, into buf,
 * and how many it was; -1 when there was none.
 */
int export_commonest(const struct analyzer_stats *, char *buf, size_t len,
    uint64_t *count);
/* " (reason N, reason N)" of the malformed counts, "" when none. */
void export_malformed_text(const struct analyzer_stats *, char *buf,
    size_t len);

#endif
