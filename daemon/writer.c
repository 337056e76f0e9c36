/*
 * The writer: flows exported into batches of records and the batches
 * written, for both run modes (see writer.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/expiry_wheel.h"
#include "daemon/export.h"
#include "daemon/writer.h"

/* Oldest first: rowids then follow time, which keeps the indexes cheap. */
static int
by_first_seen(const void *x, const void *y)
{
	const struct flow *a = *(const struct flow *const *)x;
	const struct flow *b = *(const struct flow *const *)y;

	if (a->first_us != b->first_us)
		return a->first_us < b->first_us ? -1 : 1;
	return memcmp(&a->key, &b->key, sizeof(a->key));
}

/*
 * At a tick: the flows to write (changed since written, and either quiet
 * for quiet_us or idle past their timeout) and the flows to drop (idle
 * past their timeout); at the end (all), every flow changed since written
 * is written, and none is dropped: the table goes with the analyzer.
 */
struct idle {
	struct flow		**v;		/* to write */
	size_t			  n, cap;
	struct flow		**gone;		/* to drop */
	size_t			  ngone, capgone;
	int64_t			  now, quiet_us;
	const struct expiry	 *ex;
	int			  all;
	int			  nomem;
	struct expiry_wheel	 *wheel;	/* refile what stays; NULL: don't */
	int			  misfiled;	/* the wheel missed a flow */
};

static int
push(struct flow ***v, size_t *n, size_t *cap, struct flow *f)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 1024;
		struct flow **nv = realloc(*v, ncap * sizeof(*nv));
		if (nv == NULL)
			return -1;
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = f;
	return 0;
}

/*
 * When a pass must look at f next: once quiet if it changed since written,
 * else once idle past its timeout (a pass decides by the exact time).
 */
static void
idle_refile(struct idle *c, struct flow *f, int will_be_clean)
{
	int64_t wait = export_idle_timeout(c->ex, f);

	if (f->dirty && !will_be_clean && c->quiet_us < wait)
		wait = c->quiet_us;

	if (expiry_wheel_file(c->wheel, f, f->last_us + wait) != 0)
		c->misfiled = 1;
}

static int
collect_idle(struct flow *f, void *arg)
{
	struct idle *c = arg;
	int64_t idle = c->now - f->last_us;
	int expired = c->all || idle > export_idle_timeout(c->ex, f);
	int write = f->dirty && (expired || idle > c->quiet_us);

	if (write && push(&c->v, &c->n, &c->cap, f) != 0)
		c->nomem = 1;
	if (expired && !c->all &&
	    push(&c->gone, &c->ngone, &c->capgone, f) != 0)
		c->nomem = 1;
	if (!expired && c->wheel != NULL)
		idle_refile(c, f, write);
	return c->nomem;
}

/* A flow the wheel hands out: decided as by a scan, refiled if it stays. */
static void
collect_due(struct flow *f, void *arg)
{
	collect_idle(f, arg);
}

/* A flow visited by a scan, which files every flow that stays anew. */
static int
collect_scanned(struct flow *f, void *arg)
{
	f->expiry_tick = 0;
	return collect_idle(f, arg);
}

/*
 * A batch of flows in the store's form, their error records in one array
 * (each flow's by offset, set to pointers when written).
 */
struct writer_batch {
	struct flow_record	*flows;
	int64_t			*ids;		/* each record's row; 0: none yet */
	uint8_t			*fresh;		/* a new row of an offline run */
	size_t			*erroff;
	uint32_t		*encapix;	/* in encaps, one up; 0: none */
	size_t			 n, cap;
	struct error_record	*errs;
	size_t			 nerrs, errcap;
	/* copies of the encapsulations (the table's may go meanwhile) */
	struct flow_encap	*encaps;
	size_t			 nencaps, encapcap;
	struct writer_batch	*next;
};

void
writer_batch_free(struct writer_batch *b)
{
	if (b == NULL)
		return;
	free(b->flows);
	free(b->ids);
	free(b->fresh);
	free(b->erroff);
	free(b->encapix);
	free(b->errs);
	free(b->encaps);
	free(b);
}

/* Keep a copy of the encapsulation of the record appended as number i. */
static int
batch_keep_encap(struct writer_batch *b, size_t i, const struct flow_encap *e)
{
	b->encapix[i] = 0;
	if (e == NULL)
		return 0;
	if (b->nencaps == b->encapcap) {
		size_t ncap = b->encapcap ? b->encapcap * 2 : 16;
		struct flow_encap *ne = realloc(b->encaps, ncap * sizeof(*ne));
		if (ne == NULL)
			return -1;
		b->encaps = ne;
		b->encapcap = ncap;
	}
	b->encaps[b->nencaps++] = *e;
	b->encapix[i] = (uint32_t)b->nencaps;
	return 0;
}

/*
 * Append flows v[0..n) (sorted), converted, to batch b (a new one when b
 * is NULL); NULL when memory runs out (b is freed).
 */
struct writer_batch *
writer_batch_append(struct writer_batch *b, struct analyzer *a,
    struct flow *const *v, size_t n, int fresh)
{
	struct error_record *buf = NULL;
	size_t bufcap = 0;

	if (b == NULL && (b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	if (b->n + n > b->cap) {
		size_t ncap = b->cap ? b->cap : 256;
		while (ncap < b->n + n)
			ncap *= 2;
		struct flow_record *nf = realloc(b->flows, ncap * sizeof(*nf));
		if (nf != NULL)
			b->flows = nf;
		size_t *no = realloc(b->erroff, ncap * sizeof(*no));
		if (no != NULL)
			b->erroff = no;
		int64_t *ni = realloc(b->ids, ncap * sizeof(*ni));
		if (ni != NULL)
			b->ids = ni;
		uint8_t *nr = realloc(b->fresh, ncap * sizeof(*nr));
		if (nr != NULL)
			b->fresh = nr;
		uint32_t *nx = realloc(b->encapix, ncap * sizeof(*nx));
		if (nx != NULL)
			b->encapix = nx;
		if (nf == NULL || no == NULL || ni == NULL || nr == NULL ||
		    nx == NULL)
			goto fail;
		b->cap = ncap;
	}
	for (size_t i = 0; i < n; i++) {
		struct flow_record *sf = &b->flows[b->n];
		if (export_flow(a, v[i], sf, &buf, &bufcap) != 0)
			goto fail;
		if (b->nerrs + sf->nerrors > b->errcap) {
			size_t ncap = b->errcap ? b->errcap * 2 : 256;
			while (ncap < b->nerrs + sf->nerrors)
				ncap *= 2;
			struct error_record *ne = realloc(b->errs,
			    ncap * sizeof(*ne));
			if (ne == NULL)
				goto fail;
			b->errs = ne;
			b->errcap = ncap;
		}
		if (sf->nerrors > 0)
			memcpy(b->errs + b->nerrs, sf->errors,
			    sf->nerrors * sizeof(*b->errs));
		if (batch_keep_encap(b, b->n, sf->encap) != 0)
			goto fail;
		b->erroff[b->n] = b->nerrs;
		b->ids[b->n] = v[i]->db_id;
		b->fresh[b->n] = (uint8_t)fresh;
		b->nerrs += sf->nerrors;
		sf->errors = NULL;
		b->n++;
	}
	free(buf);
	return b;
fail:
	free(buf);
	writer_batch_free(b);
	return NULL;
}

/*
 * Record i with its errors and encapsulation in place (no arithmetic on
 * a NULL array).
 */
static struct flow_record *
batch_record(struct writer_batch *b, size_t i)
{
	struct flow_record *f = &b->flows[i];

	f->errors = b->errs != NULL ? b->errs + b->erroff[i] : NULL;
	f->encap = b->encapix[i] ? &b->encaps[b->encapix[i] - 1] : NULL;
	return f;
}

const struct flow_record *
writer_batch_record(struct writer_batch *b, size_t i)
{
	return batch_record(b, i);
}

size_t
writer_batch_count(const struct writer_batch *b)
{
	return b->n;
}

int64_t
writer_batch_id(const struct writer_batch *b, size_t i)
{
	return b->ids[i];
}

int
writer_batch_put(struct store *s, struct writer_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		if (store_flow_put(s, batch_record(b, i), &b->ids[i]) != 0)
			return -1;
	return 0;
}

/*
 * Records written between two looks at the work lent (writer_async_lend):
 * few enough that the reader's read-ahead ring is topped up while a batch
 * is written, and as many rows as the store's largest INSERT, so that a
 * long run of new rows is cut where a statement ends anyway.
 */
#define WRITE_PIECE	256

/*
 * An offline run's batch: runs of new rows in multi-row INSERTs, numbered
 * as the reader numbered them (the store checks that they follow), and
 * rows written before rewritten in place; between(arg) after every piece.
 */
static int
batch_write(struct store *s, struct writer_batch *b,
    void (*between)(void *), void *arg)
{
	for (size_t i = 0, j, piece = 0; i < b->n; i = j) {
		if (!b->fresh[i]) {
			if (store_flow_put(s, batch_record(b, i), &b->ids[i]) != 0)
				return -1;
			j = i + 1;
			piece++;
		} else {
			for (j = i; j < b->n && b->fresh[j] &&
			    j - i < WRITE_PIECE - piece; j++)
				batch_record(b, j);
			if (store_run_flows(s, b->flows + i, j - i,
			    b->ids[i]) != 0)
				return -1;
			piece += j - i;
		}
		if (piece >= WRITE_PIECE) {
			between(arg);
			piece = 0;
		}
	}
	return 0;
}

/*
 * Batches queued at most: a pass hands over every flow that went quiet
 * since the last in one go, and the queue holds that much, so that the
 * reader goes on reading while the writer writes.
 */
#define ASYNC_QUEUED_MAX	32
/*
 * Flows handed over gather into a batch of at least this many before it
 * is queued: a sparse capture expires a few flows a tick, and a batch a
 * tick would cost more in queueing and small statements than in writing.
 */
#define ASYNC_BATCH_FLOWS	512

struct writer_async {
	struct store	*s;
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;		/* work queued, room made, or done */
	struct writer_batch	*head, *tail;
	size_t		 queued;
	struct writer_batch	*filling;	/* the reader's, not queued yet */
	struct writer_batch	*spare;		/* written, for the reader to refill */
	int		 done;		/* no more batches will come */
	int		 failed;
	int64_t		 first_id, next_id;	/* the reader's numbering */
	/* the reader's: flows in memory by when a pass must look at them */
	struct expiry_wheel	*wheel;
	int		 logging;	/* the flow table's dirty log is on */
	int		 rescan;	/* the wheel missed flows: rebuild it */
	/* work lent between batches (writer_async_lend) */
	int		(*lent_work)(void *);
	int		(*lent_wanted)(void *);
	void		*lent_arg;
	int		 in_lent;	/* the writer thread is in lent_work */
	atomic_int	 asleep;	/* waiting, none wanted */
};

/*
 * Lent work, while it is wanted, before each batch: it is what the reader
 * would otherwise do itself. Called and returning with w->mu held.
 */
static void
async_lent(struct writer_async *w)
{
	while (w->lent_work != NULL && w->lent_wanted(w->lent_arg)) {
		int (*work)(void *) = w->lent_work;
		void *arg = w->lent_arg;

		w->in_lent = 1;
		pthread_mutex_unlock(&w->mu);
		int did = work(arg);
		pthread_mutex_lock(&w->mu);
		w->in_lent = 0;
		pthread_cond_broadcast(&w->cv);	/* for writer_async_lend */
		if (!did)
			break;
	}
}

/* Lent work between pieces of a batch: the reader waits for it more. */
static void
async_between(void *arg)
{
	struct writer_async *w = arg;

	pthread_mutex_lock(&w->mu);
	async_lent(w);
	pthread_mutex_unlock(&w->mu);
}

/*
 * Wait for a batch or the end: asleep is set before wanted is asked again,
 * and writer_async_wake reads asleep after making work, so that one of the
 * two sees the other (both sequentially consistent).
 */
static void
async_idle_wait(struct writer_async *w)
{
	atomic_store(&w->asleep, 1);
	if (w->lent_work == NULL || !w->lent_wanted(w->lent_arg))
		pthread_cond_wait(&w->cv, &w->mu);
	atomic_store(&w->asleep, 0);
}

static void *
async_main(void *arg)
{
	struct writer_async *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		async_lent(w);
		if (w->head == NULL && !w->done) {
			async_idle_wait(w);
			continue;
		}
		struct writer_batch *b = w->head;
		if (b == NULL)
			break;
		w->head = b->next;
		if (w->head == NULL)
			w->tail = NULL;
		int failed = w->failed;
		pthread_mutex_unlock(&w->mu);
		/* the store is this thread's alone until finish */
		int rc = failed ? 0 : batch_write(w->s, b, async_between, w);
		pthread_mutex_lock(&w->mu);
		w->queued--;
		if (rc != 0)
			w->failed = 1;
		b->next = w->spare;
		w->spare = b;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct writer_async *
writer_async_start(struct store *s)
{
	struct writer_async *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->s = s;
	w->first_id = w->next_id = store_run_next_id(s);
	w->rescan = 1;		/* the wheel is made at the first pass */
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->thread, NULL, async_main, w) != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return NULL;
	}
	return w;
}

/*
 * A written batch filled again keeps its arrays: a new one for every 512
 * flows cost the reader page faults, and realloc copies as it grew.
 */
static void
batch_empty(struct writer_batch *b)
{
	b->n = b->nerrs = b->nencaps = 0;
	b->next = NULL;
}

/* Queue a batch (NULL: memory ran out); -1 once anything failed. */
static int
async_put(struct writer_async *w, struct writer_batch *b)
{
	int rc;

	pthread_mutex_lock(&w->mu);
	while (w->queued >= ASYNC_QUEUED_MAX && !w->failed)
		pthread_cond_wait(&w->cv, &w->mu);
	if (b == NULL)
		w->failed = 1;
	rc = w->failed ? -1 : 0;
	if (rc == 0) {
		if (w->tail != NULL)
			w->tail->next = b;
		else
			w->head = b;
		w->tail = b;
		w->queued++;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	if (rc != 0)
		writer_batch_free(b);
	return rc;
}

/* Queue the batch being filled. */
static int
async_queue_filling(struct writer_async *w)
{
	struct writer_batch *b = w->filling;

	w->filling = NULL;
	if (async_put(w, b) != 0)
		return -1;
	/* a written batch, if there is one, is the next to fill */
	pthread_mutex_lock(&w->mu);
	if ((w->filling = w->spare) != NULL) {
		w->spare = w->filling->next;
		batch_empty(w->filling);
	}
	pthread_mutex_unlock(&w->mu);
	return 0;
}

/* Flows without a row first, each group oldest first. */
static int
by_row_then_first_seen(const void *x, const void *y)
{
	const struct flow *a = *(const struct flow *const *)x;
	const struct flow *b = *(const struct flow *const *)y;

	if ((a->db_id == 0) != (b->db_id == 0))
		return a->db_id == 0 ? -1 : 1;
	return by_first_seen(x, y);
}

/*
 * Export flows v[0..n) into the batch filling, a piece at a time so that
 * converted copies never outnumber a few batches; each queued once big
 * enough. The flows are clean from now on: written as they are.
 */
static int
async_append(struct writer_async *w, struct analyzer *a, struct flow **v,
    size_t n, int fresh)
{
	for (size_t off = 0, m; off < n; off += m) {
		/* a batch never outgrows its first arrays */
		size_t room = ASYNC_BATCH_FLOWS -
		    (w->filling != NULL ? w->filling->n : 0);
		m = n - off < room ? n - off : room;
		if ((w->filling = writer_batch_append(w->filling, a, v + off, m,
		    fresh)) == NULL)
			return async_put(w, NULL);
		for (size_t i = off; i < off + m; i++)
			v[i]->dirty = 0;
		if (w->filling->n >= ASYNC_BATCH_FLOWS &&
		    async_queue_filling(w) != 0)
			return -1;
	}
	return 0;
}

/*
 * Hand the flows collect_idle chose over: those without a row get the
 * next numbers, oldest first (rowids then follow time, which keeps the
 * indexes cheap), then those written before are rewritten; the flows to
 * drop leave memory. The batch filling is queued too when flush.
 */
static int
async_hand_over(struct writer_async *w, struct analyzer *a, struct idle *c,
    int flush)
{
	struct flow_table *ft = analyzer_settle(a);
	size_t nnew = 0;

	if (c->n > 1)		/* and v may be NULL when n is 0 */
		qsort(c->v, c->n, sizeof(*c->v), by_row_then_first_seen);
	while (nnew < c->n && c->v[nnew]->db_id == 0)
		c->v[nnew++]->db_id = w->next_id++;
	/* (no arithmetic on v when it is NULL: nothing to write) */
	if ((nnew > 0 && async_append(w, a, c->v, nnew, 1) != 0) ||
	    (c->n > nnew && async_append(w, a, c->v + nnew, c->n - nnew,
	    0) != 0))
		return -1;
	/* flows stay where they are when others are removed */
	for (size_t i = 0; i < c->ngone; i++)
		flow_table_remove(ft, c->gone[i]);
	if (flush && w->filling != NULL && async_queue_filling(w) != 0)
		return -1;
	return 0;
}

/*
 * Choose the flows of a pass. Flows that changed since the last pass come
 * from the flow table's dirty log and are filed by when they go quiet; the
 * wheel hands out those whose time has come, so a pass costs the flows it
 * looks at, not the flows in memory. The whole table is visited at the
 * end, at the first pass, and when the wheel or the log missed flows
 * (memory ran out, the clock went back between files).
 */
static void
choose_idle(struct writer_async *w, struct flow_table *ft, struct idle *c)
{
	struct flow *const *v;
	size_t n;

	if (!w->logging) {
		flow_table_dirty_log_start(ft);
		w->logging = 1;
	}
	/* ticks of a pass's interval: a flow is looked at twice at most */
	if (w->wheel == NULL && !c->all)
		w->wheel = expiry_wheel_new(c->now, c->quiet_us);
	c->wheel = w->wheel;
	if (!c->all && !w->rescan && flow_table_dirty_log(ft, &v, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			if (v[i]->hash != 0 && v[i]->dirty)
				idle_refile(c, v[i], 0);
		if (expiry_wheel_due(w->wheel, c->now, collect_due, c) == 0)
			goto done;
	}
	if (c->all)
		c->wheel = NULL;
	else if (c->wheel != NULL)
		expiry_wheel_reset(c->wheel, c->now);
	flow_table_foreach(ft, collect_scanned, c);
done:
	flow_table_dirty_log_clear(ft);
	w->rescan = c->misfiled || w->wheel == NULL;
}

static int
async_hand_over_idle(struct writer_async *w, struct analyzer *a,
    struct idle *c)
{
	int rc;

	choose_idle(w, analyzer_settle(a), c);
	if (c->nomem)
		rc = async_put(w, NULL);
	else
		rc = async_hand_over(w, a, c, c->all);
	free(c->v);
	free(c->gone);
	return rc;
}

int
writer_async_expire(struct writer_async *w, struct analyzer *a,
    int64_t now_us, const struct expiry *ex, int64_t quiet_us)
{
	struct idle c = { .now = now_us, .ex = ex, .quiet_us = quiet_us };

	return async_hand_over_idle(w, a, &c);
}

void
writer_async_lend(struct writer_async *w, int (*work)(void *),
    int (*wanted)(void *), void *arg)
{
	pthread_mutex_lock(&w->mu);
	while (w->in_lent)
		pthread_cond_wait(&w->cv, &w->mu);
	w->lent_work = work;
	w->lent_wanted = wanted;
	w->lent_arg = arg;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void
writer_async_wake(void *arg)
{
	struct writer_async *w = arg;

	if (atomic_load(&w->asleep)) {
		pthread_mutex_lock(&w->mu);
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
}

uint64_t
writer_async_rows(const struct writer_async *w)
{
	return (uint64_t)(w->next_id - w->first_id);
}

int
writer_async_finish(struct writer_async *w, struct analyzer *a)
{
	struct idle c = { .all = 1 };
	int rc = 0;

	if (a != NULL)
		rc = async_hand_over_idle(w, a, &c);
	writer_batch_free(w->filling);		/* only when the hand-over failed */
	pthread_mutex_lock(&w->mu);
	w->done = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	if (w->failed)
		rc = -1;
	while (w->spare != NULL) {
		struct writer_batch *b = w->spare;
		w->spare = b->next;
		writer_batch_free(b);
	}
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	expiry_wheel_free(w->wheel);
	free(w);
	return rc;
}
