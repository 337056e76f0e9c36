/* Reading: flows by the filters of struct store_query, and statistics. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encap.h"
#include "common/flowstate.h"
#include "common/text.h"
#include "store/store_int.h"

/* Up to STORE_REASONS reasons and counts of run id by statement which. */
static void
read_reasons(struct store *s, enum stmt which, int64_t id, char *names,
    size_t namelen, uint64_t *counts, size_t *n)
{
	sqlite3_stmt *st = store_stmt(s, which);

	sqlite3_bind_int64(st, 1, id);
	while (*n < STORE_REASONS && sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		snprintf(names + *n * namelen, namelen, "%s",
		    t ? (const char *)t : "?");
		counts[(*n)++] = (uint64_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
}

int
store_query_stats(struct store *s, store_stats_fn fn, void *arg)
{
	sqlite3_stmt *st = store_stmt(s, S_STATS_LATEST);
	int rc, ret = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_stats_row r;
		uint64_t *v[] = { &r.s.packets, &r.s.decoded, &r.s.malformed,
		    &r.s.duplicates, &r.s.kernel_drops, &r.s.flows_active,
		    &r.s.flows_written, &r.s.flows_evicted, &r.s.errors_matched,
		    &r.s.errors_unseen, &r.s.write_failures, &r.s.errors_capped,
		    &r.s.undecoded, &r.s.tunneled };
		memset(&r, 0, sizeof(r));
		r.run_id = sqlite3_column_int64(st, 0);
		r.mode = (const char *)sqlite3_column_text(st, 1);
		r.started_us = sqlite3_column_int64(st, 2);
		r.running = sqlite3_column_type(st, 3) == SQLITE_NULL;
		r.at_us = sqlite3_column_int64(st, 4);
		for (int i = 0; i < (int)(sizeof(v) / sizeof(v[0])); i++)
			*v[i] = (uint64_t)sqlite3_column_int64(st, 5 + i);
		read_reasons(s, S_MALFORMED_OF_RUN, r.run_id, r.why[0],
		    sizeof(r.why[0]), r.why_count, &r.nwhy);
		read_reasons(s, S_UNDECODED_OF_RUN, r.run_id, r.skip[0],
		    sizeof(r.skip[0]), r.skip_count, &r.nskip);
		if ((ret = fn(&r, arg)) != 0)
			break;
	}
	sqlite3_reset(st);
	if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_db_fail(s, "reading statistics");
	return ret;
}

static void
run_inputs(struct store *s, struct store_run_row *r)
{
	sqlite3_stmt *st = store_stmt(s, S_INPUTS_OF_RUN);

	sqlite3_bind_int64(st, 1, r->run_id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (r->ninputs == sizeof(r->inputs) / sizeof(r->inputs[0])) {
			r->more_inputs++;
			continue;
		}
		const unsigned char *t = sqlite3_column_text(st, 0);
		snprintf(r->inputs[r->ninputs], sizeof(r->inputs[0]), "%s",
		    t ? (const char *)t : "?");
		r->input_packets[r->ninputs++] =
		    (uint64_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
}

int
store_query_runs(struct store *s, store_run_fn fn, void *arg)
{
	sqlite3_stmt *st = store_stmt(s, S_RUNS);
	int rc, ret = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_run_row *r = calloc(1, sizeof(*r));
		if (r == NULL) {
			store_set_err(s, "%s: reading runs: out of memory",
			    s->path);
			ret = -1;
			break;
		}
		uint64_t *v[] = { &r->s.packets, &r->s.decoded,
		    &r->s.malformed, &r->s.flows, &r->s.errors_matched,
		    &r->s.errors_unseen, &r->s.undecoded, &r->s.tunneled };
		r->run_id = sqlite3_column_int64(st, 0);
		r->mode = (const char *)sqlite3_column_text(st, 1);
		r->started_us = sqlite3_column_int64(st, 2);
		r->finished_us = sqlite3_column_int64(st, 3);
		for (int i = 0; i < (int)(sizeof(v) / sizeof(v[0])); i++)
			*v[i] = (uint64_t)sqlite3_column_int64(st, 4 + i);
		r->has_span = sqlite3_column_type(st, 12) != SQLITE_NULL;
		r->first_us = sqlite3_column_int64(st, 12);
		r->last_us = sqlite3_column_int64(st, 13);
		run_inputs(s, r);
		read_reasons(s, S_MALFORMED_OF_RUN, r->run_id, r->why[0],
		    sizeof(r->why[0]), r->why_count, &r->nwhy);
		read_reasons(s, S_UNDECODED_OF_RUN, r->run_id, r->skip[0],
		    sizeof(r->skip[0]), r->skip_count, &r->nskip);
		ret = fn(r, arg);
		free(r);
		if (ret != 0)
			break;
	}
	sqlite3_reset(st);
	if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_db_fail(s, "reading runs");
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

/* An error row of S_ERRORS_OF_FLOW's columns into e. */
static void
error_from_row(sqlite3_stmt *st, struct error_record *e)
{
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

static int
read_errors(struct store *s, struct flow_record *f, struct error_record **buf,
    size_t *cap)
{
	sqlite3_stmt *st = store_stmt(s, S_ERRORS_OF_FLOW);
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
				store_set_err(s, "%s: out of memory", s->path);
				return -1;
			}
			*buf = nb;
			*cap = ncap;
		}
		error_from_row(st, &(*buf)[n++]);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_db_fail(s, "reading ICMP errors");
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
	P_NET_LO, P_NET_HI, P_REPORTER, P_PORT_UNUSED, P_PROTO, P_SINCE,
	P_UNTIL, P_LIMIT,
	P_PORTS = 60,		/* then two a port range */
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
 * present; every value goes in as a bound parameter (query_bind). Blobs
 * compare like memcmp, so an address range is a BETWEEN over
 * network-order bytes.
 */
static void
query_sql(struct sqlbuf *b, const struct store_query *q, size_t nstates)
{
	static const char *const order[] = {
		[SORT_FIRST]	= " ORDER BY first_us, id",
		[SORT_LAST]	= " ORDER BY last_us DESC, id",
		[SORT_PACKETS]	= " ORDER BY pkts_sent + pkts_back DESC, id",
		[SORT_ERRORS]	= (" ORDER BY (SELECT COALESCE(SUM(count), 0)"
		    " FROM errors WHERE flow_id = flows.id) DESC, id"),
	};

	sql_add(b, "SELECT " FLOW_COLUMNS " FROM flows WHERE 1");
	if (nstates > 0) {
		int answered = 0;
		sql_add(b, " AND state IN (?");
		for (size_t i = 1; i < nstates; i++)
			sql_add(b, ",?");
		sql_add(b, ")");
		for (size_t i = 0; i < nstates; i++)
			answered |= q->states[i] == STATE_ANSWERED;
		/* the term that lets SQLite use the partial state index */
		if (!answered)
			sql_add(b, " AND state != 10");
	}
	if (q->host.lo != NULL)
		sql_range(b, P_HOST_LO, 1, NULL);
	if (q->src.lo != NULL)
		sql_range(b, P_SRC_LO, 0, "src");
	if (q->dst.lo != NULL)
		sql_range(b, P_DST_LO, 0, "dst");
	if (q->net.lo != NULL)
		sql_range(b, P_NET_LO, 1, NULL);
	if (q->reporter != NULL)
		sql_add(b, " AND EXISTS (SELECT 1 FROM errors WHERE"
		    " flow_id = flows.id AND reporter = ?48)");
	for (size_t i = 0; i < q->nports && i < STORE_MAX_PORTS; i++) {
		char frag[160];
		int p = P_PORTS + 2 * (int)i;
		snprintf(frag, sizeof(frag), "%s(sport BETWEEN ?%d AND ?%d OR"
		    " dport BETWEEN ?%d AND ?%d)%s", i ? " OR " : " AND (", p,
		    p + 1, p, p + 1, i + 1 == q->nports ? ")" : "");
		sql_add(b, frag);
	}
	if (q->proto >= 0)
		sql_add(b, " AND proto = ?50");
	if (q->has_since)
		sql_add(b, " AND last_us >= ?51");
	if (q->has_until)
		sql_add(b, " AND first_us <= ?52");
	sql_add(b, order[q->sort <= SORT_ERRORS ? q->sort : SORT_FIRST]);
	if (q->limit > 0)
		sql_add(b, " LIMIT ?53");
}

static void
query_bind(sqlite3_stmt *st, const struct store_query *q, size_t nstates)
{
	for (size_t i = 0; i < nstates; i++)
		sqlite3_bind_int(st, (int)i + 1, q->states[i]);
	bind_range(st, P_HOST_LO, &q->host);
	bind_range(st, P_SRC_LO, &q->src);
	bind_range(st, P_DST_LO, &q->dst);
	bind_range(st, P_NET_LO, &q->net);
	if (q->reporter != NULL)
		sqlite3_bind_blob(st, P_REPORTER, q->reporter,
		    (int)q->reporterlen, SQLITE_STATIC);
	for (size_t i = 0; i < q->nports && i < STORE_MAX_PORTS; i++) {
		sqlite3_bind_int(st, P_PORTS + 2 * (int)i, q->ports[i].lo);
		sqlite3_bind_int(st, P_PORTS + 2 * (int)i + 1, q->ports[i].hi);
	}
	if (q->proto >= 0)
		sqlite3_bind_int(st, P_PROTO, q->proto);
	if (q->has_since)
		sqlite3_bind_int64(st, P_SINCE, q->since_us);
	if (q->has_until)
		sqlite3_bind_int64(st, P_UNTIL, q->until_us);
	if (q->limit > 0)
		sqlite3_bind_int64(st, P_LIMIT, q->limit);
}

/* One row of query_sql's columns; its errors are read apart. */
static void
flow_from_row(sqlite3_stmt *st, struct flow_record *f)
{
	memset(f, 0, sizeof(*f));
	f->id = sqlite3_column_int64(st, 0);
	f->proto = (uint8_t)sqlite3_column_int(st, 1);
	column_addr(st, 2, f->src, &f->family);
	column_addr(st, 4, f->dst, NULL);
	f->has_ports = sqlite3_column_type(st, 3) != SQLITE_NULL;
	f->sport = (uint16_t)sqlite3_column_int(st, 3);
	f->dport = (uint16_t)sqlite3_column_int(st, 5);
	f->first_us = sqlite3_column_int64(st, 6);
	f->last_us = sqlite3_column_int64(st, 7);
	f->pkts_sent = (uint64_t)sqlite3_column_int64(st, 8);
	f->bytes_sent = (uint64_t)sqlite3_column_int64(st, 9);
	f->pkts_back = (uint64_t)sqlite3_column_int64(st, 10);
	f->bytes_back = (uint64_t)sqlite3_column_int64(st, 11);
	f->state = (uint8_t)sqlite3_column_int(st, 12);
	f->pkts_errored = (uint64_t)sqlite3_column_int64(st, 13);
	f->syns = (uint32_t)sqlite3_column_int64(st, 14);
	f->syn_span_us = sqlite3_column_int64(st, 15);
	f->end = (uint8_t)sqlite3_column_int(st, 16);
	f->end_by = (uint8_t)sqlite3_column_int(st, 17);
	f->rst_ttl = (uint8_t)sqlite3_column_int(st, 18);
	f->dst_ttl = (uint8_t)sqlite3_column_int(st, 19);
	f->run_id = sqlite3_column_int64(st, 22);
}

/*
 * The row's encapsulation into e, and f->encap pointing at it; NULL when
 * carried plainly. Text this udpflows cannot read (a newer writer's
 * kind) is shown as no layers rather than failing the whole query.
 */
static void
encap_from_row(sqlite3_stmt *st, struct flow_record *f, struct flow_encap *e)
{
	const char *tunnel = (const char *)sqlite3_column_text(st, 20);
	const char *text = (const char *)sqlite3_column_text(st, 21);
	int kind = tunnel != NULL ? encap_kind_of(tunnel) : -1;

	f->encap = NULL;
	if (kind < 0 && text == NULL)
		return;
	e->tunnel = (uint8_t)(kind > 0 ? kind : ENCAP_NONE);
	(void)encap_parse(text, e);
	if (e->tunnel != ENCAP_NONE || e->n > 0)
		f->encap = e;
}

int
store_flow_span(struct store *s, int *any, int64_t *oldest_us,
    int64_t *newest_us)
{
	sqlite3_stmt *st = store_stmt(s, S_FLOW_SPAN);
	int rc = sqlite3_step(st);

	*any = rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
	*oldest_us = *any ? sqlite3_column_int64(st, 0) : 0;
	*newest_us = *any ? sqlite3_column_int64(st, 1) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return store_db_fail(s, "reading the flows' time span");
	return 0;
}

int
store_run_families(struct store *s, int64_t run_id, struct store_families *f)
{
	sqlite3_stmt *st = store_stmt(s, S_FAMILIES_OF_RUN);
	int rc;

	memset(f, 0, sizeof(*f));
	sqlite3_bind_int64(st, 1, run_id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		f->ip4 = (uint64_t)sqlite3_column_int64(st, 0);
		f->ip6 = (uint64_t)sqlite3_column_int64(st, 1);
		f->icmp4 = (uint64_t)sqlite3_column_int64(st, 2);
		f->icmp6 = (uint64_t)sqlite3_column_int64(st, 3);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_db_fail(s, "reading a run");
	return 0;
}

int
store_tunnel_errors(struct store *s, const struct encap_layer *l,
    int64_t first_us, int64_t last_us, struct error_record *out, size_t max,
    size_t *n)
{
	sqlite3_stmt *st = store_stmt(s, S_TUNNEL_ERRORS);
	int alen = l->family == 6 ? 16 : 4, rc;

	sqlite3_bind_text(st, 1, encap_kind_name(l->kind), -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, l->src, alen, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, l->dst, alen, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, first_us);
	sqlite3_bind_int64(st, 5, last_us);
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max)
		error_from_row(st, &out[(*n)++]);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_db_fail(s, "reading the errors of a tunnel");
	return 0;
}

int
store_tunnel_carried(struct store *s, const struct flow_record *t,
    uint64_t *n)
{
	sqlite3_stmt *st = store_stmt(s, S_TUNNEL_CARRIED);
	char a[64], b[64], ab[160], ba[160];
	const char *kind = encap_kind_name(t->encap->tunnel);

	/* "%gre%@A>B%": the kind, any id, then the endpoints */
	addr_text(t->family, t->src, a, sizeof(a));
	addr_text(t->family, t->dst, b, sizeof(b));
	snprintf(ab, sizeof(ab), "%%%s%%@%s>%s%%", kind, a, b);
	snprintf(ba, sizeof(ba), "%%%s%%@%s>%s%%", kind, b, a);
	sqlite3_bind_int64(st, 1, t->first_us);
	sqlite3_bind_int64(st, 2, t->last_us);
	sqlite3_bind_text(st, 3, ab, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, ba, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return store_db_fail(s, "counting the flows of a tunnel");
	}
	*n = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

int
store_query_flows(struct store *s, const struct store_query *q,
    store_flow_fn fn, void *arg)
{
	struct sqlbuf b = { .len = 0 };
	sqlite3_stmt *st;
	struct error_record *ebuf = NULL;
	size_t ecap = 0, nstates = q->states ? q->nstates : 0;
	int rc, ret = 0;

	if (nstates > STATE_MAX)
		nstates = STATE_MAX;
	query_sql(&b, q, nstates);
	if (sqlite3_prepare_v2(s->db, b.sql, -1, &st, NULL) != SQLITE_OK)
		return store_db_fail(s, "preparing the query");
	query_bind(st, q, nstates);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct flow_record f;
		struct flow_encap e;
		flow_from_row(st, &f);
		encap_from_row(st, &f, &e);
		if (read_errors(s, &f, &ebuf, &ecap) != 0) {
			ret = -1;
			break;
		}
		if ((ret = fn(&f, arg)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = store_db_fail(s, "querying flows");
	sqlite3_finalize(st);
	free(ebuf);
	return ret;
}

int
store_db_id(struct store *s, char *buf, size_t len)
{
	sqlite3_stmt *st = store_stmt(s, S_DB_ID);
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return store_db_fail(s, "reading the database's id");
	return 0;
}

int
store_outbox_count(struct store *s, uint64_t *n)
{
	sqlite3_stmt *st = store_stmt(s, S_OUTBOX_COUNT);
	int rc = sqlite3_step(st);

	*n = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return store_db_fail(s, "counting the ClickHouse outbox");
	return 0;
}

int
store_outbox_take(struct store *s, size_t max, store_outbox_fn fn, void *arg)
{
	sqlite3_stmt *st;
	struct error_record *ebuf = NULL;
	size_t ecap = 0;
	int rc, ret = 0;

	st = store_stmt(s, S_OUTBOX_TAKE);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct flow_record f;
		struct flow_encap e;
		int64_t flow_id = sqlite3_column_int64(st, FLOW_NCOLUMNS);
		int64_t seq = sqlite3_column_int64(st, FLOW_NCOLUMNS + 1);
		/* its flow pruned since: only the entry, to clear */
		if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
			ret = fn(NULL, flow_id, seq, arg);
		} else {
			flow_from_row(st, &f);
			encap_from_row(st, &f, &e);
			if (read_errors(s, &f, &ebuf, &ecap) != 0) {
				ret = -1;
				break;
			}
			ret = fn(&f, flow_id, seq, arg);
		}
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_db_fail(s, "reading the ClickHouse outbox");
	sqlite3_reset(st);
	free(ebuf);
	return ret;
}

int
store_gone_runs_take(struct store *s, int64_t *runs, size_t max, size_t *n)
{
	sqlite3_stmt *st = store_stmt(s, S_GONE_TAKE);
	int rc;

	*n = 0;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max)
		runs[(*n)++] = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_db_fail(s, "reading the replaced runs");
	return 0;
}
