/*
 * udpflowd: analyze captures into flows and the ICMP errors they drew, and
 * store them in SQLite for udpflows to query.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "daemon/analyzer.h"
#include "daemon/clock.h"
#include "daemon/live.h"
#include "daemon/offline.h"
#include "daemon/writer.h"
#include "store/store.h"

#define MAX_INPUTS	256

enum { OPT_MAX_FLOWS = 256, OPT_UDP_TIMEOUT, OPT_TCP_TIMEOUT, OPT_FLUSH,
    OPT_RETAIN, OPT_NDJSON };

static void
usage(FILE *to, int status)
{
	fprintf(to,
"usage: udpflowd -r FILE [-r FILE ...] [-d DATABASE] [-q]\n"
"                [--udp-timeout S] [--tcp-timeout S]\n"
"       udpflowd -i IFACE [-i IFACE ...] [-d DATABASE] [-F] [-Z USER]\n"
"                [-P PIDFILE] [-f EXPR] [-B MB] [--max-flows N]\n"
"                [--udp-timeout S] [--tcp-timeout S] [--flush S]\n"
"                [--retain DAYS] [--ndjson FILE]\n"
"\n"
"  -r FILE           read a pcap or pcapng capture; \"-\" is standard input\n"
"  -i IFACE          capture live on IFACE (\"any\" for all); may repeat\n"
"  -d DATABASE       SQLite file to store flows in (default: $UDPFLOWS_DB)\n"
"  -q                no progress and no summary on stderr (with -r)\n"
"  -F                stay in the foreground, log to stderr\n"
"  -Z USER           run as USER once the captures and files are open\n"
"  -P PIDFILE        write the process ID there\n"
"  -f EXPR           BPF expression ANDed to the default filter\n"
"  -B MB             kernel capture buffer per interface (default 32)\n"
"  --max-flows N     flows in memory at most (default 1000000)\n"
"  --udp-timeout S   idle UDP flows leave memory after S s (default 60)\n"
"  --tcp-timeout S   idle TCP flows after S s (default 300; 10 after close)\n"
"  --flush S         the database is at most S s behind (default 2)\n"
"  --retain DAYS     delete flows older than DAYS (default: keep all)\n"
"  --ndjson FILE     also append every flow written, in the JSON\n"
"                    contract of udpflows, one line each (reopened on\n"
"                    SIGHUP)\n"
"  -h, -V            help, version\n"
"\n"
"Analyzing the same capture again replaces its earlier results.\n"
"Signals: TERM/INT write every flow and stop; HUP reopens the log, the\n"
"database and the NDJSON file; USR1 logs statistics.\n");
	exit(status);
}

static long long
number(const char *opt, const char *s, long long lo, long long hi)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < lo || v > hi)
		errx(2, "%s %s: not a number from %lld to %lld", opt, s, lo, hi);
	return v;
}

static const char *
plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void
summary(const struct analyzer_stats *st, size_t flows, size_t peak,
    double secs)
{
	char why[512] = "";
	size_t len = 0;
	uint64_t malformed = analyzer_malformed_total(st);

	for (int i = 1; i < WHY_COUNT && len < sizeof(why); i++) {
		if (st->malformed[i] == 0)
			continue;
		len += (size_t)snprintf(why + len, sizeof(why) - len, "%s%s %llu",
		    len ? ", " : " (", decode_reason_name(i),
		    (unsigned long long)st->malformed[i]);
	}
	if (len > 0 && len < sizeof(why))
		snprintf(why + len, sizeof(why) - len, ")");
	char noquote[64] = "";
	if (st->errors_no_quote > 0)
		snprintf(noquote, sizeof(noquote), ", %llu %s too short to "
		    "name a flow", (unsigned long long)st->errors_no_quote,
		    plural(st->errors_no_quote, "error", "errors"));
	char exact[96] = "";
	if (st->errors_exact > 0)
		snprintf(exact, sizeof(exact), " (%llu to the very packet "
		    "quoted%s)", (unsigned long long)st->errors_exact,
		    st->errors_altered > 0 ? ", some after NAT" : "");
	fprintf(stderr, "udpflowd: %llu packets read, %llu decoded, "
	    "%llu malformed%s, %zu %s, %llu %s matched%s, "
	    "%llu %s whose flow was never seen%s, at most %zu %s in memory, "
	    "%.2f s\n",
	    (unsigned long long)st->packets, (unsigned long long)st->decoded,
	    (unsigned long long)malformed, why, flows,
	    plural(flows, "flow", "flows"),
	    (unsigned long long)st->errors_matched,
	    plural(st->errors_matched, "error", "errors"), exact,
	    (unsigned long long)st->errors_unseen,
	    plural(st->errors_unseen, "error", "errors"), noquote, peak,
	    plural(peak, "flow", "flows"), secs);
}

/*
 * An offline run is one transaction, begun before the first packet: flows
 * idle past their timeout (by packet time) are written as the capture is
 * read and leave memory, the rest at the end. A reader sees the run whole
 * or not at all.
 */
struct expiring {
	struct store		*db;
	struct writer_async	*w;		/* writes while we read */
	struct analyzer		*a;
	struct writer_expiry	 ex;
	size_t			 written;
	size_t			 peak;		/* flows in memory at most */
	int			 failed;
};

static int
expire_tick(void *arg, int64_t ts_us)
{
	struct expiring *e = arg;
	size_t n, now = flow_table_count(analyzer_settle(e->a));

	if (now > e->peak)
		e->peak = now;
	if (writer_async_expire(e->w, e->a, ts_us, &e->ex, &n) != 0) {
		e->failed = 1;
		return 1;
	}
	e->written += n;
	return 0;
}

/* Finish the run begun before reading; 0 when it is safely committed. */
static int
store_analysis(struct expiring *e, struct offline_input *inputs, int ninputs,
    int quiet, const char *dbpath)
{
	struct store *db = e->db;
	struct analyzer *a = e->a;
	const struct analyzer_stats *st = analyzer_stats(a);
	struct store_run_stats rs = {
		.packets = st->packets,
		.decoded = st->decoded,
		.malformed = analyzer_malformed_total(st),
		.flows = e->written + flow_table_count(analyzer_settle(a)),
		.errors_matched = st->errors_matched,
		.errors_unseen = st->errors_unseen,
	};
	int replaced;

	/* the flows left, then the store is this thread's again */
	if (writer_async_finish(e->w, e->failed ? NULL : a) != 0 || e->failed)
		goto fail;
	for (int i = 0; i < ninputs; i++) {
		struct store_input si = {
			.name = inputs[i].name,
			.packets = inputs[i].packets,
			.linktype = inputs[i].linktype,
		};
		_Static_assert(sizeof(si.digest) >= sizeof(inputs[i].digest) &&
		    sizeof(si.digest_v1) >= sizeof(inputs[i].digest_v1),
		    "the store holds both digests");
		memcpy(si.digest, inputs[i].digest, sizeof(inputs[i].digest));
		memcpy(si.digest_v1, inputs[i].digest_v1,
		    sizeof(inputs[i].digest_v1));
		if (store_run_input(db, &si) != 0)
			goto fail;
	}
	for (int i = 1; i < WHY_COUNT; i++)
		if (st->malformed[i] > 0 && store_run_malformed(db,
		    decode_reason_name(i), st->malformed[i]) != 0)
			goto fail;
	if (store_run_finish(db, &rs, &replaced) != 0)
		return -1;
	if (replaced > 0 && !quiet)
		fprintf(stderr, "udpflowd: %s: replaced the earlier analysis "
		    "of the same packets\n", dbpath);
	return 0;
fail:
	store_run_abort(db);
	return -1;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "read",	required_argument,	NULL, 'r' },
		{ "database",	required_argument,	NULL, 'd' },
		{ "quiet",	no_argument,		NULL, 'q' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ "interface",	required_argument,	NULL, 'i' },
		{ "foreground",	no_argument,		NULL, 'F' },
		{ "user",	required_argument,	NULL, 'Z' },
		{ "pidfile",	required_argument,	NULL, 'P' },
		{ "filter",	required_argument,	NULL, 'f' },
		{ "buffer",	required_argument,	NULL, 'B' },
		{ "max-flows",	required_argument,	NULL, OPT_MAX_FLOWS },
		{ "udp-timeout", required_argument,	NULL, OPT_UDP_TIMEOUT },
		{ "tcp-timeout", required_argument,	NULL, OPT_TCP_TIMEOUT },
		{ "flush",	required_argument,	NULL, OPT_FLUSH },
		{ "retain",	required_argument,	NULL, OPT_RETAIN },
		{ "ndjson",	required_argument,	NULL, OPT_NDJSON },
		{ NULL, 0, NULL, 0 },
	};
	struct live_opts lo = {
		.buffer_mb = 32,
		.udp_timeout_us = 60 * 1000000LL,
		.tcp_timeout_us = 300 * 1000000LL,
		.closed_timeout_us = 10 * 1000000LL,
		.flush_us = 2 * 1000000LL,
		.stats_us = 60 * 1000000LL,
		.max_flows = 1000000,
	};
	struct offline_input inputs[MAX_INPUTS];
	int ninputs = 0, quiet = 0, ch, status = 0, stdin_used = 0;
	const char *dbpath = getenv("UDPFLOWS_DB");
	char errbuf[512];

	while ((ch = getopt_long(argc, argv, "r:d:qhVi:FZ:P:f:B:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'i':
			if (lo.nifaces == LIVE_MAX_IFACES)
				errx(2, "at most %d interfaces", LIVE_MAX_IFACES);
			lo.ifaces[lo.nifaces++] = optarg;
			break;
		case 'F':
			lo.foreground = 1;
			break;
		case 'Z':
			lo.user = optarg;
			break;
		case 'P':
			lo.pidfile = optarg;
			break;
		case 'f':
			lo.filter = optarg;
			break;
		case 'B':
			lo.buffer_mb = (int)number("-B", optarg, 1, 4096);
			break;
		case OPT_MAX_FLOWS:
			lo.max_flows = (size_t)number("--max-flows", optarg, 100,
			    1LL << 32);
			break;
		case OPT_UDP_TIMEOUT:
			lo.udp_timeout_us = number("--udp-timeout", optarg, 1,
			    86400) * 1000000;
			break;
		case OPT_TCP_TIMEOUT:
			lo.tcp_timeout_us = number("--tcp-timeout", optarg, 1,
			    86400) * 1000000;
			break;
		case OPT_FLUSH:
			lo.flush_us = number("--flush", optarg, 1, 3600) * 1000000;
			break;
		case OPT_RETAIN:
			lo.retain_days = (int)number("--retain", optarg, 1, 36500);
			break;
		case OPT_NDJSON:
			lo.ndjson = optarg;
			break;
		case 'r':
			if (ninputs == MAX_INPUTS)
				errx(2, "at most %d captures at once",
				    MAX_INPUTS);
			if (strcmp(optarg, "-") == 0 && stdin_used++)
				errx(2, "standard input can be read only once");
			memset(&inputs[ninputs], 0, sizeof(inputs[0]));
			inputs[ninputs++].name = optarg;
			break;
		case 'd':
			dbpath = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		case 'V':
			printf("udpflowd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr, 2);
		}
	}
	if (optind != argc) {
		warnx("unexpected argument: %s", argv[optind]);
		usage(stderr, 2);
	}
	if (ninputs > 0 && lo.nifaces > 0)
		errx(2, "-r reads captures, -i captures live: choose one");
	if (ninputs == 0 && lo.nifaces == 0) {
		warnx("nothing to read: give a capture with -r or an interface "
		    "with -i");
		usage(stderr, 2);
	}
	if (dbpath == NULL || *dbpath == '\0')
		errx(2, "no database: give one with -d or set UDPFLOWS_DB");
	if (lo.nifaces > 0) {
		lo.dbpath = dbpath;
		return live_run(&lo);
	}

	/* Open the database first: a bad one fails before a long read. */
	struct store *db = store_open(dbpath, STORE_WRITE, errbuf,
	    sizeof(errbuf));
	if (db == NULL)
		errx(1, "%s", errbuf);

	struct analyzer *a = analyzer_new();
	if (a == NULL)
		errx(1, "out of memory");
	struct expiring exp = { .db = db, .a = a, .ex = { lo.udp_timeout_us,
	    lo.tcp_timeout_us, lo.closed_timeout_us } };
	/*
	 * Each expiry pass visits the whole table: a tenth of the UDP
	 * timeout apart (6 s) keeps that cheap, and a flow stays in memory
	 * at most that long past its timeout.
	 */
	struct offline_tick tick = { expire_tick, &exp,
	    lo.udp_timeout_us / 10 > 0 ? lo.udp_timeout_us / 10 : 1 };
	if (store_run_begin(db, "offline") != 0)
		errx(1, "%s", store_errmsg(db));
	int legacy = store_has_v1_digests(db);
	if (legacy < 0)
		errx(1, "%s", store_errmsg(db));
	for (int i = 0; i < ninputs; i++)
		inputs[i].legacy_digest = legacy;
	if ((exp.w = writer_async_start(db)) == NULL)
		errx(1, "cannot start the writer thread");

	int show_progress = !quiet && isatty(STDERR_FILENO);
	double started = mono_seconds();
	int nread = 0;
	for (; nread < ninputs; nread++) {
		if (offline_read(a, &inputs[nread], show_progress, &tick) != 0) {
			if (exp.failed)
				break;		/* the database said why */
			warnx("%s", inputs[nread].err);
			status = 1;
			/* keep what the bad file gave before its bad spot */
			if (inputs[nread].packets > 0)
				nread++;
			break;
		}
	}

	size_t left = flow_table_count(analyzer_settle(a));
	size_t nflows = exp.written + left;
	if (left > exp.peak)
		exp.peak = left;
	if (store_analysis(&exp, inputs, nread, quiet, dbpath) != 0) {
		warnx("%s", store_errmsg(db));
		warnx("%s: nothing was stored", dbpath);
		status = 1;
	} else if (status != 0 && analyzer_stats(a)->packets > 0) {
		uint64_t bytes = 0;
		int known = 1;
		char size[32], what[64];
		for (int i = 0; i < nread; i++) {
			bytes += inputs[i].bytes_read;
			known &= inputs[i].bytes_known;
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
		uint64_t np = analyzer_stats(a)->packets;
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
	if (!quiet)
		summary(analyzer_stats(a), nflows, exp.peak,
		    mono_seconds() - started);
	analyzer_free(a);
	store_close(db);
	return status;
}
