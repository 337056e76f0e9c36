/*
 * The live run's expiry order: flows filed by the second their idle
 * timeout runs out, so that a flush looks at the flows due and not at
 * the whole table. A hashed timing wheel of one-second slots, lazy: a
 * flow active since it was filed is found not expired when its second
 * comes and filed again at its new deadline. Each flow carries the
 * second it is filed at (f->expiry_tick), so it is filed at most once at
 * a time and stale entries (a flow refiled earlier, or removed) are
 * dropped when their slot comes.
 */
#ifndef UDPFLOWS_EXPIRY_WHEEL_H
#define UDPFLOWS_EXPIRY_WHEEL_H

#include <stdint.h>

#include "daemon/flow_table.h"

struct expiry_wheel;

/* A wheel whose clock starts at now_us; NULL when memory runs out. */
struct expiry_wheel *expiry_wheel_new(int64_t now_us);
void expiry_wheel_free(struct expiry_wheel *);

/*
 * Look at f once the clock has passed deadline_us: by the first call of
 * expiry_wheel_due whose second is that of the deadline or later. A flow
 * filed already at an earlier or the same second stays where it is (it
 * is refiled when looked at); one filed later moves earlier. -1 when
 * memory runs out: f is then not filed, and the wheel must be rebuilt.
 */
int expiry_wheel_file(struct expiry_wheel *, struct flow *f,
    int64_t deadline_us);

/*
 * Hand every flow filed at a second up to now_us's to fn, once each,
 * unfiled (fn decides: drop it, or file it again). -1, handing nothing,
 * when the clock went back past the last call: rebuild the wheel.
 */
int expiry_wheel_due(struct expiry_wheel *, int64_t now_us,
    void (*fn)(struct flow *, void *), void *arg);

/*
 * Forget every flow filed and start again at now_us; the caller then
 * files every flow anew, its expiry_tick cleared first.
 */
void expiry_wheel_reset(struct expiry_wheel *, int64_t now_us);

/* Entries held, stale ones included (for tests and the benchmark). */
size_t expiry_wheel_entries(const struct expiry_wheel *);

#endif
