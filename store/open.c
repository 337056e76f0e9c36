/*
 * The store's connection: the schema and its migrations, the table of
 * every statement, opening and closing. Every statement is prepared once
 * and reused; values are always bound, never pasted into SQL. The schema
 * version lives in PRAGMA user_version, and the migrations from a file's
 * version to this build's run in one transaction with the version bump.
 */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/flowstate.h"
#include "store/store_int.h"

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
	/*
	 * 6 -> 7: how a flow was carried (common/encap.h: the layers as
	 * text, NULL when plain) and the tunnel a tunnel's own flow is;
	 * packets not decoded, by reason, as malformed ones are; packets
	 * carried in IP tunnels.
	 */
	"ALTER TABLE flows ADD COLUMN tunnel TEXT;"
	"ALTER TABLE flows ADD COLUMN encap TEXT;"
	"CREATE TABLE undecoded ("
	"  run_id INTEGER NOT NULL REFERENCES runs(id),"
	"  reason TEXT NOT NULL,"
	"  count INTEGER NOT NULL);"
	"ALTER TABLE runs ADD COLUMN undecoded INTEGER;"
	"ALTER TABLE runs ADD COLUMN tunneled INTEGER;"
	"ALTER TABLE stats ADD COLUMN undecoded INTEGER;"
	"ALTER TABLE stats ADD COLUMN tunneled INTEGER;"
	/*
	 * the IP packets of each family a run saw and the ICMP ones among
	 * them: a capture without ICMPv6 cannot show IPv6 errors
	 */
	"ALTER TABLE runs ADD COLUMN ip4 INTEGER;"
	"ALTER TABLE runs ADD COLUMN ip6 INTEGER;"
	"ALTER TABLE runs ADD COLUMN icmp4 INTEGER;"
	"ALTER TABLE runs ADD COLUMN icmp6 INTEGER;",
	/*
	 * 7 -> 8: the fleet store. This database's own name among gateways'
	 * (flow ids start again in a new file); the flows waiting to be sent
	 * to ClickHouse, each once, in the order they were last written; the
	 * runs replaced by a new analysis of their captures, whose flows
	 * ClickHouse must forget (kept until sent: a run is small).
	 */
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"INSERT INTO meta VALUES ('db_id', lower(hex(randomblob(8))));"
	"CREATE TABLE outbox ("
	"  flow_id INTEGER PRIMARY KEY,"
	"  seq INTEGER NOT NULL);"
	"CREATE INDEX outbox_seq ON outbox(seq);"
	"CREATE TABLE gone_runs (run_id INTEGER PRIMARY KEY);",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
    STORE_SCHEMA_VERSION, "one migration per schema version");
_Static_assert(STATE_ANSWERED == 10, "the partial index names answered as 10");

/* The same for run r of an outer query. */
#define RUN_FLOWS_R	"run_id = r.id AND id BETWEEN coalesce(r.flow_first, 0)" \
	" AND coalesce(r.flow_last, 9223372036854775807)"

/* An offline run's flows by its id range; without one, a scan. */
#define RUN_FLOWS	"run_id = ?1 AND id BETWEEN" \
	" coalesce((SELECT flow_first FROM runs WHERE id = ?1), 0) AND" \
	" coalesce((SELECT flow_last FROM runs WHERE id = ?1)," \
	" 9223372036854775807)"

static const char *const stmt_sql[S_COUNT] = {
	[S_BEGIN]	= "BEGIN IMMEDIATE",
	[S_COMMIT]	= "COMMIT",
	[S_ROLLBACK]	= "ROLLBACK",
	[S_RUN_INSERT]	= "INSERT INTO runs(mode, started_us) VALUES (?1, ?2)",
	[S_RUN_FINISH]	= "UPDATE runs SET finished_us = ?2, packets = ?3,"
	    " decoded = ?4, malformed = ?5, flows = ?6, errors_matched = ?7,"
	    " errors_unseen = ?8, undecoded = ?9, tunneled = ?10 WHERE id = ?1",
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
	    " dst_ttl = ?21, tunnel = ?22, encap = ?23 WHERE id = ?1",
	[S_DEL_ERRORS_OF_FLOW] = "DELETE FROM errors WHERE flow_id = ?1",
	[S_STATS_INSERT] = "INSERT INTO stats(run_id, at_us, packets, decoded,"
	    " malformed, duplicates, kernel_drops, flows_active, flows_written,"
	    " flows_evicted, errors_matched, errors_unseen, write_failures,"
	    " errors_capped, undecoded, tunneled) VALUES (?1, ?2, ?3, ?4, ?5,"
	    " ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
	[S_RUN_END]	= "UPDATE runs SET finished_us = ?2 WHERE id = ?1",
	[S_PRUNE_ERRORS] = "DELETE FROM errors WHERE flow_id IN"
	    " (SELECT id FROM flows WHERE last_us < ?1)",
	[S_PRUNE_FLOWS]	= "DELETE FROM flows WHERE last_us < ?1",
	[S_STATS_LATEST] = "SELECT r.id, r.mode, r.started_us, r.finished_us,"
	    " s.at_us, s.packets, s.decoded, s.malformed, s.duplicates,"
	    " s.kernel_drops, s.flows_active, s.flows_written, s.flows_evicted,"
	    " s.errors_matched, s.errors_unseen, s.write_failures,"
	    " s.errors_capped, s.undecoded, s.tunneled"
	    " FROM runs r JOIN stats s ON s.run_id = r.id"
	    " WHERE s.at_us = (SELECT MAX(at_us) FROM stats WHERE run_id = r.id)"
	    " ORDER BY r.id DESC",
	[S_MALFORMED_OF_RUN] = "SELECT reason, count FROM malformed"
	    " WHERE run_id = ?1 ORDER BY reason",
	[S_UNDECODED_INSERT] = "INSERT INTO undecoded(run_id, reason, count)"
	    " VALUES (?1, ?2, ?3)",
	[S_DEL_UNDECODED] = "DELETE FROM undecoded WHERE run_id = ?1",
	[S_UNDECODED_OF_RUN] = "SELECT reason, count FROM undecoded"
	    " WHERE run_id = ?1 ORDER BY count DESC, reason",
	/* a run without statistics rows: an offline run's own counts */
	[S_RUNS] = "SELECT r.id, r.mode, r.started_us, r.finished_us,"
	    " r.packets, r.decoded, r.malformed, r.flows, r.errors_matched,"
	    " r.errors_unseen, r.undecoded, r.tunneled,"
	    " (SELECT min(first_us) FROM flows WHERE " RUN_FLOWS_R "),"
	    " (SELECT max(last_us) FROM flows WHERE " RUN_FLOWS_R ")"
	    " FROM runs r WHERE NOT EXISTS (SELECT 1 FROM stats"
	    " WHERE run_id = r.id) ORDER BY r.id DESC",
	[S_INPUTS_OF_RUN] = "SELECT name, packets FROM inputs WHERE run_id = ?1"
	    " ORDER BY rowid",
	[S_TUNNEL_CARRIED] = "SELECT count(*) FROM flows WHERE last_us >= ?1"
	    " AND first_us <= ?2 AND tunnel IS NULL"
	    " AND (encap LIKE ?3 OR encap LIKE ?4)",
	[S_OUTBOX_PUT] = "INSERT OR REPLACE INTO outbox(flow_id, seq)"
	    " VALUES (?1, ?2)",
	[S_OUTBOX_RUN] = "INSERT OR REPLACE INTO outbox(flow_id, seq)"
	    " SELECT id, ?2 + id FROM flows WHERE " RUN_FLOWS,
	[S_OUTBOX_MAXSEQ] = "SELECT coalesce(max(seq), 0) FROM outbox",
	[S_OUTBOX_TAKE] = "SELECT " FLOW_COLUMNS ", o.flow_id, o.seq"
	    " FROM outbox o LEFT JOIN flows ON flows.id = o.flow_id"
	    " ORDER BY o.seq LIMIT ?1",
	/* what was taken: the writer numbers entries past every one queued */
	[S_OUTBOX_DONE] = "DELETE FROM outbox WHERE seq BETWEEN ?1 AND ?2",
	[S_OUTBOX_COUNT] = "SELECT count(*) FROM outbox",
	/* the oldest beyond the bound: their flows stay, unsent */
	[S_OUTBOX_TRIM] = "DELETE FROM outbox WHERE seq <= (SELECT seq FROM"
	    " outbox ORDER BY seq DESC LIMIT 1 OFFSET ?1)",
	[S_DB_ID] = "SELECT value FROM meta WHERE key = 'db_id'",
	[S_GONE_PUT] = "INSERT OR IGNORE INTO gone_runs VALUES (?1)",
	[S_GONE_TAKE] = "SELECT run_id FROM gone_runs ORDER BY run_id LIMIT ?1",
	[S_GONE_DONE] = "DELETE FROM gone_runs WHERE run_id = ?1",
	/* each by the last_us index: min and max together would scan */
	[S_FLOW_SPAN] = "SELECT (SELECT min(last_us) FROM flows),"
	    " (SELECT max(last_us) FROM flows)",
	[S_RUN_FAMILIES] = "UPDATE runs SET ip4 = ?2, ip6 = ?3, icmp4 = ?4,"
	    " icmp6 = ?5 WHERE id = ?1",
	[S_FAMILIES_OF_RUN] = "SELECT coalesce(ip4, 0), coalesce(ip6, 0),"
	    " coalesce(icmp4, 0), coalesce(icmp6, 0) FROM runs WHERE id = ?1",
	[S_TUNNEL_ERRORS] = "SELECT e.family, e.type, e.code, e.reporter,"
	    " e.count, e.first_us, e.last_us, e.mtu, e.matched, e.altered,"
	    " e.rtt_us, e.sent_ttl, e.quoted_ttl FROM flows f"
	    " JOIN errors e ON e.flow_id = f.id WHERE f.tunnel = ?1"
	    " AND ((f.src = ?2 AND f.dst = ?3) OR (f.src = ?3 AND f.dst = ?2))"
	    " AND f.last_us >= ?4 AND f.first_us <= ?5 ORDER BY e.first_us",
	[S_MAX_FLOW_ID]	= "SELECT coalesce(max(id), 0) FROM flows",
	[S_RUN_RANGE]	= "UPDATE runs SET flow_first = ?2, flow_last = ?3"
	    " WHERE id = ?1",
	[S_INPUT_UPGRADE] = "UPDATE inputs SET digest = ?1 WHERE digest = ?2",
	/* version 2 digests say so; live inputs are never the same packets */
	[S_V1_DIGESTS]	= "SELECT 1 FROM inputs WHERE digest NOT LIKE 'v2:%'"
	    " AND digest NOT LIKE 'live:%' LIMIT 1",
};

void
store_set_err(struct store *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
}

int
store_db_fail(struct store *s, const char *what)
{
	store_set_err(s, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
	return -1;
}

const char *
store_errmsg(const struct store *s)
{
	return s->err;
}

int64_t
store_now_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

sqlite3_stmt *
store_stmt(struct store *s, enum stmt which)
{
	sqlite3_stmt *st = s->st[which];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

int
store_exec(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_db_fail(s, what);
	return 0;
}


/* The value of a PRAGMA that answers one integer; what: for the error. */
static int
pragma_int(struct store *s, const char *sql, int *v, const char *what)
{
	sqlite3_stmt *st;
	int rc;

	*v = 0;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return store_db_fail(s, what);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return store_db_fail(s, what);
	return 0;
}

static int
user_version(struct store *s, int *version)
{
	return pragma_int(s, "PRAGMA user_version", version,
	    "reading the schema version");
}

/* A schema newer than this build's: refused, saying so. */
static int
too_new(struct store *s, int version)
{
	store_set_err(s, "%s: schema version %d is newer than this udpflows "
	    "understands (%d); use a newer udpflows", s->path, version,
	    STORE_SCHEMA_VERSION);
	return -1;
}

/*
 * Every step from the file's version to this build's in one transaction,
 * the version read again inside it (another writer may have upgraded the
 * file meanwhile): an upgrade that fails changes nothing, and a new file
 * gets its schema with one sync, not one a step.
 */
static int
migrate(struct store *s)
{
	char bump[64];
	int version;

	if (user_version(s, &version) != 0)
		return -1;
	if (version > STORE_SCHEMA_VERSION)
		return too_new(s, version);
	if (version == STORE_SCHEMA_VERSION)
		return 0;
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return store_db_fail(s, "starting the schema migration");
	if (user_version(s, &version) != 0)
		goto fail;
	if (version > STORE_SCHEMA_VERSION) {
		too_new(s, version);
		goto fail;
	}
	for (; version < STORE_SCHEMA_VERSION; version++)
		if (sqlite3_exec(s->db, migrations[version], NULL, NULL,
		    NULL) != SQLITE_OK) {
			store_db_fail(s, "migrating the schema");
			goto fail;
		}
	snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", version);
	if (sqlite3_exec(s->db, bump, NULL, NULL, NULL) != SQLITE_OK) {
		store_db_fail(s, "migrating the schema");
		goto fail;
	}
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		store_db_fail(s, "committing the schema migration");
		goto fail;
	}
	return 0;
fail:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/*
 * A run that created its database and was stopped midway (killed, the
 * power cut) leaves its rollback journal behind, hot: it must be rolled
 * back before the file can be read, which a read-only connection cannot
 * do. A reader opens a second connection that may write, whose first
 * read rolls the journal back, and then reads on with its own.
 */
static int
roll_back_stopped_run(struct store *s)
{
	sqlite3 *db = NULL;
	int rc;

	if ((rc = sqlite3_open_v2(s->path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL)) == SQLITE_OK) {
		sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
		rc = sqlite3_exec(db, "PRAGMA user_version", NULL, NULL, NULL);
	}
	sqlite3_close(db);
	if (rc != SQLITE_OK) {
		store_set_err(s, "%s: a run that was creating it was stopped "
		    "midway and must be rolled back, which needs write access "
		    "to it and its directory (the next udpflowd run on it does "
		    "it)", s->path);
		return -1;
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
		store_set_err(s, "%s: not a udpflows database (no schema); "
		    "create it with udpflowd", s->path);
		return -1;
	}
	if (version < STORE_SCHEMA_VERSION) {
		store_set_err(s, "%s: schema version %d is older than this udpflows "
		    "reads (%d); udpflowd upgrades it when it next writes to it",
		    s->path, version, STORE_SCHEMA_VERSION);
		return -1;
	}
	if (version != STORE_SCHEMA_VERSION) {
		store_set_err(s, "%s: schema version %d, this udpflows reads "
		    "version %d", s->path, version, STORE_SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

/*
 * check_version for a reader: once more after a stopped run is rolled
 * back, and saying why when a run creating the database holds it.
 */
static int
reader_check_version(struct store *s)
{
	char journal[PATH_MAX];

	if (check_version(s) == 0)
		return 0;
	switch (sqlite3_extended_errcode(s->db)) {
	case SQLITE_READONLY_ROLLBACK:
		if (roll_back_stopped_run(s) != 0)
			return -1;
		return check_version(s);
	case SQLITE_BUSY:
		snprintf(journal, sizeof(journal), "%s-journal", s->path);
		if (access(journal, F_OK) == 0)
			store_set_err(s, "%s: a run creating it is still "
			    "writing it (udpflowd -r); it can be read once the "
			    "run is stored", s->path);
		return -1;
	}
	return -1;
}

/* INSERT <head> (<row>),(<row>),... rows times. */
static sqlite3_stmt *
prepare_rows(struct store *s, const char *head, const char *row, int rows)
{
	size_t hl = strlen(head), rl = strlen(row), len = hl + rows * (rl + 3);
	char *sql = malloc(len + 1), *p;
	sqlite3_stmt *st = NULL;

	if (sql == NULL) {
		store_set_err(s, "%s: out of memory", s->path);
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
		store_db_fail(s, "preparing a statement");
	free(sql);
	return st;
}

/*
 * The multi-row INSERTs of a run's flows and errors, made at the run's
 * first flows (store_run_flows), not at open: parsing statements of
 * thousands of parameters takes milliseconds, which an offline run's
 * writer thread spends while the reader reads instead of before.
 */
int
store_prepare_many(struct store *s)
{
	if (s->flows_many[0] != NULL)
		return 0;
	for (size_t i = 0; i < MANY_SIZES; i++)
		if ((s->flows_many[i] = prepare_rows(s, FLOW_INSERT, FLOW_ROW,
		    store_many_rows[i])) == NULL ||
		    (s->errors_many[i] = prepare_rows(s, ERROR_INSERT,
		    ERROR_ROW, store_many_rows[i])) == NULL)
			return -1;
	return 0;
}

/* 1: the file has no page yet (this open creates the database). */
static int
is_new(struct store *s)
{
	int pages;

	if (pragma_int(s, "PRAGMA page_count", &pages,
	    "reading the database's size") != 0)
		return -1;
	return pages == 0;
}

/* A writer's journal, but while a run creates the database. */
static const char wal_settings[] =
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL";

/*
 * A writer's settings. The page size applies to a new database only (a
 * no-op on one that has pages): a run's transaction goes through the WAL,
 * is checksummed again at commit and copied into the database by the
 * checkpoint, each a page at a time, so larger pages make those fewer
 * calls.
 */
static int
set_up_writer(struct store *s, int run)
{
	const char *journal = wal_settings;

	if (sqlite3_exec(s->db, "PRAGMA page_size = 16384", NULL, NULL,
	    NULL) != SQLITE_OK)
		return store_db_fail(s, "setting the page size");
	/*
	 * A new file starts in rollback-journal mode, and a run that
	 * creates it keeps it until the run is stored (store_run_finish).
	 * FULL: the journal is synced before the file is written, so that a
	 * power cut loses at most the run.
	 */
	if (run && (s->direct = is_new(s)) < 0)
		return -1;
	if (s->direct)
		journal = "PRAGMA synchronous = FULL";
	if (sqlite3_exec(s->db, journal, NULL, NULL, NULL) != SQLITE_OK ||
	    /* no temporary files outside the database's directory */
	    sqlite3_exec(s->db, "PRAGMA temp_store = MEMORY", NULL,
	    NULL, NULL) != SQLITE_OK)
		return store_db_fail(s, "setting up the journal");
	return migrate(s);
}

/*
 * The run that created the database is stored: WAL from now on. When a
 * reader keeps that from happening (the change needs the file alone),
 * the database stays as it is, whole, and the next writer's open makes
 * the change.
 */
void
store_direct_end(struct store *s)
{
	if (!s->direct)
		return;
	s->direct = 0;
	(void)sqlite3_exec(s->db, wal_settings, NULL, NULL, NULL);
}

/* The statements of the mode: a reader prepares only its few. */
static int
prepare_all(struct store *s)
{
	for (int i = 0; i < S_COUNT; i++) {
		if (s->mode == STORE_READ && i != S_ERRORS_OF_FLOW &&
		    i != S_STATS_LATEST && i != S_MALFORMED_OF_RUN &&
		    i != S_UNDECODED_OF_RUN && i != S_RUNS &&
		    i != S_INPUTS_OF_RUN && i != S_TUNNEL_CARRIED &&
		    i != S_TUNNEL_ERRORS && i != S_FAMILIES_OF_RUN &&
		    i != S_FLOW_SPAN)
			continue;
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) != SQLITE_OK)
			return store_db_fail(s, "preparing a statement");
	}
	return 0;
}

static int
open_connection(struct store *s)
{
	/*
	 * One thread at a time uses a connection (udpflowd's writer thread
	 * takes it over while a file is read), so SQLite's own locks around
	 * every call, and its counting of memory, are only cost. The
	 * configuration fails harmlessly once SQLite runs.
	 */
	int flags = SQLITE_OPEN_NOMUTEX | (s->mode == STORE_WRITE ?
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : s->mode == STORE_SEND ?
	    SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY);

	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (sqlite3_open_v2(s->path, &s->db, flags, NULL) != SQLITE_OK) {
		if (s->db == NULL) {
			store_set_err(s, "%s: cannot open the database",
			    s->path);
			return -1;
		}
		return store_db_fail(s, "cannot open the database");
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	return 0;
}

struct store *
store_open(const char *path, int mode, char *err, size_t errlen)
{
	struct store *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		free(s);
		return NULL;
	}
	s->mode = mode == STORE_WRITE_RUN ? STORE_WRITE : mode;
	s->wal_fd = -1;
	s->db_fd = -1;
	/* SQLite says "disk I/O error" of a directory: say what it is */
	struct stat sb;
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s: is a directory, not a database "
		    "file (give a file in it, -d %s/flows.db)", path, path);
		store_close(s);
		return NULL;
	}
	if (open_connection(s) != 0 ||
	    (s->mode == STORE_WRITE ? set_up_writer(s, mode == STORE_WRITE_RUN) :
	    reader_check_version(s)) != 0 ||
	    prepare_all(s) != 0) {
		snprintf(err, errlen, "%s", s->err);
		store_close(s);
		return NULL;
	}
	return s;
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

