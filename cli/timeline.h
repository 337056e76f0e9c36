#ifndef UDPFLOWS_TIMELINE_H
#define UDPFLOWS_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "cli/flowvec.h"

/*
 * ICMP errors, resets to SYNs and silent flows (flow_went_silent) per time
 * bucket, as a bar chart: one row a bucket (bucket_us 0: chosen from the
 * span), empty buckets included, so a person sees when a service started
 * failing and whether it recovered; with json, one object a bucket.
 * Returns -1 when the chart would need more rows than it allows.
 */
int timeline_print(const struct flowvec *, int64_t bucket_us, size_t width,
    int json);

#endif
