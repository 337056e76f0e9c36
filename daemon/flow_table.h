/*
 * The flow table: bidirectional flows keyed by a canonical 5-tuple, in one
 * flat open-addressing array, and the ICMP error aggregates of each flow.
 */
#ifndef UDPFLOWS_FLOW_TABLE_H
#define UDPFLOWS_FLOW_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "parsers/decode.h"
#include "common/encap.h"
#include "common/flow_record.h"

/*
 * Canonical key: side a is the smaller (address, port) pair, so both
 * directions of a conversation meet, also when both addresses are equal
 * (loopback) and only the ports differ.
 */
struct flow_key {
	uint8_t		a[16], b[16];
	uint16_t	pa, pb;
	uint8_t		proto;
	uint8_t		family;
	uint8_t		has_ports;
	uint8_t		pad;		/* zero: keys are compared bytewise */
};

/* TCP facts, enough for refused/silent/answered from the packets alone. */
enum {
	FT_TCP_SYN	= 0x01,	/* src sent a SYN without ACK */
	FT_TCP_SYNACK	= 0x02,	/* dst answered SYN+ACK */
	FT_TCP_RST_SYN	= 0x04,	/* dst answered the SYN with RST */
	FT_TCP_FIN_SRC	= 0x08,	/* src sent FIN */
	FT_TCP_FIN_DST	= 0x10,	/* dst sent FIN */
	FT_TCP_RST	= 0x20,	/* a reset, either way */
	FT_TCP_SEQ_SRC	= 0x40,	/* seq_end[0] holds a sequence number */
	FT_TCP_SEQ_DST	= 0x80,	/* seq_end[1] does */
};

/*
 * What tells how a TCP connection failed or ended: the SYNs sent, the
 * highest sequence number each side sent (so a retransmission shows), the
 * retransmissions in the current run of packets from one side (the other
 * side silent since), the first FIN or RST, and the TTL of the
 * destination's first reset against the TTL its other packets arrive with.
 */
struct flow_tcp {
	int64_t		syn_first_us, syn_last_us;
	uint64_t	rst_iface;	/* where the reset was seen */
	uint32_t	next_free;	/* in the table's free list */
	uint32_t	seq_end[2];
	uint16_t	syns;
	uint16_t	tail_rexmit;
	uint8_t		tail_side;	/* who sent the last packet */
	uint8_t		close;		/* END_FIN, END_RST or 0 */
	uint8_t		close_by;	/* 0 src, 1 dst */
	uint8_t		rst_ttl;
	uint8_t		dst_ttl;
};

#define FLOW_ERR_NONE	UINT32_MAX

/* One error aggregate, in the form the store writes it. */
struct flow_error {
	uint32_t		next;	/* index in the table's error pool */
	struct error_record	e;
};

struct flow {
	struct flow_key	key;
	uint64_t	hash;		/* 0: free slot */
	int64_t		first_us, last_us;
	uint64_t	pkts[2];	/* [0] sent by src, [1] back */
	uint64_t	bytes[2];
	int64_t		db_id;		/* its row once written, else 0 */
	uint32_t	err_head;	/* FLOW_ERR_NONE: no error */
	uint32_t	tcp_idx;	/* FLOW_TCP_NONE: no TCP state */
	uint32_t	pkts_errored;	/* packets an ICMP error quoted */
	uint32_t	expiry_tick;	/* daemon/expiry_wheel.h; 0: not filed */
	uint8_t		src_is_a;	/* which key side sent first */
	uint8_t		tcp;		/* FT_TCP_* */
	uint8_t		dirty;		/* changed since last written */
	uint8_t		ttl[2];		/* latest TTL each way */
	uint8_t		encap[3];	/* flow_table_encap's number; 0: none */
};

#define FLOW_TCP_NONE	UINT32_MAX

struct flow_table;

struct flow_table *flow_table_new(void);
void flow_table_free(struct flow_table *);

/*
 * Build the canonical key of a tuple; *from_a tells whether the tuple's
 * source is side a of the key. Returns the key's flow_key_hash.
 */
uint64_t flow_key_make(const struct tuple *t, struct flow_key *k,
    int *from_a);

/*
 * Find the flow of key k, or create it with src on side a when from_a says
 * so. *created tells which happened. NULL only when memory runs out.
 */
struct flow *flow_table_get(struct flow_table *, const struct flow_key *k,
    int from_a, int *created);
/*
 * The same with the key's flow_key_hash known: its index slot prefetched
 * first, then (the slot arrived) the flow the slot names, if any.
 */
void flow_table_prefetch(const struct flow_table *, uint64_t hash);
void flow_table_prefetch_flow(const struct flow_table *, uint64_t hash);
struct flow *flow_table_get_hashed(struct flow_table *,
    const struct flow_key *k, uint64_t hash, int from_a, int *created);

/* The flow of key k, or NULL. */
struct flow *flow_table_find(struct flow_table *, const struct flow_key *k);

/*
 * A key's 64-bit hash (never 0), and the flow whose hash has that low
 * half: a short handle for a flow, e.g. in the sent-packet table
 * (another live flow of the same low half is a 1 in 2^32 chance).
 */
uint64_t flow_key_hash(const struct flow_key *k);
struct flow *flow_table_find_hash(struct flow_table *, uint32_t hash_low);

/*
 * Attach one ICMP error occurrence to a flow (aggregated per type, code and
 * reporter). A flow keeps at most FLOW_MAX_ERRORS aggregates, so a flood
 * from forged reporters cannot grow it: beyond, flow_error_add returns 1.
 */
#define FLOW_MAX_ERRORS	16
/* occ: one occurrence (count 1, first_us == last_us). */
int flow_error_add(struct flow_table *, struct flow *,
    const struct error_record *occ);

const struct flow_error *flow_error_first(const struct flow_table *,
    const struct flow *);
const struct flow_error *flow_error_next(const struct flow_table *,
    const struct flow_error *);

/*
 * The TCP state of a flow, kept in a pool beside the table so that other
 * flows do not pay for it: _get creates it (NULL when memory runs out),
 * _find returns NULL when there is none. Pointers stay valid until the
 * next _get.
 */
struct flow_tcp *flow_tcp_get(struct flow_table *, struct flow *);
const struct flow_tcp *flow_tcp_find(const struct flow_table *,
    const struct flow *);

size_t flow_table_count(const struct flow_table *);

/*
 * How flow f was carried (common/encap.h): set once, when it is made, from
 * its first packet; -1 when memory runs out (it is then carried plainly,
 * as far as the table knows). NULL for a flow carried plainly; the
 * context is valid until the next flow_table_set_encap.
 */
int flow_table_set_encap(struct flow_table *, struct flow *,
    const struct flow_encap *);
const struct flow_encap *flow_table_encap(const struct flow_table *,
    const struct flow *);

/*
 * Mark a flow changed since it was last written. With the dirty log on,
 * each flow that turns dirty is logged once, so that a flush finds the
 * changed flows without visiting the others. Callers test f->dirty first:
 * only the turn from clean costs a call.
 */
void flow_table_mark_dirty(struct flow_table *, struct flow *);
void flow_table_dirty_log_start(struct flow_table *);
/*
 * The flows logged since the last clear, in the order they turned dirty
 * (a logged flow may have been removed or written since: check hash and
 * dirty). -1 when the log missed flows (memory ran out): visit them all.
 */
int flow_table_dirty_log(struct flow_table *, struct flow *const **v,
    size_t *n);
void flow_table_dirty_log_clear(struct flow_table *);
/* Keep only the logged flows from the from-th on, in order: not yet taken. */
void flow_table_dirty_log_keep(struct flow_table *, size_t from);

/*
 * Remove a flow (and free its errors). Other flows stay where they are;
 * the removed one's memory goes to the next flow created.
 */
void flow_table_remove(struct flow_table *, struct flow *);

/*
 * Visit every flow; stops early when fn returns non-zero, and returns it.
 * fn must not remove flows: collect them and remove afterwards.
 */
int flow_table_foreach(struct flow_table *,
    int (*fn)(struct flow *, void *), void *arg);

#endif
