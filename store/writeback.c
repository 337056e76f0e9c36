/*
 * Writeback hints: the kernel is asked to write the WAL and the database
 * out while a run goes on, so that the fsyncs at its end find little left.
 * Hints only; nothing depends on them succeeding.
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "store/store_int.h"

#ifdef SYNC_FILE_RANGE_WRITE
/*
 * Descriptors of the WAL and the database of our own, for writeback
 * hints only; 0 once the WAL's is open, or the database's when a run
 * writes straight into it (no WAL). Closed by store_close, after the
 * connection (see there).
 */
static int
writeback_open(struct store *s)
{
	const char *db = sqlite3_db_filename(s->db, "main");

	if (s->db_fd < 0 && db != NULL && *db != '\0')
		s->db_fd = open(db, O_RDONLY | O_CLOEXEC);
	if (s->direct)
		return s->db_fd >= 0 ? 0 : -1;
	if (s->wal_fd >= 0)
		return 0;
	const char *wal = db != NULL ? sqlite3_filename_wal(db) : NULL;
	/* not created yet, or a database without a file */
	if (wal == NULL || *wal == '\0' ||
	    (s->wal_fd = open(wal, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	return 0;
}
#endif

/*
 * A run's transaction writes its pages to the WAL as they leave SQLite's
 * cache, and the checkpoint after the commit first fsyncs the whole WAL,
 * which is as large as the run, waited for at the very end of it. The
 * kernel is asked to start writing the WAL out as it grows instead (what
 * PostgreSQL's wal_writer_flush_after does), so that fsync finds little
 * left: only the frame headers the commit rewrites. A hint; nothing
 * depends on it succeeding.
 */
#define WAL_WRITEBACK_EVERY	(4 << 20)

void
store_wal_writeback(struct store *s)
{
#ifdef SYNC_FILE_RANGE_WRITE
	if (writeback_open(s) != 0)
		return;
	/*
	 * A run written straight into the database grows it at its end,
	 * and rewrites pages before it (the indexes'): the whole file is
	 * handed over each time.
	 */
	int fd = s->direct ? s->db_fd : s->wal_fd;
	off_t end = lseek(fd, 0, SEEK_END);
	if (end < s->wal_written)	/* truncated by a checkpoint */
		s->wal_written = 0;
	if (end - s->wal_written < WAL_WRITEBACK_EVERY)
		return;
	(void)sync_file_range(fd, s->direct ? 0 : s->wal_written,
	    s->direct ? 0 : end - s->wal_written, SYNC_FILE_RANGE_WRITE);
	s->wal_written = end;
#else
	(void)s;
#endif
}

/*
 * The checkpoint that follows a run's commit copies the WAL into the
 * database a page at a time, then fsyncs the database: the whole run
 * written out while the process waits. A second thread
 * meanwhile asks the kernel to write out what is dirty in both files every
 * few milliseconds, so that the writing overlaps the copying and the
 * fsyncs find little left (PostgreSQL's checkpoint_flush_after).
 */
struct flusher {
	pthread_t	 thread;
	int		 fds[2];
	atomic_int	 stop;
};

#ifdef SYNC_FILE_RANGE_WRITE
static void *
flusher_main(void *arg)
{
	struct flusher *fl = arg;
	const struct timespec pause = { 0, 2 * 1000 * 1000 };

	while (!atomic_load(&fl->stop)) {
		for (int i = 0; i < 2; i++)
			if (fl->fds[i] >= 0)
				(void)sync_file_range(fl->fds[i], 0, 0,
				    SYNC_FILE_RANGE_WRITE);
		nanosleep(&pause, NULL);
	}
	return NULL;
}
#endif

/* Commit a run, the checkpoint's files written out as it goes. */
int
store_commit_flushing(struct store *s)
{
	struct flusher fl = { .fds = { -1, -1 } };
	int started = 0, rc;

#ifdef SYNC_FILE_RANGE_WRITE
	atomic_init(&fl.stop, 0);
	if (writeback_open(s) == 0 && s->db_fd >= 0) {
		fl.fds[0] = s->wal_fd;
		fl.fds[1] = s->db_fd;
		started = pthread_create(&fl.thread, NULL, flusher_main,
		    &fl) == 0;
	}
#endif
	rc = store_batch_commit(s);
	if (started) {
		atomic_store(&fl.stop, 1);
		pthread_join(fl.thread, NULL);
	}
	return rc;
}

