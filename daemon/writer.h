/*
 * The writer: how flows in memory reach the store, for both run modes. A
 * batch holds flows exported as records (daemon/export.h). The offline run
 * hands its idle flows to the writer thread below, which appends batches
 * to the run's one transaction; the live writer's thread writes each
 * flush's batches in place (writer_batch_put) in a transaction of its own
 * (daemon/live_writer.c).
 */
#ifndef UDPFLOWS_WRITER_H
#define UDPFLOWS_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/analyzer.h"
#include "daemon/export.h"
#include "store/store.h"

struct writer_batch;
/*
 * Append flows v[0..n), exported with their row ids (db_id), to batch b
 * (a new one when b is NULL); fresh: new rows of an offline run, numbered
 * by the caller. NULL when memory runs out (b is freed).
 */
struct writer_batch *writer_batch_append(struct writer_batch *b,
    struct analyzer *, struct flow *const *v, size_t n, int fresh);
void writer_batch_free(struct writer_batch *);
/* Record i of the batch, valid until the batch is freed. */
const struct flow_record *writer_batch_record(struct writer_batch *,
    size_t i);
/*
 * Write each record of the batch, in a transaction the caller opened:
 * inserted when its row id is 0 (the id is then set), else rewritten in
 * that row with its errors.
 */
int writer_batch_put(struct store *, struct writer_batch *);
size_t writer_batch_count(const struct writer_batch *);
/* The row id of record i. */
int64_t writer_batch_id(const struct writer_batch *, size_t i);

/*
 * Writing an offline run (begun with store_run_begin) on a second thread,
 * so that reading never waits on the disk, and the writing starts long
 * before the first flow expires: at each call, writer_async_expire
 * exports on the caller's thread the flows that changed since written and
 * have been quiet for quiet_us or idle past their timeout (by packet time
 * now_us), and drops the idle ones from memory; a flow written and still
 * in memory has its row rewritten in place if it changes again. The store
 * is the writer thread's until writer_async_finish. A few batches may
 * wait; beyond, the caller waits. Any failed write makes the next call
 * return -1 and writer_async_finish return -1 with store_errmsg() set.
 */
struct writer_async;
struct writer_async *writer_async_start(struct store *);
int writer_async_expire(struct writer_async *, struct analyzer *,
    int64_t now_us, const struct expiry *, int64_t quiet_us);
/* The rows handed over so far: the flows of the run. */
uint64_t writer_async_rows(const struct writer_async *);
/*
 * Hand over every flow left (none when the analyzer is NULL), wait for all
 * to be written, and end the thread.
 */
int writer_async_finish(struct writer_async *, struct analyzer *);

/*
 * Lend the writer thread to other work, done before its batches: when it
 * is idle, before each batch and every 256 records within one, it calls
 * work(arg) (a small piece, which says whether it did any) as long as
 * wanted(arg) says there is some. The work is taken back (work NULL) only
 * once the writer thread is out of it. writer_async_wake rouses a writer
 * thread asleep because nothing was wanted; cheap when it is not asleep.
 */
void writer_async_lend(struct writer_async *, int (*work)(void *),
    int (*wanted)(void *), void *arg);
void writer_async_wake(void *writer_async);

#endif
