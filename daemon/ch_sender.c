/*
 * A pass: open the database by its path (a rotated file's successor is
 * the one at the path), bound the outbox, then take the oldest flows a
 * batch at a time, insert them into ClickHouse, and clear each sent
 * unless it was queued again meanwhile (it is then sent again, newer).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/ch_sender.h"
#include "daemon/log.h"
#include "store/clickhouse.h"
#include "store/store.h"

#define BATCH		5000	/* flows an insert */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* A batch taken from the outbox. */
struct batch {
	struct ch_rows	*rows;
	int64_t		 seq_first, seq_last;	/* the entries taken */
	size_t		 n;
	uint64_t	 version;
	int		 failed;
};

static int
take_one(const struct flow_record *f, int64_t flow_id, int64_t seq,
    void *arg)
{
	struct batch *b = arg;

	/* a flow pruned since: only its entry to clear */
	if (f != NULL && ch_rows_add(b->rows, f, b->version) != 0) {
		b->failed = 1;
		return 1;
	}
	(void)flow_id;
	if (b->n++ == 0)
		b->seq_first = seq;
	b->seq_last = seq;
	return 0;
}

/* Runs analyzed again: ClickHouse forgets their flows. */
static int
forget_gone(struct store *db, struct ch *ch, const char *gateway,
    const char *db_id, struct ch_sender_stats *st, char *err, size_t errlen)
{
	int64_t runs[256];
	size_t n;

	do {
		if (store_gone_runs_take(db, runs, 256, &n) != 0) {
			snprintf(err, errlen, "%s", store_errmsg(db));
			return -1;
		}
		if (ch_forget_runs(ch, gateway, db_id, runs, n) != 0) {
			st->failures++;
			snprintf(err, errlen, "%s", ch_errmsg(ch));
			return -1;
		}
		if (store_gone_runs_done(db, runs, n) != 0) {
			snprintf(err, errlen, "%s", store_errmsg(db));
			return -1;
		}
	} while (n == 256);
	return 0;
}

/*
 * One pass over the outbox; 0 when it was emptied, 1 at the deadline,
 * -1 with err set when the database or ClickHouse failed.
 */
static int
pass(const struct ch_sender_opts *o, struct ch *ch, long deadline_ms,
    struct ch_sender_stats *st, char *err, size_t errlen)
{
	char dberr[512], db_id[64];
	int64_t until = deadline_ms > 0 ? now_ms() + deadline_ms : INT64_MAX;
	struct batch b = { .n = 0 };
	struct store *db;
	uint64_t dropped;
	int rc = -1;

	if ((db = store_open(o->dbpath, STORE_SEND, dberr,
	    sizeof(dberr))) == NULL) {
		snprintf(err, errlen, "%s", dberr);
		return -1;
	}
	if (store_db_id(db, db_id, sizeof(db_id)) != 0 ||
	    store_outbox_trim(db, o->spool_max, &dropped) != 0) {
		snprintf(err, errlen, "%s", store_errmsg(db));
		goto done;
	}
	if (dropped > 0) {
		st->dropped += dropped;
		log_warnx("ClickHouse outbox full (%llu flows): the %llu "
		    "oldest will not be sent", (unsigned long long)o->spool_max,
		    (unsigned long long)dropped);
	}
	if ((b.rows = ch_rows_new(o->gateway, db_id)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	for (;;) {
		ch_rows_clear(b.rows);
		b.n = 0;
		b.version = wall_us();
		if (store_outbox_take(db, BATCH, take_one, &b) != 0 ||
		    b.failed) {
			snprintf(err, errlen, "%s", b.failed ? "out of memory" :
			    store_errmsg(db));
			goto done;
		}
		if (b.n == 0) {
			rc = 0;
			break;
		}
		if (ch_insert(ch, b.rows) != 0) {
			st->failures++;
			snprintf(err, errlen, "%s", ch_errmsg(ch));
			goto done;
		}
		st->sent += ch_rows_count(b.rows);
		if (store_outbox_done(db, b.seq_first, b.seq_last) != 0) {
			snprintf(err, errlen, "%s", store_errmsg(db));
			goto done;
		}
		if (now_ms() >= until) {
			rc = 1;
			break;
		}
	}
	if (rc == 0 && forget_gone(db, ch, o->gateway, db_id, st, err,
	    errlen) != 0)
		rc = -1;
done:
	if (store_outbox_count(db, &st->waiting) != 0 && rc >= 0) {
		snprintf(err, errlen, "%s", store_errmsg(db));
		rc = -1;
	}
	ch_rows_free(b.rows);
	store_close(db);
	return rc;
}

int
ch_send_outbox(const struct ch_sender_opts *o, long deadline_ms,
    struct ch_sender_stats *st, char *err, size_t errlen)
{
	struct ch *ch = ch_open(o->url, err, errlen);
	int rc;

	if (ch == NULL)
		return -1;
	/* a request never outlasts what the caller gave */
	ch_set_timeout(ch, deadline_ms > 0 && deadline_ms < 10000 ?
	    deadline_ms : 10000);
	rc = pass(o, ch, deadline_ms, st, err, errlen);
	ch_close(ch);
	if (rc == 1)
		snprintf(err, errlen, "out of time");
	return rc == 0 ? 0 : -1;
}

struct ch_sender {
	struct ch_sender_opts	 o;
	struct ch		*ch;
	pthread_t		 thread;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	int			 kicked, stopping;
	atomic_int		 abort;		/* stopping: end the request */
	long			 drain_ms;
	struct ch_sender_stats	 st;
};

/*
 * Every second, or when kicked; after a failure, less often (2, 4 ... 30
 * s), kicks or not: a flush a second must not become a request a second
 * to a server that is away. At the stop a request in flight is cut short,
 * and one more pass of drain_ms sends the last flush, unless ClickHouse
 * was away: what is left waits in the database for the next start.
 */
static void *
sender_main(void *arg)
{
	struct ch_sender *s = arg;
	long wait_ms = 1000;
	int down = 0;
	char err[512];

	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += wait_ms / 1000;
		until.tv_nsec += (wait_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		while ((down || !s->kicked) && !s->stopping &&
		    pthread_cond_timedwait(&s->cv, &s->mu, &until) == 0)
			;
		int stopping = s->stopping;
		s->kicked = 0;
		struct ch_sender_stats st = s->st;
		pthread_mutex_unlock(&s->mu);
		if (stopping && down) {
			pthread_mutex_lock(&s->mu);
			break;
		}
		/* the database and the network are this thread's alone */
		if (stopping) {
			atomic_store(&s->abort, 0);
			ch_set_timeout(s->ch, s->drain_ms);
		}
		int rc = pass(&s->o, s->ch, stopping ? s->drain_ms : 5000, &st,
		    err, sizeof(err));
		int cut = !stopping && atomic_load(&s->abort);
		pthread_mutex_lock(&s->mu);
		uint64_t before = s->st.sent;
		s->st = st;
		if (rc < 0 && !cut) {
			if (!down)
				log_warnx("ClickHouse: %s (%llu flows wait in "
				    "the database; retried)", err,
				    (unsigned long long)st.waiting);
			down = 1;
			wait_ms = wait_ms * 2 < 30000 ? wait_ms * 2 : 30000;
		} else if (rc >= 0) {
			if (down)
				log_info("ClickHouse: back; %llu flows sent, "
				    "%llu wait", (unsigned long long)(st.sent -
				    before), (unsigned long long)st.waiting);
			down = 0;
			wait_ms = 1000;
		}
		if (stopping)
			break;
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

struct ch_sender *
ch_sender_start(const struct ch_sender_opts *o, char *err, size_t errlen)
{
	struct ch_sender *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->o = *o;
	if ((s->ch = ch_open(o->url, err, errlen)) == NULL) {
		free(s);
		return NULL;
	}
	atomic_init(&s->abort, 0);
	ch_set_abort(s->ch, &s->abort);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (pthread_create(&s->thread, NULL, sender_main, s) != 0) {
		snprintf(err, errlen, "cannot start the ClickHouse thread");
		ch_close(s->ch);
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		free(s);
		return NULL;
	}
	return s;
}

void
ch_sender_kick(struct ch_sender *s)
{
	pthread_mutex_lock(&s->mu);
	s->kicked = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

void
ch_sender_stats(struct ch_sender *s, struct ch_sender_stats *st)
{
	pthread_mutex_lock(&s->mu);
	*st = s->st;
	pthread_mutex_unlock(&s->mu);
}

void
ch_sender_log(const struct ch_sender_stats *st)
{
	log_info("ClickHouse: %llu flows sent, %llu wait in the database, "
	    "%llu dropped beyond the spool, %llu failed requests",
	    (unsigned long long)st->sent, (unsigned long long)st->waiting,
	    (unsigned long long)st->dropped, (unsigned long long)st->failures);
}

void
ch_sender_stop(struct ch_sender *s, long drain_ms, struct ch_sender_stats *st)
{
	pthread_mutex_lock(&s->mu);
	s->stopping = 1;
	s->drain_ms = drain_ms;
	atomic_store(&s->abort, 1);
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	if (st != NULL)
		*st = s->st;
	ch_close(s->ch);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
