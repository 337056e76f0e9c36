/*
 * The live run's writer: flows into the store while capturing, so that
 * capture never waits for SQLite. The capture thread builds each job
 * (the flows of a flush exported as records, a statistics row, a prune)
 * between dispatches, a thread of the writer's writes it, and the capture
 * thread applies the result once it is done: one job in flight at a time,
 * and a call that finds the writer still busy returns -1 (to be tried
 * again) rather than wait. Nothing in memory changes until a commit
 * succeeds: a failed write keeps every flow as it was, to be written at
 * the next flush, and counts a write failure; a flow that changes while
 * its flush is written stays to be written again.
 */
#ifndef UDPFLOWS_LIVE_WRITER_H
#define UDPFLOWS_LIVE_WRITER_H

#include <stdint.h>

#include "daemon/analyzer.h"
#include "daemon/live.h"
#include "store/store.h"

struct live_writer;

/* The database and the NDJSON file opened; NULL (logged) on failure. */
struct live_writer *live_writer_new(const struct live_opts *);
/* An SQLite connection must not cross fork(): closed before, reopened after. */
void live_writer_before_fork(struct live_writer *);
int live_writer_after_fork(struct live_writer *);
/* The run begins (fatal when it cannot be recorded). */
void live_writer_begin(struct live_writer *);

/*
 * Write every new or changed flow in one transaction and drop those idle
 * past their timeout, those last active at or before evict_before, or all
 * of them when all is set (which waits until it is written: at the end).
 * -1 when the last flush is still being written.
 */
int live_writer_flush(struct live_writer *, struct analyzer *, int64_t now,
    int64_t evict_before, int all);
/*
 * Flows changed since the last flush: exporting them is the capture
 * thread's share of a flush, so many of them call for a flush before its
 * interval is up.
 */
size_t live_writer_changed(struct live_writer *, struct analyzer *);
/*
 * At --max-flows: write out and drop the least recently active eighth of
 * the flows, so a flood of new tuples costs evictions, counted and logged,
 * never memory without bound and never silent loss. While a flush is
 * being written the table may go past the bound until it is.
 */
void live_writer_evict(struct live_writer *, struct analyzer *, int64_t now);
/* The run's counters: the writer's own, the rest filled in by the caller. */
struct store_live_stats *live_writer_stats(struct live_writer *);
/*
 * A statistics row and the malformed counts, as they are now; deleting
 * flows older than --retain. -1 when the writer is busy.
 */
int live_writer_store_stats(struct live_writer *, struct analyzer *);
int live_writer_prune(struct live_writer *, struct analyzer *, int64_t now);
/*
 * SIGHUP: reopen the log, the database and the NDJSON file. When the
 * database file was moved away (rotation), the new file gets a run of its
 * own and every flow in memory is written to it anew. It waits for the
 * writer: the old file gets every flow first.
 */
void live_writer_reopen(struct live_writer *, struct analyzer *);
/* The same when the database file was removed or replaced meanwhile. */
void live_writer_check_file(struct live_writer *, struct analyzer *);
/* The fleet store's sender's counters; 0 when there is none (yet). */
int live_writer_fleet_stats(struct live_writer *, struct ch_sender_stats *);
/* The run ends: the last job written, the run recorded, closed, freed. */
void live_writer_end(struct live_writer *, struct analyzer *);

#endif
