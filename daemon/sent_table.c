/*
 * Four-way buckets: a flow that sends same-sized packets to one port
 * (IPv6 has no ID to tell them apart) fills one bucket, so the last four
 * stay, and a quote can still name the earlier ones exactly.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/sent_table.h"

#define WAYS	4

struct sent_slot {
	uint64_t	nat_key;	/* 0: empty */
	uint64_t	exact_key;
	int64_t		ts_us;
	uint8_t		src[16];
	uint16_t	sport;
	uint8_t		ttl;
	uint8_t		errored;	/* an error quoted it */
};

struct sent_table {
	struct sent_slot slots[SENT_SLOTS / WAYS][WAYS];
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
	uint64_t h = mix(0, (uint64_t)t->family << 56 |
	    (uint64_t)t->proto << 48 | (uint64_t)t->dport << 32 | p->ip_bytes);

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

static struct sent_slot *
bucket(struct sent_table *st, uint64_t nk)
{
	return st->slots[(nk ^ nk >> 32) & (SENT_SLOTS / WAYS - 1)];
}

static int
same_source(const struct sent_slot *s, const uint8_t src[16], uint16_t sport)
{
	return s->sport == sport && memcmp(s->src, src, 16) == 0;
}

void
sent_table_add(struct sent_table *st, const struct sent_pkt *p, uint8_t ttl,
    int64_t ts_us)
{
	struct sent_slot *b = bucket(st, nat_key(p)), *s = &b[0];

	for (int i = 1; i < WAYS && s->nat_key != 0; i++)
		if (b[i].nat_key == 0 || b[i].ts_us < s->ts_us)
			s = &b[i];
	s->nat_key = nat_key(p);
	s->exact_key = exact_key(p, s->nat_key);
	s->ts_us = ts_us;
	memcpy(s->src, p->t->src, 16);
	s->sport = p->t->sport;
	s->ttl = ttl;
	s->errored = 0;
}

static void
fill_hit(struct sent_slot *s, struct sent_hit *hit)
{
	hit->ts_us = s->ts_us;
	hit->ttl = s->ttl;
	hit->first_error = !s->errored;
	memcpy(hit->src, s->src, 16);
	hit->sport = s->sport;
	hit->packet = 1;
	s->errored = 1;
}

enum sent_match
sent_table_match(struct sent_table *st, const struct sent_pkt *q,
    int64_t ts_us, int other_source, struct sent_hit *hit)
{
	uint64_t nk = nat_key(q), ek = exact_key(q, nk);
	struct sent_slot *b = bucket(st, nk), *exact = NULL, *cand = NULL;
	int ncand = 0;

	for (int i = 0; i < WAYS; i++) {
		struct sent_slot *s = &b[i];
		if (s->nat_key != nk || ts_us < s->ts_us ||
		    ts_us - s->ts_us > SENT_WINDOW_US)
			continue;
		if (s->exact_key == ek) {
			/*
			 * Identical packets (an IPv6 retransmission has no
			 * ID to differ in): the newest not quoted yet, as an
			 * error follows its packet before the next is sent.
			 */
			if (exact == NULL || (exact->errored && !s->errored) ||
			    (exact->errored == s->errored &&
			    s->ts_us > exact->ts_us))
				exact = s;
			continue;
		}
		if (!other_source && !same_source(s, q->t->src, q->t->sport))
			continue;
		if (cand != NULL && !same_source(s, cand->src, cand->sport))
			ncand = -WAYS;	/* two sources: ambiguous */
		if (cand == NULL || s->ts_us > cand->ts_us)
			cand = s;
		ncand++;
	}
	if (exact != NULL) {
		fill_hit(exact, hit);
		hit->rewritten = 0;
		return SENT_EXACT;
	}
	if (cand == NULL || ncand <= 0)
		return SENT_NONE;
	if (ncand == 1) {
		fill_hit(cand, hit);
	} else {
		/* One source, several packets: the flow, not the packet. */
		memset(hit, 0, sizeof(*hit));
		memcpy(hit->src, cand->src, 16);
		hit->sport = cand->sport;
		hit->first_error = 1;
	}
	hit->rewritten = !same_source(cand, q->t->src, q->t->sport);
	return SENT_ALTERED;
}
