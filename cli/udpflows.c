/*
 * udpflows: what happened to which flows, from the database udpflowd wrote.
 * Exit status like grep: 0 something matched, 1 nothing did, 2 trouble.
 */
#include <arpa/inet.h>
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>

#include "config.h"
#include "cli/icmp_text.h"
#include "cli/timearg.h"
#include "store/flow_json.h"
#include "store/flowstate.h"
#include "store/store.h"

enum { OPT_SINCE = 256, OPT_UNTIL, OPT_REFUSED, OPT_UNREACHABLE, OPT_ALL,
    OPT_HOST, OPT_PORT, OPT_JSON };

static void
usage(FILE *to, int status)
{
	fprintf(to,
	    "usage: udpflows [-d DATABASE] [--refused | --unreachable | --all]\n"
	    "                [--host ADDR] [--port N] [--since TIME] [--until TIME]\n"
	    "                [--json]\n"
	    "\n"
	    "  -d DATABASE     the database udpflowd wrote (default: $UDPFLOWS_DB)\n"
	    "  --refused       flows that got port unreachable (or RST to SYN)\n"
	    "  --unreachable   flows that got any destination unreachable\n"
	    "  --all           every flow (the default)\n"
	    "  --host ADDR     flows with ADDR on either side\n"
	    "  --port N        flows with port N on either side\n"
	    "  --since TIME    flows active at or after TIME\n"
	    "  --until TIME    flows that began at or before TIME\n"
	    "                  TIME: ISO 8601 (2026-11-21T18:00Z) or back from\n"
	    "                  now: 90s, 15m, 2h, 3d, 1w\n"
	    "  --json          one JSON object a line\n"
	    "\n"
	    "Exit status: 0 when a flow matched, 1 when none did, 2 on error.\n");
	exit(status);
}

struct table {
	char	**cells;
	size_t	  nrows, cap;
};

#define NCOLS 7
static const char *const headers[NCOLS] = {
	"STATE", "PROTO", "SOURCE", "DESTINATION", "SENT", "BACK", "FIRST (UTC)",
};

struct output {
	int		json;
	size_t		matched;
	struct table	t;
	char		**why;		/* errors line of each row */
};

static char *
xstrdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		err(2, "out of memory");
	return d;
}

static void
endpoint(char *buf, size_t len, uint8_t family, const uint8_t *addr,
    int has_port, uint16_t port)
{
	char a[64];

	addr_text(family, addr, a, sizeof(a));
	if (!has_port)
		snprintf(buf, len, "%s", a);
	else if (family == 6)
		snprintf(buf, len, "[%s]:%u", a, port);
	else
		snprintf(buf, len, "%s:%u", a, port);
}

/* "port unreachable x3 from 198.18.1.2 (the destination)" and so on. */
static char *
errors_text(const struct store_flow *f)
{
	char buf[1024];
	size_t len = 0;

	buf[0] = '\0';
	if (f->nerrors == 0 && f->state == STATE_REFUSED && f->proto == 6)
		return xstrdup("the destination answered the SYN with a reset "
		    "(RST)");
	for (size_t i = 0; i < f->nerrors && len < sizeof(buf); i++) {
		const struct store_error *e = &f->errors[i];
		char rep[64], mtu[32] = "";
		int is_dst = memcmp(e->reporter, f->dst,
		    f->family == 6 ? 16 : 4) == 0;

		addr_text(e->family, e->reporter, rep, sizeof(rep));
		if (e->has_mtu)
			snprintf(mtu, sizeof(mtu), " (MTU %u)", e->mtu);
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
		    "%s%s%s x%u from %s %s", i ? "; " : "",
		    icmp_error_text(e->family, e->type, e->code), mtu,
		    e->count, is_dst ? "the destination" : "router", rep);
	}
	return xstrdup(buf);
}

static int
add_row(const struct store_flow *f, struct output *o)
{
	char src[80], dst[80], sent[48], back[48], first[40], pbuf[8];
	const char *state = flow_state_name(f->state);

	if (o->t.nrows == o->t.cap) {
		size_t ncap = o->t.cap ? o->t.cap * 2 : 64;
		char **nc = realloc(o->t.cells, ncap * NCOLS * sizeof(*nc));
		char **nw = realloc(o->why, ncap * sizeof(*nw));
		if (nc == NULL || nw == NULL)
			err(2, "out of memory");
		o->t.cells = nc;
		o->why = nw;
		o->t.cap = ncap;
	}
	endpoint(src, sizeof(src), f->family, f->src, f->has_ports, f->sport);
	endpoint(dst, sizeof(dst), f->family, f->dst, f->has_ports, f->dport);
	snprintf(sent, sizeof(sent), "%llu", (unsigned long long)f->pkts_sent);
	snprintf(back, sizeof(back), "%llu", (unsigned long long)f->pkts_back);
	time_iso(f->first_us, first, sizeof(first));
	first[10] = ' ';
	first[19] = '\0';		/* seconds are enough in a table */

	char **row = &o->t.cells[o->t.nrows * NCOLS];
	row[0] = xstrdup(state ? state : "?");
	row[1] = xstrdup(proto_name(f->proto, pbuf, sizeof(pbuf)));
	row[2] = xstrdup(src);
	row[3] = xstrdup(dst);
	row[4] = xstrdup(sent);
	row[5] = xstrdup(back);
	row[6] = xstrdup(first);
	o->why[o->t.nrows] = errors_text(f);
	o->t.nrows++;
	return 0;
}

static int
on_flow(const struct store_flow *f, void *arg)
{
	struct output *o = arg;

	o->matched++;
	if (!o->json)
		return add_row(f, o);

	json_t *j = flow_json(f);
	if (j == NULL)
		errx(2, "out of memory");
	if (json_dumpf(j, stdout, JSON_COMPACT) != 0 || putchar('\n') == EOF)
		err(2, "stdout");
	json_decref(j);
	return 0;
}

static void
print_table(struct output *o)
{
	size_t w[NCOLS];

	for (int c = 0; c < NCOLS; c++)
		w[c] = strlen(headers[c]);
	for (size_t r = 0; r < o->t.nrows; r++)
		for (int c = 0; c < NCOLS; c++) {
			size_t n = strlen(o->t.cells[r * NCOLS + c]);
			if (n > w[c])
				w[c] = n;
		}
	for (int c = 0; c < NCOLS - 1; c++)
		printf("%-*s  ", (int)w[c], headers[c]);
	printf("%s\n", headers[NCOLS - 1]);
	for (size_t r = 0; r < o->t.nrows; r++) {
		char **row = &o->t.cells[r * NCOLS];
		for (int c = 0; c < NCOLS; c++) {
			/* counts right-aligned, text left-aligned */
			int right = c == 4 || c == 5;
			if (c == NCOLS - 1)
				printf("%s\n", row[c]);
			else
				printf("%*s  ", right ? (int)w[c] : -(int)w[c],
				    row[c]);
			free(row[c]);
		}
		if (o->why[r][0] != '\0')
			printf("%*s%s\n", (int)(w[0] + 2), "", o->why[r]);
		free(o->why[r]);
	}
	free(o->t.cells);
	free(o->why);
}

/* Address for --host: IPv4 or IPv6, as inet_pton reads it. */
static size_t
parse_host(const char *s, uint8_t out[16])
{
	if (inet_pton(AF_INET, s, out) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, out) == 1)
		return 16;
	errx(2, "--host %s: not an IPv4 or IPv6 address", s);
}

static int64_t
parse_time(const char *opt, const char *s)
{
	int64_t us;

	if (timearg_parse(s, &us) != 0)
		errx(2, "%s %s: not a time (ISO 8601 like 2026-11-21T18:00Z, "
		    "or 90s, 15m, 2h, 3d)", opt, s);
	return us;
}

static int
parse_port(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 0 || v > 65535)
		errx(2, "--port %s: not a port number (0-65535)", s);
	return (int)v;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "database",	required_argument,	NULL, 'd' },
		{ "refused",	no_argument,		NULL, OPT_REFUSED },
		{ "unreachable", no_argument,		NULL, OPT_UNREACHABLE },
		{ "all",	no_argument,		NULL, OPT_ALL },
		{ "host",	required_argument,	NULL, OPT_HOST },
		{ "port",	required_argument,	NULL, OPT_PORT },
		{ "since",	required_argument,	NULL, OPT_SINCE },
		{ "until",	required_argument,	NULL, OPT_UNTIL },
		{ "json",	no_argument,		NULL, OPT_JSON },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static const uint8_t refused[] = { STATE_REFUSED };
	/* Every "destination unreachable" outcome, ICMPv6 too big included. */
	static const uint8_t unreachable[] = {
		STATE_REFUSED, STATE_HOST_UNREACH, STATE_NET_UNREACH,
		STATE_PROTO_UNREACH, STATE_PROHIBITED, STATE_FRAG_NEEDED,
		STATE_UNREACHABLE,
	};
	struct store_query q = { .port = -1 };
	struct output o;
	const char *dbpath = getenv("UDPFLOWS_DB");
	uint8_t host[16];
	char errbuf[512];
	int ch;

	memset(&o, 0, sizeof(o));
	while ((ch = getopt_long(argc, argv, "d:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dbpath = optarg;
			break;
		case OPT_REFUSED:
			q.states = refused;
			q.nstates = sizeof(refused);
			break;
		case OPT_UNREACHABLE:
			q.states = unreachable;
			q.nstates = sizeof(unreachable);
			break;
		case OPT_ALL:
			q.states = NULL;
			q.nstates = 0;
			break;
		case OPT_HOST:
			q.hostlen = parse_host(optarg, host);
			q.host = host;
			break;
		case OPT_PORT:
			q.port = parse_port(optarg);
			break;
		case OPT_SINCE:
			q.since_us = parse_time("--since", optarg);
			q.has_since = 1;
			break;
		case OPT_UNTIL:
			q.until_us = parse_time("--until", optarg);
			q.has_until = 1;
			break;
		case OPT_JSON:
			o.json = 1;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		case 'V':
			printf("udpflows %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr, 2);
		}
	}
	if (optind != argc) {
		warnx("unexpected argument: %s", argv[optind]);
		usage(stderr, 2);
	}
	if (dbpath == NULL || *dbpath == '\0')
		errx(2, "no database: give one with -d or set UDPFLOWS_DB");

	struct store *db = store_open(dbpath, STORE_READ, errbuf,
	    sizeof(errbuf));
	if (db == NULL)
		errx(2, "%s", errbuf);
	if (store_query_flows(db, &q, on_flow, &o) != 0) {
		warnx("%s", store_errmsg(db));
		store_close(db);
		return 2;
	}
	store_close(db);
	if (!o.json && o.matched > 0)
		print_table(&o);
	if (fflush(stdout) != 0)
		err(2, "stdout");
	return o.matched > 0 ? 0 : 1;
}
