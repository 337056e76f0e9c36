/*
 * The store's run writer: flows and errors in multi-row inserts of every
 * size (and the one-row tail), read back whole, ids in the order written;
 * a re-analysis deletes exactly the earlier run's flows by its id range;
 * a run that creates its database writes it without the WAL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/flowstate.h"
#include "store/store.h"
#include "tests/unit/tap.h"

#define NFLOWS	300

static struct error_record errs[NFLOWS][3];
static struct flow_record flows[NFLOWS];

static void
make_flows(int port0)
{
	memset(flows, 0, sizeof(flows));
	for (int i = 0; i < NFLOWS; i++) {
		struct flow_record *f = &flows[i];
		f->family = i % 10 == 0 ? 6 : 4;
		f->proto = 17;
		f->has_ports = 1;
		f->state = i % 3 ? STATE_REFUSED : STATE_ANSWERED;
		f->src[0] = 198, f->src[1] = 18, f->src[3] = 2;
		f->dst[0] = 198, f->dst[1] = 19, f->dst[2] = (uint8_t)(i >> 8);
		f->dst[3] = (uint8_t)i;
		f->sport = (uint16_t)(port0 + i);
		f->dport = 53;
		f->first_us = 1000000000000000 + (int64_t)i * 1000;
		f->last_us = f->first_us + 500;
		f->pkts_sent = 1;
		f->nerrors = (size_t)(i % 3);
		for (size_t k = 0; k < f->nerrors; k++) {
			struct error_record *e = &errs[i][k];
			memset(e, 0, sizeof(*e));
			e->family = 4;
			e->type = 3;
			e->code = 3;
			e->reporter[0] = 198;
			e->count = (uint32_t)(i * 10 + (int)k);
			e->first_us = e->last_us = f->first_us + 100 + (int64_t)k;
			e->rtt_us = -1;
		}
		f->errors = errs[i];
	}
}

struct seen {
	int	n, bad_errors, bad_order, port0;
	int64_t	last_id;
};

static int
check_flow(const struct flow_record *f, void *arg)
{
	struct seen *c = arg;
	int i = f->sport - c->port0;

	if (f->id <= c->last_id)
		c->bad_order++;
	c->last_id = f->id;
	if (i < 0 || i >= NFLOWS || f->nerrors != (size_t)(i % 3) ||
	    f->family != (i % 10 == 0 ? 6 : 4) ||
	    f->dst[3] != (uint8_t)i)
		c->bad_errors++;
	else
		for (size_t k = 0; k < f->nerrors; k++)
			if (f->errors[k].count != (uint32_t)(i * 10 + (int)k) ||
			    f->errors[k].rtt_us != -1)
				c->bad_errors++;
	c->n++;
	return 0;
}

static int
run(const char *path, const char *digest, int port0, size_t split,
    int *replaced)
{
	char err[256];
	struct store *s = store_open(path, STORE_WRITE, err, sizeof(err));
	struct store_input in = { .name = digest, .linktype = 1 };
	struct store_run_stats rs = { .flows = NFLOWS };
	int rc;

	if (s == NULL) {
		printf("# %s\n", err);
		return -1;
	}
	snprintf(in.digest, sizeof(in.digest), "%s", digest);
	make_flows(port0);
	rc = store_run_begin(s, "offline") != 0 ||
	    store_run_input(s, &in) != 0 ||
	    store_run_flows(s, flows, split, store_run_next_id(s)) != 0 ||
	    store_run_flows(s, flows + split, NFLOWS - split,
	    store_run_next_id(s)) != 0 ||
	    store_run_finish(s, &rs, replaced) != 0 ? -1 : 0;
	if (rc != 0)
		printf("# %s\n", store_errmsg(s));
	store_close(s);
	return rc;
}

static int
query(const char *path, int port, struct seen *c)
{
	char err[256];
	struct store *s = store_open(path, STORE_READ, err, sizeof(err));
	struct store_query q = { .proto = -1, .sort = SORT_FIRST };
	int rc;

	memset(c, 0, sizeof(*c));
	c->port0 = port < 0 ? 10000 : port;
	if (port >= 0)
		q.ports[q.nports++] = (struct store_port_range){ (uint16_t)port,
		    (uint16_t)port };
	if (s == NULL)
		return -1;
	rc = store_query_flows(s, &q, check_flow, c);
	store_close(s);
	return rc;
}

/* What the outbox hands out, in order. */
struct taken {
	int64_t	ids[16], seqs[16];
	int	n, pruned;
};

static int
take_fn(const struct flow_record *f, int64_t flow_id, int64_t seq, void *arg)
{
	struct taken *t = arg;

	if (f == NULL)
		t->pruned++;
	else if (f->id != flow_id)
		return -1;
	if (t->n < 16) {
		t->ids[t->n] = flow_id;
		t->seqs[t->n] = seq;
		t->n++;
	}
	return 0;
}

static uint64_t
outbox_count(struct store *s)
{
	uint64_t n = 0;

	return store_outbox_count(s, &n) == 0 ? n : (uint64_t)-1;
}

/*
 * The fleet store's outbox: each flow queued once, at its newest write;
 * an entry sent is cleared unless written again meanwhile; the bound
 * drops the oldest; a replaced run is remembered until sent.
 */
static void
outbox_tests(const char *db)
{
	char err[256];
	struct store *s = store_open(db, STORE_WRITE, err, sizeof(err));
	int64_t id[3] = { 0, 0, 0 };
	struct taken t = { .n = 0 };
	uint64_t dropped;

	ok(s != NULL, "outbox: database opened");
	if (s == NULL)
		return;
	make_flows(40000);
	const char *ifaces[] = { "eth0" };
	ok(store_outbox_enable(s) == 0 && store_live_begin(s, ifaces, 1) == 0 &&
	    store_batch_begin(s) == 0, "outbox: on, a live run begins");
	for (int i = 0; i < 3; i++)
		store_flow_put(s, &flows[i], &id[i]);
	store_batch_commit(s);
	is_int(outbox_count(s), 3, "outbox: three flows written, three queued");
	store_batch_begin(s);
	store_flow_put(s, &flows[0], &id[0]);
	store_batch_commit(s);
	is_int(outbox_count(s), 3, "outbox: a flow written again is queued once");
	store_outbox_take(s, 2, take_fn, &t);
	ok(t.n == 2 && t.ids[0] == id[1] && t.ids[1] == id[2],
	    "outbox: oldest first, the rewritten flow last");
	/* flow 1 written again while its entry was being sent */
	store_batch_begin(s);
	store_flow_put(s, &flows[1], &id[1]);
	store_batch_commit(s);
	store_outbox_done(s, t.seqs[0], t.seqs[t.n - 1]);
	is_int(outbox_count(s), 2, "outbox: what was sent is cleared, not what "
	    "was written again meanwhile");
	memset(&t, 0, sizeof(t));
	store_outbox_take(s, 16, take_fn, &t);
	ok(t.n == 2 && t.ids[0] == id[0] && t.ids[1] == id[1],
	    "outbox: the flow written again waits to be sent again");
	ok(store_outbox_trim(s, 1, &dropped) == 0 && dropped == 1 &&
	    outbox_count(s) == 1, "outbox: the bound drops the oldest, counted");
	store_close(s);
}

static int
exists(const char *db, const char *suffix)
{
	char p[96];

	snprintf(p, sizeof(p), "%s%s", db, suffix);
	return access(p, F_OK) == 0;
}

static void
remove_db(const char *db)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char p[96];

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", db, suffix[i]);
		unlink(p);
	}
}

static char *
journal_mode(const char *db)
{
	static char mode[16];
	sqlite3 *h;
	sqlite3_stmt *st;

	snprintf(mode, sizeof(mode), "?");
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &st, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			snprintf(mode, sizeof(mode), "%s",
			    (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	sqlite3_close(h);
	return mode;
}

/*
 * STORE_WRITE_RUN: a run that creates the database writes into its file
 * (a rollback journal while it goes, no WAL), and leaves it in WAL mode;
 * a run into a database that is there goes through the WAL as before.
 */
static void
direct_run(const char *db, const char *digest, int port0, int is_new)
{
	char err[256];
	struct store *s = store_open(db, STORE_WRITE_RUN, err, sizeof(err));
	struct store_input in = { .name = digest, .linktype = 1 };
	struct store_run_stats rs = { .flows = NFLOWS };
	const char *what = is_new ? "a new database" : "a database there";
	int replaced;

	ok(s != NULL, "%s: opened for a run", what);
	if (s == NULL)
		return;
	snprintf(in.digest, sizeof(in.digest), "%s", digest);
	make_flows(port0);
	ok(store_run_begin(s, "offline") == 0 && store_run_input(s, &in) == 0 &&
	    store_run_flows(s, flows, NFLOWS, store_run_next_id(s)) == 0,
	    "%s: a run's flows written", what);
	is_int(exists(db, "-wal"), !is_new, "%s: %s WAL while the run goes",
	    what, is_new ? "no" : "the");
	is_int(exists(db, "-journal"), is_new,
	    "%s: %s rollback journal while the run goes", what,
	    is_new ? "a" : "no");
	ok(store_run_finish(s, &rs, &replaced) == 0, "%s: the run stored",
	    what);
	ok(!exists(db, "-journal"), "%s: no journal left", what);
	store_close(s);
	const char *mode = journal_mode(db);
	ok(strcmp(mode, "wal") == 0, "%s: in WAL mode after the run (%s)",
	    what, mode);
}

static void
direct_tests(const char *db)
{
	struct seen c;

	remove_db(db);
	direct_run(db, "cccc", 50000, 1);
	query(db, 50000, &c);
	is_int(c.n, 1, "a new database: its run's flows are there");
	direct_run(db, "dddd", 51000, 0);
	query(db, -1, &c);
	is_int(c.n, 2 * NFLOWS, "a database there: both runs' flows are there");
	remove_db(db);
}

int
main(void)
{
	char path[] = "/tmp/test_store.XXXXXX";
	char db[64];
	struct seen c;
	int replaced, fd = mkstemp(path);

	if (fd < 0)
		return 2;
	close(fd);
	unlink(path);
	snprintf(db, sizeof(db), "%s.db", path);

	/* 290 + 10: chunks of 256, 16, 16 and one-row tails, errors too */
	int rc = run(db, "aaaa", 10000, 290, &replaced);
	is_int(rc, 0, "run 1 written");
	rc = query(db, -1, &c);
	ok(rc >= 0, "run 1 read");
	is_int(c.n, NFLOWS, "every flow read back");
	is_int(c.bad_errors, 0, "each flow with its own errors and fields");
	is_int(c.bad_order, 0, "ids follow the order written");

	rc = run(db, "bbbb", 20000, 0, &replaced);
	is_int(rc, 0, "run 2 written");
	is_int(replaced, 0, "another input replaces nothing");
	rc = run(db, "bbbb", 30000, 257, &replaced);
	is_int(rc, 0, "run 3 written");
	is_int(replaced, 1, "the same input again replaces run 2");
	query(db, 10000, &c);
	is_int(c.n, 1, "run 1's flows are kept");
	query(db, 20000, &c);
	is_int(c.n, 0, "run 2's flows are gone");
	query(db, -1, &c);
	is_int(c.n, 2 * NFLOWS, "runs 1 and 3, nothing else");

	/* the replaced run waits to be forgotten by the fleet store too */
	char err[256];
	struct store *s = store_open(db, STORE_WRITE, err, sizeof(err));
	int64_t runs[4];
	size_t nr = 0;
	ok(s != NULL && store_gone_runs_take(s, runs, 4, &nr) == 0 &&
	    nr == 1 && runs[0] == 2, "the replaced run 2 is recorded as gone");
	ok(s != NULL && store_gone_runs_done(s, runs, nr) == 0 &&
	    store_gone_runs_take(s, runs, 4, &nr) == 0 && nr == 0,
	    "once sent, it is cleared");
	store_close(s);
	outbox_tests(db);

	char direct[80];
	snprintf(direct, sizeof(direct), "%s.new", db);
	direct_tests(direct);

	char side[80];
	unlink(db);
	snprintf(side, sizeof(side), "%s-wal", db);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", db);
	unlink(side);
	return tap_done();
}
