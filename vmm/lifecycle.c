// SPDX-License-Identifier: MIT
/*
 * The process around the VM: -daemonize, -pidfile, the process title.
 *
 * The daemon is forked before the VM is built (a KVM VM belongs to the
 * process that created it), so the setup's messages still reach the
 * caller's stderr; the caller's process waits on a pipe until the daemon
 * says it is set up, or exits 1 when the pipe closes without that.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "lifecycle.h"
#include "opts.h"

static int ready_fd = -1; /* the daemon's end of the pipe to the caller's process */

int name_parse(struct vm_config *cfg, const char *arg)
{
	const char *name, *process, *threads;
	struct opts o;
	int ret;

	ret = opts_parse(&o, arg, "guest");
	if (ret)
		return ret;
	name = opts_get(&o, "guest");
	process = opts_get(&o, "process");
	threads = opts_get(&o, "debug-threads");
	if (opts_unused(&o)) {
		ret = err_set(EINVAL,
			      "parameter '%s' is not supported (known: guest, process, "
			      "debug-threads)",
			      opts_unused(&o));
	} else if (threads && strcmp(threads, "on")) {
		/* kvmini's threads always have names (vcpu0 ...): on is what it does anyway. */
		ret = err_set(EINVAL,
			      "debug-threads=%s: kvmini always names its threads (only "
			      "debug-threads=on)",
			      threads);
	} else if (!name) {
		ret = err_set(EINVAL, "no name (-name NAME or -name guest=NAME)");
	} else if (process && !*process) {
		ret = err_set(EINVAL, "process= needs a title");
	} else {
		for (unsigned int i = 0; i < 2; i++) {
			free(cfg->name_strings[i]);
			cfg->name_strings[i] = NULL;
		}
		cfg->name_strings[0] = strdup(name);
		cfg->name_strings[1] = process ? strdup(process) : NULL;
		if (!cfg->name_strings[0] || (process && !cfg->name_strings[1]))
			ret = -ENOMEM;
		cfg->name = cfg->name_strings[0];
		cfg->process_title = cfg->name_strings[1];
	}
	opts_free(&o);
	return ret;
}

int daemonize_check(const struct vm_config *cfg)
{
	/* QEMU's rules and words: nothing may be on the stdio the daemon leaves. */
	if (cfg->nographic)
		return err_set(EINVAL, "-nographic cannot be used with -daemonize");
	if (cfg->monitor_stdio)
		return err_set(EINVAL, "-monitor stdio: cannot use stdio with -daemonize");
	if (!cfg->nr_serial)
		return err_set(EINVAL, "-daemonize: the serial console would be on stdio: add "
				       "-serial file:PATH or -serial none");
	for (unsigned int i = 0; i < cfg->nr_serial; i++) {
		if (cfg->serial[i].backend == SERIAL_STDIO)
			return err_set(EINVAL, "-serial stdio: cannot use stdio with -daemonize");
	}
	return 0;
}

/* The caller's process: wait for the daemon's word, exit with it. */
static void __attribute__((noreturn)) daemonize_wait(int fd, pid_t middle)
{
	char c;
	ssize_t n;

	waitpid(middle, NULL, 0);
	do {
		n = read(fd, &c, 1);
	} while (n < 0 && errno == EINTR);
	/* _exit: the daemon owns everything parsed so far (and flushes nothing of ours). */
	_exit(n == 1 ? EXIT_SUCCESS : EXIT_FAILURE);
}

int daemonize_start(void)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return err_set(errno, "-daemonize: pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return err_set(errno, "-daemonize: fork: %s", strerror(errno));
	}
	if (pid > 0) {
		close(fds[1]);
		daemonize_wait(fds[0], pid);
	}
	close(fds[0]);
	/* A session of its own, and not its leader: no terminal can become its controlling one. */
	setsid();
	pid = fork();
	if (pid < 0) {
		pr_err("-daemonize: fork: %s", strerror(errno));
		_exit(EXIT_FAILURE);
	}
	if (pid > 0)
		_exit(EXIT_SUCCESS);
	signal(SIGTSTP, SIG_IGN);
	signal(SIGTTOU, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
	ready_fd = fds[1];
	return 0;
}

void daemonize_ready(void)
{
	char ok = 0;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	/* stdio first: the caller may be reading our stderr until it sees EOF. */
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(null);
	}
	if (write(ready_fd, &ok, 1) != 1) {
		/* The caller's process is gone: nobody to tell. */
	}
	close(ready_fd);
	ready_fd = -1;
}

/* The pid written in @fd, or 0. */
static long pidfile_holder(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

int pidfile_open(struct pidfile *pf, const char *path)
{
	struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct stat st_fd, st_path;
	int fd;

	pf->fd = -1;
	pf->path = path;
	/* Locked, then checked to be still the file at @path (not one removed meanwhile). */
	for (;;) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return err_set(errno, "-pidfile %s: %s", path, strerror(errno));
		if (fcntl(fd, F_OFD_SETLK, &lk)) {
			int e = errno;
			long pid = pidfile_holder(fd);

			close(fd);
			if (e != EAGAIN && e != EACCES)
				return err_set(e, "-pidfile %s: cannot lock it: %s", path,
					       strerror(e));
			if (pid > 0)
				return err_set(EBUSY,
					       "-pidfile %s: another kvmini (pid %ld) holds it",
					       path, pid);
			return err_set(EBUSY, "-pidfile %s: another kvmini (starting) holds it",
				       path);
		}
		if (!fstat(fd, &st_fd) && !stat(path, &st_path) && st_fd.st_dev == st_path.st_dev &&
		    st_fd.st_ino == st_path.st_ino)
			break;
		close(fd);
	}
	pf->fd = fd;
	return 0;
}

int pidfile_write(struct pidfile *pf)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

	errno = 0;
	if (ftruncate(pf->fd, 0) || pwrite(pf->fd, buf, (size_t)len, 0) != len)
		return err_set(errno ? errno : EIO, "-pidfile %s: cannot write it: %s", pf->path,
			       strerror(errno ? errno : EIO));
	return 0;
}

void pidfile_remove(struct pidfile *pf)
{
	struct stat st_fd, st_path;

	if (pf->fd < 0)
		return;
	/* Only our own file: never one another kvmini created after ours went. */
	if (!fstat(pf->fd, &st_fd) && !stat(pf->path, &st_path) && st_fd.st_dev == st_path.st_dev &&
	    st_fd.st_ino == st_path.st_ino)
		unlink(pf->path);
	close(pf->fd);
	pf->fd = -1;
}

void process_title(const struct vm_config *cfg, char *buf)
{
	buf[0] = 0;
	if (cfg->process_title)
		snprintf(buf, 16, "%s", cfg->process_title);
	else if (cfg->name)
		snprintf(buf, 16, "kvmini:%s", cfg->name);
}

int process_title_set(const struct vm_config *cfg)
{
	char title[16];

	process_title(cfg, title);
	if (title[0] && prctl(PR_SET_NAME, title, 0, 0, 0))
		return err_set(errno, "-name: cannot set the process title: %s", strerror(errno));
	return 0;
}
