#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

#include "store/flow_json.h"
#include "store/flowstate.h"

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
		json_array_append_new(errs, eo);
	}
	json_object_set_new(o, "errors", errs);
	return o;
}
