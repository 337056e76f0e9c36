/* Monotonic seconds, for rates and durations; a packet's time. */
#ifndef UDPFLOWS_CLOCK_H
#define UDPFLOWS_CLOCK_H

#include <stdint.h>
#include <sys/time.h>
#include <time.h>

static inline double
mono_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The wall clock in microseconds since the epoch. */
static inline int64_t
wall_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/*
 * A packet's time in microseconds. A pcapng file can give any 64-bit time,
 * and the product would overflow: seconds are clamped where it would (some
 * 292,000 years from 1970), with room left for any microsecond field.
 */
static inline int64_t
timeval_us(const struct timeval *tv)
{
	const int64_t lim = INT64_MAX / 1000000 - 10000;
	int64_t s = tv->tv_sec > lim ? lim : tv->tv_sec < -lim ? -lim :
	    (int64_t)tv->tv_sec;

	return s * 1000000 + tv->tv_usec;
}

#endif
