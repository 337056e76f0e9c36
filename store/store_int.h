/*
 * Inside the store, for its files alone: the connection and its prepared
 * statements. store/open.c holds the schema and the statement table and
 * opens and closes; store/write.c writes runs, flows and live batches;
 * store/query.c reads; store/writeback.c tells the kernel to write the
 * files out early. Nothing outside store/ includes this header.
 */
#ifndef UDPFLOWS_STORE_INT_H
#define UDPFLOWS_STORE_INT_H

#include <stdint.h>
#include <sys/types.h>

#include <sqlite3.h>

#include "store/store.h"

#define STORE_SCHEMA_VERSION	8

/*
 * A flow row and an error row, one parameter a column in this order
 * (bind_flow and bind_error); the multi-row inserts repeat the row.
 *
 * OR ROLLBACK: a row that breaks a constraint ends the whole transaction,
 * which is what a failed write does to a run or a flush anyway. With the
 * default (ABORT) SQLite must be able to undo just the statement, so each
 * multi-row INSERT would open a statement journal and copy into it every
 * page it touches first.
 */
#define FLOW_INSERT	"INSERT OR ROLLBACK INTO flows(id, run_id, proto," \
	" src, sport, dst, dport, first_us, last_us, pkts_sent, bytes_sent," \
	" pkts_back, bytes_back, state, pkts_errored, syns, syn_span_us," \
	" tcp_end, end_by, rst_ttl, dst_ttl, tunnel, encap) VALUES "
#define FLOW_ROW	"?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?"
#define FLOW_COLS	23
#define ERROR_INSERT	"INSERT OR ROLLBACK INTO errors(flow_id, family," \
	" type, code, reporter, count, first_us, last_us, mtu, matched," \
	" altered, rtt_us, sent_ttl, quoted_ttl) VALUES "
#define ERROR_ROW	"?,?,?,?,?,?,?,?,?,?,?,?,?,?"
#define ERROR_COLS	14

/* Sizes of the multi-row INSERTs, largest first (store/write.c). */
#define MANY_SIZES	2
extern const int store_many_rows[MANY_SIZES];

/* A flow's columns, in the order store/query.c reads a row of them. */
#define FLOW_COLUMNS	"id, proto, src, sport, dst, dport, first_us," \
	" last_us, pkts_sent, bytes_sent, pkts_back, bytes_back, state," \
	" pkts_errored, syns, syn_span_us, tcp_end, end_by, rst_ttl, dst_ttl," \
	" tunnel, encap, run_id"
#define FLOW_NCOLUMNS	23

enum stmt {
	S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_RUN_INSERT, S_RUN_FINISH, S_INPUT_INSERT, S_MALFORMED_INSERT,
	S_FLOW_INSERT, S_ERROR_INSERT,
	S_OVERLAP, S_FOREIGN_INPUTS,
	S_DEL_ERRORS, S_DEL_FLOWS, S_DEL_MALFORMED, S_DEL_INPUTS, S_DEL_RUN,
	S_ERRORS_OF_FLOW,
	S_FLOW_UPDATE, S_DEL_ERRORS_OF_FLOW, S_STATS_INSERT, S_RUN_END,
	S_PRUNE_ERRORS, S_PRUNE_FLOWS, S_STATS_LATEST, S_MALFORMED_OF_RUN,
	S_MAX_FLOW_ID, S_RUN_RANGE, S_INPUT_UPGRADE, S_V1_DIGESTS,
	S_UNDECODED_INSERT, S_DEL_UNDECODED, S_UNDECODED_OF_RUN,
	S_RUNS, S_INPUTS_OF_RUN, S_TUNNEL_CARRIED, S_TUNNEL_ERRORS,
	S_RUN_FAMILIES, S_FAMILIES_OF_RUN, S_FLOW_SPAN,
	S_OUTBOX_PUT, S_OUTBOX_RUN, S_OUTBOX_MAXSEQ, S_OUTBOX_TAKE,
	S_OUTBOX_DONE, S_OUTBOX_COUNT, S_OUTBOX_TRIM, S_DB_ID,
	S_GONE_PUT, S_GONE_TAKE, S_GONE_DONE,
	S_COUNT
};

struct store {
	sqlite3		*db;
	char		*path;
	int		 mode;
	sqlite3_stmt	*st[S_COUNT];
	sqlite3_stmt	*flows_many[MANY_SIZES], *errors_many[MANY_SIZES];
	int64_t		 run_id;
	int64_t		 next_flow_id;	/* of the run's next flow */
	int64_t		 first_flow_id;	/* of the run's first flow */
	int		 in_txn;
	int		 direct;	/* a new database's run: no WAL yet */
	int		 wal_fd;	/* for early writeback, or -1 */
	int		 db_fd;		/* the database file, likewise */
	off_t		 wal_written;	/* of the WAL (or of a run's database) hinted */
	int		 outbox;	/* queue what is written for ClickHouse */
	int64_t		 outbox_seq;	/* the last queued */
	char		 err[512];
};

void store_set_err(struct store *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
/* The error of what failed, with SQLite's message; returns -1. */
int store_db_fail(struct store *, const char *what);
int64_t store_now_us(void);
/* Reset, clear and return a prepared statement ready for binding. */
sqlite3_stmt *store_stmt(struct store *, enum stmt);
/* Step a statement that returns no rows. */
int store_exec(struct store *, sqlite3_stmt *, const char *what);

/* The multi-row statements, once (store/open.c). */
int store_prepare_many(struct store *);
/* After the run that created the database: WAL from now on. */
void store_direct_end(struct store *);

/* store/writeback.c */
void store_wal_writeback(struct store *);
int store_commit_flushing(struct store *);

#endif
