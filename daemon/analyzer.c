#include <stdlib.h>
#include <string.h>

#include "daemon/analyzer.h"
#include "daemon/frag_table.h"
#include "daemon/mix.h"
#include "daemon/sent_table.h"
#include "common/flowstate.h"

#define DEDUPE_SLOTS	65536	/* 2 MiB: sightings seconds apart survive */

#define DEDUPE_IFACES	4

/*
 * Sightings of one packet signature per interface (hashed to 4). With two
 * capture buffers the sightings of identical packets interleave in any
 * order, so a packet is a repeat of another interface's sighting while its
 * own interface has seen the signature no more often than another has.
 */
struct dedupe_slot {
	uint64_t	sig;
	int64_t		ts_us;		/* first sighting */
	uint16_t	seen[DEDUPE_IFACES];
};

/*
 * The TTL each host's UDP and TCP packets arrive with, per interface: the
 * reference a TCP reset is compared with. Resets are never noted, so a
 * firewall that forges them cannot teach its own TTL. Direct-mapped,
 * fixed in size.
 */
#define HOST_TTL_SLOTS	65536	/* 512 KiB */

/*
 * A slot is one word: the host key above its low byte, the TTL in it
 * (0: empty). Half the lines of a key and a TTL apart, for a table every
 * packet writes a random line of.
 */
#define HOST_TTL_KEY	(~(uint64_t)0xff)

/*
 * A UDP or TCP packet decoded, its index slot and sent-table bucket
 * prefetched, its flow prefetched when the next packet comes (the slot
 * names it by then), and accounted only when PIPE_DEPTH more packets have
 * been read and decoded: by then all are in cache (one packet was not
 * time enough for a line from memory; three measured best). Anything
 * that looks at the flows settles them all first (analyzer_flows).
 */
#define PIPE_DEPTH	3
#define PIPE_SLOTS	(PIPE_DEPTH + 1)

struct pending {
	struct decoded	 d;
	int64_t		 ts_us;
	uint32_t	 ifid;
	struct flow_key	 k;
	int		 from_a;
	uint64_t	 hash;
	uint64_t	 sent_key;
};

struct analyzer {
	struct pending		 pend[PIPE_SLOTS];	/* a ring */
	unsigned		 head, npend;	/* the oldest waiting; how many */
	struct flow_table	*flows;
	struct frag_table	 frags;
	struct sent_table	*sent;
	uint64_t		*hosts;
	struct analyzer_stats	 st;
	int64_t			 dedupe_us;
	struct dedupe_slot	*dedupe;
};

struct analyzer *
analyzer_new(void)
{
	struct analyzer *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->flows = flow_table_new();
	a->sent = sent_table_new();
	a->hosts = calloc(HOST_TTL_SLOTS, sizeof(*a->hosts));
	if (a->flows == NULL || a->sent == NULL || a->hosts == NULL) {
		analyzer_free(a);
		return NULL;
	}
	return a;
}

void
analyzer_free(struct analyzer *a)
{
	if (a == NULL)
		return;
	flow_table_free(a->flows);
	sent_table_free(a->sent);
	free(a->hosts);
	free(a->dedupe);
	free(a);
}

void
analyzer_set_dedupe(struct analyzer *a, int64_t window_us)
{
	if (window_us > 0 && a->dedupe == NULL)
		a->dedupe = calloc(DEDUPE_SLOTS, sizeof(*a->dedupe));
	a->dedupe_us = a->dedupe ? window_us : 0;
}

/*
 * What stays the same when a router forwards a packet: addresses, ports,
 * length, ID, the transport checksum (it covers the payload); not the TTL.
 */
static uint64_t
packet_signature(const struct decoded *d)
{
	uint64_t h = 0xcbf29ce484222325ull;
	uint8_t buf[64];
	size_t n = 0;

	memcpy(buf + n, d->t.src, 16); n += 16;
	memcpy(buf + n, d->t.dst, 16); n += 16;
	memcpy(buf + n, &d->t.sport, 2); n += 2;
	memcpy(buf + n, &d->t.dport, 2); n += 2;
	memcpy(buf + n, &d->ip_bytes, 4); n += 4;
	memcpy(buf + n, &d->frag_id, 4); n += 4;
	memcpy(buf + n, &d->l4_cksum, 2); n += 2;
	buf[n++] = d->t.proto;
	buf[n++] = d->tcp_flags;
	buf[n++] = d->icmp_type;
	buf[n++] = d->frag;
	for (size_t i = 0; i < n; i++)
		h = (h ^ buf[i]) * 0x100000001b3ull;
	return h ? h : 1;
}

static uint64_t
host_key(uint8_t family, const uint8_t addr[16], uint32_t ifid)
{
	uint64_t w[2];

	memcpy(w, addr, sizeof(w));
	/* one product of both words: every input bit reaches the slot's bits */
	uint64_t h = mix_mum(w[0] ^ ((uint64_t)ifid << 8 | family) ^
	    0xa0761d6478bd642full, w[1] ^ 0xe7037ed1a0b428dbull);
	return h ? h : 1;
}

/*
 * Packets whose TTL is the host's default: UDP, TCP but its resets (the
 * suspects), ICMP errors and echo. Not neighbour discovery (hop limit 255
 * by RFC 4861), MLD or IGMP (1), VRRP (255) and the like, whose TTL is
 * fixed by their protocol.
 */
static int
ttl_reference(const struct decoded *d)
{
	switch (d->t.proto) {
	case PROTO_UDP:
		return 1;
	case PROTO_TCP:
		return !(d->tcp_flags & TCP_RST);
	case PROTO_ICMP:
		return d->icmp == ICMP_ERROR || d->icmp_type == 0 ||
		    d->icmp_type == 8;
	case PROTO_ICMPV6:
		return d->icmp == ICMP_ERROR || d->icmp_type == 128 ||
		    d->icmp_type == 129;
	}
	return 0;
}

static uint64_t *
host_slot(const struct analyzer *a, uint64_t k)
{
	return &a->hosts[k & (HOST_TTL_SLOTS - 1)];
}

static void
host_ttl_note(struct analyzer *a, const struct decoded *d, uint32_t ifid)
{
	uint64_t k = host_key(d->t.family, d->t.src, ifid);

	*host_slot(a, k) = (k & HOST_TTL_KEY) | d->ttl;
}

static uint8_t
host_ttl_find(const struct analyzer *a, uint8_t family,
    const uint8_t addr[16], uint32_t ifid)
{
	uint64_t k = host_key(family, addr, ifid);
	uint64_t e = *host_slot(a, k);

	return (e & HOST_TTL_KEY) == (k & HOST_TTL_KEY) ? (uint8_t)e : 0;
}

static int
seen_before(struct analyzer *a, const struct decoded *d, uint64_t iface,
    int64_t ts_us)
{
	uint64_t sig = packet_signature(d);
	struct dedupe_slot *s = &a->dedupe[sig & (DEDUPE_SLOTS - 1)];

	int64_t d_us = ts_us > s->ts_us ? ts_us - s->ts_us : s->ts_us - ts_us;
	size_t me = (size_t)((iface ^ iface >> 32) % DEDUPE_IFACES);
	uint16_t most = 0;

	if (s->sig != sig || d_us > a->dedupe_us) {
		memset(s, 0, sizeof(*s));
		s->sig = sig;
		s->ts_us = ts_us;
	}
	if (s->seen[me] < UINT16_MAX)
		s->seen[me]++;
	for (size_t i = 0; i < DEDUPE_IFACES; i++)
		if (i != me && s->seen[i] > most)
			most = s->seen[i];
	return s->seen[me] <= most;
}

const struct analyzer_stats *
analyzer_stats(const struct analyzer *a)
{
	return &a->st;
}

static void settle(struct analyzer *);
static void settle_oldest(struct analyzer *);
static struct sent_pkt sent_of(const struct decoded *);

struct flow_table *
analyzer_flows(struct analyzer *a)
{
	settle(a);
	return a->flows;
}

uint64_t
analyzer_malformed_total(const struct analyzer_stats *st)
{
	uint64_t n = 0;

	for (int i = 0; i < WHY_COUNT; i++)
		n += st->malformed[i];
	return n;
}

static void
flow_touch(struct flow *f, int64_t ts_us, int created)
{
	if (created || ts_us < f->first_us)
		f->first_us = ts_us;
	if (created || ts_us > f->last_us)
		f->last_us = ts_us;
}

/* Account one packet of tuple t (with IP length bytes) to its flow. */
static struct flow *
account_key(struct analyzer *a, const struct flow_key *k, uint64_t hash,
    int from_a, uint32_t bytes, uint8_t ttl, int64_t ts_us, int *back)
{
	int created;
	struct flow *f;

	if ((f = flow_table_get_hashed(a->flows, k, hash, from_a, &created)) ==
	    NULL) {
		a->st.nomem++;
		return NULL;
	}
	*back = from_a != f->src_is_a;
	f->dirty = 1;
	f->ttl[*back] = ttl;
	f->pkts[*back]++;
	f->bytes[*back] += bytes;
	flow_touch(f, ts_us, created);
	return f;
}

static struct flow *
account(struct analyzer *a, const struct tuple *t, uint32_t bytes,
    uint8_t ttl, int64_t ts_us, int *back)
{
	struct flow_key k;
	int from_a;

	flow_key_make(t, &k, &from_a);
	return account_key(a, &k, flow_key_hash(&k), from_a, bytes, ttl, ts_us,
	    back);
}

/*
 * The destination's side of the flow, as the store names it: dst is the
 * side that did not send first.
 */
static const uint8_t *
flow_dst_addr(const struct flow *f)
{
	return f->src_is_a ? f->key.b : f->key.a;
}

static void
tcp_track(struct analyzer *a, struct flow *f, const struct decoded *d,
    int back, int64_t ts_us, uint32_t ifid)
{
	struct flow_tcp *t = flow_tcp_get(a->flows, f);
	uint8_t flags = d->tcp_flags;

	if (t == NULL) {
		a->st.nomem++;
		return;
	}
	uint8_t synack = flags & (TCP_SYN | TCP_ACK);

	if (flags & TCP_FIN)
		f->tcp |= back ? FT_TCP_FIN_DST : FT_TCP_FIN_SRC;
	if (flags & TCP_RST)
		f->tcp |= FT_TCP_RST;
	if (!back && synack == TCP_SYN) {
		f->tcp |= FT_TCP_SYN;
		if (t->syns == 0 || ts_us < t->syn_first_us)
			t->syn_first_us = ts_us;
		if (t->syns == 0 || ts_us > t->syn_last_us)
			t->syn_last_us = ts_us;
		if (t->syns < UINT16_MAX)
			t->syns++;
	} else if (back && synack == (TCP_SYN | TCP_ACK))
		f->tcp |= FT_TCP_SYNACK;
	else if (back && (flags & TCP_RST) && (f->tcp & FT_TCP_SYN) &&
	    !(f->tcp & FT_TCP_SYNACK))
		f->tcp |= FT_TCP_RST_SYN;

	/*
	 * A segment that ends at or before the highest sequence number its
	 * side already sent is a retransmission. Counted per run of packets
	 * from one side: an answer from the other side starts a new run.
	 */
	if (t->tail_side != back) {
		t->tail_side = (uint8_t)back;
		t->tail_rexmit = 0;
	}
	uint32_t seg = d->tcp_len + !!(flags & TCP_SYN) + !!(flags & TCP_FIN);
	uint8_t seen = back ? FT_TCP_SEQ_DST : FT_TCP_SEQ_SRC;
	if (seg > 0 && !(flags & TCP_RST)) {
		uint32_t end = d->tcp_seq + seg;
		if (!(f->tcp & seen)) {
			f->tcp |= seen;
			t->seq_end[back] = end;
		} else if ((int32_t)(end - t->seq_end[back]) > 0) {
			t->seq_end[back] = end;
		} else if (t->tail_rexmit < UINT16_MAX) {
			t->tail_rexmit++;
		}
	}

	if (t->close == 0 && (flags & (TCP_RST | TCP_FIN))) {
		t->close = flags & TCP_RST ? END_RST : END_FIN;
		t->close_by = (uint8_t)back;
	}
	if ((flags & TCP_RST) && back && t->rst_ttl == 0) {
		t->rst_ttl = d->ttl;
		t->rst_iface = ifid;
		t->dst_ttl = host_ttl_find(a, f->key.family, flow_dst_addr(f),
		    ifid);
	}
}

/*
 * An ICMP error belongs to the flow of the packet it quotes. The quote is
 * the packet as its sender sent it, so when the flow was never seen it is
 * created with the quoted source as its src.
 */
static void
icmp_error(struct analyzer *a, const struct decoded *d, int64_t ts_us)
{
	struct flow_key k;
	int from_a, created;
	struct flow *f;

	if (d->quote_depth == QUOTE_NONE) {
		a->st.errors_no_quote++;
		return;
	}
	/* A quoted later fragment names its flow through the first one. */
	struct tuple t = d->quote;
	if (d->quote_frag == FRAG_LATER)
		frag_table_find(&a->frags, &d->quote, d->quote_frag_id, &t);
	flow_key_make(&t, &k, &from_a);

	/*
	 * The very packet quoted, when it was captured. A quote whose
	 * source differs from every flow may be one NAT rewrote on the
	 * way: it then belongs to the flow of the packet it matches.
	 */
	struct sent_hit hit;
	enum sent_match m = SENT_NONE;
	f = NULL;			/* the flow of the quote as it stands */
	created = 0;
	if (d->quote_depth == QUOTE_PORTS && d->quote_has_l4 &&
	    d->quote_frag != FRAG_LATER) {
		struct sent_pkt q = { &t, d->quote_ip_bytes,
		    t.family == 4 ? d->quote_frag_id : 0, d->quote_l4 };
		f = flow_table_find(a->flows, &k);
		m = sent_table_match(a->sent, &q, flow_key_hash(&k), ts_us,
		    f == NULL, &hit);
	}
	if (m == SENT_ALTERED && hit.rewritten) {
		/* the flow of the packet NAT rewrote, if still in memory */
		struct flow *nat = flow_table_find_hash(a->flows, hit.flow);
		if (nat == NULL)
			m = SENT_NONE;
		else {
			f = nat;
			from_a = hit.from_a;	/* the way that packet went */
		}
	}
	if (f == NULL &&
	    (f = flow_table_get(a->flows, &k, from_a, &created)) == NULL) {
		a->st.nomem++;
		return;
	}
	flow_touch(f, ts_us, created);
	f->dirty = 1;
	if (created)
		a->st.errors_unseen++;
	else
		a->st.errors_matched++;

	int qback = from_a != f->src_is_a;	/* the quoted packet's way */
	struct error_record occ = {
		.family = d->t.family, .type = d->icmp_type,
		.code = d->icmp_code, .has_mtu = d->has_mtu, .mtu = d->mtu,
		.count = 1, .first_us = ts_us, .last_us = ts_us,
		.rtt_us = -1, .quoted_ttl = d->quote_ttl,
	};
	memcpy(occ.reporter, d->t.src, 16);
	occ.altered = m == SENT_ALTERED && hit.rewritten;
	if (m != SENT_NONE && hit.packet) {
		a->st.errors_exact++;
		occ.matched = 1;
		occ.rtt_us = ts_us - hit.ts_us;
		occ.sent_ttl = hit.ttl;
		if (hit.first_error)
			f->pkts_errored++;
	} else {
		if (f->pkts[qback] > 0)
			occ.sent_ttl = f->ttl[qback];
		f->pkts_errored++;
	}
	a->st.errors_altered += occ.altered;
	switch (flow_error_add(a->flows, f, &occ)) {
	case 0:
		break;
	case 1:
		a->st.errors_capped++;
		break;
	default:
		a->st.nomem++;
	}
}

void
analyzer_packet(struct analyzer *a, int linktype, const uint8_t *pkt,
    uint32_t caplen, int64_t ts_us)
{
	analyzer_packet_on(a, 0, linktype, pkt, caplen, ts_us);
}

void
analyzer_packet_on(struct analyzer *a, int iface, int linktype,
    const uint8_t *pkt, uint32_t caplen, int64_t ts_us)
{
	/* decoded into the ring's free slot, kept there if it waits */
	struct pending *p = &a->pend[(a->head + a->npend) % PIPE_SLOTS];
	struct decoded *d = &p->d;
	int back;

	a->st.packets++;
	switch (pkt_decode(linktype, pkt, caplen, d)) {
	case DECODE_OK:
		break;
	case DECODE_NOT_IP:
		a->st.not_ip++;
		return;
	case DECODE_MALFORMED:
		a->st.malformed[d->why]++;
		return;
	case DECODE_UNSUPPORTED_LINK:
		a->st.not_ip++;
		return;
	}
	uint64_t where = (uint64_t)iface << 32 | d->link_if;
	uint32_t ifid = (uint32_t)(where ^ where >> 29);
	if (ttl_reference(d))
		host_ttl_note(a, d, ifid);
	if (a->dedupe_us > 0 && seen_before(a, d, where, ts_us)) {
		a->st.duplicates++;
		return;
	}
	a->st.decoded++;

	if (d->frag == FRAG_LATER) {
		struct tuple t;
		settle(a);	/* the first fragment may be waiting */
		if (!frag_table_find(&a->frags, &d->t, d->frag_id, &t)) {
			a->st.frag_unmatched++;
			return;
		}
		account(a, &t, d->ip_bytes, d->ttl, ts_us, &back);
		return;
	}
	if (d->icmp == ICMP_INFO) {
		a->st.icmp_info++;
		return;
	}
	if (d->icmp == ICMP_ERROR) {
		settle(a);
		icmp_error(a, d, ts_us);
		return;
	}

	/* this one waits, its lines fetched meanwhile; the oldest goes on */
	p->ts_us = ts_us;
	p->ifid = ifid;
	flow_key_make(&d->t, &p->k, &p->from_a);
	p->hash = flow_key_hash(&p->k);
	flow_table_prefetch(a->flows, p->hash);
	if (d->t.has_ports) {
		struct sent_pkt sp = sent_of(d);
		p->sent_key = sent_table_key(&sp);
		sent_table_prefetch(a->sent, p->sent_key);
	}
	/* the one before: its slot has arrived, so fetch its flow now */
	if (a->npend > 0) {
		const struct pending *prev =
		    &a->pend[(a->head + a->npend - 1) % PIPE_SLOTS];
		flow_table_prefetch_flow(a->flows, prev->hash);
	}
	if (++a->npend > PIPE_DEPTH)
		settle_oldest(a);
}

/* What the sent-packet table keeps of a decoded UDP or TCP packet. */
static struct sent_pkt
sent_of(const struct decoded *d)
{
	return (struct sent_pkt){ &d->t, d->ip_bytes,
	    d->t.family == 4 ? d->frag_id : 0, d->l4_word };
}

/* Account the oldest packet waiting. */
static void
settle_oldest(struct analyzer *a)
{
	struct pending *p = &a->pend[a->head];
	const struct decoded *d = &p->d;
	struct flow *f;
	int back;

	a->head = (a->head + 1) % PIPE_SLOTS;
	a->npend--;
	if ((f = account_key(a, &p->k, p->hash, p->from_a, d->ip_bytes,
	    d->ttl, p->ts_us, &back)) == NULL)
		return;
	if (d->t.proto == PROTO_TCP)
		tcp_track(a, f, d, back, p->ts_us, p->ifid);
	if (d->t.has_ports) {
		struct sent_pkt sp = sent_of(d);
		sent_table_add(a->sent, p->sent_key, &sp, f->hash,
		    f->src_is_a != back, d->ttl, p->ts_us);
	}
	if (d->frag == FRAG_FIRST)
		frag_table_add(&a->frags, &d->t, d->frag_id);
}

/* Account every packet waiting, oldest first. */
static void
settle(struct analyzer *a)
{
	while (a->npend > 0)
		settle_oldest(a);
}

int
analyzer_flow_state(const struct flow_table *ft, const struct flow *f)
{
	int state = STATE_MAX + 1;

	for (const struct flow_error *e = flow_error_first(ft, f); e != NULL;
	    e = flow_error_next(ft, e)) {
		int s = icmp_error_state(e->e.family, e->e.type, e->e.code);
		if (s < state)
			state = s;
	}
	if (f->tcp & FT_TCP_RST_SYN)
		state = STATE_REFUSED;
	if (state <= STATE_MAX)
		return state;
	return f->pkts[1] > 0 ? STATE_ANSWERED : STATE_SILENT;
}

int
analyzer_flow_end(const struct flow_table *ft, const struct flow *f,
    int state)
{
	const struct flow_tcp *t = flow_tcp_find(ft, f);
	/*
	 * Established: the SYN was answered, or the capture began after it
	 * and the other side speaks. An ICMP error does not end a TCP
	 * connection (it is a soft error), so any state may have an end.
	 */
	int established = (f->tcp & FT_TCP_SYNACK) || (f->pkts[1] > 0 &&
	    !(f->tcp & FT_TCP_RST_SYN) && !(f->tcp & FT_TCP_SYN));

	if (t == NULL || state == STATE_REFUSED || !established)
		return END_NONE;
	/*
	 * Retransmissions with no answer after them end it, whatever came
	 * before: a FIN that was never answered is no orderly close. One
	 * retransmission may be a loss; two are not.
	 */
	if (t->tail_rexmit >= 2)
		return END_TIMEOUT;
	if (t->close != 0)
		return t->close;
	return END_OPEN;
}

int
analyzer_flow_end_by(const struct flow_table *ft, const struct flow *f,
    int end)
{
	const struct flow_tcp *t = flow_tcp_find(ft, f);

	if (t == NULL)
		return 0;
	if (end == END_TIMEOUT)
		return !t->tail_side;	/* the side that went silent */
	return t->close_by;
}

uint8_t
analyzer_dst_ttl(struct analyzer *a, const struct flow *f)
{
	const struct flow_tcp *t = flow_tcp_find(a->flows, f);
	uint8_t ttl;

	if (t == NULL || t->rst_ttl == 0)
		return 0;
	ttl = host_ttl_find(a, f->key.family, flow_dst_addr(f), t->rst_iface);
	return ttl ? ttl : t->dst_ttl;
}
