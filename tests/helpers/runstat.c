// SPDX-License-Identifier: MIT
/*
 * runstat - run a command and report its wall time, peak RSS and exit status.
 *
 * usage: runstat [-v] [-t TIMEOUT_S] -- cmd [args...]
 *
 * The command runs with stdin from /dev/null and stdout/stderr to /dev/null (with -v they are
 * inherited). When it has been reaped, one line goes to stdout:
 *
 *   wall_us=N maxrss_kb=N status=N
 *
 * wall_us is CLOCK_MONOTONIC from just before fork() to the return of wait4(); maxrss_kb is
 * ru_maxrss of the child from wait4(); status is the exit status, or 128 + N when it was killed
 * by signal N (with -t, a command still running after TIMEOUT_S seconds gets SIGKILL).
 * runstat itself exits 0 once it has printed the line, 127 if the command could not be run,
 * 2 on usage errors.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t child;

static void usage(void)
{
	fprintf(stderr, "usage: runstat [-v] [-t TIMEOUT_S] -- cmd [args...]\n"
			"prints: wall_us=N maxrss_kb=N status=N\n");
	exit(2);
}

static void on_alarm(int sig)
{
	(void)sig;
	if (child > 0)
		kill(child, SIGKILL);
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void run_child(char **argv, int verbose, int errfd)
{
	int err;

	if (!verbose) {
		int null = open("/dev/null", O_RDWR);

		if (null < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			goto fail;
		if (null > 2)
			close(null);
	}
	{
		int in = open("/dev/null", O_RDONLY);

		if (in < 0 || dup2(in, 0) < 0)
			goto fail;
		if (in > 2)
			close(in);
	}
	execvp(argv[0], argv);
fail:
	err = errno;
	if (write(errfd, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

int main(int argc, char **argv)
{
	struct rusage ru;
	struct sigaction sa;
	int verbose = 0, opt, status, errpipe[2], err, code;
	double timeout_s = 0;
	int64_t start, end;
	ssize_t r;
	pid_t w;

	while ((opt = getopt(argc, argv, "+vt:h")) != -1) {
		char *e;

		switch (opt) {
		case 'v':
			verbose = 1;
			break;
		case 't':
			timeout_s = strtod(optarg, &e);
			if (*e || e == optarg || timeout_s <= 0) {
				fprintf(stderr, "runstat: bad timeout '%s'\n", optarg);
				return 2;
			}
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();

	if (pipe2(errpipe, O_CLOEXEC) < 0) {
		perror("runstat: pipe");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);

	start = now_us();
	child = fork();
	if (child < 0) {
		perror("runstat: fork");
		return 2;
	}
	if (!child)
		run_child(argv + optind, verbose, errpipe[1]);
	close(errpipe[1]);

	if (timeout_s > 0) {
		struct itimerval it = { { 0, 0 }, { 0, 0 } };

		it.it_value.tv_sec = (time_t)timeout_s;
		it.it_value.tv_usec = (suseconds_t)((timeout_s - (double)it.it_value.tv_sec) * 1e6);
		setitimer(ITIMER_REAL, &it, NULL);
	}

	do {
		r = read(errpipe[0], &err, sizeof(err));
	} while (r < 0 && errno == EINTR);
	close(errpipe[0]);

	do {
		w = wait4(child, &status, 0, &ru);
	} while (w < 0 && errno == EINTR);
	end = now_us();
	if (w < 0) {
		perror("runstat: wait4");
		return 2;
	}
	if (r == sizeof(err)) {
		fprintf(stderr, "runstat: cannot run %s: %s\n", argv[optind], strerror(err));
		return 127;
	}

	if (WIFEXITED(status))
		code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		code = 128 + WTERMSIG(status);
	else
		code = 255;
	printf("wall_us=%lld maxrss_kb=%ld status=%d\n", (long long)(end - start), ru.ru_maxrss,
	       code);
	return 0;
}
