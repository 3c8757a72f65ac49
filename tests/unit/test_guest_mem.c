// SPDX-License-Identifier: MIT
/* Unit tests for guest physical memory bounds checks (vmm/guest_mem.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "guest_mem.h"

#define LOW_GPA	  0x0ULL
#define LOW_SIZE  0x10000ULL
#define HIGH_GPA  0x20000ULL /* a 64 KiB gap after the low region */
#define HIGH_SIZE 0x8000ULL

struct ctx {
	struct guest_mem mem;
	uint8_t low[LOW_SIZE];
	uint8_t high[HIGH_SIZE];
};

static int setup(void **state)
{
	struct ctx *c = test_calloc(1, sizeof(*c));

	if (!c)
		return -1;
	if (guest_mem_add(&c->mem, LOW_GPA, LOW_SIZE, c->low) ||
	    guest_mem_add(&c->mem, HIGH_GPA, HIGH_SIZE, c->high)) {
		test_free(c);
		return -1;
	}
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	test_free(*state);
	return 0;
}

static void test_ptr_inside(void **state)
{
	struct ctx *c = *state;

	assert_ptr_equal(guest_mem_ptr(&c->mem, 0, 1), c->low);
	assert_ptr_equal(guest_mem_ptr(&c->mem, 0, LOW_SIZE), c->low);
	assert_ptr_equal(guest_mem_ptr(&c->mem, 0x1234, 0x10), c->low + 0x1234);
	assert_ptr_equal(guest_mem_ptr(&c->mem, LOW_SIZE - 1, 1), c->low + LOW_SIZE - 1);
	assert_ptr_equal(guest_mem_ptr(&c->mem, HIGH_GPA, 1), c->high);
	assert_ptr_equal(guest_mem_ptr(&c->mem, HIGH_GPA + HIGH_SIZE - 8, 8),
			 c->high + HIGH_SIZE - 8);
	assert_ptr_equal(guest_mem_ptr(&c->mem, HIGH_GPA, HIGH_SIZE), c->high);
}

static void test_ptr_outside(void **state)
{
	struct ctx *c = *state;

	/* One past the end of each region. */
	assert_null(guest_mem_ptr(&c->mem, LOW_SIZE, 1));
	assert_null(guest_mem_ptr(&c->mem, HIGH_GPA + HIGH_SIZE, 1));
	/* Runs one byte past the end. */
	assert_null(guest_mem_ptr(&c->mem, 0, LOW_SIZE + 1));
	assert_null(guest_mem_ptr(&c->mem, LOW_SIZE - 1, 2));
	assert_null(guest_mem_ptr(&c->mem, HIGH_GPA + HIGH_SIZE - 8, 9));
	/* Starts one byte before a region. */
	assert_null(guest_mem_ptr(&c->mem, HIGH_GPA - 1, 2));
	assert_null(guest_mem_ptr(&c->mem, HIGH_GPA - 1, 1));
	/* In the gap, and spanning it from one region into the other. */
	assert_null(guest_mem_ptr(&c->mem, 0x18000, 1));
	assert_null(guest_mem_ptr(&c->mem, LOW_SIZE - 0x10, HIGH_GPA - LOW_SIZE + 0x20));
	assert_null(guest_mem_ptr(&c->mem, 0, HIGH_GPA + HIGH_SIZE));
	/* Far away. */
	assert_null(guest_mem_ptr(&c->mem, 0x100000000ULL, 1));
	assert_null(guest_mem_ptr(&c->mem, UINT64_MAX, 1));
}

static void test_ptr_len_zero(void **state)
{
	struct ctx *c = *state;

	assert_null(guest_mem_ptr(&c->mem, 0, 0));
	assert_null(guest_mem_ptr(&c->mem, 0x100, 0));
	assert_null(guest_mem_ptr(&c->mem, HIGH_GPA, 0));
}

static void test_ptr_wrapping(void **state)
{
	struct ctx *c = *state;

	/* These wrap around 2^64 into the low region if added naively. */
	assert_null(guest_mem_ptr(&c->mem, UINT64_MAX, 2));
	assert_null(guest_mem_ptr(&c->mem, UINT64_MAX - 0xf, 0x20));
	assert_null(guest_mem_ptr(&c->mem, 0x10, UINT64_MAX));
	assert_null(guest_mem_ptr(&c->mem, 1, UINT64_MAX));
	assert_null(guest_mem_ptr(&c->mem, HIGH_GPA + 1, UINT64_MAX - HIGH_GPA));
	/* Huge lengths from inside a region. */
	assert_null(guest_mem_ptr(&c->mem, 0, UINT64_MAX));
	assert_null(guest_mem_ptr(&c->mem, HIGH_GPA, UINT64_MAX - HIGH_GPA));
	assert_null(guest_mem_ptr(&c->mem, 0x100, UINT64_MAX - 0x100));
}

static void test_add_refused(void **state)
{
	struct ctx *c = *state;
	uint8_t other[16];

	/* Overlaps: same start, inside, around, and partial at both ends. */
	assert_int_equal(guest_mem_add(&c->mem, 0, 0x1000, other), -EEXIST);
	assert_int_equal(guest_mem_add(&c->mem, 0x5000, 0x1000, other), -EEXIST);
	assert_int_equal(guest_mem_add(&c->mem, 0x10000, 0x20000, other), -EEXIST);
	assert_int_equal(guest_mem_add(&c->mem, LOW_SIZE - 1, 0x10, other), -EEXIST);
	assert_int_equal(guest_mem_add(&c->mem, HIGH_GPA - 0x10, 0x11, other), -EEXIST);
	assert_int_equal(guest_mem_add(&c->mem, HIGH_GPA + HIGH_SIZE - 1, 1, other), -EEXIST);
	assert_int_equal(guest_mem_add(&c->mem, 0, 0x100000, other), -EEXIST);
	/* Empty or wrapping. */
	assert_int_equal(guest_mem_add(&c->mem, 0x100000, 0, other), -EINVAL);
	assert_int_equal(guest_mem_add(&c->mem, UINT64_MAX - 0xf, 0x20, other), -EINVAL);
	assert_int_equal(c->mem.nr_regions, 2);
	assert_int_equal(guest_mem_total(&c->mem), LOW_SIZE + HIGH_SIZE);

	/* Filling the gap exactly is fine. */
	assert_int_equal(guest_mem_add(&c->mem, LOW_SIZE, HIGH_GPA - LOW_SIZE, other), 0);
	assert_int_equal(guest_mem_total(&c->mem), HIGH_GPA + HIGH_SIZE);
	/* Still not one access across region boundaries. */
	assert_null(guest_mem_ptr(&c->mem, LOW_SIZE - 1, 2));
	assert_ptr_equal(guest_mem_ptr(&c->mem, LOW_SIZE + 5, 1), other + 5);
}

static void test_add_too_many(void **state)
{
	struct guest_mem mem = { 0 };
	uint8_t buf[GUEST_MEM_MAX_REGIONS + 1];

	(void)state;
	for (unsigned int i = 0; i < GUEST_MEM_MAX_REGIONS; i++)
		assert_int_equal(guest_mem_add(&mem, 0x1000 * i, 1, &buf[i]), 0);
	assert_int_equal(guest_mem_add(&mem, 0x100000, 1, &buf[GUEST_MEM_MAX_REGIONS]), -ENOSPC);
	assert_int_equal(mem.nr_regions, GUEST_MEM_MAX_REGIONS);
	assert_int_equal(guest_mem_total(&mem), GUEST_MEM_MAX_REGIONS);
	for (unsigned int i = 0; i < GUEST_MEM_MAX_REGIONS; i++)
		assert_ptr_equal(guest_mem_ptr(&mem, 0x1000 * i, 1), &buf[i]);
	assert_null(guest_mem_ptr(&mem, 0x1001, 1));
}

static void test_read_write(void **state)
{
	struct ctx *c = *state;
	uint8_t in[32], out[32];

	for (unsigned int i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(0xa0 + i);

	assert_int_equal(guest_mem_write(&c->mem, 0x100, in, sizeof(in)), 0);
	assert_memory_equal(c->low + 0x100, in, sizeof(in));
	assert_int_equal(c->low[0xff], 0);
	assert_int_equal(c->low[0x120], 0);
	memset(out, 0, sizeof(out));
	assert_int_equal(guest_mem_read(&c->mem, 0x100, out, sizeof(out)), 0);
	assert_memory_equal(out, in, sizeof(in));

	/* The last bytes of the high region. */
	assert_int_equal(guest_mem_write(&c->mem, HIGH_GPA + HIGH_SIZE - 4, in, 4), 0);
	assert_memory_equal(c->high + HIGH_SIZE - 4, in, 4);
	memset(out, 0, sizeof(out));
	assert_int_equal(guest_mem_read(&c->mem, HIGH_GPA + HIGH_SIZE - 4, out, 4), 0);
	assert_memory_equal(out, in, 4);
}

static void test_read_write_fault(void **state)
{
	struct ctx *c = *state;
	uint8_t in[32], out[32];

	memset(in, 0x77, sizeof(in));
	memset(out, 0x55, sizeof(out));
	assert_int_equal(guest_mem_write(&c->mem, HIGH_GPA + HIGH_SIZE - 4, in, 5), -EFAULT);
	assert_int_equal(guest_mem_write(&c->mem, LOW_SIZE - 16, in, 32), -EFAULT);
	assert_int_equal(guest_mem_write(&c->mem, 0x18000, in, 1), -EFAULT);
	assert_int_equal(guest_mem_write(&c->mem, UINT64_MAX, in, 2), -EFAULT);
	assert_int_equal(guest_mem_write(&c->mem, 0, in, 0), -EFAULT);
	/* Nothing was written partially. */
	for (unsigned int i = 0; i < HIGH_SIZE; i++)
		assert_int_equal(c->high[i], 0);
	for (unsigned int i = 0; i < LOW_SIZE; i++)
		assert_int_equal(c->low[i], 0);

	assert_int_equal(guest_mem_read(&c->mem, LOW_SIZE, out, 1), -EFAULT);
	assert_int_equal(guest_mem_read(&c->mem, HIGH_GPA - 1, out, 2), -EFAULT);
	assert_int_equal(guest_mem_read(&c->mem, UINT64_MAX - 3, out, 8), -EFAULT);
	assert_int_equal(guest_mem_read(&c->mem, 0x10, out, UINT64_MAX), -EFAULT);
	for (unsigned int i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0x55);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ptr_inside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ptr_outside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ptr_len_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ptr_wrapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_refused, setup, teardown),
		cmocka_unit_test(test_add_too_many),
		cmocka_unit_test_setup_teardown(test_read_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_write_fault, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
