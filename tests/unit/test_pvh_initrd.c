// SPDX-License-Identifier: MIT
/*
 * Unit tests for the -initrd of PVH kernels (firmware/pvh_elf.c): one module
 * in hvm_start_info's module list, placed high in RAM below 4 GiB and above
 * the kernel; and the RSDP address.  Guest RAM is a plain buffer.
 */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "fake_ram.h"

#include "boot.h"
#include "error.h"
#include "layout.h"
#include "pvh.h"

#define RAM_SIZE    (8 * MIB)
#define RAM_FILL    0xcc
#define NOTE_OFF    0x100
#define LOAD_OFF    0x200
#define KERNEL_ADDR MIB
#define KERNEL_MEM  0x300000 /* memsz: the kernel ends at 4 MiB */
#define INITRD_SIZE 5000

/* hvm_modlist_entry, as the PVH ABI lays it out. */
struct modlist {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

struct ctx {
	struct guest_mem mem;
	uint8_t *ram;
	uint8_t img[LOAD_OFF + 16];
	Elf64_Phdr *load;
	uint8_t initrd[INITRD_SIZE];
	struct boot_params_in in;
	struct boot_cpu cpu;
	struct hvm_start_info si;
};

/* An ELF64 kernel: a Xen PHYS32_ENTRY note and one PT_LOAD at 1 MiB with bss. */
static void build_image(struct ctx *c)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)c->img;
	Elf64_Phdr *ph = (Elf64_Phdr *)(c->img + sizeof(*eh));
	Elf64_Nhdr nh = { .n_namesz = 4, .n_descsz = 4, .n_type = XEN_ELFNOTE_PHYS32_ENTRY };
	uint32_t entry = KERNEL_ADDR;

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_machine = EM_X86_64;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	memcpy(c->img + NOTE_OFF, &nh, sizeof(nh));
	memcpy(c->img + NOTE_OFF + sizeof(nh), "Xen", 4);
	memcpy(c->img + NOTE_OFF + sizeof(nh) + 4, &entry, 4);
	ph[0] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = NOTE_OFF, .p_filesz = 20 };
	ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD,
			      .p_offset = LOAD_OFF,
			      .p_paddr = KERNEL_ADDR,
			      .p_filesz = 16,
			      .p_memsz = KERNEL_MEM };
	memset(c->img + LOAD_OFF, 0x90, 16);
	c->load = &ph[1];
	c->in.image = c->img;
	c->in.image_size = sizeof(c->img);
}

static int setup(void **state)
{
	struct ctx *c = test_calloc(1, sizeof(*c));

	if (!c)
		return -1;
	if (fake_ram_init(&c->mem, &c->ram, RAM_SIZE, RAM_FILL))
		return -1;
	build_image(c);
	for (size_t i = 0; i < INITRD_SIZE; i++)
		c->initrd[i] = (uint8_t)(i * 13 + 5);
	c->in.initrd = c->initrd;
	c->in.initrd_size = INITRD_SIZE;
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

static int load(struct ctx *c)
{
	int ret;

	err_clear();
	ret = boot_load(&c->mem, &c->in, &c->cpu);
	if (!ret)
		memcpy(&c->si, c->ram + c->cpu.regs.rbx, sizeof(c->si));
	return ret;
}

static void load_fails(struct ctx *c, int err, const char *phrase)
{
	expect_load_error(load(c), err, phrase);
}

static struct modlist module0(struct ctx *c)
{
	struct modlist m;

	assert_int_equal(c->si.nr_modules, 1);
	assert_true(c->si.modlist_paddr + sizeof(m) <= RAM_SIZE);
	memcpy(&m, c->ram + c->si.modlist_paddr, sizeof(m));
	return m;
}

static void test_initrd_module(void **state)
{
	struct ctx *c = *state;
	struct modlist m;
	uint64_t memmap_end;

	assert_int_equal(load(c), 0);
	m = module0(c);
	assert_int_equal(m.size, INITRD_SIZE);
	assert_int_equal(m.cmdline_paddr, 0);
	assert_int_equal(m.reserved, 0);
	/* Page-aligned at the top of RAM, above the kernel. */
	assert_int_equal(m.paddr % 4096, 0);
	assert_int_equal(m.paddr, (RAM_SIZE - INITRD_SIZE) & ~0xfffULL);
	assert_true(m.paddr >= KERNEL_ADDR + KERNEL_MEM);
	assert_memory_equal(c->ram + m.paddr, c->initrd, INITRD_SIZE);
	assert_int_equal(c->ram[m.paddr - 1], RAM_FILL);

	/* The module list is boot data: clear of the start info and its memory map. */
	memmap_end = c->si.memmap_paddr + c->si.memmap_entries * sizeof(struct hvm_memmap_entry);
	assert_true(c->si.modlist_paddr >= memmap_end ||
		    c->si.modlist_paddr + sizeof(m) <= c->si.memmap_paddr);
	assert_true(c->si.modlist_paddr >= BOOT_INFO_ADDR + sizeof(c->si));
	assert_true(c->si.modlist_paddr + sizeof(m) <= BOOT_CMDLINE_ADDR);
	assert_int_equal(c->si.modlist_paddr % 8, 0);
}

static void test_no_initrd(void **state)
{
	struct ctx *c = *state;

	c->in.initrd = NULL;
	c->in.initrd_size = 0;
	assert_int_equal(load(c), 0);
	assert_int_equal(c->si.nr_modules, 0);
	assert_int_equal(c->si.modlist_paddr, 0);
	assert_int_equal(c->ram[RAM_SIZE - 1], RAM_FILL);
}

static void test_rsdp(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(load(c), 0);
	assert_int_equal(c->si.rsdp_paddr, 0);
	c->in.rsdp_addr = 0xe0000;
	assert_int_equal(load(c), 0);
	assert_int_equal(c->si.rsdp_paddr, 0xe0000);
}

static void test_initrd_too_big(void **state)
{
	struct ctx *c = *state;

	/* 4 MiB free above the kernel: the size alone decides, the bytes are never read. */
	c->in.initrd_size = 4 * MIB + 1;
	load_fails(c, -ENOMEM,
		   "-initrd: 5 MiB initrd does not fit in RAM between the kernel and "
		   "4 GiB with -m 8M: give more memory with -m");
	assert_int_equal(c->ram[RAM_SIZE - 1], RAM_FILL);
}

/* Exactly the room between the kernel's bss and the end of RAM. */
static void test_initrd_exact_fit(void **state)
{
	struct ctx *c = *state;
	uint8_t *big = test_malloc(4 * MIB);
	struct modlist m;

	memset(big, 0x77, 4 * MIB);
	c->in.initrd = big;
	c->in.initrd_size = 4 * MIB;
	assert_int_equal(load(c), 0);
	m = module0(c);
	assert_int_equal(m.paddr, KERNEL_ADDR + KERNEL_MEM);
	assert_int_equal(c->ram[RAM_SIZE - 1], 0x77);
	/* The kernel's bss, right below, is zeroed and not overwritten. */
	assert_int_equal(c->ram[KERNEL_ADDR + KERNEL_MEM - 1], 0);
	test_free(big);
}

/* A kernel loaded high: the initrd must go above it, not just anywhere. */
static void test_kernel_high(void **state)
{
	struct ctx *c = *state;
	uint32_t entry = 6 * MIB;
	struct modlist m;

	c->load->p_paddr = 6 * MIB;
	c->load->p_memsz = MIB;
	memcpy(c->img + NOTE_OFF + sizeof(Elf64_Nhdr) + 4, &entry, 4);
	assert_int_equal(load(c), 0);
	m = module0(c);
	assert_true(m.paddr >= 7 * MIB);
	c->in.initrd_size = MIB + 1;
	load_fails(c, -ENOMEM, "does not fit");
}

/* A kernel below 1 MiB: the initrd still stays out of the legacy area and ACPI tables. */
static void test_kernel_low(void **state)
{
	struct ctx *c = *state;
	uint32_t entry = 0x40000;
	uint8_t *big = test_malloc(7 * MIB);

	memset(big, 0x55, 7 * MIB);
	c->load->p_paddr = 0x40000;
	c->load->p_memsz = 0x1000;
	memcpy(c->img + NOTE_OFF + sizeof(Elf64_Nhdr) + 4, &entry, 4);
	c->in.initrd = big;
	c->in.initrd_size = 7 * MIB;
	assert_int_equal(load(c), 0);
	assert_int_equal(module0(c).paddr, MIB);
	assert_int_equal(c->ram[MIB - 1], RAM_FILL);
	c->in.initrd_size = 7 * MIB + 1;
	load_fails(c, -ENOMEM, "-initrd: 8 MiB initrd does not fit");
	test_free(big);
}

/* Never above 4 GiB: the kernel starts in 32-bit mode. */
static void test_initrd_not_high(void **state)
{
	struct ctx *c = *state;
	uint8_t *high = test_malloc(8 * MIB);

	memset(high, RAM_FILL, 8 * MIB);
	assert_int_equal(guest_mem_add(&c->mem, 4 * GIB, 8 * MIB, high), 0);
	assert_int_equal(load(c), 0);
	assert_true(module0(c).paddr < RAM_SIZE);
	c->in.initrd_size = 5 * MIB;
	load_fails(c, -ENOMEM, "-initrd: 5 MiB initrd does not fit");
	assert_int_equal(high[8 * MIB - 1], RAM_FILL);
	test_free(high);
}

static void test_dtb_refused(void **state)
{
	struct ctx *c = *state;
	static const uint8_t dtb[64] = { 0xd0, 0x0d, 0xfe, 0xed };

	c->in.dtb = dtb;
	c->in.dtb_size = sizeof(dtb);
	load_fails(c, -ENOTSUP, "-dtb needs a bzImage kernel");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_initrd_module),	T(test_no_initrd),	  T(test_rsdp),
		T(test_initrd_too_big), T(test_initrd_exact_fit), T(test_kernel_high),
		T(test_kernel_low),	T(test_initrd_not_high),  T(test_dtb_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
