#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "store/flow_json.h"
#include "store/flowstate.h"

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

void
time_iso(int64_t us, char *buf, size_t len)
{
	time_t secs = (time_t)(us / 1000000);
	long frac = (long)(us % 1000000);
	struct tm tm;

	if (frac < 0) {
		frac += 1000000;
		secs--;
	}
	gmtime_r(&secs, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, frac);
}

void
addr_text(uint8_t family, const uint8_t *addr, char *buf, size_t len)
{
	if (inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, buf,
	    (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
}

const char *
proto_name(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case 1:		return "icmp";
	case 6:		return "tcp";
	case 17:	return "udp";
	case 58:	return "ipv6-icmp";
	case 255:	return "unknown";
	}
	snprintf(buf, len, "%u", proto);
	return buf;
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

enum error_role
error_role(const struct store_flow *f, const struct store_error *e)
{
	size_t alen = f->family == 6 ? 16 : 4;

	if (e->family != f->family)
		return ROLE_ROUTER;
	if (memcmp(e->reporter, f->dst, alen) == 0)
		return ROLE_DESTINATION;
	if (memcmp(e->reporter, f->src, alen) == 0)
		return ROLE_SOURCE;
	return ROLE_ROUTER;
}

const char *
error_role_name(enum error_role r)
{
	switch (r) {
	case ROLE_DESTINATION:	return "destination";
	case ROLE_SOURCE:	return "source";
	default:		return "router";
	}
}

int
flow_error_hops(const struct store_flow *f, const struct store_error *e)
{
	if (error_role(f, e) != ROLE_ROUTER)
		return -1;
	return error_hops(e->family, e->type, e->sent_ttl, e->quoted_ttl);
}

static const char *
side_name(int back)
{
	return back ? "destination" : "source";
}

static const char *
rst_from_name(const struct store_flow *f)
{
	if (f->rst_ttl == 0)
		return NULL;
	switch (rst_origin(f->rst_ttl, f->dst_ttl)) {
	case RST_DESTINATION:	return "destination";
	case RST_ON_PATH:	return "on-path";
	default:		return "unknown";
	}
}

json_t *
flow_json(const struct store_flow *f)
{
	char a[64], t[40], pbuf[8];
	json_t *o = json_object(), *errs = json_array();

	if (o == NULL || errs == NULL) {
		json_decref(o);
		json_decref(errs);
		return NULL;
	}
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
	json_object_set_new(o, "rst_from", str_or_null(rst_from_name(f)));
	for (size_t i = 0; i < f->nerrors; i++) {
		const struct store_error *e = &f->errors[i];
		json_t *eo = json_object();
		if (eo == NULL)
			break;
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
		json_array_append_new(errs, eo);
	}
	json_object_set_new(o, "errors", errs);
	return o;
}
