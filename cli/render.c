#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/icmp_text.h"
#include "cli/render.h"
#include "common/encap.h"
#include "common/flow_json.h"
#include "common/text.h"
#include "common/flowstate.h"

void
endpoint_text(char *buf, size_t len, uint8_t family, const uint8_t *addr,
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

const char *
role_text(enum error_role role)
{
	switch (role) {
	case ROLE_DESTINATION:	return "the destination";
	case ROLE_SOURCE:	return "the source";
	default:		return "router";
	}
}

const char *
state_color(int state)
{
	switch (state) {
	case STATE_REFUSED:
	case STATE_PROHIBITED:
		return "\033[31m";		/* red */
	case STATE_ANSWERED:
		return "\033[32m";		/* green */
	case STATE_SILENT:
		return "\033[35m";		/* magenta */
	}
	return "\033[33m";			/* yellow: the unreachables */
}

/* "port unreachable x3 from the destination 198.18.1.2; ..." */
static void
errors_line(const struct flow_record *f, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	/* a tunnel's own flow says so: its packets carry other flows */
	if (f->encap != NULL && f->encap->tunnel != ENCAP_NONE)
		n += (size_t)snprintf(buf, len, "the %s tunnel itself%s",
		    encap_kind_title(f->encap->tunnel), f->nerrors ? ": " : "");
	if (f->nerrors == 0 && f->state == STATE_REFUSED && f->proto == 6) {
		switch (rst_origin(f->rst_ttl, f->dst_ttl)) {
		case RST_DESTINATION:
			snprintf(buf, len, "the destination answered the SYN "
			    "with a reset (RST)");
			break;
		case RST_ON_PATH:
			snprintf(buf, len, "a reset (RST) forged on the way "
			    "answered the SYN (TTL %u; the destination's %u)",
			    f->rst_ttl, f->dst_ttl);
			break;
		default:
			snprintf(buf, len, "a reset (RST) answered the SYN");
		}
		return;
	}
	for (size_t i = 0; i < f->nerrors && n < len; i++) {
		const struct error_record *e = &f->errors[i];
		char rep[64], mtu[32] = "";

		addr_text(e->family, e->reporter, rep, sizeof(rep));
		if (e->has_mtu)
			snprintf(mtu, sizeof(mtu), " (MTU %u)", e->mtu);
		n += (size_t)snprintf(buf + n, len - n, "%s%s%s x%u from %s %s",
		    i ? "; " : "", icmp_error_text(e->family, e->type, e->code),
		    mtu, e->count, role_text(error_role(f, e)), rep);
	}
	if (n < len && flow_errors_rate_limited(f))
		n += (size_t)snprintf(buf + n, len - n, " (for %llu of %llu "
		    "sent: rate-limited)", (unsigned long long)f->pkts_errored,
		    (unsigned long long)f->pkts_sent);
	if (n < len && f->end != END_NONE) {
		const char *by = f->end_by ? "the destination" : "the source";
		char what[96];
		switch (f->end) {
		case END_FIN:
			snprintf(what, sizeof(what), "closed by %s (FIN)", by);
			break;
		case END_RST:
			snprintf(what, sizeof(what), "reset by %s (RST)", by);
			break;
		case END_TIMEOUT:
			snprintf(what, sizeof(what), "%s stopped answering "
			    "(retransmissions)", by);
			break;
		default:
			snprintf(what, sizeof(what), "still open");
		}
		snprintf(buf + n, len - n, "%s%s", n ? "; " : "", what);
	}
}

enum { C_STATE, C_PROTO, C_SRC, C_DST, C_SENT, C_BACK, C_FIRST, C_LAST,
    NCOLS };
static const char *const headers[NCOLS] = {
	"STATE", "PROTO", "SOURCE", "DESTINATION", "SENT", "BACK",
	"FIRST (UTC)", "LAST (UTC)",
};
/* Dropped first when the terminal is too narrow. */
static const int drop_order[] = { C_LAST, C_FIRST, C_PROTO };

static void
table_time(int64_t us, char *buf, size_t len)
{
	char t[40];

	time_iso(us, t, sizeof(t));
	t[10] = ' ';
	t[19] = '\0';			/* seconds are enough in a table */
	snprintf(buf, len, "%s", t);
}

static void
cells(const struct flow_record *f, char c[NCOLS][80])
{
	const char *state = flow_state_name(f->state);

	char pbuf[8];

	snprintf(c[C_STATE], 80, "%s", state ? state : "?");
	/* an IP tunnel's flow by its kind: "6in4" says more than "41" */
	if (f->encap != NULL && f->encap->tunnel != ENCAP_NONE &&
	    f->proto != 17)
		snprintf(c[C_PROTO], 80, "%s", encap_kind_name(f->encap->tunnel));
	else
		snprintf(c[C_PROTO], 80, "%s", proto_name(f->proto, pbuf,
		    sizeof(pbuf)));
	endpoint_text(c[C_SRC], 80, f->family, f->src, f->has_ports, f->sport);
	endpoint_text(c[C_DST], 80, f->family, f->dst, f->has_ports, f->dport);
	snprintf(c[C_SENT], 80, "%llu", (unsigned long long)f->pkts_sent);
	snprintf(c[C_BACK], 80, "%llu", (unsigned long long)f->pkts_back);
	table_time(f->first_us, c[C_FIRST], 80);
	table_time(f->last_us, c[C_LAST], 80);
}

void
print_wrapped(FILE *out, const char *text, size_t indent, size_t width)
{
	size_t room = width > indent + 20 ? width - indent : 0;

	while (*text != '\0') {
		size_t n = strlen(text);
		if (room > 0 && n > room) {
			n = room;
			while (n > 0 && text[n] != ' ')
				n--;
			if (n == 0)
				n = room;
		}
		fprintf(out, "%*s%.*s\n", (int)indent, "", (int)n, text);
		text += n;
		while (*text == ' ')
			text++;
	}
}

void
render_table(const struct flowvec *fv, const struct render_opts *ro)
{
	size_t w[NCOLS], total = 0;
	int show[NCOLS];
	char c[NCOLS][80], why[2048];

	for (int i = 0; i < NCOLS; i++) {
		w[i] = strlen(headers[i]);
		show[i] = 1;
	}
	for (size_t r = 0; r < fv->n; r++) {
		cells(&fv->v[r], c);
		for (int i = 0; i < NCOLS; i++)
			if (strlen(c[i]) > w[i])
				w[i] = strlen(c[i]);
	}
	for (int i = 0; i < NCOLS; i++)
		total += w[i] + 2;
	for (size_t d = 0; ro->width > 0 && total - 2 > ro->width &&
	    d < sizeof(drop_order) / sizeof(drop_order[0]); d++) {
		show[drop_order[d]] = 0;
		total -= w[drop_order[d]] + 2;
	}

	int last = NCOLS - 1;
	while (!show[last])
		last--;
	for (int i = 0; i < last; i++)
		if (show[i])
			printf("%-*s  ", (int)w[i], headers[i]);
	printf("%s\n", headers[last]);
	for (size_t r = 0; r < fv->n; r++) {
		const struct flow_record *f = &fv->v[r];
		cells(f, c);
		for (int i = 0; i <= last; i++) {
			if (!show[i])
				continue;
			int right = i == C_SENT || i == C_BACK;
			int width = i == last ? 0 : (int)w[i];
			if (i == C_STATE && ro->color)
				printf("%s%-*s%s  ", state_color(f->state),
				    width, c[i], COLOR_RESET);
			else if (i == last)
				printf("%s\n", c[i]);
			else
				printf("%*s  ", right ? width : -width, c[i]);
		}
		errors_line(f, why, sizeof(why));
		if (why[0] != '\0')
			print_wrapped(stdout, why, w[C_STATE] + 2, ro->width);
	}
}

/* RFC 4180: quote a field that holds a comma, a quote or a line break. */
static void
csv_field(const char *s, int last)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, stdout);
	} else {
		putchar('"');
		for (; *s; s++) {
			if (*s == '"')
				putchar('"');
			putchar(*s);
		}
		putchar('"');
	}
	putchar(last ? '\n' : ',');
}

void
render_csv_header(void)
{
	puts("proto,src,sport,dst,dport,first,last,pkts_sent,bytes_sent,"
	    "pkts_back,bytes_back,state,end,errors,tunnel,encap");
}

void
render_csv(const struct flow_record *f)
{
	char a[64], t[40], n[32], pbuf[8], errs[2048];
	size_t len = 0;
	const char *state = flow_state_name(f->state);

	csv_field(proto_name(f->proto, pbuf, sizeof(pbuf)), 0);
	addr_text(f->family, f->src, a, sizeof(a));
	csv_field(a, 0);
	snprintf(n, sizeof(n), "%u", f->sport);
	csv_field(f->has_ports ? n : "", 0);
	addr_text(f->family, f->dst, a, sizeof(a));
	csv_field(a, 0);
	snprintf(n, sizeof(n), "%u", f->dport);
	csv_field(f->has_ports ? n : "", 0);
	time_iso(f->first_us, t, sizeof(t));
	csv_field(t, 0);
	time_iso(f->last_us, t, sizeof(t));
	csv_field(t, 0);
	const uint64_t counts[4] = { f->pkts_sent, f->bytes_sent, f->pkts_back,
	    f->bytes_back };
	for (int i = 0; i < 4; i++) {
		snprintf(n, sizeof(n), "%llu", (unsigned long long)counts[i]);
		csv_field(n, 0);
	}
	csv_field(state ? state : "", 0);
	csv_field(flow_end_name(f->end) ? flow_end_name(f->end) : "", 0);
	/* errors as family/type/code@reporter*count, ';' between them */
	errs[0] = '\0';
	for (size_t i = 0; i < f->nerrors && len < sizeof(errs); i++) {
		const struct error_record *e = &f->errors[i];
		addr_text(e->family, e->reporter, a, sizeof(a));
		len += (size_t)snprintf(errs + len, sizeof(errs) - len,
		    "%s%s/%u/%u@%s*%u", i ? ";" : "",
		    e->family == 6 ? "icmp6" : "icmp", e->type, e->code, a,
		    e->count);
	}
	csv_field(errs, 0);
	/* the tunnel this flow is, and the stored text of its layers */
	const struct flow_encap *e = f->encap;
	csv_field(e && e->tunnel ? encap_kind_name(e->tunnel) : "", 0);
	char layers[ENCAP_TEXT_MAX] = "";
	if (e != NULL)
		encap_text(e, layers, sizeof(layers));
	csv_field(layers, 1);
}

void
render_json(const struct flow_record *f)
{
	json_t *j = flow_json(f);

	if (j == NULL)
		errx(2, "out of memory");
	if (json_line_write(j, stdout) != 0)
		err(2, "stdout");
	json_decref(j);
}
