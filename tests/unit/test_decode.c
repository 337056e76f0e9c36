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
	return tap_done();
}
