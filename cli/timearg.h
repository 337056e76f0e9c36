#ifndef UDPFLOWS_TIMEARG_H
#define UDPFLOWS_TIMEARG_H

#include <stdint.h>

/* Parse a --since/--until value into microseconds since the epoch. */
int timearg_parse(const char *s, int64_t *out_us);

/* A span: 90s, 15m, 2h, 3d, 1w. */
int duration_parse(const char *s, int64_t *out_us);

#endif
