/*
 * Expiry ordered by time: flows filed by the tick their deadline falls in,
 * so that a pass looks at the flows due and not at the whole table. A
 * hashed timing wheel, lazy: a flow whose deadline moved later since it
 * was filed is handed out at the old one, and the caller files it again.
 * Each flow carries the tick it is filed at (f->expiry_tick), so it is
 * filed at most once at a time, and stale entries (a flow filed again
 * earlier, or removed) are dropped when their slot comes.
 *
 * A pass hands out every flow filed at a tick up to the pass's own,
 * that tick included; the caller decides by the exact time. So a pass at
 * time now is handed every flow whose deadline is now or earlier, as a
 * scan of the whole table would find it, whatever the tick size; with
 * passes at least a tick apart, each flow is handed out at most twice
 * for one deadline.
 */
#ifndef UDPFLOWS_EXPIRY_WHEEL_H
#define UDPFLOWS_EXPIRY_WHEEL_H

#include <stdint.h>

#include "daemon/flow_table.h"

struct expiry_wheel;

/*
 * A wheel of ticks of tick_us (at least 1), its clock at now_us; NULL
 * when memory runs out.
 */
struct expiry_wheel *expiry_wheel_new(int64_t now_us, int64_t tick_us);
void expiry_wheel_free(struct expiry_wheel *);

/*
 * Hand f out at the first pass of expiry_wheel_due at or after its
 * deadline's tick. A flow filed already at an earlier or the same tick
 * stays there; one filed later moves earlier. -1 when memory runs out: f
 * is then not filed, and the wheel must be rebuilt.
 */
int expiry_wheel_file(struct expiry_wheel *, struct flow *f,
    int64_t deadline_us);

/*
 * Hand every flow filed at a tick up to now_us's to fn, once each,
 * unfiled (fn decides: drop it, or file it again). -1, handing nothing,
 * when the clock went back past the last call's tick: rebuild the wheel.
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
