/*
 * SQLite store. Every statement is prepared once and reused; values are
 * always bound, never pasted into SQL. The schema version lives in
 * PRAGMA user_version and each migration runs in one transaction with its
 * version bump.
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/flowstate.h"
#include "store/store.h"

#define BUSY_TIMEOUT_MS	5000

/*
 * Migrations: migrations[i] takes the schema from version i to i + 1.
 * Addresses are stored as 4- or 16-byte blobs (the family is their length),
 * times as microseconds since the epoch, states as enum flow_state (the
 * states table names them for people using sqlite3 directly).
 */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE runs ("
	"  id INTEGER PRIMARY KEY,"
	"  mode TEXT NOT NULL,"
	"  started_us INTEGER NOT NULL,"
	"  finished_us INTEGER,"
	"  packets INTEGER, decoded INTEGER, malformed INTEGER,"
	"  flows INTEGER, errors_matched INTEGER, errors_unseen INTEGER);"
	"CREATE TABLE inputs ("
	"  run_id INTEGER NOT NULL REFERENCES runs(id),"
	"  name TEXT NOT NULL,"
	"  digest TEXT NOT NULL,"
	"  packets INTEGER NOT NULL,"
	"  linktype INTEGER NOT NULL);"
	"CREATE INDEX inputs_digest ON inputs(digest);"
	"CREATE TABLE malformed ("
	"  run_id INTEGER NOT NULL REFERENCES runs(id),"
	"  reason TEXT NOT NULL,"
	"  count INTEGER NOT NULL);"
	"CREATE TABLE states (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
	"INSERT INTO states VALUES (1,'refused'),(2,'host-unreachable'),"
	"  (3,'net-unreachable'),(4,'proto-unreachable'),(5,'prohibited'),"
	"  (6,'frag-needed'),(7,'ttl-exceeded'),(8,'unreachable'),"
	"  (9,'param-problem'),(10,'answered'),(11,'silent');"
	"CREATE TABLE flows ("
	"  id INTEGER PRIMARY KEY,"
	"  run_id INTEGER NOT NULL,"
	"  proto INTEGER NOT NULL,"
	"  src BLOB NOT NULL, sport INTEGER,"
	"  dst BLOB NOT NULL, dport INTEGER,"
	"  first_us INTEGER NOT NULL, last_us INTEGER NOT NULL,"
	"  pkts_sent INTEGER NOT NULL, bytes_sent INTEGER NOT NULL,"
	"  pkts_back INTEGER NOT NULL, bytes_back INTEGER NOT NULL,"
	"  state INTEGER NOT NULL);"
	"CREATE INDEX flows_run ON flows(run_id);"
	"CREATE INDEX flows_state_last ON flows(state, last_us);"
	"CREATE INDEX flows_last ON flows(last_us);"
	"CREATE TABLE errors ("
	"  flow_id INTEGER NOT NULL,"
	"  family INTEGER NOT NULL,"
	"  type INTEGER NOT NULL, code INTEGER NOT NULL,"
	"  reporter BLOB NOT NULL,"
	"  count INTEGER NOT NULL,"
	"  first_us INTEGER NOT NULL, last_us INTEGER NOT NULL,"
	"  mtu INTEGER);"
	"CREATE INDEX errors_flow ON errors(flow_id);",
	/* 1 -> 2: statistics of live runs, written periodically */
	"CREATE TABLE stats ("
	"  run_id INTEGER NOT NULL,"
	"  at_us INTEGER NOT NULL,"
	"  packets INTEGER, decoded INTEGER, malformed INTEGER,"
	"  duplicates INTEGER, kernel_drops INTEGER,"
	"  flows_active INTEGER, flows_written INTEGER, flows_evicted INTEGER,"
	"  errors_matched INTEGER, errors_unseen INTEGER,"
	"  write_failures INTEGER);"
	"CREATE INDEX stats_run ON stats(run_id, at_us);",
	/* 2 -> 3: errors refused beyond the per-flow limit */
	"ALTER TABLE stats ADD COLUMN errors_capped INTEGER NOT NULL DEFAULT 0;",
	/*
	 * 3 -> 4: TCP endings and packet-exact error matching. NULL means
	 * "does not apply" (syns of a UDP flow) or "unknown" (a TTL).
	 */
	"ALTER TABLE flows ADD COLUMN pkts_errored INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE flows ADD COLUMN syns INTEGER;"
	"ALTER TABLE flows ADD COLUMN syn_span_us INTEGER;"
	"ALTER TABLE flows ADD COLUMN tcp_end INTEGER;"
	"ALTER TABLE flows ADD COLUMN end_by INTEGER;"
	"ALTER TABLE flows ADD COLUMN rst_ttl INTEGER;"
	"ALTER TABLE flows ADD COLUMN dst_ttl INTEGER;"
	"CREATE TABLE ends (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
	"INSERT INTO ends VALUES (1,'open'),(2,'fin'),(3,'rst'),(4,'timeout');"
	"ALTER TABLE errors ADD COLUMN matched INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE errors ADD COLUMN altered INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE errors ADD COLUMN rtt_us INTEGER;"
	"ALTER TABLE errors ADD COLUMN sent_ttl INTEGER;"
	"ALTER TABLE errors ADD COLUMN quoted_ttl INTEGER;",
	/*
	 * 4 -> 5: most flows are answered, and nobody asks for answered
	 * flows by state without a time: the state index leaves them out
	 * (a fifth of the database's size per flow).
	 */
	"DROP INDEX flows_state_last;"
	"CREATE INDEX flows_state_last ON flows(state, last_us)"
	"  WHERE state != 10;",
	/*
	 * 5 -> 6: an index on run_id cost as much to keep up as the flows
	 * themselves and served only the replacement of an earlier analysis.
	 * An offline run's flows are one range of ids (its transaction holds
	 * the write lock from its first flow to its last): the run records
	 * it. Runs without one (live, or older) are found by a scan.
	 */
	"DROP INDEX IF EXISTS flows_run;"
	"ALTER TABLE runs ADD COLUMN flow_first INTEGER;"
	"ALTER TABLE runs ADD COLUMN flow_last INTEGER;",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
    STORE_SCHEMA_VERSION, "one migration per schema version");
_Static_assert(STATE_ANSWERED == 10, "the partial index names answered as 10");

/*
 * A flow row and an error row, one parameter a column in this order
 * (bind_flow and bind_error); the multi-row inserts repeat the row.
 *
 * OR ROLLBACK: a row that breaks a constraint ends the whole transaction,
 * which is what a failed write does to a run or a flush anyway. With the
 * default (ABORT) SQLite must be able to undo just the statement, so each
 * multi-row INSERT opened a statement journal and copied into it every
 * page it touched first: 13% of the writer thread's instructions.
 */
#define FLOW_INSERT	"INSERT OR ROLLBACK INTO flows(id, run_id, proto," \
	" src, sport, dst, dport, first_us, last_us, pkts_sent, bytes_sent," \
	" pkts_back, bytes_back, state, pkts_errored, syns, syn_span_us," \
	" tcp_end, end_by, rst_ttl, dst_ttl) VALUES "
#define FLOW_ROW	"?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?"
#define FLOW_COLS	21
#define ERROR_INSERT	"INSERT OR ROLLBACK INTO errors(flow_id, family," \
	" type, code, reporter, count, first_us, last_us, mtu, matched," \
	" altered, rtt_us, sent_ttl, quoted_ttl) VALUES "
#define ERROR_ROW	"?,?,?,?,?,?,?,?,?,?,?,?,?,?"
#define ERROR_COLS	14

/* An offline run's flows by its id range; without one, a scan. */
#define RUN_FLOWS	"run_id = ?1 AND id BETWEEN" \
	" coalesce((SELECT flow_first FROM runs WHERE id = ?1), 0) AND" \
	" coalesce((SELECT flow_last FROM runs WHERE id = ?1)," \
	" 9223372036854775807)"

/*
 * A run's flows and errors go in multi-row INSERTs of these sizes (the
 * largest that fit, then smaller): one statement's cursors stay on the
 * indexes' last pages from row to row, so keys that follow time append
 * without a seek from the root. tests/bench measured 1.5-2x the rows per
 * second of one row a statement.
 */
static const int many_rows[] = { 256, 16 };
#define MANY_SIZES	(sizeof(many_rows) / sizeof(many_rows[0]))

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
	S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
	[S_BEGIN]	= "BEGIN IMMEDIATE",
	[S_COMMIT]	= "COMMIT",
	[S_ROLLBACK]	= "ROLLBACK",
	[S_RUN_INSERT]	= "INSERT INTO runs(mode, started_us) VALUES (?1, ?2)",
	[S_RUN_FINISH]	= "UPDATE runs SET finished_us = ?2, packets = ?3,"
	    " decoded = ?4, malformed = ?5, flows = ?6, errors_matched = ?7,"
	    " errors_unseen = ?8 WHERE id = ?1",
	[S_INPUT_INSERT] = "INSERT INTO inputs(run_id, name, digest, packets,"
	    " linktype) VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_MALFORMED_INSERT] = "INSERT INTO malformed(run_id, reason, count)"
	    " VALUES (?1, ?2, ?3)",
	[S_FLOW_INSERT]	= FLOW_INSERT "(" FLOW_ROW ")",
	[S_ERROR_INSERT] = ERROR_INSERT "(" ERROR_ROW ")",
	[S_OVERLAP]	= "SELECT run_id FROM inputs WHERE run_id != ?1"
	    " AND digest IN (SELECT digest FROM inputs WHERE run_id = ?1)"
	    " LIMIT 1",
	[S_FOREIGN_INPUTS] = "SELECT name FROM inputs WHERE run_id = ?2 AND"
	    " digest NOT IN (SELECT digest FROM inputs WHERE run_id = ?1)",
	[S_DEL_ERRORS]	= "DELETE FROM errors WHERE flow_id IN"
	    " (SELECT id FROM flows WHERE " RUN_FLOWS ")",
	[S_DEL_FLOWS]	= "DELETE FROM flows WHERE " RUN_FLOWS,
	[S_DEL_MALFORMED] = "DELETE FROM malformed WHERE run_id = ?1",
	[S_DEL_INPUTS]	= "DELETE FROM inputs WHERE run_id = ?1",
	[S_DEL_RUN]	= "DELETE FROM runs WHERE id = ?1",
	[S_ERRORS_OF_FLOW] = "SELECT family, type, code, reporter, count,"
	    " first_us, last_us, mtu, matched, altered, rtt_us, sent_ttl,"
	    " quoted_ttl FROM errors WHERE flow_id = ?1"
	    " ORDER BY first_us, rowid",
	[S_FLOW_UPDATE]	= "UPDATE flows SET first_us = ?8, last_us = ?9,"
	    " pkts_sent = ?10, bytes_sent = ?11, pkts_back = ?12,"
	    " bytes_back = ?13, state = ?14, pkts_errored = ?15, syns = ?16,"
	    " syn_span_us = ?17, tcp_end = ?18, end_by = ?19, rst_ttl = ?20,"
	    " dst_ttl = ?21 WHERE id = ?1",
	[S_DEL_ERRORS_OF_FLOW] = "DELETE FROM errors WHERE flow_id = ?1",
	[S_STATS_INSERT] = "INSERT INTO stats(run_id, at_us, packets, decoded,"
	    " malformed, duplicates, kernel_drops, flows_active, flows_written,"
	    " flows_evicted, errors_matched, errors_unseen, write_failures,"
	    " errors_capped) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
	    " ?11, ?12, ?13, ?14)",
	[S_RUN_END]	= "UPDATE runs SET finished_us = ?2 WHERE id = ?1",
	[S_PRUNE_ERRORS] = "DELETE FROM errors WHERE flow_id IN"
	    " (SELECT id FROM flows WHERE last_us < ?1)",
	[S_PRUNE_FLOWS]	= "DELETE FROM flows WHERE last_us < ?1",
	[S_STATS_LATEST] = "SELECT r.id, r.mode, r.started_us, r.finished_us,"
	    " s.at_us, s.packets, s.decoded, s.malformed, s.duplicates,"
	    " s.kernel_drops, s.flows_active, s.flows_written, s.flows_evicted,"
	    " s.errors_matched, s.errors_unseen, s.write_failures,"
	    " s.errors_capped FROM runs r JOIN stats s ON s.run_id = r.id"
	    " WHERE s.at_us = (SELECT MAX(at_us) FROM stats WHERE run_id = r.id)"
	    " ORDER BY r.id DESC",
	[S_MALFORMED_OF_RUN] = "SELECT reason, count FROM malformed"
	    " WHERE run_id = ?1 ORDER BY reason",
	[S_MAX_FLOW_ID]	= "SELECT coalesce(max(id), 0) FROM flows",
	[S_RUN_RANGE]	= "UPDATE runs SET flow_first = ?2, flow_last = ?3"
	    " WHERE id = ?1",
	[S_INPUT_UPGRADE] = "UPDATE inputs SET digest = ?1 WHERE digest = ?2",
	/* version 2 digests say so; live inputs are never the same packets */
	[S_V1_DIGESTS]	= "SELECT 1 FROM inputs WHERE digest NOT LIKE 'v2:%'"
	    " AND digest NOT LIKE 'live:%' LIMIT 1",
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
	int		 wal_fd;	/* for early writeback, or -1 */
	int		 db_fd;		/* the database file, likewise */
	off_t		 wal_written;	/* bytes of it handed to the kernel */
	char		 err[512];
};

static void set_err(struct store *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_err(struct store *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
}

static int
db_fail(struct store *s, const char *what)
{
	set_err(s, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
	return -1;
}

const char *
store_errmsg(const struct store *s)
{
	return s->err;
}

static int64_t
now_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* Reset, clear and return a prepared statement ready for binding. */
static sqlite3_stmt *
stmt(struct store *s, enum stmt which)
{
	sqlite3_stmt *st = s->st[which];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* Step a statement that returns no rows. */
static int
exec_stmt(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(s, what);
	return 0;
}

static int
user_version(struct store *s, int *version)
{
	sqlite3_stmt *st;
	int rc;

	*version = 0;
	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_fail(s, "reading the schema version");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return db_fail(s, "reading the schema version");
	return 0;
}

static int
migrate(struct store *s)
{
	int version;

	if (user_version(s, &version) != 0)
		return -1;
	if (version > STORE_SCHEMA_VERSION) {
		set_err(s, "%s: schema version %d is newer than this udpflows "
		    "understands (%d); use a newer udpflows", s->path, version,
		    STORE_SCHEMA_VERSION);
		return -1;
	}
	while (version < STORE_SCHEMA_VERSION) {
		char bump[64];
		snprintf(bump, sizeof(bump), "PRAGMA user_version = %d",
		    version + 1);
		if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
		    SQLITE_OK)
			return db_fail(s, "starting the schema migration");
		if (sqlite3_exec(s->db, migrations[version], NULL, NULL,
		    NULL) != SQLITE_OK ||
		    sqlite3_exec(s->db, bump, NULL, NULL, NULL) != SQLITE_OK) {
			db_fail(s, "migrating the schema");
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) !=
		    SQLITE_OK)
			return db_fail(s, "committing the schema migration");
		version++;
	}
	return 0;
}

static int
check_version(struct store *s)
{
	int version;

	if (user_version(s, &version) != 0)
		return -1;
	if (version == 0) {
		set_err(s, "%s: not a udpflows database (no schema); "
		    "create it with udpflowd", s->path);
		return -1;
	}
	if (version < STORE_SCHEMA_VERSION) {
		set_err(s, "%s: schema version %d is older than this udpflows "
		    "reads (%d); udpflowd upgrades it when it next writes to it",
		    s->path, version, STORE_SCHEMA_VERSION);
		return -1;
	}
	if (version != STORE_SCHEMA_VERSION) {
		set_err(s, "%s: schema version %d, this udpflows reads "
		    "version %d", s->path, version, STORE_SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

/* INSERT <head> (<row>),(<row>),... rows times. */
static sqlite3_stmt *
prepare_rows(struct store *s, const char *head, const char *row, int rows)
{
	size_t hl = strlen(head), rl = strlen(row), len = hl + rows * (rl + 3);
	char *sql = malloc(len + 1), *p;
	sqlite3_stmt *st = NULL;

	if (sql == NULL) {
		set_err(s, "%s: out of memory", s->path);
		return NULL;
	}
	memcpy(sql, head, hl);
	p = sql + hl;
	for (int r = 0; r < rows; r++) {
		if (r > 0)
			*p++ = ',';
		*p++ = '(';
		memcpy(p, row, rl);
		p += rl;
		*p++ = ')';
	}
	*p = '\0';
	if (sqlite3_prepare_v3(s->db, sql, (int)(p - sql),
	    SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
		db_fail(s, "preparing a statement");
	free(sql);
	return st;
}

static int
prepare_many(struct store *s)
{
	for (size_t i = 0; i < MANY_SIZES; i++)
		if ((s->flows_many[i] = prepare_rows(s, FLOW_INSERT, FLOW_ROW,
		    many_rows[i])) == NULL ||
		    (s->errors_many[i] = prepare_rows(s, ERROR_INSERT,
		    ERROR_ROW, many_rows[i])) == NULL)
			return -1;
	return 0;
}

struct store *
store_open(const char *path, int mode, char *err, size_t errlen)
{
	struct store *s = calloc(1, sizeof(*s));
	/*
	 * One thread at a time uses a connection (udpflowd's writer thread
	 * takes it over while a file is read): SQLite's own locks around
	 * every call were a tenth of the writer's time, and so was counting
	 * its memory. The configuration fails harmlessly once SQLite runs.
	 */
	int flags = SQLITE_OPEN_NOMUTEX | (mode == STORE_WRITE ?
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY);

	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);

	if (s == NULL || (s->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		free(s);
		return NULL;
	}
	s->mode = mode;
	s->wal_fd = -1;
	s->db_fd = -1;
	if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
		if (s->db == NULL)
			set_err(s, "%s: cannot open the database", path);
		else
			db_fail(s, "cannot open the database");
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	if (mode == STORE_WRITE) {
		/*
		 * A new database only (it is a no-op on one that has pages):
		 * a run's transaction goes through the WAL, is checksummed
		 * again at commit (pages written twice in it are rewritten in
		 * place) and copied into the database by the checkpoint, each
		 * a page at a time. 16 KiB pages make those a quarter as many
		 * calls: on the 10M bench, commit and checkpoint 0.35 -> 0.23 s.
		 */
		if (sqlite3_exec(s->db, "PRAGMA page_size = 16384", NULL, NULL,
		    NULL) != SQLITE_OK) {
			db_fail(s, "setting the page size");
			goto fail;
		}
		if (sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL,
		    NULL) != SQLITE_OK ||
		    sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL", NULL,
		    NULL, NULL) != SQLITE_OK ||
		    /* no temporary files outside the database's directory */
		    sqlite3_exec(s->db, "PRAGMA temp_store = MEMORY", NULL,
		    NULL, NULL) != SQLITE_OK) {
			db_fail(s, "setting up the journal");
			goto fail;
		}
		if (migrate(s) != 0)
			goto fail;
	} else if (check_version(s) != 0) {
		goto fail;
	}
	for (int i = 0; i < S_COUNT; i++) {
		if (mode == STORE_READ && i != S_ERRORS_OF_FLOW &&
		    i != S_STATS_LATEST && i != S_MALFORMED_OF_RUN)
			continue;
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) != SQLITE_OK) {
			db_fail(s, "preparing a statement");
			goto fail;
		}
	}
	if (mode == STORE_WRITE && prepare_many(s) != 0)
		goto fail;
	return s;
fail:
	snprintf(err, errlen, "%s", s->err);
	store_close(s);
	return NULL;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->in_txn)
		store_run_abort(s);
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	for (size_t i = 0; i < MANY_SIZES; i++) {
		sqlite3_finalize(s->flows_many[i]);
		sqlite3_finalize(s->errors_many[i]);
	}
	sqlite3_close(s->db);
	/*
	 * Only now: closing any descriptor of the database file would drop
	 * the POSIX locks SQLite holds on it while the connection is open.
	 */
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	if (s->db_fd >= 0)
		close(s->db_fd);
	free(s->path);
	free(s);
}

#ifdef SYNC_FILE_RANGE_WRITE
/*
 * Descriptors of the WAL and the database of our own, for writeback
 * hints only; 0 once the WAL's is open. Closed by store_close, after the
 * connection (see there).
 */
static int
writeback_open(struct store *s)
{
	if (s->wal_fd >= 0)
		return 0;
	const char *db = sqlite3_db_filename(s->db, "main");
	const char *wal = sqlite3_filename_wal(db);
	/* not created yet, or a database without a file */
	if (wal == NULL || *wal == '\0' ||
	    (s->wal_fd = open(wal, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (s->db_fd < 0)
		s->db_fd = open(db, O_RDONLY | O_CLOEXEC);
	return 0;
}
#endif

/*
 * A run's transaction writes its pages to the WAL as they leave SQLite's
 * cache, and the checkpoint after the commit first fsyncs the whole WAL:
 * 100 MB for the 10M bench, waited for at the very end of the run. The
 * kernel is asked to start writing the WAL out as it grows instead (what
 * PostgreSQL's wal_writer_flush_after does), so that fsync finds little
 * left: only the frame headers the commit rewrites. A hint; nothing
 * depends on it succeeding.
 */
#define WAL_WRITEBACK_EVERY	(4 << 20)

static void
wal_writeback(struct store *s)
{
#ifdef SYNC_FILE_RANGE_WRITE
	if (writeback_open(s) != 0)
		return;
	off_t end = lseek(s->wal_fd, 0, SEEK_END);
	if (end < s->wal_written)	/* truncated by a checkpoint */
		s->wal_written = 0;
	if (end - s->wal_written < WAL_WRITEBACK_EVERY)
		return;
	(void)sync_file_range(s->wal_fd, s->wal_written,
	    end - s->wal_written, SYNC_FILE_RANGE_WRITE);
	s->wal_written = end;
#else
	(void)s;
#endif
}

/*
 * The checkpoint that follows a run's commit copies the WAL into the
 * database a page at a time, then fsyncs the database: 100 MB written out
 * while the process waits, at the end of the 10M bench. A second thread
 * meanwhile asks the kernel to write out what is dirty in both files every
 * few milliseconds, so that the writing overlaps the copying and the
 * fsyncs find little left (PostgreSQL's checkpoint_flush_after).
 */
struct flusher {
	pthread_t	 thread;
	int		 fds[2];
	atomic_int	 stop;
};

#ifdef SYNC_FILE_RANGE_WRITE
static void *
flusher_main(void *arg)
{
	struct flusher *fl = arg;
	const struct timespec pause = { 0, 2 * 1000 * 1000 };

	while (!atomic_load(&fl->stop)) {
		for (int i = 0; i < 2; i++)
			if (fl->fds[i] >= 0)
				(void)sync_file_range(fl->fds[i], 0, 0,
				    SYNC_FILE_RANGE_WRITE);
		nanosleep(&pause, NULL);
	}
	return NULL;
}
#endif

/* Commit a run, the checkpoint's files written out as it goes. */
static int
commit_flushing(struct store *s)
{
	struct flusher fl = { .fds = { -1, -1 } };
	int started = 0, rc;

#ifdef SYNC_FILE_RANGE_WRITE
	atomic_init(&fl.stop, 0);
	if (writeback_open(s) == 0 && s->db_fd >= 0) {
		fl.fds[0] = s->wal_fd;
		fl.fds[1] = s->db_fd;
		started = pthread_create(&fl.thread, NULL, flusher_main,
		    &fl) == 0;
	}
#endif
	rc = store_batch_commit(s);
	if (started) {
		atomic_store(&fl.stop, 1);
		pthread_join(fl.thread, NULL);
	}
	return rc;
}

int
store_run_begin(struct store *s, const char *mode)
{
	sqlite3_stmt *st;

	if (exec_stmt(s, stmt(s, S_BEGIN), "starting a transaction") != 0)
		return -1;
	s->in_txn = 1;
	st = stmt(s, S_RUN_INSERT);
	sqlite3_bind_text(st, 1, mode, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_us());
	if (exec_stmt(s, st, "recording the run") != 0) {
		store_run_abort(s);
		return -1;
	}
	s->run_id = sqlite3_last_insert_rowid(s->db);
	st = stmt(s, S_MAX_FLOW_ID);
	if (sqlite3_step(st) != SQLITE_ROW) {
		db_fail(s, "numbering the run's flows");
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
		st = stmt(s, S_INPUT_UPGRADE);
		sqlite3_bind_text(st, 1, in->digest, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, in->digest_v1, -1, SQLITE_STATIC);
		if (exec_stmt(s, st, "upgrading an earlier input's digest") != 0)
			return -1;
	}
	st = stmt(s, S_INPUT_INSERT);
	sqlite3_bind_int64(st, 1, s->run_id);
	sqlite3_bind_text(st, 2, in->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, in->digest, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)in->packets);
	sqlite3_bind_int(st, 5, in->linktype);
	return exec_stmt(s, st, "recording an input");
}

int
store_has_v1_digests(struct store *s)
{
	sqlite3_stmt *st = stmt(s, S_V1_DIGESTS);
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_fail(s, "reading earlier inputs");
}

int
store_run_malformed(struct store *s, const char *reason, uint64_t count)
{
	sqlite3_stmt *st = stmt(s, S_MALFORMED_INSERT);

	sqlite3_bind_int64(st, 1, s->run_id);
	sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)count);
	return exec_stmt(s, st, "recording malformed packets");
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
		sqlite3_stmt *st = stmt(s, S_ERROR_INSERT);
		bind_error(st, 1, &f->errors[i], flow_id);
		if (exec_stmt(s, st, "writing an ICMP error") != 0)
			return -1;
	}
	return 0;
}

int
store_flow_put(struct store *s, const struct flow_record *f, int64_t *id)
{
	sqlite3_stmt *st;

	if (*id == 0) {
		st = stmt(s, S_FLOW_INSERT);
		bind_flow(st, 1, f, s->run_id, 0);
		if (exec_stmt(s, st, "writing a flow") != 0)
			return -1;
		*id = sqlite3_last_insert_rowid(s->db);
	} else {
		st = stmt(s, S_FLOW_UPDATE);
		bind_flow(st, 1, f, s->run_id, *id);
		if (exec_stmt(s, st, "updating a flow") != 0)
			return -1;
		st = stmt(s, S_DEL_ERRORS_OF_FLOW);
		sqlite3_bind_int64(st, 1, *id);
		if (exec_stmt(s, st, "updating a flow's errors") != 0)
			return -1;
	}
	return write_errors(s, f, *id);
}

/*
 * The largest multi-row statement of rows no more than n (many[] holds
 * them by many_rows[]), else the one-row statement one; *rows its size.
 */
static sqlite3_stmt *
pick_many(sqlite3_stmt *const *many, sqlite3_stmt *one, size_t n, int *rows)
{
	for (size_t i = 0; i < MANY_SIZES; i++)
		if (n >= (size_t)many_rows[i]) {
			*rows = many_rows[i];
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
int
store_run_flows(struct store *s, const struct flow_record *v, size_t n)
{
	int64_t id0 = s->next_flow_id;
	size_t done = 0, fi = 0, ei = 0;
	int rows;

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
		if (exec_stmt(s, st, "writing flows") != 0)
			return -1;
		if (sqlite3_last_insert_rowid(s->db) != id0 + (int64_t)done - 1) {
			set_err(s, "%s: writing flows: row ids not in sequence "
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
		if (exec_stmt(s, st, "writing ICMP errors") != 0)
			return -1;
	}
	wal_writeback(s);
	return 0;
}

static int
delete_run(struct store *s, int64_t run)
{
	static const enum stmt dels[] = {
		S_DEL_ERRORS, S_DEL_FLOWS, S_DEL_MALFORMED, S_DEL_INPUTS,
		S_DEL_RUN,
	};

	for (size_t i = 0; i < sizeof(dels) / sizeof(dels[0]); i++) {
		sqlite3_stmt *st = stmt(s, dels[i]);
		sqlite3_bind_int64(st, 1, run);
		if (exec_stmt(s, st, "replacing an earlier analysis") != 0)
			return -1;
	}
	return 0;
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
		sqlite3_stmt *st = stmt(s, S_OVERLAP);
		int64_t run;
		int rc;

		sqlite3_bind_int64(st, 1, s->run_id);
		rc = sqlite3_step(st);
		run = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		if (rc == SQLITE_DONE)
			return 0;
		if (rc != SQLITE_ROW)
			return db_fail(s, "looking for earlier analyses");

		st = stmt(s, S_FOREIGN_INPUTS);
		sqlite3_bind_int64(st, 1, s->run_id);
		sqlite3_bind_int64(st, 2, run);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			set_err(s, "%s: an earlier analysis (run %lld) holds "
			    "some of these packets together with %s, which is "
			    "not among the inputs now; analyze the same set of "
			    "files again, or use another database", s->path,
			    (long long)run, sqlite3_column_text(st, 0));
			sqlite3_reset(st);
			return -1;
		}
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return db_fail(s, "comparing with earlier analyses");
		if (delete_run(s, run) != 0)
			return -1;
		(*replaced)++;
	}
}

int
store_run_finish(struct store *s, const struct store_run_stats *rs,
    int *replaced)
{
	sqlite3_stmt *st;

	*replaced = 0;
	if (replace_earlier(s, replaced) != 0)
		goto fail;
	st = stmt(s, S_RUN_FINISH);
	sqlite3_bind_int64(st, 1, s->run_id);
	sqlite3_bind_int64(st, 2, now_us());
	sqlite3_bind_int64(st, 3, (sqlite3_int64)rs->packets);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)rs->decoded);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)rs->malformed);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)rs->flows);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)rs->errors_matched);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)rs->errors_unseen);
	if (exec_stmt(s, st, "recording the run") != 0)
		goto fail;
	st = stmt(s, S_RUN_RANGE);
	sqlite3_bind_int64(st, 1, s->run_id);
	sqlite3_bind_int64(st, 2, s->first_flow_id);
	sqlite3_bind_int64(st, 3, s->next_flow_id - 1);
	if (exec_stmt(s, st, "recording the run's flows") != 0)
		goto fail;
	return commit_flushing(s);
fail:
	store_run_abort(s);
	return -1;
}

void
store_run_abort(struct store *s)
{
	if (!s->in_txn)
		return;
	sqlite3_step(stmt(s, S_ROLLBACK));
	sqlite3_reset(s->st[S_ROLLBACK]);
	s->in_txn = 0;
}

/* Live runs. */

int
store_live_begin(struct store *s, const char *const *ifaces, int n)
{
	char digest[96];
	int64_t started = now_us();

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
		return db_fail(s, "checkpointing the moved database");
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
	if (exec_stmt(s, stmt(s, S_BEGIN), "starting a transaction") != 0)
		return -1;
	s->in_txn = 1;
	return 0;
}

int
store_batch_commit(struct store *s)
{
	if (exec_stmt(s, stmt(s, S_COMMIT), "committing") != 0) {
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
	sqlite3_stmt *st = stmt(s, S_STATS_INSERT);
	const uint64_t v[] = { ls->packets, ls->decoded, ls->malformed,
	    ls->duplicates, ls->kernel_drops, ls->flows_active,
	    ls->flows_written, ls->flows_evicted, ls->errors_matched,
	    ls->errors_unseen, ls->write_failures, ls->errors_capped };

	sqlite3_bind_int64(st, 1, s->run_id);
	sqlite3_bind_int64(st, 2, now_us());
	for (int i = 0; i < (int)(sizeof(v) / sizeof(v[0])); i++)
		sqlite3_bind_int64(st, 3 + i, (sqlite3_int64)v[i]);
	return exec_stmt(s, st, "writing statistics");
}

int
store_malformed_clear(struct store *s)
{
	sqlite3_stmt *st = stmt(s, S_DEL_MALFORMED);

	sqlite3_bind_int64(st, 1, s->run_id);
	return exec_stmt(s, st, "replacing malformed counts");
}

int
store_prune(struct store *s, int64_t before_us, uint64_t *deleted)
{
	sqlite3_stmt *st = stmt(s, S_PRUNE_ERRORS);

	sqlite3_bind_int64(st, 1, before_us);
	if (exec_stmt(s, st, "pruning old errors") != 0)
		return -1;
	st = stmt(s, S_PRUNE_FLOWS);
	sqlite3_bind_int64(st, 1, before_us);
	if (exec_stmt(s, st, "pruning old flows") != 0)
		return -1;
	*deleted = (uint64_t)sqlite3_changes(s->db);
	return 0;
}

int
store_live_end(struct store *s)
{
	sqlite3_stmt *st = stmt(s, S_RUN_END);

	sqlite3_bind_int64(st, 1, s->run_id);
	sqlite3_bind_int64(st, 2, now_us());
	return exec_stmt(s, st, "closing the run");
}

/* Reading. */

int
store_query_stats(struct store *s, store_stats_fn fn, void *arg)
{
	sqlite3_stmt *st = stmt(s, S_STATS_LATEST);
	int rc, ret = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_stats_row r;
		uint64_t *v[] = { &r.s.packets, &r.s.decoded, &r.s.malformed,
		    &r.s.duplicates, &r.s.kernel_drops, &r.s.flows_active,
		    &r.s.flows_written, &r.s.flows_evicted, &r.s.errors_matched,
		    &r.s.errors_unseen, &r.s.write_failures, &r.s.errors_capped };
		memset(&r, 0, sizeof(r));
		r.run_id = sqlite3_column_int64(st, 0);
		r.mode = (const char *)sqlite3_column_text(st, 1);
		r.started_us = sqlite3_column_int64(st, 2);
		r.running = sqlite3_column_type(st, 3) == SQLITE_NULL;
		r.at_us = sqlite3_column_int64(st, 4);
		for (int i = 0; i < (int)(sizeof(v) / sizeof(v[0])); i++)
			*v[i] = (uint64_t)sqlite3_column_int64(st, 5 + i);
		sqlite3_stmt *mw = stmt(s, S_MALFORMED_OF_RUN);
		sqlite3_bind_int64(mw, 1, r.run_id);
		while (r.nwhy < 16 && sqlite3_step(mw) == SQLITE_ROW) {
			const unsigned char *t = sqlite3_column_text(mw, 0);
			snprintf(r.why[r.nwhy], sizeof(r.why[0]), "%s",
			    t ? (const char *)t : "?");
			r.why_count[r.nwhy++] =
			    (uint64_t)sqlite3_column_int64(mw, 1);
		}
		sqlite3_reset(mw);
		if ((ret = fn(&r, arg)) != 0)
			break;
	}
	sqlite3_reset(st);
	if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_fail(s, "reading statistics");
	return ret;
}

static void
column_addr(sqlite3_stmt *st, int col, uint8_t out[16], uint8_t *family)
{
	int n = sqlite3_column_bytes(st, col);
	const void *p = sqlite3_column_blob(st, col);

	memset(out, 0, 16);
	if (p != NULL && (n == 4 || n == 16))
		memcpy(out, p, (size_t)n);
	if (family != NULL)
		*family = n == 16 ? 6 : 4;
}

static int
read_errors(struct store *s, struct flow_record *f, struct error_record **buf,
    size_t *cap)
{
	sqlite3_stmt *st = stmt(s, S_ERRORS_OF_FLOW);
	size_t n = 0;
	int rc;

	sqlite3_bind_int64(st, 1, f->id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == *cap) {
			size_t ncap = *cap ? *cap * 2 : 8;
			struct error_record *nb = realloc(*buf,
			    ncap * sizeof(*nb));
			if (nb == NULL) {
				sqlite3_reset(st);
				set_err(s, "%s: out of memory", s->path);
				return -1;
			}
			*buf = nb;
			*cap = ncap;
		}
		struct error_record *e = &(*buf)[n++];
		memset(e, 0, sizeof(*e));
		e->family = (uint8_t)sqlite3_column_int(st, 0);
		e->type = (uint8_t)sqlite3_column_int(st, 1);
		e->code = (uint8_t)sqlite3_column_int(st, 2);
		column_addr(st, 3, e->reporter, NULL);
		e->count = (uint32_t)sqlite3_column_int64(st, 4);
		e->first_us = sqlite3_column_int64(st, 5);
		e->last_us = sqlite3_column_int64(st, 6);
		e->has_mtu = sqlite3_column_type(st, 7) != SQLITE_NULL;
		e->mtu = (uint32_t)sqlite3_column_int64(st, 7);
		e->matched = (uint32_t)sqlite3_column_int64(st, 8);
		e->altered = (uint32_t)sqlite3_column_int64(st, 9);
		e->rtt_us = sqlite3_column_type(st, 10) == SQLITE_NULL ? -1 :
		    sqlite3_column_int64(st, 10);
		e->sent_ttl = (uint8_t)sqlite3_column_int(st, 11);
		e->quoted_ttl = (uint8_t)sqlite3_column_int(st, 12);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(s, "reading ICMP errors");
	f->errors = *buf;
	f->nerrors = n;
	return 0;
}

struct sqlbuf {
	char	sql[2048];
	size_t	len;
};

static void
sql_add(struct sqlbuf *b, const char *frag)
{
	size_t n = strlen(frag);

	if (b->len + n < sizeof(b->sql)) {
		memcpy(b->sql + b->len, frag, n + 1);
		b->len += n;
	}
}

/* Numbered parameters, so a value used twice is bound once. */
enum {
	P_HOST_LO = 40, P_HOST_HI, P_SRC_LO, P_SRC_HI, P_DST_LO, P_DST_HI,
	P_NET_LO, P_NET_HI, P_REPORTER, P_PORT, P_PROTO, P_SINCE, P_UNTIL,
	P_LIMIT,
};

/*
 * An address range as SQL: the column(s) between parameters ?lo and ?lo+1,
 * of the same length (the family). Only parameter numbers are printed
 * here, never values.
 */
static void
sql_range(struct sqlbuf *b, int lo, int either_side, const char *col)
{
	char frag[256];

	if (either_side)
		snprintf(frag, sizeof(frag), " AND length(src) = length(?%d) AND"
		    " (src BETWEEN ?%d AND ?%d OR dst BETWEEN ?%d AND ?%d)", lo,
		    lo, lo + 1, lo, lo + 1);
	else
		snprintf(frag, sizeof(frag), " AND length(%s) = length(?%d) AND"
		    " %s BETWEEN ?%d AND ?%d", col, lo, col, lo, lo + 1);
	sql_add(b, frag);
}

static void
bind_range(sqlite3_stmt *st, int lo, const struct store_addr_filter *f)
{
	if (f->lo == NULL)
		return;
	sqlite3_bind_blob(st, lo, f->lo, (int)f->len, SQLITE_STATIC);
	sqlite3_bind_blob(st, lo + 1, f->hi, (int)f->len, SQLITE_STATIC);
}

/*
 * The query is assembled from fixed fragments chosen by which filters are
 * present; every value goes in as a bound parameter. Blobs compare like
 * memcmp, so an address range is a BETWEEN over network-order bytes.
 */
int
store_query_flows(struct store *s, const struct store_query *q,
    store_flow_fn fn, void *arg)
{
	static const char *const order[] = {
		[SORT_FIRST]	= " ORDER BY first_us, id",
		[SORT_LAST]	= " ORDER BY last_us DESC, id",
		[SORT_PACKETS]	= " ORDER BY pkts_sent + pkts_back DESC, id",
		[SORT_ERRORS]	= (" ORDER BY (SELECT COALESCE(SUM(count), 0)"
		    " FROM errors WHERE flow_id = flows.id) DESC, id"),
	};
	struct sqlbuf b = { .len = 0 };
	sqlite3_stmt *st;
	struct error_record *ebuf = NULL;
	size_t ecap = 0, nstates = q->states ? q->nstates : 0;
	int rc, ret = 0;

	if (nstates > STATE_MAX)
		nstates = STATE_MAX;
	sql_add(&b, "SELECT id, proto, src, sport, dst, dport, first_us,"
	    " last_us, pkts_sent, bytes_sent, pkts_back, bytes_back, state,"
	    " pkts_errored, syns, syn_span_us, tcp_end, end_by, rst_ttl, dst_ttl"
	    " FROM flows WHERE 1");
	if (nstates > 0) {
		int answered = 0;
		sql_add(&b, " AND state IN (?");
		for (size_t i = 1; i < nstates; i++)
			sql_add(&b, ",?");
		sql_add(&b, ")");
		for (size_t i = 0; i < nstates; i++)
			answered |= q->states[i] == STATE_ANSWERED;
		/* the term that lets SQLite use the partial state index */
		if (!answered)
			sql_add(&b, " AND state != 10");
	}
	if (q->host.lo != NULL)
		sql_range(&b, P_HOST_LO, 1, NULL);
	if (q->src.lo != NULL)
		sql_range(&b, P_SRC_LO, 0, "src");
	if (q->dst.lo != NULL)
		sql_range(&b, P_DST_LO, 0, "dst");
	if (q->net.lo != NULL)
		sql_range(&b, P_NET_LO, 1, NULL);
	if (q->reporter != NULL)
		sql_add(&b, " AND EXISTS (SELECT 1 FROM errors WHERE"
		    " flow_id = flows.id AND reporter = ?48)");
	if (q->port >= 0)
		sql_add(&b, " AND (sport = ?49 OR dport = ?49)");
	if (q->proto >= 0)
		sql_add(&b, " AND proto = ?50");
	if (q->has_since)
		sql_add(&b, " AND last_us >= ?51");
	if (q->has_until)
		sql_add(&b, " AND first_us <= ?52");
	sql_add(&b, order[q->sort <= SORT_ERRORS ? q->sort : SORT_FIRST]);
	if (q->limit > 0)
		sql_add(&b, " LIMIT ?53");

	if (sqlite3_prepare_v2(s->db, b.sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(s, "preparing the query");
	for (size_t i = 0; i < nstates; i++)
		sqlite3_bind_int(st, (int)i + 1, q->states[i]);
	bind_range(st, P_HOST_LO, &q->host);
	bind_range(st, P_SRC_LO, &q->src);
	bind_range(st, P_DST_LO, &q->dst);
	bind_range(st, P_NET_LO, &q->net);
	if (q->reporter != NULL)
		sqlite3_bind_blob(st, P_REPORTER, q->reporter,
		    (int)q->reporterlen, SQLITE_STATIC);
	if (q->port >= 0)
		sqlite3_bind_int(st, P_PORT, q->port);
	if (q->proto >= 0)
		sqlite3_bind_int(st, P_PROTO, q->proto);
	if (q->has_since)
		sqlite3_bind_int64(st, P_SINCE, q->since_us);
	if (q->has_until)
		sqlite3_bind_int64(st, P_UNTIL, q->until_us);
	if (q->limit > 0)
		sqlite3_bind_int64(st, P_LIMIT, q->limit);

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct flow_record f;
		memset(&f, 0, sizeof(f));
		f.id = sqlite3_column_int64(st, 0);
		f.proto = (uint8_t)sqlite3_column_int(st, 1);
		column_addr(st, 2, f.src, &f.family);
		column_addr(st, 4, f.dst, NULL);
		f.has_ports = sqlite3_column_type(st, 3) != SQLITE_NULL;
		f.sport = (uint16_t)sqlite3_column_int(st, 3);
		f.dport = (uint16_t)sqlite3_column_int(st, 5);
		f.first_us = sqlite3_column_int64(st, 6);
		f.last_us = sqlite3_column_int64(st, 7);
		f.pkts_sent = (uint64_t)sqlite3_column_int64(st, 8);
		f.bytes_sent = (uint64_t)sqlite3_column_int64(st, 9);
		f.pkts_back = (uint64_t)sqlite3_column_int64(st, 10);
		f.bytes_back = (uint64_t)sqlite3_column_int64(st, 11);
		f.state = (uint8_t)sqlite3_column_int(st, 12);
		f.pkts_errored = (uint64_t)sqlite3_column_int64(st, 13);
		f.syns = (uint32_t)sqlite3_column_int64(st, 14);
		f.syn_span_us = sqlite3_column_int64(st, 15);
		f.end = (uint8_t)sqlite3_column_int(st, 16);
		f.end_by = (uint8_t)sqlite3_column_int(st, 17);
		f.rst_ttl = (uint8_t)sqlite3_column_int(st, 18);
		f.dst_ttl = (uint8_t)sqlite3_column_int(st, 19);
		if (read_errors(s, &f, &ebuf, &ecap) != 0) {
			ret = -1;
			break;
		}
		if ((ret = fn(&f, arg)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = db_fail(s, "querying flows");
	sqlite3_finalize(st);
	free(ebuf);
	return ret;
}
