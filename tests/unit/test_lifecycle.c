// SPDX-License-Identifier: MIT
/* Unit tests for -name, -daemonize and -pidfile (vmm/lifecycle.c, through vmm/cli.c). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli.h"
#include "error.h"
#include "lifecycle.h"

#include "cli_args.h"

static void test_name(void **state)
{
	struct vm_config cfg;
	char title[16];

	(void)state;
	assert_int_equal(PARSE(&cfg, "-kernel", "k"), CLI_RUN);
	process_title(&cfg, title);
	assert_string_equal(title, "");

	assert_int_equal(PARSE(&cfg, "-kernel", "k", "-name", "web"), CLI_RUN);
	assert_string_equal(cfg.name, "web");
	assert_null(cfg.process_title);
	process_title(&cfg, title);
	assert_string_equal(title, "kvmini:web");
	cli_free(&cfg);
	assert_null(cfg.name_strings[0]);

	/* The kernel keeps 15 bytes of a thread's name. */
	assert_int_equal(PARSE(&cfg, "-kernel", "k", "-name", "a-rather-long-name"), CLI_RUN);
	process_title(&cfg, title);
	assert_string_equal(title, "kvmini:a-rather");
	cli_free(&cfg);

	/* QEMU's keys; the last -name wins; ",," is a comma in the name. */
	assert_int_equal(PARSE(&cfg, "-kernel", "k", "-name", "x", "-name",
			       "guest=db,,1,process=dbvm,debug-threads=on"),
			 CLI_RUN);
	assert_string_equal(cfg.name, "db,1");
	assert_string_equal(cfg.process_title, "dbvm");
	process_title(&cfg, title);
	assert_string_equal(title, "dbvm");
	cli_free(&cfg);

	assert_int_equal(PARSE(&cfg, "-kernel", "k", "-name", "n,process=0123456789abcdefgh"),
			 CLI_RUN);
	process_title(&cfg, title);
	assert_string_equal(title, "0123456789abcde");
	cli_free(&cfg);
}

static void test_name_refused(void **state)
{
	(void)state;
	PARSE_FAILS("-name vm,xx=1: parameter 'xx' is not supported (known: guest, process, "
		    "debug-threads)",
		    "-kernel", "k", "-name", "vm,xx=1");
	PARSE_FAILS("-name vm,debug-threads=off: debug-threads=off: kvmini always names its "
		    "threads (only debug-threads=on)",
		    "-kernel", "k", "-name", "vm,debug-threads=off");
	PARSE_FAILS("-name process=p: no name (-name NAME or -name guest=NAME)", "-kernel", "k",
		    "-name", "process=p");
	PARSE_FAILS("-name vm,process=: process= needs a title", "-kernel", "k", "-name",
		    "vm,process=");
	PARSE_FAILS("-name : empty value", "-kernel", "k", "-name", "");
}

static void test_daemonize(void **state)
{
	struct vm_config cfg;

	(void)state;
	assert_int_equal(PARSE(&cfg, "-kernel", "k"), CLI_RUN);
	assert_false(cfg.daemonize);
	assert_null(cfg.pidfile);
	assert_int_equal(
		PARSE(&cfg, "-kernel", "k", "-daemonize", "-serial", "none", "-pidfile", "vm.pid"),
		CLI_RUN);
	assert_true(cfg.daemonize);
	assert_string_equal(cfg.pidfile, "vm.pid");
	assert_int_equal(PARSE(&cfg, "--daemonize", "-kernel", "k", "-serial", "file:out",
			       "-serial", "none", "-monitor", "none"),
			 CLI_RUN);
	assert_true(cfg.daemonize);
	assert_int_equal(PARSE(&cfg, "-kernel", "k", "-daemonize", "-serial", "none", "-qmp",
			       "unix:q.sock,server,nowait"),
			 CLI_RUN);
	cli_free(&cfg);
	/* -pidfile alone is fine in the foreground. */
	assert_int_equal(PARSE(&cfg, "-kernel", "k", "-pidfile", "vm.pid"), CLI_RUN);
	assert_false(cfg.daemonize);
}

static void test_daemonize_refused(void **state)
{
	(void)state;
	/* QEMU's words. */
	PARSE_FAILS("-nographic cannot be used with -daemonize", "-kernel", "k", "-daemonize",
		    "-nographic", "-serial", "none");
	PARSE_FAILS("-serial stdio: cannot use stdio with -daemonize", "-kernel", "k", "-daemonize",
		    "-serial", "none", "-serial", "stdio");
	PARSE_FAILS("-monitor stdio: cannot use stdio with -daemonize", "-kernel", "k",
		    "-daemonize", "-serial", "none", "-monitor", "stdio");
	/* kvmini's default console is stdio. */
	PARSE_FAILS("-daemonize: the serial console would be on stdio: add -serial file:PATH or "
		    "-serial none",
		    "-kernel", "k", "-daemonize");
	PARSE_FAILS("-pidfile: requires an argument", "-kernel", "k", "-pidfile");
	PARSE_FAILS("-daemonize=on: not supported", "-kernel", "k", "-daemonize=on");
}

/* Two opens of one pidfile: the second is refused, naming the holder's pid. */
static void test_pidfile(void **state)
{
	char dir[] = "/tmp/kvmini-pidfile.XXXXXX", path[64], expect[160], buf[32];
	struct pidfile a, b;
	struct stat st;
	int fd;
	ssize_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/vm.pid", dir);

	assert_int_equal(pidfile_open(&a, path), 0);
	snprintf(expect, sizeof(expect), "-pidfile %s: another kvmini (starting) holds it", path);
	assert_int_equal(pidfile_open(&b, path), -EBUSY);
	assert_string_equal(err_msg(EBUSY), expect);
	assert_int_equal(b.fd, -1);

	assert_int_equal(pidfile_write(&a), 0);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = 0;
	assert_int_equal(strtol(buf, NULL, 10), getpid());
	assert_int_equal(buf[n - 1], '\n');
	snprintf(expect, sizeof(expect), "-pidfile %s: another kvmini (pid %d) holds it", path,
		 (int)getpid());
	assert_int_equal(pidfile_open(&b, path), -EBUSY);
	assert_string_equal(err_msg(EBUSY), expect);

	pidfile_remove(&a);
	assert_int_equal(stat(path, &st), -1);
	pidfile_remove(&a); /* idempotent */

	/* A stale file (no lock on it) is taken over. */
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "1\n", 2), 2);
	close(fd);
	assert_int_equal(pidfile_open(&b, path), 0);
	assert_int_equal(pidfile_write(&b), 0);
	/* Not ours any more (replaced): left alone. */
	assert_int_equal(unlink(path), 0);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	pidfile_remove(&b);
	assert_int_equal(stat(path, &st), 0);
	unlink(path);

	snprintf(path, sizeof(path), "%s/no/such/dir.pid", dir);
	assert_int_equal(pidfile_open(&b, path), -ENOENT);
	snprintf(expect, sizeof(expect), "-pidfile %s: %s", path, strerror(ENOENT));
	assert_string_equal(err_msg(ENOENT), expect);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name),	  cmocka_unit_test(test_name_refused),
		cmocka_unit_test(test_daemonize), cmocka_unit_test(test_daemonize_refused),
		cmocka_unit_test(test_pidfile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
