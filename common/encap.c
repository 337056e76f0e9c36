#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encap.h"
#include "common/text.h"

#include <arpa/inet.h>

/* The name of each layer's id in JSON and in words, NULL: it has none. */
static const char *
id_key(int kind)
{
	switch (kind) {
	case ENCAP_VLAN:	return "id";
	case ENCAP_PPPOE:	return "session";
	case ENCAP_MPLS:	return "label";
	case ENCAP_GRE:		return "key";
	case ENCAP_PPTP:	return "call";
	case ENCAP_ERSPAN:	return "session";
	case ENCAP_VXLAN:
	case ENCAP_GENEVE:	return "vni";
	case ENCAP_GTPU:	return "teid";
	}
	return NULL;
}

const char *
encap_kind_title(int kind)
{
	switch (kind) {
	case ENCAP_VLAN:	return "VLAN";
	case ENCAP_PPPOE:	return "PPPoE session";
	case ENCAP_MPLS:	return "MPLS label";
	case ENCAP_PW:		return "an MPLS pseudowire";
	case ENCAP_GRE:		return "GRE";
	case ENCAP_PPTP:	return "PPTP (GRE version 1)";
	case ENCAP_ERSPAN:	return "ERSPAN mirror session";
	case ENCAP_IPIP:	return "IPv4-in-IPv4";
	case ENCAP_6IN4:	return "IPv6-in-IPv4 (6in4)";
	case ENCAP_4IN6:	return "IPv4-in-IPv6";
	case ENCAP_6IN6:	return "IPv6-in-IPv6";
	case ENCAP_VXLAN:	return "VXLAN";
	case ENCAP_GENEVE:	return "Geneve";
	case ENCAP_GTPU:	return "GTP-U";
	}
	return "unknown";
}

int
encap_overhead(int kind)
{
	switch (kind) {
	case ENCAP_GRE:		return 24;	/* IPv4 20, GRE 4 */
	case ENCAP_PPTP:	return 36;	/* IPv4 20, GRE 12, PPP 4 */
	case ENCAP_IPIP:
	case ENCAP_6IN4:	return 20;
	case ENCAP_4IN6:
	case ENCAP_6IN6:	return 40;
	case ENCAP_VXLAN:	return 50;	/* IPv4, UDP, VXLAN, Ethernet */
	case ENCAP_GENEVE:	return 50;	/* without options */
	case ENCAP_GTPU:	return 36;	/* IPv4, UDP, GTP-U */
	}
	return 0;
}

int
encap_kind_of(const char *name)
{
	for (int k = 1; k < ENCAP_KIND_COUNT; k++)
		if (strcmp(encap_kind_name(k), name) == 0)
			return k;
	return -1;
}

/* Append to buf, which holds *off bytes already; never past len. */
static void
add(char *buf, size_t len, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
add(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;

	if (*off >= len)
		return;
	va_start(ap, fmt);
	int w = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (w > 0)
		*off += (size_t)w < len - *off ? (size_t)w : len - *off - 1;
}

void
encap_text(const struct flow_encap *e, char *buf, size_t len)
{
	size_t off = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (int i = 0; i < e->n; i++) {
		const struct encap_layer *l = &e->layer[i];
		add(buf, len, &off, "%s%s", i ? "/" : "",
		    encap_kind_name(l->kind));
		if (l->has_id)
			add(buf, len, &off, ":%u", l->id);
		if (l->family != 0) {
			char s[64], d[64];
			addr_text(l->family, l->src, s, sizeof(s));
			addr_text(l->family, l->dst, d, sizeof(d));
			add(buf, len, &off, "@%s>%s", s, d);
		}
	}
}

/* One address of a tunnel's endpoints; its family, or 0. */
static int
parse_addr(const char *s, size_t n, uint8_t *out)
{
	char tmp[64];

	if (n == 0 || n >= sizeof(tmp))
		return 0;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	memset(out, 0, 16);
	if (inet_pton(AF_INET, tmp, out) == 1)
		return 4;
	if (inet_pton(AF_INET6, tmp, out) == 1)
		return 6;
	return 0;
}

/* One NAME[:ID][@SRC>DST] of n bytes. */
static int
parse_layer(const char *s, size_t n, struct encap_layer *l)
{
	char name[16];
	size_t i = 0;

	while (i < n && s[i] != ':' && s[i] != '@')
		i++;
	if (i == 0 || i >= sizeof(name))
		return -1;
	memcpy(name, s, i);
	name[i] = '\0';
	int kind = encap_kind_of(name);
	if (kind < 0)
		return -1;
	memset(l, 0, sizeof(*l));
	l->kind = (uint8_t)kind;
	if (i < n && s[i] == ':') {
		uint64_t v = 0;
		size_t j = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9' && v <= UINT32_MAX)
			v = v * 10 + (uint64_t)(s[i++] - '0');
		if (i == j || v > UINT32_MAX)
			return -1;
		l->has_id = 1;
		l->id = (uint32_t)v;
	}
	if (i < n && s[i] == '@') {
		const char *gt = memchr(s + i, '>', n - i);
		if (gt == NULL)
			return -1;
		int f1 = parse_addr(s + i + 1, (size_t)(gt - s - i - 1), l->src);
		int f2 = parse_addr(gt + 1, (size_t)(s + n - gt - 1), l->dst);
		if (f1 == 0 || f1 != f2)
			return -1;
		l->family = (uint8_t)f1;
		i = n;
	}
	return i == n ? 0 : -1;
}

int
encap_parse(const char *text, struct flow_encap *e)
{
	uint8_t tunnel = e->tunnel;

	memset(e, 0, sizeof(*e));
	e->tunnel = tunnel;
	if (text == NULL || *text == '\0')
		return 0;
	for (const char *p = text;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (e->n == ENCAP_MAX_LAYERS ||
		    parse_layer(p, n, &e->layer[e->n]) != 0) {
			e->n = 0;
			return -1;
		}
		e->n++;
		if (slash == NULL)
			return 0;
		p = slash + 1;
	}
}

json_t *
encap_json(const struct flow_encap *e)
{
	if (e == NULL || e->n == 0)
		return json_null();
	json_t *a = json_array();
	for (int i = 0; a != NULL && i < e->n; i++) {
		const struct encap_layer *l = &e->layer[i];
		json_t *o = json_object();
		if (o == NULL)
			break;
		json_object_set_new(o, "type",
		    json_string(encap_kind_name(l->kind)));
		const char *key = id_key(l->kind);
		if (key != NULL && l->has_id)
			json_object_set_new(o, key, json_integer(l->id));
		if (l->family != 0) {
			char s[64];
			addr_text(l->family, l->src, s, sizeof(s));
			json_object_set_new(o, "src", json_string(s));
			addr_text(l->family, l->dst, s, sizeof(s));
			json_object_set_new(o, "dst", json_string(s));
		}
		json_array_append_new(a, o);
	}
	return a;
}

void
encap_words(const struct flow_encap *e, char *buf, size_t len)
{
	size_t off = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (int i = 0; i < e->n; i++) {
		const struct encap_layer *l = &e->layer[i];
		int more_labels = l->kind == ENCAP_MPLS && i + 1 < e->n &&
		    e->layer[i + 1].kind == ENCAP_MPLS;

		/* a label stack is one phrase: "MPLS labels 16, 1003" */
		if (l->kind == ENCAP_MPLS && i > 0 &&
		    e->layer[i - 1].kind == ENCAP_MPLS) {
			add(buf, len, &off, ", %u", l->id);
			continue;
		}
		add(buf, len, &off, "%s", i ? ", " : "");
		switch (l->kind) {
		case ENCAP_MPLS:
			add(buf, len, &off, "MPLS label%s %u",
			    more_labels ? "s" : "", l->id);
			break;
		case ENCAP_PPPOE:
			add(buf, len, &off, "PPPoE session 0x%04x", l->id);
			break;
		case ENCAP_VXLAN:
		case ENCAP_GENEVE:
			add(buf, len, &off, "%s VNI %u",
			    encap_kind_title(l->kind), l->id);
			break;
		case ENCAP_GTPU:
			add(buf, len, &off, "GTP-U TEID 0x%08x", l->id);
			break;
		case ENCAP_GRE:
		case ENCAP_PPTP:
			add(buf, len, &off, "%s", encap_kind_title(l->kind));
			if (l->has_id)
				add(buf, len, &off, " %s %u", id_key(l->kind),
				    l->id);
			break;
		default:
			add(buf, len, &off, "%s", encap_kind_title(l->kind));
			if (l->has_id)
				add(buf, len, &off, " %u", l->id);
		}
		if (l->family != 0) {
			char s[64], d[64];
			addr_text(l->family, l->src, s, sizeof(s));
			addr_text(l->family, l->dst, d, sizeof(d));
			add(buf, len, &off, " from %s to %s", s, d);
		}
	}
}
