// SPDX-License-Identifier: MIT
/*
 * Unit tests for the Linux bzImage loader (firmware/bzimage.c) and the
 * long-mode boot CPU state (firmware/boot.c).  bzImages are hand-made setup
 * headers in memory; guest RAM is a plain buffer.
 */
#include <errno.h>
#include <libfdt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fake_ram.h"

#include "boot.h"
#include "bootparam.h"
#include "e820.h"
#include "error.h"
#include "layout.h"

#define RAM_SIZE (16 * MIB)
#define RAM_FILL 0xcc

#define SETUP_SECTS  1
#define KERNEL_OFF   ((SETUP_SECTS + 1) * 512)
#define KERNEL_SIZE  0x1000
#define IMG_SIZE     (KERNEL_OFF + KERNEL_SIZE)
#define PREF_ADDR    0x400000ULL
#define INIT_SIZE    0x200000
#define ALIGN	     0x200000
#define HDR_END	     0x26c /* Linux 6.1's: up to kernel_info_offset */
#define ZP	     BOOT_ZERO_PAGE_ADDR
#define INITRD_SIZE  10000
#define CMDLINE_SIZE 2047

struct ctx {
	struct guest_mem mem;
	uint8_t *ram;
	uint8_t *img;
	size_t img_size;
	struct setup_header *hdr; /* inside img */
	struct boot_params_in in;
	uint8_t initrd[INITRD_SIZE];
	struct boot_cpu cpu;
	struct boot_params bp; /* the zero page after a load */
};

static uint8_t kernel_byte(size_t i)
{
	return (uint8_t)(i * 7 + 1);
}

/* A good kernel: protocol 2.15, relocatable, 64-bit entry, preferred at 4 MiB. */
static void build_image(struct ctx *c)
{
	uint8_t *b = test_calloc(1, IMG_SIZE);
	struct setup_header *h = (struct setup_header *)(b + BP_SETUP_HEADER_OFF);

	assert_non_null(b);
	b[0x1ef] = 0xff; /* Linux's sentinel: a loader copying the whole sector sets it */
	h->setup_sects = SETUP_SECTS;
	h->syssize = KERNEL_SIZE / 16;
	h->vid_mode = 0xffff;
	h->root_dev = 0x0801;
	h->boot_flag = 0xaa55;
	h->jump = 0xeb | ((HDR_END - 0x202) << 8);
	memcpy(&h->header, "HdrS", 4);
	h->version = 0x020f;
	h->kernel_version = 0x123;
	h->loadflags = LOADED_HIGH;
	h->code32_start = 0x100000;
	h->initrd_addr_max = 0x7fffffff;
	h->kernel_alignment = ALIGN;
	h->relocatable_kernel = 1;
	h->min_alignment = 21;
	h->xloadflags = XLF_KERNEL_64;
	h->cmdline_size = CMDLINE_SIZE;
	h->pref_address = PREF_ADDR;
	h->init_size = INIT_SIZE;
	h->kernel_info_offset = 0x4242;
	/* Past the header: must not be copied into the zero page. */
	memset(b + HDR_END, 0x99, KERNEL_OFF - HDR_END);
	for (size_t i = 0; i < KERNEL_SIZE; i++)
		b[KERNEL_OFF + i] = kernel_byte(i);
	c->img = b;
	c->img_size = IMG_SIZE;
	c->hdr = h;
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
		c->initrd[i] = (uint8_t)(i ^ (i >> 8));
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	test_free(c->img);
	test_free(c->ram);
	test_free(c);
	return 0;
}

static int load(struct ctx *c)
{
	int ret;

	c->in.image = c->img;
	c->in.image_size = c->img_size;
	err_clear();
	ret = boot_load(&c->mem, &c->in, &c->cpu);
	if (!ret)
		memcpy(&c->bp, c->ram + ZP, sizeof(c->bp));
	return ret;
}

/* Loading must fail with @err and a message containing @phrase. */
static void load_fails(struct ctx *c, int err, const char *phrase)
{
	expect_load_error(load(c), err, phrase);
}

static void with_initrd(struct ctx *c)
{
	c->in.initrd = c->initrd;
	c->in.initrd_size = INITRD_SIZE;
}

static void test_load_good(void **state)
{
	struct ctx *c = *state;
	const struct setup_header *h = &c->bp.hdr;
	uint64_t rd;

	c->in.cmdline = "console=ttyS0 root=/dev/ram0";
	c->in.rsdp_addr = 0xe0000;
	with_initrd(c);
	assert_int_equal(load(c), 0);

	/* The protected-mode kernel at pref_address, nothing around it. */
	for (size_t i = 0; i < KERNEL_SIZE; i++)
		assert_int_equal(c->ram[PREF_ADDR + i], kernel_byte(i));
	assert_int_equal(c->ram[PREF_ADDR - 1], RAM_FILL);
	assert_int_equal(c->ram[PREF_ADDR + KERNEL_SIZE], RAM_FILL);
	assert_int_equal(c->cpu.regs.rip, PREF_ADDR + 0x200);
	assert_int_equal(c->cpu.regs.rsi, ZP);

	/* The setup header, copied and filled in. */
	assert_int_equal(h->boot_flag, 0xaa55);
	assert_memory_equal(&h->header, "HdrS", 4);
	assert_int_equal(h->version, 0x020f);
	assert_int_equal(h->root_dev, 0x0801);
	assert_int_equal(h->kernel_version, 0x123);
	assert_int_equal(h->init_size, INIT_SIZE);
	assert_int_equal(h->kernel_info_offset, 0x4242);
	assert_int_equal(h->type_of_loader, 0xff);
	assert_int_equal(h->code32_start, PREF_ADDR);
	assert_int_equal(h->setup_data, 0);
	assert_int_equal(c->bp.sentinel, 0);
	assert_int_equal(c->bp.acpi_rsdp_addr, 0xe0000);
	/* The rest of the page is zero: the bytes after the header were not copied. */
	assert_int_equal(c->ram[ZP + HDR_END], 0);
	assert_int_equal(c->ram[ZP + 0x280], 0);
	assert_int_equal(c->ram[ZP], 0);

	/* Command line. */
	assert_int_equal(h->cmd_line_ptr, BOOT_CMDLINE_ADDR);
	assert_int_equal(c->bp.ext_cmd_line_ptr, 0);
	assert_string_equal((char *)c->ram + BOOT_CMDLINE_ADDR, "console=ttyS0 root=/dev/ram0");

	/* The initrd: page-aligned at the top of RAM, past the kernel's init_size. */
	rd = h->ramdisk_image;
	assert_int_equal(c->bp.ext_ramdisk_image, 0);
	assert_int_equal(h->ramdisk_size, INITRD_SIZE);
	assert_int_equal(c->bp.ext_ramdisk_size, 0);
	assert_int_equal(rd % 4096, 0);
	assert_int_equal(rd, (RAM_SIZE - INITRD_SIZE) & ~0xfffULL);
	assert_true(rd >= PREF_ADDR + INIT_SIZE);
	assert_memory_equal(c->ram + rd, c->initrd, INITRD_SIZE);
}

static void test_e820(void **state)
{
	struct ctx *c = *state;
	struct e820_entry want[E820_MAX_ENTRIES];
	int n = e820_build(&c->mem, want, E820_MAX_ENTRIES);

	assert_int_equal(load(c), 0);
	assert_int_equal(n, 4); /* low RAM, legacy hole, RAM from 1 MiB, PCI ECAM */
	assert_int_equal(c->bp.e820_entries, n);
	for (int i = 0; i < n; i++) {
		assert_int_equal(c->bp.e820_table[i].addr, want[i].addr);
		assert_int_equal(c->bp.e820_table[i].size, want[i].size);
		assert_int_equal(c->bp.e820_table[i].type, want[i].type);
	}
	assert_int_equal(c->bp.e820_table[0].addr, 0);
	assert_int_equal(c->bp.e820_table[0].type, E820_RAM);
	assert_int_equal(c->bp.e820_table[2].addr, MIB);
	assert_int_equal(c->bp.e820_table[2].size, RAM_SIZE - MIB);
	assert_int_equal(c->bp.e820_table[3].addr, PCI_ECAM_BASE);
	assert_int_equal(c->bp.e820_table[3].type, E820_RESERVED);
	assert_int_equal(c->bp.e820_table[4].size, 0);
}

static void test_no_cmdline(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(load(c), 0);
	/* The pointer is set even so: zero would mean a pre-2.02 boot loader. */
	assert_int_equal(c->bp.hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	assert_int_equal(c->ram[BOOT_CMDLINE_ADDR], 0);
	assert_int_equal(c->bp.hdr.ramdisk_image, 0);
	assert_int_equal(c->bp.hdr.ramdisk_size, 0);
	assert_int_equal(c->bp.acpi_rsdp_addr, 0);
}

/* Walk the guest page tables from @cr3 for @va; returns the physical address and PDE. */
static uint64_t walk(struct ctx *c, uint64_t cr3, uint64_t va, uint64_t *pde)
{
	uint64_t e;

	memcpy(&e, c->ram + cr3 + ((va >> 39) & 511) * 8, 8);
	assert_int_equal(e & 1, 1);
	memcpy(&e, c->ram + (e & ~0xfffULL) + ((va >> 30) & 511) * 8, 8);
	assert_int_equal(e & 0x81, 0x01); /* present, not a 1 GiB page */
	memcpy(&e, c->ram + (e & ~0xfffULL) + ((va >> 21) & 511) * 8, 8);
	assert_int_equal(e & 0x83, 0x83); /* present, writable, 2 MiB page */
	*pde = e;
	return (e & ~0x1fffffULL & ((1ULL << 52) - 1)) | (va & 0x1fffff);
}

static void test_long_mode(void **state)
{
	struct ctx *c = *state;
	const struct kvm_sregs *s = &c->cpu.sregs;
	const struct kvm_segment *data[] = { &s->ds, &s->es, &s->fs, &s->gs, &s->ss };
	static const uint64_t vas[] = { 0,	     0x3000,  PREF_ADDR + 0x200, GIB + 5,
					3 * GIB - 1, 3 * GIB, 4 * GIB - 1 };
	uint64_t gdt[6], pde;

	assert_int_equal(load(c), 0);
	assert_int_equal(s->cr0 & 0x80000011, 0x80000011); /* PG, ET, PE */
	assert_int_equal(s->cr4 & 0x20, 0x20);		   /* PAE */
	assert_int_equal(s->efer & 0x500, 0x500);	   /* LME, LMA */
	assert_int_equal(c->cpu.regs.rflags, 0x2);	   /* interrupts off */

	assert_int_equal(s->cs.selector, 0x10);
	assert_int_equal(s->cs.l, 1);
	assert_int_equal(s->cs.db, 0);
	assert_int_equal(s->cs.present, 1);
	assert_int_equal(s->cs.s, 1);
	assert_int_equal(s->cs.type & 0x8, 0x8);
	for (size_t i = 0; i < sizeof(data) / sizeof(data[0]); i++) {
		assert_int_equal(data[i]->selector, 0x18);
		assert_int_equal(data[i]->base, 0);
		assert_int_equal(data[i]->present, 1);
		assert_int_equal(data[i]->type & 0xa, 0x2);
	}
	assert_int_equal(s->tr.type, 0xb); /* busy 64-bit TSS */
	assert_int_equal(s->tr.present, 1);

	/* The GDT agrees: 64-bit code at 0x10 (L=1, D=0), data at 0x18, a 16-byte TSS. */
	assert_int_equal(s->gdt.base, BOOT_GDT_ADDR);
	assert_int_equal(s->gdt.limit, sizeof(gdt) - 1);
	memcpy(gdt, c->ram + BOOT_GDT_ADDR, sizeof(gdt));
	assert_int_equal(gdt[0], 0);
	assert_int_equal((gdt[2] >> 53) & 3, 1);
	assert_int_equal((gdt[2] >> 40) & 0x9a, 0x9a); /* present, code, readable */
	assert_int_equal(gdt[3], 0x00cf93000000ffffULL);
	assert_int_equal((gdt[4] >> 40) & 0xf, s->tr.type);
	assert_int_equal(gdt[5], 0);

	/* Identity map of the first 4 GiB, the 32-bit hole uncached. */
	assert_int_equal(s->cr3, BOOT_PML4_ADDR);
	for (size_t i = 0; i < sizeof(vas) / sizeof(vas[0]); i++) {
		assert_int_equal(walk(c, s->cr3, vas[i], &pde), vas[i]);
		assert_int_equal(!!(pde & 0x18), vas[i] >= 3 * GIB);
	}
	/* Nothing above 4 GiB; the tables end before the setup_data area. */
	assert_int_equal(c->ram[BOOT_PML4_ADDR + 8], 0);
	assert_int_equal(c->ram[BOOT_PDPT_ADDR + 4 * 8], 0);
	assert_int_equal(c->ram[BOOT_SETUP_DATA_ADDR], RAM_FILL);
}

static void test_not_bzimage(void **state)
{
	struct ctx *c = *state;

	/* Neither magic: no loader takes it. */
	c->hdr->boot_flag = 0;
	memcpy(&c->hdr->header, "HdrX", 4);
	load_fails(c, -ENOEXEC, "not a bootable kernel");
	assert_non_null(strstr(err_msg(ENOEXEC), "bzImage"));
	/* Too short to hold the magic numbers. */
	c->hdr->boot_flag = 0xaa55;
	memcpy(&c->hdr->header, "HdrS", 4);
	c->img_size = 0x205;
	load_fails(c, -ENOEXEC, "not a bootable kernel");
	c->img_size = 0x206;
	load_fails(c, -ENOEXEC, "bzImage is truncated (518 bytes)");
}

static void test_no_boot_flag(void **state)
{
	struct ctx *c = *state;

	c->hdr->boot_flag = 0x55aa;
	load_fails(c, -ENOEXEC, "not a Linux bzImage: no boot flag 0xAA55 at 0x1fe");
	assert_int_equal(c->ram[PREF_ADDR], RAM_FILL);
	assert_int_equal(c->ram[ZP], RAM_FILL);
}

static void test_no_hdrs(void **state)
{
	struct ctx *c = *state;

	/* A boot sector (or an old zImage): the boot flag and no "HdrS". */
	memcpy(&c->hdr->header, "HdrT", 4);
	load_fails(c, -ENOEXEC, "no \"HdrS\" setup header magic at 0x202");
}

static void test_old_protocol(void **state)
{
	struct ctx *c = *state;

	c->hdr->version = 0x0204;
	load_fails(c, -ENOEXEC, "boot protocol 2.04 is too old; kvmini needs 2.06 or later");
	c->hdr->version = 0x0100;
	load_fails(c, -ENOEXEC, "boot protocol 1.00 is too old");
	/* 2.06 to 2.11 have no xloadflags, so no 64-bit entry. */
	c->hdr->version = 0x0206;
	load_fails(c, -ENOEXEC, "no 64-bit entry point");
	c->hdr->version = 0x020b;
	load_fails(c, -ENOEXEC, "no 64-bit entry point");
	c->hdr->version = 0x020c;
	assert_int_equal(load(c), 0);
}

static void test_no_kernel64(void **state)
{
	struct ctx *c = *state;

	c->hdr->xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G;
	load_fails(c, -ENOEXEC, "the kernel has no 64-bit entry point (XLF_KERNEL_64");
	c->hdr->xloadflags = XLF_KERNEL_64;
	c->hdr->loadflags = 0;
	load_fails(c, -ENOEXEC, "zImage kernels");
}

static void test_setup_sects(void **state)
{
	struct ctx *c = *state;

	c->hdr->setup_sects = 60;
	load_fails(c, -ENOEXEC, "bzImage is truncated: its setup code (60 sectors) runs past");
	c->hdr->setup_sects = 255;
	load_fails(c, -ENOEXEC, "bzImage is truncated");
	/* 0 means 4: the kernel then starts at 5 * 512, inside our 4 KiB payload. */
	c->hdr->setup_sects = 0;
	c->hdr->syssize = (IMG_SIZE - 5 * 512) / 16;
	assert_int_equal(load(c), 0);
	assert_int_equal(c->ram[PREF_ADDR], c->img[5 * 512]);
	c->hdr->syssize++;
	load_fails(c, -ENOEXEC, "bzImage is truncated: the kernel is");
}

static void test_truncated(void **state)
{
	struct ctx *c = *state;

	c->img_size = IMG_SIZE - 1;
	load_fails(c, -ENOEXEC,
		   "bzImage is truncated: the kernel is 4096 bytes at offset 0x400, "
		   "but the file has only 5119 bytes");
	c->img_size = KERNEL_OFF;
	load_fails(c, -ENOEXEC, "bzImage is truncated: the kernel is");
	c->img_size = KERNEL_OFF - 1;
	load_fails(c, -ENOEXEC, "bzImage is truncated: its setup code");
	c->img_size = 0x240;
	load_fails(c, -ENOEXEC, "bzImage is truncated (576 bytes)");
	c->img_size = IMG_SIZE;
	c->hdr->syssize = 0;
	load_fails(c, -ENOEXEC, "syssize is 0");
	c->hdr->syssize = 0xffffffff;
	load_fails(c, -ENOEXEC, "bzImage is truncated: the kernel is");
	/* Trailing bytes past syssize (a signature) are not loaded. */
	c->hdr->syssize = KERNEL_SIZE / 16 - 1;
	assert_int_equal(load(c), 0);
	assert_int_equal(c->ram[PREF_ADDR + KERNEL_SIZE - 17], kernel_byte(KERNEL_SIZE - 17));
	assert_int_equal(c->ram[PREF_ADDR + KERNEL_SIZE - 16], RAM_FILL);
}

static void test_header_length(void **state)
{
	struct ctx *c = *state;

	/* The longest header the jump can describe: its bytes are all copied. */
	c->hdr->jump = 0x7feb;
	assert_int_equal(load(c), 0);
	assert_int_equal(c->ram[ZP + 0x280], 0x99);
	assert_int_equal(c->ram[ZP + 0x281], 0);
	c->hdr->jump = 0x80eb;
	load_fails(c, -ENOEXEC, "malformed setup header");
	/* Shorter than the fields kvmini reads. */
	c->hdr->jump = 0xeb | ((0x263 - 0x202) << 8);
	load_fails(c, -ENOEXEC, "malformed setup header");
	c->hdr->jump = 0xe9 | ((HDR_END - 0x202) << 8);
	load_fails(c, -ENOEXEC, "malformed setup header");
}

static void test_init_size_too_big(void **state)
{
	struct ctx *c = *state;

	c->hdr->init_size = 64 * MIB;
	load_fails(c, -ENOMEM,
		   "the kernel needs 64 MiB of RAM from 0x400000 (its init_size): give "
		   "more memory with -m (at least 68M)");
	assert_int_equal(c->ram[PREF_ADDR], RAM_FILL);
	/* Exactly to the end of RAM is fine. */
	c->hdr->init_size = RAM_SIZE - PREF_ADDR;
	assert_int_equal(load(c), 0);
	/* A kernel bigger than its init_size needs its own size. */
	c->hdr->init_size = 0;
	c->hdr->pref_address = RAM_SIZE - KERNEL_SIZE / 2;
	c->hdr->relocatable_kernel = 0;
	load_fails(c, -ENOMEM, "the kernel needs 1 MiB of RAM from 0xfff800");
}

static void test_placement(void **state)
{
	struct ctx *c = *state;

	/* Relocatable, pref_address unaligned: the next aligned address. */
	c->hdr->pref_address = 0x300000;
	assert_int_equal(load(c), 0);
	assert_int_equal(c->cpu.regs.rip, 0x400200);
	assert_int_equal(c->bp.hdr.code32_start, 0x400000);
	/* None given: the first aligned address above 1 MiB. */
	c->hdr->pref_address = 0;
	assert_int_equal(load(c), 0);
	assert_int_equal(c->cpu.regs.rip, 0x200200);
	c->hdr->pref_address = 0x1000;
	assert_int_equal(load(c), 0);
	assert_int_equal(c->cpu.regs.rip, 0x200200);
	/* Not relocatable: exactly at pref_address. */
	c->hdr->relocatable_kernel = 0;
	c->hdr->pref_address = 0x300000;
	assert_int_equal(load(c), 0);
	assert_int_equal(c->cpu.regs.rip, 0x300200);
	assert_int_equal(c->ram[0x300000], kernel_byte(0));
	c->hdr->pref_address = 0;
	assert_int_equal(load(c), 0);
	assert_int_equal(c->cpu.regs.rip, 0x100200);
	c->hdr->pref_address = 0x80000;
	load_fails(c, -ENOEXEC, "the kernel must run at 0x80000, inside the first MiB");
	c->hdr->pref_address = 5 * GIB;
	load_fails(c, -ENOEXEC, "above 4 GiB");
	c->hdr->pref_address = 4 * GIB - 4096;
	load_fails(c, -ENOMEM, "the kernel needs 2 MiB of RAM from 0xfffff000");
}

static void test_bad_alignment(void **state)
{
	struct ctx *c = *state;

	c->hdr->kernel_alignment = 0x300000;
	load_fails(c, -ENOEXEC, "bad kernel_alignment 0x300000 (not a power of two)");
	c->hdr->kernel_alignment = 0;
	load_fails(c, -ENOEXEC, "bad kernel_alignment 0x0");
	/* A non-relocatable kernel's alignment does not matter. */
	c->hdr->relocatable_kernel = 0;
	assert_int_equal(load(c), 0);
}

static void test_cmdline_too_long(void **state)
{
	struct ctx *c = *state;
	char *cmdline = test_malloc(BOOT_CMDLINE_MAX + 1);

	memset(cmdline, 'x', BOOT_CMDLINE_MAX);
	cmdline[CMDLINE_SIZE + 1] = '\0';
	c->in.cmdline = cmdline;
	load_fails(c, -E2BIG,
		   "kernel command line too long (2048 bytes; this kernel takes at most "
		   "2047)");
	assert_int_equal(c->ram[BOOT_CMDLINE_ADDR], RAM_FILL);
	cmdline[CMDLINE_SIZE] = '\0';
	assert_int_equal(load(c), 0);
	assert_int_equal(strlen((char *)c->ram + BOOT_CMDLINE_ADDR), CMDLINE_SIZE);
	/* A kernel taking more than kvmini's buffer holds. */
	c->hdr->cmdline_size = 0x7fffffff;
	memset(cmdline, 'x', BOOT_CMDLINE_MAX);
	cmdline[BOOT_CMDLINE_MAX] = '\0';
	load_fails(c, -E2BIG, "(65536 bytes; kvmini passes at most 65535)");
	cmdline[BOOT_CMDLINE_MAX - 1] = '\0';
	assert_int_equal(load(c), 0);
	assert_int_equal(c->ram[BOOT_CMDLINE_ADDR + BOOT_CMDLINE_MAX - 1], 0);
	assert_int_equal(c->ram[BOOT_DATA_END], RAM_FILL);
	test_free(cmdline);
}

static void test_initrd_too_big(void **state)
{
	struct ctx *c = *state;

	uint8_t *big = test_malloc(10 * MIB);

	memset(big, 0xa5, 10 * MIB);
	/* The size alone decides: the bytes are never read. */
	c->in.initrd = c->initrd;
	c->in.initrd_size = 20 * MIB;
	load_fails(c, -ENOMEM,
		   "-initrd: 20 MiB initrd does not fit below the kernel's "
		   "initrd_addr_max (2048 MiB) with -m 16M: give more memory with -m");
	assert_int_equal(c->ram[ZP], RAM_FILL);
	/* Between the end of the kernel's init_size and the end of RAM: 10 MiB. */
	c->in.initrd = big;
	c->in.initrd_size = 10 * MIB + 1;
	load_fails(c, -ENOMEM, "-initrd: 11 MiB initrd does not fit");
	c->in.initrd_size = 10 * MIB;
	assert_int_equal(load(c), 0);
	assert_int_equal(c->bp.hdr.ramdisk_image, PREF_ADDR + INIT_SIZE);
	assert_int_equal(c->ram[PREF_ADDR + INIT_SIZE - 1], RAM_FILL);
	assert_int_equal(c->ram[RAM_SIZE - 1], 0xa5);
	test_free(big);
}

static void test_initrd_addr_max(void **state)
{
	struct ctx *c = *state;

	with_initrd(c);
	/* Its last byte may be initrd_addr_max itself. */
	c->hdr->initrd_addr_max = 0x7fffff;
	assert_int_equal(load(c), 0);
	assert_int_equal(c->bp.hdr.ramdisk_image, (0x800000 - INITRD_SIZE) & ~0xfffULL);
	assert_memory_equal(c->ram + c->bp.hdr.ramdisk_image, c->initrd, INITRD_SIZE);
	/* No room between the kernel's init_size (to 6 MiB) and 6 MiB: below the kernel. */
	c->hdr->initrd_addr_max = 0x5fffff;
	assert_int_equal(load(c), 0);
	assert_int_equal(c->bp.hdr.ramdisk_image, (PREF_ADDR - INITRD_SIZE) & ~0xfffULL);
	assert_memory_equal(c->ram + c->bp.hdr.ramdisk_image, c->initrd, INITRD_SIZE);
	c->hdr->initrd_addr_max = 0x102fff;
	assert_int_equal(load(c), 0);
	assert_int_equal(c->bp.hdr.ramdisk_image, MIB);
	/* Never in the first MiB. */
	c->hdr->initrd_addr_max = 0x101fff;
	c->in.initrd_size = 0x2000;
	assert_int_equal(load(c), 0);
	assert_int_equal(c->bp.hdr.ramdisk_image, MIB);
	c->in.initrd_size = 0x2001;
	load_fails(c, -ENOMEM,
		   "-initrd: 1 MiB initrd does not fit below the kernel's "
		   "initrd_addr_max (1 MiB) with -m 16M");
	assert_null(strstr(err_msg(ENOMEM), "give more memory"));
}

/* Above 4 GiB when low RAM is too small, only if the kernel says it can take that. */
static void test_initrd_above_4g(void **state)
{
	struct ctx *c = *state;
	uint8_t *high = test_malloc(16 * MIB), *big = test_malloc(12 * MIB);
	uint64_t addr;

	memset(big, 0x3c, 12 * MIB);
	big[0] = 1;
	big[12 * MIB - 1] = 2;
	assert_int_equal(guest_mem_add(&c->mem, 4 * GIB, 16 * MIB, high), 0);
	c->in.initrd = big;
	c->in.initrd_size = 12 * MIB;
	load_fails(c, -ENOMEM, "-initrd: 12 MiB initrd does not fit");
	c->hdr->xloadflags |= XLF_CAN_BE_LOADED_ABOVE_4G;
	assert_int_equal(load(c), 0);
	addr = c->bp.hdr.ramdisk_image | (uint64_t)c->bp.ext_ramdisk_image << 32;
	assert_int_equal(addr, 4 * GIB + 4 * MIB);
	assert_int_equal(c->bp.hdr.ramdisk_size, 12 * MIB);
	assert_int_equal(c->bp.ext_ramdisk_size, 0);
	assert_int_equal(high[4 * MIB], 1);
	assert_int_equal(high[16 * MIB - 1], 2);
	/* The memory map has the high RAM too. */
	assert_int_equal(c->bp.e820_entries, 5);
	assert_int_equal(c->bp.e820_table[4].addr, 4 * GIB);
	/* A small one still goes low. */
	with_initrd(c);
	assert_int_equal(load(c), 0);
	assert_int_equal(c->bp.ext_ramdisk_image, 0);
	assert_int_equal(c->bp.hdr.ramdisk_image, (RAM_SIZE - INITRD_SIZE) & ~0xfffULL);
	test_free(big);
	test_free(high);
}

static void test_rsdp_protocol(void **state)
{
	struct ctx *c = *state;

	c->in.rsdp_addr = 0xe0000;
	/* boot_params.acpi_rsdp_addr came with 2.14: older kernels have padding there. */
	c->hdr->version = 0x020d;
	assert_int_equal(load(c), 0);
	assert_int_equal(c->bp.acpi_rsdp_addr, 0);
	c->hdr->version = 0x020e;
	assert_int_equal(load(c), 0);
	assert_int_equal(c->bp.acpi_rsdp_addr, 0xe0000);
}

static void test_dtb(void **state)
{
	struct ctx *c = *state;
	uint8_t dtb[512];
	struct setup_data sd;

	assert_int_equal(fdt_create_empty_tree(dtb, sizeof(dtb)), 0);
	assert_int_equal(fdt_setprop_string(dtb, 0, "compatible", "kvmini,test"), 0);
	assert_int_equal(fdt_pack(dtb), 0);
	c->in.dtb = dtb;
	c->in.dtb_size = sizeof(dtb); /* the file may be longer than the blob */
	assert_int_equal(load(c), 0);
	assert_int_equal(c->bp.hdr.setup_data, BOOT_SETUP_DATA_ADDR);
	memcpy(&sd, c->ram + BOOT_SETUP_DATA_ADDR, sizeof(sd));
	assert_int_equal(sd.next, 0);
	assert_int_equal(sd.type, SETUP_DTB);
	assert_int_equal(sd.len, fdt_totalsize(dtb));
	assert_true(sd.len < sizeof(dtb));
	assert_memory_equal(c->ram + BOOT_SETUP_DATA_ADDR + sizeof(sd), dtb, sd.len);
	assert_int_equal(c->ram[BOOT_SETUP_DATA_ADDR + sizeof(sd) + sd.len], RAM_FILL);
	assert_int_equal(fdt_check_full(c->ram + BOOT_SETUP_DATA_ADDR + sizeof(sd), sd.len), 0);
}

static void test_bad_dtb(void **state)
{
	struct ctx *c = *state;
	static const char garbage[] = "this is not a device tree blob at all, no it is not....";
	uint8_t *dtb = test_malloc(100000);

	c->in.dtb = (const uint8_t *)garbage;
	c->in.dtb_size = sizeof(garbage);
	load_fails(c, -EINVAL, "-dtb: not a valid device tree blob (FDT_ERR_BADMAGIC)");
	assert_int_equal(c->ram[ZP], RAM_FILL);
	c->in.dtb_size = 3;
	load_fails(c, -EINVAL, "-dtb: not a valid device tree blob");

	/* Cut short of its totalsize. */
	assert_int_equal(fdt_create_empty_tree(dtb, 256), 0);
	c->in.dtb = dtb;
	c->in.dtb_size = fdt_totalsize(dtb) - 1;
	load_fails(c, -EINVAL, "-dtb: not a valid device tree blob (FDT_ERR_TRUNCATED)");

	/* Too big for the setup_data area. */
	assert_int_equal(fdt_create_empty_tree(dtb, 100000), 0);
	c->in.dtb_size = 100000;
	load_fails(c, -EFBIG, "-dtb: the device tree is 100000 bytes; kvmini passes at most");
	test_free(dtb);
}

/* RAM that lacks the boot data area: nothing to build the zero page in. */
static void test_no_low_ram(void **state)
{
	struct ctx *c = *state;
	struct guest_mem high = { 0 };

	assert_int_equal(guest_mem_add(&high, MIB, RAM_SIZE - MIB, c->ram + MIB), 0);
	c->in.image = c->img;
	c->in.image_size = c->img_size;
	err_clear();
	assert_int_equal(boot_load(&high, &c->in, &c->cpu), -EFAULT);
	assert_non_null(strstr(err_msg(EFAULT), "no RAM for the boot"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_load_good),	   T(test_e820),	   T(test_no_cmdline),
		T(test_long_mode),	   T(test_not_bzimage),	   T(test_no_boot_flag),
		T(test_no_hdrs),	   T(test_old_protocol),   T(test_no_kernel64),
		T(test_setup_sects),	   T(test_truncated),	   T(test_header_length),
		T(test_init_size_too_big), T(test_placement),	   T(test_bad_alignment),
		T(test_cmdline_too_long),  T(test_initrd_too_big), T(test_initrd_addr_max),
		T(test_initrd_above_4g),   T(test_rsdp_protocol),  T(test_dtb),
		T(test_bad_dtb),	   T(test_no_low_ram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
