#include <stdlib.h>
#include <string.h>

#include "common/flowstate.h"
#include "daemon/analyzer.h"
#include "daemon/dedupe.h"
#include "daemon/frag_table.h"
#include "daemon/host_ttl.h"
#include "daemon/sent_table.h"
#include "daemon/tcp_track.h"

/*
 * A UDP or TCP packet decoded, its index slot, sent-table bucket and its
 * source's host-TTL slot prefetched, its flow prefetched when the next
 * packet comes (the slot names it by then), and accounted (its TTL noted
 * too) only when PIPE_DEPTH more packets have been read and decoded: by
 * then all are in cache (one packet was not time enough for a line from
 * memory). Anything that looks at the flows settles them all first
 * (analyzer_settle), and a packet that does not wait has its TTL noted
 * after those waiting, so that TTLs are noted in the order packets came.
 */
#define PIPE_DEPTH	3
#define PIPE_SLOTS	(PIPE_DEPTH + 1)

struct pending {
	struct decoded	 d;
	int64_t		 ts_us;
	uint64_t	 iface;		/* see analyzer.h */
	struct flow_key	 k;
	int		 from_a;
	uint64_t	 hash;
	uint64_t	 sent_key;
	uint64_t	 host_key;	/* 0: no TTL to note */
};

struct analyzer {
	struct pending		 pend[PIPE_SLOTS];	/* a ring */
	unsigned		 head, npend;	/* the oldest waiting; how many */
	struct flow_table	*flows;
	struct frag_table	 frags;
	struct sent_table	*sent;
	struct host_ttl		*hosts;
	struct analyzer_stats	 st;
	struct dedupe		*dedupe;	/* NULL: off */
};

struct analyzer *
analyzer_new(void)
{
	struct analyzer *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->flows = flow_table_new();
	a->sent = sent_table_new();
	a->hosts = host_ttl_new();
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
	host_ttl_free(a->hosts);
	dedupe_free(a->dedupe);
	free(a);
}

void
analyzer_set_dedupe(struct analyzer *a, int64_t window_us)
{
	if (window_us <= 0) {
		dedupe_free(a->dedupe);
		a->dedupe = NULL;
	} else if (a->dedupe != NULL)
		dedupe_set_window(a->dedupe, window_us);
	else
		a->dedupe = dedupe_new(window_us);
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
analyzer_settle(struct analyzer *a)
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
    int from_a, uint32_t bytes, uint8_t ttl, int64_t ts_us, int *back,
    int *created_out)
{
	int created;
	struct flow *f;

	if ((f = flow_table_get_hashed(a->flows, k, hash, from_a, &created)) ==
	    NULL) {
		a->st.nomem++;
		return NULL;
	}
	*back = from_a != f->src_is_a;
	if (!f->dirty)
		flow_table_mark_dirty(a->flows, f);
	f->ttl[*back] = ttl;
	f->pkts[*back]++;
	f->bytes[*back] += bytes;
	flow_touch(f, ts_us, created);
	if (created_out != NULL)
		*created_out = created;
	return f;
}

static struct flow *
account(struct analyzer *a, const struct tuple *t, uint32_t bytes,
    uint8_t ttl, int64_t ts_us, int *back, int *created)
{
	struct flow_key k;
	int from_a;

	uint64_t hash = flow_key_make(t, &k, &from_a);
	return account_key(a, &k, hash, from_a, bytes, ttl, ts_us,
	    back, created);
}

/*
 * A new flow's encapsulation: layers [0, n) of packet d's (its tunnel's,
 * when tunnel names which it is); reversed when the packet went from the
 * flow's dst to its src (an ICMP error creating the flow it quotes), so
 * that tunnel endpoints read in the flow's direction.
 */
static void
encap_note(struct analyzer *a, struct flow *f, const struct decoded *d,
    int n, int tunnel, int reversed)
{
	struct flow_encap e = { .n = (uint8_t)n, .tunnel = (uint8_t)tunnel };

	memcpy(e.layer, d->encap.layer, (size_t)n * sizeof(e.layer[0]));
	for (int i = 0; reversed && i < n; i++) {
		uint8_t tmp[16];
		memcpy(tmp, e.layer[i].src, 16);
		memcpy(e.layer[i].src, e.layer[i].dst, 16);
		memcpy(e.layer[i].dst, tmp, 16);
	}
	if (flow_table_set_encap(a->flows, f, &e) != 0)
		a->st.nomem++;
}

/*
 * The outer packets of d's IP tunnels, each a flow of its own (the
 * tunnel's): an error from the underlay quotes them. Accounted before
 * the packet they carry, with the packets waiting settled first, so
 * that each flow sees its packets in order.
 */
static void
account_tunnels(struct analyzer *a, const struct decoded *d, int64_t ts_us)
{
	settle(a);
	a->st.tunneled++;
	for (int i = 0; i < d->encap.ntunnels; i++) {
		const struct tunnel_packet *tp = &d->encap.tunnel[i];
		int back, created;
		struct flow *f = account(a, &tp->t, tp->ip_bytes, tp->ttl,
		    ts_us, &back, &created);
		if (f == NULL)
			continue;
		if (created)
			encap_note(a, f, d, tp->layer,
			    d->encap.layer[tp->layer].kind, 0);
		if (tp->t.has_ports) {
			struct sent_pkt sp = { &tp->t, tp->ip_bytes,
			    tp->t.family == 4 ? tp->frag_id : 0, tp->l4_word };
			sent_table_add(a->sent, sent_table_key(&sp), &sp,
			    f->hash, f->src_is_a != back, tp->ttl, ts_us);
		}
	}
}

/*
 * Which flow an ICMP error's quote names: key *k (its quoted source on
 * side *from_a), and the flow in memory when there is one. The very packet
 * quoted is looked up when it was captured (*m, *hit). A quote whose
 * source differs from every flow may be one NAT rewrote on the way: it
 * then belongs to the flow of the packet it matches.
 */
static struct flow *
quote_flow(struct analyzer *a, const struct decoded *d, int64_t ts_us,
    struct flow_key *k, int *from_a, enum sent_match *m, struct sent_hit *hit)
{
	struct flow *f = NULL;

	/* A quoted later fragment names its flow through the first one. */
	struct tuple t = d->quote;
	if (d->quote_frag == FRAG_LATER)
		frag_table_find(&a->frags, &d->quote, d->quote_frag_id, &t);
	uint64_t hash = flow_key_make(&t, k, from_a);
	*m = SENT_NONE;
	if (d->quote_depth == QUOTE_PORTS && d->quote_has_l4 &&
	    d->quote_frag != FRAG_LATER) {
		struct sent_pkt q = { &t, d->quote_ip_bytes,
		    t.family == 4 ? d->quote_frag_id : 0, d->quote_l4 };
		f = flow_table_find(a->flows, k);
		*m = sent_table_match(a->sent, &q, hash, ts_us,
		    f == NULL, hit);
	}
	if (*m == SENT_ALTERED && hit->rewritten) {
		/* the flow of the packet NAT rewrote, if still in memory */
		struct flow *nat = flow_table_find_hash(a->flows, hit->flow);
		if (nat == NULL)
			*m = SENT_NONE;
		else {
			f = nat;
			*from_a = hit->from_a;	/* the way that packet went */
		}
	}
	return f;
}

/*
 * One occurrence of error d on flow f, whose quoted packet went from side
 * from_a; counts the packets of f an error quoted.
 */
static struct error_record
error_occurrence(struct analyzer *a, const struct decoded *d, struct flow *f,
    int from_a, enum sent_match m, const struct sent_hit *hit, int64_t ts_us)
{
	int qback = from_a != f->src_is_a;	/* the quoted packet's way */
	struct error_record occ = {
		.family = d->t.family, .type = d->icmp_type,
		.code = d->icmp_code, .has_mtu = d->has_mtu, .mtu = d->mtu,
		.count = 1, .first_us = ts_us, .last_us = ts_us,
		.rtt_us = -1, .quoted_ttl = d->quote_ttl,
	};

	memcpy(occ.reporter, d->t.src, 16);
	occ.altered = m == SENT_ALTERED && hit->rewritten;
	if (m != SENT_NONE && hit->packet) {
		a->st.errors_exact++;
		occ.matched = 1;
		occ.rtt_us = ts_us - hit->ts_us;
		occ.sent_ttl = hit->ttl;
		if (hit->first_error)
			f->pkts_errored++;
	} else {
		if (f->pkts[qback] > 0)
			occ.sent_ttl = f->ttl[qback];
		f->pkts_errored++;
	}
	a->st.errors_altered += occ.altered;
	return occ;
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
	struct sent_hit hit;
	enum sent_match m;
	int from_a, created = 0;
	struct flow *f;

	if (d->quote_depth == QUOTE_NONE) {
		a->st.errors_no_quote++;
		return;
	}
	f = quote_flow(a, d, ts_us, &k, &from_a, &m, &hit);
	if (f == NULL &&
	    (f = flow_table_get(a->flows, &k, from_a, &created)) == NULL) {
		a->st.nomem++;
		return;
	}
	flow_touch(f, ts_us, created);
	if (!f->dirty)
		flow_table_mark_dirty(a->flows, f);
	if (created && d->encap.n > 0)
		encap_note(a, f, d, d->encap.n, 0, 1);
	if (created)
		a->st.errors_unseen++;
	else
		a->st.errors_matched++;
	struct error_record occ = error_occurrence(a, d, f, from_a, m, &hit,
	    ts_us);
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

/* Count a packet not decoded, by its reason and value. */
static void
skip_count(struct analyzer_stats *st, uint8_t why, uint32_t arg)
{
	st->not_ip++;
	for (uint32_t i = 0; i < st->nskip; i++)
		if (st->skip[i].why == why && st->skip[i].arg == arg) {
			st->skip[i].count++;
			return;
		}
	if (st->nskip == ANALYZER_SKIP_KINDS) {
		st->skip_other++;
		return;
	}
	st->skip[st->nskip++] = (struct analyzer_skip){ why, arg, 1 };
}

/*
 * Decode into d and count what is not an IP packet to analyze; 0 when d
 * goes on. The tunnels a packet came through are flows even when what
 * they carried is not decoded.
 */
static int
decode_counted(struct analyzer *a, int linktype, const uint8_t *pkt,
    uint32_t caplen, struct decoded *d, int64_t ts_us)
{
	a->st.packets++;
	switch (pkt_decode(linktype, pkt, caplen, d)) {
	case DECODE_OK:
		return 0;
	case DECODE_MALFORMED:
		a->st.malformed[d->why]++;
		break;
	case DECODE_NOT_IP:
	case DECODE_UNSUPPORTED_LINK:
		skip_count(&a->st, d->skip, d->skip_arg);
		break;
	}
	if (d->encap.ntunnels > 0)
		account_tunnels(a, d, ts_us);
	return -1;
}

/*
 * Put the packet decoded in the ring's free slot on the pipeline: its
 * lines are fetched while it waits, and the oldest packet is accounted.
 */
static void
pipeline_push(struct analyzer *a, struct pending *p, uint64_t iface,
    int64_t ts_us)
{
	const struct decoded *d = &p->d;

	p->ts_us = ts_us;
	p->iface = iface;
	p->hash = flow_key_make(&d->t, &p->k, &p->from_a);
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

/* A later fragment counts to the flow of its first, if that was seen. */
static void
later_fragment(struct analyzer *a, const struct decoded *d, int64_t ts_us)
{
	struct tuple t;
	int back;

	settle(a);	/* the first fragment may be waiting */
	if (!frag_table_find(&a->frags, &d->t, d->frag_id, &t)) {
		a->st.frag_unmatched++;
		return;
	}
	account(a, &t, d->ip_bytes, d->ttl, ts_us, &back, NULL);
}

/*
 * The TTL of a packet that does not wait, noted after those waiting are,
 * so that the hosts' TTLs are noted in the order the packets came.
 */
static void
note_now(struct analyzer *a, const struct decoded *d, uint64_t iface)
{
	settle(a);
	host_ttl_note(a->hosts, d, iface);
}

void
analyzer_packet_on(struct analyzer *a, int handle, int linktype,
    const uint8_t *pkt, uint32_t caplen, int64_t ts_us)
{
	/* decoded into the ring's free slot, kept there if it waits */
	struct pending *p = &a->pend[(a->head + a->npend) % PIPE_SLOTS];
	struct decoded *d = &p->d;

	if (decode_counted(a, linktype, pkt, caplen, d, ts_us) != 0)
		return;
	uint64_t iface = (uint64_t)handle << 32 | d->link_if;
	int reference = host_ttl_reference(d);
	if (a->dedupe != NULL && dedupe_seen(a->dedupe, d, iface, ts_us)) {
		a->st.duplicates++;
		if (reference)
			note_now(a, d, iface);
		return;
	}
	a->st.decoded++;
	/* a capture without ICMP of a family cannot show its errors */
	a->st.ip_pkts[d->t.family == 6]++;
	a->st.icmp_pkts[d->t.family == 6] += d->t.proto == PROTO_ICMP ||
	    d->t.proto == PROTO_ICMPV6;
	if (d->encap.ntunnels > 0)
		account_tunnels(a, d, ts_us);
	if (d->frag == FRAG_LATER || d->icmp != ICMP_NONE) {
		/* not waiting: those waiting first, then its TTL and itself */
		settle(a);
		if (reference)
			host_ttl_note(a->hosts, d, iface);
		if (d->frag == FRAG_LATER)
			later_fragment(a, d, ts_us);
		else if (d->icmp == ICMP_INFO)
			a->st.icmp_info++;
		else
			icmp_error(a, d, ts_us);
		return;
	}
	p->host_key = reference ? host_ttl_prefetch(a->hosts, d, iface) : 0;
	pipeline_push(a, p, iface, ts_us);
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
	int back, created;

	a->head = (a->head + 1) % PIPE_SLOTS;
	a->npend--;
	if (p->host_key != 0)
		host_ttl_note_key(a->hosts, p->host_key, d->ttl);
	if ((f = account_key(a, &p->k, p->hash, p->from_a, d->ip_bytes,
	    d->ttl, p->ts_us, &back, &created)) == NULL)
		return;
	if (created && d->encap.n > 0)
		encap_note(a, f, d, d->encap.n, 0, 0);
	if (d->t.proto == PROTO_TCP && tcp_track_segment(a->flows, a->hosts, f,
	    d, back, p->ts_us, p->iface) != 0)
		a->st.nomem++;
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

uint8_t
analyzer_dst_ttl(struct analyzer *a, const struct flow *f)
{
	return tcp_track_dst_ttl(a->flows, a->hosts, f);
}
