// SPDX-License-Identifier: MIT
/* Unit tests for the control plane's options (vmm/cli.c): -qmp and -monitor. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cli.h"
#include "error.h"

static int parse(struct vm_config *cfg, const char *const *args)
{
	char *argv[16] = { "kvmini", "-kernel", "vmlinux" };
	int argc = 3;

	while (*args)
		argv[argc++] = (char *)*args++;
	return cli_parse(argc, argv, cfg);
}

#define PARSE(cfg, ...) parse(cfg, (const char *const[]){ __VA_ARGS__, NULL })

static void expect_fails(const char *opt, const char *arg, const char *msg)
{
	struct vm_config cfg;

	assert_int_equal(PARSE(&cfg, opt, arg), -EINVAL);
	assert_string_equal(err_msg(EINVAL), msg);
	cli_free(&cfg);
}

static void test_sockets(void **state)
{
	struct vm_config cfg;

	(void)state;
	assert_int_equal(PARSE(&cfg, "-qmp", "unix:/tmp/q.sock,server,nowait", "-qmp",
			       "tcp::4444,server=on", "-monitor", "unix:/tmp/m,server,wait=off",
			       "-qmp", "tcp:localhost:5555,server,wait=on"),
			 CLI_RUN);
	assert_int_equal(cfg.nr_controls, 4);
	assert_true(cfg.controls[0].qmp);
	assert_string_equal(cfg.controls[0].addr, "unix:/tmp/q.sock");
	assert_false(cfg.controls[0].wait);
	/* server without nowait waits for a client, as in QEMU. */
	assert_string_equal(cfg.controls[1].addr, "tcp::4444");
	assert_true(cfg.controls[1].wait);
	assert_false(cfg.controls[2].qmp);
	assert_false(cfg.controls[2].wait);
	assert_true(cfg.controls[3].wait);
	assert_false(cfg.monitor_stdio);
	cli_free(&cfg);
	assert_int_equal(cfg.nr_controls, 0);
}

static void test_monitor_stdio_none(void **state)
{
	struct vm_config cfg;

	(void)state;
	assert_int_equal(PARSE(&cfg, "-monitor", "stdio"), CLI_RUN);
	assert_true(cfg.monitor_stdio);
	assert_int_equal(cfg.nr_controls, 0);
	cli_free(&cfg);
	assert_int_equal(PARSE(&cfg, "--monitor", "none"), CLI_RUN);
	assert_true(cfg.monitor_none);
	cli_free(&cfg);
}

static void test_errors(void **state)
{
	(void)state;
	expect_fails("-qmp", "stdio",
		     "-qmp stdio: QMP on stdio is not supported: use a unix or tcp socket "
		     "(unix:PATH,server,nowait)");
	expect_fails("-qmp", "unix:/tmp/q",
		     "-qmp unix:/tmp/q: only server sockets are supported (add ,server)");
	expect_fails("-qmp", "unix:/tmp/q,server=off",
		     "-qmp unix:/tmp/q,server=off: unknown parameter 'server=off' (known: "
		     "server, wait=on|off, nowait)");
	expect_fails("-qmp", "telnet::4444,server",
		     "-qmp telnet::4444,server: expected unix:PATH,server,nowait or "
		     "tcp:[HOST]:PORT,server,nowait");
	expect_fails("-monitor", "vc",
		     "-monitor vc: expected unix:PATH,server,nowait or "
		     "tcp:[HOST]:PORT,server,nowait, stdio or none");
	expect_fails("-monitor", "unix:/tmp/m,server,nodelay",
		     "-monitor unix:/tmp/m,server,nodelay: unknown parameter 'nodelay' (known: "
		     "server, wait=on|off, nowait)");
}

static void test_too_many(void **state)
{
	struct vm_config cfg;
	const char *args[2 * MAX_CONTROL_SOCKETS + 5] = { "kvmini", "-kernel", "vmlinux" };
	int argc = 3;

	(void)state;
	for (int i = 0; i <= MAX_CONTROL_SOCKETS; i++) {
		args[argc++] = "-qmp";
		args[argc++] = "unix:/tmp/q,server,nowait";
	}
	assert_int_equal(cli_parse(argc, (char **)args, &cfg), -EINVAL);
	assert_non_null(strstr(err_msg(EINVAL), "at most 8 -qmp and -monitor sockets"));
	cli_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sockets),
		cmocka_unit_test(test_monitor_stdio_none),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_too_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
