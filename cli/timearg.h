#ifndef UDPFLOWS_TIMEARG_H
#define UDPFLOWS_TIMEARG_H

#include <stdint.h>

/*
 * Parse a --since/--until value into microseconds since the epoch, given
 * the time now_us: ISO 8601 (a zone, or else the local zone, or UTC when
 * utc), a time of day (22:45, the last one past), "today", "yesterday"
 * (each optionally followed by a time of day), "now", or a span back
 * from now (90s, 15m, 2h, 3d, 1w; "2h ago" and "-2h" too).
 */
int timearg_parse_at(const char *s, int64_t now_us, int utc, int64_t *out_us);
/* The same, now and UTC. */
int timearg_parse(const char *s, int64_t *out_us);

/* A span: 90s, 15m, 2h, 3d, 1w. */
int duration_parse(const char *s, int64_t *out_us);

#endif
