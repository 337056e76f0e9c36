#include <stdlib.h>
#include <string.h>

#include "daemon/dedupe.h"

#define DEDUPE_SLOTS	65536	/* 2 MiB: sightings seconds apart survive */
#define DEDUPE_IFACES	4

/*
 * Sightings of one packet signature per interface (hashed to 4). With two
 * capture buffers the sightings of identical packets interleave in any
 * order, so a packet is a repeat of another interface's sighting while its
 * own interface has seen the signature no more often than another has.
 */
struct dedupe_slot {
	uint64_t	sig;
	int64_t		ts_us;		/* first sighting */
	uint16_t	seen[DEDUPE_IFACES];
};

struct dedupe {
	int64_t			 window_us;
	struct dedupe_slot	*slots;
};

struct dedupe *
dedupe_new(int64_t window_us)
{
	struct dedupe *dd = calloc(1, sizeof(*dd));

	if (dd == NULL)
		return NULL;
	if ((dd->slots = calloc(DEDUPE_SLOTS, sizeof(*dd->slots))) == NULL) {
		free(dd);
		return NULL;
	}
	dd->window_us = window_us;
	return dd;
}

void
dedupe_free(struct dedupe *dd)
{
	if (dd == NULL)
		return;
	free(dd->slots);
	free(dd);
}

void
dedupe_set_window(struct dedupe *dd, int64_t window_us)
{
	dd->window_us = window_us;
}

/*
 * What stays the same when a router forwards a packet: addresses, ports,
 * length, ID, the transport checksum (it covers the payload); not the TTL.
 */
static uint64_t
packet_signature(const struct decoded *d)
{
	uint64_t h = 0xcbf29ce484222325ull;
	uint8_t buf[64];
	size_t n = 0;

	memcpy(buf + n, d->t.src, 16); n += 16;
	memcpy(buf + n, d->t.dst, 16); n += 16;
	memcpy(buf + n, &d->t.sport, 2); n += 2;
	memcpy(buf + n, &d->t.dport, 2); n += 2;
	memcpy(buf + n, &d->ip_bytes, 4); n += 4;
	memcpy(buf + n, &d->frag_id, 4); n += 4;
	memcpy(buf + n, &d->l4_cksum, 2); n += 2;
	buf[n++] = d->t.proto;
	buf[n++] = d->tcp_flags;
	buf[n++] = d->icmp_type;
	buf[n++] = d->frag;
	for (size_t i = 0; i < n; i++)
		h = (h ^ buf[i]) * 0x100000001b3ull;
	return h ? h : 1;
}

int
dedupe_seen(struct dedupe *dd, const struct decoded *d, uint64_t iface,
    int64_t ts_us)
{
	uint64_t sig = packet_signature(d);
	struct dedupe_slot *s = &dd->slots[sig & (DEDUPE_SLOTS - 1)];

	int64_t d_us = ts_us > s->ts_us ? ts_us - s->ts_us : s->ts_us - ts_us;
	size_t me = (size_t)((iface ^ iface >> 32) % DEDUPE_IFACES);
	uint16_t most = 0;

	if (s->sig != sig || d_us > dd->window_us) {
		memset(s, 0, sizeof(*s));
		s->sig = sig;
		s->ts_us = ts_us;
	}
	if (s->seen[me] < UINT16_MAX)
		s->seen[me]++;
	for (size_t i = 0; i < DEDUPE_IFACES; i++)
		if (i != me && s->seen[i] > most)
			most = s->seen[i];
	return s->seen[me] <= most;
}
