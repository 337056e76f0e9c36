#ifndef UDPFLOWS_EXPLAIN_H
#define UDPFLOWS_EXPLAIN_H

#include <stdio.h>

#include "store/store.h"

/* One paragraph, in plain words, of what the capture shows of a flow. */
void explain_flow(FILE *, const struct store_flow *, size_t width);

#endif
