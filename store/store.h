/*
 * The SQLite store: the only module that speaks SQL. Shared by the daemon
 * (writer) and the CLI (reader). Functions return 0 on success and -1 on
 * failure, with the reason in store_errmsg(); the store never exits.
 *
 * A connection is used by one thread at a time: offline, udpflowd's writer
 * thread has it from store_run_begin to the end of the run's flows (see
 * daemon/writer.h), the opening thread before and after; live, the live
 * writer's thread has it while it writes a job (daemon/live_writer.h).
 */
#ifndef UDPFLOWS_STORE_H
#define UDPFLOWS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/flow_record.h"

struct store;

/* Per-input facts, so that a second run over the same file is known. */
struct store_input {
	const char	*name;
	char		 digest[40];	/* identity of the packets */
	char		 digest_v1[33];	/* the same, as versions before 2 */
	uint64_t	 packets;
	int		 linktype;
};

/* IP packets by family, and the ICMP and ICMPv6 packets among them. */
struct store_families {
	uint64_t	ip4, ip6, icmp4, icmp6;
};

struct store_run_stats {
	uint64_t	packets, decoded, malformed, flows;
	uint64_t	errors_matched, errors_unseen;
	uint64_t	undecoded, tunneled;
	struct store_families fam;
};

/*
 * STORE_WRITE creates and upgrades; STORE_SEND (the fleet store's sender)
 * changes the outbox of a database that is there, at this version.
 * STORE_WRITE_RUN is STORE_WRITE for one offline run: when this open
 * creates the database, the run is written straight into its file (a
 * rollback journal), not first into the WAL and then copied again by the
 * checkpoint at its end; the database is in WAL mode, as any other, once
 * the run is stored. Meanwhile a reader waits for the run (up to the busy
 * timeout) instead of seeing an empty database.
 */
enum { STORE_READ, STORE_WRITE, STORE_SEND, STORE_WRITE_RUN };

struct store *store_open(const char *path, int mode, char *err, size_t errlen);
void store_close(struct store *);
const char *store_errmsg(const struct store *);

/*
 * Writing one offline analysis: begin, add inputs and flows, finish.
 * Everything between begin and finish is one transaction, so a reader sees
 * the run whole or not at all. finish replaces earlier runs whose inputs
 * are all among this run's (a re-analysis of the same files), and fails,
 * storing nothing, when an earlier run shares only some of them.
 */
int store_run_begin(struct store *, const char *mode);
int store_run_input(struct store *, const struct store_input *);
/*
 * 1 when earlier inputs carry version 1 digests (daemon/capture_digest.h),
 * which a run then computes too; 0 when none, -1 on error.
 */
int store_has_v1_digests(struct store *);
/*
 * The id the run's next new flow row gets; store_run_flows writes flows
 * v[0..n) as rows id0, id0 + 1, ... (oldest first keeps it cheap), and
 * fails when id0 is not that next id.
 */
int64_t store_run_next_id(const struct store *);
int store_run_flows(struct store *, const struct flow_record *v, size_t n,
    int64_t id0);
int store_run_malformed(struct store *, const char *reason, uint64_t count);
/* Packets not decoded for a reason ("ethertype 0x0806 (ARP)"). */
int store_run_undecoded(struct store *, const char *reason, uint64_t count);
/* *replaced: how many earlier runs this one replaced. */
int store_run_finish(struct store *, const struct store_run_stats *,
    int *replaced);
void store_run_abort(struct store *);

/*
 * Writing while capturing: a run that stays open, flows written in batches
 * and rewritten in place when they change (by their row id), statistics
 * rows, and pruning of old rows.
 */
struct store_live_stats {
	uint64_t	packets, decoded, malformed, duplicates, kernel_drops;
	uint64_t	flows_active, flows_written, flows_evicted;
	uint64_t	errors_matched, errors_unseen, write_failures;
	uint64_t	errors_capped;	/* beyond the per-flow limit */
	uint64_t	undecoded, tunneled;
	struct store_families fam;	/* kept in the run's row */
};

int store_live_begin(struct store *, const char *const *ifaces, int n);
/*
 * Move everything from the WAL into the database file and empty the WAL,
 * through the open descriptors: what a moved (rotated) file needs, since
 * SQLite does not checkpoint a moved file on close.
 */
int store_checkpoint(struct store *);
/* Reopened the same file: go on with its latest run. */
void store_live_continue(struct store *);
int store_batch_begin(struct store *);
int store_batch_commit(struct store *);
void store_batch_abort(struct store *);
/* Insert the flow when *id is 0 (and set it), else rewrite row *id. */
int store_flow_put(struct store *, const struct flow_record *, int64_t *id);
int store_stats_put(struct store *, const struct store_live_stats *);
/*
 * Clear the run's malformed and undecoded counts by reason, to write them
 * anew (store_run_malformed, store_run_undecoded once per reason).
 */
int store_malformed_clear(struct store *);
/* Delete flows (and their errors) last active before before_us. */
int store_prune(struct store *, int64_t before_us, uint64_t *deleted);
int store_live_end(struct store *);

/*
 * The outbox of the fleet store (ClickHouse): with it on, every flow
 * written is also queued, in the same transaction, to be sent; a flow
 * written again before it was sent is queued once, at its newest. The
 * sender takes the oldest, and clears each it sent unless it was queued
 * again meanwhile.
 */
int store_outbox_enable(struct store *);
/* The database's own name ("9f0c..."): flow ids start again in a new file. */
int store_db_id(struct store *, char *buf, size_t len);
/*
 * Calls fn for up to max queued flows, oldest first, with the flow's row
 * (NULL when it was deleted since: pruned) and its queue entry.
 */
typedef int (*store_outbox_fn)(const struct flow_record *, int64_t flow_id,
    int64_t seq, void *arg);
int store_outbox_take(struct store *, size_t max, store_outbox_fn fn,
    void *arg);
/*
 * Clear the entries sent: those taken, queued as seq_first to seq_last.
 * Queue numbers only grow, so a flow queued again meanwhile is beyond them.
 */
int store_outbox_done(struct store *, int64_t seq_first, int64_t seq_last);
int store_outbox_count(struct store *, uint64_t *n);
/* Keep at most max entries, dropping the oldest: *dropped of them. */
int store_outbox_trim(struct store *, uint64_t max, uint64_t *dropped);
/*
 * Runs replaced by a new analysis of their captures, whose flows the
 * fleet store must forget: up to max of them, and clearing those sent.
 */
int store_gone_runs_take(struct store *, int64_t *runs, size_t max,
    size_t *n);
int store_gone_runs_done(struct store *, const int64_t *runs, size_t n);

/* Reading. */
#define STORE_REASONS	16
struct store_stats_row {
	int64_t			run_id;
	const char		*mode;
	int64_t			started_us, at_us;
	int			running;	/* no finish time recorded */
	struct store_live_stats	s;
	char			 why[STORE_REASONS][32];	/* malformed */
	uint64_t		 why_count[STORE_REASONS];
	size_t			 nwhy;
	char			 skip[STORE_REASONS][64];	/* undecoded */
	uint64_t		 skip_count[STORE_REASONS];
	size_t			 nskip;
};
typedef int (*store_stats_fn)(const struct store_stats_row *, void *arg);
/* The latest statistics of each live run, newest run first. */
int store_query_stats(struct store *, store_stats_fn fn, void *arg);

/* An offline run (udpflowd -r), as recorded when it finished. */
struct store_run_row {
	int64_t			run_id;
	const char		*mode;
	int64_t			started_us, finished_us;
	struct store_run_stats	s;
	int			has_span;	/* it stored flows */
	int64_t			first_us, last_us;	/* their time span */
	char			 inputs[8][256];	/* files read */
	uint64_t		 input_packets[8];
	size_t			 ninputs, more_inputs;
	char			 why[STORE_REASONS][32];	/* malformed */
	uint64_t		 why_count[STORE_REASONS];
	size_t			 nwhy;
	char			 skip[STORE_REASONS][64];	/* undecoded */
	uint64_t		 skip_count[STORE_REASONS];
	size_t			 nskip;
};
typedef int (*store_run_fn)(const struct store_run_row *, void *arg);
/* Every run without live statistics, newest first. */
int store_query_runs(struct store *, store_run_fn fn, void *arg);

#define STORE_MAX_PORTS	16

struct store_addr_filter {
	const uint8_t	*lo, *hi;	/* inclusive range, network order */
	size_t		 len;		/* 4 or 16 */
};

enum store_sort {
	SORT_FIRST,		/* first seen, oldest first */
	SORT_LAST,		/* last activity, newest first */
	SORT_PACKETS,		/* packets both ways, most first */
	SORT_ERRORS,		/* ICMP errors received, most first */
};

/*
 * What to select. Address filters take a range, so one address and a CIDR
 * net are the same thing; NULL lo means no filter.
 */
struct store_query {
	const uint8_t	*states;	/* states to select; NULL: all */
	size_t		 nstates;
	struct store_addr_filter host;	/* either side */
	struct store_addr_filter src;
	struct store_addr_filter dst;
	struct store_addr_filter net;	/* either side */
	const uint8_t	*reporter;	/* an error reported by it */
	size_t		 reporterlen;
	/* either side in any of these ranges; none: any port */
	struct store_port_range {
		uint16_t	lo, hi;
	}		 ports[STORE_MAX_PORTS];
	size_t		 nports;
	int		 proto;		/* -1: any */
	int		 has_since, has_until;
	int64_t		 since_us, until_us;
	enum store_sort	 sort;
	int64_t		 limit;		/* 0: no limit */
};

typedef int (*store_flow_fn)(const struct flow_record *, void *arg);

/*
 * The flows tunnel (a tunnel's own flow) carried: those whose layers name
 * a tunnel of its kind between its endpoints, either way, active while
 * it was.
 */
int store_tunnel_carried(struct store *, const struct flow_record *tunnel,
    uint64_t *n);

/*
 * The errors (up to max, first first) of the flow of tunnel layer l (its
 * kind, between its endpoints either way) active between first_us and
 * last_us: what the underlay said about the tunnel a flow was carried in.
 */
struct encap_layer;
int store_tunnel_errors(struct store *, const struct encap_layer *l,
    int64_t first_us, int64_t last_us, struct error_record *out, size_t max,
    size_t *n);

/*
 * When the database's flows were last active, the oldest and the newest;
 * 0 with *any 0 when it holds none.
 */
int store_flow_span(struct store *, int *any, int64_t *oldest_us,
    int64_t *newest_us);

/* The families run run_id saw (all 0 when it recorded none). */
int store_run_families(struct store *, int64_t run_id,
    struct store_families *);

/* Calls fn for each flow matched, oldest first; stops if fn returns != 0. */
int store_query_flows(struct store *, const struct store_query *,
    store_flow_fn fn, void *arg);

#endif
