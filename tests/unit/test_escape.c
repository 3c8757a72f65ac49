// SPDX-License-Identifier: MIT
/* Unit tests for the console's Ctrl-A escape state machine (escape_feed()). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "chardev.h"

#define CTRL_A 0x01

static void test_plain_bytes_pass(void **state)
{
	bool armed = false;
	uint8_t out;

	(void)state;
	for (unsigned int c = 0; c < 256; c++) {
		if (c == CTRL_A)
			continue;
		out = (uint8_t)~c;
		assert_int_equal(escape_feed(&armed, (uint8_t)c, &out), ESC_PASS);
		assert_int_equal(out, c);
		assert_false(armed);
	}
}

static void test_quit(void **state)
{
	bool armed = false;
	uint8_t out = 0x55;

	(void)state;
	assert_int_equal(escape_feed(&armed, CTRL_A, &out), ESC_NONE);
	assert_true(armed);
	assert_int_equal(escape_feed(&armed, 'x', &out), ESC_QUIT);
	assert_false(armed);
	assert_int_equal(escape_feed(&armed, CTRL_A, &out), ESC_NONE);
	assert_int_equal(escape_feed(&armed, 'X', &out), ESC_QUIT);
	assert_false(armed);
	/* 'x' on its own is just a letter. */
	assert_int_equal(escape_feed(&armed, 'x', &out), ESC_PASS);
	assert_int_equal(out, 'x');
}

static void test_help(void **state)
{
	bool armed = false;
	uint8_t out = 0;

	(void)state;
	assert_int_equal(escape_feed(&armed, CTRL_A, &out), ESC_NONE);
	assert_int_equal(escape_feed(&armed, 'h', &out), ESC_HELP);
	assert_false(armed);
	assert_int_equal(escape_feed(&armed, 'h', &out), ESC_PASS);
	assert_int_equal(out, 'h');
}

static void test_ctrl_a_twice_sends_one(void **state)
{
	bool armed = false;
	uint8_t out = 0;

	(void)state;
	assert_int_equal(escape_feed(&armed, CTRL_A, &out), ESC_NONE);
	assert_int_equal(escape_feed(&armed, CTRL_A, &out), ESC_PASS);
	assert_int_equal(out, CTRL_A);
	assert_false(armed);
	/* Four in a row are two. */
	assert_int_equal(escape_feed(&armed, CTRL_A, &out), ESC_NONE);
	assert_int_equal(escape_feed(&armed, CTRL_A, &out), ESC_PASS);
	assert_int_equal(escape_feed(&armed, CTRL_A, &out), ESC_NONE);
	assert_true(armed);
	assert_int_equal(escape_feed(&armed, CTRL_A, &out), ESC_PASS);
	assert_int_equal(out, CTRL_A);
	assert_false(armed);
}

/* Ctrl-A c switches between the console and the monitor. */
static void test_monitor_escape(void **state)
{
	bool armed = false;
	uint8_t out;

	(void)state;
	assert_int_equal(escape_feed(&armed, CTRL_A, &out), ESC_NONE);
	assert_int_equal(escape_feed(&armed, 'c', &out), ESC_MONITOR);
	assert_false(armed);
	assert_int_equal(escape_feed(&armed, 'c', &out), ESC_PASS);
}

static void test_unknown_command_consumed(void **state)
{
	static const uint8_t keys[] = { 'q', 'a', ' ', '\r', 0x00, 0x03, 0x1b, 0xff };
	bool armed = false;
	uint8_t out;

	(void)state;
	for (unsigned int i = 0; i < sizeof(keys); i++) {
		out = 0x77;
		assert_int_equal(escape_feed(&armed, CTRL_A, &out), ESC_NONE);
		assert_int_equal(escape_feed(&armed, keys[i], &out), ESC_NONE);
		assert_false(armed);
		assert_int_equal(out, 0x77);
		/* The state machine is back to passing bytes. */
		assert_int_equal(escape_feed(&armed, 'x', &out), ESC_PASS);
		assert_int_equal(out, 'x');
	}
}

static void test_state_resets(void **state)
{
	static const uint8_t in[] = { 'a', CTRL_A, 'h', 'b', CTRL_A, CTRL_A,
				      'x', CTRL_A, 'z', 'h', CTRL_A, 'x' };
	static const enum escape_action want[] = {
		ESC_PASS, ESC_NONE, ESC_HELP, ESC_PASS, ESC_NONE, ESC_PASS,
		ESC_PASS, ESC_NONE, ESC_NONE, ESC_PASS, ESC_NONE, ESC_QUIT,
	};
	static const char passed[] = "ab\001xh";
	char got[sizeof(passed)] = { 0 };
	unsigned int n = 0;
	bool armed = false;
	uint8_t out;

	(void)state;
	for (unsigned int i = 0; i < sizeof(in); i++) {
		enum escape_action a = escape_feed(&armed, in[i], &out);

		assert_int_equal(a, want[i]);
		if (a == ESC_PASS) {
			assert_true(n < sizeof(got) - 1);
			got[n++] = (char)out;
		}
	}
	assert_string_equal(got, passed);
	assert_false(armed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_bytes_pass),
		cmocka_unit_test(test_quit),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_ctrl_a_twice_sends_one),
		cmocka_unit_test(test_monitor_escape),
		cmocka_unit_test(test_unknown_command_consumed),
		cmocka_unit_test(test_state_resets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
