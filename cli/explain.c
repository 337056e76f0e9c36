/*
 * --explain: what the capture shows of a flow, and what that usually
 * means. Facts first (counts, who reported what, when), then the reading.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/clock.h"
#include "cli/explain.h"
#include "cli/icmp_text.h"
#include "cli/render.h"
#include "common/encap.h"
#include "common/flow_json.h"
#include "common/text.h"
#include "common/flowstate.h"

struct para {
	char	text[4096];
	size_t	len;
};

static void add(struct para *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
add(struct para *p, const char *fmt, ...)
{
	va_list ap;

	if (p->len >= sizeof(p->text))
		return;
	va_start(ap, fmt);
	int n = vsnprintf(p->text + p->len, sizeof(p->text) - p->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		p->len += (size_t)n;
}

static void
hhmmss(int64_t us, char *buf, size_t len)
{
	clock_hms(us, buf, len);
}

static void
add_count(struct para *p, uint64_t n)
{
	if (n == 1)
		add(p, "once");
	else
		add(p, "%llu times", (unsigned long long)n);
}

/* "udp/9999", "tcp/443", or the protocol alone. */
static void
service(const struct flow_record *f, char *buf, size_t len)
{
	char pbuf[8];
	const char *proto = proto_name(f->proto, pbuf, sizeof(pbuf));

	if (f->has_ports)
		snprintf(buf, len, "%s/%u", proto, f->dport);
	else
		snprintf(buf, len, "%s", proto);
}

/* What one error usually means, given who sent it. */
static void
error_meaning(struct para *p, const struct flow_record *f,
    const struct error_record *e)
{
	char rep[64], svc[32];
	int from_dst = error_role(f, e) == ROLE_DESTINATION;
	int state = icmp_error_state(e->family, e->type, e->code);

	addr_text(e->family, e->reporter, rep, sizeof(rep));
	service(f, svc, sizeof(svc));
	switch (state) {
	case STATE_REFUSED:
		if (from_dst)
			add(p, ": nothing listens on %s there (the service is "
			    "down or on another port)", svc);
		else
			add(p, ", but from a router, not from the "
			    "destination: a firewall REJECT rule on the way, "
			    "not a closed port");
		break;
	case STATE_HOST_UNREACH:
		add(p, from_dst ? ": the destination says it cannot be reached" :
		    ": the host did not answer ARP/ND on the router's link "
		    "(it is down, gone, or has another address)");
		break;
	case STATE_NET_UNREACH:
		add(p, ": %s has no route to the destination's network", rep);
		break;
	case STATE_PROTO_UNREACH:
		add(p, ": the destination does not handle this protocol");
		break;
	case STATE_PROHIBITED:
		add(p, ": a firewall rule on %s rejects it (REJECT with "
		    "prohibited)", rep);
		break;
	case STATE_FRAG_NEEDED:
		if (e->has_mtu)
			add(p, ": a link after %s carries at most %u bytes, "
			    "and the packet may not be fragmented; the sender "
			    "must send smaller packets (path MTU discovery)",
			    rep, e->mtu);
		else
			add(p, ": a link on the way is too small for the "
			    "packet");
		break;
	case STATE_TTL_EXCEEDED:
		add(p, ": its TTL ran out at router %s (a routing loop, or a "
		    "deliberately low TTL as traceroute sends)", rep);
		break;
	case STATE_PARAM_PROBLEM:
		add(p, ": %s found something wrong in the packet's headers", rep);
		break;
	default:
		break;
	}
}

static void
add_duration(struct para *p, int64_t us)
{
	if (us < 1000)
		add(p, "%lld us", (long long)us);
	else if (us < 1000000)
		add(p, "%.1f ms", (double)us / 1000);
	else
		add(p, "%.2f s", (double)us / 1000000);
}

/* What matching the quote to a captured packet told. */
static void
error_evidence(struct para *p, const struct flow_record *f,
    const struct error_record *e)
{
	int hops = flow_error_hops(f, e);

	if (e->rtt_us >= 0) {
		add(p, ", ");
		add_duration(p, e->rtt_us);
		add(p, " after the packet it quotes");
		if (icmp_error_state(e->family, e->type, e->code) ==
		    STATE_HOST_UNREACH && e->rtt_us >= 500000)
			add(p, ", the time the router spent resolving the "
			    "address");
	}
	if (hops > 0)
		add(p, " (the router is about %d hop%s past the capture point)",
		    hops, hops == 1 ? "" : "s");
	if (e->altered > 0)
		add(p, "; the quoted packet had been rewritten on the way "
		    "(NAT) and was matched by its IP ID and length");
}

/*
 * Routers and hosts send about one ICMP error per second per destination
 * (Linux: icmp_ratelimit 1000 ms, with a burst), so packets without an
 * error after one that had one were not answered either.
 */
static void
rate_limited(struct para *p, const struct flow_record *f, const char *unit)
{
	if (!flow_errors_rate_limited(f))
		return;
	add(p, "%llu of the %llu %ss sent drew an error; the others drew none "
	    "most likely because ICMP errors are rate-limited (about one per "
	    "second per destination), not because they got through. ",
	    (unsigned long long)f->pkts_errored,
	    (unsigned long long)f->pkts_sent, unit);
}

static void
tcp_reset(struct para *p, const struct flow_record *f, const char *svc)
{
	char dst[64];

	addr_text(f->family, f->dst, dst, sizeof(dst));
	switch (rst_origin(f->rst_ttl, f->dst_ttl)) {
	case RST_DESTINATION:
		add(p, "The SYN was answered with a reset (RST) with the same "
		    "TTL (%u) as %s's other packets: the destination itself "
		    "refused it, nothing listens on %s there. ", f->rst_ttl,
		    dst, svc);
		break;
	case RST_ON_PATH: {
		int closer = ttl_hops(f->dst_ttl) - ttl_hops(f->rst_ttl);
		add(p, "The SYN was answered with a reset (RST) with TTL %u, "
		    "but %s's own packets arrive with TTL %u: ", f->rst_ttl,
		    dst, f->dst_ttl);
		if (closer > 0)
			add(p, "it was sent by something %d hop%s closer, ",
			    closer, closer == 1 ? "" : "s");
		else
			add(p, "it was sent by another system, ");
		add(p, "a firewall rejecting with tcp-reset, not by the "
		    "destination (the service may well be up). ");
		break;
	}
	default:
		add(p, "The SYN was answered with a reset (RST): nothing "
		    "listens on %s there, or a firewall rejects with "
		    "tcp-reset (no other packet of %s was captured to tell "
		    "which by its TTL). ", svc, dst);
	}
}

static void
tcp_silent(struct para *p, const struct flow_record *f)
{
	if (f->syns > 1) {
		add(p, "The SYN was sent %u times over ", f->syns);
		add_duration(p, f->syn_span_us);
		add(p, " (%u retransmissions)", f->syns - 1);
	} else {
		add(p, "The SYN was sent %u time%s", f->syns,
		    f->syns == 1 ? "" : "s");
	}
	add(p, " and nothing came back, not even ICMP: a firewall DROP, or "
	    "the host is down behind a router that sends no ICMP.");
}

static void
tcp_end(struct para *p, const struct flow_record *f)
{
	const char *by = f->end_by ? "destination" : "source";
	const char *other = f->end_by ? "source" : "destination";

	switch (f->end) {
	case END_FIN:
		add(p, "The connection was established and closed in order: "
		    "the %s sent FIN first (its program closed the socket or "
		    "exited, or was killed).", by);
		break;
	case END_RST:
		add(p, "The connection was established, then reset "
		    "mid-stream by the %s (RST, no FIN before): its program "
		    "crashed or aborted, or its host lost the connection "
		    "and answered the next segment with a reset", by);
		if (f->end_by && rst_origin(f->rst_ttl, f->dst_ttl) ==
		    RST_ON_PATH)
			add(p, "; but the reset's TTL (%u) is not that of the "
			    "destination's packets (%u): something on the way "
			    "forged it", f->rst_ttl, f->dst_ttl);
		add(p, ".");
		break;
	case END_TIMEOUT:
		add(p, "The connection was established, then the %s "
		    "retransmitted data and nothing came back: the %s stopped "
		    "answering (its host lost power or its link went down, or "
		    "the path failed).", other, by);
		break;
	case END_OPEN:
		add(p, "The connection was established and still open when "
		    "last seen.");
		break;
	}
}

/* The head line: service, endpoints, state and when. */
static void
explain_head(FILE *out, const struct flow_record *f, const char *gateway,
    const char *svc, size_t width)
{
	char src[80], dst[80], first[40], last[40], zone[16], head[512];
	const char *state = flow_state_name(f->state);

	endpoint_text(src, sizeof(src), f->family, f->src, f->has_ports,
	    f->sport, f->proto);
	endpoint_text(dst, sizeof(dst), f->family, f->dst, f->has_ports,
	    f->dport, f->proto);
	clock_datetime(f->first_us, first, sizeof(first));
	if (clock_same_day(f->first_us, f->last_us))
		clock_hms(f->last_us, last, sizeof(last));
	else
		clock_datetime(f->last_us, last, sizeof(last));
	clock_zone(f->first_us, zone, sizeof(zone));
	snprintf(head, sizeof(head), "%s%s%s %s -> %s: %s (%s to %s %s)",
	    gateway ? gateway : "", gateway ? ": " : "", svc, src, dst,
	    state ? state : "?", first, last, zone);
	print_wrapped(out, head, 0, width);
}

/* What was seen each way. */
static void
explain_packets(struct para *p, const struct flow_record *f, const char *unit)
{
	if (f->pkts_sent == 0)
		add(p, "No %s of it was captured (the capture began later, or "
		    "saw only the answer); ", unit);
	else
		add(p, "%llu %s%s sent (%llu bytes), ",
		    (unsigned long long)f->pkts_sent, unit,
		    f->pkts_sent == 1 ? "" : "s",
		    (unsigned long long)f->bytes_sent);
	if (f->pkts_back == 0)
		add(p, "no reply. ");
	else
		add(p, "%llu came back (%llu bytes). ",
		    (unsigned long long)f->pkts_back,
		    (unsigned long long)f->bytes_back);
}

/* Who reported error e, and what it usually means. */
static void
explain_error(struct para *p, const struct flow_record *f,
    const struct error_record *e)
{
	char rep[64], when[16];
	enum error_role role = error_role(f, e);

	addr_text(e->family, e->reporter, rep, sizeof(rep));
	hhmmss(e->first_us, when, sizeof(when));
	if (role == ROLE_DESTINATION)
		add(p, "%s itself answered %s ", rep,
		    icmp_error_text(e->family, e->type, e->code));
	else if (role == ROLE_SOURCE)
		add(p, "The sender %s itself answered %s ", rep,
		    icmp_error_text(e->family, e->type, e->code));
	else
		add(p, "Router %s reported %s ", rep,
		    icmp_error_text(e->family, e->type, e->code));
	add_count(p, e->count);
	if (e->has_mtu)
		add(p, " (MTU %u)", e->mtu);
	add(p, ", first at %s", when);
	error_evidence(p, f, e);
	if (role == ROLE_SOURCE)
		add(p, ": an answer came back after its socket had "
		    "closed (a late reply; the sender gave up waiting)");
	else if (f->pkts_back > 0 && f->state == STATE_REFUSED &&
	    icmp_error_state(e->family, e->type, e->code) ==
	    STATE_REFUSED)
		add(p, ": answered until then, then port unreachable: "
		    "the server stopped mid-conversation");
	else
		error_meaning(p, f, e);
	add(p, ". ");
}

/* A flow without errors: what silence or an answer means. */
static void
explain_no_error(struct para *p, const struct flow_record *f, int blind)
{
	const char *icmp = f->family == 6 ? "ICMPv6" : "ICMP";

	/* no ICMP in the capture at all: silence says nothing */
	if (blind && flow_went_silent(f)) {
		add(p, "Nothing came back, but the capture holds not one %s "
		    "packet, so it cannot tell a firewall's DROP from a closed "
		    "port or a host that is gone: it was most likely captured "
		    "with a filter that leaves %s out (%s). Capture with 'udp "
		    "or tcp or icmp or icmp6' to tell.", icmp, icmp,
		    f->family == 6 ? "tcpdump's 'udp or icmp' does" :
		    "'udp' alone does");
		return;
	}
	switch (f->state) {
	case STATE_SILENT:
		if (f->proto == 6)
			tcp_silent(p, f);
		else
			add(p, "Nothing came back and no ICMP: dropped "
			    "by a firewall, a host down behind a router "
			    "that sends no ICMP, or a server that "
			    "received it and did not answer.");
		break;
	case STATE_ANSWERED:
		if (f->proto != 6)
			add(p, "It was answered and drew no ICMP "
			    "error.");
		break;
	}
}

/* How the flow was carried: VLAN tags, PPPoE, labels, tunnels. */
static void
explain_carried(struct para *p, const struct flow_record *f)
{
	char words[1024];

	if (f->encap == NULL || f->encap->n == 0)
		return;
	encap_words(f->encap, words, sizeof(words));
	add(p, "%s in %s. ", f->encap->tunnel ? "Its packets were carried" :
	    "Carried", words);
}

/*
 * A tunnel's own flow: the outer conversation of endpoints that carry
 * other flows. An error about it is an error about every flow inside.
 */
static void
explain_tunnel(struct para *p, const struct flow_record *f, long long carried)
{
	char src[64], dst[64];
	const char *title = encap_kind_title(f->encap->tunnel);
	int overhead = encap_overhead(f->encap->tunnel);
	uint32_t mtu = 0;
	int unreachable = 0;

	addr_text(f->family, f->src, src, sizeof(src));
	addr_text(f->family, f->dst, dst, sizeof(dst));
	add(p, "This is the %s tunnel from %s to %s itself", title, src, dst);
	if (carried >= 0)
		add(p, ", which carried %lld %s while it was seen", carried,
		    carried == 1 ? "flow" : "flows");
	add(p, ". ");
	for (size_t i = 0; i < f->nerrors; i++) {
		const struct error_record *e = &f->errors[i];
		int st = icmp_error_state(e->family, e->type, e->code);
		if (e->has_mtu && (mtu == 0 || e->mtu < mtu))
			mtu = e->mtu;
		unreachable |= st != STATE_FRAG_NEEDED &&
		    st != STATE_TTL_EXCEEDED && st != STATE_PARAM_PROBLEM;
	}
	if (mtu > 0)
		add(p, "The error is about the tunnel's packets, not the "
		    "flows inside it: every inner packet larger than %u "
		    "bytes less the %d or so the tunnel adds (about %d) is "
		    "dropped on the tunnel's path, and the hosts inside are "
		    "not told unless tunnel endpoint %s passes the news on. "
		    "That is the tunnel path MTU black hole: small packets "
		    "pass, large ones vanish (a TCP connection opens, then "
		    "stalls at its first full-size segment). ", mtu, overhead,
		    mtu > (uint32_t)overhead ? (int)mtu - overhead : 0, src);
	else if (unreachable)
		add(p, "The error is about the tunnel's packets: everything "
		    "carried in it met the same fate, and the hosts inside "
		    "got no ICMP error of their own, so to them their "
		    "traffic just vanished. ");
}

/*
 * A carried flow whose tunnel drew errors from the underlay: the flow's
 * packets went the same way, and nobody inside was told. 1 when that
 * explains the flow's silence.
 */
static int
explain_tunnel_errors(struct para *p, const struct flow_record *f,
    const struct explain_ctx *x)
{
	const struct encap_layer *l = x->tunnel;
	char src[64], dst[64], rep[64], when[16];
	int explains = 0;

	if (l == NULL || x->ntunnel_errors == 0)
		return 0;
	addr_text(l->family, l->src, src, sizeof(src));
	addr_text(l->family, l->dst, dst, sizeof(dst));
	for (size_t i = 0; i < x->ntunnel_errors; i++) {
		const struct error_record *e = &x->tunnel_errors[i];
		int st = icmp_error_state(e->family, e->type, e->code);
		addr_text(e->family, e->reporter, rep, sizeof(rep));
		hhmmss(e->first_us, when, sizeof(when));
		add(p, "The %s tunnel it was carried in (%s to %s) drew %s",
		    encap_kind_title(l->kind), src, dst,
		    icmp_error_text(e->family, e->type, e->code));
		if (e->has_mtu)
			add(p, " (MTU %u)", e->mtu);
		add(p, " from %s at %s", rep, when);
		if (st == STATE_FRAG_NEEDED && e->has_mtu && f->pkts_sent > 0) {
			uint64_t avg = f->bytes_sent / f->pkts_sent;
			int over = encap_overhead(l->kind);
			if (avg + (uint64_t)over > e->mtu) {
				add(p, ": its packets (%llu bytes on average) "
				    "with the %d the tunnel adds are larger than "
				    "that, so they were dropped on the tunnel's "
				    "path and the sender inside was never told "
				    "(a tunnel path MTU black hole)",
				    (unsigned long long)avg, over);
				explains = f->pkts_back == 0;
			} else
				add(p, ": its own packets were small enough to "
				    "pass");
		} else if (st != STATE_TTL_EXCEEDED &&
		    st != STATE_PARAM_PROBLEM) {
			add(p, ": what the tunnel carried was lost with it, "
			    "and the sender inside was never told");
			explains = f->pkts_back == 0;
		}
		add(p, ". ");
	}
	return explains;
}

void
explain_flow(FILE *out, const struct flow_record *f,
    const struct explain_ctx *x, size_t width)
{
	long long carried = x ? x->carried : -1;
	int tunnel_says = 0;
	struct para p = { .len = 0 };
	char svc[32];
	const char *unit = f->proto == 6 ? "segment" : f->proto == 17 ?
	    "datagram" : "packet";

	service(f, svc, sizeof(svc));
	explain_head(out, f, x ? x->gateway : NULL, svc, width);
	explain_packets(&p, f, unit);
	explain_carried(&p, f);
	if (x != NULL)
		tunnel_says = explain_tunnel_errors(&p, f, x);
	for (size_t i = 0; i < f->nerrors; i++)
		explain_error(&p, f, &f->errors[i]);
	if (f->encap != NULL && f->encap->tunnel != ENCAP_NONE)
		explain_tunnel(&p, f, carried);
	rate_limited(&p, f, unit);
	if (f->proto == 6 && f->state == STATE_REFUSED && f->rst_ttl != 0)
		tcp_reset(&p, f, svc);
	else if (f->proto == 6 && f->end != END_NONE)
		tcp_end(&p, f);
	if (f->nerrors == 0 && !tunnel_says &&
	    (f->encap == NULL || !f->encap->tunnel))
		explain_no_error(&p, f, x != NULL && x->icmp_blind);
	while (p.len > 0 && p.text[p.len - 1] == ' ')
		p.text[--p.len] = '\0';

	print_wrapped(out, p.text, 2, width ? width : 80);
	fputc('\n', out);
}
