/*
 * rusage: run a command, print its wall seconds, peak RSS in kB and CPU
 * seconds (user and system) on standard error as "rusage WALL KB CPU",
 * exit with its status.
 *
 *   rusage COMMAND [ARG ...]
 *
 * A peak RSS taken from a Python or shell parent is wrong: Linux keeps the
 * largest RSS a process had across exec, so a child forked from a 14 MB
 * interpreter reports at least 14 MB. This parent is small.
 */
#include <err.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	struct timespec t0, t1;
	struct rusage ru;
	int status;
	pid_t pid;

	if (argc < 2)
		errx(2, "usage: rusage COMMAND [ARG ...]");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((pid = fork()) == -1)
		err(2, "fork");
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		err(127, "%s", argv[1]);
	}
	if (wait4(pid, &status, 0, &ru) == -1)
		err(2, "wait4");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "rusage %.3f %ld %.3f\n", (double)(t1.tv_sec -
	    t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, ru.ru_maxrss,
	    (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
