#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/clock.h"
#include "cli/icmp_text.h"
#include "cli/render.h"
#include "cli/service.h"
#include "common/encap.h"
#include "common/flow_json.h"
#include "common/text.h"
#include "common/flowstate.h"

void
endpoint_text(char *buf, size_t len, uint8_t family, const uint8_t *addr,
    int has_port, uint16_t port, uint8_t proto)
{
	char a[64], name[40] = "";
	const char *svc = has_port ? service_name(port, proto) : NULL;

	addr_text(family, addr, a, sizeof(a));
	if (svc != NULL)
		snprintf(name, sizeof(name), " (%s)", svc);
	if (!has_port)
		snprintf(buf, len, "%s", a);
	else if (family == 6)
		snprintf(buf, len, "[%s]:%u%s", a, port, name);
	else
		snprintf(buf, len, "%s:%u%s", a, port, name);
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

enum { C_GATEWAY, C_STATE, C_PROTO, C_SRC, C_DST, C_SENT, C_BACK, C_FIRST,
    C_LAST, NCOLS };
static const char *const names[NCOLS] = {
	"GATEWAY", "STATE", "PROTO", "SOURCE", "DESTINATION", "SENT", "BACK",
	"FIRST", "LAST",
};

/*
 * How much a table shows, widest first: the first that fits the terminal
 * is used (the last when none does), and what it leaves out is said under
 * the table. Times shorten before columns go, and when something had to
 * go, when it happened stays.
 */
enum timeform { T_FULL, T_SHORT };
struct layout {
	enum timeform	 time;
	int		 show_last, show_proto;
};
static const struct layout layouts[] = {
	{ T_FULL, 1, 1 },
	{ T_SHORT, 1, 1 },
	{ T_SHORT, 0, 1 },
	{ T_SHORT, 0, 0 },
};

/*
 * A short time: the time of day when every time shown falls on one day
 * (the day is then said in the header), else month, day and time.
 */
static void
table_time(int64_t us, enum timeform form, int one_day, char *buf,
    size_t len)
{
	if (form == T_FULL)
		clock_datetime(us, buf, len);
	else if (one_day)
		clock_hms(us, buf, len);
	else
		clock_short(us, buf, len);
}

static void
cells(const struct flow_record *f, enum timeform form, int one_day,
    char c[NCOLS][80])
{
	const char *state = flow_state_name(f->state);
	char pbuf[8];

	snprintf(c[C_GATEWAY], 80, "%s", f->gateway ? f->gateway : "");
	snprintf(c[C_STATE], 80, "%s", state ? state : "?");
	/* an IP tunnel's flow by its kind: "6in4" says more than "41" */
	if (f->encap != NULL && f->encap->tunnel != ENCAP_NONE &&
	    f->proto != 17)
		snprintf(c[C_PROTO], 80, "%s", encap_kind_name(f->encap->tunnel));
	else
		snprintf(c[C_PROTO], 80, "%s", proto_name(f->proto, pbuf,
		    sizeof(pbuf)));
	endpoint_text(c[C_SRC], 80, f->family, f->src, f->has_ports, f->sport,
	    f->proto);
	endpoint_text(c[C_DST], 80, f->family, f->dst, f->has_ports, f->dport,
	    f->proto);
	snprintf(c[C_SENT], 80, "%llu", (unsigned long long)f->pkts_sent);
	snprintf(c[C_BACK], 80, "%llu", (unsigned long long)f->pkts_back);
	table_time(f->first_us, form, one_day, c[C_FIRST], 80);
	table_time(f->last_us, form, one_day, c[C_LAST], 80);
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

/* The headers of a layout: times name their zone, and the day if one. */
static void
headers(const struct flowvec *fv, enum timeform form, int one_day,
    char h[NCOLS][80])
{
	char zone[16];

	clock_zone(fv->v[0].first_us, zone, sizeof(zone));
	for (int i = 0; i < NCOLS; i++)
		snprintf(h[i], 80, "%s", names[i]);
	/* a time of day alone: its zone and day go in the note below */
	if (form == T_FULL || !one_day) {
		snprintf(h[C_FIRST], 80, "FIRST (%s)", zone);
		snprintf(h[C_LAST], 80, "LAST (%s)", zone);
	}
}

/* Columns widths of a layout, and whether it fits width (0: any). */
static int
layout_fits(const struct flowvec *fv, const struct layout *l, int one_day,
    int fleet, size_t width, size_t w[NCOLS], int show[NCOLS])
{
	char c[NCOLS][80], h[NCOLS][80];
	size_t total = 0;

	headers(fv, l->time, one_day, h);
	for (int i = 0; i < NCOLS; i++) {
		w[i] = strlen(h[i]);
		show[i] = 1;
	}
	show[C_GATEWAY] = fleet;
	show[C_PROTO] = l->show_proto;
	show[C_LAST] = l->show_last;
	for (size_t r = 0; r < fv->n; r++) {
		cells(&fv->v[r], l->time, one_day, c);
		for (int i = 0; i < NCOLS; i++)
			if (strlen(c[i]) > w[i])
				w[i] = strlen(c[i]);
	}
	for (int i = 0; i < NCOLS; i++)
		if (show[i])
			total += w[i] + 2;
	return width == 0 || total - 2 <= width;
}

static void
print_cell(const char *text, size_t w, int right, int last)
{
	if (last && !right)
		printf("%s\n", text);
	else
		printf("%*s%s", right ? (int)w : -(int)w, text,
		    last ? "\n" : "  ");
}

void
render_table(const struct flowvec *fv, const struct render_opts *ro)
{
	size_t w[NCOLS];
	int show[NCOLS], one_day = 1;
	size_t nl = sizeof(layouts) / sizeof(layouts[0]), li = 0;
	char c[NCOLS][80], h[NCOLS][80], why[2048];
	/* the fleet store's flows say whose, when they are of several */
	int fleet = flowvec_gateways(fv) > 1;

	for (size_t r = 0; r < fv->n && one_day; r++)
		one_day = clock_same_day(fv->v[0].first_us, fv->v[r].first_us) &&
		    clock_same_day(fv->v[0].first_us, fv->v[r].last_us);
	while (li + 1 < nl && !layout_fits(fv, &layouts[li], one_day, fleet,
	    ro->width, w, show))
		li++;
	layout_fits(fv, &layouts[li], one_day, fleet, 0, w, show);
	const struct layout *l = &layouts[li];

	int last = NCOLS - 1;
	while (!show[last])
		last--;
	headers(fv, l->time, one_day, h);
	for (int i = 0; i <= last; i++)
		if (show[i])
			print_cell(h[i], w[i], i == C_SENT || i == C_BACK,
			    i == last);
	for (size_t r = 0; r < fv->n; r++) {
		const struct flow_record *f = &fv->v[r];
		cells(f, l->time, one_day, c);
		for (int i = 0; i <= last; i++) {
			if (!show[i])
				continue;
			if (i == C_STATE && ro->color) {
				printf("%s%-*s%s  ", state_color(f->state),
				    (int)w[i], c[i], COLOR_RESET);
				continue;
			}
			print_cell(c[i], w[i], i == C_SENT || i == C_BACK,
			    i == last);
		}
		errors_line(f, why, sizeof(why));
		/* under the flow, from its state column on */
		if (why[0] != '\0')
			print_wrapped(stdout, why, (fleet ? w[C_GATEWAY] + 2 :
			    0) + w[C_STATE] + 2, ro->width);
	}
	/* never cut without a word */
	if (li > 0) {
		char zone[16], day[16], note[256];
		clock_zone(fv->v[0].first_us, zone, sizeof(zone));
		clock_date(fv->v[0].first_us, day, sizeof(day));
		snprintf(note, sizeof(note), "(%zu columns: times %s%s%s%s%s%s; "
		    "--json shows everything)", ro->width,
		    one_day ? "of day, " : "without the year",
		    one_day ? zone : "", one_day ? ", on " : "",
		    one_day ? day : "",
		    l->show_last ? "" : l->show_proto ? "; LAST left out" :
		    "; LAST and PROTO left out", "");
		print_wrapped(stdout, note, 0, ro->width);
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
render_csv_header(int fleet)
{
	/* the fleet store's rows: whose, last, so that columns keep places */
	printf("proto,src,sport,dst,dport,first,last,pkts_sent,bytes_sent,"
	    "pkts_back,bytes_back,state,end,errors,tunnel,encap,rst_from%s\n",
	    fleet ? ",gateway" : "");
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
	csv_field(layers, 0);
	/* who sent a TCP reset, as in JSON: destination, on-path, unknown */
	csv_field(flow_rst_from(f) ? flow_rst_from(f) : "", f->gateway == NULL);
	if (f->gateway != NULL)
		csv_field(f->gateway, 1);
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
