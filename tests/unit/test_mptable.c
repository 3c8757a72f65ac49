// SPDX-License-Identifier: MIT
/*
 * Unit tests for the MP table (firmware/mptable.c), read back by the offsets
 * of the Intel MultiProcessor Specification 1.4 from a plain buffer used as
 * guest RAM.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "error.h"
#include "layout.h"
#include "mptable.h"

#define RAM_SIZE (2 * MIB)
#define MAX_CPUS 256

struct ctx {
	struct guest_mem mem;
	uint8_t *ram;
	uint32_t ids[MAX_CPUS];
	struct acpi_platform p;
};

static int setup(void **state)
{
	struct ctx *c = test_calloc(1, sizeof(*c));

	if (!c)
		return -1;
	c->ram = test_calloc(1, RAM_SIZE);
	if (!c->ram || guest_mem_add(&c->mem, 0, RAM_SIZE, c->ram))
		return -1;
	for (unsigned int i = 0; i < MAX_CPUS; i++)
		c->ids[i] = i;
	c->p = (struct acpi_platform){
		.nr_cpus = 1,
		.apic_ids = c->ids,
		.ioapic_id = 1,
		.pm_base = ACPI_PM_IO_BASE,
		.sci_irq = ACPI_SCI_IRQ,
	};
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	test_free(c->ram);
	test_free(c);
	return 0;
}

static uint64_t rd(struct ctx *c, uint64_t gpa, unsigned int size)
{
	uint64_t v = 0;

	assert_int_equal(guest_mem_read(&c->mem, gpa, &v, size), 0);
	return v;
}

#define rd8(c, a)  ((uint8_t)rd(c, a, 1))
#define rd16(c, a) ((uint16_t)rd(c, a, 2))
#define rd32(c, a) ((uint32_t)rd(c, a, 4))

static void assert_sum_zero(struct ctx *c, uint64_t gpa, uint64_t len)
{
	const uint8_t *p = guest_mem_ptr(&c->mem, gpa, len);
	uint8_t sum = 0;

	assert_non_null(p);
	for (uint64_t i = 0; i < len; i++)
		sum += p[i];
	assert_int_equal(sum, 0);
}

/* What the configuration table holds, entry by entry. */
struct mp {
	uint64_t table;
	unsigned int nr_cpus, nr_bus, nr_ioapic, nr_ioint, nr_lint;
	uint64_t cpu[MAX_CPUS], bus, ioapic, ioint[32], lint[4];
};

static void parse(struct ctx *c, struct mp *mp)
{
	uint64_t fp = MPTABLE_ADDR, t, e, end;
	uint8_t last_type = 0;
	uint16_t count;

	memset(mp, 0, sizeof(*mp));
	/* The floating pointer: 16-byte aligned in the BIOS area. */
	assert_int_equal(fp % 16, 0);
	assert_true(fp >= 0xf0000 && fp + 16 <= 0x100000);
	assert_int_equal(rd32(c, fp), 0x5f504d5f); /* "_MP_" */
	assert_int_equal(rd8(c, fp + 8), 1);	   /* 16 bytes */
	assert_int_equal(rd8(c, fp + 9), 4);	   /* spec 1.4 */
	assert_sum_zero(c, fp, 16);
	for (unsigned int i = 11; i < 16; i++)
		assert_int_equal(rd8(c, fp + i), 0); /* a table, no IMCR */

	t = rd32(c, fp + 4);
	assert_int_equal(t, MPTABLE_ADDR + 16);
	assert_int_equal(rd32(c, t), 0x504d4350); /* "PCMP" */
	assert_int_equal(rd8(c, t + 6), 4);
	assert_sum_zero(c, t, rd16(c, t + 4));
	assert_int_equal(rd32(c, t + 28), 0); /* no OEM table */
	assert_int_equal(rd32(c, t + 36), LAPIC_BASE);
	assert_int_equal(rd16(c, t + 40), 0); /* no extended table */
	assert_true(t + rd16(c, t + 4) <= MPTABLE_END);
	count = rd16(c, t + 34);

	e = t + 44;
	end = t + rd16(c, t + 4);
	for (unsigned int i = 0; i < count; i++) {
		uint8_t type = rd8(c, e);

		assert_true(e < end);
		/* Sorted by type, as the spec asks. */
		assert_true(type >= last_type);
		last_type = type;
		switch (type) {
		case 0:
			mp->cpu[mp->nr_cpus++] = e;
			e += 20;
			break;
		case 1:
			mp->bus = e;
			mp->nr_bus++;
			e += 8;
			break;
		case 2:
			mp->ioapic = e;
			mp->nr_ioapic++;
			e += 8;
			break;
		case 3:
			assert_true(mp->nr_ioint < 32);
			mp->ioint[mp->nr_ioint++] = e;
			e += 8;
			break;
		case 4:
			assert_true(mp->nr_lint < 4);
			mp->lint[mp->nr_lint++] = e;
			e += 8;
			break;
		default:
			fail_msg("entry %u has type %u", i, type);
		}
	}
	assert_int_equal(e, end);
	mp->table = t;
}

static void check_cpus(struct ctx *c, unsigned int n)
{
	struct mp mp;

	c->p.nr_cpus = n;
	c->p.ioapic_id = (uint8_t)(n < 255 ? n : 0);
	assert_int_equal(mptable_build(&c->mem, &c->p), 0);
	parse(c, &mp);
	assert_int_equal(mp.nr_cpus, n);
	for (unsigned int i = 0; i < n; i++) {
		uint64_t e = mp.cpu[i];

		assert_int_equal(rd8(c, e + 1), c->ids[i]);
		assert_int_equal(rd8(c, e + 2) & 0xf0, 0x10); /* an integrated APIC */
		assert_int_equal(rd8(c, e + 3), i == 0 ? 3 : 1);
	}

	assert_int_equal(mp.nr_bus, 1);
	assert_int_equal(rd8(c, mp.bus + 1), 0);
	assert_memory_equal(guest_mem_ptr(&c->mem, mp.bus + 2, 6), "ISA   ", 6);

	assert_int_equal(mp.nr_ioapic, 1);
	assert_int_equal(rd8(c, mp.ioapic + 1), c->p.ioapic_id);
	assert_int_equal(rd8(c, mp.ioapic + 3), 1);
	assert_int_equal(rd32(c, mp.ioapic + 4), IOAPIC_BASE);
}

static void test_1cpu(void **state)
{
	check_cpus(*state, 1);
}

static void test_2cpus(void **state)
{
	check_cpus(*state, 2);
}

static void test_64cpus(void **state)
{
	check_cpus(*state, 64);
}

static void test_255cpus(void **state)
{
	check_cpus(*state, 255);
}

static void test_interrupts(void **state)
{
	struct ctx *c = *state;
	bool seen[16] = { false };
	struct mp mp;

	c->p.sci_irq = 11;
	c->p.ioapic_id = 7;
	assert_int_equal(mptable_build(&c->mem, &c->p), 0);
	parse(c, &mp);
	/* ISA IRQs 0, 1, 3..15: IRQ0 on pin 2, the rest on their own pin. */
	assert_int_equal(mp.nr_ioint, 15);
	for (unsigned int i = 0; i < mp.nr_ioint; i++) {
		uint64_t e = mp.ioint[i];
		uint8_t irq = rd8(c, e + 5);

		assert_true(irq < 16 && irq != 2 && !seen[irq]);
		seen[irq] = true;
		assert_int_equal(rd8(c, e + 1), 0); /* INT */
		assert_int_equal(rd16(c, e + 2), irq == 11 ? 0x0d : 0);
		assert_int_equal(rd8(c, e + 4), 0); /* ISA */
		assert_int_equal(rd8(c, e + 6), 7);
		assert_int_equal(rd8(c, e + 7), irq == 0 ? 2 : irq);
	}
	/* ExtINT on LINT0 and NMI on LINT1 of every local APIC. */
	assert_int_equal(mp.nr_lint, 2);
	assert_int_equal(rd8(c, mp.lint[0] + 1), 3);
	assert_int_equal(rd8(c, mp.lint[0] + 6), 0xff);
	assert_int_equal(rd8(c, mp.lint[0] + 7), 0);
	assert_int_equal(rd8(c, mp.lint[1] + 1), 1);
	assert_int_equal(rd8(c, mp.lint[1] + 6), 0xff);
	assert_int_equal(rd8(c, mp.lint[1] + 7), 1);
}

static void test_sparse_ids(void **state)
{
	struct ctx *c = *state;
	static const uint32_t ids[] = { 4, 0, 254, 17 };
	struct mp mp;

	memcpy(c->ids, ids, sizeof(ids));
	c->p.nr_cpus = ARRAY_SIZE(ids);
	assert_int_equal(mptable_build(&c->mem, &c->p), 0);
	parse(c, &mp);
	assert_int_equal(mp.nr_cpus, 4);
	for (unsigned int i = 0; i < ARRAY_SIZE(ids); i++) {
		assert_int_equal(rd8(c, mp.cpu[i] + 1), ids[i]);
		/* The boot CPU is the first listed, whatever its ID. */
		assert_int_equal(rd8(c, mp.cpu[i] + 3) & 2, i == 0 ? 2 : 0);
	}
}

static void test_refused(void **state)
{
	struct ctx *c = *state;
	struct guest_mem small = { 0 };

	c->p.nr_cpus = 3;
	c->ids[2] = 255;
	assert_int_equal(mptable_build(&c->mem, &c->p), -ERANGE);
	assert_non_null(strstr(err_msg(ERANGE), "APIC ID 255"));
	c->ids[2] = 2;
	c->p.nr_cpus = 0;
	assert_int_equal(mptable_build(&c->mem, &c->p), -EINVAL);
	c->p.nr_cpus = 1;
	c->p.sci_irq = 2;
	assert_int_equal(mptable_build(&c->mem, &c->p), -EINVAL);
	c->p.sci_irq = ACPI_SCI_IRQ;
	/* RAM ends inside the table. */
	assert_int_equal(guest_mem_add(&small, 0, MPTABLE_ADDR + 64, c->ram), 0);
	assert_int_equal(mptable_build(&small, &c->p), -EFAULT);
	assert_non_null(strstr(err_msg(EFAULT), "MP table"));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_1cpu),	    T(test_2cpus),	T(test_64cpus),	 T(test_255cpus),
		T(test_interrupts), T(test_sparse_ids), T(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
