/* Writing the flow table of an analysis to the store. */
#ifndef UDPFLOWS_WRITER_H
#define UDPFLOWS_WRITER_H

#include "daemon/analyzer.h"
#include "store/store.h"

/* Write every flow, oldest first; returns -1 with store_errmsg() set. */
int writer_flows(struct store *, struct analyzer *);

/* How long a flow may stay idle before it leaves memory. */
struct writer_expiry {
	int64_t	udp_us;		/* and every protocol but TCP */
	int64_t	tcp_us;
	int64_t	closed_us;	/* TCP after a RST or FIN both ways */
};
int64_t writer_idle_timeout(const struct writer_expiry *, const struct flow *);

/*
 * Write the flows idle at now_us beyond their timeout as new rows of the
 * run, oldest first, and drop them from memory; *n counts them. -1 with
 * store_errmsg() set (the flows then stay in memory).
 */
int writer_expire(struct store *, struct analyzer *, int64_t now_us,
    const struct writer_expiry *, size_t *n);

/*
 * One flow in the store's form, its state decided; its errors go into *buf,
 * grown as needed (free it when done). -1 when memory runs out.
 */
int writer_flow_to_store(struct analyzer *, const struct flow *,
    struct store_flow *, struct store_error **buf, size_t *cap);

#endif
