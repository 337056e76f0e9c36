/* Writing the flow table of an analysis to the store. */
#ifndef UDPFLOWS_WRITER_H
#define UDPFLOWS_WRITER_H

#include "daemon/analyzer.h"
#include "store/store.h"

/* Write every flow, oldest first; returns -1 with store_errmsg() set. */
int writer_flows(struct store *, struct analyzer *);

#endif
