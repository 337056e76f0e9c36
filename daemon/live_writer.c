/*
 * The live run's database side, on the capture thread: every flush
 * interval the new and changed flows are written in one transaction and
 * the idle ones leave memory; eviction at --max-flows, statistics rows,
 * pruning past --retain, and reopening on SIGHUP or when the file was
 * moved away (rotation).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/flow_json.h"
#include "daemon/clock.h"
#include "daemon/live_writer.h"
#include "daemon/log.h"
#include "daemon/writer.h"
#include "store/store.h"

struct live_writer {
	const struct live_opts	*o;
	struct store		*db;		/* NULL: to be reopened */
	FILE			*ndjson;
	dev_t			 db_dev;	/* the file the database is */
	ino_t			 db_ino;
	int			 db_same;	/* reopened the same file */
	struct store_live_stats	 st;
};

static void attach_db(struct live_writer *, struct analyzer *);

/* A flow written in this flush, applied once the commit succeeded. */
struct pending {
	struct flow	*f;
	int64_t		 id;
	json_t		*line;		/* for --ndjson, written after commit */
};

/* Flows written a batch of at most this many at a time. */
#define LIVE_BATCH_FLOWS	512

struct flush_ctx {
	struct live_writer *w;
	int64_t		 now, evict_before;
	int		 all;
	struct flow	**dirty;	/* to write, in table order */
	size_t		 ndirty, capdirty;
	struct pending	*put;		/* written: applied after commit */
	size_t		 nput;
	struct flow_key	*gone;		/* to drop after commit */
	size_t		 ngone, capgone;
	size_t		 evicted;
	int		 failed;
};

static int
grow(void **v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 1024;
	void *nv = realloc(*v, ncap * size);
	if (nv == NULL)
		return -1;
	*v = nv;
	*cap = ncap;
	return 0;
}

/* What the flush does with flow f: write it, drop it, both or neither. */
static int
flush_one(struct flow *f, void *arg)
{
	struct flush_ctx *c = arg;
	int expired = c->all || c->now - f->last_us >
	    export_idle_timeout(&c->w->o->ex, f);
	int evicted = !expired && f->last_us <= c->evict_before;

	if (c->failed || (!f->dirty && !expired && !evicted))
		return 0;
	if (f->dirty) {
		if (grow((void **)&c->dirty, &c->capdirty, c->ndirty,
		    sizeof(*c->dirty)) != 0) {
			c->failed = 1;
			return 0;
		}
		c->dirty[c->ndirty++] = f;
	}
	if (expired || evicted) {
		if (grow((void **)&c->gone, &c->capgone, c->ngone,
		    sizeof(*c->gone)) != 0)
			return 0;	/* stays in memory; retried next time */
		c->gone[c->ngone++] = f->key;
		if (evicted)
			c->evicted++;
	}
	return 0;
}

/*
 * Write the flows chosen, a batch at a time, in the open transaction;
 * each one's row id (and NDJSON line) waits in c->put for the commit.
 */
static int
write_dirty(struct flush_ctx *c, struct analyzer *a)
{
	struct live_writer *w = c->w;

	if (c->ndirty > 0 &&
	    (c->put = calloc(c->ndirty, sizeof(*c->put))) == NULL)
		return -1;
	for (size_t off = 0, m; off < c->ndirty; off += m) {
		m = c->ndirty - off < LIVE_BATCH_FLOWS ? c->ndirty - off :
		    LIVE_BATCH_FLOWS;
		struct writer_batch *b = writer_batch_append(NULL, a,
		    c->dirty + off, m, 0);
		if (b == NULL)
			return -1;
		if (writer_batch_put(w->db, b) != 0) {
			writer_batch_free(b);
			return -1;
		}
		for (size_t j = 0; j < m; j++, c->nput++) {
			c->put[c->nput].f = c->dirty[off + j];
			c->put[c->nput].id = writer_batch_id(b, j);
			c->put[c->nput].line = w->ndjson == NULL ? NULL :
			    flow_json(writer_batch_record(b, j));
		}
		writer_batch_free(b);
	}
	return 0;
}

/* Committed: the rows exist, so the flows are clean now. */
static void
apply_committed(struct live_writer *w, const struct flush_ctx *c,
    struct flow_table *ft)
{
	for (size_t i = 0; i < c->nput; i++) {
		struct flow *f = c->put[i].f;
		f->db_id = c->put[i].id;
		f->dirty = 0;
		if (c->put[i].line != NULL &&
		    json_line_write(c->put[i].line, w->ndjson) != 0)
			log_warn("%s", w->o->ndjson);
	}
	if (w->ndjson != NULL && fflush(w->ndjson) != 0)
		log_warn("%s", w->o->ndjson);
	for (size_t i = 0; i < c->ngone; i++) {
		struct flow *f = flow_table_find(ft, &c->gone[i]);
		if (f != NULL)
			flow_table_remove(ft, f);
	}
	w->st.flows_written += c->nput;
	w->st.flows_evicted += c->evicted;
}

/*
 * Write every new or changed flow in one transaction and drop the expired
 * ones (all of them when all is set). Nothing in memory changes until the
 * commit succeeds: a failed write keeps every flow as it was, to be
 * written at the next flush.
 */
void
live_writer_flush(struct live_writer *w, struct analyzer *a, int64_t now,
    int64_t evict_before, int all)
{
	struct flush_ctx c = { .w = w, .now = now, .all = all,
	    .evict_before = evict_before };
	struct flow_table *ft = analyzer_settle(a);

	attach_db(w, a);
	if (w->db == NULL) {
		w->st.write_failures++;
		return;
	}
	if (store_batch_begin(w->db) != 0) {
		c.failed = 1;
	} else {
		flow_table_foreach(ft, flush_one, &c);
		if (c.failed || write_dirty(&c, a) != 0 ||
		    store_batch_commit(w->db) != 0) {
			store_batch_abort(w->db);
			c.failed = 1;
		}
	}
	if (c.failed) {
		w->st.write_failures++;
		log_warnx("%s (%zu flows kept in memory, retried in %llds)",
		    store_errmsg(w->db), flow_table_count(ft),
		    (long long)(w->o->flush_us / 1000000));
	} else {
		apply_committed(w, &c, ft);
	}
	for (size_t i = 0; i < c.nput; i++)
		json_decref(c.put[i].line);
	free(c.put);
	free(c.dirty);
	free(c.gone);
}

static int
cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return a < b ? -1 : a > b;
}

struct collect_last {
	int64_t	*v;
	size_t	 n;
};

static int
collect_last(struct flow *f, void *arg)
{
	struct collect_last *c = arg;

	c->v[c->n++] = f->last_us;
	return 0;
}

void
live_writer_evict(struct live_writer *w, struct analyzer *a, int64_t now)
{
	struct flow_table *ft = analyzer_settle(a);
	size_t n = flow_table_count(ft);
	struct collect_last c = { calloc(n ? n : 1, sizeof(int64_t)), 0 };

	if (c.v == NULL)
		return;
	flow_table_foreach(ft, collect_last, &c);
	qsort(c.v, c.n, sizeof(*c.v), cmp_i64);
	int64_t before = c.v[c.n / 8];
	free(c.v);
	uint64_t was = w->st.flows_evicted;
	live_writer_flush(w, a, now, before, 0);
	log_warnx("%zu flows in memory reached --max-flows %zu: wrote out and "
	    "dropped %llu of the least recently active", n, w->o->max_flows,
	    (unsigned long long)(w->st.flows_evicted - was));
}

static int
store_malformed(struct live_writer *w, struct analyzer *a)
{
	if (store_malformed_clear(w->db) != 0)
		return -1;
	return export_malformed(w->db, analyzer_stats(a));
}

void
live_writer_store_stats(struct live_writer *w, struct analyzer *a)
{
	if (w->db == NULL)
		return;
	if (store_batch_begin(w->db) != 0 ||
	    store_stats_put(w->db, &w->st) != 0 ||
	    store_malformed(w, a) != 0 ||
	    store_batch_commit(w->db) != 0) {
		store_batch_abort(w->db);
		log_warnx("%s", store_errmsg(w->db));
	}
}

void
live_writer_prune(struct live_writer *w, int64_t now)
{
	uint64_t deleted = 0;
	int64_t before = now - (int64_t)w->o->retain_days * 86400 * 1000000;

	if (w->db == NULL)
		return;
	if (store_batch_begin(w->db) != 0 ||
	    store_prune(w->db, before, &deleted) != 0 ||
	    store_batch_commit(w->db) != 0) {
		store_batch_abort(w->db);
		log_warnx("%s", store_errmsg(w->db));
		return;
	}
	if (deleted > 0)
		log_info("pruned %llu flows older than %d days",
		    (unsigned long long)deleted, w->o->retain_days);
}

static FILE *
open_ndjson(const char *path)
{
	FILE *f = fopen(path, "a");

	if (f == NULL)
		log_warn("%s", path);
	return f;
}

static struct store *
open_db(const char *path)
{
	char err[512];
	struct store *db = store_open(path, STORE_WRITE, err, sizeof(err));

	if (db == NULL)
		log_warnx("%s", err);
	return db;
}

static void
remember_db_file(struct live_writer *w)
{
	struct stat sb;

	if (stat(w->o->dbpath, &sb) == 0) {
		w->db_dev = sb.st_dev;
		w->db_ino = sb.st_ino;
	}
}

static int forget_row(struct flow *, void *);

/*
 * (Re)open the database after a SIGHUP; on failure the flows stay in
 * memory and this is tried again at the next flush.
 */
static void
attach_db(struct live_writer *w, struct analyzer *a)
{
	if (w->db != NULL)
		return;
	if ((w->db = open_db(w->o->dbpath)) == NULL)
		return;
	if (w->db_same) {
		store_live_continue(w->db);
	} else {
		if (store_live_begin(w->db, w->o->ifaces, w->o->nifaces) != 0)
			log_warnx("%s", store_errmsg(w->db));
		/* the new file has none of the rows: write every flow anew */
		flow_table_foreach(analyzer_settle(a), forget_row, NULL);
		w->db_same = 1;
	}
	remember_db_file(w);
}

static int
forget_row(struct flow *f, void *arg)
{
	(void)arg;
	f->db_id = 0;
	f->dirty = 1;
	return 0;
}

void
live_writer_reopen(struct live_writer *w, struct analyzer *a)
{
	struct stat sb;

	log_reopen();
	live_writer_flush(w, a, wall_us(), INT64_MIN, 0);
	int same = stat(w->o->dbpath, &sb) == 0 && sb.st_dev == w->db_dev &&
	    sb.st_ino == w->db_ino;
	/*
	 * A moved database keeps its -wal under the old name, and SQLite does
	 * not checkpoint a moved file on close: checkpoint it now through the
	 * open descriptors, close, and remove the orphaned names before a new
	 * file of that name is created, or it would adopt the old WAL.
	 */
	if (!same && w->db != NULL && store_checkpoint(w->db) != 0)
		log_warnx("%s", store_errmsg(w->db));
	store_close(w->db);
	w->db = NULL;
	if (!same) {
		char path[4096];
		snprintf(path, sizeof(path), "%s-wal", w->o->dbpath);
		unlink(path);
		snprintf(path, sizeof(path), "%s-shm", w->o->dbpath);
		unlink(path);
	}
	w->db_same = same;
	attach_db(w, a);
	if (w->o->ndjson != NULL) {
		if (w->ndjson != NULL)
			fclose(w->ndjson);
		w->ndjson = open_ndjson(w->o->ndjson);
	}
	log_info("reopened the log, %s%s%s", w->o->dbpath,
	    w->o->ndjson ? " and " : "", w->o->ndjson ? w->o->ndjson : "");
}

struct live_writer *
live_writer_new(const struct live_opts *o)
{
	struct live_writer *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		log_warnx("out of memory");
		return NULL;
	}
	w->o = o;
	if ((w->db = open_db(o->dbpath)) == NULL ||
	    (o->ndjson != NULL && (w->ndjson = open_ndjson(o->ndjson)) ==
	    NULL)) {
		store_close(w->db);
		free(w);
		return NULL;
	}
	return w;
}

void
live_writer_before_fork(struct live_writer *w)
{
	store_close(w->db);
	w->db = NULL;
}

int
live_writer_after_fork(struct live_writer *w)
{
	return (w->db = open_db(w->o->dbpath)) != NULL ? 0 : -1;
}

void
live_writer_begin(struct live_writer *w)
{
	if (store_live_begin(w->db, w->o->ifaces, w->o->nifaces) != 0)
		fatalx("%s", store_errmsg(w->db));
	remember_db_file(w);
}

void
live_writer_check_file(struct live_writer *w, struct analyzer *a)
{
	struct stat sb;

	if (w->db != NULL && (stat(w->o->dbpath, &sb) != 0 ||
	    sb.st_ino != w->db_ino || sb.st_dev != w->db_dev)) {
		log_warnx("%s was removed or replaced: starting a new file "
		    "with the flows in memory", w->o->dbpath);
		live_writer_reopen(w, a);
	}
}

struct store_live_stats *
live_writer_stats(struct live_writer *w)
{
	return &w->st;
}

void
live_writer_end(struct live_writer *w)
{
	if (w->db != NULL && store_live_end(w->db) != 0)
		log_warnx("%s", store_errmsg(w->db));
	store_close(w->db);
	if (w->ndjson != NULL)
		fclose(w->ndjson);
	free(w);
}
