/*
 * Flows live in chunks of 16384 that never move; an index of 8-byte
 * slots (open addressing, linear probing, a power of two grown at 75%
 * load) holds each flow's number and the low half of its hash, which is
 * also where its probe starts, so that growing and removing (Knuth's
 * algorithm R: following slots shift back, no tombstones) touch only the
 * index. Memory follows the flows: 128 bytes each and 11-21 for the
 * index, and no table of flows doubling. A chunk is one huge page, and so
 * is every 2 MiB of a large index (daemon/hugemem.h). The error
 * aggregates live in one pool indexed by 32-bit links with a free list,
 * so a flow without errors costs nothing for them.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/encap_table.h"
#include "daemon/flow_table.h"
#include "daemon/hugemem.h"
#include "daemon/mix.h"

#define INITIAL_SLOTS	(1u << 12)
#define CHUNK_SHIFT	14
#define CHUNK		(1u << CHUNK_SHIFT)	/* flows a chunk: 2 MiB */
#define NO_FLOW		UINT32_MAX

struct slot {
	uint32_t		 tag;		/* low half of the flow's hash */
	uint32_t		 flow;		/* its number + 1; 0: empty */
};

struct flow_table {
	struct slot		*slots;
	size_t			 mask;		/* slots - 1 */
	size_t			 count;
	struct flow		**chunks;
	uint32_t		 nchunks;
	uint32_t		 nflows;	/* numbers handed out */
	uint32_t		 free_flows;	/* through a free flow's err_head */
	struct flow_error	*errs;
	uint32_t		 nerrs, errcap;
	uint32_t		 free_errs;	/* free list through .next */
	struct flow_tcp		*tcps;
	uint32_t		 ntcps, tcpcap;
	uint32_t		 free_tcps;	/* free list through .next_free */
	struct flow		**dirty;	/* the dirty log, when on */
	size_t			 ndirty, dirtycap;
	int			 dirty_on, dirty_lost;
	struct encap_table	*encaps;	/* made at the first one */
};

_Static_assert(sizeof(struct flow) == 128, "a flow is two cache lines");
_Static_assert(CHUNK * sizeof(struct flow) == HUGEMEM_PAGE,
    "a chunk is one huge page");

/*
 * Flows are cleared by copying this, not by memset: for 128 bytes GCC
 * emits rep stos, which costs more than the rest of creating a flow.
 */
static const struct flow flow_zero;

/* What the index takes, as hugemem_free wants to be told. */
static size_t
slots_bytes(const struct flow_table *ft)
{
	return (ft->mask + 1) * sizeof(*ft->slots);
}

static uint32_t
flow_encap_id(const struct flow *f)
{
	return (uint32_t)f->encap[0] << 16 | (uint32_t)f->encap[1] << 8 |
	    f->encap[2];
}

struct flow_table *
flow_table_new(void)
{
	struct flow_table *ft = calloc(1, sizeof(*ft));

	if (ft == NULL)
		return NULL;
	ft->slots = hugemem_calloc(INITIAL_SLOTS * sizeof(*ft->slots));
	if (ft->slots == NULL) {
		free(ft);
		return NULL;
	}
	ft->mask = INITIAL_SLOTS - 1;
	ft->free_flows = NO_FLOW;
	ft->free_errs = FLOW_ERR_NONE;
	ft->free_tcps = FLOW_TCP_NONE;
	return ft;
}

void
flow_table_free(struct flow_table *ft)
{
	if (ft == NULL)
		return;
	hugemem_free(ft->slots, slots_bytes(ft));
	for (uint32_t i = 0; i < ft->nchunks; i++)
		hugemem_free(ft->chunks[i], CHUNK * sizeof(struct flow));
	free(ft->chunks);
	free(ft->errs);
	free(ft->tcps);
	free(ft->dirty);
	encap_table_free(ft->encaps);
	free(ft);
}

/* An address as two words, zero beyond its length. */
static void
addr_words(const uint8_t a[16], size_t alen, uint64_t w[2])
{
	memcpy(w, a, 16);
	if (alen == 4) {
		static const uint8_t first4[8] = { 0xff, 0xff, 0xff, 0xff };
		uint64_t m;
		memcpy(&m, first4, sizeof(m));
		w[0] &= m;
		w[1] = 0;
	}
}

/* Two addresses as addr_words made them, in memcmp's order. */
static int
addr_cmp(const uint64_t a[2], const uint64_t b[2])
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t x = __builtin_bswap64(a[0]), y = __builtin_bswap64(b[0]);
	if (x == y) {
		x = __builtin_bswap64(a[1]);
		y = __builtin_bswap64(b[1]);
	}
#else
	uint64_t x = a[0], y = b[0];
	if (x == y) {
		x = a[1];
		y = b[1];
	}
#endif
	return (x > y) - (x < y);
}

/* The hash of a key's five 8-byte words: two products, then one more. */
static inline uint64_t
key_words_hash(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1,
    uint64_t tail)
{
	uint64_t m0 = mix_mum(a0 ^ 0xa0761d6478bd642full,
	    a1 ^ 0xe7037ed1a0b428dbull);
	uint64_t m1 = mix_mum(b0 ^ 0x8ebc6af09c88c6e3ull,
	    b1 ^ 0x589965cc75374cc3ull);
	uint64_t h = mix_mum(m0 ^ tail ^ 0x1d8e4e27c47d124full,
	    m1 ^ 0x9e3779b97f4a7c15ull);
	return h ? h : 1;			/* 0 marks a free slot */
}

/*
 * The key is written as five whole words, and hashed from the words as
 * they are made: reading them back would wait for the stores (a load
 * spanning or splitting stores is not forwarded).
 */
uint64_t
flow_key_make(const struct tuple *t, struct flow_key *k, int *from_a)
{
	size_t alen = t->family == 6 ? 16 : 4;
	uint16_t sp = t->has_ports ? t->sport : 0;
	uint16_t dp = t->has_ports ? t->dport : 0;
	uint64_t s[2], d[2], w;

	addr_words(t->src, alen, s);
	addr_words(t->dst, alen, d);
	int c = addr_cmp(s, d);
	*from_a = c < 0 || (c == 0 && sp <= dp);
	uint16_t pa = *from_a ? sp : dp, pb = *from_a ? dp : sp;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* pa, pb, proto, family, has_ports, pad as they lie in memory */
	w = (uint64_t)pa | (uint64_t)pb << 16 | (uint64_t)t->proto << 32 |
	    (uint64_t)t->family << 40 | (uint64_t)t->has_ports << 48;
#else
	struct flow_key tail = { .pa = pa, .pb = pb, .proto = t->proto,
	    .family = t->family, .has_ports = t->has_ports };
	memcpy(&w, &tail.pa, sizeof(w));
#endif
	const uint64_t *ka = *from_a ? s : d, *kb = *from_a ? d : s;
	memcpy(k->a, ka, 16);
	memcpy(k->b, kb, 16);
	memcpy(&k->pa, &w, sizeof(w));
	return key_words_hash(ka[0], ka[1], kb[0], kb[1], w);
}

uint64_t
flow_key_hash(const struct flow_key *k)
{
	uint64_t w[5];

	_Static_assert(sizeof(*k) == 40, "flow_key is five words");
	_Static_assert(offsetof(struct flow_key, pa) == 32,
	    "ports, protocol and family are the fifth word");
	memcpy(w, k, sizeof(w));
	return key_words_hash(w[0], w[1], w[2], w[3], w[4]);
}

static struct flow *
flow_at(const struct flow_table *ft, uint32_t n)
{
	return &ft->chunks[n >> CHUNK_SHIFT][n & (CHUNK - 1)];
}

static int
grow(struct flow_table *ft)
{
	size_t nslots = (ft->mask + 1) * 2;
	struct slot *ns = hugemem_calloc(nslots * sizeof(*ns));

	if (ns == NULL)
		return -1;
	for (size_t i = 0; i <= ft->mask; i++) {
		struct slot *s = &ft->slots[i];
		if (s->flow == 0)
			continue;
		size_t j = s->tag & (nslots - 1);
		while (ns[j].flow != 0)
			j = (j + 1) & (nslots - 1);
		ns[j] = *s;
	}
	hugemem_free(ft->slots, slots_bytes(ft));
	ft->slots = ns;
	ft->mask = nslots - 1;
	return 0;
}

/* A flow's number: a free one, else the next, in a new chunk if need be. */
static int
flow_alloc(struct flow_table *ft, uint32_t *n)
{
	if (ft->free_flows != NO_FLOW) {
		*n = ft->free_flows;
		ft->free_flows = flow_at(ft, *n)->err_head;
		return 0;
	}
	if (ft->nflows == NO_FLOW - 1)
		return -1;
	if (ft->nflows == ft->nchunks * CHUNK) {
		struct flow **nc = realloc(ft->chunks,
		    (ft->nchunks + 1) * sizeof(*nc));
		if (nc == NULL)
			return -1;
		ft->chunks = nc;
		/* zeroed by the kernel; flows below nflows are written when made */
		if ((nc[ft->nchunks] = hugemem_calloc(CHUNK *
		    sizeof(struct flow))) == NULL)
			return -1;
		ft->nchunks++;
	}
	*n = ft->nflows++;
	return 0;
}

void
flow_table_prefetch(const struct flow_table *ft, uint64_t h)
{
	__builtin_prefetch(&ft->slots[h & ft->mask], 1);
}

void
flow_table_prefetch_flow(const struct flow_table *ft, uint64_t h)
{
	const struct slot *s = &ft->slots[h & ft->mask];

	if (s->flow != 0 && s->tag == (uint32_t)h)
		__builtin_prefetch(flow_at(ft, s->flow - 1), 1);
}

struct flow *
flow_table_get(struct flow_table *ft, const struct flow_key *k, int from_a,
    int *created)
{
	return flow_table_get_hashed(ft, k, flow_key_hash(k), from_a, created);
}

/* The flow of key k (hash h); else NULL, *empty the slot it would take. */
static struct flow *
probe(const struct flow_table *ft, const struct flow_key *k, uint64_t h,
    struct slot **empty)
{
	for (size_t i = h & ft->mask;; i = (i + 1) & ft->mask) {
		struct slot *s = &ft->slots[i];
		if (s->flow == 0) {
			*empty = s;
			return NULL;
		}
		if (s->tag != (uint32_t)h)
			continue;
		struct flow *f = flow_at(ft, s->flow - 1);
		if (f->hash == h && memcmp(&f->key, k, sizeof(*k)) == 0)
			return f;
	}
}

struct flow *
flow_table_get_hashed(struct flow_table *ft, const struct flow_key *k,
    uint64_t h, int from_a, int *created)
{
	uint32_t n;
	struct slot *s;
	struct flow *f;

	*created = 0;
	if ((f = probe(ft, k, h, &s)) != NULL)
		return f;
	if ((ft->count + 1) * 4 > (ft->mask + 1) * 3) {
		if (grow(ft) != 0)
			return NULL;
		return flow_table_get_hashed(ft, k, h, from_a, created);
	}
	if (flow_alloc(ft, &n) != 0)
		return NULL;
	f = flow_at(ft, n);
	*f = flow_zero;
	f->key = *k;
	f->hash = h;
	f->src_is_a = (uint8_t)from_a;
	f->err_head = FLOW_ERR_NONE;
	f->tcp_idx = FLOW_TCP_NONE;
	s->tag = (uint32_t)h;
	s->flow = n + 1;
	ft->count++;
	*created = 1;
	return f;
}

struct flow *
flow_table_find_hash(struct flow_table *ft, uint32_t h)
{
	/* the probe starts from the hash's low bits, all of them in h */
	for (size_t i = h & ft->mask;; i = (i + 1) & ft->mask) {
		const struct slot *s = &ft->slots[i];
		if (s->flow == 0)
			return NULL;
		if (s->tag == h)
			return flow_at(ft, s->flow - 1);
	}
}

struct flow *
flow_table_find(struct flow_table *ft, const struct flow_key *k)
{
	struct slot *empty;

	return probe(ft, k, flow_key_hash(k), &empty);
}

int
flow_error_add(struct flow_table *ft, struct flow *f,
    const struct error_record *occ)
{
	uint32_t prev = FLOW_ERR_NONE, n = 0;

	for (uint32_t i = f->err_head; i != FLOW_ERR_NONE; i = ft->errs[i].next) {
		struct error_record *e = &ft->errs[i].e;
		prev = i;
		n++;
		if (e->family != occ->family || e->type != occ->type ||
		    e->code != occ->code ||
		    memcmp(e->reporter, occ->reporter, 16) != 0)
			continue;
		e->count++;
		if (occ->first_us < e->first_us)
			e->first_us = occ->first_us;
		if (occ->last_us > e->last_us)
			e->last_us = occ->last_us;
		if (occ->has_mtu) {
			e->has_mtu = 1;
			e->mtu = occ->mtu;
		}
		e->matched += occ->matched;
		e->altered += occ->altered;
		if (occ->rtt_us >= 0 && (e->rtt_us < 0 || occ->rtt_us < e->rtt_us))
			e->rtt_us = occ->rtt_us;
		/* The TTLs of a captured packet are better than a guess. */
		if (occ->sent_ttl != 0 && (e->sent_ttl == 0 || occ->matched)) {
			e->sent_ttl = occ->sent_ttl;
			e->quoted_ttl = occ->quoted_ttl;
		}
		return 0;
	}
	uint32_t slot;
	if (n >= FLOW_MAX_ERRORS)
		return 1;
	if (ft->free_errs != FLOW_ERR_NONE) {
		slot = ft->free_errs;
		ft->free_errs = ft->errs[slot].next;
		goto fill;
	}
	if (ft->nerrs == ft->errcap) {
		uint32_t ncap = ft->errcap ? ft->errcap * 2 : 256;
		struct flow_error *ne;
		if (ncap <= ft->errcap)
			return -1;
		ne = realloc(ft->errs, (size_t)ncap * sizeof(*ne));
		if (ne == NULL)
			return -1;
		ft->errs = ne;
		ft->errcap = ncap;
	}
	slot = ft->nerrs++;
fill:
	ft->errs[slot].e = *occ;
	ft->errs[slot].e.count = 1;
	ft->errs[slot].next = FLOW_ERR_NONE;
	if (prev == FLOW_ERR_NONE)
		f->err_head = slot;
	else
		ft->errs[prev].next = slot;
	return 0;
}

const struct flow_error *
flow_error_first(const struct flow_table *ft, const struct flow *f)
{
	return f->err_head == FLOW_ERR_NONE ? NULL : &ft->errs[f->err_head];
}

const struct flow_error *
flow_error_next(const struct flow_table *ft, const struct flow_error *e)
{
	return e->next == FLOW_ERR_NONE ? NULL : &ft->errs[e->next];
}

void
flow_table_remove(struct flow_table *ft, struct flow *f)
{
	size_t i, j;
	uint32_t n = 0;

	/* its slot: the one naming this very flow */
	for (i = f->hash & ft->mask;; i = (i + 1) & ft->mask) {
		const struct slot *s = &ft->slots[i];
		if (s->flow == 0)
			return;			/* not in the table */
		if (s->tag == (uint32_t)f->hash &&
		    flow_at(ft, s->flow - 1) == f) {
			n = s->flow - 1;
			break;
		}
	}
	/* give its error records back */
	uint32_t e = f->err_head;
	while (e != FLOW_ERR_NONE) {
		uint32_t next = ft->errs[e].next;
		ft->errs[e].next = ft->free_errs;
		ft->free_errs = e;
		e = next;
	}
	if (f->tcp_idx != FLOW_TCP_NONE) {
		ft->tcps[f->tcp_idx].next_free = ft->free_tcps;
		ft->free_tcps = f->tcp_idx;
	}
	/* shift back every slot that probed past the hole */
	for (j = i;;) {
		j = (j + 1) & ft->mask;
		if (ft->slots[j].flow == 0)
			break;
		size_t home = ft->slots[j].tag & ft->mask;
		/* can j move to i? only if home is not in (i, j] cyclically */
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			ft->slots[i] = ft->slots[j];
			i = j;
		}
	}
	ft->slots[i].flow = 0;
	ft->slots[i].tag = 0;
	if (ft->encaps != NULL)
		encap_table_unref(ft->encaps, flow_encap_id(f));
	/* the flow's number goes on the free list, through its err_head */
	*f = flow_zero;
	f->err_head = ft->free_flows;
	ft->free_flows = n;
	ft->count--;
}

struct flow_tcp *
flow_tcp_get(struct flow_table *ft, struct flow *f)
{
	uint32_t i;

	if (f->tcp_idx != FLOW_TCP_NONE)
		return &ft->tcps[f->tcp_idx];
	if (ft->free_tcps != FLOW_TCP_NONE) {
		i = ft->free_tcps;
		ft->free_tcps = ft->tcps[i].next_free;
	} else {
		if (ft->ntcps == ft->tcpcap) {
			uint32_t ncap = ft->tcpcap ? ft->tcpcap * 2 : 256;
			struct flow_tcp *n;
			if (ncap <= ft->tcpcap || ncap == FLOW_TCP_NONE)
				return NULL;
			n = realloc(ft->tcps, (size_t)ncap * sizeof(*n));
			if (n == NULL)
				return NULL;
			ft->tcps = n;
			ft->tcpcap = ncap;
		}
		i = ft->ntcps++;
	}
	memset(&ft->tcps[i], 0, sizeof(ft->tcps[i]));
	f->tcp_idx = i;
	return &ft->tcps[i];
}

const struct flow_tcp *
flow_tcp_find(const struct flow_table *ft, const struct flow *f)
{
	return f->tcp_idx == FLOW_TCP_NONE ? NULL : &ft->tcps[f->tcp_idx];
}

size_t
flow_table_count(const struct flow_table *ft)
{
	return ft->count;
}

int
flow_table_set_encap(struct flow_table *ft, struct flow *f,
    const struct flow_encap *e)
{
	uint32_t id;

	if (ft->encaps == NULL && (ft->encaps = encap_table_new()) == NULL)
		return -1;
	if ((id = encap_table_ref(ft->encaps, e)) == 0)
		return -1;
	encap_table_unref(ft->encaps, flow_encap_id(f));
	f->encap[0] = (uint8_t)(id >> 16);
	f->encap[1] = (uint8_t)(id >> 8);
	f->encap[2] = (uint8_t)id;
	return 0;
}

const struct flow_encap *
flow_table_encap(const struct flow_table *ft, const struct flow *f)
{
	return encap_table_get(ft->encaps, flow_encap_id(f));
}

void
flow_table_mark_dirty(struct flow_table *ft, struct flow *f)
{
	if (f->dirty)
		return;
	f->dirty = 1;
	if (!ft->dirty_on || ft->dirty_lost)
		return;
	if (ft->ndirty == ft->dirtycap) {
		size_t ncap = ft->dirtycap ? ft->dirtycap * 2 : 1024;
		struct flow **n = realloc(ft->dirty, ncap * sizeof(*n));
		if (n == NULL) {
			ft->dirty_lost = 1;
			return;
		}
		ft->dirty = n;
		ft->dirtycap = ncap;
	}
	ft->dirty[ft->ndirty++] = f;
}

void
flow_table_dirty_log_start(struct flow_table *ft)
{
	ft->dirty_on = 1;
	/* flows dirty before the log began are not in it */
	ft->dirty_lost = ft->count > 0;
}

int
flow_table_dirty_log(struct flow_table *ft, struct flow *const **v, size_t *n)
{
	*v = ft->dirty;
	*n = ft->ndirty;
	return ft->dirty_lost ? -1 : 0;
}

void
flow_table_dirty_log_clear(struct flow_table *ft)
{
	ft->ndirty = 0;
	ft->dirty_lost = 0;
	/* a log grown for a burst goes back to its usual size */
	if (ft->dirtycap > 4096 && ft->dirtycap > 8 * ft->count) {
		free(ft->dirty);
		ft->dirty = NULL;
		ft->dirtycap = 0;
	}
}

void
flow_table_dirty_log_keep(struct flow_table *ft, size_t from)
{
	if (from >= ft->ndirty) {
		flow_table_dirty_log_clear(ft);
		return;
	}
	memmove(ft->dirty, ft->dirty + from,
	    (ft->ndirty - from) * sizeof(*ft->dirty));
	ft->ndirty -= from;
}

int
flow_table_foreach(struct flow_table *ft, int (*fn)(struct flow *, void *),
    void *arg)
{
	for (uint32_t n = 0; n < ft->nflows; n++) {
		struct flow *f = flow_at(ft, n);
		if (f->hash == 0)		/* free */
			continue;
		int rc = fn(f, arg);
		if (rc != 0)
			return rc;
	}
	return 0;
}
