/*
 * udpflowd: analyze captures into flows and the ICMP errors they drew, and
 * store them in SQLite for udpflows to query. This file only reads the
 * command line: daemon/offline_run.c reads saved captures, daemon/live.c
 * captures live.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "common/suggest.h"
#include "daemon/hugemem.h"
#include "daemon/live.h"
#include "daemon/offline_run.h"
#include "store/clickhouse.h"

enum { OPT_MAX_FLOWS = 256, OPT_UDP_TIMEOUT, OPT_TCP_TIMEOUT, OPT_FLUSH,
    OPT_RETAIN, OPT_NDJSON, OPT_CLICKHOUSE, OPT_GATEWAY, OPT_CH_SPOOL,
    OPT_SEND };

static void
usage(FILE *to, int status)
{
	fprintf(to,
"usage: udpflowd -r FILE [-r FILE ...] [-d DATABASE] [-q] [-f EXPR]\n"
"                [--udp-timeout S] [--tcp-timeout S] [FLEET]\n"
"       udpflowd -i IFACE [-i IFACE ...] [-d DATABASE] [-F] [-Z USER]\n"
"                [-P PIDFILE] [-f EXPR] [-B MB] [--max-flows N]\n"
"                [--udp-timeout S] [--tcp-timeout S] [--flush S]\n"
"                [--retain DAYS] [--ndjson FILE] [FLEET]\n"
"       udpflowd -d DATABASE --send --clickhouse URL [--gateway NAME]\n"
"  FLEET: --clickhouse URL [--gateway NAME] [--clickhouse-spool N]\n"
"\n"
"  -r FILE           read a pcap or pcapng capture, also gzip, zstd or lz4\n"
"                    compressed; \"-\" is standard input\n"
"  -i IFACE          capture live on IFACE (\"any\" for all); may repeat\n"
"  -d DATABASE       SQLite file to store flows in (default: $UDPFLOWS_DB)\n"
"  -q                no progress and no summary on stderr (with -r)\n"
"  -F                stay in the foreground, log to stderr\n"
"  -Z USER           run as USER once the captures and files are open\n"
"  -P PIDFILE        write the process ID there\n"
"  -f EXPR           a BPF filter, as tcpdump takes it (live and -r)\n"
"  -B MB             kernel capture buffer per interface (default 32)\n"
"  --max-flows N     flows in memory at most (default 1000000)\n"
"  --udp-timeout S   idle UDP flows leave memory after S s (default 60)\n"
"  --tcp-timeout S   idle TCP flows after S s (default 300; 10 after close)\n"
"  --flush S         the database is at most S s behind (default 2)\n"
"  --retain DAYS     delete flows older than DAYS (default: keep all)\n"
"  --ndjson FILE     also append every flow written, in the JSON\n"
"                    contract of udpflows, one line each (reopened on\n"
"                    SIGHUP)\n"
"  --clickhouse URL  also send every flow written to ClickHouse, e.g.\n"
"                    http://host:8123/?database=udpflows; @FILE reads the\n"
"                    URL (and its password) from a file only we may read\n"
"  --gateway NAME    this gateway's name on its rows (default: hostname)\n"
"  --clickhouse-spool N  flows waiting in the database while ClickHouse\n"
"                    is away, at most (default 1000000; the oldest go)\n"
"  --send            send the flows waiting in DATABASE (a file rotated\n"
"                    away, one a run left) to ClickHouse, and exit\n"
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

struct options {
	struct live_opts	lo;
	struct offline_opts	oo;
	struct expiry		ex;		/* both modes' */
	const char		*dbpath;
	int			 stdin_used;
	struct ch_sender_opts	 ch;		/* both modes' */
	char			*ch_arg;	/* --clickhouse as typed */
	int			 ch_given;	/* --gateway or the spool */
	int			 send;		/* --send: the outbox only */
};

/* An option of live capture; 0 when ch is none. */
static int
live_option(int ch, struct live_opts *lo)
{
	switch (ch) {
	case 'i':
		if (lo->nifaces == LIVE_MAX_IFACES)
			errx(2, "at most %d interfaces", LIVE_MAX_IFACES);
		lo->ifaces[lo->nifaces++] = optarg;
		break;
	case 'F':
		lo->foreground = 1;
		break;
	case 'Z':
		lo->user = optarg;
		break;
	case 'P':
		lo->pidfile = optarg;
		break;
	case 'B':
		lo->buffer_mb = (int)number("-B", optarg, 1, 4096);
		break;
	case OPT_MAX_FLOWS:
		lo->max_flows = (size_t)number("--max-flows", optarg, 100,
		    1LL << 32);
		break;
	case OPT_FLUSH:
		lo->flush_us = number("--flush", optarg, 1, 3600) * 1000000;
		break;
	case OPT_RETAIN:
		lo->retain_days = (int)number("--retain", optarg, 1, 36500);
		break;
	case OPT_NDJSON:
		lo->ndjson = optarg;
		break;
	default:
		return 0;
	}
	return 1;
}

/* An option of reading captures, or of both modes; 0 when ch is none. */
static int
common_option(int ch, struct options *op)
{
	struct offline_opts *oo = &op->oo;

	switch (ch) {
	case OPT_UDP_TIMEOUT:
		op->ex.udp_us = number("--udp-timeout", optarg, 1, 86400) *
		    1000000;
		break;
	case OPT_TCP_TIMEOUT:
		op->ex.tcp_us = number("--tcp-timeout", optarg, 1, 86400) *
		    1000000;
		break;
	case 'r':
		if (oo->ninputs == OFFLINE_MAX_INPUTS)
			errx(2, "at most %d captures at once",
			    OFFLINE_MAX_INPUTS);
		if (strcmp(optarg, "-") == 0 && op->stdin_used++)
			errx(2, "standard input can be read only once");
		oo->inputs[oo->ninputs++] = optarg;
		break;
	case 'd':
		op->dbpath = optarg;
		break;
	case 'f':
		op->lo.filter = op->oo.filter = optarg;
		break;
	case 'q':
		oo->quiet = 1;
		break;
	case OPT_CLICKHOUSE:
		op->ch_arg = optarg;
		break;
	case OPT_GATEWAY:
		if (*optarg == '\0' || strlen(optarg) > 127)
			errx(2, "--gateway %.200s: a name of 1 to 127 "
			    "characters", optarg);
		op->ch.gateway = optarg;
		op->ch_given = 1;
		break;
	case OPT_CH_SPOOL:
		op->ch.spool_max = (uint64_t)number("--clickhouse-spool",
		    optarg, 1, 1000000000);
		op->ch_given = 1;
		break;
	case OPT_SEND:
		op->send = 1;
		break;
	case 'h':
		usage(stdout, 0);
		break;
	case 'V':
		printf("udpflowd %s\n", PACKAGE_VERSION);
		exit(0);
	default:
		return 0;
	}
	return 1;
}

/*
 * A password typed on the command line shows in ps: hide it in argv at
 * once (as mysql does) and say to use @FILE, where no one sees it.
 */
static void
hide_password(char *arg)
{
	char *auth = strstr(arg, "://");
	if (auth == NULL)
		return;
	auth += 3;
	char *at = memchr(auth, '@', strcspn(auth, "/?"));
	char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (colon != NULL)
		memset(colon + 1, 'x', (size_t)(at - colon - 1));
	/* ?password=... as ClickHouse takes it too */
	for (char *p = strchr(auth, '?'); p != NULL; p = strchr(p + 1, '&'))
		if (strncmp(p + 1, "password=", 9) == 0)
			memset(p + 10, 'x', strcspn(p + 10, "&"));
}

/*
 * --clickhouse: the URL read now (@FILE before privileges are dropped),
 * checked now, so that a typo stops us here and not in the log.
 */
static void
fleet_setup(struct options *op)
{
	static char host[256];
	char err[512];
	struct ch *c;

	if ((op->ch.url = ch_url_load(op->ch_arg, err, sizeof(err))) == NULL)
		errx(2, "--clickhouse: %s", err);
	if (op->ch_arg[0] != '@' && ch_url_has_password(op->ch_arg)) {
		hide_password(op->ch_arg);
		warnx("--clickhouse: a password on the command line shows in "
		    "ps; put the URL in a file only this user may read and "
		    "give --clickhouse @FILE");
	}
	if ((c = ch_open(op->ch.url, err, sizeof(err))) == NULL)
		errx(2, "--clickhouse: %s", err);
	ch_close(c);
	if (op->ch.gateway == NULL) {
		if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
			errx(2, "no host name to name this gateway by: give "
			    "--gateway NAME");
		op->ch.gateway = host;
	}
	op->ch.dbpath = op->dbpath;
}

/*
 * --send: what a database's outbox holds goes to ClickHouse, all of it;
 * for a file rotated away with flows not yet sent, or one whose run ended
 * with ClickHouse away. Exit 0 when nothing is left waiting.
 */
static int
send_waiting(const struct ch_sender_opts *o)
{
	struct ch_sender_stats st = { 0, 0, 0, 0 };
	struct stat sb;
	char err[512];

	/* else the database's failure would read as ClickHouse's */
	if (stat(o->dbpath, &sb) != 0) {
		warn("%s", o->dbpath);
		return 1;
	}
	if (ch_send_outbox(o, 0, &st, err, sizeof(err)) != 0) {
		warnx("ClickHouse: %s: %llu %s sent, %llu wait in %s", err,
		    (unsigned long long)st.sent,
		    st.sent == 1 ? "flow" : "flows",
		    (unsigned long long)st.waiting, o->dbpath);
		return 1;
	}
	fprintf(stderr, "udpflowd: %llu %s sent to ClickHouse from %s\n",
	    (unsigned long long)st.sent, st.sent == 1 ? "flow" : "flows",
	    o->dbpath);
	return 0;
}

static void
parse_args(int argc, char *argv[], struct options *op)
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
		{ "clickhouse",	required_argument,	NULL, OPT_CLICKHOUSE },
		{ "gateway",	required_argument,	NULL, OPT_GATEWAY },
		{ "clickhouse-spool", required_argument, NULL, OPT_CH_SPOOL },
		{ "send",	no_argument,		NULL, OPT_SEND },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	opterr = 0;		/* said below, with what was meant */
	while ((ch = getopt_long(argc, argv, ":r:d:qhVi:FZ:P:f:B:", longopts,
	    NULL)) != -1)
		if (!common_option(ch, op) && !live_option(ch, &op->lo)) {
			char msg[512];
			suggest_message(argv[optind - 1], optopt, ch == ':',
			    longopts, msg, sizeof(msg));
			errx(2, "%s (udpflowd --help lists every option)", msg);
		}
	if (optind != argc) {
		warnx("unexpected argument: %s", argv[optind]);
		usage(stderr, 2);
	}
	if (op->oo.ninputs > 0 && op->lo.nifaces > 0)
		errx(2, "-r reads captures, -i captures live: choose one");
	if (op->send && (op->oo.ninputs > 0 || op->lo.nifaces > 0))
		errx(2, "--send sends what waits in a database: without -r "
		    "or -i (they send as they write)");
	if (op->send && op->ch_arg == NULL)
		errx(2, "--send: add --clickhouse URL, where to send");
	if (!op->send && op->oo.ninputs == 0 && op->lo.nifaces == 0) {
		warnx("nothing to read: give a capture with -r or an interface "
		    "with -i");
		usage(stderr, 2);
	}
	if (op->dbpath == NULL || *op->dbpath == '\0')
		errx(2, "no database: give one with -d or set UDPFLOWS_DB");
	if (op->ch_arg != NULL)
		fleet_setup(op);
	else if (op->ch_given)
		errx(2, "--gateway and --clickhouse-spool are the fleet "
		    "store's: add --clickhouse URL");
}

int
main(int argc, char *argv[])
{
	static struct options op = {
		.lo = {
			.buffer_mb = 32,
			.flush_us = 2 * 1000000LL,
			.stats_us = 60 * 1000000LL,
			.max_flows = 1000000,
		},
		.ex = {
			.udp_us = 60 * 1000000LL,
			.tcp_us = 300 * 1000000LL,
			.closed_us = 10 * 1000000LL,
		},
	};

	(void)hugemem_heap_init();
	op.dbpath = getenv("UDPFLOWS_DB");
	op.ch.spool_max = 1000000;
	parse_args(argc, argv, &op);
	op.lo.ch = op.oo.ch = op.ch;
	if (op.send)
		return send_waiting(&op.ch);
	if (op.lo.nifaces > 0) {
		op.lo.ex = op.ex;
		op.lo.dbpath = op.dbpath;
		return live_run(&op.lo);
	}
	op.oo.ex = op.ex;
	op.oo.dbpath = op.dbpath;
	return offline_run(&op.oo);
}
