/*
 * Four 32-byte entries a 128-byte bucket (two cache lines, aligned): a
 * burst of identical packets (IPv6 SYN retransmissions) keeps its last
 * four, each of which an error may quote. An entry names its packet's flow by the flow
 * key's hash, not by addresses: a match tells which flow, and whether the
 * quote's own 5-tuple is that flow's (no rewriting) or another (NAT).
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/sent_table.h"

#define WAYS	4

struct sent_slot {
	uint32_t	nat_tag;	/* high half of the NAT-proof key; 0: empty */
	uint32_t	exact_tag;	/* with what NAT rewrites */
	int64_t		ts_us;
	uint64_t	flow;		/* flow_key_hash of the packet's flow */
	uint8_t		ttl;
	uint8_t		errored;	/* an error quoted it */
	uint8_t		from_a;		/* sent by the flow key's side a */
	uint8_t		pad[5];
};

struct sent_bucket {
	struct sent_slot way[WAYS];
} __attribute__((aligned(128)));

_Static_assert(sizeof(struct sent_bucket) == 128, "a bucket is two cache lines");

struct sent_table {
	struct sent_bucket b[SENT_SLOTS / WAYS];
};

struct sent_table *
sent_table_new(void)
{
	struct sent_table *st;

	if (posix_memalign((void **)&st, 128, sizeof(*st)) != 0)
		return NULL;
	memset(st, 0, sizeof(*st));
	return st;
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

/* What NAT leaves alone: family, protocol, destination, length, ID. */
static uint64_t
nat_key(const struct sent_pkt *p)
{
	const struct tuple *t = p->t;
	uint64_t h = mix(0, (uint64_t)t->family << 56 |
	    (uint64_t)t->proto << 48 | (uint64_t)t->dport << 32 | p->ip_bytes);

	h = mix(h, p->ip_id);
	return mix_bytes(h, t->dst, 16);
}

/* And what NAT rewrites: source address and port, bytes 4-7. */
static uint32_t
exact_tag(const struct sent_pkt *p, uint64_t nk)
{
	uint64_t h = mix(nk, (uint64_t)p->t->sport << 32 | p->l4);

	h = mix_bytes(h, p->t->src, 16);
	return (uint32_t)(h ^ h >> 32);
}

static uint32_t
nat_tag(uint64_t nk)
{
	return (uint32_t)(nk >> 32) | 1;
}

static struct sent_bucket *
bucket(struct sent_table *st, uint64_t nk)
{
	return &st->b[nk & (SENT_SLOTS / WAYS - 1)];
}

void
sent_table_add(struct sent_table *st, const struct sent_pkt *p,
    uint64_t flow, int from_a, uint8_t ttl, int64_t ts_us)
{
	uint64_t nk = nat_key(p);
	struct sent_bucket *b = bucket(st, nk);
	struct sent_slot *s = &b->way[0];

	/* an empty way, else the oldest */
	for (int i = 1; i < WAYS && s->nat_tag != 0; i++)
		if (b->way[i].nat_tag == 0 || b->way[i].ts_us < s->ts_us)
			s = &b->way[i];
	s->nat_tag = nat_tag(nk);
	s->exact_tag = exact_tag(p, nk);
	s->ts_us = ts_us;
	s->flow = flow;
	s->from_a = (uint8_t)(from_a != 0);
	s->ttl = ttl;
	s->errored = 0;
}

static void
fill_hit(struct sent_slot *s, struct sent_hit *hit, uint64_t quote_flow)
{
	hit->ts_us = s->ts_us;
	hit->ttl = s->ttl;
	hit->first_error = !s->errored;
	hit->flow = s->flow;
	hit->from_a = s->from_a;
	hit->packet = 1;
	hit->rewritten = s->flow != quote_flow;
	s->errored = 1;
}

enum sent_match
sent_table_match(struct sent_table *st, const struct sent_pkt *q,
    uint64_t quote_flow, int64_t ts_us, int other_source,
    struct sent_hit *hit)
{
	uint64_t nk = nat_key(q);
	uint32_t nt = nat_tag(nk), et = exact_tag(q, nk);
	struct sent_bucket *b = bucket(st, nk);
	struct sent_slot *exact = NULL, *cand = NULL;
	int ncand = 0;

	for (int i = 0; i < WAYS; i++) {
		struct sent_slot *s = &b->way[i];
		if (s->nat_tag != nt || ts_us < s->ts_us ||
		    ts_us - s->ts_us > SENT_WINDOW_US)
			continue;
		if (s->exact_tag == et && s->flow == quote_flow) {
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
		if (!other_source && s->flow != quote_flow)
			continue;
		if (cand != NULL && s->flow != cand->flow)
			ncand = -WAYS;	/* two flows: ambiguous */
		if (cand == NULL || s->ts_us > cand->ts_us)
			cand = s;
		ncand++;
	}
	if (exact != NULL) {
		fill_hit(exact, hit, quote_flow);
		return SENT_EXACT;
	}
	if (cand == NULL || ncand <= 0)
		return SENT_NONE;
	if (ncand == 1) {
		fill_hit(cand, hit, quote_flow);
	} else {
		/* One flow, several packets: the flow, not the packet. */
		memset(hit, 0, sizeof(*hit));
		hit->flow = cand->flow;
		hit->from_a = cand->from_a;
		hit->first_error = 1;
		hit->rewritten = cand->flow != quote_flow;
	}
	return SENT_ALTERED;
}
