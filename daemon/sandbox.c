/*
 * Confining the live daemon once its captures and files are open:
 * privileges dropped for good, writes confined with Landlock, detached
 * from the terminal, its process ID written.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <linux/landlock.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE	/* ABI 3, newer than Debian 12's headers */
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)
#endif

#include "daemon/log.h"
#include "daemon/sandbox.h"

static void
chown_if_exists(const char *path, uid_t uid, gid_t gid)
{
	if (chown(path, uid, gid) != 0 && errno != ENOENT)
		log_warn("chown %s", path);
}

/*
 * Give up root for good once the capture handles and the files are open,
 * after making the database files the user's, so SQLite can go on writing
 * its journal.
 */
void
sandbox_drop_privileges(const char *user, const char *dbpath,
    const char *ndjson)
{
	struct passwd *pw = getpwnam(user);
	char path[4096];

	if (pw == NULL)
		fatalx("-Z %s: no such user", user);
	if (getuid() == 0) {
		chown_if_exists(dbpath, pw->pw_uid, pw->pw_gid);
		snprintf(path, sizeof(path), "%s-wal", dbpath);
		chown_if_exists(path, pw->pw_uid, pw->pw_gid);
		snprintf(path, sizeof(path), "%s-shm", dbpath);
		chown_if_exists(path, pw->pw_uid, pw->pw_gid);
		if (ndjson != NULL)
			chown_if_exists(ndjson, pw->pw_uid, pw->pw_gid);
	}
	if (setgroups(1, &pw->pw_gid) != 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0)
		fatal("dropping privileges to %s", user);
	if (pw->pw_uid != 0 && setuid(0) != -1)
		fatalx("could regain root after dropping privileges");
}

static void
allow_writes_beneath(int ruleset, const char *file, __u64 rights)
{
	char copy[4096];
	struct landlock_path_beneath_attr pb = { .allowed_access = rights };

	snprintf(copy, sizeof(copy), "%s", file);
	if ((pb.parent_fd = open(dirname(copy), O_PATH | O_CLOEXEC)) < 0) {
		log_warn("%s", copy);
		return;
	}
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH,
	    &pb, 0) != 0)
		log_warn("landlock rule for %s", copy);
	close(pb.parent_fd);
}

/*
 * Once everything is open, confine every later write (SQLite's journal, a
 * reopened database or NDJSON file) to the directories of those files with
 * Landlock, whoever we run as: a compromised parser cannot write anywhere
 * else. Reads are not restricted.
 */
void
sandbox_confine_writes(const char *const *files, int nfiles)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	__u64 rights = LANDLOCK_ACCESS_FS_WRITE_FILE |
	    LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
	    LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
	    LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
	    LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
	    LANDLOCK_ACCESS_FS_MAKE_SYM;

	if (abi < 1) {
		log_warnx("Landlock is not available: writes are not confined "
		    "to the database directory");
		return;
	}
	if (abi >= 2)
		rights |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		rights |= LANDLOCK_ACCESS_FS_TRUNCATE;
	struct landlock_ruleset_attr attr = { .handled_access_fs = rights };
	int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr),
	    0);
	if (rs < 0) {
		log_warn("landlock");
		return;
	}
	for (int i = 0; i < nfiles; i++)
		allow_writes_beneath(rs, files[i], rights);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    syscall(SYS_landlock_restrict_self, rs, 0) != 0)
		log_warn("landlock: writes are not confined");
	close(rs);
}

void
sandbox_daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		fatal("fork");
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		fatal("setsid");
	if ((pid = fork()) < 0)
		fatal("fork");
	if (pid > 0)
		_exit(0);
	if (chdir("/") != 0)
		fatal("chdir /");
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

void
sandbox_write_pidfile(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fprintf(f, "%ld\n", (long)getpid()) < 0 ||
	    fclose(f) != 0)
		fatal("%s", path);
}
