#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "daemon/hugemem.h"
#include "daemon/read_ahead.h"

#define SLOTS		READ_AHEAD_SLOTS
#define SPINS_BEFORE_YIELD	4096

/* A spinning thread leaves its core's other hardware thread room. */
static inline void
spin_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/*
 * Chunk c (of the file from the first offset on) goes into slot c % SLOTS.
 * Whoever reads a chunk claims it first, by moving claimed past it; the
 * parsing thread only ever claims the very chunk it needs next.
 */
struct slot {
	_Atomic uint64_t	ready;	/* c + 1 once chunk c is in */
	ssize_t			len;
	int			err;
};

struct read_ahead {
	int			fd;
	off_t			at;		/* of chunk 0 */
	uint8_t			*ring;
	struct slot		slot[SLOTS];
	_Atomic uint64_t	claimed;	/* chunks claimed */
	_Atomic uint64_t	taken;		/* chunks the parser has taken */
	_Atomic uint64_t	end;		/* the first short chunk */
	void			(*wake)(void *);
	void			*wake_arg;
	uint64_t		helped;		/* chunks the helper read */
};

struct read_ahead *
read_ahead_new(int fd, off_t at, void (*wake)(void *), void *wake_arg)
{
	struct read_ahead *ra = calloc(1, sizeof(*ra));

	if (ra == NULL)
		return NULL;
	if ((ra->ring = hugemem_calloc(SLOTS * READ_AHEAD_CHUNK)) == NULL) {
		free(ra);
		return NULL;
	}
	ra->fd = fd;
	ra->at = at;
	ra->wake = wake;
	ra->wake_arg = wake_arg;
	atomic_init(&ra->claimed, 0);
	atomic_init(&ra->taken, 0);
	atomic_init(&ra->end, UINT64_MAX);
	for (int i = 0; i < SLOTS; i++)
		atomic_init(&ra->slot[i].ready, 0);
	return ra;
}

void
read_ahead_free(struct read_ahead *ra)
{
	if (ra == NULL)
		return;
	hugemem_free(ra->ring, SLOTS * READ_AHEAD_CHUNK);
	free(ra);
}

static uint8_t *
chunk_at(const struct read_ahead *ra, uint64_t c)
{
	return ra->ring + (size_t)(c % SLOTS) * READ_AHEAD_CHUNK;
}

/* Read chunk c, claimed, into its slot, and say it is in. */
static void
chunk_read(struct read_ahead *ra, uint64_t c)
{
	struct slot *s = &ra->slot[c % SLOTS];
	off_t off = ra->at + (off_t)(c * READ_AHEAD_CHUNK);
	ssize_t n;

	do
		n = pread(ra->fd, chunk_at(ra, c), READ_AHEAD_CHUNK, off);
	while (n < 0 && errno == EINTR);
	s->len = n;
	s->err = n < 0 ? errno : 0;
	if (n < (ssize_t)READ_AHEAD_CHUNK) {
		/* nobody reads past the end: the first short chunk, kept */
		uint64_t e = atomic_load(&ra->end);
		while (c < e && !atomic_compare_exchange_weak(&ra->end, &e, c))
			;
	}
	atomic_store_explicit(&s->ready, c + 1, memory_order_release);
}

/*
 * Room for chunk c: its slot's chunk before (c - SLOTS) is given up,
 * and the parser's current chunk (taken - 1) is kept.
 */
static int
room_for(struct read_ahead *ra, uint64_t c)
{
	return c + 1 < atomic_load(&ra->taken) + SLOTS &&
	    c < atomic_load(&ra->end);
}

int
read_ahead_wanted(void *arg)
{
	struct read_ahead *ra = arg;

	return room_for(ra, atomic_load(&ra->claimed));
}

int
read_ahead_work(void *arg)
{
	struct read_ahead *ra = arg;
	uint64_t c = atomic_load(&ra->claimed);

	do
		if (!room_for(ra, c))
			return 0;
	while (!atomic_compare_exchange_weak(&ra->claimed, &c, c + 1));
	chunk_read(ra, c);
	ra->helped++;		/* one helper at a time */
	return 1;
}

uint64_t
read_ahead_helped(const struct read_ahead *ra)
{
	return ra->helped;
}

ssize_t
read_ahead_next(struct read_ahead *ra, const uint8_t **p)
{
	uint64_t c = atomic_load(&ra->taken);
	struct slot *s = &ra->slot[c % SLOTS];

	if (c > atomic_load(&ra->end))
		return 0;	/* past the short chunk, which was the end */
	/* the chunk before is given up: the helper may read into its slot */
	atomic_store(&ra->taken, c + 1);
	uint64_t ahead = atomic_load(&ra->claimed);
	if (ahead <= c) {
		uint64_t want = c;
		if (atomic_compare_exchange_strong(&ra->claimed, &want,
		    c + 1))
			chunk_read(ra, c);	/* not read yet: read it now */
	}
	/* a chunk the helper is reading is read soon: wait for it */
	for (unsigned spins = 0; atomic_load_explicit(&s->ready,
	    memory_order_acquire) != c + 1; spins++) {
		if (spins >= SPINS_BEFORE_YIELD) {
			sched_yield();
			spins = 0;
		}
		spin_pause();
	}
	/* the helper keeps half the ring ahead, woken when it has room */
	if (ra->wake != NULL && atomic_load(&ra->claimed) < c + 1 + SLOTS / 2)
		ra->wake(ra->wake_arg);
	*p = chunk_at(ra, c);
	if (s->len < 0)
		errno = s->err;
	return s->len;
}

off_t
read_ahead_offset(struct read_ahead *ra)
{
	uint64_t t = atomic_load(&ra->taken);

	return ra->at + (off_t)((t > 0 ? t - 1 : 0) * READ_AHEAD_CHUNK);
}
