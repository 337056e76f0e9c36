/*
 * The live run's database side, on the capture thread: every flush
 * interval the new and changed flows are written in one transaction and
 * the idle ones leave memory; eviction at --max-flows, statistics rows,
 * pruning past --retain, and reopening on SIGHUP or when the file was
 * moved away (rotation).
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/flow_json.h"
#include "daemon/clock.h"
#include "daemon/expiry_wheel.h"
#include "daemon/live_writer.h"
#include "daemon/log.h"
#include "daemon/writer.h"
#include "store/store.h"


/*
 * Work for the writer thread, one job at a time: built on the capture
 * thread, done by the writer thread with the connection, then collected
 * (applied to memory) on the capture thread. The connection is the writer
 * thread's from submit to done, the capture thread's otherwise.
 */
enum job_kind { JOB_FLUSH, JOB_STATS, JOB_PRUNE };

/* A flow to drop once the flush is committed, unless it changed since. */
struct gone {
	struct flow	*f;
	int		 evicted;
};

struct job {
	enum job_kind		 kind;
	int			 rc;
	/* JOB_FLUSH */
	struct writer_batch	**b;		/* the flows exported, in order */
	size_t			 nb, capb;
	struct flow		**put;		/* those flows, in batch order */
	size_t			 nput, capput;
	struct gone		*gone;
	size_t			 ngone, capgone;
	size_t			 evicting;	/* flows in memory at --max-flows */
	/* JOB_STATS */
	struct store_live_stats	 st;
	struct analyzer_stats	 as;
	/* JOB_PRUNE */
	int64_t			 before;
	uint64_t		 deleted;
};

/* Changed flows a flush takes from the log at most. */
#define FLUSH_MAX_FLOWS		32768

/* Flows written a batch of at most this many at a time. */
#define LIVE_BATCH_FLOWS	512

struct live_writer {
	const struct live_opts	*o;
	struct store		*db;		/* NULL: to be reopened */
	FILE			*ndjson;
	dev_t			 db_dev;	/* the file the database is */
	ino_t			 db_ino;
	int			 db_same;	/* reopened the same file */
	struct store_live_stats	 st;
	/* the flows in memory by when they expire, and those changed */
	struct expiry_wheel	*wheel;
	int			 logging;	/* the table's dirty log is on */
	int			 rescan;	/* the wheel missed flows */
	/* the fleet store's sender, started with the first flush */
	struct ch_sender	*ch;
	/* the writer thread and its one job */
	pthread_t		 thread;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;		/* submitted, done, or quit */
	int			 started;
	int			 busy;		/* a job submitted, not collected */
	int			 done;		/* ... and written */
	int			 quit;
	struct job		 job;
};

static void attach_db(struct live_writer *, struct analyzer *);

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

/* File f in the wheel by when it expires, as it is now. */
static void
refile(struct live_writer *w, struct flow *f)
{
	if (expiry_wheel_file(w->wheel, f, f->last_us +
	    export_idle_timeout(&w->o->ex, f)) != 0)
		w->rescan = 1;
}

/* Flows to drop that stay in memory after all are filed again. */
static void
gone_stay(struct live_writer *w, struct job *j)
{
	for (size_t i = 0; i < j->ngone; i++)
		refile(w, j->gone[i].f);
}

/*
 * The written flows are in the outbox: the sender takes them now. Started
 * here, after the sandbox, which then holds its thread too.
 */
static void
fleet_kick(struct live_writer *w)
{
	char err[512];

	if (w->o->ch.url == NULL)
		return;
	if (w->ch == NULL && (w->ch = ch_sender_start(&w->o->ch, err,
	    sizeof(err))) == NULL) {
		log_warnx("ClickHouse: %s", err);
		return;
	}
	ch_sender_kick(w->ch);
}

int
live_writer_fleet_stats(struct live_writer *w, struct ch_sender_stats *st)
{
	if (w->ch == NULL)
		return 0;
	ch_sender_stats(w->ch, st);
	return 1;
}

/* The writer thread's part of a job. */
static int
job_run(struct store *db, struct job *j)
{
	switch (j->kind) {
	case JOB_FLUSH:
		if (store_batch_begin(db) != 0)
			return -1;
		for (size_t i = 0; i < j->nb; i++)
			if (writer_batch_put(db, j->b[i]) != 0)
				goto abort;
		break;
	case JOB_STATS:
		if (store_batch_begin(db) != 0)
			return -1;
		if (store_stats_put(db, &j->st) != 0 ||
		    store_malformed_clear(db) != 0 ||
		    export_malformed(db, &j->as) != 0)
			goto abort;
		break;
	case JOB_PRUNE:
		if (store_batch_begin(db) != 0)
			return -1;
		if (store_prune(db, j->before, &j->deleted) != 0)
			goto abort;
		break;
	}
	return store_batch_commit(db);
abort:
	store_batch_abort(db);
	return -1;
}

static void *
writer_main(void *arg)
{
	struct live_writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->quit && !(w->busy && !w->done))
			pthread_cond_wait(&w->cv, &w->mu);
		if (!(w->busy && !w->done))
			break;
		pthread_mutex_unlock(&w->mu);
		int rc = job_run(w->db, &w->job);
		pthread_mutex_lock(&w->mu);
		w->job.rc = rc;
		w->done = 1;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Hand the job built in w->job to the writer thread (started if need be). */
static int
job_submit(struct live_writer *w)
{
	if (!w->started) {
		if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
			log_warnx("cannot start the writer thread");
			return -1;
		}
		w->started = 1;
	}
	pthread_mutex_lock(&w->mu);
	w->busy = 1;
	w->done = 0;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

/* 1 when no job is in flight or the one in flight is done. */
static int
job_idle(struct live_writer *w)
{
	pthread_mutex_lock(&w->mu);
	int idle = !w->busy || w->done;
	pthread_mutex_unlock(&w->mu);
	return idle;
}

static void
job_wait(struct live_writer *w)
{
	pthread_mutex_lock(&w->mu);
	while (w->busy && !w->done)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

static void
job_free(struct job *j)
{
	for (size_t i = 0; i < j->nb; i++)
		writer_batch_free(j->b[i]);
	free(j->b);
	free(j->put);
	free(j->gone);
	memset(j, 0, sizeof(*j));
}

/*
 * A flush committed: the rows exist, so the flows exported are clean,
 * unless they changed since (dirty again), and the flows to drop that did
 * not change leave memory. NDJSON lines follow the commit.
 */
static void
flush_committed(struct live_writer *w, struct analyzer *a, struct job *j)
{
	struct flow_table *ft = analyzer_settle(a);
	size_t k = 0, evicted = 0;

	for (size_t i = 0; i < j->nb; i++)
		for (size_t r = 0; r < writer_batch_count(j->b[i]); r++, k++) {
			j->put[k]->db_id = writer_batch_id(j->b[i], r);
			if (w->ndjson == NULL)
				continue;
			json_t *line = flow_json(writer_batch_record(j->b[i],
			    r));
			if (line == NULL || json_line_write(line,
			    w->ndjson) != 0)
				log_warn("%s", w->o->ndjson);
			json_decref(line);
		}
	if (w->ndjson != NULL && fflush(w->ndjson) != 0)
		log_warn("%s", w->o->ndjson);
	fleet_kick(w);
	for (size_t i = 0; i < j->ngone; i++) {
		if (j->gone[i].f->dirty) {
			refile(w, j->gone[i].f);
			continue;	/* active again since */
		}
		evicted += j->gone[i].evicted;
		flow_table_remove(ft, j->gone[i].f);
	}
	w->st.flows_written += j->nput;
	w->st.flows_evicted += evicted;
	if (j->evicting > 0)
		log_warnx("%zu flows in memory reached --max-flows %zu: wrote "
		    "out and dropped %zu of the least recently active",
		    j->evicting, w->o->max_flows, evicted);
}

/* Apply the job in flight, once done, on the capture thread. */
static void
job_collect(struct live_writer *w, struct analyzer *a)
{
	struct job *j = &w->job;

	if (!w->busy)
		return;
	job_wait(w);
	pthread_mutex_lock(&w->mu);
	w->busy = 0;
	pthread_mutex_unlock(&w->mu);
	switch (j->kind) {
	case JOB_FLUSH:
		if (j->rc == 0) {
			flush_committed(w, a, j);
			break;
		}
		/* nothing changes: every flow exported is to be written */
		for (size_t i = 0; i < j->nput; i++)
			flow_table_mark_dirty(analyzer_settle(a), j->put[i]);
		gone_stay(w, j);
		w->st.write_failures++;
		log_warnx("%s (%zu flows kept in memory, retried in %llds)",
		    store_errmsg(w->db), flow_table_count(analyzer_settle(a)),
		    (long long)(w->o->flush_us / 1000000));
		break;
	case JOB_STATS:
		if (j->rc != 0)
			log_warnx("%s", store_errmsg(w->db));
		break;
	case JOB_PRUNE:
		if (j->rc != 0)
			log_warnx("%s", store_errmsg(w->db));
		else if (j->deleted > 0)
			log_info("pruned %llu flows older than %d days",
			    (unsigned long long)j->deleted, w->o->retain_days);
		break;
	}
	job_free(j);
}

/*
 * Collect the job in flight if it is done; 0 when the writer can take a
 * new one.
 */
static int
writer_ready(struct live_writer *w, struct analyzer *a)
{
	if (w->busy && !job_idle(w))
		return -1;
	job_collect(w, a);
	return 0;
}

/*
 * What a flush takes: the flows changed since the last one (to write) and
 * the flows idle past their timeout or evicted (to drop once written).
 */
struct flush_scan {
	struct live_writer *w;
	struct job	*j;
	const struct expiry *ex;
	int64_t		 now, evict_before;
	int		 all;
	int		 refile_all;	/* the wheel is being rebuilt */
	struct flow	**dirty;
	size_t		 ndirty, capdirty;
	int		 failed;
};

/* Take dirty flow f to write: clean from now on, dirty again on failure. */
static void
take_dirty(struct flush_scan *c, struct flow *f)
{
	if (grow((void **)&c->dirty, &c->capdirty, c->ndirty,
	    sizeof(*c->dirty)) != 0) {
		c->failed = 1;
		return;
	}
	f->dirty = 0;
	c->dirty[c->ndirty++] = f;
}

static void
take_gone(struct flush_scan *c, struct flow *f, int evicted)
{
	struct job *j = c->j;

	if (grow((void **)&j->gone, &j->capgone, j->ngone,
	    sizeof(*j->gone)) == 0)
		j->gone[j->ngone++] = (struct gone){ f, evicted };
	else
		refile(c->w, f);	/* stays in memory; retried next time */
}

/* A flow due in the wheel: dropped if idle past its timeout, else refiled. */
static void
flush_due(struct flow *f, void *arg)
{
	struct flush_scan *c = arg;

	if (c->now - f->last_us > export_idle_timeout(c->ex, f))
		take_gone(c, f, 0);
	else
		refile(c->w, f);
}

/* The same decided by visiting every flow: at the end, to evict, to rebuild. */
static int
flush_one(struct flow *f, void *arg)
{
	struct flush_scan *c = arg;
	int expired = c->all || c->now - f->last_us >
	    export_idle_timeout(c->ex, f);
	int evicted = !expired && f->last_us <= c->evict_before;

	if (c->failed)
		return 0;
	if (c->refile_all) {
		f->expiry_tick = 0;
		refile(c->w, f);
	}
	if (f->dirty)
		take_dirty(c, f);
	if (expired || evicted)
		take_gone(c, f, evicted);
	return 0;
}

/* The flows logged dirty since the last flush, each once. */
static void
take_logged(struct flush_scan *c, struct flow *const *v, size_t n)
{
	for (size_t i = 0; i < n && !c->failed; i++)
		if (v[i]->hash != 0 && v[i]->dirty)
			take_dirty(c, v[i]);
}

/*
 * Choose the flows of a flush. Changed flows come from the table's dirty
 * log and idle ones from the wheel, so a flush costs the flows it writes
 * or drops, not the flows in memory; the whole table is visited only for
 * the last flush, to evict, and when the wheel or the log missed flows
 * (memory ran out, the clock went back).
 */
static void
flush_choose(struct flush_scan *c, struct flow_table *ft)
{
	struct live_writer *w = c->w;
	struct flow *const *v;
	size_t n, taken = SIZE_MAX;
	int scan = c->all || c->evict_before != INT64_MIN || w->rescan ||
	    flow_table_dirty_log(ft, &v, &n) != 0;

	if (!scan && expiry_wheel_due(w->wheel, c->now, flush_due, c) != 0)
		scan = w->rescan = 1;
	if (scan) {
		if (w->rescan) {
			expiry_wheel_reset(w->wheel, c->now);
			w->rescan = 0;
			c->refile_all = 1;
		}
		flow_table_foreach(ft, flush_one, c);
	} else {
		/*
		 * At most FLUSH_MAX_FLOWS: after a stretch the database could
		 * not be written, all that changed meanwhile would be copied at
		 * once and hold capture up; the rest stays logged for the
		 * flushes that follow at once (live.c flushes early).
		 */
		taken = n < FLUSH_MAX_FLOWS ? n : FLUSH_MAX_FLOWS;
		take_logged(c, v, taken);
	}
	flow_table_dirty_log_keep(ft, taken);
	/* new flows, and closed TCP ones whose timeout got shorter */
	for (size_t i = 0; i < c->ndirty; i++)
		refile(w, c->dirty[i]);
}

/*
 * Export the flows chosen, a batch at a time; they are clean from now on
 * (written as they are), and dirty again if the write fails.
 */
static int
export_dirty(struct job *j, struct analyzer *a, struct flow **v, size_t n)
{
	for (size_t off = 0, m; off < n; off += m) {
		m = n - off < LIVE_BATCH_FLOWS ? n - off : LIVE_BATCH_FLOWS;
		if (grow((void **)&j->b, &j->capb, j->nb, sizeof(*j->b)) != 0 ||
		    grow((void **)&j->put, &j->capput, j->nput + m,
		    sizeof(*j->put)) != 0)
			return -1;
		struct writer_batch *b = writer_batch_append(NULL, a, v + off,
		    m, 0);
		if (b == NULL)
			return -1;
		j->b[j->nb++] = b;
		for (size_t i = off; i < off + m; i++)
			j->put[j->nput++] = v[i];
	}
	return 0;
}

/* Build and hand over a flush; -1 when it could not be built. */
static int
flush_start(struct live_writer *w, struct analyzer *a, int64_t now,
    int64_t evict_before, int all, size_t evicting)
{
	struct flow_table *ft = analyzer_settle(a);
	struct job *j = &w->job;
	struct flush_scan c = { .w = w, .j = j, .ex = &w->o->ex, .now = now,
	    .evict_before = evict_before, .all = all };
	const char *why = NULL;

	memset(j, 0, sizeof(*j));
	j->kind = JOB_FLUSH;
	j->evicting = evicting;
	if (!w->logging) {
		flow_table_dirty_log_start(ft);
		w->logging = 1;
	}
	flush_choose(&c, ft);
	if (c.failed || export_dirty(j, a, c.dirty, c.ndirty) != 0)
		why = "out of memory";
	else if (job_submit(w) != 0)
		why = "no writer thread";
	if (why == NULL) {
		free(c.dirty);
		return 0;
	}
	for (size_t i = 0; i < c.ndirty; i++)
		flow_table_mark_dirty(ft, c.dirty[i]);
	free(c.dirty);
	gone_stay(w, j);
	w->rescan = 1;		/* flows may be missing from the log */
	job_free(j);
	w->st.write_failures++;
	log_warnx("%s: cannot hand the flows to the writer (%zu kept in "
	    "memory, retried in %llds)", why,
	    flow_table_count(analyzer_settle(a)),
	    (long long)(w->o->flush_us / 1000000));
	return -1;
}

int
live_writer_flush(struct live_writer *w, struct analyzer *a, int64_t now,
    int64_t evict_before, int all)
{
	if (all)
		job_collect(w, a);
	else if (writer_ready(w, a) != 0)
		return -1;		/* the last one is still being written */
	attach_db(w, a);
	if (w->db == NULL) {
		w->st.write_failures++;
		return 0;
	}
	flush_start(w, a, now, evict_before, all, 0);
	if (all)
		job_collect(w, a);
	return 0;
}

size_t
live_writer_changed(struct live_writer *w, struct analyzer *a)
{
	struct flow *const *v;
	size_t n;

	/* before the first flush every flow in memory is unwritten */
	if (!w->logging)
		return flow_table_count(analyzer_settle(a));
	(void)flow_table_dirty_log(analyzer_settle(a), &v, &n);
	return n;
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

	/* over the bound until the flush in flight is written */
	if (writer_ready(w, a) != 0)
		return;
	attach_db(w, a);
	if (w->db == NULL)
		return;
	struct collect_last c = { calloc(n ? n : 1, sizeof(int64_t)), 0 };
	if (c.v == NULL)
		return;
	flow_table_foreach(ft, collect_last, &c);
	qsort(c.v, c.n, sizeof(*c.v), cmp_i64);
	int64_t before = c.v[c.n / 8];
	free(c.v);
	flush_start(w, a, now, before, 0, n);
}

/*
 * A new job of kind to fill and submit, or NULL: *rc -1 while the writer
 * is busy, 0 without a database (the job is then left out).
 */
static struct job *
job_new(struct live_writer *w, struct analyzer *a, enum job_kind kind,
    int *rc)
{
	*rc = writer_ready(w, a);
	if (*rc != 0 || w->db == NULL)
		return NULL;
	memset(&w->job, 0, sizeof(w->job));
	w->job.kind = kind;
	return &w->job;
}

int
live_writer_store_stats(struct live_writer *w, struct analyzer *a)
{
	int rc;
	struct job *j = job_new(w, a, JOB_STATS, &rc);

	if (j == NULL)
		return rc;
	j->st = w->st;
	j->as = *analyzer_stats(a);
	job_submit(w);
	return 0;
}

int
live_writer_prune(struct live_writer *w, struct analyzer *a, int64_t now)
{
	int rc;
	struct job *j = job_new(w, a, JOB_PRUNE, &rc);

	if (j == NULL)
		return rc;
	j->before = now - (int64_t)w->o->retain_days * 86400 * 1000000;
	job_submit(w);
	return 0;
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
open_db(const struct live_opts *o)
{
	char err[512];
	struct store *db = store_open(o->dbpath, STORE_WRITE, err, sizeof(err));

	if (db == NULL)
		log_warnx("%s", err);
	/* every flow written also waits for the fleet store */
	else if (o->ch.url != NULL && store_outbox_enable(db) != 0) {
		log_warnx("%s", store_errmsg(db));
		store_close(db);
		db = NULL;
	}
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
	if ((w->db = open_db(w->o)) == NULL)
		return;
	if (w->db_same) {
		store_live_continue(w->db);
	} else {
		if (store_live_begin(w->db, w->o->ifaces, w->o->nifaces) != 0)
			log_warnx("%s", store_errmsg(w->db));
		/* the new file has none of the rows: write every flow anew */
		flow_table_foreach(analyzer_settle(a), forget_row,
		    analyzer_settle(a));
		w->db_same = 1;
	}
	remember_db_file(w);
}

static int
forget_row(struct flow *f, void *ft)
{
	f->db_id = 0;
	flow_table_mark_dirty(ft, f);
	return 0;
}

/*
 * The sender reads the outbox of the file at the path: what the moved one
 * still holds is sent only by hand (udpflowd --send), so say so, once.
 */
static void
say_unsent(struct store *db, const char *path)
{
	uint64_t n;

	if (store_outbox_count(db, &n) != 0)
		log_warnx("%s", store_errmsg(db));
	else if (n > 0)
		log_warnx("%s was moved away with %llu %s not yet sent to "
		    "ClickHouse: send them with udpflowd -d MOVED-FILE --send "
		    "--clickhouse URL", path, (unsigned long long)n,
		    n == 1 ? "flow" : "flows");
}

void
live_writer_reopen(struct live_writer *w, struct analyzer *a)
{
	struct stat sb;

	log_reopen();
	/* everything to the file as it was, then the connection is ours */
	job_collect(w, a);
	attach_db(w, a);
	if (w->db != NULL && flush_start(w, a, wall_us(), INT64_MIN, 0, 0) == 0)
		job_collect(w, a);
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
	if (!same && w->db != NULL && w->o->ch.url != NULL)
		say_unsent(w->db, w->o->dbpath);
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
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if ((w->wheel = expiry_wheel_new(wall_us(), 1000000)) == NULL)
		log_warnx("out of memory");
	if (w->wheel == NULL || (w->db = open_db(o)) == NULL ||
	    (o->ndjson != NULL && (w->ndjson = open_ndjson(o->ndjson)) ==
	    NULL)) {
		store_close(w->db);
		expiry_wheel_free(w->wheel);
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
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
	return (w->db = open_db(w->o)) != NULL ? 0 : -1;
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
live_writer_end(struct live_writer *w, struct analyzer *a)
{
	job_collect(w, a);
	if (w->started) {
		pthread_mutex_lock(&w->mu);
		w->quit = 1;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
	}
	if (w->db != NULL && store_live_end(w->db) != 0)
		log_warnx("%s", store_errmsg(w->db));
	store_close(w->db);
	if (w->ch != NULL) {
		struct ch_sender_stats st;
		ch_sender_stop(w->ch, 5000, &st);
		ch_sender_log(&st);
	}
	if (w->ndjson != NULL)
		fclose(w->ndjson);
	expiry_wheel_free(w->wheel);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
