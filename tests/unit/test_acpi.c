// SPDX-License-Identifier: MIT
/*
 * Unit tests for the ACPI tables (firmware/acpi.c) and the AML writer
 * (firmware/aml.c).  Tables are built into a plain buffer registered as
 * guest RAM and read back by the offsets of the ACPI 6.3 spec, not through
 * the builder's structs.  The iasl test has ACPICA's disassembler decode
 * every table (Debian package acpica-tools; skipped when iasl is missing).
 */
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

#include "acpi.h"
#include "error.h"
#include "layout.h"

#define RAM_SIZE (2 * MIB)
#define MAX_CPUS 5000

struct ctx {
	struct guest_mem mem;
	uint8_t *ram;
	uint32_t ids[MAX_CPUS];
	struct acpi_platform p;
	uint64_t rsdp;
	char tmpdir[32]; /* the iasl test's files, removed by teardown() */
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
		.serial = { true },
		.pm_base = ACPI_PM_IO_BASE,
		.sci_irq = ACPI_SCI_IRQ,
	};
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	char cmd[64];

	if (c->tmpdir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", c->tmpdir);
		if (system(cmd))
			return -1;
	}
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
#define rd64(c, a) rd(c, a, 8)

static uint8_t *at(struct ctx *c, uint64_t gpa, uint64_t len)
{
	uint8_t *p = guest_mem_ptr(&c->mem, gpa, len);

	assert_non_null(p);
	return p;
}

static void assert_sum_zero(struct ctx *c, uint64_t gpa, uint64_t len)
{
	uint8_t sum = 0, *p = at(c, gpa, len);

	for (uint64_t i = 0; i < len; i++)
		sum += p[i];
	assert_int_equal(sum, 0);
}

static void build(struct ctx *c)
{
	assert_int_equal(acpi_build(&c->mem, &c->p, &c->rsdp), 0);
}

/* A table by signature, through RSDP -> XSDT (-> FADT for DSDT, FACS); 0 when absent. */
static uint64_t table(struct ctx *c, const char *sig)
{
	uint64_t xsdt = rd64(c, c->rsdp + 24);
	uint32_t len = rd32(c, xsdt + 4);

	if (!strcmp(sig, "XSDT"))
		return xsdt;
	if (!strcmp(sig, "DSDT") || !strcmp(sig, "FACS")) {
		uint64_t fadt = table(c, "FACP");

		return rd32(c, fadt + (sig[0] == 'D' ? 40 : 36));
	}
	for (uint32_t off = 36; off < len; off += 8) {
		uint64_t t = rd64(c, xsdt + off);

		if (!memcmp(at(c, t, 4), sig, 4))
			return t;
	}
	return 0;
}

static bool in_area(uint64_t gpa, uint64_t len)
{
	return gpa >= ACPI_TABLES_ADDR && gpa + len <= ACPI_TABLES_END;
}

/* Header checks every table passes: where it is, its checksum, its IDs. */
static uint32_t assert_table(struct ctx *c, uint64_t t, const char *sig, uint8_t revision)
{
	uint32_t len;

	assert_true(t != 0);
	assert_memory_equal(at(c, t, 4), sig, 4);
	len = rd32(c, t + 4);
	assert_true(len >= 36);
	assert_true(in_area(t, len));
	assert_int_equal(rd8(c, t + 8), revision);
	assert_sum_zero(c, t, len);
	assert_memory_equal(at(c, t + 10, 6), "KVMINI", 6);
	return len;
}

static void test_rsdp(void **state)
{
	struct ctx *c = *state;
	uint64_t xsdt;

	memset(c->ram + ACPI_TABLES_ADDR, 0xaa, ACPI_TABLES_END - ACPI_TABLES_ADDR);
	build(c);
	/* First in the area and 16-byte aligned: legacy scans find it. */
	assert_int_equal(c->rsdp, ACPI_TABLES_ADDR);
	assert_memory_equal(at(c, c->rsdp, 8), "RSD PTR ", 8);
	assert_sum_zero(c, c->rsdp, 20);
	assert_sum_zero(c, c->rsdp, 36);
	assert_memory_equal(at(c, c->rsdp + 9, 6), "KVMINI", 6);
	assert_int_equal(rd8(c, c->rsdp + 15), 2);
	assert_int_equal(rd32(c, c->rsdp + 16), 0); /* no RSDT */
	assert_int_equal(rd32(c, c->rsdp + 20), 36);
	xsdt = rd64(c, c->rsdp + 24);
	assert_int_equal(rd(c, c->rsdp + 33, 3), 0);
	assert_int_equal(xsdt % 8, 0);
	assert_table(c, xsdt, "XSDT", 1);
	/* The padding between tables was cleared. */
	assert_int_equal(rd(c, ACPI_TABLES_END - 8, 8), 0);
}

static void test_xsdt(void **state)
{
	struct ctx *c = *state;
	uint64_t xsdt;
	uint32_t len;

	build(c);
	xsdt = rd64(c, c->rsdp + 24);
	len = assert_table(c, xsdt, "XSDT", 1);
	assert_int_equal(len, 36 + 3 * 8);
	assert_memory_equal(at(c, rd64(c, xsdt + 36), 4), "FACP", 4);
	assert_memory_equal(at(c, rd64(c, xsdt + 44), 4), "APIC", 4);
	assert_memory_equal(at(c, rd64(c, xsdt + 52), 4), "MCFG", 4);
	assert_int_equal(table(c, "HPET"), 0);
}

/* One allocation: segment 0, buses 0..PCI_ECAM_LAST_BUS at PCI_ECAM_BASE. */
static void test_mcfg(void **state)
{
	struct ctx *c = *state;
	uint64_t t;

	build(c);
	t = table(c, "MCFG");
	assert_int_equal(assert_table(c, t, "MCFG", 1), 44 + 16);
	assert_int_equal(rd64(c, t + 36), 0);
	assert_int_equal(rd64(c, t + 44), PCI_ECAM_BASE);
	assert_int_equal(rd16(c, t + 52), 0);
	assert_int_equal(rd8(c, t + 54), 0);
	assert_int_equal(rd8(c, t + 55), PCI_ECAM_LAST_BUS);
	assert_int_equal(rd32(c, t + 56), 0);
}

static void assert_gas_io(struct ctx *c, uint64_t gas, uint16_t port, uint8_t bits, uint8_t access)
{
	assert_int_equal(rd8(c, gas), 1); /* SystemIO */
	assert_int_equal(rd8(c, gas + 1), bits);
	assert_int_equal(rd8(c, gas + 2), 0);
	assert_int_equal(rd8(c, gas + 3), access);
	assert_int_equal(rd64(c, gas + 4), port);
}

static void test_fadt(void **state)
{
	struct ctx *c = *state;
	const uint16_t base = 0xb000;
	uint64_t f, dsdt, facs;
	uint32_t flags;

	c->p.pm_base = base;
	c->p.sci_irq = 10;
	build(c);
	f = table(c, "FACP");
	assert_int_equal(assert_table(c, f, "FACP", 6), 276);
	assert_int_equal(rd8(c, f + 131), 3); /* ACPI 6.3 */

	facs = rd32(c, f + 36);
	assert_int_equal(rd64(c, f + 132), 0); /* X_FIRMWARE_CTRL: 0 when FIRMWARE_CTRL is set */
	assert_int_equal(facs % 64, 0);
	assert_true(in_area(facs, 64));
	assert_memory_equal(at(c, facs, 4), "FACS", 4);
	assert_int_equal(rd32(c, facs + 4), 64);
	assert_int_equal(rd8(c, facs + 32), 2);
	dsdt = rd32(c, f + 40);
	assert_int_equal(rd64(c, f + 140), dsdt);
	assert_table(c, dsdt, "DSDT", 2);

	assert_int_equal(rd16(c, f + 46), 10);	 /* SCI_INT */
	assert_int_equal(rd32(c, f + 48), 0);	 /* no SMI_CMD: always in ACPI mode */
	assert_int_equal(rd32(c, f + 56), base); /* PM1a_EVT_BLK */
	assert_int_equal(rd32(c, f + 60), 0);
	assert_int_equal(rd32(c, f + 64), base + ACPI_PM1_CNT);
	assert_int_equal(rd32(c, f + 68), 0);
	assert_int_equal(rd32(c, f + 76), base + ACPI_PM_TMR);
	assert_int_equal(rd32(c, f + 80), 0); /* no GPE0 */
	assert_int_equal(rd8(c, f + 88), 4);
	assert_int_equal(rd8(c, f + 89), 2);
	assert_int_equal(rd8(c, f + 91), 4);
	assert_int_equal(rd8(c, f + 92), 0);
	assert_true(rd16(c, f + 96) > 100);  /* no C2 */
	assert_true(rd16(c, f + 98) > 1000); /* no C3 */
	/* Legacy devices; no 8042, VGA or CMOS RTC. */
	assert_int_equal(rd16(c, f + 109), 0x01 | 0x04 | 0x20);

	flags = rd32(c, f + 112);
	assert_true(flags & (1u << 8));	  /* TMR_VAL_EXT: 32-bit timer */
	assert_true(flags & (1u << 10));  /* RESET_REG_SUP */
	assert_false(flags & (1u << 4));  /* the power button is fixed hardware */
	assert_false(flags & (1u << 20)); /* not hardware-reduced */
	assert_gas_io(c, f + 116, base + ACPI_PM_RESET_REG, 8, 1);
	assert_int_equal(rd8(c, f + 128), ACPI_PM_RESET_VALUE);
	assert_gas_io(c, f + 148, base, 32, 2);
	assert_int_equal(rd8(c, f + 160), 0); /* no PM1b */
	assert_gas_io(c, f + 172, base + ACPI_PM1_CNT, 16, 2);
	assert_gas_io(c, f + 208, base + ACPI_PM_TMR, 32, 3);
	assert_int_equal(rd64(c, f + 224), 0); /* no X_GPE0 */
}

/* Walk the MADT's entries: check the framing, count each type. */
struct madt {
	unsigned int count[16];
	uint64_t first[16];
};

static void walk_madt(struct ctx *c, struct madt *m)
{
	uint64_t t = table(c, "APIC");
	uint32_t len = assert_table(c, t, "APIC", 5);
	uint64_t e = t + 44;

	memset(m, 0, sizeof(*m));
	assert_int_equal(rd32(c, t + 36), LAPIC_BASE);
	assert_int_equal(rd32(c, t + 40), 1); /* PCAT_COMPAT */
	while (e < t + len) {
		uint8_t type = rd8(c, e), elen = rd8(c, e + 1);

		assert_true(type < 16);
		assert_true(elen >= 2 && e + elen <= t + len);
		if (!m->count[type]++)
			m->first[type] = e;
		e += elen;
	}
	assert_int_equal(e, t + len);
}

/* The entries besides the CPUs: IOAPIC, IRQ0 -> GSI2, the SCI, NMI on LINT1. */
static void assert_madt_platform(struct ctx *c, const struct madt *m)
{
	uint64_t e = m->first[1];

	assert_int_equal(m->count[1], 1);
	assert_int_equal(rd8(c, e + 1), 12);
	assert_int_equal(rd8(c, e + 2), c->p.ioapic_id);
	assert_int_equal(rd32(c, e + 4), IOAPIC_BASE);
	assert_int_equal(rd32(c, e + 8), 0);

	assert_int_equal(m->count[2], 2);
	e = m->first[2];
	assert_int_equal(rd8(c, e + 1), 10);
	assert_int_equal(rd8(c, e + 2), 0); /* ISA */
	assert_int_equal(rd8(c, e + 3), 0);
	assert_int_equal(rd32(c, e + 4), 2);
	assert_int_equal(rd16(c, e + 8), 0);
	e += 10;
	assert_int_equal(rd8(c, e), 2);
	assert_int_equal(rd8(c, e + 3), c->p.sci_irq);
	assert_int_equal(rd32(c, e + 4), c->p.sci_irq);
	assert_int_equal(rd16(c, e + 8), 0x0d); /* level, active high */

	assert_int_equal(m->count[4], 1);
	e = m->first[4];
	assert_int_equal(rd8(c, e + 1), 6);
	assert_int_equal(rd8(c, e + 2), 0xff); /* all CPUs */
	assert_int_equal(rd8(c, e + 5), 1);    /* LINT1 */
}

static void check_madt_cpus(struct ctx *c, unsigned int n)
{
	struct madt m;
	uint64_t e;

	c->p.nr_cpus = n;
	c->p.ioapic_id = (uint8_t)n;
	build(c);
	walk_madt(c, &m);
	assert_int_equal(m.count[0], n);
	assert_int_equal(m.count[9], 0);
	assert_int_equal(m.count[10], 0);
	e = m.first[0];
	for (unsigned int i = 0; i < n; i++, e += 8) {
		assert_int_equal(rd8(c, e), 0);
		assert_int_equal(rd8(c, e + 1), 8);
		assert_int_equal(rd8(c, e + 2), i); /* UID */
		assert_int_equal(rd8(c, e + 3), i); /* APIC ID */
		assert_int_equal(rd32(c, e + 4), 1);
	}
	assert_madt_platform(c, &m);
}

static void test_madt_1cpu(void **state)
{
	check_madt_cpus(*state, 1);
}

static void test_madt_2cpus(void **state)
{
	check_madt_cpus(*state, 2);
}

static void test_madt_64cpus(void **state)
{
	check_madt_cpus(*state, 64);
}

static void test_madt_x2apic(void **state)
{
	struct ctx *c = *state;
	static const uint32_t ids[] = { 0, 254, 255, 300, 0x10000 };
	struct madt m;
	uint64_t e;

	memcpy(c->ids, ids, sizeof(ids));
	c->p.nr_cpus = ARRAY_SIZE(ids);
	build(c);
	walk_madt(c, &m);
	assert_int_equal(m.count[0], 2);
	assert_int_equal(rd8(c, m.first[0] + 3), 0);
	assert_int_equal(rd8(c, m.first[0] + 8 + 3), 254);
	assert_int_equal(rd8(c, m.first[0] + 8 + 2), 1);
	assert_int_equal(m.count[9], 3);
	e = m.first[9];
	for (unsigned int i = 2; i < ARRAY_SIZE(ids); i++, e += 16) {
		assert_int_equal(rd8(c, e), 9);
		assert_int_equal(rd8(c, e + 1), 16);
		assert_int_equal(rd32(c, e + 4), ids[i]);
		assert_int_equal(rd32(c, e + 8), 1);
		assert_int_equal(rd32(c, e + 12), i); /* UID */
	}
	assert_int_equal(m.count[10], 1);
	e = m.first[10];
	assert_int_equal(rd8(c, e + 1), 12);
	assert_int_equal(rd32(c, e + 4), 0xffffffff);
	assert_int_equal(rd8(c, e + 8), 1);
	assert_madt_platform(c, &m);
}

/* Decode an AML PkgLength: its size in bytes, and the length it holds. */
static size_t pkglength(const uint8_t *p, uint32_t *len)
{
	unsigned int n = (p[0] >> 6) + 1;

	*len = n == 1 ? p[0] & 0x3f : p[0] & 0xf;
	for (unsigned int i = 1; i < n; i++)
		*len |= (uint32_t)p[i] << (4 + 8 * (i - 1));
	return n;
}

/* Number of times @needle occurs in [gpa, gpa + len). */
static unsigned int count_bytes(struct ctx *c, uint64_t gpa, uint32_t len, const void *needle,
				size_t n)
{
	const uint8_t *p = at(c, gpa, len);
	unsigned int count = 0;

	for (uint32_t i = 0; i + n <= len; i++)
		count += !memcmp(p + i, needle, n);
	return count;
}

static void test_dsdt(void **state)
{
	struct ctx *c = *state;
	/* Name (_HID, EisaId ("PNP0501")) */
	static const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01 };
	/* IO (Decode16, 0x3E8, 0x3E8, 1, 8), IRQNoFlags () {4} */
	static const uint8_t com3[] = { 0x47, 0x01, 0xe8, 0x03, 0xe8, 0x03,
					0x01, 0x08, 0x22, 0x10, 0x00 };
	/* Name (\_S5, Package (4) { 5, 5, Zero, Zero }) */
	static const uint8_t s5[] = { 0x08, '\\', '_',	'S',  '5',  '_',  0x12, 0x08,
				      0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00 };
	uint32_t len, scope_len;
	uint64_t d;
	size_t n;

	c->p.serial[0] = false;
	c->p.serial[1] = true;
	c->p.serial[2] = true;
	build(c);
	d = table(c, "DSDT");
	len = assert_table(c, d, "DSDT", 2);
	assert_int_equal(count_bytes(c, d, len, hid, sizeof(hid)), 2);
	assert_int_equal(count_bytes(c, d, len, "COM1", 4), 0);
	assert_int_equal(count_bytes(c, d, len, "COM2", 4), 1);
	assert_int_equal(count_bytes(c, d, len, "COM3", 4), 1);
	assert_int_equal(count_bytes(c, d, len, "COM4", 4), 0);
	assert_int_equal(count_bytes(c, d, len, com3, sizeof(com3)), 1);
	assert_int_equal(count_bytes(c, d, len, s5, sizeof(s5)), 1);
	/* \_SB first, holding everything up to \_S5. */
	assert_int_equal(rd8(c, d + 36), 0x10);
	n = pkglength(at(c, d + 37, 4), &scope_len);
	assert_memory_equal(at(c, d + 37 + n, 5), "\\_SB_", 5);
	assert_memory_equal(at(c, d + 37 + scope_len, sizeof(s5)), s5, sizeof(s5));
	assert_int_equal(37 + scope_len + sizeof(s5), len);

	c->p.serial[1] = c->p.serial[2] = false;
	build(c);
	d = table(c, "DSDT");
	len = assert_table(c, d, "DSDT", 2);
	assert_int_equal(count_bytes(c, d, len, hid, sizeof(hid)), 0);
	assert_int_equal(count_bytes(c, d, len, s5, sizeof(s5)), 1);
}

static void test_dsdt_pci(void **state)
{
	struct ctx *c = *state;
	/* Name (_HID, EisaId ("PNP0A08")), Name (_CID, EisaId ("PNP0A03")) */
	static const uint8_t ids[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x08,
				       0x08, '_', 'C', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
	/* Name (_UID, Zero), Name (_SEG, Zero), Name (_BBN, Zero) */
	static const uint8_t numbers[] = { 0x08, '_', 'U',  'I',  'D', 0x00, 0x08, '_', 'S',
					   'E',	 'G', 0x00, 0x08, '_', 'B',  'B',  'N', 0x00 };
	static const uint8_t crs[] = {
		0x08, '_', 'C', 'R', 'S', 0x11, 0x3f, 0x0a, 0x3c,
		/* WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, 0, 0xFF, 0, 0x100) */
		0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00,
		0x00, 0x01,
		/* WordIO (..., EntireRange, 0, 0xC000, 0xFFFF, 0, 0x4000) */
		0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0xc0, 0xff, 0xff, 0x00, 0x00,
		0x00, 0x40,
		/* DWordMemory (..., NonCacheable, ReadWrite, 0, 0xC0000000, 0xDFFFFFFF, 0, 0x20000000) */
		0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0,
		0xff, 0xff, 0xff, 0xdf, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x79,
		0x00, /* EndTag */
	};
	uint32_t len;
	uint64_t d;

	c->p.serial[0] = false;
	build(c);
	d = table(c, "DSDT");
	len = assert_table(c, d, "DSDT", 2);
	assert_int_equal(count_bytes(c, d, len, "PCI0", 4), 1);
	assert_int_equal(count_bytes(c, d, len, ids, sizeof(ids)), 1);
	assert_int_equal(count_bytes(c, d, len, numbers, sizeof(numbers)), 1);
	assert_int_equal(count_bytes(c, d, len, crs, sizeof(crs)), 1);
}

static void test_too_many_cpus(void **state)
{
	struct ctx *c = *state;

	/* 5000 x2APIC entries are 80000 bytes: more than the 64 KiB area. */
	for (unsigned int i = 0; i < MAX_CPUS; i++)
		c->ids[i] = 1000 + i;
	c->p.nr_cpus = MAX_CPUS;
	assert_int_equal(acpi_build(&c->mem, &c->p, &c->rsdp), -ENOSPC);
	assert_non_null(strstr(err_msg(ENOSPC), "do not fit"));
	/* 3800 still fit (the DSDT takes the rest). */
	c->p.nr_cpus = 3800;
	build(c);
}

static void test_bad_platform(void **state)
{
	struct ctx *c = *state;
	struct acpi_platform good = c->p;
	uint64_t rsdp = 0x1234;

	c->p.nr_cpus = 0;
	assert_int_equal(acpi_build(&c->mem, &c->p, &rsdp), -EINVAL);
	c->p = good;
	c->p.apic_ids = NULL;
	assert_int_equal(acpi_build(&c->mem, &c->p, &rsdp), -EINVAL);
	c->p = good;
	c->p.sci_irq = 0;
	assert_int_equal(acpi_build(&c->mem, &c->p, &rsdp), -EINVAL);
	c->p.sci_irq = 2;
	assert_int_equal(acpi_build(&c->mem, &c->p, &rsdp), -EINVAL);
	c->p.sci_irq = 16;
	assert_int_equal(acpi_build(&c->mem, &c->p, &rsdp), -EINVAL);
	assert_non_null(strstr(err_msg(EINVAL), "SCI IRQ 16"));
	c->p = good;
	c->p.pm_base = 0;
	assert_int_equal(acpi_build(&c->mem, &c->p, &rsdp), -EINVAL);
	c->p.pm_base = 0xfff8;
	assert_int_equal(acpi_build(&c->mem, &c->p, &rsdp), -EINVAL);
	c->p.pm_base = 0x10000 - ACPI_PM_IO_LEN;
	assert_int_equal(acpi_build(&c->mem, &c->p, &rsdp), 0);
	/* CPU 255 would need UID 255, which means "all CPUs" in xAPIC entries. */
	c->p = good;
	c->p.nr_cpus = 256;
	c->ids[255] = 3;
	assert_int_equal(acpi_build(&c->mem, &c->p, &rsdp), -EINVAL);
	c->ids[255] = 255;
	assert_int_equal(acpi_build(&c->mem, &c->p, &rsdp), 0);
}

static void test_free_apic_id(void **state)
{
	struct ctx *c = *state;
	static const uint32_t ids[] = { 0, 1, 3, 300 };

	c->p.nr_cpus = 2;
	assert_int_equal(acpi_free_apic_id(&c->p), 2);
	memcpy(c->ids, ids, sizeof(ids));
	c->p.nr_cpus = ARRAY_SIZE(ids);
	assert_int_equal(acpi_free_apic_id(&c->p), 2);
	c->ids[0] = 2;
	c->p.nr_cpus = 3;
	assert_int_equal(acpi_free_apic_id(&c->p), 0);
	/* 255 CPUs with IDs 0..254: none is free, 0 is the fallback. */
	for (unsigned int i = 0; i < 255; i++)
		c->ids[i] = 254 - i;
	c->p.nr_cpus = 255;
	assert_int_equal(acpi_free_apic_id(&c->p), 0);
	c->ids[0] = 1000;
	assert_int_equal(acpi_free_apic_id(&c->p), 254);
}

static void test_no_ram(void **state)
{
	struct ctx *c = *state;
	struct guest_mem small = { 0 };
	uint64_t rsdp = 0;

	/* RAM that stops one byte short of the area's end. */
	assert_int_equal(guest_mem_add(&small, 0, ACPI_TABLES_END - 1, c->ram), 0);
	assert_int_equal(acpi_build(&small, &c->p, &rsdp), -EFAULT);
	assert_non_null(strstr(err_msg(EFAULT), "0xe0000"));
}

static void test_aml_pkglength(void **state)
{
	/* Zero bytes after the 5-byte name: bodies around the 63 and 4095 byte limits. */
	static const size_t zeros[] = { 0, 57, 58, 4088, 4089, 70000 };
	static const size_t expect[] = { 1, 1, 2, 2, 3, 3 };
	static uint8_t buf[80000];
	struct aml a;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(zeros); i++) {
		size_t mark, n;
		uint32_t len;

		aml_init(&a, buf, sizeof(buf));
		mark = aml_scope(&a, "\\_SB");
		for (size_t j = 0; j < zeros[i]; j++)
			aml_integer(&a, 0);
		aml_end(&a, mark);
		assert_int_equal(a.err, 0);
		assert_int_equal(buf[0], 0x10);
		n = pkglength(buf + 1, &len);
		assert_int_equal(n, expect[i]);
		assert_int_equal(len, a.len - 1);
		assert_int_equal(a.len, 1 + n + 5 + zeros[i]);
		assert_memory_equal(buf + 1 + n, "\\_SB_", 5);
	}
}

static void test_aml_encoding(void **state)
{
	/* Integers take the smallest encoding: Zero, One, Byte, Word, DWord, QWord. */
	static const struct {
		uint64_t value;
		uint8_t len, bytes[9];
	} ints[] = {
		{ 0, 1, { 0x00 } },
		{ 1, 1, { 0x01 } },
		{ 2, 2, { 0x0a, 0x02 } },
		{ 0xff, 2, { 0x0a, 0xff } },
		{ 0x100, 3, { 0x0b, 0x00, 0x01 } },
		{ 0xffff, 3, { 0x0b, 0xff, 0xff } },
		{ 0x10000, 5, { 0x0c, 0x00, 0x00, 0x01, 0x00 } },
		{ 0xffffffff, 5, { 0x0c, 0xff, 0xff, 0xff, 0xff } },
		{ 0x100000000ULL, 9, { 0x0e, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00 } },
	};
	static const uint8_t expect[] = {
		0x0c, 0x41, 0xd0, 0x0a, 0x08,		/* EisaId ("PNP0A08") */
		0x08, 'A',  '_',  '_',	'_',		/* Name (A, ... */
		0x12, 0x03, 0x01, 0x01,			/* Package (1) { One }) */
		0x5b, 0x82, 0x05, 'D',	'E',  'V', '0', /* Device (DEV0) {} */
	};
	uint8_t buf[64];
	struct aml a;
	size_t pkg;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ints); i++) {
		aml_init(&a, buf, sizeof(buf));
		aml_integer(&a, ints[i].value);
		assert_int_equal(a.err, 0);
		assert_int_equal(a.len, ints[i].len);
		assert_memory_equal(buf, ints[i].bytes, ints[i].len);
	}
	aml_init(&a, buf, sizeof(buf));
	aml_eisa_id(&a, "PNP0A08");
	aml_name(&a, "A");
	pkg = aml_package(&a, 1);
	aml_integer(&a, 1);
	aml_end(&a, pkg);
	aml_end(&a, aml_device(&a, "DEV0"));
	assert_int_equal(a.err, 0);
	assert_int_equal(a.len, sizeof(expect));
	assert_memory_equal(buf, expect, sizeof(expect));
}

static void test_aml_address_space(void **state)
{
	/* QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,
	 * 0, 0x100000000, 0x1FFFFFFFF, 0, 0x100000000) */
	static const uint8_t qword[] = {
		0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x01, 0,	  0,	0,    0,    0,	  0,
		0,    0,    0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xff, 0xff,
		0xff, 0xff, 0x01, 0x00, 0x00, 0x00, 0,	  0,	0,    0,    0,	  0,
		0,    0,    0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	};
	uint8_t buf[64];
	struct aml a;

	(void)state;
	aml_init(&a, buf, sizeof(buf));
	aml_address_space(&a, AML_SPACE_MEMORY, 0x100000000ULL, 0x1ffffffffULL);
	assert_int_equal(a.err, 0);
	assert_int_equal(a.len, sizeof(qword));
	assert_memory_equal(buf, qword, sizeof(qword));
	/* A DWord as soon as the end needs more than 16 bits. */
	aml_init(&a, buf, sizeof(buf));
	aml_address_space(&a, AML_SPACE_IO, 0, 0x10000);
	assert_int_equal(a.len, 26);
	assert_int_equal(buf[0], 0x87);
	aml_init(&a, buf, sizeof(buf));
	aml_address_space(&a, AML_SPACE_BUS, 2, 1);
	assert_int_equal(a.err, -EINVAL);
	aml_init(&a, buf, sizeof(buf));
	aml_address_space(&a, (enum aml_space)3, 0, 1);
	assert_int_equal(a.err, -EINVAL);
}

static void test_aml_errors(void **state)
{
	static const char *const bad_names[] = { "", "ABCDE", "1ABC", "a", "\\", "AB-C", "\\\\A" };
	static const char *const bad_ids[] = { "PNP050", "PNP05011", "pnp0501", "PNP05G1",
					       "P1P0501" };
	uint8_t buf[16];
	struct aml a;
	size_t n;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_names); i++) {
		aml_init(&a, buf, sizeof(buf));
		aml_name(&a, bad_names[i]);
		assert_int_equal(a.err, -EINVAL);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad_ids); i++) {
		aml_init(&a, buf, sizeof(buf));
		aml_eisa_id(&a, bad_ids[i]);
		assert_int_equal(a.err, -EINVAL);
	}
	aml_init(&a, buf, sizeof(buf));
	aml_irq_no_flags(&a, 16);
	assert_int_equal(a.err, -EINVAL);

	/* Out of room: the error sticks, nothing is written past the buffer. */
	memset(buf, 0x55, sizeof(buf));
	aml_init(&a, buf, 8);
	aml_integer(&a, 0x100000000ULL);
	assert_int_equal(a.err, -ENOSPC);
	n = a.len;
	aml_integer(&a, 1);
	assert_int_equal(a.err, -ENOSPC);
	assert_int_equal(a.len, n);
	assert_int_equal(buf[8], 0x55);
	/* A PkgLength that no longer fits after the body did. */
	aml_init(&a, buf, 5);
	aml_end(&a, aml_scope(&a, "_SB"));
	assert_int_equal(a.err, -ENOSPC);
}

/* ---- iasl: ACPICA's disassembler must decode every table without errors. ---- */

static bool have_iasl(void)
{
	return system("command -v iasl >/dev/null 2>&1") == 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len >= 0);
	rewind(f);
	buf = test_calloc(1, (size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	return buf;
}

/* Run @cmd in @dir; its output (stdout and stderr) is returned, its status checked. */
static char *run(const char *dir, const char *cmd)
{
	char line[512], out[300];

	snprintf(out, sizeof(out), "%s/out.txt", dir);
	snprintf(line, sizeof(line), "cd %s && %s >out.txt 2>&1", dir, cmd);
	if (system(line) != 0) {
		char *text = read_file(out);

		print_error("'%s' failed:\n%s\n", cmd, text);
		test_free(text);
		fail();
	}
	return read_file(out);
}

/* Disassemble @sig; returns the .dsl text. */
static char *iasl_decode(struct ctx *c, const char *dir, const char *sig)
{
	uint64_t t = table(c, sig);
	uint32_t len = rd32(c, t + 4);
	char path[300], cmd[64];
	char *out;

	snprintf(path, sizeof(path), "%s/%s.dat", dir, sig);
	write_file(path, at(c, t, len), len);
	snprintf(cmd, sizeof(cmd), "iasl -d %s.dat", sig);
	out = run(dir, cmd);
	if (strstr(out, "rror") || strstr(out, "arning")) {
		print_error("iasl -d %s.dat:\n%s\n", sig, out);
		fail();
	}
	test_free(out);
	snprintf(path, sizeof(path), "%s/%s.dsl", dir, sig);
	return read_file(path);
}

static unsigned int count_str(const char *s, const char *needle)
{
	unsigned int n = 0;

	for (s = strstr(s, needle); s; s = strstr(s + 1, needle))
		n++;
	return n;
}

static void test_iasl(void **state)
{
	struct ctx *c = *state;
	static const uint32_t ids[] = { 0, 1, 2, 300 };
	char *dir = c->tmpdir, *dsl, *out;

	if (!have_iasl()) {
		print_message("iasl is not installed (apt-get install acpica-tools): skipped\n");
		skip();
	}
	memcpy(c->ids, ids, sizeof(ids));
	c->p.nr_cpus = ARRAY_SIZE(ids);
	c->p.ioapic_id = 4;
	c->p.serial[2] = true;
	c->p.mmio64_base = 0x140000000ULL;
	c->p.mmio64_size = 0x800000000ULL;
	build(c);
	snprintf(dir, sizeof(c->tmpdir), "/tmp/kvmini-acpi-XXXXXX");
	assert_non_null(mkdtemp(dir));

	test_free(iasl_decode(c, dir, "XSDT"));
	dsl = iasl_decode(c, dir, "MCFG");
	assert_non_null(strstr(dsl, "Base Address : 00000000E0000000"));
	assert_non_null(strstr(dsl, "End Bus Number : FF"));
	test_free(dsl);
	test_free(iasl_decode(c, dir, "FACS"));

	dsl = iasl_decode(c, dir, "FACP");
	assert_non_null(strstr(dsl, "SCI Interrupt : 0009"));
	assert_non_null(strstr(dsl, "PM1A Event Block Address : 00000600"));
	assert_non_null(strstr(dsl, "PM Timer Block Address : 00000608"));
	assert_non_null(strstr(dsl, "32-bit PM Timer (V1) : 1"));
	assert_non_null(strstr(dsl, "Reset Register Supported (V2) : 1"));
	assert_non_null(strstr(dsl, "Hardware Reduced (V5) : 0"));
	assert_non_null(strstr(dsl, "CMOS RTC Not Present (V5) : 1"));
	assert_non_null(strstr(dsl, "Address : 000000000000060C"));
	test_free(dsl);

	dsl = iasl_decode(c, dir, "APIC");
	assert_int_equal(count_str(dsl, "[Processor Local APIC]"), 3);
	assert_int_equal(count_str(dsl, "[Processor Local x2APIC]"), 1);
	assert_non_null(strstr(dsl, "Processor x2Apic ID : 0000012C"));
	assert_non_null(strstr(dsl, "Local Apic ID : 02"));
	assert_non_null(strstr(dsl, "I/O Apic ID : 04"));
	assert_int_equal(count_str(dsl, "[Interrupt Source Override]"), 2);
	assert_non_null(strstr(dsl, "[Local APIC NMI]"));
	assert_non_null(strstr(dsl, "[Local x2APIC NMI]"));
	test_free(dsl);

	dsl = iasl_decode(c, dir, "DSDT");
	assert_int_equal(count_str(dsl, "EisaId (\"PNP0501\")"), 2);
	assert_non_null(strstr(dsl, "Device (COM1)"));
	assert_non_null(strstr(dsl, "Device (COM3)"));
	assert_null(strstr(dsl, "Device (COM2)"));
	assert_non_null(strstr(dsl, "0x03E8,             // Range Minimum"));
	assert_non_null(strstr(dsl, "IRQNoFlags ()\n                    {4}"));
	assert_non_null(strstr(dsl, "Name (\\_S5, Package (0x04)"));
	assert_non_null(strstr(dsl, "Device (PCI0)"));
	assert_non_null(strstr(dsl, "Name (_HID, EisaId (\"PNP0A08\")"));
	assert_non_null(strstr(dsl, "Name (_CID, EisaId (\"PNP0A03\")"));
	assert_non_null(
		strstr(dsl, "WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,"));
	assert_non_null(strstr(
		dsl, "WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,"));
	assert_non_null(strstr(
		dsl,
		"DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,"));
	assert_non_null(strstr(dsl, "0xDFFFFFFF,         // Range Maximum"));
	assert_non_null(
		strstr(dsl, "QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed,"));
	assert_non_null(strstr(dsl, "0x0000000140000000, // Range Minimum"));
	assert_non_null(strstr(dsl, "0x000000093FFFFFFF, // Range Maximum"));
	/* _PRT: 32 slots x 4 pins; slot 1's INTA# and slot 2's INTD# share GSI 17. */
	assert_non_null(strstr(dsl, "Name (_PRT, Package (0x80)"));
	assert_non_null(strstr(dsl, "0x0001FFFF, \n"));
	test_free(dsl);
	/* What it decoded compiles back without a complaint. */
	out = run(dir, "iasl DSDT.dsl");
	assert_non_null(strstr(out, "0 Errors, 0 Warnings"));
	test_free(out);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_rsdp),
		T(test_xsdt),
		T(test_mcfg),
		T(test_fadt),
		T(test_madt_1cpu),
		T(test_madt_2cpus),
		T(test_madt_64cpus),
		T(test_madt_x2apic),
		T(test_dsdt),
		T(test_dsdt_pci),
		T(test_too_many_cpus),
		T(test_bad_platform),
		T(test_free_apic_id),
		T(test_no_ram),
		cmocka_unit_test(test_aml_pkglength),
		cmocka_unit_test(test_aml_encoding),
		cmocka_unit_test(test_aml_address_space),
		cmocka_unit_test(test_aml_errors),
		T(test_iasl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
