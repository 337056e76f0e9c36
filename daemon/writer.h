/* Writing the flow table of an analysis to the store. */
#ifndef UDPFLOWS_WRITER_H
#define UDPFLOWS_WRITER_H

#include "daemon/analyzer.h"
#include "store/store.h"

/* Write every flow, oldest first; returns -1 with store_errmsg() set. */
int writer_flows(struct store *, struct analyzer *);

/*
 * One flow in the store's form, its state decided; its errors go into *buf,
 * grown as needed (free it when done). -1 when memory runs out.
 */
int writer_flow_to_store(struct analyzer *, const struct flow *,
    struct store_flow *, struct store_error **buf, size_t *cap);

#endif
