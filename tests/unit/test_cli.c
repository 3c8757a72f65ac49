// SPDX-License-Identifier: MIT
/* Unit tests for the QEMU-compatible command line (vmm/cli.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli.h"
#include "error.h"
#include "util.h"
#include "cli_args.h"

static uint64_t host_ram(void)
{
	return (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void test_defaults(void **state)
{
	struct vm_config cfg;

	(void)state;
	memset(&cfg, 0xa5, sizeof(cfg));
	assert_int_equal(PARSE(&cfg, "-kernel", "vmlinux"), CLI_RUN);
	assert_string_equal(cfg.kernel, "vmlinux");
	assert_ptr_equal(cfg.kernel, argv_buf[2]);
	assert_null(cfg.cmdline);
	assert_null(cfg.name);
	assert_int_equal(cfg.ram_size, 128 * MIB);
	assert_int_equal(cfg.nr_vcpus, 1);
	assert_int_equal(cfg.nr_serial, 0); /* COM1 on stdio */
	assert_int_equal(cfg.nr_devices, 0);
	assert_false(cfg.no_reboot);
	assert_false(cfg.nographic);
	assert_null(cfg.kvm_path);
}

static void test_kernel_append(void **state)
{
	struct vm_config cfg;

	(void)state;
	assert_int_equal(PARSE(&cfg, "-append", "console=ttyS0 quiet", "-kernel", "bzImage"),
			 CLI_RUN);
	assert_string_equal(cfg.kernel, "bzImage");
	assert_string_equal(cfg.cmdline, "console=ttyS0 quiet");
	assert_ptr_equal(cfg.cmdline, argv_buf[2]);

	/* Later options win; an empty command line is allowed. */
	assert_int_equal(PARSE(&cfg, "-kernel", "a", "-kernel", "b", "-append", ""), CLI_RUN);
	assert_string_equal(cfg.kernel, "b");
	assert_string_equal(cfg.cmdline, "");
}

static void test_memory(void **state)
{
	static const struct {
		const char *arg;
		uint64_t size;
	} cases[] = {
		{ "512M", 512 * MIB },	 { "512m", 512 * MIB }, { "256", 256 * MIB },
		{ "size=1G", GIB },	 { "2M", 2 * MIB },	{ "2097152B", 2 * MIB },
		{ "2049K", 2101248 }, /* rounded up to whole pages */
		{ "2097153B", 2101248 }, { "2048K", 2 * MIB },
	};
	struct vm_config cfg;

	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(PARSE(&cfg, "-kernel", "k", "-m", cases[i].arg), CLI_RUN);
		assert_int_equal(cfg.ram_size, cases[i].size);
	}
	assert_int_equal(PARSE(&cfg, "-m", "1G", "-kernel", "k", "-m", "512M"), CLI_RUN);
	assert_int_equal(cfg.ram_size, 512 * MIB);
}

static void test_memory_2g(void **state)
{
	struct vm_config cfg;

	(void)state;
	if (host_ram() < 2 * GIB)
		skip();
	assert_int_equal(PARSE(&cfg, "-kernel", "k", "-m", "2G"), CLI_RUN);
	assert_int_equal(cfg.ram_size, 2 * GIB);
}

static void test_memory_refused(void **state)
{
	struct vm_config cfg;
	char expect[128];

	(void)state;
	PARSE_FAILS("-m 0: RAM size must be at least 2M", "-kernel", "k", "-m", "0");
	PARSE_FAILS("-m 1M: RAM size must be at least 2M", "-kernel", "k", "-m", "1M");
	PARSE_FAILS("-m 2047K: RAM size must be at least 2M", "-kernel", "k", "-m", "2047K");
	PARSE_FAILS("-m abc: not a size (examples: 512M, 2G)", "-kernel", "k", "-m", "abc");
	PARSE_FAILS("-m 1.5G: not a size (examples: 512M, 2G)", "-kernel", "k", "-m", "1.5G");
	PARSE_FAILS("-m size=: not a size (examples: 512M, 2G)", "-kernel", "k", "-m", "size=");
	PARSE_FAILS("-m 99999999999999999999: not a size (examples: 512M, 2G)", "-kernel", "k",
		    "-m", "99999999999999999999");
	PARSE_FAILS("-m 1G,slots=2: parameter 'slots' is not supported (only size)", "-kernel", "k",
		    "-m", "1G,slots=2");
	PARSE_FAILS("-m 1G,size=2G: parameter 'size' given twice", "-kernel", "k", "-m",
		    "1G,size=2G");

	snprintf(expect, sizeof(expect),
		 "-m 99999G: RAM size is more than this host's memory (%llu MiB)",
		 (unsigned long long)(host_ram() / MIB));
	assert_int_equal(PARSE(&cfg, "-kernel", "k", "-m", "99999G"), -EINVAL);
	assert_string_equal(err_msg(EINVAL), expect);
}

static void test_smp(void **state)
{
	static const struct {
		const char *arg;
		unsigned int n;
	} cases[] = {
		{ "1", 1 }, { "4", 4 }, { "cpus=2", 2 }, { "255", 255 }, { "0x10", 16 },
	};
	struct vm_config cfg;

	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(PARSE(&cfg, "-kernel", "k", "-smp", cases[i].arg), CLI_RUN);
		assert_int_equal(cfg.nr_vcpus, cases[i].n);
	}
}

static void test_smp_refused(void **state)
{
	(void)state;
	PARSE_FAILS("-smp 0: cpus must be between 1 and 255", "-kernel", "k", "-smp", "0");
	PARSE_FAILS("-smp 256: cpus must be between 1 and 255", "-kernel", "k", "-smp", "256");
	PARSE_FAILS("-smp 4294967297: cpus must be between 1 and 255", "-kernel", "k", "-smp",
		    "4294967297");
	PARSE_FAILS("-smp 3,cores=2: sockets (1) * cores (2) * threads (1) must equal maxcpus (3)",
		    "-kernel", "k", "-smp", "3,cores=2");
	PARSE_FAILS("-smp 4,maxcpus=2: the CPU count must be between 1 and maxcpus (2)", "-kernel",
		    "k", "-smp", "4,maxcpus=2");
	PARSE_FAILS("-smp 4,dies=2: unknown parameter 'dies' (cpus, sockets, cores, threads, "
		    "maxcpus)",
		    "-kernel", "k", "-smp", "4,dies=2");
	PARSE_FAILS("-smp 240,sockets=3,cores=80: this topology needs APIC IDs above 254 (x2APIC), "
		    "which kvmini does not support yet",
		    "-kernel", "k", "-smp", "240,sockets=3,cores=80");
	PARSE_FAILS("-smp abc: cpus=abc: not a number", "-kernel", "k", "-smp", "abc");
	PARSE_FAILS("-smp -1: cpus=-1: not a number", "-kernel", "k", "-smp", "-1");
}

static void test_serial(void **state)
{
	struct vm_config cfg;

	(void)state;
	assert_int_equal(PARSE(&cfg, "-kernel", "k", "-serial", "none", "-serial",
			       "file:/tmp/com2.log", "-serial", "stdio", "-serial", "null"),
			 CLI_RUN);
	assert_int_equal(cfg.nr_serial, 4);
	assert_int_equal(cfg.serial[0].backend, SERIAL_NONE);
	assert_int_equal(cfg.serial[1].backend, SERIAL_FILE);
	assert_string_equal(cfg.serial[1].path, "/tmp/com2.log");
	assert_ptr_equal(cfg.serial[1].path, argv_buf[6] + 5);
	assert_int_equal(cfg.serial[2].backend, SERIAL_STDIO);
	assert_int_equal(cfg.serial[3].backend, SERIAL_NONE);

	assert_int_equal(PARSE(&cfg, "-kernel", "k", "-serial", "stdio"), CLI_RUN);
	assert_int_equal(cfg.nr_serial, 1);
	assert_int_equal(cfg.serial[0].backend, SERIAL_STDIO);
}

static void test_serial_refused(void **state)
{
	(void)state;
	PARSE_FAILS("-serial stdio: only one serial port can use stdio", "-kernel", "k", "-serial",
		    "stdio", "-serial", "none", "-serial", "stdio");
	PARSE_FAILS("-serial none: at most 4 serial ports", "-kernel", "k", "-serial", "none",
		    "-serial", "none", "-serial", "none", "-serial", "none", "-serial", "none");
	PARSE_FAILS("-serial file:: unsupported serial back end (use stdio, file:PATH or none)",
		    "-kernel", "k", "-serial", "file:");
	PARSE_FAILS("-serial tcp::4444: unsupported serial back end (use stdio, file:PATH or none)",
		    "-kernel", "k", "-serial", "tcp::4444");
	PARSE_FAILS("-serial : unsupported serial back end (use stdio, file:PATH or none)",
		    "-kernel", "k", "-serial", "");
}

static void test_device(void **state)
{
	struct vm_config cfg;

	(void)state;
	assert_int_equal(PARSE(&cfg, "-device", "isa-debug-exit,iobase=0xf4", "-kernel", "k",
			       "-device", "i8042", "-device", "isa-serial,chardev=x"),
			 CLI_RUN);
	assert_int_equal(cfg.nr_devices, 3);
	assert_string_equal(cfg.devices[0], "isa-debug-exit,iobase=0xf4");
	assert_ptr_equal(cfg.devices[0], argv_buf[2]);
	assert_string_equal(cfg.devices[1], "i8042");
	assert_string_equal(cfg.devices[2], "isa-serial,chardev=x");
}

static void test_device_help(void **state)
{
	struct vm_config cfg;

	(void)state;
	/* No -kernel needed to ask. */
	assert_int_equal(PARSE(&cfg, "-device", "help"), CLI_DEVICE_HELP);
	assert_int_equal(PARSE(&cfg, "-device", "?"), CLI_DEVICE_HELP);
	assert_int_equal(PARSE(&cfg, "-kernel", "k", "-device", "help"), CLI_DEVICE_HELP);
	assert_int_equal(cfg.nr_devices, 0);
}

static void test_device_too_many(void **state)
{
	const char *args[2 * (MAX_DEVICE_ARGS + 1) + 3];
	struct vm_config cfg;
	unsigned int n = 0;

	(void)state;
	args[n++] = "-kernel";
	args[n++] = "k";
	for (unsigned int i = 0; i < MAX_DEVICE_ARGS; i++) {
		args[n++] = "-device";
		args[n++] = "i8042";
	}
	args[n] = NULL;
	assert_int_equal(parse_args(&cfg, args), CLI_RUN);
	assert_int_equal(cfg.nr_devices, MAX_DEVICE_ARGS);

	args[n++] = "-device";
	args[n++] = "i8042";
	args[n] = NULL;
	assert_int_equal(parse_args(&cfg, args), -EINVAL);
	assert_string_equal(err_msg(EINVAL), "-device i8042: too many devices (at most 64)");
}

static void test_accel(void **state)
{
	struct vm_config cfg;

	(void)state;
	assert_int_equal(PARSE(&cfg, "-kernel", "k", "-accel", "kvm"), CLI_RUN);
	assert_int_equal(PARSE(&cfg, "-kernel", "k", "-accel", "accel=kvm"), CLI_RUN);
	assert_int_equal(PARSE(&cfg, "-kernel", "k", "-enable-kvm"), CLI_RUN);
	PARSE_FAILS("-accel tcg: only kvm is supported", "-kernel", "k", "-accel", "tcg");
	PARSE_FAILS("-accel kvmx: only kvm is supported", "-kernel", "k", "-accel", "kvmx");
	PARSE_FAILS("-accel kvm,thread=single: parameter 'thread' is not supported", "-kernel", "k",
		    "-accel", "kvm,thread=single");
}

static void test_flags(void **state)
{
	struct vm_config cfg;

	(void)state;
	assert_int_equal(PARSE(&cfg, "-nographic", "-kernel", "k", "-no-reboot", "-name", "guest1",
			       "-enable-kvm"),
			 CLI_RUN);
	assert_true(cfg.nographic);
	assert_true(cfg.no_reboot);
	assert_string_equal(cfg.name, "guest1");
	assert_string_equal(cfg.kernel, "k");
	cli_free(&cfg);
	PARSE_FAILS("-name a,b: parameter 'b' needs a value (b=...)", "-kernel", "k", "-name",
		    "a,b");
	assert_int_equal(PARSE(&cfg, "-kernel", "k", "-name", "guest=vm7"), CLI_RUN);
	assert_string_equal(cfg.name, "vm7");
	cli_free(&cfg);
}

static void test_help_version(void **state)
{
	struct vm_config cfg;

	(void)state;
	assert_int_equal(PARSE(&cfg, "-h"), CLI_HELP);
	assert_int_equal(PARSE(&cfg, "-help"), CLI_HELP);
	assert_int_equal(PARSE(&cfg, "--help"), CLI_HELP);
	assert_int_equal(PARSE(&cfg, "-kernel", "k", "-help"), CLI_HELP);
	assert_int_equal(PARSE(&cfg, "-version"), CLI_VERSION);
	assert_int_equal(PARSE(&cfg, "--version"), CLI_VERSION);
	assert_int_equal(PARSE(&cfg, "-m", "1G", "-version"), CLI_VERSION);
	/* The first request wins. */
	assert_int_equal(PARSE(&cfg, "-version", "-h"), CLI_VERSION);
	assert_int_equal(PARSE(&cfg, "-h", "-version"), CLI_HELP);
}

static void test_long_forms(void **state)
{
	struct vm_config cfg;

	(void)state;
	assert_int_equal(PARSE(&cfg, "--kernel", "k", "--m", "256M", "--smp", "2", "--append",
			       "quiet", "--serial", "none", "--nographic"),
			 CLI_RUN);
	assert_string_equal(cfg.kernel, "k");
	assert_int_equal(cfg.ram_size, 256 * MIB);
	assert_int_equal(cfg.nr_vcpus, 2);
	assert_string_equal(cfg.cmdline, "quiet");
	assert_int_equal(cfg.nr_serial, 1);
	assert_true(cfg.nographic);
	/* Errors name the option with one dash. */
	PARSE_FAILS("-smp 0: cpus must be between 1 and 255", "--kernel", "k", "--smp", "0");
	PARSE_FAILS("-vnc: not supported", "--vnc", ":0");
}

static void test_unknown_option(void **state)
{
	(void)state;
	PARSE_FAILS("-vnc: not supported", "-kernel", "k", "-vnc", ":0");
	PARSE_FAILS("-vnc: not supported", "-vnc", ":0", "-kernel", "k");
	PARSE_FAILS("-hda: not supported", "-hda", "disk.img");
	/* Prefixes and near misses are not options. */
	PARSE_FAILS("-kern: not supported", "-kern", "k");
	PARSE_FAILS("-M: not supported", "-kernel", "k", "-M", "q35");
	PARSE_FAILS("-kernel=k: not supported", "-kernel=k");
}

static void test_missing_argument(void **state)
{
	(void)state;
	PARSE_FAILS("-m: requires an argument", "-kernel", "k", "-m");
	PARSE_FAILS("-kernel: requires an argument", "-kernel");
	PARSE_FAILS("-kernel: requires an argument", "--kernel");
	PARSE_FAILS("-device: requires an argument", "-kernel", "k", "-device");
}

static void test_bare_word(void **state)
{
	(void)state;
	PARSE_FAILS("vmlinux: unexpected argument (options start with -)", "vmlinux");
	PARSE_FAILS("extra: unexpected argument (options start with -)", "-kernel", "k", "extra");
	PARSE_FAILS("-: unexpected argument (options start with -)", "-kernel", "k", "-");
	/* Options without an argument do not take the next word. */
	PARSE_FAILS("extra: unexpected argument (options start with -)", "-kernel", "k",
		    "-nographic", "extra");
}

static void test_no_kernel(void **state)
{
	struct vm_config cfg;

	(void)state;
	argv_buf[0] = "kvmini";
	argv_buf[1] = NULL;
	assert_int_equal(cli_parse(1, argv_buf, &cfg), -EINVAL);
	assert_string_equal(err_msg(EINVAL), "no guest kernel: give one with -kernel FILE");
	assert_int_equal(PARSE(&cfg, "-m", "1G", "-smp", "2"), -EINVAL);
	assert_non_null(strstr(err_msg(EINVAL), "-kernel"));
}

static void test_no_stale_message(void **state)
{
	struct vm_config cfg;

	(void)state;
	PARSE_FAILS("-vnc: not supported", "-vnc", ":0");
	assert_int_equal(PARSE(&cfg, "-kernel", "k"), CLI_RUN);
	assert_string_equal(err_msg(EINVAL), strerror(EINVAL));
}

static void test_debug_items(void **state)
{
	struct vm_config cfg;

	(void)state;
	assert_int_equal(PARSE(&cfg, "-kernel", "k"), CLI_RUN);
	assert_false(cfg.debug_insn);
	assert_int_equal(PARSE(&cfg, "-kernel", "k", "-d", "insn"), CLI_RUN);
	assert_true(cfg.debug_insn);
	PARSE_FAILS("-d int: unknown item 'int' (known: insn)", "-kernel", "k", "-d", "int");
	PARSE_FAILS("-d insn,cpu: unknown item 'cpu' (known: insn)", "-kernel", "k", "-d",
		    "insn,cpu");
}

static void test_usage(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_non_null(f);
	cli_usage(f);
	fclose(f);
	assert_non_null(text);
	assert_true(strncmp(text, "usage: kvmini", 13) == 0);
	assert_non_null(strstr(text, "-kernel FILE"));
	assert_non_null(strstr(text, "-device help"));
	assert_non_null(strstr(text, "Ctrl-A x"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_kernel_append),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_memory_2g),
		cmocka_unit_test(test_memory_refused),
		cmocka_unit_test(test_smp),
		cmocka_unit_test(test_smp_refused),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_serial_refused),
		cmocka_unit_test(test_device),
		cmocka_unit_test(test_device_help),
		cmocka_unit_test(test_device_too_many),
		cmocka_unit_test(test_accel),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_help_version),
		cmocka_unit_test(test_long_forms),
		cmocka_unit_test(test_unknown_option),
		cmocka_unit_test(test_missing_argument),
		cmocka_unit_test(test_bare_word),
		cmocka_unit_test(test_no_kernel),
		cmocka_unit_test(test_no_stale_message),
		cmocka_unit_test(test_debug_items),
		cmocka_unit_test(test_usage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
