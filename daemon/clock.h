/* Monotonic seconds, for rates and durations (never capture time). */
#ifndef UDPFLOWS_CLOCK_H
#define UDPFLOWS_CLOCK_H

#include <time.h>

static inline double
mono_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
