// SPDX-License-Identifier: MIT
/*
 * A guest to debug: the gdb tests set breakpoints on its functions, watch
 * `watched` (written at CPL3), and change `answer` from gdb to see the printed
 * value change.
 * With "spin=1" on the command line it first spins at CPL3 until gdb sets
 * `spinning` to 0.  Prints "gdb-target: answer=N" and "gdb-target: done",
 * exits 0.
 */
#include "guest.h"

volatile long answer = 41;
volatile long watched;
volatile long spinning; /* "spin" on the command line: loop until gdb clears it */

/* noinline: distinct addresses for software and hardware breakpoints. */
__attribute__((noinline)) long step_one(long x)
{
	return x + 1;
}

__attribute__((noinline)) void touch_watched(long v)
{
	watched = v;
}

/* At CPL3: on PVM hosts only CPL3 runs natively, with the debug registers live. */
static long touch_watched_user(void *arg)
{
	touch_watched(*(long *)arg);
	return 0;
}

static long spin_user(void *arg)
{
	(void)arg;
	while (spinning)
		cpu_pause();
	return 0;
}

__attribute__((noinline)) void report(void)
{
	printf("gdb-target: answer=%ld\n", answer);
}

int main(void)
{
	const char *val;
	size_t len;
	long v;

	spinning = cmdline_get("spin", &val, &len);
	if (spinning)
		run_user(spin_user, NULL);
	v = step_one(answer);

	run_user(touch_watched_user, &v);
	report();
	console_puts("gdb-target: done\n");
	return 0;
}
