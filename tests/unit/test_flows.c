/*
 * Flow keys, the flow table and its dirty log, the expiry wheel, the
 * fragment map, the sent-packet table, capture digests, states and time
 * arguments.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli/timearg.h"
#include "daemon/analyzer.h"
#include "daemon/capture_digest.h"
#include "daemon/expiry_wheel.h"
#include "daemon/export.h"
#include "daemon/flow_table.h"
#include "daemon/frag_table.h"
#include "daemon/hugemem.h"
#include "daemon/sent_table.h"
#include "common/flowstate.h"
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

	/* the key is written as words: every field where it belongs */
	fwd.src[9] = 0x55;		/* past an IPv4 address: ignored */
	flow_key_make(&fwd, &k1, &from1);
	static const uint8_t zero[12];
	ok(k1.pa == 40000 && k1.pb == 53 && k1.proto == PROTO_UDP &&
	    k1.family == 4 && k1.has_ports == 1 && k1.pad == 0 &&
	    memcmp(k1.a, a, 4) == 0 && memcmp(k1.b, b, 4) == 0,
	    "key fields: ports, protocol, family, addresses");
	ok(memcmp(k1.a + 4, zero, 12) == 0 && memcmp(k1.b + 4, zero, 12) == 0,
	    "an IPv4 key is zero past its addresses");

	/* side a is the address memcmp puts first, by either word */
	static const uint8_t lo[3][16] = {
		{ 0x20, 0x01, 0x0d, 0xb8, [15] = 0x02 },
		{ 0x20, 0x01, 0x0d, 0xb8, [8] = 0x7f, [15] = 0xff },
		{ 0x10, [7] = 0xff },
	}, hi[3][16] = {
		{ 0x20, 0x01, 0x0d, 0xb8, [15] = 0x03 },
		{ 0x20, 0x01, 0x0d, 0xb8, [8] = 0x80 },
		{ 0x11 },
	};
	int sides = 1;
	for (int i = 0; i < 3; i++)
		for (int dir = 0; dir < 2; dir++) {
			struct tuple t = fwd;
			t.family = 6;
			memcpy(t.src, dir ? hi[i] : lo[i], 16);
			memcpy(t.dst, dir ? lo[i] : hi[i], 16);
			flow_key_make(&t, &k1, &from1);
			if (memcmp(k1.a, lo[i], 16) != 0 || from1 != !dir)
				sides = 0;
		}
	ok(sides, "IPv6: side a is the lower address, whichever word differs");

	/* the hash flow_key_make returns is the key's, both ways, v4 and v6 */
	int same = 1;
	for (int i = 0; i < 3; i++)
		for (int dir = 0; dir < 4; dir++) {
			struct tuple t = dir < 2 ? fwd : rev;
			if (dir & 1) {
				t.family = 6;
				memcpy(t.src, lo[i], 16);
				memcpy(t.dst, hi[i], 16);
			}
			t.has_ports = i != 1;
			if (flow_key_make(&t, &k1, &from1) != flow_key_hash(&k1))
				same = 0;
		}
	ok(same, "flow_key_make returns the key's flow_key_hash");
}

/* The key of test flow i (198.18.0.2:1000+i%7 -> 198.18.i.i:53), either way. */
static void
nth_key(int i, int from_server, struct flow_key *k, int *from)
{
	static const uint8_t a[4] = { 198, 18, 0, 2 };
	const uint8_t b[4] = { 198, 18, (uint8_t)(i >> 8), (uint8_t)i };
	struct tuple t = from_server ? tuple4(b, 53, a, (uint16_t)(1000 + i % 7)) :
	    tuple4(a, (uint16_t)(1000 + i % 7), b, 53);

	flow_key_make(&t, k, from);
}

static int
count_flow(struct flow *f, void *arg)
{
	(*(int *)arg) += f->hash != 0;
	return 0;
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
		nth_key(i, 0, &k, &from);
		struct flow *f = flow_table_get(ft, &k, from, &created);
		all_new &= f != NULL && created;
		if (f != NULL)
			f->pkts[0] = (uint64_t)i;
	}
	ok(all_new, "20000 distinct flows are created");
	is_int(flow_table_count(ft), 20000, "and counted");
	for (int i = 0; i < 20000; i++) {
		nth_key(i, 1, &k, &from);
		struct flow *f = flow_table_get(ft, &k, from, &created);
		all_found &= f != NULL && !created && f->pkts[0] == (uint64_t)i;
	}
	ok(all_found, "each is found again from the other direction");

	/* remove every other flow; the rest must still be found */
	int removed_gone = 1, kept_found = 1;
	for (int i = 0; i < 20000; i += 2) {
		nth_key(i, 0, &k, &from);
		flow_table_remove(ft, flow_table_get(ft, &k, from, &created));
	}
	is_int(flow_table_count(ft), 10000, "half removed");
	for (int i = 0; i < 20000; i++) {
		nth_key(i, 0, &k, &from);
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

	/* flows do not move: a pointer outlives the removal of others */
	nth_key(1, 0, &k, &from);
	struct flow *stay = flow_table_get(ft, &k, from, &created);
	for (int i = 3; i < 20000; i += 4) {
		nth_key(i, 0, &k, &from);
		flow_table_remove(ft, flow_table_get(ft, &k, from, &created));
	}
	nth_key(1, 0, &k, &from);
	ok(flow_table_find(ft, &k) == stay && stay->pkts[0] == 1,
	    "a flow stays where it is while 5000 others go");
	int visited = 0, odd_only = 1;
	flow_table_foreach(ft, count_flow, &visited);
	is_int(visited, 5000, "every flow left is visited once");
	for (int i = 0; i < 20000; i++) {
		nth_key(i, 0, &k, &from);
		struct flow *f = flow_table_find(ft, &k);
		odd_only &= (f != NULL) == (i % 4 == 1);
	}
	ok(odd_only, "and exactly those are found");
	/* numbers of removed flows are used again: no new chunk */
	for (int i = 0; i < 15000; i++) {
		nth_key(100000 + i, 0, &k, &from);
		flow_table_get(ft, &k, from, &created);
	}
	is_int(flow_table_count(ft), 20000, "20000 again");
	for (int i = 0; i < 15000; i++) {
		nth_key(100000 + i, 0, &k, &from);
		flow_table_remove(ft, flow_table_find(ft, &k));
	}

	b[2] = 0; b[3] = 0;
	struct tuple t = tuple4(a, 1000, b, 53);
	flow_key_make(&t, &k, &from);
	struct flow *f = flow_table_get(ft, &k, from, &created);
	uint8_t *rep;
	struct error_record occ = { .family = 4, .type = 3, .code = 3,
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

/* The flow hash the analyzer would give a tuple's flow. */
static uint64_t
flow_of(const struct tuple *t)
{
	struct flow_key k;
	int from;

	flow_key_make(t, &k, &from);
	return flow_key_hash(&k);
}

static void
test_sent(void)
{
	struct sent_table *st = sent_table_new();
	static const uint8_t c[4] = { 198, 18, 0, 2 }, c2[4] = { 198, 18, 0, 3 },
	    nat[4] = { 198, 18, 200, 1 }, s[4] = { 198, 18, 1, 2 };
	struct tuple t = tuple4(c, 40000, s, 53), q;
	struct sent_pkt p = { &t, 51, 1000, 0x00171234 }, qp;
	struct sent_hit hit;
	uint64_t ft = flow_of(&t);

	ok(st != NULL, "a sent table");
	sent_table_add(st, sent_table_key(&p), &p, ft, 1, 64, 1000000);
	qp = p;
	is_int(sent_table_match(st, &qp, ft, 1000500, 0, &hit), SENT_EXACT,
	    "a quote of a captured packet matches it");
	ok(hit.ts_us == 1000000 && hit.ttl == 64 && hit.first_error &&
	    hit.flow == (uint32_t)ft && hit.from_a && !hit.rewritten,
	    "with its time, TTL, flow and way, as the first error for it");
	sent_table_match(st, &qp, ft, 1000600, 0, &hit);
	ok(!hit.first_error, "a second error for the same packet is not first");
	is_int(sent_table_match(st, &qp, ft, 1000000 + SENT_WINDOW_US + 1, 0,
	    &hit), SENT_NONE, "beyond the window nothing matches");
	is_int(sent_table_match(st, &qp, ft, 999999, 0, &hit), SENT_NONE,
	    "an error before its packet matches nothing");
	qp.ip_id = 1001;
	is_int(sent_table_match(st, &qp, ft, 1000500, 1, &hit), SENT_NONE,
	    "another IP ID is another packet");

	/* NAT: the quote carries the outside source and another checksum. */
	q = tuple4(nat, 61000, s, 53);
	qp = (struct sent_pkt){ &q, 51, 1000, 0x00175678 };
	is_int(sent_table_match(st, &qp, flow_of(&q), 1000500, 0, &hit),
	    SENT_NONE, "a rewritten source is not taken when the quote names "
	    "a known flow");
	is_int(sent_table_match(st, &qp, flow_of(&q), 1000500, 1, &hit),
	    SENT_ALTERED, "a rewritten source matches the one packet like it");
	ok(hit.rewritten && hit.packet && hit.flow == (uint32_t)ft,
	    "naming the flow of the packet as captured");
	/* Linux restores address and port, not the UDP checksum. */
	qp = (struct sent_pkt){ &t, 51, 1000, 0x00175678 };
	is_int(sent_table_match(st, &qp, ft, 1000500, 0, &hit), SENT_ALTERED,
	    "a quote differing only in its checksum matches its packet");
	ok(!hit.rewritten, "and is not called rewritten");

	/* Two sources sent the same ID and length: ambiguous. */
	struct tuple t2 = tuple4(c2, 40000, s, 53);
	struct sent_pkt p2 = { &t2, 51, 1000, 0x00179999 };
	sent_table_add(st, sent_table_key(&p2), &p2, flow_of(&t2), 1, 64, 1000100);
	qp = (struct sent_pkt){ &q, 51, 1000, 0x00175678 };
	is_int(sent_table_match(st, &qp, flow_of(&q), 1000500, 1, &hit),
	    SENT_NONE, "two possible sources match neither");

	/* Identical packets: the newest not yet quoted. */
	struct tuple t6 = t;
	t6.sport = 45005;
	struct sent_pkt p6 = { &t6, 71, 0, 0x001f0001 };
	uint64_t f6 = flow_of(&t6);
	sent_table_add(st, sent_table_key(&p6), &p6, f6, 1, 64, 2000000);
	sent_table_add(st, sent_table_key(&p6), &p6, f6, 1, 64, 3000000);
	sent_table_match(st, &p6, f6, 3000050, 0, &hit);
	is_int(hit.ts_us, 3000000, "of identical packets, the newest before the error");
	sent_table_match(st, &p6, f6, 3000060, 0, &hit);
	is_int(hit.ts_us, 2000000, "then the newest not yet quoted");
	for (int i = 4; i <= 7; i++)
		sent_table_add(st, sent_table_key(&p6), &p6, f6, 1, 64, i * 1000000);
	is_int(sent_table_match(st, &p6, f6, 2000070, 0, &hit), SENT_NONE,
	    "four newer identical packets push the oldest out");
	sent_table_match(st, &p6, f6, 7000050, 0, &hit);
	is_int(hit.ts_us, 7000000, "and the newest is found");

	/* Slot times are 32-bit microseconds from an epoch that moves. */
	int64_t wrap = 1000000 + (1LL << 32);
	is_int(sent_table_match(st, &p, ft, wrap + 500, 0, &hit), SENT_NONE,
	    "a packet 2^32 microseconds before an error is not its packet");
	sent_table_add(st, sent_table_key(&p), &p, ft, 1, 60, 3 * wrap);
	is_int(sent_table_match(st, &p, ft, 3 * wrap + 500, 0, &hit),
	    SENT_EXACT, "hours later a packet is remembered as ever");
	ok(hit.ts_us == 3 * wrap && hit.ttl == 60 && hit.first_error,
	    "with its own time, TTL and no error before");
	sent_table_add(st, sent_table_key(&p), &p, ft, 1, 62, 1000000);
	is_int(sent_table_match(st, &p, ft, 1000500, 0, &hit), SENT_EXACT,
	    "time going back hours (another file) finds the packet then");
	ok(hit.ts_us == 1000000 && hit.ttl == 62 && hit.first_error,
	    "and not one of the later hours");
	is_int(sent_table_match(st, &p, ft, 3 * wrap + 600, 0, &hit),
	    SENT_NONE, "which were forgotten");
	sent_table_free(st);
}

static void
test_ends(void)
{
	is_int(error_hops(4, 3, 64, 61), 3, "hops: TTL 64 quoted as 61");
	is_int(error_hops(4, 3, 64, 64), 1, "hops: quoted before the decrement");
	is_int(error_hops(4, 11, 3, 1), 3, "hops: TTL 3 expired at hop 3");
	is_int(error_hops(6, 3, 5, 0), 5, "hops: hop limit 5 expired at hop 5");
	is_int(error_hops(4, 3, 0, 61), -1, "hops: unknown without the sent TTL");
	is_int(error_hops(4, 3, 60, 61), -1, "hops: a quoted TTL above the sent one");
	is_int(rst_origin(63, 63), RST_DESTINATION, "RST with the destination's TTL");
	is_int(rst_origin(64, 63), RST_ON_PATH, "RST with another TTL");
	is_int(rst_origin(64, 0), RST_UNKNOWN, "RST with nothing to compare");
	is_int(ttl_hops(57), 7, "TTL 57 is 7 hops from 64");
	is_int(ttl_hops(120), 8, "TTL 120 is 8 hops from 128");
	is_int(ttl_hops(250), 5, "TTL 250 is 5 hops from 255");
	ok(flow_end_name(END_NONE) == NULL && strcmp(flow_end_name(END_TIMEOUT),
	    "timeout") == 0, "end names");
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

	/* as journalctl users type them, at a known now (UTC) */
	const int64_t now = 1795219200000000LL + (23 * 3600) * 1000000LL;
	const int64_t day = 86400 * 1000000LL, mid = 1795219200000000LL;
	ok(timearg_parse_at("22:45", now, 1, &t) == 0 &&
	    t == mid + (22 * 3600 + 45 * 60) * 1000000LL,
	    "a time of day: today's, when it has passed");
	ok(timearg_parse_at("23:30:10", now, 1, &t) == 0 &&
	    t == mid - day + (23 * 3600 + 30 * 60 + 10) * 1000000LL,
	    "a time of day still to come: yesterday's");
	ok(timearg_parse_at("today", now, 1, &t) == 0 && t == mid,
	    "today: midnight");
	ok(timearg_parse_at("yesterday", now, 1, &t) == 0 && t == mid - day,
	    "yesterday: its midnight");
	ok(timearg_parse_at("yesterday 22:45", now, 1, &t) == 0 &&
	    t == mid - day + (22 * 3600 + 45 * 60) * 1000000LL,
	    "yesterday at a time of day");
	ok(timearg_parse_at("now", now, 1, &t) == 0 && t == now, "now");
	ok(timearg_parse_at("2h ago", now, 1, &a) == 0 &&
	    timearg_parse_at("-2h", now, 1, &b) == 0 &&
	    a == now - 7200000000LL && b == a, "2h ago and -2h: a span back");
	ok(timearg_parse_at("25:00", now, 1, &t) != 0 &&
	    timearg_parse_at("yesterday22:00", now, 1, &t) != 0 &&
	    timearg_parse_at("today 9", now, 1, &t) != 0,
	    "a bad time of day refused");
	/* without a zone, the local one unless UTC is asked for */
	setenv("TZ", "America/New_York", 1);
	tzset();
	ok(timearg_parse_at("2026-11-21 18:00", now, 0, &t) == 0 &&
	    t == mid + 23 * 3600 * 1000000LL,
	    "no zone: the local zone (18:00 in New York is 23:00 UTC)");
	ok(timearg_parse_at("2026-11-21 18:00", now, 1, &t) == 0 &&
	    t == mid + 18 * 3600 * 1000000LL, "no zone, UTC asked: UTC");
	ok(timearg_parse_at("2026-11-21 18:00Z", now, 0, &t) == 0 &&
	    t == mid + 18 * 3600 * 1000000LL, "a zone given wins");
	setenv("TZ", "UTC", 1);
	tzset();
}

/* The digest of n packets of 20..139 bytes (the fourth 131), one altered. */
static void
digest_of(char *out, char *v1, int legacy, int n, int swap, int alter_at,
    int alter_byte)
{
	struct capture_digest d;
	uint8_t pkt[140];

	capture_digest_init(&d, legacy);
	for (int i = 0; i < n; i++) {
		int k = swap && i == 1 ? 2 : swap && i == 2 ? 1 : i;
		uint32_t len = 20 + (uint32_t)(k * 37 % 120);
		for (size_t b = 0; b < sizeof(pkt); b++)
			pkt[b] = (uint8_t)(k * 131 + b * 7);
		if (k == alter_at)
			pkt[alter_byte] ^= 0x01;
		capture_digest_packet(&d, 1700000000000000ll + k * 1000, len,
		    len + 4, pkt);
	}
	capture_digest_hex(&d, out);
	capture_digest_v1_hex(&d, v1);
}

static void
test_digest(void)
{
	char a[CAPTURE_DIGEST_LEN + 1], b[CAPTURE_DIGEST_LEN + 1];
	char a1[CAPTURE_DIGEST_V1_LEN + 1], b1[CAPTURE_DIGEST_V1_LEN + 1];

	digest_of(a, a1, 0, 50, 0, -1, 0);
	digest_of(b, b1, 0, 50, 0, -1, 0);
	ok(strncmp(a, "v2:", 3) == 0 && strlen(a) == 35, "digest: v2: and 32 "
	    "hex digits (%s)", a);
	ok(strcmp(a, b) == 0, "digest: the same packets, the same digest");
	ok(a1[0] == '\0', "digest: no version 1 unless asked");
	digest_of(b, b1, 0, 50, 1, -1, 0);
	ok(strcmp(a, b) != 0, "digest: two packets swapped, another digest");
	digest_of(b, b1, 0, 49, 0, -1, 0);
	ok(strcmp(a, b) != 0, "digest: one packet fewer, another");
	int differs = 1;
	for (int byte = 0; byte < 64; byte++) {
		digest_of(b, b1, 0, 50, 0, 3, byte);
		if (strcmp(a, b) == 0)
			differs = 0;
	}
	ok(differs, "digest: a bit flipped in any of the first 64 bytes, "
	    "another digest");
	digest_of(b, b1, 0, 50, 0, 3, 100);
	ok(strcmp(a, b) == 0, "digest: bytes past the first 64 are not "
	    "part of it");
	/* both halves change, not one of them */
	digest_of(b, b1, 0, 50, 0, 3, 9);
	ok(strncmp(a + 3, b + 3, 16) != 0 && strcmp(a + 19, b + 19) != 0,
	    "digest: both halves change");
	digest_of(b, a1, 1, 50, 0, -1, 0);
	ok(strcmp(a, b) == 0, "digest: computing version 1 too leaves "
	    "version 2 as it was");
	digest_of(b, b1, 1, 50, 1, -1, 0);
	ok(strlen(a1) == 32 && strcmp(a1, b1) != 0, "digest: version 1 on "
	    "request, order-sensitive too");
}

/* The dirty log: each flow once, in the order it turned dirty. */
static void
test_dirty_log(void)
{
	struct flow_table *ft = flow_table_new();
	struct flow *const *v;
	struct flow *f[3];
	struct flow_key k;
	size_t n;
	int from, created;

	for (int i = 0; i < 3; i++) {
		nth_key(i, 0, &k, &from);
		f[i] = flow_table_get(ft, &k, from, &created);
	}
	flow_table_mark_dirty(ft, f[0]);
	ok(flow_table_dirty_log(ft, &v, &n) == 0 && n == 0 && f[0]->dirty,
	    "dirty log: off, a flow marked dirty is not logged");
	f[0]->dirty = 0;
	flow_table_dirty_log_start(ft);
	ok(flow_table_dirty_log(ft, &v, &n) == -1, "dirty log: started on a "
	    "table with flows, it says it may have missed some");
	flow_table_dirty_log_clear(ft);
	flow_table_mark_dirty(ft, f[2]);
	flow_table_mark_dirty(ft, f[0]);
	flow_table_mark_dirty(ft, f[2]);
	ok(flow_table_dirty_log(ft, &v, &n) == 0 && n == 2 && v[0] == f[2] &&
	    v[1] == f[0], "dirty log: each flow once, in the order marked");
	flow_table_dirty_log_clear(ft);
	f[2]->dirty = 0;
	flow_table_mark_dirty(ft, f[2]);
	ok(flow_table_dirty_log(ft, &v, &n) == 0 && n == 1 && v[0] == f[2],
	    "dirty log: cleared, a flow written and changed again is logged "
	    "again");
	flow_table_mark_dirty(ft, f[1]);
	f[0]->dirty = 0;
	flow_table_mark_dirty(ft, f[0]);
	flow_table_dirty_log_keep(ft, 1);
	ok(flow_table_dirty_log(ft, &v, &n) == 0 && n == 2 && v[0] == f[1] &&
	    v[1] == f[0], "dirty log: a flush that took the first keeps the "
	    "rest, in order");
	flow_table_dirty_log_keep(ft, 5);
	ok(flow_table_dirty_log(ft, &v, &n) == 0 && n == 0,
	    "dirty log: keeping from past the end clears it");
	flow_table_free(ft);
}

struct due_list {
	struct flow	*v[64];
	int		 n;
};

static void
due_collect(struct flow *f, void *arg)
{
	struct due_list *d = arg;

	if (d->n < 64)
		d->v[d->n++] = f;
}

/* Due at now_s: exactly the flows listed (NULL-terminated), in any order. */
static int
due_is(struct expiry_wheel *w, double now_s, struct flow *const *want)
{
	struct due_list d = { .n = 0 };
	int nwant = 0;

	if (expiry_wheel_due(w, (int64_t)(now_s * 1e6), due_collect, &d) != 0)
		return 0;
	for (; want[nwant] != NULL; nwant++) {
		int found = 0;
		for (int i = 0; i < d.n; i++)
			found |= d.v[i] == want[nwant];
		if (!found)
			return 0;
	}
	return d.n == nwant;
}

#define S(x)	((int64_t)((x) * 1e6))

static void
test_wheel_rules(void)
{
	struct flow_table *ft = flow_table_new();
	struct expiry_wheel *w = expiry_wheel_new(S(1000), S(1));
	struct flow *f[4], *none[] = { NULL };
	struct flow_key k;
	int from, created, r;

	/* the tests call the wheel once: ok() evaluates its condition twice */
	for (int i = 0; i < 4; i++) {
		nth_key(i, 0, &k, &from);
		f[i] = flow_table_get(ft, &k, from, &created);
	}
	expiry_wheel_file(w, f[0], S(1005.5));
	r = due_is(w, 1004.999, none);
	ok(r, "wheel: a flow is not handed out before the tick of its "
	    "deadline");
	r = due_is(w, 1005.0, (struct flow *[]){ f[0], NULL });
	ok(r && f[0]->expiry_tick == 0, "wheel: handed out in that tick, "
	    "unfiled (the caller decides by the exact time)");
	r = due_is(w, 1100, none);
	ok(r, "wheel: and only once");

	expiry_wheel_file(w, f[1], S(1110));
	expiry_wheel_file(w, f[1], S(1120));
	r = due_is(w, 1110, (struct flow *[]){ f[1], NULL });
	ok(r, "wheel: filed again later, it stays at the earlier tick "
	    "(refiled when looked at)");
	expiry_wheel_file(w, f[1], S(1130));
	expiry_wheel_file(w, f[1], S(1125));
	r = due_is(w, 1125, (struct flow *[]){ f[1], NULL });
	r = r && due_is(w, 1130, none);
	ok(r, "wheel: filed again earlier, it moves, and is not handed out "
	    "at the old tick");

	expiry_wheel_file(w, f[2], S(1140));
	flow_table_remove(ft, f[2]);
	r = due_is(w, 1140, none);
	ok(r, "wheel: a removed flow is not handed out");

	expiry_wheel_file(w, f[3], S(1150));
	r = expiry_wheel_file(w, f[0], S(1000)) == 0;
	r = r && due_is(w, 1140.5, (struct flow *[]){ f[0], NULL });
	ok(r, "wheel: a deadline already passed is handed out by the next "
	    "pass, also within the tick of the last");
	expiry_wheel_file(w, f[0], S(1141.7));
	r = due_is(w, 1141.5, (struct flow *[]){ f[0], NULL });
	expiry_wheel_file(w, f[0], S(1141.7));
	r = r && due_is(w, 1141.9, (struct flow *[]){ f[0], NULL });
	ok(r, "wheel: each pass within a tick looks at the flows due in it");
	r = expiry_wheel_due(w, S(1100), due_collect,
	    &(struct due_list){ .n = 0 });
	ok(r == -1, "wheel: the clock going back is reported");

	/* a round and more ahead: 4096 slots of a second */
	expiry_wheel_file(w, f[0], S(1141 + 5000));
	r = due_is(w, 1150, (struct flow *[]){ f[3], NULL });
	r = r && due_is(w, 1141 + 4096, none);
	r = r && due_is(w, 1141 + 4999, none);
	ok(r, "wheel: a deadline more than a round ahead waits for its "
	    "tick");
	r = due_is(w, 1141 + 5000, (struct flow *[]){ f[0], NULL });
	expiry_wheel_file(w, f[3], S(20000));
	r = r && due_is(w, 90000, (struct flow *[]){ f[3], NULL });
	ok(r, "wheel: a jump of more than a round hands out everything due");
	is_int(expiry_wheel_entries(w), 0, "wheel: no entry left behind");
	expiry_wheel_free(w);

	/* ticks of 2 s, times near the epoch: tick 0 is a real tick */
	w = expiry_wheel_new(0, S(2));
	expiry_wheel_file(w, f[0], S(0.5));
	r = due_is(w, 0.4, (struct flow *[]){ f[0], NULL });
	r = r && due_is(w, 1.9, none);
	ok(r, "wheel: a deadline in the first tick after the epoch is filed");
	expiry_wheel_free(w);
	flow_table_free(ft);
}

/* A tiny deterministic generator, so a failure can be replayed. */
static uint32_t
rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(*s >> 33);
}

struct sim_due {
	const struct expiry	*ex;
	struct expiry_wheel	*w;
	int64_t			 now;
	struct flow		**gone;
	size_t			 ngone;
};

static void
sim_due(struct flow *f, void *arg)
{
	struct sim_due *d = arg;
	int64_t idle = export_idle_timeout(d->ex, f);

	if (d->now - f->last_us > idle)
		d->gone[d->ngone++] = f;
	else
		expiry_wheel_file(d->w, f, f->last_us + idle);
}

struct sim_scan {
	const struct expiry	*ex;
	int64_t			 now;
	size_t			 n;
};

static int
sim_expired(struct flow *f, void *arg)
{
	struct sim_scan *c = arg;

	c->n += c->now - f->last_us > export_idle_timeout(c->ex, f);
	return 0;
}

/*
 * The rule of a flush or an offline pass, checked against the scan it
 * replaces: packets to random flows (new ones too, TCP ones closing so
 * that their timeout gets shorter), passes at uneven intervals (some
 * closer than a tick, some many ticks apart) with the changed flows
 * refiled; at every pass the wheel must hand out every flow the scan
 * finds expired, and the caller's exact check then keeps exactly those.
 */
static void
test_wheel_vs_scan(void)
{
	const struct expiry ex = { S(60), S(300), S(10) };
	struct flow_table *ft = flow_table_new();
	struct expiry_wheel *w = expiry_wheel_new(S(5000), S(2));
	static struct flow *gone[40000], *touched[40000];
	uint64_t seed = 15;
	int flushes = 0, same = 1, created, from;
	size_t total_gone = 0, ntouched = 0, peak = 0;
	struct flow_key k;

	/* passes between ticks, 0.25 s to 5 s apart */
	int64_t next_pass = S(5000.13);
	for (int64_t now = S(5000.13); now < S(5000 + 1800); now += S(0.25)) {
		for (int p = 0; p < 40; p++) {
			/* mostly recent flows, some new, a few long idle */
			int i = (int)(rnd(&seed) % 3000);
			nth_key(i, 0, &k, &from);
			k.proto = i % 3 ? PROTO_UDP : PROTO_TCP;
			if (rnd(&seed) % 4 != 0)
				continue;
			struct flow *f = flow_table_get(ft, &k, from, &created);
			int64_t jitter = (int64_t)(rnd(&seed) % 250000);
			f->last_us = now - jitter;
			if (created)
				f->first_us = f->last_us;
			if (k.proto == PROTO_TCP && rnd(&seed) % 8 == 0)
				f->tcp |= FT_TCP_RST;
			if (!f->dirty) {
				f->dirty = 1;
				touched[ntouched++] = f;
			}
		}
		if (now < next_pass)
			continue;
		next_pass = now + S(0.25) * (1 + rnd(&seed) % 20);
		struct sim_scan sc = { &ex, now, 0 };
		flow_table_foreach(ft, sim_expired, &sc);
		struct sim_due d = { &ex, w, now, gone, 0 };
		expiry_wheel_due(w, now, sim_due, &d);
		same &= d.ngone == sc.n;
		for (size_t i = 0; i < d.ngone; i++) {
			same &= now - gone[i]->last_us >
			    export_idle_timeout(&ex, gone[i]) &&
			    gone[i]->ttl[0] != 0xee;	/* handed out once */
			gone[i]->ttl[0] = 0xee;
		}
		for (size_t i = 0; i < ntouched; i++) {
			touched[i]->dirty = 0;
			expiry_wheel_file(w, touched[i], touched[i]->last_us +
			    export_idle_timeout(&ex, touched[i]));
		}
		ntouched = 0;
		for (size_t i = 0; i < d.ngone; i++)
			flow_table_remove(ft, gone[i]);
		total_gone += d.ngone;
		if (flow_table_count(ft) > peak)
			peak = flow_table_count(ft);
		flushes++;
	}
	ok(same, "wheel: at each of %d flushes it hands out exactly the %s",
	    flushes, "flows a scan of the table finds idle past their timeout");
	ok(total_gone > 2000 && peak > 1000, "wheel: %zu flows expired, up to "
	    "%zu in memory at once", total_gone, peak);
	ok(expiry_wheel_entries(w) <= 2 * flow_table_count(ft) + 64,
	    "wheel: %zu entries for %zu flows", expiry_wheel_entries(w),
	    flow_table_count(ft));
	expiry_wheel_free(w);
	flow_table_free(ft);
}

/* Large runs: aligned to a huge page, zeroed, whole; small: malloc's. */
static void
test_hugemem(void)
{
	const size_t sizes[] = { 64, HUGEMEM_PAGE - 1, HUGEMEM_PAGE,
	    HUGEMEM_PAGE + 1, 3 * HUGEMEM_PAGE };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		unsigned char *p = hugemem_calloc(n);
		if (p == NULL) {
			ok(0, "hugemem: %zu bytes", n);
			continue;
		}
		size_t nonzero = 0;
		for (size_t j = 0; j < n; j += 4096)
			nonzero += p[j] != 0;
		nonzero += p[n - 1] != 0;
		ok(nonzero == 0, "hugemem: %zu bytes come zeroed", n);
		if (n >= HUGEMEM_PAGE)
			ok((uintptr_t)p % HUGEMEM_PAGE == 0,
			    "hugemem: %zu bytes start on a 2 MiB boundary", n);
		memset(p, 0xa5, n);	/* every byte is ours */
		ok(p[0] == 0xa5 && p[n - 1] == 0xa5, "hugemem: %zu bytes "
		    "written whole", n);
		hugemem_free(p, n);
	}
	hugemem_free(NULL, HUGEMEM_PAGE);
}

/*
 * Whether the mapping holding p is advised for huge pages ("hg" among its
 * VmFlags in /proc/self/smaps); -1: no mapping holds it.
 */
static int
advised_huge(const void *p)
{
	char line[512];
	int in = 0, found = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
			continue;
		}
		if (in && strncmp(line, "VmFlags:", 8) == 0)
			found = strstr(line, " hg") != NULL;
	}
	fclose(f);
	return found;
}

/*
 * malloc's heap: advised for huge pages where blocks land, and what it
 * grows by afterwards once hugemem_heap_grown has seen it.
 */
static void
test_hugemem_heap(void)
{
	enum { BLOCK = 64 << 10, MANY = 1200 };	/* 75 MiB: past a step */
	static void *b[MANY];

	void *probe = mmap(NULL, HUGEMEM_PAGE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int thp = probe != MAP_FAILED &&
	    madvise(probe, HUGEMEM_PAGE, MADV_HUGEPAGE) == 0;
	if (probe != MAP_FAILED)
		munmap(probe, HUGEMEM_PAGE);
	if (!thp) {
		printf("ok %d # skip no transparent huge pages here\n",
		    ++tap_count);
		return;
	}
	/* the heap below its top now is small pages, as it was touched */
	uintptr_t before = (uintptr_t)sbrk(0);
	if (!hugemem_heap_init()) {
		printf("ok %d # skip malloc takes no heap here (a sanitizer's "
		    "allocator)\n", ++tap_count);
		return;
	}
	uintptr_t stepped = (uintptr_t)sbrk(0);
	ok(stepped >= before + (60 << 20), "heap: grown by a step at once "
	    "(%lu KiB)", (unsigned long)((stepped - before) >> 10));
	size_t n = 0;
	while (n < MANY && (b[n] = malloc(BLOCK)) != NULL)
		n++;
	is_int(n, MANY, "heap: %d blocks of 64 KiB", MANY);
	size_t in_step = 0, in_step_plain = 0, beyond = 0, beyond_plain = 0;
	for (size_t i = 0; i < n; i++) {
		uintptr_t a = (uintptr_t)b[i];
		int huge = advised_huge(b[i]) == 1;
		if (a >= before && a + BLOCK <= stepped) {
			in_step++;
			in_step_plain += !huge;
		} else if (a >= stepped) {
			beyond++;
			beyond_plain += !huge;
		}
	}
	ok(in_step > 900 && in_step_plain == 0, "heap: the %zu blocks in "
	    "the first step advised (%zu not)", in_step, in_step_plain);
	ok(beyond > 0 && beyond_plain > 0, "heap: %zu blocks past it, not "
	    "yet advised (%zu)", beyond, beyond_plain);
	hugemem_heap_grown();
	beyond_plain = 0;
	for (size_t i = 0; i < n; i++)
		if ((uintptr_t)b[i] >= stepped)
			beyond_plain += advised_huge(b[i]) != 1;
	is_int(beyond_plain, 0, "heap: advised too once the growth is seen");
	while (n > 0)
		free(b[--n]);
}

/* An IPv4 packet from 198.18.0.x to 198.18.0.y, its 8 bytes of L4 after. */
static size_t
ip4_packet(uint8_t *b, uint8_t proto, uint8_t ttl, uint8_t x, uint8_t y,
    const uint8_t *l4, size_t l4len)
{
	size_t n = 20 + l4len;

	memset(b, 0, 20);
	b[0] = 0x45;
	b[2] = (uint8_t)(n >> 8);
	b[3] = (uint8_t)n;
	b[8] = ttl;
	b[9] = proto;
	b[12] = 198, b[13] = 18, b[15] = x;
	b[16] = 198, b[17] = 18, b[19] = y;
	memcpy(b + 20, l4, l4len);
	return n;
}

/*
 * A host's TTL is noted in the order its packets came, those waiting on
 * the analyzer's pipeline (noted when accounted) and those that do not
 * wait (an echo reply) alike: a reset is compared with the TTL of the
 * host's last packet.
 */
static void
test_host_ttl_order(void)
{
	struct analyzer *a = analyzer_new();
	uint8_t pkt[64];
	/* 40000 -> 80 SYN, 80 -> 40000 RST+ACK, 53 -> 5353, echo reply */
	const uint8_t syn[20] = { 0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0,
	    0x50, 0x02, 0xff, 0xff };
	const uint8_t rst[20] = { 0, 80, 0x9c, 0x40, 0, 0, 0, 0, 0, 0, 0, 2,
	    0x50, 0x14, 0, 0 };
	const uint8_t udp[8] = { 0, 53, 0x14, 0xe9, 0, 8, 0, 0 };
	const uint8_t echo[8] = { 0, 0, 0, 0, 0, 1, 0, 1 };
	int64_t t = 1000000;

	ok(a != NULL, "host TTL: an analyzer");
	if (a == NULL)
		return;
	analyzer_packet(a, LINK_RAW, pkt, (uint32_t)ip4_packet(pkt, 6, 64, 1,
	    2, syn, sizeof(syn)), t++);
	analyzer_packet(a, LINK_RAW, pkt, (uint32_t)ip4_packet(pkt, 6, 50, 2,
	    1, rst, sizeof(rst)), t++);
	analyzer_packet(a, LINK_RAW, pkt, (uint32_t)ip4_packet(pkt, 17, 60, 2,
	    1, udp, sizeof(udp)), t++);
	analyzer_packet(a, LINK_RAW, pkt, (uint32_t)ip4_packet(pkt, 1, 64, 2,
	    1, echo, sizeof(echo)), t++);

	const uint8_t c[4] = { 198, 18, 0, 1 }, h[4] = { 198, 18, 0, 2 };
	struct tuple tt = tuple4(c, 40000, h, 80);
	struct flow_key k;
	int from_a;
	tt.proto = PROTO_TCP;
	flow_key_make(&tt, &k, &from_a);
	struct flow *f = flow_table_find(analyzer_settle(a), &k);
	ok(f != NULL, "host TTL: the TCP flow is there");
	if (f != NULL)
		is_int(analyzer_dst_ttl(a, f), 64, "host TTL: the reset is "
		    "compared with the host's last packet (the echo reply, "
		    "after a datagram that waited on the pipeline)");
	analyzer_free(a);
}

int
main(void)
{
	test_keys();
	test_table();
	test_frags();
	test_sent();
	test_digest();
	test_ends();
	test_states();
	test_timeargs();
	test_dirty_log();
	test_wheel_rules();
	test_wheel_vs_scan();
	test_hugemem();
	test_hugemem_heap();
	test_host_ttl_order();
	return tap_done();
}
