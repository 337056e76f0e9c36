#ifndef UDPFLOWS_EXPLAIN_H
#define UDPFLOWS_EXPLAIN_H

#include <stdio.h>

#include "common/flow_record.h"

/* One paragraph, in plain words, of what the capture shows of a flow. */
void explain_flow(FILE *, const struct flow_record *, size_t width);

#endif
