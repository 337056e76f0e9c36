/*
 * A file read ahead in chunks by two threads: the one that parses it, and
 * a helper that fills chunks while it has nothing else to do (udpflowd's
 * writer thread between batches). The parsing thread takes the chunks in
 * order, where they lie; a chunk the helper has not begun to read it
 * reads itself, so it waits only for a read under way, never for a helper
 * busy with something else. The parsing
 * thread is the one the whole run waits for, and a page-cache read (the
 * copy, and the page cache's own work, dear in a virtual machine) is a
 * large part of its time; the helper's core has time to spare.
 *
 * Chunks end at fixed file offsets, not at records: a record may start in
 * one chunk and end in a later one.
 */
#ifndef UDPFLOWS_READ_AHEAD_H
#define UDPFLOWS_READ_AHEAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define READ_AHEAD_CHUNK	(256u << 10)
/*
 * One MiB in all: small, because memory touched for the first time is
 * dear in a virtual machine (a larger ring cost more at the start than
 * reading further ahead saved; tests/bench/README.md).
 */
#define READ_AHEAD_SLOTS	4

struct read_ahead;

/*
 * fd read from offset at on; wake(arg), called by the parsing thread, is
 * to rouse the helper when the ring has room for it again. NULL when
 * memory runs out.
 */
struct read_ahead *read_ahead_new(int fd, off_t at, void (*wake)(void *),
    void *wake_arg);
void read_ahead_free(struct read_ahead *);

/*
 * The parsing thread's: the next chunk, at *p, valid until the next call;
 * its length, READ_AHEAD_CHUNK but at the end (0 at the end, -1 for a
 * read error; errno then says which). The chunk before is given up.
 */
ssize_t read_ahead_next(struct read_ahead *, const uint8_t **p);

/* The file offset of the chunk read_ahead_next returned last. */
off_t read_ahead_offset(struct read_ahead *);

/*
 * The helper's, one thread at a time: read one chunk ahead, if there is
 * room and file left; whether it did. read_ahead_wanted: whether it would
 * (cheap, no read).
 */
int read_ahead_work(void *ra);
int read_ahead_wanted(void *ra);
/* The chunks the helper has read; once it is taken off the ring. */
uint64_t read_ahead_helped(const struct read_ahead *);

#endif
