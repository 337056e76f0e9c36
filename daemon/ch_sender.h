/*
 * Sending the flows udpflowd writes to the fleet store (ClickHouse). The
 * database's outbox (store.h) holds what waits, written in the same
 * transaction as the flows, so nothing is lost while ClickHouse is down
 * or slow: live, a thread of its own sends it every second (capture never
 * waits on the network); offline, the run sends it once committed.
 */
#ifndef UDPFLOWS_CH_SENDER_H
#define UDPFLOWS_CH_SENDER_H

#include <stdint.h>

struct ch_sender_opts {
	const char	*url;		/* store/clickhouse.h */
	const char	*gateway;	/* every row's gateway */
	const char	*dbpath;
	uint64_t	 spool_max;	/* waiting flows at most; beyond, the oldest go */
};

struct ch_sender_stats {
	uint64_t	sent;		/* flows sent */
	uint64_t	failures;	/* requests that failed */
	uint64_t	dropped;	/* beyond spool_max, never sent */
	uint64_t	waiting;	/* in the outbox at the last look */
};

/*
 * Send what waits, until the outbox is empty or deadline_ms has passed
 * (0: no deadline) or ClickHouse fails (a request takes 10 s at most);
 * 0 when it is empty, -1 with err set otherwise.
 */
int ch_send_outbox(const struct ch_sender_opts *, long deadline_ms,
    struct ch_sender_stats *, char *err, size_t errlen);

/* The live sender: a thread; NULL with err set when it cannot start. */
struct ch_sender;
struct ch_sender *ch_sender_start(const struct ch_sender_opts *, char *err,
    size_t errlen);
/* Send what waits soon (a flush was written). */
void ch_sender_kick(struct ch_sender *);
void ch_sender_stats(struct ch_sender *, struct ch_sender_stats *);
/* Log the counters, a line. */
void ch_sender_log(const struct ch_sender_stats *);
/* A last try of drain_ms, then the thread ends; what is left waits. */
void ch_sender_stop(struct ch_sender *, long drain_ms,
    struct ch_sender_stats *);

#endif
