// SPDX-License-Identifier: MIT
/* Unit tests for the address-range bus (vmm/bus.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bus.h"

/* A device that records its last access and answers reads with a pattern. */
struct fake_dev {
	unsigned int id;
	unsigned int reads, writes;
	uint64_t offset;
	uint32_t len;
	uint8_t written[8];
};

static void fake_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct fake_dev *d = opaque;
	uint8_t *p = data;

	d->reads++;
	d->offset = offset;
	d->len = len;
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)(d->id + offset + i);
}

static void fake_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct fake_dev *d = opaque;

	d->writes++;
	d->offset = offset;
	d->len = len;
	memcpy(d->written, data, len);
}

static const struct bus_ops fake_ops = {
	.read = fake_read,
	.write = fake_write,
};

static int setup(void **state)
{
	struct bus *bus = test_malloc(sizeof(*bus));

	if (!bus || bus_init(bus, "test"))
		return -1;
	*state = bus;
	return 0;
}

static int teardown(void **state)
{
	struct bus *bus = *state;

	bus_destroy(bus);
	test_free(bus);
	return 0;
}

/* Whether a one-byte read at @addr reaches @d. */
static bool reaches(struct bus *bus, uint64_t addr, struct fake_dev *d)
{
	unsigned int before = d->reads;
	uint8_t v;

	return bus_read(bus, addr, &v, 1) && d->reads == before + 1;
}

static void test_register_and_dispatch(void **state)
{
	struct bus *bus = *state;
	struct fake_dev a = { .id = 0x10 }, b = { .id = 0x80 };
	uint8_t buf[8];
	uint32_t v32;

	assert_int_equal(bus_register(bus, 0x3f8, 8, &fake_ops, &a), 0);
	assert_int_equal(bus_register(bus, 0x60, 1, &fake_ops, &b), 0);
	assert_int_equal(bus->nr_ranges, 2);

	assert_true(bus_read(bus, 0x3fd, buf, 1));
	assert_int_equal(a.reads, 1);
	assert_int_equal(a.offset, 5);
	assert_int_equal(a.len, 1);
	assert_int_equal(buf[0], 0x15);

	v32 = 0;
	assert_true(bus_read(bus, 0x3f8, &v32, 4));
	assert_int_equal(a.offset, 0);
	assert_int_equal(a.len, 4);
	assert_int_equal(v32, 0x13121110);

	assert_true(bus_write(bus, 0x3f9, "\x11\x22", 2));
	assert_int_equal(a.writes, 1);
	assert_int_equal(a.offset, 1);
	assert_int_equal(a.len, 2);
	assert_memory_equal(a.written, "\x11\x22", 2);

	assert_true(bus_write(bus, 0x60, "\xab", 1));
	assert_int_equal(b.writes, 1);
	assert_int_equal(b.offset, 0);
	assert_int_equal(b.written[0], 0xab);
	assert_int_equal(a.writes, 1);

	/* The whole last byte of a range, 8 bytes wide. */
	assert_true(bus_read(bus, 0x3f8, buf, 8));
	assert_int_equal(a.len, 8);
	assert_memory_equal(buf, "\x10\x11\x12\x13\x14\x15\x16\x17", 8);
}

static void test_unclaimed(void **state)
{
	struct bus *bus = *state;
	struct fake_dev a = { .id = 1 };
	uint8_t buf[8];

	memset(buf, 0, sizeof(buf));
	assert_false(bus_read(bus, 0x1234, buf, 4));
	assert_memory_equal(buf, "\xff\xff\xff\xff\0\0\0\0", 8);
	assert_false(bus_write(bus, 0x1234, buf, 4));

	assert_int_equal(bus_register(bus, 0x100, 0x10, &fake_ops, &a), 0);
	/* Just outside, on both sides. */
	memset(buf, 0, sizeof(buf));
	assert_false(bus_read(bus, 0xff, buf, 1));
	assert_int_equal(buf[0], 0xff);
	assert_false(bus_read(bus, 0x110, buf, 1));
	assert_false(bus_write(bus, 0x110, buf, 1));
	assert_int_equal(a.reads + a.writes, 0);
}

static void test_straddling_access(void **state)
{
	struct bus *bus = *state;
	struct fake_dev a = { .id = 1 }, b = { .id = 2 };
	uint8_t buf[8];

	assert_int_equal(bus_register(bus, 0x100, 0x10, &fake_ops, &a), 0);
	assert_int_equal(bus_register(bus, 0x110, 0x10, &fake_ops, &b), 0);

	/* Ends one byte past the first range (into the second). */
	memset(buf, 0, sizeof(buf));
	assert_false(bus_read(bus, 0x10e, buf, 4));
	assert_memory_equal(buf, "\xff\xff\xff\xff", 4);
	assert_false(bus_write(bus, 0x10f, buf, 2));
	/* Starts before a range. */
	assert_false(bus_read(bus, 0xfe, buf, 4));
	/* Runs off the end of the last range. */
	assert_false(bus_read(bus, 0x11c, buf, 8));
	assert_memory_equal(buf, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
	assert_int_equal(a.reads + a.writes + b.reads + b.writes, 0);

	/* Flush against the end is fine. */
	assert_true(bus_read(bus, 0x10c, buf, 4));
	assert_int_equal(a.offset, 0xc);
	assert_true(bus_read(bus, 0x118, buf, 8));
	assert_int_equal(b.offset, 8);
	assert_int_equal(b.len, 8);
}

static void test_zero_length_access(void **state)
{
	struct bus *bus = *state;
	struct fake_dev a = { .id = 1 };
	uint8_t v = 0x5a;

	assert_int_equal(bus_register(bus, 0x100, 0x10, &fake_ops, &a), 0);
	assert_false(bus_read(bus, 0x100, &v, 0));
	assert_false(bus_write(bus, 0x100, &v, 0));
	assert_int_equal(v, 0x5a);
	assert_int_equal(a.reads + a.writes, 0);
}

static void test_missing_ops(void **state)
{
	static const struct bus_ops read_only = { .read = fake_read };
	static const struct bus_ops write_only = { .write = fake_write };
	struct bus *bus = *state;
	struct fake_dev r = { .id = 0x40 }, w = { .id = 0x50 };
	uint8_t v = 0;

	assert_int_equal(bus_register(bus, 0x10, 1, &read_only, &r), 0);
	assert_int_equal(bus_register(bus, 0x20, 1, &write_only, &w), 0);
	assert_true(bus_read(bus, 0x10, &v, 1));
	assert_int_equal(v, 0x40);
	assert_false(bus_write(bus, 0x10, &v, 1));
	assert_false(bus_read(bus, 0x20, &v, 1));
	assert_int_equal(v, 0xff);
	assert_true(bus_write(bus, 0x20, &v, 1));
	assert_int_equal(w.writes, 1);
}

static void test_overlaps_refused(void **state)
{
	struct bus *bus = *state;
	struct fake_dev a = { .id = 1 }, b = { .id = 2 };

	assert_int_equal(bus_register(bus, 0x100, 0x100, &fake_ops, &a), 0);
	/* Same range, inside, around, and partial overlaps at both ends. */
	assert_int_equal(bus_register(bus, 0x100, 0x100, &fake_ops, &b), -EEXIST);
	assert_int_equal(bus_register(bus, 0x150, 0x10, &fake_ops, &b), -EEXIST);
	assert_int_equal(bus_register(bus, 0x0, 0x1000, &fake_ops, &b), -EEXIST);
	assert_int_equal(bus_register(bus, 0x80, 0x81, &fake_ops, &b), -EEXIST);
	assert_int_equal(bus_register(bus, 0xff, 2, &fake_ops, &b), -EEXIST);
	assert_int_equal(bus_register(bus, 0x1ff, 0x100, &fake_ops, &b), -EEXIST);
	assert_int_equal(bus_register(bus, 0x1ff, 1, &fake_ops, &b), -EEXIST);
	assert_int_equal(bus_register(bus, 0x100, 1, &fake_ops, &b), -EEXIST);
	assert_int_equal(bus->nr_ranges, 1);

	/* Adjacent ranges on both sides are fine. */
	assert_int_equal(bus_register(bus, 0x80, 0x80, &fake_ops, &b), 0);
	assert_int_equal(bus_register(bus, 0x200, 1, &fake_ops, &b), 0);
	assert_int_equal(bus->nr_ranges, 3);
	/* Now an overlap with the neighbour and with a range two away. */
	assert_int_equal(bus_register(bus, 0x40, 0x41, &fake_ops, &b), -EEXIST);
	assert_int_equal(bus_register(bus, 0x0, 0x300, &fake_ops, &b), -EEXIST);
	assert_int_equal(bus_register(bus, 0x0, 0x80, &fake_ops, &b), 0);
	assert_int_equal(bus->nr_ranges, 4);

	assert_true(reaches(bus, 0x7f, &b));
	assert_true(reaches(bus, 0xff, &b));
	assert_true(reaches(bus, 0x100, &a));
	assert_true(reaches(bus, 0x1ff, &a));
	assert_true(reaches(bus, 0x200, &b));
	assert_false(reaches(bus, 0x201, &b));
}

static void test_invalid_ranges(void **state)
{
	struct bus *bus = *state;
	struct fake_dev a = { .id = 1 };

	assert_int_equal(bus_register(bus, 0x100, 0, &fake_ops, &a), -EINVAL);
	assert_int_equal(bus_register(bus, UINT64_MAX, 2, &fake_ops, &a), -EINVAL);
	assert_int_equal(bus_register(bus, UINT64_MAX - 0xf, 0x11, &fake_ops, &a), -EINVAL);
	assert_int_equal(bus_register(bus, 2, UINT64_MAX, &fake_ops, &a), -EINVAL);
	assert_int_equal(bus_register(bus, UINT64_MAX, UINT64_MAX, &fake_ops, &a), -EINVAL);
	assert_int_equal(bus->nr_ranges, 0);
	/* [1, 2^64) is the largest range that does not wrap. */
	assert_int_equal(bus_register(bus, 1, UINT64_MAX, &fake_ops, &a), 0);
	assert_true(reaches(bus, 1, &a));
	assert_false(reaches(bus, 0, &a));
	assert_int_equal(bus_register(bus, 0, 1, &fake_ops, &a), 0);
	assert_int_equal(bus->nr_ranges, 2);
}

static void test_unregister(void **state)
{
	struct bus *bus = *state;
	struct fake_dev a = { .id = 1 }, b = { .id = 2 }, c = { .id = 3 };

	assert_int_equal(bus_register(bus, 0x10, 0x10, &fake_ops, &a), 0);
	assert_int_equal(bus_register(bus, 0x20, 0x10, &fake_ops, &b), 0);
	assert_int_equal(bus_register(bus, 0x30, 0x10, &fake_ops, &c), 0);

	/* Only a range's base removes it. */
	assert_int_equal(bus_unregister(bus, 0x28), -ENOENT);
	assert_int_equal(bus_unregister(bus, 0x40), -ENOENT);
	assert_int_equal(bus_unregister(bus, 0x0), -ENOENT);
	assert_int_equal(bus->nr_ranges, 3);

	assert_int_equal(bus_unregister(bus, 0x20), 0);
	assert_int_equal(bus->nr_ranges, 2);
	assert_int_equal(bus_unregister(bus, 0x20), -ENOENT);
	assert_false(reaches(bus, 0x20, &b));
	assert_false(reaches(bus, 0x2f, &b));
	assert_true(reaches(bus, 0x1f, &a));
	assert_true(reaches(bus, 0x30, &c));

	/* The hole can be reused, differently sized. */
	assert_int_equal(bus_register(bus, 0x24, 4, &fake_ops, &b), 0);
	assert_true(reaches(bus, 0x27, &b));
	assert_false(reaches(bus, 0x23, &b));

	assert_int_equal(bus_unregister(bus, 0x10), 0);
	assert_int_equal(bus_unregister(bus, 0x30), 0);
	assert_int_equal(bus_unregister(bus, 0x24), 0);
	assert_int_equal(bus->nr_ranges, 0);
	assert_false(reaches(bus, 0x24, &b));
	assert_int_equal(bus_unregister(bus, 0x24), -ENOENT);
}

/* A small deterministic PRNG (xorshift64). */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#define NR_MANY 1000

static void test_many_ranges(void **state)
{
	struct bus *bus = *state;
	static struct fake_dev devs[NR_MANY];
	unsigned int order[NR_MANY];
	uint64_t seed = 0x9e3779b97f4a7c15ULL;

	/* Ranges of 1..16 bytes at 0x1000 + 0x40 * i, registered in random order. */
	for (unsigned int i = 0; i < NR_MANY; i++) {
		order[i] = i;
		devs[i] = (struct fake_dev){ .id = i };
	}
	for (unsigned int i = NR_MANY - 1; i > 0; i--) {
		unsigned int j = (unsigned int)(next_rand(&seed) % (i + 1));
		unsigned int t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (unsigned int k = 0; k < NR_MANY; k++) {
		unsigned int i = order[k];
		int ret = bus_register(bus, 0x1000 + 0x40 * i, 1 + i % 16, &fake_ops, &devs[i]);

		assert_int_equal(ret, 0);
	}
	assert_int_equal(bus->nr_ranges, NR_MANY);
	for (size_t i = 1; i < bus->nr_ranges; i++)
		assert_true(bus->ranges[i - 1].base < bus->ranges[i].base);

	for (unsigned int i = 0; i < NR_MANY; i++) {
		uint64_t base = 0x1000 + 0x40 * i, len = 1 + i % 16;

		assert_true(reaches(bus, base, &devs[i]));
		assert_int_equal(devs[i].offset, 0);
		assert_true(reaches(bus, base + len - 1, &devs[i]));
		assert_int_equal(devs[i].offset, len - 1);
		assert_false(reaches(bus, base + len, &devs[i]));
		assert_false(reaches(bus, base - 1, &devs[i ? i - 1 : 0]));
		/* Overlapping registrations are still refused. */
		assert_int_equal(bus_register(bus, base + len - 1, 0x30, &fake_ops, &devs[i]),
				 -EEXIST);
	}
	assert_false(reaches(bus, 0, &devs[0]));
	assert_false(reaches(bus, UINT64_MAX, &devs[0]));

	/* Remove the even ones, again in random order. */
	for (unsigned int k = 0; k < NR_MANY; k++) {
		if (order[k] % 2 == 0)
			assert_int_equal(bus_unregister(bus, 0x1000 + 0x40 * order[k]), 0);
	}
	assert_int_equal(bus->nr_ranges, NR_MANY / 2);
	for (unsigned int i = 0; i < NR_MANY; i++)
		assert_int_equal(reaches(bus, 0x1000 + 0x40 * i, &devs[i]), i % 2 == 1);
}

static void test_top_of_address_space(void **state)
{
	struct bus *bus = *state;
	struct fake_dev a = { .id = 0x20 }, b = { .id = 0x30 };
	uint8_t buf[8];

	assert_int_equal(bus_register(bus, UINT64_MAX - 0xf, 0x10, &fake_ops, &a), 0);
	assert_int_equal(bus_register(bus, UINT64_MAX - 0x1f, 0x10, &fake_ops, &b), 0);
	assert_int_equal(bus_register(bus, UINT64_MAX, 1, &fake_ops, &b), -EEXIST);

	assert_true(bus_read(bus, UINT64_MAX - 0xf, buf, 8));
	assert_int_equal(a.offset, 0);
	assert_true(bus_read(bus, UINT64_MAX - 0x10, buf, 1));
	assert_int_equal(b.offset, 0xf);
	/* An access wrapping past 2^64 is unclaimed. */
	assert_false(bus_read(bus, UINT64_MAX - 3, buf, 8));
	assert_memory_equal(buf, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);

	assert_int_equal(bus_unregister(bus, UINT64_MAX - 0xf), 0);
	assert_int_equal(bus->nr_ranges, 1);
}

/* An access that ends exactly at 2^64 does not wrap: it is claimed. */
static void test_top_last_bytes(void **state)
{
	struct bus *bus = *state;
	struct fake_dev a = { .id = 0x20 };
	uint8_t buf[8];

	assert_int_equal(bus_register(bus, UINT64_MAX - 0xf, 0x10, &fake_ops, &a), 0);
	assert_true(bus_read(bus, UINT64_MAX - 7, buf, 8));
	assert_int_equal(a.offset, 8);
	assert_int_equal(a.len, 8);
	assert_true(bus_write(bus, UINT64_MAX, "\x42", 1));
	assert_int_equal(a.offset, 0xf);
	assert_int_equal(a.written[0], 0x42);

	assert_int_equal(bus_unregister(bus, UINT64_MAX - 0xf), 0);
	assert_false(bus_read(bus, UINT64_MAX - 7, buf, 8));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_register_and_dispatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unclaimed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_straddling_access, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_length_access, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_ops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlaps_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unregister, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_top_of_address_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_top_last_bytes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
