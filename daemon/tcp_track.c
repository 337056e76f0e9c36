#include "common/flowstate.h"
#include "daemon/tcp_track.h"

/*
 * The destination's side of the flow, as the store names it: dst is the
 * side that did not send first.
 */
static const uint8_t *
flow_dst_addr(const struct flow *f)
{
	return f->src_is_a ? f->key.b : f->key.a;
}

/* The handshake: SYNs sent, a SYN+ACK or a RST back, FINs and RSTs. */
static void
track_flags(struct flow *f, struct flow_tcp *t, uint8_t flags, int back,
    int64_t ts_us)
{
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
}

/*
 * A segment that ends at or before the highest sequence number its side
 * already sent is a retransmission. Counted per run of packets from one
 * side: an answer from the other side starts a new run.
 */
static void
track_sequence(struct flow *f, struct flow_tcp *t, const struct decoded *d,
    int back)
{
	uint8_t flags = d->tcp_flags;

	if (t->tail_side != back) {
		t->tail_side = (uint8_t)back;
		t->tail_rexmit = 0;
	}
	uint32_t seg = d->tcp_len + !!(flags & TCP_SYN) + !!(flags & TCP_FIN);
	uint8_t seen = back ? FT_TCP_SEQ_DST : FT_TCP_SEQ_SRC;
	if (seg == 0 || (flags & TCP_RST))
		return;
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

int
tcp_track_segment(struct flow_table *ft, const struct host_ttl *hosts,
    struct flow *f, const struct decoded *d, int back, int64_t ts_us,
    uint64_t iface)
{
	struct flow_tcp *t = flow_tcp_get(ft, f);
	uint8_t flags = d->tcp_flags;

	if (t == NULL)
		return -1;
	track_flags(f, t, flags, back, ts_us);
	track_sequence(f, t, d, back);
	if (t->close == 0 && (flags & (TCP_RST | TCP_FIN))) {
		t->close = flags & TCP_RST ? END_RST : END_FIN;
		t->close_by = (uint8_t)back;
	}
	/* the first reset from dst, beside the TTL its own packets have */
	if ((flags & TCP_RST) && back && t->rst_ttl == 0) {
		t->rst_ttl = d->ttl;
		t->rst_iface = iface;
		t->dst_ttl = host_ttl_find(hosts, f->key.family,
		    flow_dst_addr(f), iface);
	}
	return 0;
}

int
tcp_track_end(const struct flow_table *ft, const struct flow *f,
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
tcp_track_end_by(const struct flow_table *ft, const struct flow *f,
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
tcp_track_dst_ttl(const struct flow_table *ft, const struct host_ttl *hosts,
    const struct flow *f)
{
	const struct flow_tcp *t = flow_tcp_find(ft, f);
	uint8_t ttl;

	if (t == NULL || t->rst_ttl == 0)
		return 0;
	ttl = host_ttl_find(hosts, f->key.family, flow_dst_addr(f),
	    t->rst_iface);
	return ttl ? ttl : t->dst_ttl;
}
