/*
 * json_contract DB < NDJSON: parse udpflows --json output with jansson and
 * compare every field with the flows read from the store directly, in the
 * same order (--sort first). Checks names, types and values of the
 * contract without going through the code that printed it.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>

#include "cli/timearg.h"
#include "common/encap.h"
#include "common/flowstate.h"
#include "store/store.h"

static const char *const flow_keys[] = { "proto", "src", "sport", "dst",
    "dport", "first", "last", "pkts_sent", "bytes_sent", "pkts_back",
    "bytes_back", "state", "pkts_errored", "syn_retries", "syn_span_us",
    "end", "end_by", "rst_ttl", "dst_ttl", "rst_from", "tunnel", "encap",
    "errors" };
static const char *const error_keys[] = { "family", "type", "code",
    "reporter", "count", "first", "last", "mtu", "reporter_role", "hops",
    "rtt_us", "matched", "quote_altered" };
#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))

struct ctx {
	size_t	n, bad;
};

static int line_no;

static void
fail(const char *what)
{
	printf("flow %d: %s\n", line_no, what);
}

static int
same_keys(json_t *o, const char *const *keys, size_t n)
{
	const char *k;
	json_t *v;
	size_t i = 0;

	if (json_object_size(o) != n)
		return 0;
	json_object_foreach(o, k, v) {
		(void)v;
		if (i >= n || strcmp(k, keys[i++]) != 0)
			return 0;
	}
	return 1;
}

static int
same_addr(json_t *s, uint8_t family, const uint8_t *addr)
{
	uint8_t buf[16];
	const char *t = json_string_value(s);

	return t != NULL && inet_pton(family == 6 ? AF_INET6 : AF_INET, t,
	    buf) == 1 && memcmp(buf, addr, family == 6 ? 16 : 4) == 0;
}

static int
same_time(json_t *s, int64_t us)
{
	int64_t got;
	const char *t = json_string_value(s);

	return t != NULL && strlen(t) == 27 && timearg_parse(t, &got) == 0 &&
	    got == us;
}

static int
same_int(json_t *v, long long want)
{
	return json_is_integer(v) && json_integer_value(v) == want;
}

static int
proto_number(const char *s)
{
	if (s == NULL)
		return -1;
	if (strcmp(s, "udp") == 0) return 17;
	if (strcmp(s, "tcp") == 0) return 6;
	if (strcmp(s, "icmp") == 0) return 1;
	if (strcmp(s, "ipv6-icmp") == 0) return 58;
	if (strcmp(s, "gre") == 0) return 47;
	if (strcmp(s, "esp") == 0) return 50;
	if (strcmp(s, "ah") == 0) return 51;
	if (strcmp(s, "sctp") == 0) return 132;
	if (strcmp(s, "unknown") == 0) return 255;
	return atoi(s);
}

/* An integer equal to want when has, else null. */
static int
int_or_null(json_t *v, int has, long long want)
{
	return has ? same_int(v, want) : json_is_null(v);
}

static int
str_or_null(json_t *v, const char *want)
{
	if (want == NULL)
		return json_is_null(v);
	return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

static const char *
role_of(const struct flow_record *f, const struct error_record *e)
{
	size_t n = f->family == 6 ? 16 : 4;

	if (e->family == f->family && memcmp(e->reporter, f->dst, n) == 0)
		return "destination";
	if (e->family == f->family && memcmp(e->reporter, f->src, n) == 0)
		return "source";
	return "router";
}

static int
check_error(json_t *e, const struct flow_record *f, const struct error_record *se)
{
	const char *role = role_of(f, se);
	json_t *hops = json_object_get(e, "hops");

	return same_keys(e, error_keys, NKEYS(error_keys)) &&
	    str_or_null(json_object_get(e, "reporter_role"), role) &&
	    (strcmp(role, "router") == 0 && se->sent_ttl != 0 ?
	    json_is_integer(hops) && json_integer_value(hops) >= 1 &&
	    json_integer_value(hops) <= 255 : json_is_null(hops)) &&
	    int_or_null(json_object_get(e, "rtt_us"), se->rtt_us >= 0,
	    se->rtt_us) &&
	    same_int(json_object_get(e, "matched"), se->matched) &&
	    json_is_boolean(json_object_get(e, "quote_altered")) &&
	    json_is_true(json_object_get(e, "quote_altered")) ==
	    (se->altered > 0) &&
	    strcmp(json_string_value(json_object_get(e, "family")),
	    se->family == 6 ? "icmp6" : "icmp") == 0 &&
	    same_int(json_object_get(e, "type"), se->type) &&
	    same_int(json_object_get(e, "code"), se->code) &&
	    same_addr(json_object_get(e, "reporter"), se->family, se->reporter) &&
	    same_int(json_object_get(e, "count"), se->count) &&
	    same_time(json_object_get(e, "first"), se->first_us) &&
	    same_time(json_object_get(e, "last"), se->last_us) &&
	    (se->has_mtu ? same_int(json_object_get(e, "mtu"), se->mtu) :
	    json_is_null(json_object_get(e, "mtu")));
}

/* "tunnel" and "encap" against the record: kinds, ids, endpoints. */
static int
check_encap(json_t *o, const struct flow_record *f)
{
	const struct flow_encap *e = f->encap;
	json_t *tunnel = json_object_get(o, "tunnel");
	json_t *layers = json_object_get(o, "encap");

	if (e == NULL || e->tunnel == ENCAP_NONE ?
	    !json_is_null(tunnel) : !json_is_string(tunnel) ||
	    strcmp(json_string_value(tunnel), encap_kind_name(e->tunnel)) != 0)
		return 0;
	if (e == NULL || e->n == 0)
		return json_is_null(layers);
	if (!json_is_array(layers) || json_array_size(layers) != e->n)
		return 0;
	for (size_t i = 0; i < e->n; i++) {
		const struct encap_layer *l = &e->layer[i];
		json_t *lo = json_array_get(layers, i), *v;
		const char *k;
		size_t keys = 0, want = 1 + (l->family != 0) * 2;
		json_object_foreach(lo, k, v) {
			keys++;
			if (strcmp(k, "type") == 0) {
				if (!json_is_string(v) || strcmp(json_string_value(v),
				    encap_kind_name(l->kind)) != 0)
					return 0;
			} else if (strcmp(k, "src") == 0 || strcmp(k, "dst") == 0) {
				if (!same_addr(v, l->family, k[0] == 's' ? l->src :
				    l->dst))
					return 0;
			} else if (!l->has_id || !same_int(v, l->id))
				return 0;
		}
		if (keys != want + l->has_id)
			return 0;
	}
	return 1;
}

static int
check(const struct flow_record *f, void *arg)
{
	struct ctx *c = arg;
	char line[65536];
	json_error_t jerr;
	json_t *o, *errs;

	line_no++;
	c->n++;
	if (fgets(line, sizeof(line), stdin) == NULL) {
		fail("missing from the output");
		c->bad++;
		return 0;
	}
	if ((o = json_loads(line, 0, &jerr)) == NULL) {
		fail(jerr.text);
		c->bad++;
		return 0;
	}
	errs = json_object_get(o, "errors");
	static const char *const ends[] = { NULL, "open", "fin", "rst",
	    "timeout" };
	const char *rst_from = f->rst_ttl == 0 ? NULL : f->dst_ttl == 0 ?
	    "unknown" : f->rst_ttl == f->dst_ttl ? "destination" : "on-path";
	int syn = f->proto == 6 && f->syns > 0;
	int ok = same_keys(o, flow_keys, NKEYS(flow_keys)) &&
	    same_int(json_object_get(o, "pkts_errored"),
	    (long long)f->pkts_errored) &&
	    int_or_null(json_object_get(o, "syn_retries"), syn,
	    (long long)f->syns - 1) &&
	    int_or_null(json_object_get(o, "syn_span_us"), syn, f->syn_span_us) &&
	    f->end <= 4 && str_or_null(json_object_get(o, "end"), ends[f->end]) &&
	    str_or_null(json_object_get(o, "end_by"), f->end <= 1 ? NULL :
	    f->end_by ? "destination" : "source") &&
	    int_or_null(json_object_get(o, "rst_ttl"), f->rst_ttl, f->rst_ttl) &&
	    int_or_null(json_object_get(o, "dst_ttl"), f->dst_ttl, f->dst_ttl) &&
	    str_or_null(json_object_get(o, "rst_from"), rst_from) &&
	    proto_number(json_string_value(json_object_get(o, "proto"))) ==
	    f->proto &&
	    same_addr(json_object_get(o, "src"), f->family, f->src) &&
	    same_addr(json_object_get(o, "dst"), f->family, f->dst) &&
	    (f->has_ports ? same_int(json_object_get(o, "sport"), f->sport) &&
	    same_int(json_object_get(o, "dport"), f->dport) :
	    json_is_null(json_object_get(o, "sport")) &&
	    json_is_null(json_object_get(o, "dport"))) &&
	    same_time(json_object_get(o, "first"), f->first_us) &&
	    same_time(json_object_get(o, "last"), f->last_us) &&
	    same_int(json_object_get(o, "pkts_sent"), (long long)f->pkts_sent) &&
	    same_int(json_object_get(o, "bytes_sent"), (long long)f->bytes_sent) &&
	    same_int(json_object_get(o, "pkts_back"), (long long)f->pkts_back) &&
	    same_int(json_object_get(o, "bytes_back"), (long long)f->bytes_back) &&
	    json_string_value(json_object_get(o, "state")) != NULL &&
	    flow_state_parse(json_string_value(json_object_get(o, "state"))) ==
	    f->state &&
	    check_encap(o, f) &&
	    json_is_array(errs) && json_array_size(errs) == f->nerrors;
	for (size_t i = 0; ok && i < f->nerrors; i++)
		ok = check_error(json_array_get(errs, i), f, &f->errors[i]);
	if (!ok) {
		fail("differs from the store");
		c->bad++;
	}
	json_decref(o);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct store_query q = { .proto = -1, .sort = SORT_FIRST };
	struct ctx c = { 0, 0 };
	char err[512], extra[16];

	if (argc != 2) {
		fprintf(stderr, "usage: json_contract DB < udpflows-json\n");
		return 2;
	}
	struct store *s = store_open(argv[1], STORE_READ, err, sizeof(err));
	if (s == NULL) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (store_query_flows(s, &q, check, &c) != 0) {
		fprintf(stderr, "%s\n", store_errmsg(s));
		return 2;
	}
	store_close(s);
	if (fgets(extra, sizeof(extra), stdin) != NULL) {
		printf("more lines in the output than flows in the store\n");
		c.bad++;
	}
	printf("compared %zu flows, %zu differ\n", c.n, c.bad);
	return c.bad == 0 && c.n > 0 ? 0 : 1;
}
