#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/export.h"
#include "daemon/tcp_track.h"

int
export_flow(struct analyzer *a, const struct flow *f,
    struct flow_record *sf, struct error_record **buf, size_t *cap)
{
	const struct flow_table *ft = analyzer_settle(a);
	const struct flow_key *k = &f->key;
	size_t alen = k->family == 6 ? 16 : 4, n = 0;
	int s = f->src_is_a ? 0 : 1;	/* 0: src is side a */

	/* copied, not memset: see flow_zero in flow_table.c */
	static const struct flow_record zero;

	*sf = zero;
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
		sf->end = (uint8_t)tcp_track_end(ft, f, sf->state);
		sf->end_by = (uint8_t)tcp_track_end_by(ft, f, sf->end);
		sf->rst_ttl = t->rst_ttl;
		sf->dst_ttl = analyzer_dst_ttl(a, f);
	}
	for (const struct flow_error *e = flow_error_first(ft, f); e != NULL;
	    e = flow_error_next(ft, e)) {
		if (n == *cap) {
			size_t ncap = *cap ? *cap * 2 : 8;
			struct error_record *nb = realloc(*buf,
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
	sf->encap = flow_table_encap(ft, f);
	return 0;
}

int64_t
export_idle_timeout(const struct expiry *ex, const struct flow *f)
{
	if (f->key.proto != PROTO_TCP)
		return ex->udp_us;
	if ((f->tcp & FT_TCP_RST) ||
	    (f->tcp & (FT_TCP_FIN_SRC | FT_TCP_FIN_DST)) ==
	    (FT_TCP_FIN_SRC | FT_TCP_FIN_DST))
		return ex->closed_us;
	return ex->tcp_us;
}

void
export_skip_name(const struct analyzer_skip *k, char *buf, size_t len)
{
	decode_skip_text((enum skip_reason)k->why, k->arg, buf, len);
}

int
export_malformed(struct store *db, const struct analyzer_stats *st)
{
	char name[96];

	for (int i = 1; i < WHY_COUNT; i++)
		if (st->malformed[i] > 0 && store_run_malformed(db,
		    decode_reason_name(i), st->malformed[i]) != 0)
			return -1;
	for (uint32_t i = 0; i < st->nskip; i++) {
		export_skip_name(&st->skip[i], name, sizeof(name));
		if (store_run_undecoded(db, name, st->skip[i].count) != 0)
			return -1;
	}
	if (st->skip_other > 0 && store_run_undecoded(db, "other reasons",
	    st->skip_other) != 0)
		return -1;
	return 0;
}

/* Reasons most first; the same counts keep the order they came in. */
static int
by_count(const void *x, const void *y)
{
	const struct analyzer_skip *a = x, *b = y;

	return a->count != b->count ? (a->count < b->count ? 1 : -1) : 0;
}

void
export_undecoded_text(const struct analyzer_stats *st, char *buf,
    size_t len)
{
	struct analyzer_skip v[ANALYZER_SKIP_KINDS];
	char name[96];
	size_t n = 0;

	buf[0] = '\0';
	memcpy(v, st->skip, st->nskip * sizeof(v[0]));
	qsort(v, st->nskip, sizeof(v[0]), by_count);
	for (uint32_t i = 0; i < st->nskip && n < len; i++) {
		export_skip_name(&v[i], name, sizeof(name));
		n += (size_t)snprintf(buf + n, len - n, "%s%s %llu",
		    n ? ", " : " (", name, (unsigned long long)v[i].count);
	}
	if (st->skip_other > 0 && n < len)
		n += (size_t)snprintf(buf + n, len - n, "%sother reasons %llu",
		    n ? ", " : " (", (unsigned long long)st->skip_other);
	if (n > 0 && n < len)
		snprintf(buf + n, len - n, ")");
}

int
export_commonest(const struct analyzer_stats *st, char *buf, size_t len,
    uint64_t *count)
{
	*count = 0;
	for (int i = 1; i < WHY_COUNT; i++)
		if (st->malformed[i] > *count) {
			*count = st->malformed[i];
			snprintf(buf, len, "malformed (%s)",
			    decode_reason_name(i));
		}
	for (uint32_t i = 0; i < st->nskip; i++)
		if (st->skip[i].count > *count) {
			*count = st->skip[i].count;
			export_skip_name(&st->skip[i], buf, len);
		}
	return *count > 0 ? 0 : -1;
}

void
export_malformed_text(const struct analyzer_stats *st, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 1; i < WHY_COUNT && n < len; i++) {
		if (st->malformed[i] == 0)
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%s%s %llu",
		    n ? ", " : " (", decode_reason_name(i),
		    (unsigned long long)st->malformed[i]);
	}
	if (n > 0 && n < len)
		snprintf(buf + n, len - n, ")");
}
