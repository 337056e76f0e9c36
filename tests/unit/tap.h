/* A minimal TAP producer for the C unit tests. */
#ifndef UDPFLOWS_TEST_TAP_H
#define UDPFLOWS_TEST_TAP_H

#include <stdio.h>

static int tap_count, tap_fails;

/* cond is evaluated once: tests pass calls with side effects */
#define ok(cond, ...) do {						\
	int ok_ = !!(cond);						\
	tap_count++;							\
	if (ok_) {							\
		printf("ok %d - ", tap_count);				\
	} else {							\
		tap_fails++;						\
		printf("not ok %d - ", tap_count);			\
	}								\
	printf(__VA_ARGS__);						\
	printf("\n");							\
	if (!ok_)							\
		printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__,	\
		    #cond);						\
} while (0)

#define is_int(got, want, ...) do {					\
	long long g_ = (long long)(got), w_ = (long long)(want);	\
	ok(g_ == w_, __VA_ARGS__);					\
	if (g_ != w_)							\
		printf("#   got %lld, want %lld\n", g_, w_);		\
} while (0)

static int
tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_fails ? 1 : 0;
}

#endif
