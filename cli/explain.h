#ifndef UDPFLOWS_EXPLAIN_H
#define UDPFLOWS_EXPLAIN_H

#include <stdio.h>

#include "common/encap.h"
#include "common/flow_record.h"

/* What the store knows around a flow, beyond its own record. */
struct explain_ctx {
	/* a tunnel's own flow: the flows it carried while seen; -1: unknown */
	long long			 carried;
	/* a carried flow: a tunnel of its, and what the underlay said of it */
	const struct encap_layer	*tunnel;
	const struct error_record	*tunnel_errors;
	size_t				 ntunnel_errors;
	/* its capture held not one ICMP packet of the flow's family */
	int				 icmp_blind;
	/* the fleet store's flows of several gateways: this one's */
	const char			*gateway;
};

/* One paragraph, in plain words, of what the capture shows of a flow. */
void explain_flow(FILE *, const struct flow_record *,
    const struct explain_ctx *, size_t width);

#endif
