/*
 * Four 16-byte entries a 64-byte bucket (one cache line, aligned): a
 * burst of identical packets (IPv6 SYN retransmissions) keeps its last
 * four, each of which an error may quote. An entry names its packet's
 * flow by half the flow key's hash, not by addresses: a match tells which
 * flow, and whether the quote's own 5-tuple is that flow's (no rewriting)
 * or another (NAT).
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/hugemem.h"
#include "daemon/mix.h"
#include "daemon/sent_table.h"

#define WAYS	4
#define BUCKETS	(SENT_SLOTS / WAYS)

/*
 * A slot's first word: in use, 21 bits of the NAT-proof key above those
 * that chose the bucket, whether an error quoted the packet, whether key
 * side a sent it, its TTL.
 */
#define TAG_USED	0x80000000u
#define TAG_NAT		0xfffffc00u	/* with TAG_USED */
#define TAG_ERRORED	0x200u
#define TAG_FROM_A	0x100u
#define TAG_TTL		0xffu

struct sent_slot {
	uint32_t	tag;
	uint32_t	exact_tag;	/* with what NAT rewrites */
	uint32_t	flow;		/* low half of its flow's key hash */
	uint32_t	ts;		/* microseconds since the table's epoch */
};

/*
 * One cache line a bucket, so that the insert every packet makes costs
 * one miss, and that one prefetched (sent_table_prefetch).
 */
struct sent_bucket {
	struct sent_slot way[WAYS];
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct sent_bucket) == 64, "a bucket is a cache line");
/* hugemem aligns only runs of a huge page or more; calloc not to 64 */
_Static_assert(BUCKETS * sizeof(struct sent_bucket) >= HUGEMEM_PAGE,
    "the buckets are mapped, cache-line aligned");

struct sent_table {
	int64_t			epoch;	/* slot times count from here */
	int			started;
	struct sent_bucket	*b;	/* BUCKETS, one huge page */
};

struct sent_table *
sent_table_new(void)
{
	struct sent_table *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return NULL;
	if ((st->b = hugemem_calloc(BUCKETS * sizeof(*st->b))) == NULL) {
		free(st);
		return NULL;
	}
	return st;
}

void
sent_table_free(struct sent_table *st)
{
	if (st != NULL)
		hugemem_free(st->b, BUCKETS * sizeof(*st->b));
	free(st);
}

static uint64_t
word_at(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

uint64_t
sent_table_key(const struct sent_pkt *p)
{
	/* what NAT leaves alone: family, protocol, destination, length, ID */
	const struct tuple *t = p->t;
	uint64_t head = (uint64_t)t->family << 56 | (uint64_t)t->proto << 48 |
	    (uint64_t)t->dport << 32 | p->ip_bytes;

	return mix_mum(mix_mum(head ^ 0xa0761d6478bd642full,
	    p->ip_id ^ 0xe7037ed1a0b428dbull) ^ 0x8ebc6af09c88c6e3ull,
	    mix_mum(word_at(t->dst) ^ 0x589965cc75374cc3ull,
	    word_at(t->dst + 8) ^ 0x1d8e4e27c47d124full));
}

/* And what NAT rewrites: source address and port, bytes 4-7. */
static uint32_t
exact_tag(const struct sent_pkt *p, uint64_t nk)
{
	uint64_t h = mix_mum(mix_mum(nk ^ 0x9e3779b97f4a7c15ull,
	    ((uint64_t)p->t->sport << 32 | p->l4) ^ 0xc2b2ae3d27d4eb4full) ^
	    0x165667b19e3779f9ull,
	    mix_mum(word_at(p->t->src) ^ 0xd6e8feb86659fd93ull,
	    word_at(p->t->src + 8) ^ 0xff51afd7ed558ccdull));

	return (uint32_t)(h ^ h >> 32);
}

static uint32_t
nat_tag(uint64_t nk)
{
	return ((uint32_t)(nk >> 32) & TAG_NAT) | TAG_USED;
}

static struct sent_bucket *
bucket(struct sent_table *st, uint64_t nk)
{
	return &st->b[nk & (BUCKETS - 1)];
}

void
sent_table_prefetch(struct sent_table *st, uint64_t key)
{
	__builtin_prefetch(bucket(st, key), 1);
}

/*
 * Count slot times from a new epoch some way before now: slots older than
 * the window are forgotten, and so are slots a backward jump in time
 * (another capture file) leaves in the future beyond 32 bits.
 */
static void
rebase(struct sent_table *st, int64_t now_us)
{
	int64_t epoch = now_us - 2 * SENT_WINDOW_US;

	for (size_t i = 0; i < BUCKETS; i++)
		for (int w = 0; w < WAYS; w++) {
			struct sent_slot *s = &st->b[i].way[w];
			int64_t at = st->epoch + s->ts;
			if (!(s->tag & TAG_USED))
				continue;
			if (at < now_us - SENT_WINDOW_US ||
			    at - epoch > UINT32_MAX)
				memset(s, 0, sizeof(*s));
			else
				s->ts = (uint32_t)(at - epoch);
		}
	st->epoch = epoch;
}

void
sent_table_add(struct sent_table *st, uint64_t key, const struct sent_pkt *p,
    uint64_t flow, int from_a, uint8_t ttl, int64_t ts_us)
{
	struct sent_bucket *b = bucket(st, key);
	struct sent_slot *s = &b->way[0];

	if (!st->started) {
		st->epoch = ts_us - 2 * SENT_WINDOW_US;
		st->started = 1;
	}
	if (ts_us < st->epoch || ts_us - st->epoch > UINT32_MAX)
		rebase(st, ts_us);
	/* an empty way, else the oldest */
	for (int i = 1; i < WAYS && (s->tag & TAG_USED); i++)
		if (!(b->way[i].tag & TAG_USED) || b->way[i].ts < s->ts)
			s = &b->way[i];
	s->tag = nat_tag(key) | (from_a ? TAG_FROM_A : 0) | ttl;
	s->exact_tag = exact_tag(p, key);
	s->flow = (uint32_t)flow;
	s->ts = (uint32_t)(ts_us - st->epoch);
}

static void
fill_hit(const struct sent_table *st, struct sent_slot *s,
    struct sent_hit *hit, uint32_t quote_flow)
{
	hit->ts_us = st->epoch + s->ts;
	hit->ttl = (uint8_t)(s->tag & TAG_TTL);
	hit->first_error = !(s->tag & TAG_ERRORED);
	hit->flow = s->flow;
	hit->from_a = (s->tag & TAG_FROM_A) != 0;
	hit->packet = 1;
	hit->rewritten = s->flow != quote_flow;
	s->tag |= TAG_ERRORED;
}

enum sent_match
sent_table_match(struct sent_table *st, const struct sent_pkt *q,
    uint64_t quote_flow_hash, int64_t ts_us, int other_source,
    struct sent_hit *hit)
{
	uint64_t nk = sent_table_key(q);
	uint32_t nt = nat_tag(nk), et = exact_tag(q, nk);
	uint32_t quote_flow = (uint32_t)quote_flow_hash;
	struct sent_bucket *b = bucket(st, nk);
	struct sent_slot *exact = NULL, *cand = NULL;
	int ncand = 0;

	for (int i = 0; i < WAYS; i++) {
		struct sent_slot *s = &b->way[i];
		int64_t at = st->epoch + s->ts;
		if ((s->tag & (TAG_NAT | TAG_USED)) != nt || ts_us < at ||
		    ts_us - at > SENT_WINDOW_US)
			continue;
		if (s->exact_tag == et && s->flow == quote_flow) {
			/*
			 * Identical packets (an IPv6 retransmission has no
			 * ID to differ in): the newest not quoted yet, as an
			 * error follows its packet before the next is sent.
			 */
			int e_err = exact != NULL &&
			    (exact->tag & TAG_ERRORED) != 0;
			int s_err = (s->tag & TAG_ERRORED) != 0;
			if (exact == NULL || (e_err && !s_err) ||
			    (e_err == s_err && s->ts > exact->ts))
				exact = s;
			continue;
		}
		if (!other_source && s->flow != quote_flow)
			continue;
		if (cand != NULL && s->flow != cand->flow)
			ncand = -WAYS;	/* two flows: ambiguous */
		if (cand == NULL || s->ts > cand->ts)
			cand = s;
		ncand++;
	}
	if (exact != NULL) {
		fill_hit(st, exact, hit, quote_flow);
		return SENT_EXACT;
	}
	if (cand == NULL || ncand <= 0)
		return SENT_NONE;
	if (ncand == 1) {
		fill_hit(st, cand, hit, quote_flow);
	} else {
		/* One flow, several packets: the flow, not the packet. */
		memset(hit, 0, sizeof(*hit));
		hit->flow = cand->flow;
		hit->from_a = (cand->tag & TAG_FROM_A) != 0;
		hit->first_error = 1;
		hit->rewritten = cand->flow != quote_flow;
	}
	return SENT_ALTERED;
}
