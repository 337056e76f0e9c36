#include <err.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/clock.h"
#include "daemon/hugemem.h"
#include "daemon/offline.h"
#include "daemon/offline_run.h"
#include "daemon/writer.h"

/*
 * The run: one transaction, begun before the first packet. Flows idle past
 * their timeout (by packet time) are handed to the writer thread as the
 * captures are read and leave memory, the rest at the end.
 */
struct offline_run {
	const struct offline_opts *o;
	struct store		*db;
	struct writer_async	*w;		/* writes while we read */
	struct analyzer		*a;
	struct offline_input	*inputs;	/* o->ninputs of them */
	int			 nread;		/* inputs with packets to keep */
	size_t			 peak;		/* flows in memory at most */
	int			 failed;	/* the writer failed */
	int			 created;	/* the database is this run's */
};

static const char *
plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/*
 * A flow quiet for one pass's interval is written at the next pass:
 * passes a thirtieth of the UDP timeout apart (2 s by default) keep the
 * writer thread busy from the first flows on and each hand-over small. A
 * pass looks only at the flows due (the writer's expiry wheel), so
 * frequent passes stay cheap with a million flows in memory. A flow stays
 * in memory at most one interval past its timeout.
 */
static int64_t
expire_every(const struct offline_opts *o)
{
	return o->ex.udp_us / 30 > 0 ? o->ex.udp_us / 30 : 1;
}

static int
expire_tick(void *arg, int64_t ts_us)
{
	struct offline_run *r = arg;
	size_t now = flow_table_count(analyzer_settle(r->a));

	if (now > r->peak)
		r->peak = now;
	hugemem_heap_grown();
	/* what has been quiet for a tick is written, and stays in memory */
	if (writer_async_expire(r->w, r->a, ts_us, &r->o->ex,
	    expire_every(r->o)) != 0) {
		r->failed = 1;
		return 1;
	}
	return 0;
}

static int
count_unwritten(struct flow *f, void *arg)
{
	*(size_t *)arg += f->db_id == 0;
	return 0;
}

/* The database, the analyzer and the writer; exits on failure. */
static void
run_open(struct offline_run *r)
{
	char errbuf[512];

	/* The database first: a bad one fails before a long read. */
	r->created = access(r->o->dbpath, F_OK) != 0 && errno == ENOENT;
	if ((r->db = store_open(r->o->dbpath, STORE_WRITE_RUN, errbuf,
	    sizeof(errbuf))) == NULL)
		errx(1, "%s", errbuf);
	if ((r->a = analyzer_new()) == NULL ||
	    (r->inputs = calloc((size_t)r->o->ninputs,
	    sizeof(*r->inputs))) == NULL)
		errx(1, "out of memory");
	/* the run's flows queued for the fleet store with the run itself */
	if (r->o->ch.url != NULL && store_outbox_enable(r->db) != 0)
		errx(1, "%s", store_errmsg(r->db));
	if (store_run_begin(r->db, "offline") != 0)
		errx(1, "%s", store_errmsg(r->db));
	int legacy = store_has_v1_digests(r->db);
	if (legacy < 0)
		errx(1, "%s", store_errmsg(r->db));
	for (int i = 0; i < r->o->ninputs; i++) {
		r->inputs[i].name = r->o->inputs[i];
		r->inputs[i].filter = r->o->filter;
		r->inputs[i].legacy_digest = legacy;
	}
	if ((r->w = writer_async_start(r->db)) == NULL)
		errx(1, "cannot start the writer thread");
}

/*
 * Read every capture, up to the first that fails; 0, or 1 when one did
 * (what it gave before its bad spot is kept).
 */
static int
read_inputs(struct offline_run *r)
{
	struct offline_tick tick = { expire_tick, r, expire_every(r->o) };
	int show_progress = !r->o->quiet && isatty(STDERR_FILENO);

	for (; r->nread < r->o->ninputs; r->nread++) {
		struct offline_input *in = &r->inputs[r->nread];
		if (offline_read(r->a, in, show_progress, &tick, r->w) == 0)
			continue;
		if (r->failed)
			return 0;		/* the database says why */
		warnx("%s", in->err);
		if (in->packets > 0)
			r->nread++;
		return 1;
	}
	return 0;
}

/* Record the inputs read and the malformed counts in the run. */
static int
record_inputs(struct offline_run *r)
{
	for (int i = 0; i < r->nread; i++) {
		const struct offline_input *in = &r->inputs[i];
		struct store_input si = {
			.name = in->name,
			.packets = in->packets,
			.linktype = in->linktype,
		};
		_Static_assert(sizeof(si.digest) >= sizeof(in->digest) &&
		    sizeof(si.digest_v1) >= sizeof(in->digest_v1),
		    "the store holds both digests");
		memcpy(si.digest, in->digest, sizeof(in->digest));
		memcpy(si.digest_v1, in->digest_v1, sizeof(in->digest_v1));
		if (store_run_input(r->db, &si) != 0)
			return -1;
	}
	return export_malformed(r->db, analyzer_stats(r->a));
}

/* Finish the run begun before reading; 0 when it is safely committed. */
static int
run_finish(struct offline_run *r, size_t nflows)
{
	const struct analyzer_stats *st = analyzer_stats(r->a);
	struct store_run_stats rs = {
		.packets = st->packets,
		.decoded = st->decoded,
		.malformed = analyzer_malformed_total(st),
		.flows = nflows,
		.errors_matched = st->errors_matched,
		.errors_unseen = st->errors_unseen,
		.undecoded = st->not_ip,
		.tunneled = st->tunneled,
		.fam = { st->ip_pkts[0], st->ip_pkts[1], st->icmp_pkts[0],
		    st->icmp_pkts[1] },
	};
	int replaced;

	/* the flows left, then the store is this thread's again */
	if (writer_async_finish(r->w, r->failed ? NULL : r->a) != 0 ||
	    r->failed || record_inputs(r) != 0) {
		store_run_abort(r->db);
		return -1;
	}
	if (store_run_finish(r->db, &rs, &replaced) != 0)
		return -1;
	if (replaced > 0 && !r->o->quiet)
		fprintf(stderr, "udpflowd: %s: replaced the earlier analysis "
		    "of the same packets\n", r->o->dbpath);
	return 0;
}

/* After a capture failed: how much of it was stored. */
static void
say_stored_before_error(const struct offline_run *r, size_t nflows)
{
	uint64_t bytes = 0, np = analyzer_stats(r->a)->packets;
	int known = 1;
	char size[32], what[64];

	for (int i = 0; i < r->nread; i++) {
		bytes += r->inputs[i].bytes_read;
		known &= r->inputs[i].bytes_known;
	}
	if (bytes < 10 * 1024)
		snprintf(size, sizeof(size), "%llu bytes",
		    (unsigned long long)bytes);
	else if (bytes < 10 * 1024 * 1024)
		snprintf(size, sizeof(size), "%llu KB",
		    (unsigned long long)(bytes / 1024));
	else
		snprintf(size, sizeof(size), "%llu MB",
		    (unsigned long long)(bytes / (1024 * 1024)));
	const char *pkts = plural(np, "packet", "packets");
	if (known)
		snprintf(what, sizeof(what), "%s (%llu %s)", size,
		    (unsigned long long)np, pkts);
	else		/* a pipe of pcapng has no offset to give */
		snprintf(what, sizeof(what), "%llu %s",
		    (unsigned long long)np, pkts);
	warnx("stored %zu %s from the first %s read before the error",
	    nflows, plural(nflows, "flow", "flows"), what);
}

static void
summary(const struct analyzer_stats *st, uint64_t filtered_out, size_t flows,
    size_t peak, double secs)
{
	char why[512], skipped[640] = "", noquote[64] = "", exact[96] = "";
	char tunneled[64] = "", filtered[64] = "";

	export_malformed_text(st, why, sizeof(why));
	if (st->not_ip > 0) {
		char reasons[600];
		export_undecoded_text(st, reasons, sizeof(reasons));
		snprintf(skipped, sizeof(skipped), ", %llu not decoded%s",
		    (unsigned long long)st->not_ip, reasons);
	}
	if (filtered_out > 0)
		snprintf(filtered, sizeof(filtered), ", %llu left out by the "
		    "filter", (unsigned long long)filtered_out);
	if (st->tunneled > 0)
		snprintf(tunneled, sizeof(tunneled), " (%llu carried in "
		    "tunnels)", (unsigned long long)st->tunneled);
	if (st->errors_no_quote > 0)
		snprintf(noquote, sizeof(noquote), ", %llu %s too short to "
		    "name a flow", (unsigned long long)st->errors_no_quote,
		    plural(st->errors_no_quote, "error", "errors"));
	if (st->errors_exact > 0)
		snprintf(exact, sizeof(exact), " (%llu to the very packet "
		    "quoted%s)", (unsigned long long)st->errors_exact,
		    st->errors_altered > 0 ? ", some after NAT" : "");
	fprintf(stderr, "udpflowd: %llu packets read%s, %llu decoded%s, "
	    "%llu malformed%s%s, %zu %s, %llu %s matched%s, "
	    "%llu %s whose flow was never seen%s, at most %zu %s in memory, "
	    "%.2f s\n",
	    (unsigned long long)(st->packets + filtered_out), filtered,
	    (unsigned long long)st->decoded, tunneled, (unsigned long long)analyzer_malformed_total(st), why,
	    skipped, flows,
	    plural(flows, "flow", "flows"),
	    (unsigned long long)st->errors_matched,
	    plural(st->errors_matched, "error", "errors"), exact,
	    (unsigned long long)st->errors_unseen,
	    plural(st->errors_unseen, "error", "errors"), noquote, peak,
	    plural(peak, "flow", "flows"), secs);
}

/*
 * A capture of a family's traffic without one ICMP packet of that family
 * was most likely filtered ("udp or icmp" leaves ICMPv6 out): it cannot
 * show that family's errors, and its refused flows look silent. Say so.
 */
static void
icmp_blind_hint(const struct analyzer_stats *st)
{
	int blind4 = st->ip_pkts[0] > 0 && st->icmp_pkts[0] == 0;
	int blind6 = st->ip_pkts[1] > 0 && st->icmp_pkts[1] == 0;
	const char *filter = "'udp or tcp or icmp or icmp6'";

	if (blind4 && blind6)
		warnx("the capture holds not one ICMP or ICMPv6 packet: it "
		    "cannot show errors, and refused or unreachable flows look "
		    "silent; capture with a filter such as %s", filter);
	else if (blind6)
		warnx("the capture holds IPv6 traffic but not one ICMPv6 "
		    "packet: it cannot show IPv6 errors, and refused or "
		    "unreachable IPv6 flows look silent (\"udp or icmp\" "
		    "leaves ICMPv6 out); capture with %s", filter);
	else if (blind4)
		warnx("the capture holds IPv4 traffic but not one ICMP "
		    "packet: it cannot show IPv4 errors, and refused or "
		    "unreachable IPv4 flows look silent; capture with %s",
		    filter);
}

/*
 * Packets read and none decoded: never a silent zero. Says the commonest
 * reason, and what to do about it where there is something to do.
 */
static int
nothing_decoded(const struct analyzer_stats *st)
{
	char why[128];
	uint64_t n;

	if (st->packets == 0 || st->decoded > 0)
		return 0;
	if (export_commonest(st, why, sizeof(why), &n) != 0)
		snprintf(why, sizeof(why), "unknown");
	warnx("none of the %llu %s read was decoded: %llu %s %s",
	    (unsigned long long)st->packets,
	    plural(st->packets, "packet", "packets"),
	    (unsigned long long)n, n == 1 ? "was" : "were", why);
	return 1;
}

/*
 * A run that failed and stored no flow leaves no database behind when it
 * was the one to make it: an empty file would only mislead.
 */
static void
remove_database(const char *path)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char name[PATH_MAX];

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++)
		if ((size_t)snprintf(name, sizeof(name), "%s%s", path,
		    suffix[i]) < sizeof(name))
			(void)unlink(name);
}

/*
 * The run is committed: send what waits in the outbox (this run's flows,
 * and any an earlier run left), as long as ClickHouse takes them. Down or
 * not answering, it costs a request's timeout; what is not sent waits in
 * the database for the next run.
 */
static void
send_to_clickhouse(const struct offline_opts *o)
{
	struct ch_sender_stats st = { 0, 0, 0, 0 };
	char err[512];

	if (ch_send_outbox(&o->ch, 0, &st, err, sizeof(err)) == 0) {
		if (!o->quiet)
			fprintf(stderr, "udpflowd: %llu %s sent to ClickHouse\n",
			    (unsigned long long)st.sent,
			    plural(st.sent, "flow", "flows"));
		return;
	}
	warnx("ClickHouse: %s: %llu %s sent, %llu wait in %s for the next "
	    "run with --clickhouse", err, (unsigned long long)st.sent,
	    plural(st.sent, "flow", "flows"), (unsigned long long)st.waiting,
	    o->dbpath);
}

int
offline_run(const struct offline_opts *o)
{
	struct offline_run r = { .o = o };
	double started = mono_seconds();
	int status;

	run_open(&r);
	status = read_inputs(&r);
	size_t left = 0;
	flow_table_foreach(analyzer_settle(r.a), count_unwritten, &left);
	size_t nflows = (size_t)writer_async_rows(r.w) + left;
	left = flow_table_count(analyzer_settle(r.a));
	if (left > r.peak)
		r.peak = left;
	if (run_finish(&r, nflows) != 0) {
		warnx("%s", store_errmsg(r.db));
		warnx("%s: nothing was stored", o->dbpath);
		status = 1;
	} else if (status != 0 && analyzer_stats(r.a)->packets > 0) {
		say_stored_before_error(&r, nflows);
	}
	uint64_t filtered_out = 0;
	for (int i = 0; i < r.nread; i++)
		filtered_out += r.inputs[i].filtered_out;
	if (!o->quiet) {
		summary(analyzer_stats(r.a), filtered_out, nflows, r.peak,
		    mono_seconds() - started);
		icmp_blind_hint(analyzer_stats(r.a));
	}
	if (status == 0 && nothing_decoded(analyzer_stats(r.a)))
		status = 1;
	analyzer_free(r.a);
	free(r.inputs);
	store_close(r.db);
	if (status != 0 && nflows == 0 && r.created)
		remove_database(o->dbpath);
	else if (o->ch.url != NULL)
		send_to_clickhouse(o);
	return status;
}
