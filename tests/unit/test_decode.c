/*
 * Decoder unit tests on hand-made packets. Each truncated variant is copied
 * into a heap buffer of exactly its length, so a read past it is caught by
 * ASan or valgrind, not hidden by the rest of a larger array.
 */
#include <stdlib.h>
#include <string.h>

#include "parsers/cursor.h"
#include "parsers/decode.h"
#include "parsers/pcap_record.h"
#include "tests/unit/tap.h"

static enum decode_status
decode_exact(int linktype, const uint8_t *pkt, size_t len, struct decoded *d)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum decode_status st;

	memcpy(copy, pkt, len);
	st = pkt_decode(linktype, copy, len, d);
	free(copy);
	return st;
}

/* 198.18.0.2:40000 -> 198.18.1.2:9999, 4 payload bytes. */
static const uint8_t udp4[] = {
	0x45, 0x00, 0x00, 0x20, 0x12, 0x34, 0x00, 0x00,	/* IPv4, len 32 */
	0x40, 0x11, 0x00, 0x00,				/* TTL 64, UDP */
	198, 18, 0, 2,	198, 18, 1, 2,
	0x9c, 0x40, 0x27, 0x0f, 0x00, 0x0c, 0x00, 0x00,	/* UDP 40000 > 9999 */
	'a', 'b', 'c', 'd',
};

static void
test_udp4(void)
{
	struct decoded d;

	is_int(pkt_decode(LINK_RAW, udp4, sizeof(udp4), &d), DECODE_OK,
	    "raw IPv4 UDP decodes");
	is_int(d.t.family, 4, "family 4");
	is_int(d.t.proto, PROTO_UDP, "protocol UDP");
	is_int(d.t.sport, 40000, "source port");
	is_int(d.t.dport, 9999, "destination port");
	is_int(d.ip_bytes, 32, "IP bytes from the header");
	ok(memcmp(d.t.dst, (uint8_t[]){ 198, 18, 1, 2 }, 4) == 0,
	    "destination address");

	/* every truncation of the packet itself: never OK with wrong ports */
	for (size_t len = 0; len < sizeof(udp4); len++) {
		enum decode_status st = decode_exact(LINK_RAW, udp4, len, &d);
		if (len < 24)
			ok(st == DECODE_MALFORMED, "UDP cut at %zu bytes is "
			    "malformed (%s)", len, decode_reason_name(d.why));
		else
			ok(st == DECODE_OK && d.t.sport == 40000,
			    "UDP cut at %zu bytes still has its ports", len);
	}
}

/*
 * Port unreachable from 198.18.1.2 quoting a UDP datagram whose IPv4 header
 * carries 4 bytes of options (IHL 6).
 */
static const uint8_t unreach4[] = {
	0x45, 0x00, 0x00, 0x3c, 0x00, 0x01, 0x00, 0x00,	/* len 60 */
	0x40, 0x01, 0x00, 0x00,
	198, 18, 1, 2,	198, 18, 0, 2,
	0x03, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,	/* ICMP 3/3 */
	/* quote at offset 28 */
	0x46, 0x00, 0x00, 0x24, 0x12, 0x34, 0x00, 0x00,	/* IHL 6, len 36 */
	0x40, 0x11, 0x00, 0x00,
	198, 18, 0, 2,	198, 18, 1, 2,
	0x94, 0x04, 0x00, 0x00,				/* router alert */
	0x9c, 0x40, 0x27, 0x0f, 0x00, 0x0c, 0x00, 0x00,	/* UDP 40000 > 9999 */
};
#define Q4 28

static void
test_quote4_truncations(void)
{
	struct decoded d;

	is_int(pkt_decode(LINK_RAW, unreach4, sizeof(unreach4), &d), DECODE_OK,
	    "ICMP port unreachable decodes");
	is_int(d.icmp, ICMP_ERROR, "is an ICMP error");
	is_int(d.icmp_type * 256 + d.icmp_code, 3 * 256 + 3, "type 3 code 3");
	is_int(d.quote_depth, QUOTE_PORTS, "full quote gives the ports");
	is_int(d.quote.sport, 40000, "quoted source port");
	is_int(d.quote.dport, 9999, "quoted destination port");
	ok(memcmp(d.quote.src, (uint8_t[]){ 198, 18, 0, 2 }, 4) == 0,
	    "quoted source is the original sender");
	is_int(d.quote_ttl, 64, "quoted TTL");
	is_int(d.quote_ip_bytes, 36, "quoted IP length");
	is_int(d.quote_frag_id, 0x1234, "quoted IPv4 ID");
	ok(d.quote_has_l4 && d.quote_l4 == 0x000c0000,
	    "quoted UDP length and checksum (bytes 4-7)");
	/* the 8 bytes RFC 792 guarantees, less one: ports, no bytes 4-7 */
	decode_exact(LINK_RAW, unreach4, sizeof(unreach4) - 1, &d);
	ok(d.quote_depth == QUOTE_PORTS && !d.quote_has_l4 && d.quote_l4 == 0,
	    "a quote cut inside bytes 4-7 has ports but no checksum");

	for (size_t len = 0; len <= sizeof(unreach4); len++) {
		enum decode_status st = decode_exact(LINK_RAW, unreach4, len, &d);
		int want;
		if (len < Q4) {
			ok(st == DECODE_MALFORMED, "cut at %zu, before the "
			    "quote: malformed (%s)", len,
			    decode_reason_name(d.why));
			continue;
		}
		if (len < Q4 + 20)
			want = QUOTE_NONE;		/* no quoted addresses */
		else if (len < Q4 + 24 + 4)
			want = QUOTE_ADDRS;		/* options or ports cut */
		else
			want = QUOTE_PORTS;
		ok(st == DECODE_OK && d.quote_depth == want,
		    "cut at %zu bytes: quote depth %d (want %d)", len,
		    d.quote_depth, want);
		if (want == QUOTE_ADDRS)
			ok(d.quote.proto == PROTO_UDP && !d.quote.has_ports,
			    "cut at %zu bytes: protocol known, no ports", len);
	}
}

/*
 * ICMPv6 port unreachable quoting a UDP datagram behind hop-by-hop and
 * destination options headers (8 bytes each).
 */
static const uint8_t unreach6[] = {
	0x60, 0, 0, 0, 0x00, 0x48, 58, 64,		/* payload 72 */
	0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,	/* ICMPv6 1/4 */
	/* quote at offset 48 */
	0x60, 0, 0, 0, 0x00, 0x18, 0, 64,		/* next: hop-by-hop */
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	60, 0, 1, 4, 0, 0, 0, 0,			/* HBH -> dest opts */
	17, 0, 1, 4, 0, 0, 0, 0,			/* dest opts -> UDP */
	0x9c, 0x41, 0x27, 0x0f, 0x00, 0x08, 0x00, 0x00,	/* 40001 > 9999 */
};
#define Q6 48

/* A TCP segment: 198.18.0.2:40000 -> 198.18.1.2:80, seq 0x01020304, 5 bytes. */
static const uint8_t tcp4[] = {
	0x45, 0x00, 0x00, 0x31, 0x00, 0x07, 0x40, 0x00,	/* len 49, DF */
	0x39, 0x06, 0x00, 0x00,				/* TTL 57, TCP */
	198, 18, 0, 2,	198, 18, 1, 2,
	0x9c, 0x40, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04,	/* ports, seq */
	0x00, 0x00, 0x00, 0x09, 0x60, 0x18, 0x01, 0x00,	/* ack; off 6, PA */
	0xab, 0xcd, 0x00, 0x00,				/* cksum, urg */
	0x02, 0x04, 0x05, 0xb4,				/* MSS option */
	'h', 'e', 'l', 'l', 'o',
};

static void
test_tcp(void)
{
	struct decoded d;

	is_int(pkt_decode(LINK_RAW, tcp4, sizeof(tcp4), &d), DECODE_OK,
	    "TCP with an option decodes");
	ok(d.tcp_seq == 0x01020304 && d.l4_word == 0x01020304,
	    "sequence number, also as bytes 4-7");
	is_int(d.tcp_len, 5, "payload length after a 24-byte header");
	is_int(d.tcp_flags, TCP_PSH | TCP_ACK, "flags");
	is_int(d.ttl, 57, "TTL");
	is_int(d.frag_id, 7, "IPv4 ID");
}

static void
test_quote6_truncations(void)
{
	struct decoded d;

	is_int(pkt_decode(LINK_IPV6, unreach6, sizeof(unreach6), &d),
	    DECODE_OK, "ICMPv6 unreachable decodes");
	is_int(d.quote_depth, QUOTE_PORTS, "ports found behind two headers");
	is_int(d.quote.sport, 40001, "quoted source port");
	is_int(d.quote.proto, PROTO_UDP, "quoted protocol UDP");

	for (size_t len = Q6; len <= sizeof(unreach6); len++) {
		enum decode_status st = decode_exact(LINK_IPV6, unreach6, len, &d);
		int want;
		if (len < Q6 + 40)
			want = QUOTE_NONE;
		else if (len < Q6 + 56 + 4)
			want = QUOTE_ADDRS;
		else
			want = QUOTE_PORTS;
		ok(st == DECODE_OK && d.quote_depth == want,
		    "ICMPv6 cut at %zu bytes: quote depth %d (want %d)", len,
		    d.quote_depth, want);
		if (want == QUOTE_ADDRS && len < Q6 + 56)
			is_int(d.quote.proto, PROTO_UNKNOWN, "cut at %zu inside "
			    "the extension headers: protocol unknown", len);
	}
}

static void
test_fragments(void)
{
	uint8_t later[sizeof(udp4)], first[sizeof(udp4)];
	struct decoded d;

	memcpy(later, udp4, sizeof(udp4));
	later[6] = 0x00;
	later[7] = 0x03;		/* offset 24 bytes */
	is_int(pkt_decode(LINK_RAW, later, sizeof(later), &d), DECODE_OK,
	    "later fragment decodes");
	is_int(d.frag, FRAG_LATER, "is a later fragment");
	ok(!d.t.has_ports, "no ports read from a later fragment");
	is_int(d.frag_id, 0x1234, "fragment ID");

	memcpy(first, udp4, sizeof(udp4));
	first[6] = 0x20;		/* MF, offset 0 */
	is_int(pkt_decode(LINK_RAW, first, sizeof(first), &d), DECODE_OK,
	    "first fragment decodes");
	is_int(d.frag, FRAG_FIRST, "is a first fragment");
	ok(d.t.has_ports && d.t.sport == 40000, "first fragment has ports");
}

static void
test_links(void)
{
	uint8_t f[64];
	struct decoded d;

	/* Ethernet, 802.1ad + 802.1Q tags, then IPv4. */
	memset(f, 0, sizeof(f));
	f[12] = 0x88; f[13] = 0xa8; f[16] = 0x81; f[17] = 0x00;
	f[20] = 0x08; f[21] = 0x00;
	memcpy(f + 22, udp4, sizeof(udp4));
	is_int(decode_exact(LINK_EN10MB, f, 22 + sizeof(udp4), &d), DECODE_OK,
	    "QinQ frame decodes");
	is_int(d.t.dport, 9999, "QinQ: ports found");
	for (size_t len = 0; len < 22; len++)
		is_int(decode_exact(LINK_EN10MB, f, len, &d), DECODE_MALFORMED,
		    "QinQ frame cut at %zu bytes is malformed", len);

	/* ARP is not IP, and not malformed either. */
	f[12] = 0x08; f[13] = 0x06;
	is_int(decode_exact(LINK_EN10MB, f, 42, &d), DECODE_NOT_IP,
	    "ARP is not IP");

	/* DLT_NULL: AF_INET in either byte order. */
	uint8_t n[4 + sizeof(udp4)] = { 2, 0, 0, 0 };
	memcpy(n + 4, udp4, sizeof(udp4));
	is_int(decode_exact(LINK_NULL, n, sizeof(n), &d), DECODE_OK,
	    "NULL little-endian AF_INET");
	n[0] = 0; n[3] = 2;
	is_int(decode_exact(LINK_NULL, n, sizeof(n), &d), DECODE_OK,
	    "NULL big-endian AF_INET");
	is_int(decode_exact(LINK_LOOP, n, sizeof(n), &d), DECODE_OK,
	    "LOOP network-order AF_INET");
	is_int(decode_exact(147, n, sizeof(n), &d), DECODE_UNSUPPORTED_LINK,
	    "an unknown link type is reported as such");
}

static void
test_malformed(void)
{
	uint8_t p[sizeof(udp4)];
	struct decoded d;

	memcpy(p, udp4, sizeof(p));
	p[0] = 0x44;
	pkt_decode(LINK_RAW, p, sizeof(p), &d);
	is_int(d.why, WHY_IP_BAD_HLEN, "IHL 4 is a bad header length");
	p[0] = 0x45;
	p[2] = 0; p[3] = 10;
	pkt_decode(LINK_RAW, p, sizeof(p), &d);
	is_int(d.why, WHY_IP_BAD_LENGTH, "total length below IHL");
	memcpy(p, udp4, sizeof(p));
	p[24] = 0; p[25] = 7;
	pkt_decode(LINK_RAW, p, sizeof(p), &d);
	is_int(d.why, WHY_UDP_BAD_LENGTH, "UDP length 7");
	memcpy(p, udp4, sizeof(p));
	p[25] = 200;
	pkt_decode(LINK_RAW, p, sizeof(p), &d);
	is_int(d.why, WHY_UDP_BAD_LENGTH, "UDP length beyond the IP packet");
	ok(strcmp(decode_reason_name(WHY_COUNT), "unknown") == 0,
	    "out-of-range reason has a name");
}

/* A fixed header taken whole or not at all; its fields stay inside it. */
static void
test_spans(void)
{
	static const uint8_t bytes[6] = { 0x45, 0x00, 0x12, 0x34, 0xab, 0xcd };
	uint8_t *buf = malloc(sizeof(bytes));	/* exact: ASan sees overreads */
	memcpy(buf, bytes, sizeof(bytes));

	struct cursor c = cur_make(buf, sizeof(bytes));
	struct span h = cur_take(&c, 4);
	ok(h.len == 4 && span_u8(h, 0) == 0x45 && span_be16(h, 2) == 0x1234,
	    "span: fields at their offsets");
	ok(span_be16(h, 3) == 0 && span_u8(h, 4) == 0 && span_be32(h, 1) == 0,
	    "span: a field past the span reads 0, not the next bytes");
	uint8_t four[4] = { 1, 1, 1, 1 };
	span_copy(h, 2, four, 4);
	ok(four[0] == 0 && four[3] == 0, "span: a copy past the span is zeros");
	struct span rest = cur_take(&c, 4);
	ok(rest.len == 0 && rest.p == NULL && c.err,
	    "span: taking more than is left gives none and sets the error");
	ok(cur_take(&c, 1).len == 0 && cur_u8(&c) == 0,
	    "span: the error is sticky");
	free(buf);
}

/* A record header in either byte order. */
static void
put_record(uint8_t *p, int big_endian, uint32_t sec, uint32_t frac,
    uint32_t caplen, uint32_t len)
{
	uint32_t v[4] = { sec, frac, caplen, len };

	for (int i = 0; i < 4; i++)
		for (int b = 0; b < 4; b++)
			p[4 * i + b] = (uint8_t)(v[i] >>
			    (big_endian ? 24 - 8 * b : 8 * b));
}

/* Classic pcap records where they lie, cut at every length. */
static void
test_pcap_records(void)
{
	uint8_t rec[16 + 5] = { 0 };
	struct pcap_record r;

	for (int be = 0; be <= 1; be++) {
		struct pcap_record_format fmt = { be, 0, 65535 };
		put_record(rec, be, 1700000000, 123456, 5, 60);
		memcpy(rec + 16, "hello", 5);
		int all_short = 1;
		for (size_t n = 0; n < sizeof(rec); n++) {
			uint8_t *cut = malloc(n ? n : 1);
			memcpy(cut, rec, n);
			all_short &= pcap_record_parse(&fmt, cut, n, &r) ==
			    PCAP_RECORD_SHORT;
			free(cut);
		}
		ok(all_short, "pcap record (%s): every cut before its end is "
		    "short", be ? "big-endian" : "little-endian");
		uint8_t *exact = malloc(sizeof(rec));
		memcpy(exact, rec, sizeof(rec));
		ok(pcap_record_parse(&fmt, exact, sizeof(rec), &r) ==
		    PCAP_RECORD_OK && r.ts_us == 1700000000123456LL &&
		    r.caplen == 5 && r.len == 60 && r.size == 21 &&
		    r.data == exact + 16 && memcmp(r.data, "hello", 5) == 0,
		    "pcap record (%s): fields, data in place, size",
		    be ? "big-endian" : "little-endian");
		free(exact);
	}

	struct pcap_record_format nsec = { 0, 1, 65535 };
	put_record(rec, 0, 10, 999999999, 0, 0);
	ok(pcap_record_parse(&nsec, rec, 16, &r) == PCAP_RECORD_OK &&
	    r.ts_us == 10999999 && r.size == 16,
	    "pcap record: nanoseconds divided down, an empty record is 16 bytes");
	/* libpcap's fields are signed 32-bit: before 1970 is negative */
	struct pcap_record_format usec = { 0, 0, 65535 };
	put_record(rec, 0, (uint32_t)-5, (uint32_t)-7, 0, 0);
	ok(pcap_record_parse(&usec, rec, 16, &r) == PCAP_RECORD_OK &&
	    r.ts_us == -5000007, "pcap record: times are signed");
	put_record(rec, 0, 0, (uint32_t)-7999, 0, 0);
	ok(pcap_record_parse(&nsec, rec, 16, &r) == PCAP_RECORD_OK &&
	    r.ts_us == -7, "pcap record: signed nanoseconds divide toward 0");

	struct pcap_record_format small = { 0, 0, 4 };
	put_record(rec, 0, 1, 2, 5, 5);
	ok(pcap_record_parse(&small, rec, sizeof(rec), &r) ==
	    PCAP_RECORD_OVERSIZE, "pcap record: above the snapshot length "
	    "is left to libpcap");
	put_record(rec, 0, 1, 2, 0xffffffff, 5);
	ok(pcap_record_parse(&usec, rec, sizeof(rec), &r) ==
	    PCAP_RECORD_OVERSIZE, "pcap record: a huge length is no overflow");
	struct pcap_record_format any = { 0, 0, 0xffffffff };
	ok(pcap_record_parse(&any, rec, sizeof(rec), &r) == PCAP_RECORD_SHORT,
	    "pcap record: a length beyond the buffer is short");
}

/* A frame built a header at a time. */
struct frame {
	uint8_t	b[512];
	size_t	n;
};

static void
put(struct frame *f, const void *p, size_t n)
{
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void
put16(struct frame *f, uint16_t v)
{
	put(f, (uint8_t[]){ v >> 8, v & 0xff }, 2);
}

static void
put32(struct frame *f, uint32_t v)
{
	put16(f, v >> 16);
	put16(f, v & 0xffff);
}

static void
put_eth(struct frame *f, uint16_t et)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };

	put(f, macs, sizeof(macs));
	put16(f, et);
}

/* An outer IPv4 header of protocol proto, 198.18.2.1 -> 198.18.3.1. */
static void
put_ip4(struct frame *f, uint8_t proto, size_t payload)
{
	size_t len = 20 + payload;

	put(f, (uint8_t[]){ 0x45, 0, len >> 8, len & 0xff, 0, 7, 0, 0, 64,
	    proto, 0, 0, 198, 18, 2, 1, 198, 18, 3, 1 }, 20);
}

static void
put_udp(struct frame *f, uint16_t sport, uint16_t dport, size_t payload)
{
	put16(f, sport);
	put16(f, dport);
	put16(f, (uint16_t)(8 + payload));
	put16(f, 0);
}

/* The inner datagram decoded, carried in layers kinds[0..n). */
static int
inner_ok(const struct decoded *d, const uint8_t *kinds, int n)
{
	if (d->t.sport != 40000 || d->t.dport != 9999 || d->encap.n != n)
		return 0;
	for (int i = 0; i < n; i++)
		if (d->encap.layer[i].kind != kinds[i])
			return 0;
	return 1;
}

/*
 * Every cut of a frame decodes to a named outcome: OK, or malformed with
 * a reason that has a name, or not decoded with one; and a cut inside the
 * header at [from, to) is the malformation why.
 */
static void
cuts(const char *what, int link, const struct frame *f, size_t from,
    size_t to, enum decode_reason why)
{
	struct decoded d;
	int named = 1, right = 1;

	for (size_t len = 0; len < f->n; len++) {
		enum decode_status st = decode_exact(link, f->b, len, &d);
		if (st == DECODE_MALFORMED)
			named &= d.why > WHY_NONE && d.why < WHY_COUNT;
		else if (st == DECODE_NOT_IP)
			named &= d.skip > SKIP_NONE && d.skip < SKIP_COUNT;
		if (len >= from && len < to)
			right &= st == DECODE_MALFORMED && d.why == why;
	}
	ok(named, "%s: every cut is decoded or names its reason", what);
	ok(right, "%s: a cut in its header is %s", what,
	    decode_reason_name(why));
}

static void
test_pppoe_mpls(void)
{
	struct frame f = { .n = 0 };
	struct decoded d;

	/* PPPoE session 0x0012, PPP IPv4 */
	put_eth(&f, 0x8864);
	put(&f, (uint8_t[]){ 0x11, 0, 0x00, 0x12 }, 4);
	put16(&f, sizeof(udp4) + 2);
	put16(&f, 0x0021);
	put(&f, udp4, sizeof(udp4));
	is_int(decode_exact(LINK_EN10MB, f.b, f.n, &d), DECODE_OK,
	    "PPPoE session: decodes");
	ok(inner_ok(&d, (uint8_t[]){ ENCAP_PPPOE }, 1) &&
	    d.encap.layer[0].id == 0x12 && d.encap.ntunnels == 0,
	    "PPPoE: the datagram inside, the session ID on its layer");
	cuts("PPPoE", LINK_EN10MB, &f, 14, 20, WHY_PPPOE_TRUNCATED);
	/* a frame padded past the PPPoE length: the padding is not IP */
	f.b[19] = 2;
	is_int(decode_exact(LINK_EN10MB, f.b, f.n, &d), DECODE_MALFORMED,
	    "PPPoE: its length bounds the payload");
	f.b[19] = sizeof(udp4) + 2;
	f.b[20] = 0xc0; f.b[21] = 0x21;
	is_int(decode_exact(LINK_EN10MB, f.b, f.n, &d), DECODE_NOT_IP,
	    "PPPoE: LCP is not decoded");
	ok(d.skip == SKIP_PPP_PROTOCOL && d.skip_arg == 0xc021,
	    "PPPoE: LCP is counted as ppp protocol 0xc021");

	/* PPP protocol field compressed to one byte (RFC 1661 6.5) */
	f.n = 0;
	put(&f, (uint8_t[]){ 0x21 }, 1);
	put(&f, udp4, sizeof(udp4));
	is_int(decode_exact(LINK_PPP, f.b, f.n, &d), DECODE_OK,
	    "PPP: a compressed protocol field");

	/* MPLS: two labels, then IPv4 */
	f.n = 0;
	put_eth(&f, 0x8847);
	put32(&f, 1003u << 12 | 64);
	put32(&f, 16u << 12 | 0x100 | 64);
	put(&f, udp4, sizeof(udp4));
	is_int(decode_exact(LINK_EN10MB, f.b, f.n, &d), DECODE_OK,
	    "MPLS: decodes");
	ok(inner_ok(&d, (uint8_t[]){ ENCAP_MPLS, ENCAP_MPLS }, 2) &&
	    d.encap.layer[0].id == 1003 && d.encap.layer[1].id == 16,
	    "MPLS: a layer a label, outermost first");
	cuts("MPLS", LINK_EN10MB, &f, 14, 23, WHY_MPLS_TRUNCATED);
	f.b[22] = 0x55;
	is_int(decode_exact(LINK_EN10MB, f.b, f.n, &d), DECODE_NOT_IP,
	    "MPLS: a payload of neither version is not guessed");
	ok(d.skip == SKIP_MPLS_PAYLOAD && d.skip_arg == 5,
	    "MPLS: and is counted with its first nibble");

	/* eleven labels: deeper than the layers kept */
	f.n = 0;
	put_eth(&f, 0x8847);
	for (int i = 0; i < 11; i++)
		put32(&f, (uint32_t)(100 + i) << 12 | (i == 10 ? 0x100 : 0));
	put(&f, udp4, sizeof(udp4));
	is_int(decode_exact(LINK_EN10MB, f.b, f.n, &d), DECODE_NOT_IP,
	    "MPLS: eleven labels are too deep");
	is_int(d.skip, SKIP_TOO_DEEP, "MPLS: counted as too deep");
}

static void
test_tunnels(void)
{
	struct frame f = { .n = 0 };
	struct decoded d;

	/* GRE with checksum, key 7 and sequence, IPv4 inside */
	put_eth(&f, 0x0800);
	put_ip4(&f, 47, 16 + sizeof(udp4));
	put16(&f, 0xb000);
	put16(&f, 0x0800);
	put32(&f, 0);
	put32(&f, 7);
	put32(&f, 1);
	put(&f, udp4, sizeof(udp4));
	is_int(decode_exact(LINK_EN10MB, f.b, f.n, &d), DECODE_OK,
	    "GRE: decodes");
	ok(inner_ok(&d, (uint8_t[]){ ENCAP_GRE }, 1) &&
	    d.encap.layer[0].has_id && d.encap.layer[0].id == 7 &&
	    d.encap.layer[0].family == 4 && d.encap.layer[0].src[2] == 2,
	    "GRE: its key and endpoints on its layer");
	ok(d.encap.ntunnels == 1 && d.encap.tunnel[0].t.proto == 47 &&
	    d.encap.tunnel[0].ip_bytes == 20 + 16 + sizeof(udp4) &&
	    d.encap.tunnel[0].layer == 0,
	    "GRE: the outer packet is a tunnel packet of its own");
	cuts("GRE", LINK_EN10MB, &f, 34, 50, WHY_GRE_TRUNCATED);
	decode_exact(LINK_EN10MB, f.b, 40, &d);
	is_int(d.encap.ntunnels, 1, "GRE: a cut header still reports the "
	    "tunnel packet");
	f.b[36] = 0x81; f.b[37] = 0x37;
	is_int(decode_exact(LINK_EN10MB, f.b, f.n, &d), DECODE_NOT_IP,
	    "GRE: an unknown protocol type is not decoded");
	ok(d.skip == SKIP_GRE_PROTOCOL && d.skip_arg == 0x8137 &&
	    d.encap.ntunnels == 1, "GRE: counted by its protocol type, the "
	    "tunnel packet still reported");

	/* VXLAN VNI 42 carrying Ethernet and IPv4 */
	f.n = 0;
	put_eth(&f, 0x0800);
	put_ip4(&f, 17, 8 + 8 + 14 + sizeof(udp4));
	put_udp(&f, 50000, 4789, 8 + 14 + sizeof(udp4));
	put32(&f, 0x08000000);
	put32(&f, 42u << 8);
	put_eth(&f, 0x0800);
	put(&f, udp4, sizeof(udp4));
	is_int(decode_exact(LINK_EN10MB, f.b, f.n, &d), DECODE_OK,
	    "VXLAN: decodes");
	ok(inner_ok(&d, (uint8_t[]){ ENCAP_VXLAN }, 1) &&
	    d.encap.layer[0].id == 42 && d.encap.ntunnels == 1 &&
	    d.encap.tunnel[0].t.dport == 4789 &&
	    d.encap.tunnel[0].l4_word >> 16 == 8 + 8 + 14 + sizeof(udp4),
	    "VXLAN: VNI, and the outer UDP datagram as its tunnel packet");
	cuts("VXLAN", LINK_EN10MB, &f, 42, 50, WHY_VXLAN_TRUNCATED);
	f.b[42] = 0;
	is_int(decode_exact(LINK_EN10MB, f.b, f.n, &d), DECODE_NOT_IP,
	    "VXLAN: without the I flag, no VNI: not decoded");

	/* GTP-U TEID 0x1234 with a PDU session container extension */
	f.n = 0;
	put_eth(&f, 0x0800);
	put_ip4(&f, 17, 8 + 16 + sizeof(udp4));
	put_udp(&f, 2152, 2152, 16 + sizeof(udp4));
	put(&f, (uint8_t[]){ 0x34, 255 }, 2);
	put16(&f, 8 + sizeof(udp4));
	put32(&f, 0x1234);
	put(&f, (uint8_t[]){ 0, 0, 0, 0x85, 1, 0x10, 9, 0 }, 8);
	put(&f, udp4, sizeof(udp4));
	is_int(decode_exact(LINK_EN10MB, f.b, f.n, &d), DECODE_OK,
	    "GTP-U: decodes");
	ok(inner_ok(&d, (uint8_t[]){ ENCAP_GTPU }, 1) &&
	    d.encap.layer[0].id == 0x1234, "GTP-U: the TEID on its layer");
	cuts("GTP-U", LINK_EN10MB, &f, 42, 58, WHY_GTP_TRUNCATED);
	f.b[43] = 1;
	is_int(decode_exact(LINK_EN10MB, f.b, f.n, &d), DECODE_NOT_IP,
	    "GTP-U: an echo request is not a user packet");
	ok(d.skip == SKIP_GTP_MESSAGE && d.skip_arg == 1,
	    "GTP-U: counted by its message type");

	/* Geneve VNI 77, one 4-byte option, IPv4 inside */
	f.n = 0;
	put_eth(&f, 0x0800);
	put_ip4(&f, 17, 8 + 12 + sizeof(udp4));
	put_udp(&f, 50000, 6081, 12 + sizeof(udp4));
	put(&f, (uint8_t[]){ 1, 0, 0x08, 0x00 }, 4);
	put32(&f, 77u << 8);
	put32(&f, 0x01040100);
	put(&f, udp4, sizeof(udp4));
	is_int(decode_exact(LINK_EN10MB, f.b, f.n, &d), DECODE_OK,
	    "Geneve: decodes past its options");
	ok(inner_ok(&d, (uint8_t[]){ ENCAP_GENEVE }, 1) &&
	    d.encap.layer[0].id == 77, "Geneve: the VNI on its layer");
	cuts("Geneve", LINK_EN10MB, &f, 42, 54, WHY_GENEVE_TRUNCATED);

	/* IP in IP five deep: more tunnels than followed */
	f.n = 0;
	for (int i = 0; i < 5; i++)
		put_ip4(&f, 4, (size_t)(4 - i) * 20 + 20 + sizeof(udp4));
	put(&f, udp4, sizeof(udp4));
	is_int(decode_exact(LINK_RAW, f.b, f.n, &d), DECODE_NOT_IP,
	    "IP in IP five deep: not followed");
	ok(d.skip == SKIP_TOO_DEEP && d.encap.ntunnels == ENCAP_MAX_TUNNELS,
	    "IP in IP five deep: too deep, the tunnels followed reported");
}

static void
test_skip_names(void)
{
	char b[96];

	decode_skip_text(SKIP_ETHERTYPE, 0x0806, b, sizeof(b));
	ok(strcmp(b, "ethertype ARP (0x0806)") == 0, "skip text: %s", b);
	decode_skip_text(SKIP_ETHERTYPE, 0x88b4, b, sizeof(b));
	ok(strcmp(b, "ethertype 0x88b4") == 0, "skip text: %s", b);
	decode_skip_text(SKIP_LINK_TYPE, 147, b, sizeof(b));
	ok(strcmp(b, "link type 147") == 0, "skip text: %s", b);
	decode_skip_text(SKIP_COUNT, 0, b, sizeof(b));
	ok(strcmp(b, "unknown") == 0, "skip text: out of range is unknown");
	decode_skip_text(SKIP_PPP_PROTOCOL, 0xc021, b, 8);
	ok(strlen(b) == 7, "skip text: cut to the buffer, terminated");
	for (int k = 0; k < ENCAP_KIND_COUNT; k++)
		ok(strcmp(encap_kind_name(k), "unknown") != 0,
		    "encapsulation kind %d has a name (%s)", k,
		    encap_kind_name(k));
}

int
main(void)
{
	test_spans();
	test_pcap_records();
	test_udp4();
	test_quote4_truncations();
	test_quote6_truncations();
	test_tcp();
	test_fragments();
	test_links();
	test_malformed();
	test_pppoe_mpls();
	test_tunnels();
	test_skip_names();
	return tap_done();
}
