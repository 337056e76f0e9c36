#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encap.h"
#include "common/flow_json.h"
#include "common/flowstate.h"
#include "common/text.h"

int
json_line_write(const json_t *j, FILE *out)
{
	char *line = json_dumps(j, JSON_COMPACT);
	size_t n;
	int rc = 0;

	if (line == NULL)
		return -1;
	n = strlen(line);
	line[n] = '\n';	/* over the terminator: written by length */
	if (fwrite(line, 1, n + 1, out) != n + 1)
		rc = -1;
	free(line);
	return rc;
}

static json_t *
port_json(int has, uint16_t port)
{
	return has ? json_integer(port) : json_null();
}

static json_t *
int_or_null(int has, json_int_t v)
{
	return has ? json_integer(v) : json_null();
}

static json_t *
str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static const char *
side_name(int back)
{
	return back ? "destination" : "source";
}

/* One error aggregate of flow f, as in the contract above. */
static json_t *
error_json(const struct flow_record *f, const struct error_record *e)
{
	char a[64], t[40];
	json_t *eo = json_object();

	if (eo == NULL)
		return NULL;
	json_object_set_new(eo, "family",
	    json_string(e->family == 6 ? "icmp6" : "icmp"));
	json_object_set_new(eo, "type", json_integer(e->type));
	json_object_set_new(eo, "code", json_integer(e->code));
	addr_text(e->family, e->reporter, a, sizeof(a));
	json_object_set_new(eo, "reporter", json_string(a));
	json_object_set_new(eo, "count", json_integer(e->count));
	time_iso(e->first_us, t, sizeof(t));
	json_object_set_new(eo, "first", json_string(t));
	time_iso(e->last_us, t, sizeof(t));
	json_object_set_new(eo, "last", json_string(t));
	json_object_set_new(eo, "mtu", e->has_mtu ?
	    json_integer(e->mtu) : json_null());
	json_object_set_new(eo, "reporter_role",
	    json_string(error_role_name(error_role(f, e))));
	int hops = flow_error_hops(f, e);
	json_object_set_new(eo, "hops", int_or_null(hops >= 0, hops));
	json_object_set_new(eo, "rtt_us", int_or_null(e->rtt_us >= 0,
	    e->rtt_us));
	json_object_set_new(eo, "matched", json_integer(e->matched));
	json_object_set_new(eo, "quote_altered",
	    json_boolean(e->altered > 0));
	return eo;
}

json_t *
flow_json(const struct flow_record *f)
{
	char a[64], t[40], pbuf[8];
	json_t *o = json_object(), *errs = json_array();

	if (o == NULL || errs == NULL) {
		json_decref(o);
		json_decref(errs);
		return NULL;
	}
	/* a row of the fleet store says whose it is */
	if (f->gateway != NULL)
		json_object_set_new(o, "gateway", json_string(f->gateway));
	json_object_set_new(o, "proto", json_string(proto_name(f->proto, pbuf,
	    sizeof(pbuf))));
	addr_text(f->family, f->src, a, sizeof(a));
	json_object_set_new(o, "src", json_string(a));
	json_object_set_new(o, "sport", port_json(f->has_ports, f->sport));
	addr_text(f->family, f->dst, a, sizeof(a));
	json_object_set_new(o, "dst", json_string(a));
	json_object_set_new(o, "dport", port_json(f->has_ports, f->dport));
	time_iso(f->first_us, t, sizeof(t));
	json_object_set_new(o, "first", json_string(t));
	time_iso(f->last_us, t, sizeof(t));
	json_object_set_new(o, "last", json_string(t));
	json_object_set_new(o, "pkts_sent", json_integer((json_int_t)f->pkts_sent));
	json_object_set_new(o, "bytes_sent", json_integer((json_int_t)f->bytes_sent));
	json_object_set_new(o, "pkts_back", json_integer((json_int_t)f->pkts_back));
	json_object_set_new(o, "bytes_back", json_integer((json_int_t)f->bytes_back));
	const char *state = flow_state_name(f->state);
	json_object_set_new(o, "state", state ? json_string(state) : json_null());
	json_object_set_new(o, "pkts_errored",
	    json_integer((json_int_t)f->pkts_errored));
	int tcp_syn = f->proto == 6 && f->syns > 0;
	json_object_set_new(o, "syn_retries", int_or_null(tcp_syn,
	    (json_int_t)f->syns - 1));
	json_object_set_new(o, "syn_span_us", int_or_null(tcp_syn,
	    f->syn_span_us));
	json_object_set_new(o, "end", str_or_null(flow_end_name(f->end)));
	json_object_set_new(o, "end_by", f->end && f->end != END_OPEN ?
	    json_string(side_name(f->end_by)) : json_null());
	json_object_set_new(o, "rst_ttl", int_or_null(f->rst_ttl, f->rst_ttl));
	json_object_set_new(o, "dst_ttl", int_or_null(f->dst_ttl, f->dst_ttl));
	json_object_set_new(o, "rst_from", str_or_null(flow_rst_from(f)));
	json_object_set_new(o, "tunnel", f->encap && f->encap->tunnel ?
	    json_string(encap_kind_name(f->encap->tunnel)) : json_null());
	json_object_set_new(o, "encap", encap_json(f->encap));
	for (size_t i = 0; i < f->nerrors; i++) {
		json_t *eo = error_json(f, &f->errors[i]);
		if (eo == NULL)
			break;
		json_array_append_new(errs, eo);
	}
	json_object_set_new(o, "errors", errs);
	return o;
}
