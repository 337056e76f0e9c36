/*
 * The read-ahead ring (daemon/read_ahead.c): the parsing thread gets every
 * chunk of the file, in order, whole and only once, whoever read it; the
 * ring never runs further ahead than its slots; the end, a file ending on
 * a chunk's edge and a read error come out as such. And the offline
 * writer thread lent to it (writer_async_lend): it does the work while
 * idle, and not once it is taken back.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/read_ahead.h"
#include "daemon/writer.h"
#include "store/store.h"
#include "tests/unit/tap.h"

#define CHUNK	READ_AHEAD_CHUNK

/* Byte i of a test file: no two chunks alike, nor any chunk's halves. */
static uint8_t
pattern(uint64_t i)
{
	uint64_t x = i * 0x9e3779b97f4a7c15ull;

	return (uint8_t)(x >> 56 ^ i >> 18);
}

/* A file of size bytes after `at` bytes of something else; its fd. */
static int
test_file(size_t at, size_t size)
{
	char path[] = "/tmp/udpflows-ra-XXXXXX";
	int fd = mkstemp(path);
	uint8_t *b = malloc(at + size);

	if (fd < 0 || b == NULL)
		abort();
	unlink(path);
	memset(b, 0xee, at);
	for (size_t i = 0; i < size; i++)
		b[at + i] = pattern(i);
	if (write(fd, b, at + size) != (ssize_t)(at + size))
		abort();
	free(b);
	return fd;
}

/* Whether p holds bytes [off, off + n) of the test file. */
static int
holds(const uint8_t *p, size_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != pattern(off + i))
			return 0;
	return 1;
}

/*
 * Take every chunk: whether each came whole, in order and right, and the
 * total; usleep_every: the parser's pause a chunk (for a helper to get
 * ahead).
 */
static int
take_all(struct read_ahead *ra, size_t at, size_t size, int usleep_every,
    size_t *total)
{
	const uint8_t *p;
	ssize_t n;
	int right = 1;

	*total = 0;
	while ((n = read_ahead_next(ra, &p)) > 0) {
		if (read_ahead_offset(ra) != (off_t)(at + *total) ||
		    (size_t)n > size - *total || !holds(p, *total, (size_t)n) ||
		    ((size_t)n < CHUNK && *total + (size_t)n != size))
			right = 0;
		*total += (size_t)n;
		if (usleep_every > 0)
			usleep((useconds_t)usleep_every);
	}
	return right && n == 0 && read_ahead_next(ra, &p) == 0;
}

static void
test_alone(void)
{
	size_t size = 5 * CHUNK + 1234, total;
	int fd = test_file(24, size);
	struct read_ahead *ra = read_ahead_new(fd, 24, NULL, NULL);

	ok(ra != NULL, "a read-ahead ring");
	ok(take_all(ra, 24, size, 0, &total),
	    "alone, the parser reads every chunk itself, in order");
	is_int(total, size, "every byte from the first offset on");
	ok(!read_ahead_wanted(ra) && !read_ahead_work(ra),
	    "at the end, a helper has nothing to read");
	read_ahead_free(ra);
	close(fd);

	/* the end on a chunk's edge: a whole last chunk, then the end */
	fd = test_file(0, 2 * CHUNK);
	ra = read_ahead_new(fd, 0, NULL, NULL);
	ok(take_all(ra, 0, 2 * CHUNK, 0, &total) && total == 2 * CHUNK,
	    "a file of whole chunks ends after its last");
	read_ahead_free(ra);
	close(fd);

	fd = test_file(0, 0);
	ra = read_ahead_new(fd, 0, NULL, NULL);
	const uint8_t *p;
	is_int(read_ahead_next(ra, &p), 0, "an empty file: the end at once");
	read_ahead_free(ra);
	close(fd);
}

static int wakes;

static void
count_wake(void *arg)
{
	(void)arg;
	wakes++;
}

/* A helper on the parser's own thread: the ring's bound, and the wakes. */
static void
test_bound(void)
{
	size_t size = 12 * CHUNK;
	int fd = test_file(100, size), filled = 0;
	struct read_ahead *ra = read_ahead_new(fd, 100, count_wake, NULL);
	const uint8_t *p;

	ok(read_ahead_wanted(ra), "a new ring wants filling");
	while (read_ahead_work(ra))
		filled++;
	/* one slot stays for the chunk the parser holds */
	is_int(filled, READ_AHEAD_SLOTS - 1,
	    "a helper fills the ring but one slot, then stops");
	ok(!read_ahead_wanted(ra), "a full ring wants nothing");
	wakes = 0;
	ok(read_ahead_next(ra, &p) == CHUNK && holds(p, 0, CHUNK) &&
	    read_ahead_offset(ra) == 100,
	    "the parser takes the first chunk the helper read");
	is_int(wakes, 0, "with the ring still full ahead, no wake");
	filled = 0;
	while (read_ahead_work(ra))
		filled++;
	is_int(filled, 1, "once the parser moves on, room for one chunk more");
	int right = 1;
	for (int c = 1; c < READ_AHEAD_SLOTS + 2; c++) {
		if (read_ahead_next(ra, &p) != CHUNK ||
		    !holds(p, (size_t)c * CHUNK, CHUNK))
			right = 0;
	}
	ok(right, "chunks the helper read and chunks the parser read "
	    "itself, in order");
	ok(wakes > 0, "a helper is woken when the ring runs low (%d)", wakes);
	filled = 0;
	while (read_ahead_work(ra))
		filled++;
	is_int(filled, READ_AHEAD_SLOTS - 1,
	    "the ring filled again, as far as the parser's chunk allows");
	read_ahead_free(ra);
	close(fd);
}

struct helper {
	struct read_ahead	*ra;
	atomic_int		 stop;
	int			 did;
};

static void *
helper_main(void *arg)
{
	struct helper *h = arg;
	struct timespec pause = { 0, 20000 };

	while (!atomic_load(&h->stop)) {
		if (read_ahead_wanted(h->ra) && read_ahead_work(h->ra))
			h->did++;
		else
			nanosleep(&pause, NULL);
	}
	return NULL;
}

/* A helper on a thread of its own, racing the parser for chunks. */
static void
test_race(void)
{
	size_t size = 40 * CHUNK + 77, total;
	int right = 1, did = 0;

	for (int round = 0; round < 4; round++) {
		int fd = test_file(24, size);
		struct helper h = { .ra = read_ahead_new(fd, 24, NULL, NULL) };
		pthread_t t;

		atomic_init(&h.stop, 0);
		pthread_create(&t, NULL, helper_main, &h);
		/* a slow parser in two rounds: the helper gets ahead */
		if (!take_all(h.ra, 24, size, round < 2 ? 200 : 0, &total) ||
		    total != size)
			right = 0;
		atomic_store(&h.stop, 1);
		pthread_join(t, NULL);
		did += h.did;
		read_ahead_free(h.ra);
		close(fd);
	}
	ok(right, "with a helper racing it, the parser gets every chunk "
	    "whole and in order");
	ok(did > 0, "and the helper read some of them (%d)", did);
}

static void
test_error(void)
{
	int fd = open("/", O_RDONLY | O_DIRECTORY);
	struct read_ahead *ra = read_ahead_new(fd, 0, NULL, NULL);
	const uint8_t *p;

	errno = 0;
	ok(read_ahead_next(ra, &p) == -1 && errno == EISDIR,
	    "a read error: -1, errno says which");
	is_int(read_ahead_next(ra, &p), 0, "and nothing after it");
	ok(!read_ahead_work(ra), "a helper reads nothing past it");
	read_ahead_free(ra);
	close(fd);
}

static atomic_int lent_calls, lent_limit;
static pthread_t lent_on;

static int
count_work(void *arg)
{
	(void)arg;
	lent_on = pthread_self();
	atomic_fetch_add(&lent_calls, 1);
	return 1;
}

static int
count_wanted(void *arg)
{
	(void)arg;
	return atomic_load(&lent_calls) < atomic_load(&lent_limit);
}

/* Wait up to two seconds for calls to reach n. */
static int
calls_reach(int n)
{
	struct timespec pause = { 0, 1000000 };

	for (int i = 0; i < 2000 && atomic_load(&lent_calls) < n; i++)
		nanosleep(&pause, NULL);
	return atomic_load(&lent_calls);
}

static void
test_writer_lent(void)
{
	char path[] = "/tmp/udpflows-lent-XXXXXX", err[256];
	int fd = mkstemp(path);
	struct store *s;
	struct writer_async *w;

	close(fd);
	unlink(path);
	if ((s = store_open(path, STORE_WRITE_RUN, err, sizeof(err))) ==
	    NULL || store_run_begin(s, "offline") != 0 ||
	    (w = writer_async_start(s)) == NULL) {
		ok(0, "a writer thread to lend (%s)", err);
		return;
	}
	atomic_init(&lent_calls, 0);
	atomic_init(&lent_limit, 5);
	writer_async_lend(w, count_work, count_wanted, NULL);
	is_int(calls_reach(5), 5, "an idle writer thread does lent work "
	    "while it is wanted");
	ok(!pthread_equal(lent_on, pthread_self()), "on its own thread");
	atomic_store(&lent_limit, 8);
	writer_async_wake(w);
	is_int(calls_reach(8), 8, "and again once more is wanted");
	writer_async_lend(w, NULL, NULL, NULL);
	int before = atomic_load(&lent_calls);
	atomic_store(&lent_limit, 1000);
	writer_async_wake(w);
	usleep(20000);
	is_int(atomic_load(&lent_calls), before,
	    "taken back, the work is not called again");

	/* a capture file's chunks, read ahead by the writer thread */
	size_t size = 24 * CHUNK + 5, total;
	fd = test_file(24, size);
	struct read_ahead *ra = read_ahead_new(fd, 24, writer_async_wake, w);
	writer_async_lend(w, read_ahead_work, read_ahead_wanted, ra);
	int right = take_all(ra, 24, size, 300, &total);
	writer_async_lend(w, NULL, NULL, NULL);
	ok(right && total == size, "a file read ahead by the writer thread "
	    "comes whole and in order");
	ok(read_ahead_helped(ra) > 0, "the writer thread read %llu of its "
	    "25 chunks", (unsigned long long)read_ahead_helped(ra));
	read_ahead_free(ra);
	close(fd);
	is_int(writer_async_finish(w, NULL), 0, "the writer thread ends");
	store_run_abort(s);
	store_close(s);
	unlink(path);
	for (const char *ext = "-wal"; ext != NULL;
	    ext = ext[1] == 'w' ? "-shm" : NULL) {
		char side[sizeof(path) + 4];
		snprintf(side, sizeof(side), "%s%s", path, ext);
		unlink(side);
	}
}

int
main(void)
{
	test_alone();
	test_bound();
	test_race();
	test_error();
	test_writer_lent();
	return tap_done();
}
