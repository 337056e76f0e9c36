#include <string.h>

#include "daemon/frag_table.h"

static size_t
slot_of(const struct tuple *t, uint32_t id)
{
	uint32_t h = id * 2654435761u;

	for (int i = 0; i < 16; i++)
		h = (h ^ t->src[i] ^ (uint32_t)t->dst[i] << 8) * 16777619u;
	h ^= t->proto;
	return (h ^ h >> 15) & (FRAG_SLOTS - 1);
}

static int
same_datagram(const struct tuple *a, const struct tuple *b)
{
	return a->family == b->family && a->proto == b->proto &&
	    memcmp(a->src, b->src, 16) == 0 && memcmp(a->dst, b->dst, 16) == 0;
}

void
frag_table_add(struct frag_table *ft, const struct tuple *first, uint32_t id)
{
	struct frag_slot *s = &ft->slots[slot_of(first, id)];

	s->t = *first;
	s->id = id;
	s->used = 1;
}

int
frag_table_find(const struct frag_table *ft, const struct tuple *later,
    uint32_t id, struct tuple *out)
{
	const struct frag_slot *s = &ft->slots[slot_of(later, id)];

	if (!s->used || s->id != id || !same_datagram(&s->t, later))
		return 0;
	*out = s->t;
	return 1;
}
