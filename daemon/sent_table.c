#include <stdlib.h>
#include <string.h>

#include "daemon/sent_table.h"

struct sent_slot {
	uint64_t	nat_key;	/* 0: empty */
	uint64_t	exact_key;
	int64_t		ts_us;
	uint8_t		src[16];
	uint16_t	sport;
	uint8_t		ttl;
	uint8_t		errored;	/* an error quoted it */
	uint8_t		shared;		/* another source, same nat_key */
};

struct sent_table {
	struct sent_slot slots[SENT_SLOTS];
};

struct sent_table *
sent_table_new(void)
{
	return calloc(1, sizeof(struct sent_table));
}

void
sent_table_free(struct sent_table *st)
{
	free(st);
}

static uint64_t
mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdull;
}

static uint64_t
mix_bytes(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v;
		memcpy(&v, p + i, 8);
		h = mix(h, v);
	}
	return h;
}

static uint64_t
nat_key(const struct sent_pkt *p)
{
	const struct tuple *t = p->t;
	uint64_t h = mix(0, (uint64_t)t->family << 56 | (uint64_t)t->proto << 48 |
	    (uint64_t)t->dport << 32 | p->ip_bytes);

	h = mix(h, p->ip_id);
	h = mix_bytes(h, t->dst, 16);
	return h ? h : 1;
}

static uint64_t
exact_key(const struct sent_pkt *p, uint64_t nk)
{
	uint64_t h = mix(nk, (uint64_t)p->t->sport << 32 | p->l4);

	return mix_bytes(h, p->t->src, 16);
}

static int
same_source(const struct sent_slot *s, const struct tuple *t)
{
	return s->sport == t->sport && memcmp(s->src, t->src, 16) == 0;
}

void
sent_table_add(struct sent_table *st, const struct sent_pkt *p, uint8_t ttl,
    int64_t ts_us)
{
	uint64_t nk = nat_key(p);
	struct sent_slot *s = &st->slots[nk & (SENT_SLOTS - 1)];
	int recent = s->nat_key == nk && ts_us - s->ts_us <= SENT_WINDOW_US;
	uint8_t shared = recent && (s->shared || !same_source(s, p->t));

	s->nat_key = nk;
	s->exact_key = exact_key(p, nk);
	s->ts_us = ts_us;
	memcpy(s->src, p->t->src, 16);
	s->sport = p->t->sport;
	s->ttl = ttl;
	s->errored = 0;
	s->shared = shared;
}

enum sent_match
sent_table_match(struct sent_table *st, const struct sent_pkt *q,
    int64_t ts_us, int allow_altered, struct sent_hit *hit)
{
	uint64_t nk = nat_key(q);
	struct sent_slot *s = &st->slots[nk & (SENT_SLOTS - 1)];
	enum sent_match m;

	if (s->nat_key != nk || ts_us < s->ts_us ||
	    ts_us - s->ts_us > SENT_WINDOW_US)
		return SENT_NONE;
	if (s->exact_key == exact_key(q, nk))
		m = SENT_EXACT;
	else if (allow_altered && !s->shared && !same_source(s, q->t))
		m = SENT_ALTERED;
	else
		return SENT_NONE;
	hit->ts_us = s->ts_us;
	hit->ttl = s->ttl;
	hit->first_error = !s->errored;
	memcpy(hit->src, s->src, 16);
	hit->sport = s->sport;
	s->errored = 1;
	return m;
}
