#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/clock.h"
#include "cli/render.h"
#include "cli/summary.h"
#include "common/flow_json.h"
#include "common/text.h"
#include "common/flowstate.h"

#define MAX_REPORTERS 8

struct reporter {
	uint8_t		family;
	enum error_role	 role;
	uint8_t		addr[16];
	uint64_t	count;
};

struct group {
	const struct flow_record *key;	/* any flow of the group */
	uint64_t	flows, clients;
	uint64_t	refused, unreachable, silent, answered, other;
	/* resets to SYNs: by the destination, forged on the way, unknown */
	uint64_t	rst[3];
	struct reporter	rep[MAX_REPORTERS];
	size_t		nrep, more_rep;
	int64_t		first_us, last_us;
};

static size_t
alen(const struct flow_record *f)
{
	return f->family == 6 ? 16 : 4;
}

/* The fleet store's flows: a destination is a gateway's. */
static int
gateway_cmp(const struct flow_record *a, const struct flow_record *b)
{
	return strcmp(a->gateway ? a->gateway : "", b->gateway ? b->gateway :
	    "");
}

static int
same_dest(const struct flow_record *a, const struct flow_record *b)
{
	return gateway_cmp(a, b) == 0 && a->proto == b->proto && a->family == b->family &&
	    a->has_ports == b->has_ports && a->dport == b->dport &&
	    memcmp(a->dst, b->dst, alen(a)) == 0;
}

/* Destination first, then client, so a sweep counts distinct clients. */
static int
by_dest_client(const void *x, const void *y)
{
	const struct flow_record *a = *(const struct flow_record *const *)x;
	const struct flow_record *b = *(const struct flow_record *const *)y;
	int c;

	if ((c = gateway_cmp(a, b)) != 0)
		return c;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if ((c = memcmp(a->dst, b->dst, alen(a))) != 0)
		return c;
	if (a->has_ports != b->has_ports)
		return a->has_ports < b->has_ports ? -1 : 1;
	if (a->dport != b->dport)
		return a->dport < b->dport ? -1 : 1;
	return memcmp(a->src, b->src, alen(a));
}

static uint64_t
trouble(const struct group *g)
{
	return g->refused + g->unreachable + g->silent;
}

static int
by_trouble(const void *x, const void *y)
{
	const struct group *a = x, *b = y;

	if (trouble(a) != trouble(b))
		return trouble(a) > trouble(b) ? -1 : 1;
	if (a->flows != b->flows)
		return a->flows > b->flows ? -1 : 1;
	return a->first_us < b->first_us ? -1 : a->first_us > b->first_us;
}

static void
add_reporters(struct group *g, const struct flow_record *f)
{
	for (size_t i = 0; i < f->nerrors; i++) {
		const struct error_record *e = &f->errors[i];
		size_t j;
		for (j = 0; j < g->nrep; j++)
			if (g->rep[j].family == e->family &&
			    memcmp(g->rep[j].addr, e->reporter, 16) == 0)
				break;
		if (j == g->nrep) {
			if (g->nrep == MAX_REPORTERS) {
				g->more_rep++;
				continue;
			}
			g->rep[j].family = e->family;
			memcpy(g->rep[j].addr, e->reporter, 16);
			g->rep[j].role = error_role(f, e);
			g->nrep++;
		}
		g->rep[j].count += e->count;
	}
}

/*
 * The columns follow the table and --explain: a TCP connection whose peer
 * went silent is silent, not answered; time exceeded and parameter
 * problems are not "unreachable" (--unreachable leaves them out too).
 */
static void
classify(struct group *g, const struct flow_record *f)
{
	if (flow_refused_by_reset(f)) {
		switch (rst_origin(f->rst_ttl, f->dst_ttl)) {
		case RST_DESTINATION:
			g->rst[0]++;
			break;
		case RST_ON_PATH:
			g->rst[1]++;
			break;
		default:
			g->rst[2]++;
		}
	}
	if (flow_went_silent(f)) {
		g->silent++;
		return;
	}
	switch (f->state) {
	case STATE_REFUSED:
		g->refused++;
		break;
	case STATE_ANSWERED:
		g->answered++;
		break;
	case STATE_TTL_EXCEEDED:
	case STATE_PARAM_PROBLEM:
		g->other++;
		break;
	default:
		g->unreachable++;
	}
}

static const char *const rst_names[3] = {
	"from the destination", "forged on the way", "of unknown origin",
};

static void
print_json(const struct group *g)
{
	char a[64], t[40], pbuf[8];
	json_t *o = json_object(), *reps = json_array();
	const struct flow_record *k = g->key;

	if (k->gateway != NULL)
		json_object_set_new(o, "gateway", json_string(k->gateway));
	json_object_set_new(o, "proto", json_string(proto_name(k->proto, pbuf,
	    sizeof(pbuf))));
	addr_text(k->family, k->dst, a, sizeof(a));
	json_object_set_new(o, "dst", json_string(a));
	json_object_set_new(o, "dport", k->has_ports ? json_integer(k->dport) :
	    json_null());
	json_object_set_new(o, "flows", json_integer((json_int_t)g->flows));
	json_object_set_new(o, "clients", json_integer((json_int_t)g->clients));
	json_object_set_new(o, "refused", json_integer((json_int_t)g->refused));
	json_object_set_new(o, "unreachable",
	    json_integer((json_int_t)g->unreachable));
	json_object_set_new(o, "silent", json_integer((json_int_t)g->silent));
	json_object_set_new(o, "answered", json_integer((json_int_t)g->answered));
	json_object_set_new(o, "other", json_integer((json_int_t)g->other));
	json_t *rst = json_object();
	json_object_set_new(rst, "destination", json_integer((json_int_t)g->rst[0]));
	json_object_set_new(rst, "forged", json_integer((json_int_t)g->rst[1]));
	json_object_set_new(rst, "unknown", json_integer((json_int_t)g->rst[2]));
	json_object_set_new(o, "resets", rst);
	for (size_t i = 0; i < g->nrep; i++) {
		json_t *r = json_object();
		addr_text(g->rep[i].family, g->rep[i].addr, a, sizeof(a));
		json_object_set_new(r, "reporter", json_string(a));
		json_object_set_new(r, "role",
		    json_string(error_role_name(g->rep[i].role)));
		json_object_set_new(r, "count",
		    json_integer((json_int_t)g->rep[i].count));
		json_array_append_new(reps, r);
	}
	json_object_set_new(o, "reporters", reps);
	time_iso(g->first_us, t, sizeof(t));
	json_object_set_new(o, "first", json_string(t));
	time_iso(g->last_us, t, sizeof(t));
	json_object_set_new(o, "last", json_string(t));
	if (json_line_write(o, stdout) != 0)
		err(2, "stdout");
	json_decref(o);
}

static void
print_row(const struct group *g, size_t gw, size_t dw)
{
	char dst[80], pbuf[8], first[40], last[40], reps[1024];
	size_t len = 0;
	const struct flow_record *k = g->key;

	endpoint_text(dst, sizeof(dst), k->family, k->dst, k->has_ports,
	    k->dport, k->proto);
	clock_datetime(g->first_us, first, sizeof(first));
	clock_datetime(g->last_us, last, sizeof(last));
	if (gw > 0)
		printf("%-*s  ", (int)gw, k->gateway ? k->gateway : "");
	printf("%-*s  %-5s %6llu %7llu %7llu %7llu %6llu %8llu %5llu  "
	    "%s  %s\n", (int)dw, dst, proto_name(k->proto, pbuf,
	    sizeof(pbuf)), (unsigned long long)g->flows,
	    (unsigned long long)g->clients, (unsigned long long)g->refused,
	    (unsigned long long)g->unreachable, (unsigned long long)g->silent,
	    (unsigned long long)g->answered, (unsigned long long)g->other,
	    first, last);
	reps[0] = '\0';
	for (size_t i = 0; i < g->nrep && len < sizeof(reps); i++) {
		char a[64];
		addr_text(g->rep[i].family, g->rep[i].addr, a, sizeof(a));
		len += (size_t)snprintf(reps + len, sizeof(reps) - len,
		    "%s%s (%s) x%llu", i ? ", " : "", a,
		    role_text(g->rep[i].role),
		    (unsigned long long)g->rep[i].count);
	}
	if (g->more_rep && len < sizeof(reps))
		snprintf(reps + len, sizeof(reps) - len, ", and %zu more",
		    g->more_rep);
	if (reps[0] != '\0')
		printf("%*serrors from %s\n", 2, "", reps);
	/* a reset forged on the way is a firewall, not a closed port */
	reps[0] = '\0';
	len = 0;
	for (int i = 0; i < 3 && len < sizeof(reps); i++)
		if (g->rst[i] > 0)
			len += (size_t)snprintf(reps + len, sizeof(reps) - len,
			    "%s%s x%llu", len ? ", " : "", rst_names[i],
			    (unsigned long long)g->rst[i]);
	if (reps[0] != '\0')
		printf("%*sresets to the SYN: %s\n", 2, "", reps);
}

void
summary_print(const struct flowvec *fv, size_t top, int json)
{
	const struct flow_record **v;
	struct group *groups;
	size_t ng = 0, dw = strlen("DESTINATION"), gw = 0;

	if (fv->n == 0)
		return;
	if ((v = calloc(fv->n, sizeof(*v))) == NULL ||
	    (groups = calloc(fv->n, sizeof(*groups))) == NULL)
		err(2, "out of memory");
	for (size_t i = 0; i < fv->n; i++)
		v[i] = &fv->v[i];
	qsort(v, fv->n, sizeof(*v), by_dest_client);
	for (size_t i = 0; i < fv->n; i++) {
		const struct flow_record *f = v[i];
		struct group *g;
		if (ng == 0 || !same_dest(groups[ng - 1].key, f)) {
			g = &groups[ng++];
			g->key = f;
			g->first_us = f->first_us;
			g->last_us = f->last_us;
		}
		g = &groups[ng - 1];
		g->flows++;
		if (g->flows == 1 || memcmp(v[i - 1]->src, f->src, alen(f)) != 0)
			g->clients++;
		if (f->first_us < g->first_us)
			g->first_us = f->first_us;
		if (f->last_us > g->last_us)
			g->last_us = f->last_us;
		classify(g, f);
		add_reporters(g, f);
	}
	qsort(groups, ng, sizeof(*groups), by_trouble);
	if (top == 0 || top > ng)
		top = ng;
	for (size_t i = 0; i < top && !json; i++) {
		char dst[80];
		endpoint_text(dst, sizeof(dst), groups[i].key->family,
		    groups[i].key->dst, groups[i].key->has_ports,
		    groups[i].key->dport, groups[i].key->proto);
		if (strlen(dst) > dw)
			dw = strlen(dst);
	}
	/* several gateways: whose destination, first */
	int fleet = !json && flowvec_gateways(fv) > 1;
	for (size_t i = 0; i < top && fleet; i++)
		if (strlen(groups[i].key->gateway) > gw)
			gw = strlen(groups[i].key->gateway);
	if (gw > 0 && gw < strlen("GATEWAY"))
		gw = strlen("GATEWAY");
	if (!json) {
		char zone[16], fh[32], lh[32];
		clock_zone(fv->v[0].first_us, zone, sizeof(zone));
		snprintf(fh, sizeof(fh), "FIRST (%s)", zone);
		snprintf(lh, sizeof(lh), "LAST (%s)", zone);
		if (gw > 0)
			printf("%-*s  ", (int)gw, "GATEWAY");
		printf("%-*s  PROTO  FLOWS CLIENTS REFUSED UNREACH SILENT "
		    "ANSWERED OTHER  %-19s  %s\n", (int)dw, "DESTINATION", fh,
		    lh);
	}
	for (size_t i = 0; i < top; i++) {
		if (json)
			print_json(&groups[i]);
		else
			print_row(&groups[i], gw, dw);
	}
	if (!json && top < ng)
		printf("(%zu more destinations; --limit N shows more)\n",
		    ng - top);
	free(groups);
	free(v);
}
