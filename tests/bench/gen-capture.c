/*
 * gen-capture: a large synthetic capture for the benchmark, fast enough for
 * ten million packets, and the same bytes for the same arguments.
 *
 *   gen-capture OUT.pcap PACKETS [FLOWS] [SPAN_SECONDS] [SEED] [MIX]
 *
 * FLOWS defaults to PACKETS / 10, SPAN to 7200 s ending now (so that
 * "udpflows --since 1h" finds the last half), SEED to 1. Flows start
 * evenly over the span and interleave in time; each has the same number
 * of packets, 20 ms apart, so with the default 60 s UDP timeout about
 * FLOWS * 60 / SPAN flows are alive at once. Of the flows (by a seeded
 * generator), with MIX "min" (the default):
 *   60% answered   UDP request and reply, alternately
 *   15% refused    each datagram draws ICMP/ICMPv6 port unreachable from
 *                  the destination, with a correct quote, 0.3 ms later
 *    5% host unreachable: each datagram draws host unreachable from the
 *                  router 198.18.255.1 / 2001:db8:ffff::1, 1 ms later
 *   20% silent     datagrams only
 * and about 10% of them are IPv6; every datagram carries 16 or 24 bytes.
 * MIX "gateway" looks like a gateway's UDP instead: 60% answered, 20%
 * refused, 5% host unreachable, 15% silent, and each flow a service with
 * its own sizes: DNS (55%: queries of 28-60 bytes, answers of 60-480),
 * NTP (10%: 48 both ways), QUIC or media (10%: 1200-1350 both ways),
 * telemetry (25%: 80-400 out, 40-120 back); ICMP errors quote as much of
 * the datagram as fits in 576 bytes (ICMPv6: 1280), as Linux sends them.
 * Addresses are from 198.18.0.0/15 and 2001:db8::/32. Never committed:
 * tests/bench/run makes it when needed.
 */
#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GAP_US		20000
#define MAX_PAYLOAD	1350
#define MAX_PKT		(40 + 8 + MAX_PAYLOAD)

enum kind { ANSWERED, REFUSED, HOST_UNREACH, SILENT };

struct flow {
	int64_t		t0;
	uint32_t	id;
	uint16_t	req, rep;	/* payload bytes out and back */
	uint16_t	port;		/* the server's */
	uint8_t		kind, v6;
};

struct event {
	int64_t		t;
	uint32_t	flow;
	uint32_t	j;		/* packet number in the flow */
};

static uint64_t rng_state;

static uint64_t
rng(void)
{
	/* xorshift64*: small, fast, and the same everywhere */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

/* A number from lo to hi, both included. */
static uint16_t
between(unsigned lo, unsigned hi)
{
	return (uint16_t)(lo + rng() % (hi - lo + 1));
}

/* A gateway's flow: its state by pick (0-99), its service and sizes. */
static void
gateway_flow(struct flow *f, uint32_t pick)
{
	uint32_t svc = (uint32_t)(rng() % 100);

	f->kind = pick < 60 ? ANSWERED : pick < 80 ? REFUSED :
	    pick < 85 ? HOST_UNREACH : SILENT;
	if (svc < 55) {
		f->port = 53;
		f->req = between(28, 60);
		f->rep = between(60, 480);
	} else if (svc < 65) {
		f->port = 123;
		f->req = f->rep = 48;
	} else if (svc < 75) {
		f->port = 443;
		f->req = between(1200, 1350);
		f->rep = between(1200, 1350);
	} else {
		f->port = 514;
		f->req = between(80, 400);
		f->rep = between(40, 120);
	}
}

static uint16_t
csum(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void
be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Client and server of a flow: 198.18.x.y -> 198.19.0.z (v6 alike). */
static void
endpoints(const struct flow *f, uint8_t c[16], uint8_t s[16], uint16_t *cp,
    uint16_t *sp)
{
	memset(c, 0, 16);
	memset(s, 0, 16);
	if (f->v6) {
		static const uint8_t pfx[4] = { 0x20, 0x01, 0x0d, 0xb8 };
		memcpy(c, pfx, 4);
		memcpy(s, pfx, 4);
		c[5] = 1;
		c[12] = (uint8_t)(f->id >> 24);
		c[13] = (uint8_t)(f->id >> 16);
		c[14] = (uint8_t)(f->id >> 8);
		c[15] = (uint8_t)f->id;
		s[5] = 2;
		s[15] = (uint8_t)(f->id % 251 + 1);
	} else {
		c[0] = 198;
		c[1] = 18;
		c[2] = (uint8_t)(f->id >> 8);
		c[3] = (uint8_t)f->id;
		s[0] = 198;
		s[1] = 19;
		s[3] = (uint8_t)(f->id % 251 + 1);
	}
	*cp = (uint16_t)(1024 + (f->id >> 16) % 60000);
	*sp = f->port;
}

/* An IP packet (v4 or v6) with a UDP or ICMP payload; returns its length. */
static size_t
ip_packet(uint8_t *out, int v6, const uint8_t *src, const uint8_t *dst,
    uint8_t proto, uint16_t id, const uint8_t *l4, size_t l4len)
{
	size_t h = v6 ? 40 : 20;

	memset(out, 0, h);
	if (v6) {
		out[0] = 0x60;
		be16(out + 4, (uint32_t)l4len);
		out[6] = proto == 1 ? 58 : proto;
		out[7] = 64;
		memcpy(out + 8, src, 16);
		memcpy(out + 24, dst, 16);
	} else {
		out[0] = 0x45;
		be16(out + 2, (uint32_t)(h + l4len));
		be16(out + 4, id);
		out[8] = 64;
		out[9] = proto;
		memcpy(out + 12, src, 4);
		memcpy(out + 16, dst, 4);
		be16(out + 10, csum(out, 20, 0));
	}
	memcpy(out + h, l4, l4len);
	return h + l4len;
}

static size_t
udp_packet(uint8_t *out, int v6, const uint8_t *src, const uint8_t *dst,
    uint16_t sport, uint16_t dport, uint16_t id, size_t paylen)
{
	uint8_t u[8 + MAX_PAYLOAD];

	be16(u, sport);
	be16(u + 2, dport);
	be16(u + 4, (uint32_t)(8 + paylen));
	be16(u + 6, 0);
	for (size_t i = 0; i < paylen; i++)
		u[8 + i] = (uint8_t)('a' + (id + i) % 26);
	be16(u + 6, csum(u, 8 + paylen, id));	/* any fixed value will do */
	return ip_packet(out, v6, src, dst, 17, id, u, 8 + paylen);
}

/*
 * ICMP(v6) error from rep about the packet q, quoted as far as the error
 * stays within 576 bytes (ICMPv6: 1280), as RFC 1812 and RFC 4443 allow.
 */
static size_t
icmp_error(uint8_t *out, int v6, const uint8_t *rep, const uint8_t *to,
    uint8_t type, uint8_t code, const uint8_t *q, size_t qlen)
{
	uint8_t m[8 + MAX_PKT];

	memset(m, 0, 8);
	m[0] = type;
	m[1] = code;
	size_t room = v6 ? 1280 - 40 - 8 : 576 - 20 - 8;
	if (qlen > room)
		qlen = room;
	memcpy(m + 8, q, qlen);
	be16(m + 2, csum(m, 8 + qlen, 0));	/* ICMPv6's pseudo-header: not checked */
	return ip_packet(out, v6, rep, to, 1, 0, m, 8 + qlen);
}

static void
heap_push(struct event *h, size_t *n, struct event e)
{
	size_t i = (*n)++;

	while (i > 0 && h[(i - 1) / 2].t > e.t) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = e;
}

static struct event
heap_pop(struct event *h, size_t *n)
{
	struct event top = h[0], last = h[--*n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= *n)
			break;
		if (c + 1 < *n && h[c + 1].t < h[c].t)
			c++;
		if (h[c].t >= last.t)
			break;
		h[i] = h[c];
		i = c;
	}
	if (*n > 0)
		h[i] = last;
	return top;
}

int
main(int argc, char **argv)
{
	if (argc < 3)
		errx(2, "usage: gen-capture OUT.pcap PACKETS [FLOWS] [SPAN] [SEED] [MIX]");
	uint64_t packets = strtoull(argv[2], NULL, 10);
	uint64_t flows = argc > 3 ? strtoull(argv[3], NULL, 10) : packets / 10;
	int64_t span = argc > 4 ? strtoll(argv[4], NULL, 10) : 7200;
	rng_state = argc > 5 ? strtoull(argv[5], NULL, 10) : 1;
	const char *mix = argc > 6 ? argv[6] : "min";
	int gateway = strcmp(mix, "gateway") == 0;
	if (!gateway && strcmp(mix, "min") != 0)
		errx(2, "MIX %s: min or gateway", mix);
	if (rng_state == 0)
		rng_state = 1;
	if (flows == 0 || packets / flows < 2 || flows > UINT32_MAX || span < 1)
		errx(2, "need at least 2 packets a flow, a span of 1 s or more");
	uint32_t per = (uint32_t)(packets / flows) & ~1u;	/* even */

	struct flow *fl = calloc(flows, sizeof(*fl));
	struct event *heap = calloc(flows, sizeof(*heap));
	if (fl == NULL || heap == NULL)
		err(1, "memory");
	int64_t end = (int64_t)time(NULL) * 1000000;
	int64_t start = end - span * 1000000 - (int64_t)per * GAP_US;
	size_t nheap = 0;
	for (uint64_t i = 0; i < flows; i++) {
		uint64_t r = rng();
		uint32_t pick = (uint32_t)(r % 100);
		fl[i].id = (uint32_t)i;
		fl[i].v6 = (r >> 32) % 10 == 0;
		if (gateway)
			gateway_flow(&fl[i], pick);
		else {
			fl[i].kind = pick < 60 ? ANSWERED : pick < 75 ?
			    REFUSED : pick < 80 ? HOST_UNREACH : SILENT;
			fl[i].req = 16;
			fl[i].rep = 24;
			fl[i].port = 53;
		}
		/* 128 bits: i * span in microseconds overflows 64 for long spans */
		fl[i].t0 = start + (int64_t)((unsigned __int128)i * (uint64_t)span *
		    1000000 / flows);
	}

	FILE *out = fopen(argv[1], "wb");
	if (out == NULL)
		err(1, "%s", argv[1]);
	setvbuf(out, NULL, _IOFBF, 1 << 20);
	const uint32_t fh[6] = { 0xa1b2c3d4, 2 | 4 << 16, 0, 0, 65535, 1 };
	fwrite(fh, 4, 6, out);
	static const uint8_t eth4[14] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2,
	    0x08, 0x00 };
	static const uint8_t eth6[14] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2,
	    0x86, 0xdd };
	static const uint8_t router4[16] = { 198, 18, 255, 1 };
	static const uint8_t router6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

	/* the heap holds each started flow's next packet, in time order */
	uint64_t next_flow = 0, written = 0;
	for (;;) {
		if (next_flow < flows && (nheap == 0 ||
		    fl[next_flow].t0 <= heap[0].t)) {
			heap_push(heap, &nheap, (struct event){ fl[next_flow].t0,
			    (uint32_t)next_flow, 0 });
			next_flow++;
			continue;
		}
		if (nheap == 0)
			break;
		struct event e = heap_pop(heap, &nheap);
		const struct flow *f = &fl[e.flow];
		uint8_t c[16], s[16], pkt[MAX_PKT * 2], q[MAX_PKT + 8];
		uint16_t cp, sp;
		size_t len;
		endpoints(f, c, s, &cp, &sp);
		uint16_t ipid = (uint16_t)(f->id * 7 + e.j / 2);
		int errkind = f->kind == REFUSED || f->kind == HOST_UNREACH;

		if (f->kind == ANSWERED && (e.j & 1))
			len = udp_packet(pkt, f->v6, s, c, sp, cp, ipid, f->rep);
		else if (errkind && (e.j & 1)) {
			size_t qlen = udp_packet(q, f->v6, c, s, cp, sp, ipid,
			    f->req);
			if (f->kind == REFUSED)
				len = icmp_error(pkt, f->v6, s, c, f->v6 ? 1 : 3,
				    f->v6 ? 4 : 3, q, qlen);
			else
				len = icmp_error(pkt, f->v6, f->v6 ? router6 :
				    router4, c, f->v6 ? 1 : 3, f->v6 ? 3 : 1, q,
				    qlen);
		} else
			len = udp_packet(pkt, f->v6, c, s, cp, sp, ipid, f->req);

		uint32_t rec[4] = { (uint32_t)(e.t / 1000000),
		    (uint32_t)(e.t % 1000000), (uint32_t)len + 14,
		    (uint32_t)len + 14 };
		fwrite(rec, 4, 4, out);
		fwrite(f->v6 ? eth6 : eth4, 1, 14, out);
		fwrite(pkt, 1, len, out);
		written++;

		if (++e.j < per) {
			/* errors follow their datagram closely */
			int64_t base = f->t0 + (int64_t)(e.j / 2) * 2 * GAP_US;
			if (!(e.j & 1))
				e.t = base;
			else if (f->kind == REFUSED)
				e.t = base + 300;
			else if (f->kind == HOST_UNREACH)
				e.t = base + 1000;
			else
				e.t = base + GAP_US;
			heap_push(heap, &nheap, e);
		}
	}
	if (fclose(out) != 0)
		err(1, "%s", argv[1]);
	printf("%llu packets, %llu flows\n", (unsigned long long)written,
	    (unsigned long long)flows);
	free(fl);
	free(heap);
	return 0;
}
