/*
 * Writing: an offline run as one transaction (inputs, flows in multi-row
 * INSERTs, the replacement of earlier analyses of the same packets), and
 * a live run's batches (flows inserted or rewritten in place, statistics,
 * pruning).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/encap.h"
#include "common/flowstate.h"
#include "store/store_int.h"

/*
 * A run's flows and errors go in multi-row INSERTs of these sizes (the
 * largest that fit, then smaller): one statement's cursors stay on the
 * indexes' last pages from row to row, so keys that follow time append
 * without a seek from the root, and one step binds many rows.
 */
const int store_many_rows[MANY_SIZES] = { 256, 16 };

int
store_run_begin(struct store *s, const char *mode)
{
	sqlite3_stmt *st;

	if (store_exec(s, store_stmt(s, S_BEGIN), "starting a transaction") != 0)
		return -1;
	s->in_txn = 1;
	st = store_stmt(s, S_RUN_INSERT);
	sqlite3_bind_text(st, 1, mode, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, store_now_us());
	if (store_exec(s, st, "recording the run") != 0) {
		store_run_abort(s);
		return -1;
	}
	s->run_id = sqlite3_last_insert_rowid(s->db);
	st = store_stmt(s, S_MAX_FLOW_ID);
	if (sqlite3_step(st) != SQLITE_ROW) {
		store_db_fail(s, "numbering the run's flows");
		store_run_abort(s);
		return -1;
	}
	s->first_flow_id = s->next_flow_id = sqlite3_column_int64(st, 0) + 1;
	sqlite3_reset(st);
	return 0;
}

int
store_run_input(struct store *s, const struct store_input *in)
{
	sqlite3_stmt *st;

	/*
	 * The same packets analyzed by an earlier version, known by their
	 * version 1 digest: from now on by this one, so that the run is
	 * replaced as any other.
	 */
	if (in->digest_v1[0] != '\0') {
		st = store_stmt(s, S_INPUT_UPGRADE);
		sqlite3_bind_text(st, 1, in->digest, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, in->digest_v1, -1, SQLITE_STATIC);
		if (store_exec(s, st, "upgrading an earlier input's digest") != 0)
			return -1;
	}
	st = store_stmt(s, S_INPUT_INSERT);
	sqlite3_bind_int64(st, 1, s->run_id);
	sqlite3_bind_text(st, 2, in->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, in->digest, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)in->packets);
	sqlite3_bind_int(st, 5, in->linktype);
	return store_exec(s, st, "recording an input");
}

int
store_has_v1_digests(struct store *s)
{
	sqlite3_stmt *st = store_stmt(s, S_V1_DIGESTS);
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_db_fail(s, "reading earlier inputs");
}

int
store_run_malformed(struct store *s, const char *reason, uint64_t count)
{
	sqlite3_stmt *st = store_stmt(s, S_MALFORMED_INSERT);

	sqlite3_bind_int64(st, 1, s->run_id);
	sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)count);
	return store_exec(s, st, "recording malformed packets");
}

int
store_run_undecoded(struct store *s, const char *reason, uint64_t count)
{
	sqlite3_stmt *st = store_stmt(s, S_UNDECODED_INSERT);

	sqlite3_bind_int64(st, 1, s->run_id);
	sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)count);
	return store_exec(s, st, "recording packets not decoded");
}

static size_t
addr_len(uint8_t family)
{
	return family == 6 ? 16 : 4;
}

/* A NULL, or the value when it applies. */
static void
bind_opt(sqlite3_stmt *st, int i, int has, int64_t v)
{
	if (has)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

/* A flow's tunnel (the kind's name) and its layers as text, or NULLs. */
static void
bind_encap(sqlite3_stmt *st, int p, const struct flow_encap *e)
{
	char text[ENCAP_TEXT_MAX];

	if (e == NULL || e->tunnel == ENCAP_NONE)
		sqlite3_bind_null(st, p);
	else
		sqlite3_bind_text(st, p, encap_kind_name(e->tunnel), -1,
		    SQLITE_STATIC);
	if (e == NULL || e->n == 0) {
		sqlite3_bind_null(st, p + 1);
		return;
	}
	encap_text(e, text, sizeof(text));
	sqlite3_bind_text(st, p + 1, text, -1, SQLITE_TRANSIENT);
}

/*
 * Bind every column of a flow row, its first parameter at p (FLOW_ROW's
 * order). The addresses are bound in place: the caller keeps f until the
 * statement has run. id 0: NULL, SQLite picks the row id.
 */
static void
bind_flow(sqlite3_stmt *st, int p, const struct flow_record *f,
    int64_t run_id, int64_t id)
{
	int alen = (int)addr_len(f->family);
	int end = f->end != END_NONE;

	bind_opt(st, p, id != 0, id);
	sqlite3_bind_int64(st, p + 1, run_id);
	sqlite3_bind_int(st, p + 2, f->proto);
	sqlite3_bind_blob(st, p + 3, f->src, alen, SQLITE_STATIC);
	bind_opt(st, p + 4, f->has_ports, f->sport);
	sqlite3_bind_blob(st, p + 5, f->dst, alen, SQLITE_STATIC);
	bind_opt(st, p + 6, f->has_ports, f->dport);
	sqlite3_bind_int64(st, p + 7, f->first_us);
	sqlite3_bind_int64(st, p + 8, f->last_us);
	sqlite3_bind_int64(st, p + 9, (sqlite3_int64)f->pkts_sent);
	sqlite3_bind_int64(st, p + 10, (sqlite3_int64)f->bytes_sent);
	sqlite3_bind_int64(st, p + 11, (sqlite3_int64)f->pkts_back);
	sqlite3_bind_int64(st, p + 12, (sqlite3_int64)f->bytes_back);
	sqlite3_bind_int(st, p + 13, f->state);
	sqlite3_bind_int64(st, p + 14, (sqlite3_int64)f->pkts_errored);
	bind_opt(st, p + 15, f->proto == 6, f->syns);
	bind_opt(st, p + 16, f->proto == 6 && f->syns > 0, f->syn_span_us);
	bind_opt(st, p + 17, end, f->end);
	bind_opt(st, p + 18, end && f->end != END_OPEN, f->end_by);
	bind_opt(st, p + 19, f->rst_ttl != 0, f->rst_ttl);
	bind_opt(st, p + 20, f->dst_ttl != 0, f->dst_ttl);
	bind_encap(st, p + 21, f->encap);
}

/* Every column of an error row, its first parameter at p (ERROR_ROW). */
static void
bind_error(sqlite3_stmt *st, int p, const struct error_record *e,
    int64_t flow_id)
{
	sqlite3_bind_int64(st, p, flow_id);
	sqlite3_bind_int(st, p + 1, e->family);
	sqlite3_bind_int(st, p + 2, e->type);
	sqlite3_bind_int(st, p + 3, e->code);
	sqlite3_bind_blob(st, p + 4, e->reporter, (int)addr_len(e->family),
	    SQLITE_STATIC);
	sqlite3_bind_int64(st, p + 5, e->count);
	sqlite3_bind_int64(st, p + 6, e->first_us);
	sqlite3_bind_int64(st, p + 7, e->last_us);
	bind_opt(st, p + 8, e->has_mtu, e->mtu);
	sqlite3_bind_int64(st, p + 9, e->matched);
	sqlite3_bind_int64(st, p + 10, e->altered);
	bind_opt(st, p + 11, e->rtt_us >= 0, e->rtt_us);
	bind_opt(st, p + 12, e->sent_ttl != 0, e->sent_ttl);
	sqlite3_bind_int(st, p + 13, e->quoted_ttl);
}

static int
write_errors(struct store *s, const struct flow_record *f, int64_t flow_id)
{
	for (size_t i = 0; i < f->nerrors; i++) {
		sqlite3_stmt *st = store_stmt(s, S_ERROR_INSERT);
		bind_error(st, 1, &f->errors[i], flow_id);
		if (store_exec(s, st, "writing an ICMP error") != 0)
			return -1;
	}
	return 0;
}

/* Queue flow id for the fleet store, when the outbox is on. */
static int
outbox_put(struct store *s, int64_t id)
{
	sqlite3_stmt *st;

	if (!s->outbox)
		return 0;
	st = store_stmt(s, S_OUTBOX_PUT);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, ++s->outbox_seq);
	return store_exec(s, st, "queueing a flow for ClickHouse");
}

int
store_flow_put(struct store *s, const struct flow_record *f, int64_t *id)
{
	sqlite3_stmt *st;

	if (*id == 0) {
		st = store_stmt(s, S_FLOW_INSERT);
		bind_flow(st, 1, f, s->run_id, 0);
		if (store_exec(s, st, "writing a flow") != 0)
			return -1;
		*id = sqlite3_last_insert_rowid(s->db);
	} else {
		st = store_stmt(s, S_FLOW_UPDATE);
		bind_flow(st, 1, f, s->run_id, *id);
		if (store_exec(s, st, "updating a flow") != 0)
			return -1;
		st = store_stmt(s, S_DEL_ERRORS_OF_FLOW);
		sqlite3_bind_int64(st, 1, *id);
		if (store_exec(s, st, "updating a flow's errors") != 0)
			return -1;
	}
	if (write_errors(s, f, *id) != 0)
		return -1;
	return outbox_put(s, *id);
}

/*
 * The largest multi-row statement of rows no more than n (many[] holds
 * them by store_many_rows[]), else the one-row statement one; *rows its size.
 */
static sqlite3_stmt *
pick_many(sqlite3_stmt *const *many, sqlite3_stmt *one, size_t n, int *rows)
{
	for (size_t i = 0; i < MANY_SIZES; i++)
		if (n >= (size_t)store_many_rows[i]) {
			*rows = store_many_rows[i];
			sqlite3_reset(many[i]);
			return many[i];
		}
	*rows = 1;
	sqlite3_reset(one);
	return one;
}

/*
 * A run's flows get consecutive ids from the run's range; their errors
 * follow, in the flows' order.
 */
int64_t
store_run_next_id(const struct store *s)
{
	return s->next_flow_id;
}

int
store_run_flows(struct store *s, const struct flow_record *v, size_t n,
    int64_t id0)
{
	size_t done = 0, fi = 0, ei = 0;
	int rows;

	if (store_prepare_many(s) != 0)
		return -1;
	if (id0 != s->next_flow_id) {
		store_set_err(s, "%s: writing flows: row %lld given, %lld is "
		    "next", s->path, (long long)id0,
		    (long long)s->next_flow_id);
		return -1;
	}
	while (done < n) {
		sqlite3_stmt *st = pick_many(s->flows_many,
		    s->st[S_FLOW_INSERT], n - done, &rows);
		/*
		 * SQLite gives each row the largest id plus one, so the ids
		 * follow from the run's first; leaving them to it spares a
		 * uniqueness seek a row. Checked, all the same.
		 */
		for (int r = 0; r < rows; r++, done++)
			bind_flow(st, 1 + r * FLOW_COLS, &v[done], s->run_id, 0);
		if (store_exec(s, st, "writing flows") != 0)
			return -1;
		if (sqlite3_last_insert_rowid(s->db) != id0 + (int64_t)done - 1) {
			store_set_err(s, "%s: writing flows: row ids not in sequence "
			    "(another writer?)", s->path);
			return -1;
		}
	}
	s->next_flow_id = id0 + (int64_t)n;

	/* the errors, flow fi's error ei next */
	size_t left = 0;
	for (size_t j = 0; j < n; j++)
		left += v[j].nerrors;
	for (; left > 0; left -= (size_t)rows) {
		sqlite3_stmt *st = pick_many(s->errors_many,
		    s->st[S_ERROR_INSERT], left, &rows);
		for (int r = 0; r < rows; r++) {
			while (ei == v[fi].nerrors) {
				fi++;
				ei = 0;
			}
			bind_error(st, 1 + r * ERROR_COLS, &v[fi].errors[ei++],
			    id0 + (int64_t)fi);
		}
		if (store_exec(s, st, "writing ICMP errors") != 0)
			return -1;
	}
	store_wal_writeback(s);
	return 0;
}

static int
delete_run(struct store *s, int64_t run)
{
	static const enum stmt dels[] = {
		S_DEL_ERRORS, S_DEL_FLOWS, S_DEL_MALFORMED, S_DEL_UNDECODED,
		S_DEL_INPUTS, S_DEL_RUN,
	};

	for (size_t i = 0; i < sizeof(dels) / sizeof(dels[0]); i++) {
		sqlite3_stmt *st = store_stmt(s, dels[i]);
		sqlite3_bind_int64(st, 1, run);
		if (store_exec(s, st, "replacing an earlier analysis") != 0)
			return -1;
	}
	/* the fleet store forgets it too, whenever it is next sent to */
	sqlite3_stmt *st = store_stmt(s, S_GONE_PUT);
	sqlite3_bind_int64(st, 1, run);
	return store_exec(s, st, "recording the replaced analysis");
}

/*
 * Earlier runs that share an input with this one: replace those whose
 * inputs are all part of this run; refuse when one has other inputs too,
 * since keeping both would count the shared packets twice. One run at a
 * time: each deletion takes that run out of the overlap.
 */
static int
replace_earlier(struct store *s, int *replaced)
{
	for (;;) {
		sqlite3_stmt *st = store_stmt(s, S_OVERLAP);
		int64_t run;
		int rc;

		sqlite3_bind_int64(st, 1, s->run_id);
		rc = sqlite3_step(st);
		run = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		if (rc == SQLITE_DONE)
			return 0;
		if (rc != SQLITE_ROW)
			return store_db_fail(s, "looking for earlier analyses");

		st = store_stmt(s, S_FOREIGN_INPUTS);
		sqlite3_bind_int64(st, 1, s->run_id);
		sqlite3_bind_int64(st, 2, run);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			store_set_err(s, "%s: an earlier analysis (run %lld) holds "
			    "some of these packets together with %s, which is "
			    "not among the inputs now; analyze the same set of "
			    "files again, or use another database", s->path,
			    (long long)run, sqlite3_column_text(st, 0));
			sqlite3_reset(st);
			return -1;
		}
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return store_db_fail(s, "comparing with earlier analyses");
		if (delete_run(s, run) != 0)
			return -1;
		(*replaced)++;
	}
}

static int
run_families(struct store *s, const struct store_families *f)
{
	sqlite3_stmt *st = store_stmt(s, S_RUN_FAMILIES);
	const uint64_t v[] = { f->ip4, f->ip6, f->icmp4, f->icmp6 };

	sqlite3_bind_int64(st, 1, s->run_id);
	for (int i = 0; i < 4; i++)
		sqlite3_bind_int64(st, 2 + i, (sqlite3_int64)v[i]);
	return store_exec(s, st, "recording the families seen");
}

int
store_run_finish(struct store *s, const struct store_run_stats *rs,
    int *replaced)
{
	sqlite3_stmt *st;

	*replaced = 0;
	if (replace_earlier(s, replaced) != 0 ||
	    run_families(s, &rs->fam) != 0)
		goto fail;
	st = store_stmt(s, S_RUN_FINISH);
	sqlite3_bind_int64(st, 1, s->run_id);
	sqlite3_bind_int64(st, 2, store_now_us());
	sqlite3_bind_int64(st, 3, (sqlite3_int64)rs->packets);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)rs->decoded);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)rs->undecoded);
	sqlite3_bind_int64(st, 10, (sqlite3_int64)rs->tunneled);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)rs->malformed);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)rs->flows);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)rs->errors_matched);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)rs->errors_unseen);
	if (store_exec(s, st, "recording the run") != 0)
		goto fail;
	st = store_stmt(s, S_RUN_RANGE);
	sqlite3_bind_int64(st, 1, s->run_id);
	sqlite3_bind_int64(st, 2, s->first_flow_id);
	sqlite3_bind_int64(st, 3, s->next_flow_id - 1);
	if (store_exec(s, st, "recording the run's flows") != 0)
		goto fail;
	/* a run's flows are queued at once: each as it stands at the end */
	if (s->outbox) {
		st = store_stmt(s, S_OUTBOX_RUN);
		sqlite3_bind_int64(st, 1, s->run_id);
		sqlite3_bind_int64(st, 2, s->outbox_seq);
		if (store_exec(s, st, "queueing the run's flows for "
		    "ClickHouse") != 0)
			goto fail;
		s->outbox_seq += s->next_flow_id;
	}
	if (store_commit_flushing(s) != 0)
		return -1;
	store_direct_end(s);
	return 0;
fail:
	store_run_abort(s);
	return -1;
}

void
store_run_abort(struct store *s)
{
	if (!s->in_txn)
		return;
	sqlite3_step(store_stmt(s, S_ROLLBACK));
	sqlite3_reset(s->st[S_ROLLBACK]);
	s->in_txn = 0;
}

/* Live runs. */

int
store_live_begin(struct store *s, const char *const *ifaces, int n)
{
	char digest[96];
	int64_t started = store_now_us();

	if (store_run_begin(s, "live") != 0)
		return -1;
	for (int i = 0; i < n; i++) {
		/* a live input is never the same packets as another run's */
		snprintf(digest, sizeof(digest), "live:%lld:%d",
		    (long long)started, i);
		struct store_input in = { .name = ifaces[i], .linktype = -1 };
		snprintf(in.digest, sizeof(in.digest), "%.32s", digest);
		if (store_run_input(s, &in) != 0) {
			store_run_abort(s);
			return -1;
		}
	}
	return store_batch_commit(s);
}

int
store_checkpoint(struct store *s)
{
	if (sqlite3_exec(s->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL,
	    NULL) != SQLITE_OK)
		return store_db_fail(s, "checkpointing the moved database");
	return 0;
}

void
store_live_continue(struct store *s)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(s->db, "SELECT MAX(id) FROM runs", -1, &st,
	    NULL) != SQLITE_OK)
		return;
	if (sqlite3_step(st) == SQLITE_ROW)
		s->run_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
}

int
store_batch_begin(struct store *s)
{
	if (store_exec(s, store_stmt(s, S_BEGIN), "starting a transaction") != 0)
		return -1;
	s->in_txn = 1;
	return 0;
}

int
store_batch_commit(struct store *s)
{
	if (store_exec(s, store_stmt(s, S_COMMIT), "committing") != 0) {
		store_batch_abort(s);
		return -1;
	}
	s->in_txn = 0;
	return 0;
}

void
store_batch_abort(struct store *s)
{
	store_run_abort(s);
}

int
store_stats_put(struct store *s, const struct store_live_stats *ls)
{
	sqlite3_stmt *st = store_stmt(s, S_STATS_INSERT);
	const uint64_t v[] = { ls->packets, ls->decoded, ls->malformed,
	    ls->duplicates, ls->kernel_drops, ls->flows_active,
	    ls->flows_written, ls->flows_evicted, ls->errors_matched,
	    ls->errors_unseen, ls->write_failures, ls->errors_capped,
	    ls->undecoded, ls->tunneled };

	sqlite3_bind_int64(st, 1, s->run_id);
	sqlite3_bind_int64(st, 2, store_now_us());
	for (int i = 0; i < (int)(sizeof(v) / sizeof(v[0])); i++)
		sqlite3_bind_int64(st, 3 + i, (sqlite3_int64)v[i]);
	if (store_exec(s, st, "writing statistics") != 0)
		return -1;
	return run_families(s, &ls->fam);
}

int
store_malformed_clear(struct store *s)
{
	sqlite3_stmt *st = store_stmt(s, S_DEL_MALFORMED);

	sqlite3_bind_int64(st, 1, s->run_id);
	if (store_exec(s, st, "replacing malformed counts") != 0)
		return -1;
	st = store_stmt(s, S_DEL_UNDECODED);
	sqlite3_bind_int64(st, 1, s->run_id);
	return store_exec(s, st, "replacing counts of packets not decoded");
}

int
store_prune(struct store *s, int64_t before_us, uint64_t *deleted)
{
	sqlite3_stmt *st = store_stmt(s, S_PRUNE_ERRORS);

	sqlite3_bind_int64(st, 1, before_us);
	if (store_exec(s, st, "pruning old errors") != 0)
		return -1;
	st = store_stmt(s, S_PRUNE_FLOWS);
	sqlite3_bind_int64(st, 1, before_us);
	if (store_exec(s, st, "pruning old flows") != 0)
		return -1;
	*deleted = (uint64_t)sqlite3_changes(s->db);
	return 0;
}

int
store_live_end(struct store *s)
{
	sqlite3_stmt *st = store_stmt(s, S_RUN_END);

	sqlite3_bind_int64(st, 1, s->run_id);
	sqlite3_bind_int64(st, 2, store_now_us());
	return store_exec(s, st, "closing the run");
}

int
store_outbox_enable(struct store *s)
{
	sqlite3_stmt *st = store_stmt(s, S_OUTBOX_MAXSEQ);

	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return store_db_fail(s, "reading the ClickHouse outbox");
	}
	s->outbox_seq = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	s->outbox = 1;
	return 0;
}

int
store_outbox_done(struct store *s, int64_t seq_first, int64_t seq_last)
{
	sqlite3_stmt *st = store_stmt(s, S_OUTBOX_DONE);

	sqlite3_bind_int64(st, 1, seq_first);
	sqlite3_bind_int64(st, 2, seq_last);
	return store_exec(s, st, "clearing the ClickHouse outbox");
}

int
store_outbox_trim(struct store *s, uint64_t max, uint64_t *dropped)
{
	sqlite3_stmt *st = store_stmt(s, S_OUTBOX_TRIM);

	*dropped = 0;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)max);
	if (store_exec(s, st, "bounding the ClickHouse outbox") != 0)
		return -1;
	*dropped = (uint64_t)sqlite3_changes(s->db);
	return 0;
}

int
store_gone_runs_done(struct store *s, const int64_t *runs, size_t n)
{
	if (store_batch_begin(s) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *st = store_stmt(s, S_GONE_DONE);
		sqlite3_bind_int64(st, 1, runs[i]);
		if (store_exec(s, st, "clearing the replaced runs sent") != 0) {
			store_batch_abort(s);
			return -1;
		}
	}
	return store_batch_commit(s);
}
