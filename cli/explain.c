/*
 * --explain: what the capture shows of a flow, and what that usually
 * means. Facts first (counts, who reported what, when), then the reading.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/explain.h"
#include "cli/icmp_text.h"
#include "cli/render.h"
#include "store/flow_json.h"
#include "store/flowstate.h"

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
	char t[40];

	time_iso(us, t, sizeof(t));
	snprintf(buf, len, "%.8s", t + 11);
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
service(const struct store_flow *f, char *buf, size_t len)
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
error_meaning(struct para *p, const struct store_flow *f,
    const struct store_error *e)
{
	char rep[64], svc[32];
	int from_dst = error_from_destination(f, e);
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

void
explain_flow(FILE *out, const struct store_flow *f, size_t width)
{
	struct para p = { .len = 0 };
	char src[80], dst[80], first[40], last[40], svc[32];
	const char *unit = f->proto == 6 ? "segment" : f->proto == 17 ?
	    "datagram" : "packet";
	const char *state = flow_state_name(f->state);

	endpoint_text(src, sizeof(src), f->family, f->src, f->has_ports,
	    f->sport);
	endpoint_text(dst, sizeof(dst), f->family, f->dst, f->has_ports,
	    f->dport);
	time_iso(f->first_us, first, sizeof(first));
	hhmmss(f->last_us, last, sizeof(last));
	service(f, svc, sizeof(svc));
	char head[512];
	snprintf(head, sizeof(head), "%s %s -> %s: %s (%.10s %.8s to %s UTC)",
	    svc, src, dst, state ? state : "?", first, first + 11, last);
	print_wrapped(out, head, 0, width);

	/* What was seen each way. */
	if (f->pkts_sent == 0)
		add(&p, "No %s of it was captured (the capture began later, or "
		    "saw only the answer); ", unit);
	else
		add(&p, "%llu %s%s sent (%llu bytes), ",
		    (unsigned long long)f->pkts_sent, unit,
		    f->pkts_sent == 1 ? "" : "s",
		    (unsigned long long)f->bytes_sent);
	if (f->pkts_back == 0)
		add(&p, "no reply. ");
	else
		add(&p, "%llu came back (%llu bytes). ",
		    (unsigned long long)f->pkts_back,
		    (unsigned long long)f->bytes_back);

	/* Who reported what, and what it usually means. */
	for (size_t i = 0; i < f->nerrors; i++) {
		const struct store_error *e = &f->errors[i];
		char rep[64], when[16];
		addr_text(e->family, e->reporter, rep, sizeof(rep));
		hhmmss(e->first_us, when, sizeof(when));
		if (error_from_destination(f, e))
			add(&p, "%s itself answered %s ", rep,
			    icmp_error_text(e->family, e->type, e->code));
		else if (error_from_source(f, e))
			add(&p, "The sender %s itself answered %s ", rep,
			    icmp_error_text(e->family, e->type, e->code));
		else
			add(&p, "Router %s reported %s ", rep,
			    icmp_error_text(e->family, e->type, e->code));
		add_count(&p, e->count);
		if (e->has_mtu)
			add(&p, " (MTU %u)", e->mtu);
		add(&p, ", first at %s", when);
		if (error_from_source(f, e))
			add(&p, ": an answer came back after its socket had "
			    "closed (a late reply; the sender gave up waiting)");
		else if (f->pkts_back > 0 && f->state == STATE_REFUSED &&
		    icmp_error_state(e->family, e->type, e->code) ==
		    STATE_REFUSED)
			add(&p, ": answered until then, then port unreachable: "
			    "the server stopped mid-conversation");
		else
			error_meaning(&p, f, e);
		add(&p, ". ");
	}

	if (f->nerrors == 0) {
		switch (f->state) {
		case STATE_REFUSED:
			add(&p, "The destination answered the SYN with a reset "
			    "(RST): nothing listens on %s there, or a firewall "
			    "rejects with tcp-reset.", svc);
			break;
		case STATE_SILENT:
			if (f->proto == 6)
				add(&p, "The SYN was sent %llu time%s and nothing "
				    "came back, not even ICMP: a firewall DROP, "
				    "or the host is down behind a router that "
				    "sends no ICMP.",
				    (unsigned long long)f->pkts_sent,
				    f->pkts_sent == 1 ? "" : "s");
			else
				add(&p, "Nothing came back and no ICMP: dropped "
				    "by a firewall, a host down behind a router "
				    "that sends no ICMP, or a server that "
				    "received it and did not answer.");
			break;
		case STATE_ANSWERED:
			add(&p, "It was answered and drew no ICMP error.");
			break;
		}
	}
	while (p.len > 0 && p.text[p.len - 1] == ' ')
		p.text[--p.len] = '\0';

	print_wrapped(out, p.text, 2, width ? width : 80);
	fputc('\n', out);
}
