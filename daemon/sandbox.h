/*
 * Confining the live daemon, after OpenBSD's daemons: everything that
 * needs root is opened first, then privileges go for good. Failures are
 * fatal (daemon/log.h), except where the kernel lacks Landlock, which is
 * logged.
 */
#ifndef UDPFLOWS_SANDBOX_H
#define UDPFLOWS_SANDBOX_H

/* Detach: fork twice, a new session, "/" as the directory, no terminal. */
void sandbox_daemonize(void);
void sandbox_write_pidfile(const char *path);
/*
 * Become user for good, after making the database (with its -wal and
 * -shm) and the NDJSON file (may be NULL) the user's, so that SQLite can
 * go on writing its journal.
 */
void sandbox_drop_privileges(const char *user, const char *dbpath,
    const char *ndjson);
/*
 * Confine every later write to the directories of files[0..nfiles) with
 * Landlock, whoever we run as; reads are not restricted.
 */
void sandbox_confine_writes(const char *const *files, int nfiles);

#endif
