#include <stdlib.h>
#include <string.h>

#include "daemon/writer.h"

struct collect {
	struct flow	**v;
	size_t		  n;
};

static int
collect_one(struct flow *f, void *arg)
{
	struct collect *c = arg;

	c->v[c->n++] = f;
	return 0;
}

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

int
writer_flow_to_store(struct analyzer *a, const struct flow *f,
    struct store_flow *sf, struct store_error **buf, size_t *cap)
{
	const struct flow_table *ft = analyzer_flows(a);
	const struct flow_key *k = &f->key;
	size_t alen = k->family == 6 ? 16 : 4, n = 0;
	int s = f->src_is_a ? 0 : 1;	/* 0: src is side a */

	memset(sf, 0, sizeof(*sf));
	sf->family = k->family;
	sf->proto = k->proto;
	sf->has_ports = k->has_ports;
	memcpy(sf->src, s == 0 ? k->a : k->b, alen);
	memcpy(sf->dst, s == 0 ? k->b : k->a, alen);
	sf->sport = s == 0 ? k->pa : k->pb;
	sf->dport = s == 0 ? k->pb : k->pa;
	sf->first_us = f->first_us;
	sf->last_us = f->last_us;
	sf->pkts_sent = f->pkts[0];
	sf->bytes_sent = f->bytes[0];
	sf->pkts_back = f->pkts[1];
	sf->bytes_back = f->bytes[1];
	sf->state = (uint8_t)analyzer_flow_state(ft, f);
	sf->pkts_errored = f->pkts_errored;
	const struct flow_tcp *t = flow_tcp_find(ft, f);
	if (t != NULL) {
		sf->syns = t->syns;
		sf->syn_span_us = t->syn_last_us - t->syn_first_us;
		sf->end = (uint8_t)analyzer_flow_end(ft, f, sf->state);
		sf->end_by = (uint8_t)analyzer_flow_end_by(ft, f, sf->end);
		sf->rst_ttl = t->rst_ttl;
		sf->dst_ttl = analyzer_dst_ttl(a, f);
	}
	for (const struct flow_error *e = flow_error_first(ft, f); e != NULL;
	    e = flow_error_next(ft, e)) {
		if (n == *cap) {
			size_t ncap = *cap ? *cap * 2 : 8;
			struct store_error *nb = realloc(*buf,
			    ncap * sizeof(*nb));
			if (nb == NULL)
				return -1;
			*buf = nb;
			*cap = ncap;
		}
		(*buf)[n++] = e->e;
	}
	sf->errors = *buf;
	sf->nerrors = n;
	return 0;
}

int64_t
writer_idle_timeout(const struct writer_expiry *ex, const struct flow *f)
{
	if (f->key.proto != PROTO_TCP)
		return ex->udp_us;
	if ((f->tcp & FT_TCP_RST) ||
	    (f->tcp & (FT_TCP_FIN_SRC | FT_TCP_FIN_DST)) ==
	    (FT_TCP_FIN_SRC | FT_TCP_FIN_DST))
		return ex->closed_us;
	return ex->tcp_us;
}

struct idle {
	struct flow		**v;
	size_t			  n, cap;
	int64_t			  now;
	const struct writer_expiry *ex;
	int			  nomem;
};

static int
collect_idle(struct flow *f, void *arg)
{
	struct idle *c = arg;

	if (c->now - f->last_us <= writer_idle_timeout(c->ex, f))
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

static int
write_sorted(struct store *s, struct analyzer *a, struct flow **v, size_t n)
{
	struct store_error *errs = NULL;
	size_t errcap = 0;
	int rc = 0;

	qsort(v, n, sizeof(*v), by_first_seen);
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct store_flow sf;
		rc = writer_flow_to_store(a, v[i], &sf, &errs, &errcap);
		if (rc == 0)
			rc = store_run_flow(s, &sf);
	}
	free(errs);
	return rc;
}

int
writer_expire(struct store *s, struct analyzer *a, int64_t now_us,
    const struct writer_expiry *ex, size_t *n)
{
	struct flow_table *ft = analyzer_flows(a);
	struct idle c = { .now = now_us, .ex = ex };
	struct flow_key *keys;
	int rc = -1;

	*n = 0;
	flow_table_foreach(ft, collect_idle, &c);
	if (c.nomem || (keys = calloc(c.n ? c.n : 1, sizeof(*keys))) == NULL) {
		free(c.v);
		return -1;
	}
	if (write_sorted(s, a, c.v, c.n) == 0) {
		/* removing moves entries: find each again by its key */
		for (size_t i = 0; i < c.n; i++)
			keys[i] = c.v[i]->key;
		for (size_t i = 0; i < c.n; i++) {
			struct flow *f = flow_table_find(ft, &keys[i]);
			if (f != NULL)
				flow_table_remove(ft, f);
		}
		*n = c.n;
		rc = 0;
	}
	free(keys);
	free(c.v);
	return rc;
}

int
writer_flows(struct store *s, struct analyzer *a)
{
	struct flow_table *ft = analyzer_flows(a);
	struct collect c = { NULL, 0 };
	int rc;

	if (flow_table_count(ft) == 0)
		return 0;
	if ((c.v = calloc(flow_table_count(ft), sizeof(*c.v))) == NULL)
		return -1;
	flow_table_foreach(ft, collect_one, &c);
	rc = write_sorted(s, a, c.v, c.n);
	free(c.v);
	return rc;
}
