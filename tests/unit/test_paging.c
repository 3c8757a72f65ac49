// SPDX-License-Identifier: MIT
/* Unit tests for the guest page-table walker (vmm/paging.c), on hand-built tables. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "paging.h"

#define RAM_SIZE 0x100000ULL /* the page tables live here; mapped pages need not be RAM */

#define P   0x001ULL
#define RW  0x002ULL
#define US  0x004ULL
#define A   0x020ULL
#define D   0x040ULL
#define PS  0x080ULL
#define NX  (1ULL << 63)
#define ALL (P | RW | US)

#define CR0_PE	 (1ULL << 0)
#define CR0_WP	 (1ULL << 16)
#define CR0_PG	 (1ULL << 31)
#define CR4_PSE	 (1ULL << 4)
#define CR4_PAE	 (1ULL << 5)
#define CR4_LA57 (1ULL << 12)
#define CR4_SMEP (1ULL << 20)
#define CR4_SMAP (1ULL << 21)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define EFER_NXE (1ULL << 11)

/* 4-level tables: PML4 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000. */
#define PML4 0x1000
#define PDPT 0x2000
#define PD   0x3000
#define PT   0x4000
#define PML5 0x5000

/* Indices 1, 2, 3, 4 at the four levels, offset 0x567. */
#define LA4 ((1ULL << 39) | (2ULL << 30) | (3ULL << 21) | (4ULL << 12) | 0x567)

struct ctx {
	struct guest_mem mem;
	struct paging_mode m;
	uint8_t ram[RAM_SIZE];
};

static int setup(void **state)
{
	struct ctx *c = test_calloc(1, sizeof(*c));

	if (!c || guest_mem_add(&c->mem, 0, RAM_SIZE, c->ram))
		return -1;
	c->m = (struct paging_mode){ .cr0 = CR0_PE | CR0_PG,
				     .cr3 = PML4,
				     .cr4 = CR4_PAE,
				     .efer = EFER_LME | EFER_LMA | EFER_NXE,
				     .maxphyaddr = 46 };
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	test_free(*state);
	return 0;
}

static void set64(struct ctx *c, uint64_t table, unsigned int index, uint64_t v)
{
	memcpy(c->ram + table + 8 * index, &v, 8);
}

static uint64_t get64(struct ctx *c, uint64_t table, unsigned int index)
{
	uint64_t v;

	memcpy(&v, c->ram + table + 8 * index, 8);
	return v;
}

static void set32(struct ctx *c, uint64_t table, unsigned int index, uint32_t v)
{
	memcpy(c->ram + table + 4 * index, &v, 4);
}

/* LA4 through four levels to a 4 KiB page at 0xabcd000; @leaf_flags on the PTE. */
static void map4k(struct ctx *c, uint64_t leaf_flags)
{
	set64(c, PML4, 1, PDPT | ALL);
	set64(c, PDPT, 2, PD | ALL);
	set64(c, PD, 3, PT | ALL);
	set64(c, PT, 4, 0xabcd000 | leaf_flags);
}

static int walk(struct ctx *c, uint64_t la, unsigned int access, struct paging_result *res)
{
	return paging_translate(&c->mem, &c->m, la, access, res);
}

static void expect_gpa(struct ctx *c, uint64_t la, unsigned int access, uint64_t gpa, uint64_t size)
{
	struct paging_result res;

	assert_int_equal(walk(c, la, access, &res), 0);
	assert_int_equal(res.gpa, gpa);
	assert_int_equal(res.page_size, size);
}

static void expect_pf(struct ctx *c, uint64_t la, unsigned int access, uint32_t error)
{
	struct paging_result res;

	assert_int_equal(walk(c, la, access, &res), -EFAULT);
	assert_int_equal(res.pf_error, error);
}

static void test_paging_off(void **state)
{
	struct ctx *c = *state;

	c->m.cr0 = CR0_PE;
	c->m.efer = 0;
	expect_gpa(c, 0x12345678, PAGING_WRITE, 0x12345678, 4096);
	/* Outside long mode linear addresses have 32 bits. */
	expect_gpa(c, 0x1ffff0000ULL, 0, 0xffff0000, 4096);
}

static void test_4level_4k(void **state)
{
	struct ctx *c = *state;

	map4k(c, ALL);
	expect_gpa(c, LA4, 0, 0xabcd567, 4096);
	expect_gpa(c, LA4, PAGING_WRITE | PAGING_USER, 0xabcd567, 4096);
}

static void test_4level_2m(void **state)
{
	struct ctx *c = *state;

	map4k(c, ALL);
	set64(c, PD, 3, 0x40000000 | PS | ALL);
	expect_gpa(c, LA4, 0, 0x40000000 | (LA4 & 0x1fffff), 2 << 20);
}

static void test_4level_1g(void **state)
{
	struct ctx *c = *state;

	map4k(c, ALL);
	set64(c, PDPT, 2, 0x80000000 | PS | ALL);
	expect_gpa(c, LA4, 0, 0x80000000 | (LA4 & 0x3fffffff), 1 << 30);
}

static void test_5level(void **state)
{
	struct ctx *c = *state;
	uint64_t la = (0x1ULL << 48) | LA4; /* PML5 index 1 */

	map4k(c, ALL);
	c->m.cr4 |= CR4_LA57;
	c->m.cr3 = PML5;
	set64(c, PML5, 1, PML4 | ALL);
	expect_gpa(c, la, 0, 0xabcd567, 4096);
	/* With 5 levels, bit 56 is the sign: 0x0100... is not canonical, 0xff00... is. */
	assert_int_equal(walk(c, 0x0100000000000000ULL, 0, &(struct paging_result){ 0 }), -EINVAL);
	expect_pf(c, 0xff00000000000000ULL, 0, 0);
}

static void test_non_canonical(void **state)
{
	struct ctx *c = *state;
	struct paging_result res;

	map4k(c, ALL);
	assert_int_equal(walk(c, 0x0000800000000000ULL, 0, &res), -EINVAL);
	assert_int_equal(walk(c, 0x8000000000000000ULL, 0, &res), -EINVAL);
	expect_pf(c, 0xffff800000000000ULL, 0, 0); /* canonical, PML4 entry 256 empty */
}

static void test_not_present(void **state)
{
	struct ctx *c = *state;

	map4k(c, ALL & ~P);
	expect_pf(c, LA4, 0, 0);
	expect_pf(c, LA4, PAGING_WRITE, PF_WRITE);
	expect_pf(c, LA4, PAGING_USER | PAGING_WRITE, PF_USER | PF_WRITE);
	expect_pf(c, LA4, PAGING_FETCH, PF_FETCH); /* NXE on: I/D reported */
	map4k(c, ALL);
	set64(c, PDPT, 2, PD | RW | US);
	expect_pf(c, LA4, PAGING_USER, PF_USER);
}

static void test_user_supervisor(void **state)
{
	struct ctx *c = *state;

	map4k(c, ALL);
	set64(c, PD, 3, PT | P | RW); /* not user-accessible at one level */
	expect_pf(c, LA4, PAGING_USER, PF_PRESENT | PF_USER);
	expect_pf(c, LA4, PAGING_USER | PAGING_WRITE, PF_PRESENT | PF_USER | PF_WRITE);
	expect_gpa(c, LA4, PAGING_WRITE, 0xabcd567, 4096);
}

static void test_read_write(void **state)
{
	struct ctx *c = *state;

	map4k(c, P | US);
	expect_gpa(c, LA4, PAGING_USER, 0xabcd567, 4096);
	expect_pf(c, LA4, PAGING_USER | PAGING_WRITE, PF_PRESENT | PF_USER | PF_WRITE);
	/* Supervisor writes ignore R/W unless CR0.WP is set. */
	expect_gpa(c, LA4, PAGING_WRITE, 0xabcd567, 4096);
	c->m.cr0 |= CR0_WP;
	expect_pf(c, LA4, PAGING_WRITE, PF_PRESENT | PF_WRITE);
}

static void test_nx(void **state)
{
	struct ctx *c = *state;

	map4k(c, ALL | NX);
	expect_gpa(c, LA4, 0, 0xabcd567, 4096);
	expect_pf(c, LA4, PAGING_FETCH, PF_PRESENT | PF_FETCH);
	/* Without EFER.NXE bit 63 is reserved, and I/D is not reported. */
	c->m.efer &= ~EFER_NXE;
	expect_pf(c, LA4, 0, PF_PRESENT | PF_RSVD);
	expect_pf(c, LA4, PAGING_FETCH, PF_PRESENT | PF_RSVD);
}

static void test_reserved(void **state)
{
	struct ctx *c = *state;

	map4k(c, ALL | (1ULL << 47)); /* above MAXPHYADDR 46 */
	expect_pf(c, LA4, PAGING_WRITE, PF_PRESENT | PF_RSVD | PF_WRITE);
	map4k(c, ALL);
	set64(c, PML4, 1, PDPT | ALL | PS);
	expect_pf(c, LA4, 0, PF_PRESENT | PF_RSVD);
	map4k(c, ALL);
	set64(c, PD, 3, 0x40000000 | PS | ALL | (1ULL << 13)); /* 2 MiB page, low bits */
	expect_pf(c, LA4, 0, PF_PRESENT | PF_RSVD);
	map4k(c, ALL);
	set64(c, PDPT, 2, 0x80000000 | PS | ALL | (1ULL << 20));
	expect_pf(c, LA4, 0, PF_PRESENT | PF_RSVD);
	/* Bit 12 of a large page is PAT, not an address bit. */
	set64(c, PDPT, 2, 0x80000000 | PS | ALL | (1ULL << 12));
	expect_gpa(c, LA4, 0, 0x80000000 | (LA4 & 0x3fffffff), 1 << 30);
}

static void test_smep_smap(void **state)
{
	struct ctx *c = *state;

	map4k(c, ALL);
	c->m.cr4 |= CR4_SMEP;
	expect_pf(c, LA4, PAGING_FETCH, PF_PRESENT | PF_FETCH);
	expect_gpa(c, LA4, PAGING_FETCH | PAGING_USER, 0xabcd567, 4096);
	expect_gpa(c, LA4, 0, 0xabcd567, 4096);
	c->m.cr4 |= CR4_SMAP;
	expect_pf(c, LA4, 0, PF_PRESENT);
	expect_pf(c, LA4, PAGING_WRITE, PF_PRESENT | PF_WRITE);
	expect_gpa(c, LA4, PAGING_AC | PAGING_WRITE, 0xabcd567, 4096);
	expect_gpa(c, LA4, PAGING_USER, 0xabcd567, 4096);
	/* Supervisor pages are not affected. */
	map4k(c, P | RW);
	expect_gpa(c, LA4, 0, 0xabcd567, 4096);
	expect_gpa(c, LA4, PAGING_FETCH, 0xabcd567, 4096);
}

static void test_accessed_dirty(void **state)
{
	struct ctx *c = *state;

	map4k(c, ALL);
	expect_gpa(c, LA4, PAGING_WRITE, 0xabcd567, 4096);
	assert_int_equal(get64(c, PT, 4) & (A | D), 0);
	expect_gpa(c, LA4, PAGING_SET_AD, 0xabcd567, 4096);
	assert_int_equal(get64(c, PML4, 1) & (A | D), A);
	assert_int_equal(get64(c, PD, 3) & (A | D), A);
	assert_int_equal(get64(c, PT, 4) & (A | D), A);
	expect_gpa(c, LA4, PAGING_SET_AD | PAGING_WRITE, 0xabcd567, 4096);
	assert_int_equal(get64(c, PT, 4) & (A | D), A | D);
	assert_int_equal(get64(c, PD, 3) & D, 0);
	/* A fault sets nothing. */
	set64(c, PT, 4, 0xabcd000 | P | US);
	expect_pf(c, LA4, PAGING_SET_AD | PAGING_USER | PAGING_WRITE,
		  PF_PRESENT | PF_USER | PF_WRITE);
	assert_int_equal(get64(c, PT, 4) & (A | D), 0);
}

static void test_tables_outside_ram(void **state)
{
	struct ctx *c = *state;
	struct paging_result res;

	map4k(c, ALL);
	set64(c, PD, 3, 0x7000000 | ALL); /* the page table is not RAM */
	assert_int_equal(walk(c, LA4, 0, &res), -ENXIO);
}

static void test_32bit(void **state)
{
	struct ctx *c = *state;
	uint64_t la = (5ULL << 22) | (6ULL << 12) | 0x123;

	c->m.cr4 = 0;
	c->m.efer = 0;
	c->m.cr3 = PD;
	set32(c, PD, 5, PT | ALL);
	set32(c, PT, 6, 0x7654000 | P | US);
	expect_gpa(c, la, PAGING_USER, 0x7654123, 4096);
	expect_pf(c, la, PAGING_USER | PAGING_WRITE, PF_PRESENT | PF_USER | PF_WRITE);
	/* A PDE with PS is a 4 MiB page only with CR4.PSE. */
	set32(c, PD, 5, 0x6000 | PS | ALL);
	expect_pf(c, la, 0, 0); /* PS ignored: a page table at 0x6000, entry 6 empty */
}

static void test_32bit_pse(void **state)
{
	struct ctx *c = *state;
	uint64_t la = (5ULL << 22) | 0x12345;

	c->m.cr4 = CR4_PSE;
	c->m.efer = 0;
	c->m.cr3 = PD;
	c->m.maxphyaddr = 40;
	/* PSE-36: bits 20:13 of the PDE are address bits 39:32. */
	set32(c, PD, 5, 0x00c00000 | (0x3ULL << 13) | PS | ALL);
	expect_gpa(c, la, 0, 0x300c12345ULL, 4 << 20);
	set32(c, PD, 5, 0x00c00000 | (1ULL << 21) | PS | ALL);
	expect_pf(c, la, 0, PF_PRESENT | PF_RSVD);
	/* No I/D bit with 32-bit paging. */
	set32(c, PD, 5, 0);
	expect_pf(c, la, PAGING_FETCH, 0);
}

static void test_pae(void **state)
{
	struct ctx *c = *state;
	uint64_t la = (2ULL << 30) | (3ULL << 21) | (4ULL << 12) | 0x567;

	c->m.efer = EFER_NXE;
	c->m.cr3 = PDPT + 0x20; /* 32-byte aligned */
	set64(c, PDPT + 0x20, 2, PD | P);
	set64(c, PD, 3, PT | ALL);
	set64(c, PT, 4, 0x123456000ULL | ALL | NX);
	expect_gpa(c, la, PAGING_USER | PAGING_WRITE, 0x123456567ULL, 4096);
	expect_pf(c, la, PAGING_FETCH, PF_PRESENT | PF_FETCH);
	set64(c, PD, 3, 0x40000000 | PS | P | US);
	expect_gpa(c, la, PAGING_USER, 0x40000000 | (la & 0x1fffff), 2 << 20);
	expect_pf(c, la, PAGING_USER | PAGING_WRITE, PF_PRESENT | PF_USER | PF_WRITE);
	/* PDPTEs have reserved bits where other entries have R/W and U/S. */
	set64(c, PDPT + 0x20, 2, PD | P | RW);
	expect_pf(c, la, 0, PF_PRESENT | PF_RSVD);
	set64(c, PDPT + 0x20, 2, 0);
	expect_pf(c, la, 0, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_paging_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_4level_4k, setup, teardown),
		cmocka_unit_test_setup_teardown(test_4level_2m, setup, teardown),
		cmocka_unit_test_setup_teardown(test_4level_1g, setup, teardown),
		cmocka_unit_test_setup_teardown(test_5level, setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_canonical, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_present, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_supervisor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_smep_smap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accessed_dirty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tables_outside_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_32bit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_32bit_pse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pae, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
