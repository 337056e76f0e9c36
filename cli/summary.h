#ifndef UDPFLOWS_SUMMARY_H
#define UDPFLOWS_SUMMARY_H

#include <stddef.h>

#include "cli/flowvec.h"

/*
 * Per destination (proto, host, port): flows and distinct clients refused,
 * unreachable, silent and answered; the reporters of their errors and
 * whether each is the destination or a router; first and last time. The
 * top n destinations by flows in trouble, as a table or JSON lines.
 */
void summary_print(const struct flowvec *, size_t top, int json);

#endif
