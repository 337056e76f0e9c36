/*
 * udpflows: what happened to which flows, from the database udpflowd wrote.
 * Exit status like grep: 0 something matched, 1 nothing did, 2 trouble.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <unistd.h>

#include "config.h"

#include <jansson.h>

#include "cli/addr.h"
#include "cli/clock.h"
#include "cli/explain.h"
#include "cli/flowvec.h"
#include "cli/render.h"
#include "cli/service.h"
#include "cli/summary.h"
#include "cli/timearg.h"
#include "cli/timeline.h"
#include "common/encap.h"
#include "common/flow_json.h"
#include "common/suggest.h"
#include "common/text.h"
#include "common/flowstate.h"
#include "store/clickhouse.h"
#include "store/store.h"

#define SUMMARY_TOP	20
/*
 * How long a fleet query may take: reading many gateways' flows FINAL
 * outlasts the sender's 10 s bound; clickhouse-client waits 300 s.
 */
#define QUERY_TIMEOUT_MS	300000L

enum {
	OPT_REFUSED = 256, OPT_UNREACHABLE, OPT_SILENT, OPT_ANSWERED,
	OPT_STATE, OPT_ALL, OPT_HOST, OPT_SRC, OPT_DST, OPT_NET, OPT_PORT,
	OPT_PROTO, OPT_REPORTER, OPT_SINCE, OPT_UNTIL, OPT_LIMIT, OPT_SORT,
	OPT_JSON, OPT_CSV, OPT_COLOR, OPT_SUMMARY, OPT_EXPLAIN, OPT_TIMELINE,
	OPT_BUCKET, OPT_STATS, OPT_UTC, OPT_CLICKHOUSE, OPT_GATEWAY, OPT_INIT,
	OPT_TIMEOUT,
};

enum view { V_TABLE, V_JSON, V_CSV, V_SUMMARY, V_EXPLAIN, V_TIMELINE };

static void
usage(FILE *to, int status)
{
	fprintf(to,
"usage: udpflows [-d DATABASE | --clickhouse URL] [SELECTORS] [FILTERS]\n"
"                [OUTPUT]\n"
"       udpflows --clickhouse URL --init\n"
"\n"
"Selectors (several add up; the default is --all):\n"
"  --refused           port unreachable, or a RST to the SYN\n"
"  --unreachable       any destination unreachable (refused, host, net,\n"
"                      protocol, prohibited, fragmentation needed)\n"
"  --silent            nothing came back and no ICMP\n"
"  --answered          answered, no error\n"
"  --state NAME[,NAME] refused, host-unreachable, net-unreachable,\n"
"                      proto-unreachable, prohibited, frag-needed,\n"
"                      ttl-exceeded, unreachable, param-problem, answered,\n"
"                      silent\n"
"  --all               every flow\n"
"Filters:\n"
"  --host ADDR         either side     --src ADDR    --dst ADDR\n"
"  --net CIDR          either side in the net (198.18.0.0/15, 2001:db8::/32)\n"
"  --port PORTS        either side: 53, 53,123, 1000-2000, domain, http\n"
"  --proto PROTO       udp, tcp, icmp, icmp6, gre, a number, or a service\n"
"                      (dns, ntp...)\n"
"  --reporter ADDR     flows with an ICMP error sent by ADDR\n"
"  --since TIME        active at or after TIME\n"
"  --until TIME        begun at or before TIME\n"
"                      TIME: 2026-11-21 18:00 (the local zone, or with Z or\n"
"                      +01:00), 18:00 (the last one), today, yesterday\n"
"                      [18:00], now, or back from now: 90s, 15m, 2h, 3d, 1w\n"
"  --limit N           at most N flows (with --summary: N destinations)\n"
"  --sort KEY          first (oldest first), last (newest first), packets,\n"
"                      errors (most first)\n"
"Output (default: a table):\n"
"  --json              one JSON object a line       --csv   with a header\n"
"  --summary           per destination: flows and clients in trouble, who\n"
"                      reported it (the destination or a router)\n"
"  --explain           a paragraph a flow, in plain words\n"
"  --timeline          ICMP errors, resets and silent flows over time\n"
"  --bucket SPAN       the timeline's bucket (90s, 1m, 1h); default: chosen\n"
"  --stats             udpflowd's latest statistics of each run\n"
"  --color[=WHEN]      auto (default), always, never; NO_COLOR is honoured\n"
"  --utc               times in UTC (default: the local zone, TZ); JSON and\n"
"                      CSV are always UTC\n"
"  -n, --numeric       port numbers without service names\n"
"  -d DATABASE         the database udpflowd wrote (default: $UDPFLOWS_DB)\n"
"Fleet (the flows of every gateway udpflowd --clickhouse sends from):\n"
"  --clickhouse URL    ask ClickHouse, e.g. http://host:8123/?database=\n"
"                      udpflows; @FILE reads the URL from a file\n"
"  --gateway NAME      only that gateway's flows; with several gateways,\n"
"                      outputs say whose each flow is\n"
"  --init              create the database and tables (store/clickhouse.sql)\n"
"  --timeout SPAN      how long a query may take (default 5m, as\n"
"                      clickhouse-client waits; 30s, 10m)\n"
"\n"
"Exit status: 0 when a flow matched, 1 when none did, 2 on error.\n");
	exit(status);
}

struct opts {
	struct store_query	q;
	struct addr_range	host, src, dst, net, reporter;
	uint8_t			states[STATE_MAX];
	size_t			nstates;
	int			json, csv, summary, explain, timeline, stats;
	enum view		view;		/* resolved from the flags */
	int			color;		/* -1 auto */
	int64_t			bucket_us;
	int64_t			limit;
	int			utc;		/* --utc */
	const char		*since, *until;
	const char		*clickhouse;	/* --clickhouse URL */
	const char		*gateway;	/* --gateway */
	int			 init;		/* --init */
	int64_t			 timeout_us;	/* --timeout; 0: the default */
	int			 dbpath_given;	/* -d */
};

static void
add_state(struct opts *o, int state)
{
	for (size_t i = 0; i < o->nstates; i++)
		if (o->states[i] == state)
			return;
	o->states[o->nstates++] = (uint8_t)state;
}

static void
add_states(struct opts *o, const char *list)
{
	char *copy = strdup(list), *save = NULL;

	if (copy == NULL)
		err(2, "out of memory");
	for (char *t = strtok_r(copy, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		int s = flow_state_parse(t);
		if (s == 0)
			errx(2, "--state %s: no such state (see --help)", t);
		add_state(o, s);
	}
	free(copy);
	if (o->nstates == 0)
		errx(2, "--state: give at least one state");
}

static void
parse_addr(struct addr_range *r, const char *opt, const char *arg,
    int allow_prefix)
{
	if (addr_range_parse(arg, allow_prefix, r) != 0)
		errx(2, "%s %.100s: not %s", opt, arg, allow_prefix ?
		    "an address or a CIDR net (198.18.0.0/15)" :
		    "an IPv4 or IPv6 address");
}

static void
addr_filter(struct store_addr_filter *f, struct addr_range *r, const char *opt,
    const char *arg, int allow_prefix)
{
	parse_addr(r, opt, arg, allow_prefix);
	f->lo = r->lo;
	f->hi = r->hi;
	f->len = r->len;
}

static int64_t
parse_time(const char *opt, const char *s, int utc)
{
	struct timeval tv;
	int64_t us;

	gettimeofday(&tv, NULL);
	if (timearg_parse_at(s, (int64_t)tv.tv_sec * 1000000 + tv.tv_usec,
	    utc, &us) != 0)
		errx(2, "%s %.100s: not a time (2026-11-21 18:00, 18:00, "
		    "yesterday 18:00, today, 90s, 15m, 2h ago, 3d)", opt, s);
	return us;
}

static long long
parse_number(const char *opt, const char *s, long long lo, long long hi)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < lo || v > hi)
		errx(2, "%s %.100s: not a number from %lld to %lld", opt, s,
		    lo, hi);
	return v;
}

/* A port: a number, or a service's name (/etc/services, "dns"). */
static uint16_t
port_of(const char *opt, const char *s, size_t n)
{
	char buf[64];
	int p;

	if (n == 0 || n >= sizeof(buf))
		errx(2, "%s: an empty or overlong port in the list", opt);
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (buf[0] >= '0' && buf[0] <= '9')
		return (uint16_t)parse_number(opt, buf, 0, 65535);
	if ((p = service_port(buf)) < 0)
		errx(2, "%s %.64s: not a port number or a service name "
		    "(/etc/services)", opt, buf);
	return (uint16_t)p;
}

/* "53", "53,123", "1000-2000", "http,https": any of them, either side. */
static void
parse_ports(struct store_query *q, const char *opt, const char *s)
{
	for (const char *p = s;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		const char *dash = memchr(p, '-', n);
		struct store_port_range r;
		if (q->nports == STORE_MAX_PORTS)
			errx(2, "%s: at most %d ports or ranges", opt,
			    STORE_MAX_PORTS);
		if (dash != NULL && dash != p && p[0] >= '0' && p[0] <= '9') {
			r.lo = port_of(opt, p, (size_t)(dash - p));
			r.hi = port_of(opt, dash + 1, n - (size_t)(dash - p) - 1);
			if (r.lo > r.hi)
				errx(2, "%s %.64s: a range from high to low",
				    opt, s);
		} else
			r.lo = r.hi = port_of(opt, p, n);
		q->ports[q->nports++] = r;
		if (comma == NULL)
			return;
		p = comma + 1;
	}
}

/*
 * An IP protocol by name or number; a service's name ("dns") selects its
 * port, as people say "the DNS flows".
 */
static void
parse_proto(struct store_query *q, const char *s)
{
	if (strcmp(s, "icmp6") == 0 || strcmp(s, "ipv6-icmp") == 0) {
		q->proto = 58;
		return;
	}
	for (int p = 0; p < 255; p++) {
		char buf[8];
		if (strcmp(s, proto_name((uint8_t)p, buf, sizeof(buf))) == 0) {
			q->proto = p;
			return;
		}
	}
	if (s[0] < '0' || s[0] > '9') {
		int port = service_port(s);
		if (port < 0)
			errx(2, "--proto %.64s: not an IP protocol (udp, tcp, "
			    "icmp, icmp6, gre, a number) nor a service name",
			    s);
		parse_ports(q, "--proto", s);
		return;
	}
	q->proto = (int)parse_number("--proto", s, 0, 255);
}

static enum store_sort
parse_sort(const char *s)
{
	if (strcmp(s, "first") == 0)
		return SORT_FIRST;
	if (strcmp(s, "last") == 0)
		return SORT_LAST;
	if (strcmp(s, "packets") == 0)
		return SORT_PACKETS;
	if (strcmp(s, "errors") == 0)
		return SORT_ERRORS;
	errx(2, "--sort %.100s: first, last, packets or errors", s);
}

static const struct option longopts[] = {
	{ "database",	required_argument,	NULL, 'd' },
	{ "numeric",	no_argument,		NULL, 'n' },
	{ "refused",	no_argument,		NULL, OPT_REFUSED },
	{ "unreachable", no_argument,		NULL, OPT_UNREACHABLE },
	{ "silent",	no_argument,		NULL, OPT_SILENT },
	{ "answered",	no_argument,		NULL, OPT_ANSWERED },
	{ "state",	required_argument,	NULL, OPT_STATE },
	{ "all",	no_argument,		NULL, OPT_ALL },
	{ "host",	required_argument,	NULL, OPT_HOST },
	{ "src",	required_argument,	NULL, OPT_SRC },
	{ "dst",	required_argument,	NULL, OPT_DST },
	{ "net",	required_argument,	NULL, OPT_NET },
	{ "port",	required_argument,	NULL, OPT_PORT },
	{ "proto",	required_argument,	NULL, OPT_PROTO },
	{ "reporter",	required_argument,	NULL, OPT_REPORTER },
	{ "since",	required_argument,	NULL, OPT_SINCE },
	{ "until",	required_argument,	NULL, OPT_UNTIL },
	{ "limit",	required_argument,	NULL, OPT_LIMIT },
	{ "sort",	required_argument,	NULL, OPT_SORT },
	{ "json",	no_argument,		NULL, OPT_JSON },
	{ "csv",	no_argument,		NULL, OPT_CSV },
	{ "color",	optional_argument,	NULL, OPT_COLOR },
	{ "colour",	optional_argument,	NULL, OPT_COLOR },
	{ "summary",	no_argument,		NULL, OPT_SUMMARY },
	{ "explain",	no_argument,		NULL, OPT_EXPLAIN },
	{ "timeline",	no_argument,		NULL, OPT_TIMELINE },
	{ "bucket",	required_argument,	NULL, OPT_BUCKET },
	{ "stats",	no_argument,		NULL, OPT_STATS },
	{ "utc",	no_argument,		NULL, OPT_UTC },
	{ "clickhouse",	required_argument,	NULL, OPT_CLICKHOUSE },
	{ "gateway",	required_argument,	NULL, OPT_GATEWAY },
	{ "init",	no_argument,		NULL, OPT_INIT },
	{ "timeout",	required_argument,	NULL, OPT_TIMEOUT },
	{ "help",	no_argument,		NULL, 'h' },
	{ "version",	no_argument,		NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* An option that selects flows; 0 when ch is none. */
static int
select_option(int ch, struct opts *o)
{
	struct store_query *q = &o->q;

	switch (ch) {
	case OPT_REFUSED:
		add_state(o, STATE_REFUSED);
		break;
	case OPT_UNREACHABLE:
		for (int s = STATE_REFUSED; s <= STATE_UNREACHABLE; s++)
			if (s != STATE_TTL_EXCEEDED)
				add_state(o, s);
		break;
	case OPT_SILENT:
		add_state(o, STATE_SILENT);
		break;
	case OPT_ANSWERED:
		add_state(o, STATE_ANSWERED);
		break;
	case OPT_STATE:
		add_states(o, optarg);
		break;
	case OPT_ALL:
		o->nstates = 0;
		break;
	case OPT_HOST:
		addr_filter(&q->host, &o->host, "--host", optarg, 0);
		break;
	case OPT_SRC:
		addr_filter(&q->src, &o->src, "--src", optarg, 0);
		break;
	case OPT_DST:
		addr_filter(&q->dst, &o->dst, "--dst", optarg, 0);
		break;
	case OPT_NET:
		addr_filter(&q->net, &o->net, "--net", optarg, 1);
		break;
	case OPT_REPORTER:
		parse_addr(&o->reporter, "--reporter", optarg, 0);
		q->reporter = o->reporter.lo;
		q->reporterlen = o->reporter.len;
		break;
	case OPT_PORT:
		parse_ports(q, "--port", optarg);
		break;
	case OPT_PROTO:
		parse_proto(q, optarg);
		break;
	case OPT_SINCE:		/* parsed once --utc is known */
		o->since = optarg;
		break;
	case OPT_UNTIL:
		o->until = optarg;
		break;
	case OPT_LIMIT:
		o->limit = parse_number("--limit", optarg, 1, INT64_MAX);
		break;
	case OPT_SORT:
		q->sort = parse_sort(optarg);
		break;
	default:
		return 0;
	}
	return 1;
}

/* An option that chooses the output; 0 when ch is none. */
static int
output_option(int ch, struct opts *o)
{
	switch (ch) {
	case OPT_JSON:
		o->json = 1;
		break;
	case OPT_CSV:
		o->csv = 1;
		break;
	case OPT_SUMMARY:
		o->summary = 1;
		break;
	case OPT_EXPLAIN:
		o->explain = 1;
		break;
	case OPT_TIMELINE:
		o->timeline = 1;
		break;
	case OPT_STATS:
		o->stats = 1;
		break;
	case OPT_UTC:
		o->utc = 1;
		break;
	case OPT_BUCKET:
		if (duration_parse(optarg, &o->bucket_us) != 0 ||
		    o->bucket_us == 0)
			errx(2, "--bucket %.100s: not a span (90s, 1m, "
			    "1h, 1d)", optarg);
		break;
	case OPT_COLOR:
		if (optarg == NULL || strcmp(optarg, "always") == 0)
			o->color = 1;
		else if (strcmp(optarg, "never") == 0)
			o->color = 0;
		else if (strcmp(optarg, "auto") == 0)
			o->color = -1;
		else
			errx(2, "--color=%.100s: auto, always or never",
			    optarg);
		break;
	default:
		return 0;
	}
	return 1;
}

static void
parse_args(int argc, char *argv[], struct opts *o, const char **dbpath)
{
	struct store_query *q = &o->q;
	int ch;

	opterr = 0;		/* said below, with what was meant */
	while ((ch = getopt_long(argc, argv, ":d:nhV", longopts, NULL)) != -1) {
		if (select_option(ch, o) || output_option(ch, o))
			continue;
		switch (ch) {
		case 'd':
			*dbpath = optarg;
			o->dbpath_given = 1;
			break;
		case OPT_CLICKHOUSE:
			o->clickhouse = optarg;
			break;
		case OPT_GATEWAY:
			o->gateway = optarg;
			break;
		case OPT_INIT:
			o->init = 1;
			break;
		case OPT_TIMEOUT:
			if (duration_parse(optarg, &o->timeout_us) != 0 ||
			    o->timeout_us < 1000)
				errx(2, "--timeout %.100s: not a span (30s, 5m)",
				    optarg);
			break;
		case 'n':
			service_numeric(1);
			break;
		case 'h':
			usage(stdout, 0);
			break;
		case 'V':
			printf("udpflows %s\n", PACKAGE_VERSION);
			exit(0);
		default: {
			char msg[512];
			suggest_message(argv[optind - 1], optopt, ch == ':',
			    longopts, msg, sizeof(msg));
			errx(2, "%s (udpflows --help lists every option)", msg);
		}
		}
	}
	if (optind != argc) {
		warnx("unexpected argument: %s", argv[optind]);
		usage(stderr, 2);
	}
	/* One view; --json also goes with --summary and --timeline. */
	if (o->csv + o->summary + o->explain + o->timeline > 1 ||
	    (o->json && (o->csv || o->explain)))
		errx(2, "choose one output: --json, --csv, --summary, --explain "
		    "or --timeline (--summary and --timeline may go with "
		    "--json)");
	if (o->bucket_us != 0 && !o->timeline)
		errx(2, "--bucket is the timeline's: add --timeline");
	if (o->clickhouse == NULL &&
	    (o->gateway != NULL || o->init || o->timeout_us != 0))
		errx(2, "%s is the fleet store's: add --clickhouse URL",
		    o->init ? "--init" : o->gateway ? "--gateway" : "--timeout");
	if (o->clickhouse != NULL && o->dbpath_given)
		errx(2, "-d reads a gateway's database, --clickhouse the fleet "
		    "store: choose one");
	if (o->clickhouse != NULL && o->stats)
		errx(2, "--stats reads a gateway's database: give -d, not "
		    "--clickhouse");
	clock_use_utc(o->utc);
	if ((q->has_since = o->since != NULL))
		q->since_us = parse_time("--since", o->since, o->utc);
	if ((q->has_until = o->until != NULL))
		q->until_us = parse_time("--until", o->until, o->utc);
	o->view = o->summary ? V_SUMMARY : o->explain ? V_EXPLAIN :
	    o->timeline ? V_TIMELINE : o->json ? V_JSON : o->csv ? V_CSV :
	    V_TABLE;
	q->states = o->nstates ? o->states : NULL;
	q->nstates = o->nstates;
}

static size_t
terminal_width(void)
{
	struct winsize ws;
	const char *cols = getenv("COLUMNS");

	if (cols != NULL && atoi(cols) > 0)
		return (size_t)atoi(cols);
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
	    ws.ws_col > 0)
		return ws.ws_col;
	return 0;
}

static int
want_color(int setting)
{
	const char *no = getenv("NO_COLOR"), *term = getenv("TERM");

	if (setting >= 0)
		return setting;
	return isatty(STDOUT_FILENO) && (no == NULL || *no == '\0') &&
	    (term == NULL || strcmp(term, "dumb") != 0);
}

/* "malformed_by_reason" and "undecoded_by_reason" objects into o. */
static void
reasons_json(json_t *o, const char *why, size_t whylen,
    const uint64_t *why_count, size_t nwhy, const char *skip, size_t skiplen,
    const uint64_t *skip_count, size_t nskip)
{
	json_t *m = json_object(), *u = json_object();

	for (size_t i = 0; i < nwhy; i++)
		json_object_set_new(m, why + i * whylen,
		    json_integer((json_int_t)why_count[i]));
	for (size_t i = 0; i < nskip; i++)
		json_object_set_new(u, skip + i * skiplen,
		    json_integer((json_int_t)skip_count[i]));
	json_object_set_new(o, "malformed_by_reason", m);
	json_object_set_new(o, "undecoded_by_reason", u);
}

static int
on_stats(const struct store_stats_row *r, void *arg)
{
	int json = *(int *)arg;
	char started[40], at[40];
	const char *const names[] = { "packets", "decoded", "malformed",
	    "undecoded", "tunneled", "duplicates", "kernel_drops",
	    "flows_active", "flows_written", "flows_evicted", "errors_matched",
	    "errors_unseen", "write_failures", "errors_capped" };
	const uint64_t v[] = { r->s.packets, r->s.decoded, r->s.malformed,
	    r->s.undecoded, r->s.tunneled, r->s.duplicates, r->s.kernel_drops,
	    r->s.flows_active, r->s.flows_written, r->s.flows_evicted,
	    r->s.errors_matched, r->s.errors_unseen, r->s.write_failures,
	    r->s.errors_capped };

	time_iso(r->started_us, started, sizeof(started));
	time_iso(r->at_us, at, sizeof(at));
	if (json) {
		json_t *o = json_object();
		json_object_set_new(o, "run", json_integer(r->run_id));
		json_object_set_new(o, "mode", json_string(r->mode ? r->mode :
		    ""));
		json_object_set_new(o, "started", json_string(started));
		json_object_set_new(o, "at", json_string(at));
		json_object_set_new(o, "running", json_boolean(r->running));
		for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
			json_object_set_new(o, names[i],
			    json_integer((json_int_t)v[i]));
		reasons_json(o, r->why[0], sizeof(r->why[0]), r->why_count,
		    r->nwhy, r->skip[0], sizeof(r->skip[0]), r->skip_count,
		    r->nskip);
		if (json_line_write(o, stdout) != 0)
			err(2, "stdout");
		json_decref(o);
		return 0;
	}
	char zone[16];
	clock_datetime(r->started_us, started, sizeof(started));
	clock_datetime(r->at_us, at, sizeof(at));
	clock_zone(r->at_us, zone, sizeof(zone));
	printf("run %lld (%s), started %s, %s; as of %s %s:\n",
	    (long long)r->run_id, r->mode ? r->mode : "?", started,
	    r->running ? "running or killed" : "ended", at, zone);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		printf("  %-16s %llu\n", names[i], (unsigned long long)v[i]);
		for (size_t j = 0; i == 2 && j < r->nwhy; j++)
			printf("    %-24s %llu\n", r->why[j],
			    (unsigned long long)r->why_count[j]);
		for (size_t j = 0; i == 3 && j < r->nskip; j++)
			printf("    %-24s %llu\n", r->skip[j],
			    (unsigned long long)r->skip_count[j]);
	}
	return 0;
}

/* An offline run: its inputs, counts and reasons, and its time span. */
static int
on_run(const struct store_run_row *r, void *arg)
{
	int json = *(int *)arg;
	char started[40], first[40], last[40];
	const char *const names[] = { "packets", "decoded", "malformed",
	    "undecoded", "tunneled", "flows", "errors_matched",
	    "errors_unseen" };
	const uint64_t v[] = { r->s.packets, r->s.decoded, r->s.malformed,
	    r->s.undecoded, r->s.tunneled, r->s.flows, r->s.errors_matched,
	    r->s.errors_unseen };

	time_iso(r->started_us, started, sizeof(started));
	time_iso(r->first_us, first, sizeof(first));
	time_iso(r->last_us, last, sizeof(last));
	if (json) {
		json_t *o = json_object(), *in = json_array();
		json_object_set_new(o, "run", json_integer(r->run_id));
		json_object_set_new(o, "mode", json_string(r->mode ? r->mode :
		    ""));
		json_object_set_new(o, "started", json_string(started));
		for (size_t i = 0; i < r->ninputs; i++) {
			json_t *x = json_object();
			json_object_set_new(x, "name", json_string(r->inputs[i]));
			json_object_set_new(x, "packets",
			    json_integer((json_int_t)r->input_packets[i]));
			json_array_append_new(in, x);
		}
		json_object_set_new(o, "inputs", in);
		json_object_set_new(o, "first", r->has_span ?
		    json_string(first) : json_null());
		json_object_set_new(o, "last", r->has_span ?
		    json_string(last) : json_null());
		for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
			json_object_set_new(o, names[i],
			    json_integer((json_int_t)v[i]));
		reasons_json(o, r->why[0], sizeof(r->why[0]), r->why_count,
		    r->nwhy, r->skip[0], sizeof(r->skip[0]), r->skip_count,
		    r->nskip);
		if (json_line_write(o, stdout) != 0)
			err(2, "stdout");
		json_decref(o);
		return 0;
	}
	char zone[16];
	clock_datetime(r->started_us, started, sizeof(started));
	clock_zone(r->started_us, zone, sizeof(zone));
	printf("run %lld (%s), %s %s:", (long long)r->run_id,
	    r->mode ? r->mode : "?", started, zone);
	for (size_t i = 0; i < r->ninputs; i++)
		printf("%s %s (%llu packets)", i ? "," : "", r->inputs[i],
		    (unsigned long long)r->input_packets[i]);
	if (r->more_inputs > 0)
		printf(" and %zu more", r->more_inputs);
	if (r->has_span) {
		clock_datetime(r->first_us, first, sizeof(first));
		clock_datetime(r->last_us, last, sizeof(last));
		clock_zone(r->first_us, zone, sizeof(zone));
		printf("; flows from %s to %s %s", first, last, zone);
	}
	printf("\n");
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		printf("  %-16s %llu\n", names[i], (unsigned long long)v[i]);
		for (size_t j = 0; i == 2 && j < r->nwhy; j++)
			printf("    %-24s %llu\n", r->why[j],
			    (unsigned long long)r->why_count[j]);
		for (size_t j = 0; i == 3 && j < r->nskip; j++)
			printf("    %-24s %llu\n", r->skip[j],
			    (unsigned long long)r->skip_count[j]);
	}
	return 0;
}

/*
 * Where the flows are: a gateway's database, or the fleet store. The few
 * questions the outputs ask beyond the flows go to whichever it is.
 */
struct source {
	struct store	*db;
	struct ch	*ch;
	const char	*gateway;	/* --gateway: the fleet store's filter */
};

static const char *
source_err(const struct source *src)
{
	return src->ch ? ch_errmsg(src->ch) : store_errmsg(src->db);
}

/*
 * A time filter that emptied the answer: say when the data is, so that
 * "--since 2h" on an old capture does not look like a quiet network.
 */
static int
say_span(const struct source *src)
{
	int any;
	int64_t oldest, newest;
	char a[32], b[32], zone[16];
	const char *what = src->ch ? "the fleet store's" : "the database's";
	struct timeval tv;

	if ((src->ch ? ch_flow_span(src->ch, src->gateway, &any, &oldest,
	    &newest) : store_flow_span(src->db, &any, &oldest, &newest)) != 0)
		return -1;
	if (!any) {
		warnx("no flow in that time: %s holds none at all",
		    src->ch ? "the fleet store" : "the database");
		return 0;
	}
	gettimeofday(&tv, NULL);
	int64_t ago = (int64_t)tv.tv_sec - newest / 1000000;
	clock_datetime(oldest, a, sizeof(a));
	clock_datetime(newest, b, sizeof(b));
	clock_zone(newest, zone, sizeof(zone));
	if (ago >= 2 * 86400)
		warnx("no flow in that time: %s flows were active from %s to "
		    "%s %s, the newest %lld days ago", what, a, b, zone,
		    (long long)(ago / 86400));
	else if (ago >= 2 * 3600)
		warnx("no flow in that time: %s flows were active from %s to "
		    "%s %s, the newest %lld hours ago", what, a, b, zone,
		    (long long)(ago / 3600));
	else
		warnx("no flow in that time: %s flows were active from %s to "
		    "%s %s", what, a, b, zone);
	return 0;
}

/* For --explain: what the store knows around each flow. */
struct around {
	struct explain_ctx	x;
	struct error_record	errs[8];
};

struct sink {
	enum view	view;
	size_t		matched;
	int		fleet;		/* rows of the fleet store */
	struct flowvec	fv;
	struct around	*around;	/* --explain: one a flow */
};

static int
tunnel_carried(const struct source *src, const struct flow_record *f,
    uint64_t *n)
{
	return src->ch ? ch_tunnel_carried(src->ch, f->gateway, f, n) :
	    store_tunnel_carried(src->db, f, n);
}

static int
tunnel_errors(const struct source *src, const struct flow_record *f,
    const struct encap_layer *l, struct error_record *out, size_t max,
    size_t *n)
{
	return src->ch ? ch_tunnel_errors(src->ch, f->gateway, l, f->first_us,
	    f->last_us, out, max, n) : store_tunnel_errors(src->db, l,
	    f->first_us, f->last_us, out, max, n);
}

/*
 * A tunnel's own flow: how many flows it carried. A carried flow: the
 * first of its tunnels, outermost first, that drew errors. From a
 * gateway's database also whether its capture was blind to ICMP (the
 * fleet store holds flows, not runs).
 */
static int
explain_around(const struct source *src, struct sink *k)
{
	if (k->fv.n == 0)
		return 0;
	if ((k->around = calloc(k->fv.n, sizeof(*k->around))) == NULL)
		err(2, "out of memory");
	int64_t run = -1;
	int several = flowvec_gateways(&k->fv) > 1;
	struct store_families fam = { 0, 0, 0, 0 };
	for (size_t i = 0; i < k->fv.n; i++) {
		const struct flow_record *f = &k->fv.v[i];
		struct around *a = &k->around[i];
		uint64_t n;
		a->x.carried = -1;
		a->x.tunnel_errors = a->errs;
		a->x.gateway = several ? f->gateway : NULL;
		/* flows come a run at a time, mostly: read each run once */
		if (src->db != NULL && f->run_id != run) {
			if (store_run_families(src->db, f->run_id, &fam) != 0)
				return -1;
			run = f->run_id;
		}
		a->x.icmp_blind = f->family == 6 ?
		    fam.ip6 > 0 && fam.icmp6 == 0 :
		    fam.ip4 > 0 && fam.icmp4 == 0;
		if (f->encap == NULL)
			continue;
		if (f->encap->tunnel != ENCAP_NONE) {
			if (tunnel_carried(src, f, &n) != 0)
				return -1;
			a->x.carried = (long long)n;
		}
		for (int j = 0; j < f->encap->n && a->x.ntunnel_errors == 0;
		    j++) {
			const struct encap_layer *l = &f->encap->layer[j];
			if (l->family == 0)
				continue;
			if (tunnel_errors(src, f, l, a->errs,
			    sizeof(a->errs) / sizeof(a->errs[0]),
			    &a->x.ntunnel_errors) != 0)
				return -1;
			a->x.tunnel = l;
		}
	}
	return 0;
}

static int
on_flow(const struct flow_record *f, void *arg)
{
	struct sink *k = arg;

	k->matched++;
	switch (k->view) {
	case V_JSON:
		render_json(f);
		break;
	case V_CSV:
		if (k->matched == 1)
			render_csv_header(k->fleet);
		render_csv(f);
		break;
	default:
		flowvec_push(&k->fv, f);
	}
	return 0;
}

static int
on_fleet_flow(const struct flow_record *f, const char *gateway, void *arg)
{
	(void)gateway;		/* f->gateway too */
	return on_flow(f, arg);
}

/* --init: the fleet store's database and tables. */
static int
fleet_init(struct ch *ch)
{
	char note[256];

	if (ch_init(ch, note, sizeof(note)) != 0) {
		warnx("%s", ch_errmsg(ch));
		return 2;
	}
	printf("ClickHouse at %s: the tables flows and gone are ready\n",
	    ch_where(ch));
	if (note[0] != '\0')
		printf("(%s)\n", note);
	return 0;
}

/* The flows, and what the view needs around them; 0, or 2 said. */
static int
read_flows(const struct source *src, struct opts *o, struct sink *k)
{
	int rc = src->ch ? ch_query_flows(src->ch, &o->q, src->gateway,
	    on_fleet_flow, k) : store_query_flows(src->db, &o->q, on_flow, k);

	if (rc != 0 || (o->view == V_EXPLAIN && explain_around(src, k) != 0) ||
	    (k->matched == 0 && (o->q.has_since || o->q.has_until) &&
	    say_span(src) != 0)) {
		warnx("%s", source_err(src));
		return 2;
	}
	return 0;
}

/* --stats: each run's latest statistics, from a gateway's database. */
static int
show_stats(struct store *db, int json)
{
	int rc = store_query_stats(db, on_stats, &json);

	if (rc == 0)
		rc = store_query_runs(db, on_run, &json);
	if (rc != 0)
		warnx("%s", store_errmsg(db));
	return rc != 0 ? 2 : 0;
}

int
main(int argc, char *argv[])
{
	struct opts o;
	struct sink k;
	struct source src = { NULL, NULL, NULL };
	const char *dbpath = getenv("UDPFLOWS_DB");
	char errbuf[512];
	int rc;

	memset(&o, 0, sizeof(o));
	memset(&k, 0, sizeof(k));
	o.q.proto = -1;
	o.color = -1;
	parse_args(argc, argv, &o, &dbpath);
	if (o.clickhouse == NULL && (dbpath == NULL || *dbpath == '\0'))
		errx(2, "no database: give one with -d or set UDPFLOWS_DB");
	/* --limit counts destinations in a summary, flows otherwise */
	if (o.view != V_SUMMARY)
		o.q.limit = o.limit;
	k.view = o.view;

	if (o.clickhouse != NULL) {
		if ((src.ch = ch_open(o.clickhouse, errbuf, sizeof(errbuf))) ==
		    NULL)
			errx(2, "--clickhouse: %s", errbuf);
		ch_set_timeout(src.ch, o.timeout_us != 0 ?
		    (long)(o.timeout_us / 1000) : QUERY_TIMEOUT_MS);
		src.gateway = o.gateway;
		k.fleet = 1;
		rc = o.init ? fleet_init(src.ch) : read_flows(&src, &o, &k);
		ch_close(src.ch);
		if (o.init || rc != 0)
			return rc;
	} else {
		if ((src.db = store_open(dbpath, STORE_READ, errbuf,
		    sizeof(errbuf))) == NULL)
			errx(2, "%s", errbuf);
		rc = o.stats ? show_stats(src.db, o.json) :
		    read_flows(&src, &o, &k);
		store_close(src.db);
		if (o.stats || rc != 0)
			return rc;
	}

	struct render_opts ro = { want_color(o.color), terminal_width() };
	switch (o.view) {
	case V_TABLE:
		if (k.matched > 0)
			render_table(&k.fv, &ro);
		break;
	case V_SUMMARY:
		summary_print(&k.fv, o.limit > 0 ? (size_t)o.limit :
		    SUMMARY_TOP, o.json);
		break;
	case V_EXPLAIN:
		for (size_t i = 0; i < k.fv.n; i++)
			explain_flow(stdout, &k.fv.v[i], &k.around[i].x,
			    ro.width ? ro.width : 80);
		break;
	case V_TIMELINE:
		if (timeline_print(&k.fv, o.bucket_us, ro.width ? ro.width :
		    80, o.json) != 0)
			errx(2, "--bucket: too many rows for the span of these "
			    "flows; choose a larger bucket");
		break;
	default:
		break;
	}
	flowvec_free(&k.fv);
	free(k.around);
	if (fflush(stdout) != 0)
		err(2, "stdout");
	return k.matched > 0 ? 0 : 1;
}
