/*
 * The writer: flows exported into batches of records and the batches
 * written, for both run modes (see writer.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

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

/* Flows idle at now beyond their timeout, or all of them. */
struct idle {
	struct flow		**v;
	size_t			  n, cap;
	int64_t			  now;
	const struct expiry *ex;
	int			  all;
	int			  nomem;
};

static int
collect_idle(struct flow *f, void *arg)
{
	struct idle *c = arg;

	if (!c->all && c->now - f->last_us <= export_idle_timeout(c->ex, f))
		return 0;
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 1024;
		struct flow **nv = realloc(c->v, ncap * sizeof(*nv));
		if (nv == NULL) {
			c->nomem = 1;
			return 1;
		}
		c->v = nv;
		c->cap = ncap;
	}
	c->v[c->n++] = f;
	return 0;
}

/*
 * A batch of flows in the store's form, their error records in one array
 * (each flow's by offset, set to pointers when written).
 */
struct writer_batch {
	struct flow_record	*flows;
	size_t			*erroff;
	size_t			 n, cap;
	struct error_record	*errs;
	size_t			 nerrs, errcap;
	struct writer_batch	*next;
};

void
writer_batch_free(struct writer_batch *b)
{
	if (b == NULL)
		return;
	free(b->flows);
	free(b->erroff);
	free(b->errs);
	free(b);
}

/*
 * Append flows v[0..n) (sorted), converted, to batch b (a new one when b
 * is NULL); NULL when memory runs out (b is freed).
 */
struct writer_batch *
writer_batch_append(struct writer_batch *b, struct analyzer *a,
    struct flow *const *v, size_t n)
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
		if (nf == NULL || no == NULL)
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
		b->erroff[b->n] = b->nerrs;
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

/* Record i with its errors in place (no arithmetic on a NULL array). */
static struct flow_record *
batch_record(struct writer_batch *b, size_t i)
{
	b->flows[i].errors = b->errs != NULL ? b->errs + b->erroff[i] : NULL;
	return &b->flows[i];
}

const struct flow_record *
writer_batch_record(struct writer_batch *b, size_t i)
{
	return batch_record(b, i);
}

int
writer_batch_put(struct store *s, struct writer_batch *b, int64_t *ids)
{
	for (size_t i = 0; i < b->n; i++)
		if (store_flow_put(s, batch_record(b, i), &ids[i]) != 0)
			return -1;
	return 0;
}

/* An offline run's batch: new rows, numbered in order. */
static int
batch_write(struct store *s, struct writer_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		batch_record(b, i);
	return store_run_flows(s, b->flows, b->n);
}

#define ASYNC_QUEUED_MAX	4
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
	int		 done;		/* no more batches will come */
	int		 failed;
};

static void *
async_main(void *arg)
{
	struct writer_async *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->head == NULL && !w->done)
			pthread_cond_wait(&w->cv, &w->mu);
		struct writer_batch *b = w->head;
		if (b == NULL)
			break;
		w->head = b->next;
		if (w->head == NULL)
			w->tail = NULL;
		int failed = w->failed;
		pthread_mutex_unlock(&w->mu);
		/* the store is this thread's alone until finish */
		int rc = failed ? 0 : batch_write(w->s, b);
		writer_batch_free(b);
		pthread_mutex_lock(&w->mu);
		w->queued--;
		if (rc != 0)
			w->failed = 1;
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
	return async_put(w, b);
}

/*
 * Hand flows v[0..n) over, sorted, and drop them from memory; the batch
 * filling goes on the queue once big enough, or when flush. A piece at a
 * time, so that converted copies never outnumber a few batches (the last
 * hand-over holds every flow still in memory).
 */
static int
async_hand_over(struct writer_async *w, struct analyzer *a, struct flow **v,
    size_t n, int flush)
{
	struct flow_table *ft = analyzer_settle(a);

	if (n > 1)		/* and v may be NULL when n is 0 */
		qsort(v, n, sizeof(*v), by_first_seen);
	for (size_t off = 0, m; off < n; off += m) {
		m = n - off < ASYNC_BATCH_FLOWS ? n - off : ASYNC_BATCH_FLOWS;
		if ((w->filling = writer_batch_append(w->filling, a, v + off, m)) ==
		    NULL)
			return async_put(w, NULL);
		/* flows stay where they are when others are removed */
		for (size_t i = off; i < off + m; i++)
			flow_table_remove(ft, v[i]);
		if (w->filling->n >= ASYNC_BATCH_FLOWS &&
		    async_queue_filling(w) != 0)
			return -1;
	}
	if (flush && w->filling != NULL && async_queue_filling(w) != 0)
		return -1;
	return 0;
}

/* Hand the flows collect_idle chose over; *n counts them. */
static int
async_hand_over_idle(struct writer_async *w, struct analyzer *a,
    struct idle *c, size_t *n)
{
	int rc;

	*n = 0;
	flow_table_foreach(analyzer_settle(a), collect_idle, c);
	if (c->nomem)
		rc = async_put(w, NULL);
	else if ((rc = async_hand_over(w, a, c->v, c->n, c->all)) == 0)
		*n = c->n;
	free(c->v);
	return rc;
}

int
writer_async_expire(struct writer_async *w, struct analyzer *a,
    int64_t now_us, const struct expiry *ex, size_t *n)
{
	struct idle c = { .now = now_us, .ex = ex };

	return async_hand_over_idle(w, a, &c, n);
}

int
writer_async_finish(struct writer_async *w, struct analyzer *a)
{
	struct idle c = { .all = 1 };
	size_t n;
	int rc = 0;

	if (a != NULL)
		rc = async_hand_over_idle(w, a, &c, &n);
	writer_batch_free(w->filling);		/* only when the hand-over failed */
	pthread_mutex_lock(&w->mu);
	w->done = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	if (w->failed)
		rc = -1;
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
	return rc;
}
