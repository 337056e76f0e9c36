/*
 * Contexts in an array (numbered from 1, freed numbers reused) and an
 * open-addressing index of their hashes (linear probing, deletion by
 * shifting back, as the flow table does).
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/encap_table.h"

struct encap_entry {
	struct flow_encap	e;
	uint32_t		refs;	/* 0: free, next_free then valid */
	uint32_t		next_free;
	uint64_t		hash;
};

struct encap_table {
	struct encap_entry	*v;		/* v[0] unused */
	uint32_t		 n, cap;	/* numbers handed out so far */
	uint32_t		 free_head;	/* 0: none */
	uint32_t		 count;
	uint32_t		*index;		/* numbers; 0: empty */
	uint32_t		 mask;
};

struct encap_table *
encap_table_new(void)
{
	struct encap_table *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->n = 1;
	return t;
}

void
encap_table_free(struct encap_table *t)
{
	if (t == NULL)
		return;
	free(t->v);
	free(t->index);
	free(t);
}

/* FNV-1a over the bytes in use: the layers beyond n are zero anyway. */
static uint64_t
context_hash(const struct flow_encap *e)
{
	const uint8_t *p = (const uint8_t *)e;
	size_t len = offsetof(struct flow_encap, layer) +
	    (size_t)e->n * sizeof(e->layer[0]);
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static int
index_grow(struct encap_table *t)
{
	uint32_t nslots = t->index ? (t->mask + 1) * 2 : 64;
	uint32_t *ni = calloc(nslots, sizeof(*ni));

	if (ni == NULL)
		return -1;
	for (uint32_t i = 0; t->index && i <= t->mask; i++) {
		uint32_t id = t->index[i];
		if (id == 0)
			continue;
		uint32_t j = (uint32_t)t->v[id].hash & (nslots - 1);
		while (ni[j] != 0)
			j = (j + 1) & (nslots - 1);
		ni[j] = id;
	}
	free(t->index);
	t->index = ni;
	t->mask = nslots - 1;
	return 0;
}

static uint32_t
entry_alloc(struct encap_table *t)
{
	if (t->free_head != 0) {
		uint32_t id = t->free_head;
		t->free_head = t->v[id].next_free;
		return id;
	}
	if (t->n > ENCAP_TABLE_MAX)
		return 0;
	if (t->n >= t->cap) {
		uint32_t ncap = t->cap ? t->cap * 2 : 64;
		struct encap_entry *nv = realloc(t->v, ncap * sizeof(*nv));
		if (nv == NULL)
			return 0;
		t->v = nv;
		t->cap = ncap;
	}
	return t->n++;
}

uint32_t
encap_table_ref(struct encap_table *t, const struct flow_encap *e0)
{
	struct flow_encap e = { .n = e0->n, .tunnel = e0->tunnel };

	/* only the layers in use, so that equal contexts hash alike */
	memcpy(e.layer, e0->layer, (size_t)e.n * sizeof(e.layer[0]));
	uint64_t h = context_hash(&e);
	if ((t->count + 1) * 4 > (t->index ? t->mask + 1 : 0) * 3 &&
	    index_grow(t) != 0)
		return 0;
	uint32_t i = (uint32_t)h & t->mask;
	for (; t->index[i] != 0; i = (i + 1) & t->mask) {
		struct encap_entry *x = &t->v[t->index[i]];
		if (x->hash == h && memcmp(&x->e, &e, sizeof(e)) == 0) {
			x->refs++;
			return t->index[i];
		}
	}
	uint32_t id = entry_alloc(t);
	if (id == 0)
		return 0;
	t->v[id] = (struct encap_entry){ .e = e, .refs = 1, .hash = h };
	t->index[i] = id;
	t->count++;
	return id;
}

void
encap_table_unref(struct encap_table *t, uint32_t id)
{
	if (id == 0 || id >= t->n || t->v[id].refs == 0 ||
	    --t->v[id].refs > 0)
		return;
	/* out of the index: shift back what probed past its slot */
	uint32_t i = (uint32_t)t->v[id].hash & t->mask;
	while (t->index[i] != id)
		i = (i + 1) & t->mask;
	for (uint32_t j = i;;) {
		j = (j + 1) & t->mask;
		if (t->index[j] == 0)
			break;
		uint32_t home = (uint32_t)t->v[t->index[j]].hash & t->mask;
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			t->index[i] = t->index[j];
			i = j;
		}
	}
	t->index[i] = 0;
	t->v[id].next_free = t->free_head;
	t->free_head = id;
	t->count--;
}

const struct flow_encap *
encap_table_get(const struct encap_table *t, uint32_t id)
{
	if (t == NULL || id == 0 || id >= t->n || t->v[id].refs == 0)
		return NULL;
	return &t->v[id].e;
}

uint32_t
encap_table_count(const struct encap_table *t)
{
	return t ? t->count : 0;
}
