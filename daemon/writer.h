/* Writing the flow table of an analysis to the store. */
#ifndef UDPFLOWS_WRITER_H
#define UDPFLOWS_WRITER_H

#include "daemon/analyzer.h"
#include "daemon/export.h"
#include "store/store.h"

/*
 * Writing an offline run (begun with store_run_begin) on a second thread,
 * so that reading never waits on the disk: writer_async_expire converts
 * the flows idle at now_us beyond their timeout, oldest first, and drops
 * them from memory on the caller's thread; the store is the writer
 * thread's until writer_async_finish. A few batches may wait; beyond,
 * the caller waits. Any failed write makes the next call return -1 and
 * writer_async_finish return -1 with store_errmsg() set; *n counts the
 * flows handed over.
 */
struct writer_async;
struct writer_async *writer_async_start(struct store *);
int writer_async_expire(struct writer_async *, struct analyzer *,
    int64_t now_us, const struct expiry *, size_t *n);
/*
 * Hand over every flow left (none when the analyzer is NULL), wait for all
 * to be written, and end the thread.
 */
int writer_async_finish(struct writer_async *, struct analyzer *);

#endif
