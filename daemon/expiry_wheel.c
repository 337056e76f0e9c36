/*
 * 4096 slots of a tick each: a slot holds the flows due at every tick
 * congruent to it, so a deadline more than a round ahead (a long TCP
 * timeout) stays in its slot for a round or more. An entry is a flow
 * pointer (flows never move); slots grow by doubling and are given back
 * once emptied, so memory follows the flows filed, not the ticks passed.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/expiry_wheel.h"

#define WHEEL_SLOTS	4096u
#define WHEEL_MASK	(WHEEL_SLOTS - 1)

struct wheel_slot {
	struct flow	**v;
	uint32_t	  n, cap;
};

struct expiry_wheel {
	struct wheel_slot slot[WHEEL_SLOTS];
	int64_t		  tick_us;
	uint32_t	  at;		/* every tick before this one handed out */
	size_t		  entries;
};

/* The tick of a time, from 1: f->expiry_tick 0 says "not filed". */
static uint32_t
tick_of(const struct expiry_wheel *w, int64_t us)
{
	if (us < 0)
		return 1;
	int64_t t = us / w->tick_us + 1;
	return t >= UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)t;
}

struct expiry_wheel *
expiry_wheel_new(int64_t now_us, int64_t tick_us)
{
	struct expiry_wheel *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->tick_us = tick_us > 0 ? tick_us : 1;
	w->at = tick_of(w, now_us);
	return w;
}

static void
slots_free(struct expiry_wheel *w)
{
	for (uint32_t i = 0; i < WHEEL_SLOTS; i++) {
		free(w->slot[i].v);
		w->slot[i] = (struct wheel_slot){ 0 };
	}
	w->entries = 0;
}

void
expiry_wheel_free(struct expiry_wheel *w)
{
	if (w == NULL)
		return;
	slots_free(w);
	free(w);
}

void
expiry_wheel_reset(struct expiry_wheel *w, int64_t now_us)
{
	slots_free(w);
	w->at = tick_of(w, now_us);
}

size_t
expiry_wheel_entries(const struct expiry_wheel *w)
{
	return w->entries;
}

int
expiry_wheel_file(struct expiry_wheel *w, struct flow *f, int64_t deadline_us)
{
	uint32_t t = tick_of(w, deadline_us);

	/* a tick handed out already: the next pass looks at it */
	if (t < w->at)
		t = w->at;
	if (f->expiry_tick != 0 && f->expiry_tick <= t)
		return 0;
	struct wheel_slot *s = &w->slot[t & WHEEL_MASK];
	if (s->n == s->cap) {
		uint32_t ncap = s->cap ? s->cap * 2 : 16;
		struct flow **n = ncap > s->cap ?
		    realloc(s->v, (size_t)ncap * sizeof(*n)) : NULL;
		if (n == NULL)
			return -1;
		s->v = n;
		s->cap = ncap;
	}
	s->v[s->n++] = f;
	w->entries++;
	f->expiry_tick = t;		/* an entry left elsewhere is stale */
	return 0;
}

/*
 * The flows of slot i due by tick now, out of it; those due later stay,
 * and so do entries fn files into this slot meanwhile.
 */
static void
slot_due(struct expiry_wheel *w, uint32_t i, uint32_t now,
    void (*fn)(struct flow *, void *), void *arg)
{
	struct wheel_slot *s = &w->slot[i];
	uint32_t n0 = s->n, keep = 0;

	if (n0 == 0)
		return;			/* and s->v may be NULL */

	for (uint32_t k = 0; k < n0; k++) {
		struct flow *f = s->v[k];
		if (f->hash == 0 || f->expiry_tick == 0 ||
		    (f->expiry_tick & WHEEL_MASK) != i)
			continue;		/* removed, handed out, or moved */
		if (f->expiry_tick > now) {
			s->v[keep++] = f;	/* a later round */
			continue;
		}
		f->expiry_tick = 0;
		fn(f, arg);			/* may append to s->v */
	}
	/* entries appended by fn follow the ones kept */
	memmove(s->v + keep, s->v + n0, (size_t)(s->n - n0) * sizeof(*s->v));
	w->entries -= n0 - keep;
	s->n = keep + (s->n - n0);
	if (s->n == 0) {
		free(s->v);
		*s = (struct wheel_slot){ 0 };
	} else if (s->cap > 64 && s->n < s->cap / 4) {
		struct flow **v = realloc(s->v, (size_t)s->cap / 2 *
		    sizeof(*v));
		if (v != NULL) {
			s->v = v;
			s->cap /= 2;
		}
	}
}

int
expiry_wheel_due(struct expiry_wheel *w, int64_t now_us,
    void (*fn)(struct flow *, void *), void *arg)
{
	uint32_t now = tick_of(w, now_us), from = w->at;

	if (now < w->at)
		return -1;
	/*
	 * Flows fn files again land at now's tick or later: those at now's
	 * stay in its slot for the next pass, which looks at it again.
	 */
	w->at = now;
	if (now - from >= WHEEL_SLOTS - 1) {
		for (uint32_t i = 0; i < WHEEL_SLOTS; i++)
			slot_due(w, i, now, fn, arg);
		return 0;
	}
	for (uint32_t t = from; t <= now; t++)
		slot_due(w, t & WHEEL_MASK, now, fn, arg);
	return 0;
}
