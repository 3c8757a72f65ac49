/* SPDX-License-Identifier: MIT */
/*
 * For the command-line tests: run cli_parse() on an argument list written
 * inline.  Include after <cmocka.h>.
 *   PARSE(&cfg, "-kernel", "k", ...)       the cli_action or -errno
 *   PARSE_FAILS("message", "-opt", ...)    must fail with -EINVAL and that message
 */
#ifndef KVMINI_TEST_CLI_ARGS_H
#define KVMINI_TEST_CLI_ARGS_H

#include "cli.h"
#include "error.h"

#define CLI_ARGS_MAX 256

static char *argv_buf[CLI_ARGS_MAX + 1];

/* cli_parse() on "kvmini" followed by the NULL-terminated @args. */
static inline int parse_args(struct vm_config *cfg, const char *const *args)
{
	int argc = 0;

	argv_buf[argc++] = "kvmini";
	while (*args) {
		assert_true(argc < CLI_ARGS_MAX);
		argv_buf[argc++] = (char *)*args++;
	}
	argv_buf[argc] = NULL;
	return cli_parse(argc, argv_buf, cfg);
}

#define PARSE(cfg, ...) parse_args(cfg, (const char *const[]){ __VA_ARGS__, NULL })

#define PARSE_FAILS(msg, ...)                                              \
	do {                                                               \
		struct vm_config fail_cfg_;                                \
		assert_int_equal(PARSE(&fail_cfg_, __VA_ARGS__), -EINVAL); \
		assert_string_equal(err_msg(EINVAL), msg);                 \
		cli_free(&fail_cfg_);                                      \
	} while (0)

#endif
