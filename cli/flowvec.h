/* Flows read from the store, kept for the outputs that need them all. */
#ifndef UDPFLOWS_FLOWVEC_H
#define UDPFLOWS_FLOWVEC_H

#include "common/flow_record.h"

struct flowvec {
	struct flow_record	*v;
	size_t			 n, cap;
};

/* Copy a flow (and its errors) in; exits on out of memory. */
void flowvec_push(struct flowvec *, const struct flow_record *);
void flowvec_free(struct flowvec *);
/* The gateways the flows are of: 0 (a gateway's database), 1, or 2 (more). */
int flowvec_gateways(const struct flowvec *);

#endif
