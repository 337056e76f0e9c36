#include <stdlib.h>
#include <string.h>

#include "daemon/host_ttl.h"
#include "daemon/mix.h"

#define HOST_TTL_SLOTS	65536	/* 512 KiB */

/*
 * A slot is one word: the host key above its low byte, the TTL in it
 * (0: empty). Every packet writes a random slot, so a slot is kept small.
 */
#define HOST_TTL_KEY	(~(uint64_t)0xff)

struct host_ttl {
	uint64_t	slot[HOST_TTL_SLOTS];
};

struct host_ttl *
host_ttl_new(void)
{
	return calloc(1, sizeof(struct host_ttl));
}

void
host_ttl_free(struct host_ttl *h)
{
	free(h);
}

static uint64_t
host_key(uint8_t family, const uint8_t addr[16], uint64_t iface)
{
	uint32_t ifh = (uint32_t)(iface ^ iface >> 29);
	uint64_t w[2];

	memcpy(w, addr, sizeof(w));
	/* one product of both words: every input bit reaches the slot's bits */
	uint64_t h = mix_mum(w[0] ^ ((uint64_t)ifh << 8 | family) ^
	    0xa0761d6478bd642full, w[1] ^ 0xe7037ed1a0b428dbull);
	return h ? h : 1;
}

int
host_ttl_reference(const struct decoded *d)
{
	switch (d->t.proto) {
	case PROTO_UDP:
		return 1;
	case PROTO_TCP:
		return !(d->tcp_flags & TCP_RST);
	case PROTO_ICMP:
		return d->icmp == ICMP_ERROR || d->icmp_type == 0 ||
		    d->icmp_type == 8;
	case PROTO_ICMPV6:
		return d->icmp == ICMP_ERROR || d->icmp_type == 128 ||
		    d->icmp_type == 129;
	}
	return 0;
}

void
host_ttl_note_key(struct host_ttl *h, uint64_t k, uint8_t ttl)
{
	h->slot[k & (HOST_TTL_SLOTS - 1)] = (k & HOST_TTL_KEY) | ttl;
}

void
host_ttl_note(struct host_ttl *h, const struct decoded *d, uint64_t iface)
{
	host_ttl_note_key(h, host_key(d->t.family, d->t.src, iface), d->ttl);
}

uint64_t
host_ttl_prefetch(struct host_ttl *h, const struct decoded *d, uint64_t iface)
{
	uint64_t k = host_key(d->t.family, d->t.src, iface);

	__builtin_prefetch(&h->slot[k & (HOST_TTL_SLOTS - 1)], 1);
	return k;
}

uint8_t
host_ttl_find(const struct host_ttl *h, uint8_t family,
    const uint8_t addr[16], uint64_t iface)
{
	uint64_t k = host_key(family, addr, iface);
	uint64_t e = h->slot[k & (HOST_TTL_SLOTS - 1)];

	return (e & HOST_TTL_KEY) == (k & HOST_TTL_KEY) ? (uint8_t)e : 0;
}
