/* Flow keys, the flow table, the fragment map, states and time arguments. */
#include <string.h>

#include "cli/timearg.h"
#include "daemon/flow_table.h"
#include "daemon/frag_table.h"
#include "store/flowstate.h"
#include "tests/unit/tap.h"

static struct tuple
tuple4(const uint8_t s[4], uint16_t sp, const uint8_t d[4], uint16_t dp)
{
	struct tuple t;

	memset(&t, 0, sizeof(t));
	t.family = 4;
	t.proto = PROTO_UDP;
	t.has_ports = 1;
	memcpy(t.src, s, 4);
	memcpy(t.dst, d, 4);
	t.sport = sp;
	t.dport = dp;
	return t;
}

static void
test_keys(void)
{
	static const uint8_t a[4] = { 198, 18, 0, 2 }, b[4] = { 198, 18, 1, 2 };
	struct tuple fwd = tuple4(a, 40000, b, 53), rev = tuple4(b, 53, a, 40000);
	struct flow_key k1, k2;
	int from1, from2;

	flow_key_make(&fwd, &k1, &from1);
	flow_key_make(&rev, &k2, &from2);
	ok(memcmp(&k1, &k2, sizeof(k1)) == 0, "both directions share a key");
	ok(from1 != from2, "and tell the directions apart");

	/* loopback: same address, only the ports differ */
	struct tuple l1 = tuple4(a, 5000, a, 6000), l2 = tuple4(a, 6000, a, 5000);
	flow_key_make(&l1, &k1, &from1);
	flow_key_make(&l2, &k2, &from2);
	ok(memcmp(&k1, &k2, sizeof(k1)) == 0 && from1 != from2,
	    "equal addresses: ordered by port");
}

static void
test_table(void)
{
	struct flow_table *ft = flow_table_new();
	static const uint8_t a[4] = { 198, 18, 0, 2 };
	uint8_t b[4] = { 198, 18, 1, 0 };
	struct flow_key k;
	int from, created, all_new = 1, all_found = 1;

	ok(ft != NULL, "table created");
	/* enough flows to grow the table several times */
	for (int i = 0; i < 20000; i++) {
		b[2] = (uint8_t)(i >> 8);
		b[3] = (uint8_t)i;
		struct tuple t = tuple4(a, (uint16_t)(1000 + i % 7), b, 53);
		flow_key_make(&t, &k, &from);
		struct flow *f = flow_table_get(ft, &k, from, &created);
		all_new &= f != NULL && created;
		if (f != NULL)
			f->pkts[0] = (uint64_t)i;
	}
	ok(all_new, "20000 distinct flows are created");
	is_int(flow_table_count(ft), 20000, "and counted");
	for (int i = 0; i < 20000; i++) {
		b[2] = (uint8_t)(i >> 8);
		b[3] = (uint8_t)i;
		struct tuple t = tuple4(b, 53, a, (uint16_t)(1000 + i % 7));
		flow_key_make(&t, &k, &from);
		struct flow *f = flow_table_get(ft, &k, from, &created);
		all_found &= f != NULL && !created && f->pkts[0] == (uint64_t)i;
	}
	ok(all_found, "each is found again from the other direction");

	/* remove every other flow; the rest must still be found */
	int removed_gone = 1, kept_found = 1;
	for (int i = 0; i < 20000; i += 2) {
		b[2] = (uint8_t)(i >> 8);
		b[3] = (uint8_t)i;
		struct tuple t = tuple4(a, (uint16_t)(1000 + i % 7), b, 53);
		flow_key_make(&t, &k, &from);
		flow_table_remove(ft, flow_table_get(ft, &k, from, &created));
	}
	is_int(flow_table_count(ft), 10000, "half removed");
	for (int i = 0; i < 20000; i++) {
		b[2] = (uint8_t)(i >> 8);
		b[3] = (uint8_t)i;
		struct tuple t = tuple4(a, (uint16_t)(1000 + i % 7), b, 53);
		flow_key_make(&t, &k, &from);
		struct flow *f = flow_table_get(ft, &k, from, &created);
		if (i % 2 == 0) {
			removed_gone &= created;
			flow_table_remove(ft, f);
		} else {
			kept_found &= !created && f->pkts[0] == (uint64_t)i;
		}
	}
	ok(removed_gone, "removed flows are gone");
	ok(kept_found, "the others are found after the shifts");

	b[2] = 0; b[3] = 0;
	struct tuple t = tuple4(a, 1000, b, 53);
	flow_key_make(&t, &k, &from);
	struct flow *f = flow_table_get(ft, &k, from, &created);
	uint8_t *rep;
	struct store_error occ = { .family = 4, .type = 3, .code = 3,
	    .reporter = { 198, 18, 0, 1 }, .count = 1, .rtt_us = -1 };
	rep = occ.reporter;
	for (int i = 0; i < 3; i++) {
		occ.first_us = occ.last_us = 100 + i;
		/* the second was matched to its packet, 500 us before */
		occ.matched = i == 1;
		occ.rtt_us = i == 1 ? 500 : -1;
		occ.sent_ttl = i == 1 ? 64 : 0;
		occ.quoted_ttl = 63;
		flow_error_add(ft, f, &occ);
	}
	occ.matched = 0;
	occ.rtt_us = -1;
	rep[3] = 9;
	occ.code = 1;
	occ.first_us = occ.last_us = 50;
	flow_error_add(ft, f, &occ);
	const struct flow_error *e = flow_error_first(ft, f);
	ok(e != NULL && e->e.count == 3 && e->e.first_us == 100 &&
	    e->e.last_us == 102,
	    "errors aggregate per type, code and reporter");
	ok(e != NULL && e->e.matched == 1 && e->e.rtt_us == 500 &&
	    e->e.sent_ttl == 64, "an aggregate keeps the matched packet's round trip and TTL");
	e = e ? flow_error_next(ft, e) : NULL;
	ok(e != NULL && e->e.code == 1 && e->e.count == 1 &&
	    flow_error_next(ft, e) == NULL, "another reporter is its own record");

	/* a flood from forged reporters: the flow keeps FLOW_MAX_ERRORS */
	int capped = 0;
	for (int i = 0; i < 1000; i++) {
		rep[2] = (uint8_t)(i >> 8);
		rep[3] = (uint8_t)i;
		occ.first_us = occ.last_us = 200;
		capped += flow_error_add(ft, f, &occ) == 1;
	}
	size_t kept = 0;
	for (e = flow_error_first(ft, f); e != NULL; e = flow_error_next(ft, e))
		kept++;
	is_int(kept, FLOW_MAX_ERRORS, "a flow keeps at most FLOW_MAX_ERRORS error records");
	ok(capped > 900, "the rest are refused and counted by the caller");
	flow_table_free(ft);
}

static void
test_frags(void)
{
	static struct frag_table fr;
	static const uint8_t a[4] = { 198, 18, 0, 2 }, b[4] = { 198, 18, 1, 2 };
	struct tuple first = tuple4(a, 40000, b, 7), later = first, out;

	later.has_ports = 0;
	later.sport = later.dport = 0;
	frag_table_add(&fr, &first, 77);
	ok(frag_table_find(&fr, &later, 77, &out) && out.sport == 40000,
	    "a later fragment finds the ports of its first");
	ok(!frag_table_find(&fr, &later, 78, &out), "another ID does not");
	later.proto = PROTO_TCP;
	ok(!frag_table_find(&fr, &later, 77, &out), "another protocol does not");
}

static void
test_states(void)
{
	is_int(icmp_error_state(4, 3, 3), STATE_REFUSED, "3/3 refused");
	is_int(icmp_error_state(6, 1, 4), STATE_REFUSED, "ICMPv6 1/4 refused");
	is_int(icmp_error_state(4, 3, 13), STATE_PROHIBITED, "3/13 prohibited");
	is_int(icmp_error_state(6, 2, 0), STATE_FRAG_NEEDED, "too big");
	is_int(icmp_error_state(4, 3, 99), STATE_UNREACHABLE, "unknown code");
	for (int s = 1; s <= STATE_MAX; s++)
		is_int(flow_state_parse(flow_state_name(s)), s,
		    "state %s round-trips", flow_state_name(s));
	is_int(flow_state_parse("bogus"), 0, "unknown state name");
}

static void
test_timeargs(void)
{
	int64_t t;

	ok(timearg_parse("2026-11-21T18:01:25.866581Z", &t) == 0 &&
	    t == 1795284085866581LL, "ISO 8601 with microseconds");
	ok(timearg_parse("2026-11-21 19:01:25+01:00", &t) == 0 &&
	    t == 1795284085000000LL, "ISO 8601 with an offset");
	ok(timearg_parse("2026-11-21", &t) == 0 && t == 1795219200000000LL,
	    "a date alone is its midnight UTC");
	int64_t a, b;
	ok(timearg_parse("2h", &a) == 0 && timearg_parse("120m", &b) == 0 &&
	    a - b < 1000000 && b - a < 1000000, "2h is 120m");
	ok(timearg_parse("2x", &t) != 0, "unknown unit refused");
	ok(timearg_parse("2026-13-01", &t) != 0, "month 13 refused");
	ok(timearg_parse("'; DROP TABLE flows; --", &t) != 0, "garbage refused");
}

int
main(void)
{
	test_keys();
	test_table();
	test_frags();
	test_states();
	test_timeargs();
	return tap_done();
}
