// SPDX-License-Identifier: MIT
/*
 * Unit tests for PVH ELF loading (firmware/pvh_elf.c), the boot loader table
 * and boot CPU state (firmware/boot.c) and the e820 map (firmware/e820.c).
 * Images are built by hand in memory; guest RAM is a plain buffer.
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
#include "e820.h"
#include "error.h"
#include "layout.h"
#include "pvh.h"

#define RAM_SIZE (4 * MIB)
#define RAM_FILL 0xcc

#define IMG_CAP	    0x1000
#define NOTE_OFF    176 /* right after the two program headers */
#define LOAD_OFF    0x100
#define LOAD_PADDR  0x100000ULL
#define LOAD_FILESZ 0x100
#define LOAD_MEMSZ  0x300
#define PVH_ENTRY   0x100010ULL
#define ELF_ENTRY   0x100080ULL /* e_entry: the 64-bit entry, not used by PVH */

struct image {
	uint8_t *buf;
	size_t size;
	Elf64_Ehdr *eh;
	Elf64_Phdr *note; /* phdr 0 */
	Elf64_Phdr *load; /* phdr 1 */
	Elf64_Nhdr *nh;
	uint8_t *desc;
};

struct ctx {
	struct guest_mem mem;
	uint8_t *ram;
	struct image img;
	struct boot_cpu cpu;
};

static uint8_t load_byte(size_t i)
{
	return (uint8_t)(i ^ 0x5a);
}

/* Write a note at @at with a @desc_size-byte desc holding @entry; returns its length. */
static size_t put_note(uint8_t *at, const char name[4], uint32_t type, uint32_t desc_size,
		       uint64_t entry)
{
	Elf64_Nhdr nh = { .n_namesz = 4, .n_descsz = desc_size, .n_type = type };

	memcpy(at, &nh, sizeof(nh));
	memcpy(at + sizeof(nh), name, 4);
	memcpy(at + sizeof(nh) + 4, &entry, desc_size <= 8 ? desc_size : 8);
	return sizeof(nh) + 4 + ((desc_size + 3) & ~3U);
}

/* A good PVH kernel: one PT_NOTE and one PT_LOAD with bss. */
static void build_image(struct image *img)
{
	uint8_t *b = test_calloc(1, IMG_CAP);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)b;
	Elf64_Phdr *ph = (Elf64_Phdr *)(b + sizeof(*eh));
	size_t note_len;

	assert_non_null(b);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = ELF_ENTRY;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 2;

	note_len = put_note(b + NOTE_OFF, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, 4, PVH_ENTRY);
	ph[0] = (Elf64_Phdr){
		.p_type = PT_NOTE, .p_offset = NOTE_OFF, .p_filesz = note_len, .p_align = 4
	};
	ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD,
			      .p_flags = PF_R | PF_X,
			      .p_offset = LOAD_OFF,
			      .p_vaddr = 0xffffffff81000000ULL,
			      .p_paddr = LOAD_PADDR,
			      .p_filesz = LOAD_FILESZ,
			      .p_memsz = LOAD_MEMSZ,
			      .p_align = 0x1000 };
	for (size_t i = 0; i < LOAD_FILESZ; i++)
		b[LOAD_OFF + i] = load_byte(i);

	img->buf = b;
	img->size = LOAD_OFF + LOAD_FILESZ;
	img->eh = eh;
	img->note = &ph[0];
	img->load = &ph[1];
	img->nh = (Elf64_Nhdr *)(b + NOTE_OFF);
	img->desc = b + NOTE_OFF + sizeof(Elf64_Nhdr) + 4;
}

static int setup(void **state)
{
	struct ctx *c = test_calloc(1, sizeof(*c));

	if (!c)
		return -1;
	if (fake_ram_init(&c->mem, &c->ram, RAM_SIZE, RAM_FILL))
		return -1;
	build_image(&c->img);
	err_clear();
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	test_free(c->img.buf);
	test_free(c->ram);
	test_free(c);
	return 0;
}

static int load(struct ctx *c, const char *cmdline)
{
	struct boot_params_in in = {
		.image = c->img.buf,
		.image_size = c->img.size,
		.cmdline = cmdline,
	};

	err_clear();
	return boot_load(&c->mem, &in, &c->cpu);
}

/* Loading must fail with @err and a message containing @phrase. */
static void load_fails(struct ctx *c, int err, const char *phrase)
{
	expect_load_error(load(c, NULL), err, phrase);
}

static void test_load_good(void **state)
{
	struct ctx *c = *state;
	struct hvm_start_info si;
	struct hvm_memmap_entry mm[4];

	assert_int_equal(load(c, "console=ttyS0 quiet"), 0);

	/* The segment, its bss, and nothing after it. */
	for (size_t i = 0; i < LOAD_FILESZ; i++)
		assert_int_equal(c->ram[LOAD_PADDR + i], load_byte(i));
	for (size_t i = LOAD_FILESZ; i < LOAD_MEMSZ; i++)
		assert_int_equal(c->ram[LOAD_PADDR + i], 0);
	assert_int_equal(c->ram[LOAD_PADDR + LOAD_MEMSZ], RAM_FILL);
	assert_int_equal(c->ram[LOAD_PADDR - 1], RAM_FILL);

	assert_int_equal(c->cpu.regs.rip, PVH_ENTRY);
	assert_int_equal(c->cpu.regs.rbx, 0x2000);
	assert_int_equal(c->cpu.regs.rflags, 0x2);
	assert_int_equal(c->cpu.regs.rax, 0);
	assert_int_equal(c->cpu.regs.rsp, 0);
	assert_int_equal(c->cpu.regs.rsi, 0);

	memcpy(&si, c->ram + 0x2000, sizeof(si));
	assert_int_equal(si.magic, 0x336ec578);
	assert_int_equal(si.version, 1);
	assert_int_equal(si.flags, 0);
	assert_int_equal(si.nr_modules, 0);
	assert_int_equal(si.modlist_paddr, 0);
	assert_int_equal(si.rsdp_paddr, 0);
	assert_int_equal(si.cmdline_paddr, BOOT_CMDLINE_ADDR);
	assert_string_equal((char *)c->ram + si.cmdline_paddr, "console=ttyS0 quiet");

	/* The memory map: low RAM, the legacy hole, RAM from 1 MiB, PCI ECAM. */
	assert_int_equal(si.memmap_entries, 4);
	assert_true(si.memmap_paddr >= 0x2000 + sizeof(si));
	assert_true(si.memmap_paddr + sizeof(mm) <= BOOT_CMDLINE_ADDR);
	memcpy(mm, c->ram + si.memmap_paddr, sizeof(mm));
	assert_int_equal(mm[0].addr, 0);
	assert_int_equal(mm[0].size, 0x9fc00);
	assert_int_equal(mm[0].type, E820_RAM);
	assert_int_equal(mm[1].addr, 0x9fc00);
	assert_int_equal(mm[1].size, 0x100000 - 0x9fc00);
	assert_int_equal(mm[1].type, E820_RESERVED);
	assert_int_equal(mm[2].addr, 0x100000);
	assert_int_equal(mm[2].size, RAM_SIZE - 0x100000);
	assert_int_equal(mm[2].type, E820_RAM);
	assert_int_equal(mm[3].addr, PCI_ECAM_BASE);
	assert_int_equal(mm[3].size, PCI_ECAM_SIZE);
	assert_int_equal(mm[3].type, E820_RESERVED);
	for (int i = 0; i < 4; i++)
		assert_int_equal(mm[i].reserved, 0);
}

static void test_load_no_cmdline(void **state)
{
	struct ctx *c = *state;
	struct hvm_start_info si;

	assert_int_equal(load(c, NULL), 0);
	memcpy(&si, c->ram + 0x2000, sizeof(si));
	assert_int_equal(si.cmdline_paddr, BOOT_CMDLINE_ADDR);
	assert_int_equal(c->ram[BOOT_CMDLINE_ADDR], 0);
	assert_int_equal(c->ram[BOOT_CMDLINE_ADDR + 1], RAM_FILL);
}

static void test_load_desc8(void **state)
{
	struct ctx *c = *state;
	uint64_t entry = 0;

	c->img.note->p_filesz = put_note(c->img.buf + NOTE_OFF, "Xen", 18, 8, 0x100020);
	assert_int_equal(c->img.note->p_filesz, 24);
	assert_int_equal(pvh_elf_entry(c->img.buf, c->img.size, &entry), 0);
	assert_int_equal(entry, 0x100020);
	assert_int_equal(load(c, ""), 0);
	assert_int_equal(c->cpu.regs.rip, 0x100020);
}

/* The entry note after another note in the same segment. */
static void test_load_second_note(void **state)
{
	struct ctx *c = *state;
	uint8_t *p = c->img.buf + NOTE_OFF;
	uint64_t entry = 0;
	size_t len;

	len = put_note(p, "GNU", NT_GNU_BUILD_ID, 5, 0x1122334455ULL);
	assert_int_equal(len, 24);
	len += put_note(p + len, "Xen", 17, 4, 0x200000); /* another Xen note */
	len += put_note(p + len, "Xen", 18, 4, 0x100040);
	assert_true(NOTE_OFF + len <= LOAD_OFF);
	c->img.note->p_filesz = len;
	assert_int_equal(pvh_elf_entry(c->img.buf, c->img.size, &entry), 0);
	assert_int_equal(entry, 0x100040);
	assert_int_equal(load(c, NULL), 0);
	assert_int_equal(c->cpu.regs.rip, 0x100040);
}

static void test_sregs_flat32(void **state)
{
	struct ctx *c = *state;
	const struct kvm_sregs *s = &c->cpu.sregs;
	const struct kvm_segment *data[] = { &s->ds, &s->es, &s->fs, &s->gs, &s->ss };
	uint64_t gdt[5];

	assert_int_equal(load(c, NULL), 0);
	assert_int_equal(s->cr0 & 0x1, 0x1);	  /* PE */
	assert_int_equal(s->cr0 & 0x80000000, 0); /* PG */
	assert_int_equal(s->cr4, 0);
	assert_int_equal(s->efer, 0);

	assert_int_equal(s->cs.base, 0);
	assert_int_equal(s->cs.limit, 0xffffffff);
	assert_int_equal(s->cs.db, 1);
	assert_int_equal(s->cs.l, 0);
	assert_int_equal(s->cs.g, 1);
	assert_int_equal(s->cs.present, 1);
	assert_int_equal(s->cs.s, 1);
	assert_int_equal(s->cs.type & 0x8, 0x8); /* code */
	assert_int_equal(s->cs.selector, 0x10);
	for (size_t i = 0; i < sizeof(data) / sizeof(data[0]); i++) {
		assert_int_equal(data[i]->base, 0);
		assert_int_equal(data[i]->limit, 0xffffffff);
		assert_int_equal(data[i]->db, 1);
		assert_int_equal(data[i]->present, 1);
		assert_int_equal(data[i]->type & 0xa, 0x2); /* data, writable */
		assert_int_equal(data[i]->selector, 0x18);
	}
	assert_int_equal(s->tr.selector, 0x20);
	assert_int_equal(s->tr.present, 1);

	/* The GDT at 0x1000 agrees with the segment registers. */
	assert_int_equal(s->gdt.base, 0x1000);
	assert_int_equal(s->gdt.limit, sizeof(gdt) - 1);
	memcpy(gdt, c->ram + 0x1000, sizeof(gdt));
	assert_int_equal(gdt[0], 0);
	assert_int_equal(gdt[2], 0x00cf9b000000ffffULL);
	assert_int_equal(gdt[3], 0x00cf93000000ffffULL);
	assert_int_equal((gdt[4] >> 40) & 0xf, s->tr.type);
	assert_int_equal(gdt[4] & 0xffff, s->tr.limit);
}

static void test_cpu_apply(void **state)
{
	struct ctx *c = *state;
	struct kvm_regs regs;
	struct kvm_sregs sregs;

	assert_int_equal(load(c, NULL), 0);
	memset(&regs, 0x11, sizeof(regs));
	memset(&sregs, 0, sizeof(sregs));
	sregs.apic_base = 0xfee00900;
	sregs.cr2 = 0x1234;
	sregs.cr0 = 0x60000010;
	boot_cpu_apply(&c->cpu, &regs, &sregs);
	assert_int_equal(regs.rip, PVH_ENTRY);
	assert_int_equal(regs.rbx, 0x2000);
	assert_int_equal(regs.rcx, 0);
	assert_int_equal(sregs.cr0, c->cpu.sregs.cr0);
	assert_int_equal(sregs.cs.selector, 0x10);
	assert_int_equal(sregs.cs.limit, 0xffffffff);
	assert_int_equal(sregs.gdt.base, 0x1000);
	/* What the loader leaves alone stays as KVM set it. */
	assert_int_equal(sregs.apic_base, 0xfee00900);
	assert_int_equal(sregs.cr2, 0x1234);
}

static void test_not_elf(void **state)
{
	struct ctx *c = *state;
	static const uint8_t text[] = "hello, world, not a kernel at all";
	struct boot_params_in in = { .image = text, .image_size = sizeof(text) };
	uint64_t entry;

	err_clear();
	assert_int_equal(boot_load(&c->mem, &in, &c->cpu), -ENOEXEC);
	assert_non_null(strstr(err_msg(ENOEXEC), "not a bootable kernel"));
	in.image_size = 0;
	assert_int_equal(boot_load(&c->mem, &in, &c->cpu), -ENOEXEC);
	assert_non_null(strstr(err_msg(ENOEXEC), "not a bootable kernel"));
	/* Three bytes of the magic are not enough. */
	in.image = c->img.buf;
	in.image_size = 3;
	assert_int_equal(boot_load(&c->mem, &in, &c->cpu), -ENOEXEC);
	assert_non_null(strstr(err_msg(ENOEXEC), "not a bootable kernel"));

	assert_int_equal(pvh_elf_entry(text, sizeof(text), &entry), -ENOEXEC);
	assert_non_null(strstr(err_msg(ENOEXEC), "not an ELF file"));
	/* Nothing was written to guest memory. */
	assert_int_equal(c->ram[0x1000], RAM_FILL);
	assert_int_equal(c->ram[0x2000], RAM_FILL);
}

static void test_truncated_header(void **state)
{
	struct ctx *c = *state;

	c->img.size = sizeof(Elf64_Ehdr) - 1;
	load_fails(c, -ENOEXEC, "not an ELF file");
	c->img.size = SELFMAG;
	load_fails(c, -ENOEXEC, "not an ELF file");
	/* The header alone: the program headers are missing. */
	c->img.size = sizeof(Elf64_Ehdr);
	load_fails(c, -ENOEXEC, "program headers lie outside the file");
}

static void test_elfclass32(void **state)
{
	struct ctx *c = *state;

	c->img.eh->e_ident[EI_CLASS] = ELFCLASS32;
	load_fails(c, -ENOEXEC, "32-bit ELF kernels are not supported");
}

static void test_wrong_machine(void **state)
{
	struct ctx *c = *state;

	c->img.eh->e_machine = EM_386;
	load_fails(c, -ENOEXEC, "not an x86-64 ELF file (e_machine 3)");
	c->img.eh->e_machine = EM_AARCH64;
	load_fails(c, -ENOEXEC, "not an x86-64 ELF file");
	c->img.eh->e_machine = EM_X86_64;
	c->img.eh->e_ident[EI_DATA] = ELFDATA2MSB;
	load_fails(c, -ENOEXEC, "not an x86-64 ELF file");
}

static void test_phdrs_outside(void **state)
{
	struct ctx *c = *state;

	c->img.eh->e_phoff = c->img.size - 8;
	load_fails(c, -ENOEXEC, "program headers lie outside the file");
	c->img.eh->e_phoff = c->img.size + 8;
	load_fails(c, -ENOEXEC, "program headers lie outside the file");
	c->img.eh->e_phoff = 0xfffffffffffffff8ULL;
	load_fails(c, -ENOEXEC, "program headers lie outside the file");
	/* The file holds two program headers and a bit, the header says three. */
	c->img.size = sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr) + 2;
	c->img.eh->e_phoff = sizeof(Elf64_Ehdr);
	c->img.eh->e_phnum = 3;
	load_fails(c, -ENOEXEC, "program headers lie outside the file");
}

static void test_phnum_huge(void **state)
{
	struct ctx *c = *state;

	c->img.eh->e_phnum = 0xffff;
	load_fails(c, -ENOEXEC, "program headers lie outside the file");
	c->img.eh->e_phnum = 0;
	load_fails(c, -ENOEXEC, "no usable program headers");
	c->img.eh->e_phnum = 2;
	c->img.eh->e_phentsize = sizeof(Elf32_Phdr);
	load_fails(c, -ENOEXEC, "no usable program headers");
}

static void test_note_overflow(void **state)
{
	struct ctx *c = *state;

	c->img.nh->n_namesz = 0xffffffff;
	load_fails(c, -ENOEXEC, "malformed ELF note");
	c->img.nh->n_namesz = 0xfffffffd;
	load_fails(c, -ENOEXEC, "malformed ELF note");
	c->img.nh->n_namesz = 4;
	c->img.nh->n_descsz = 0xffffffff;
	load_fails(c, -ENOEXEC, "malformed ELF note");
	c->img.nh->n_descsz = 0xfffffffd;
	load_fails(c, -ENOEXEC, "malformed ELF note");
	/* Sizes that fit the file but not the segment. */
	c->img.nh->n_descsz = 8;
	load_fails(c, -ENOEXEC, "malformed ELF note");
	c->img.nh->n_descsz = 4;
	c->img.note->p_filesz = 19;
	load_fails(c, -ENOEXEC, "malformed ELF note");
	c->img.nh->n_namesz = 9;
	c->img.note->p_filesz = 20;
	load_fails(c, -ENOEXEC, "malformed ELF note");
}

static void test_note_segment_outside(void **state)
{
	struct ctx *c = *state;

	c->img.note->p_filesz = c->img.size;
	load_fails(c, -ENOEXEC, "note segment lies outside the file");
	c->img.note->p_filesz = 20;
	c->img.note->p_offset = 0xfffffffffffffff0ULL;
	load_fails(c, -ENOEXEC, "note segment lies outside the file");
	c->img.note->p_offset = c->img.size - 19;
	load_fails(c, -ENOEXEC, "note segment lies outside the file");
}

static void test_note_bad_desc_size(void **state)
{
	struct ctx *c = *state;

	c->img.nh->n_descsz = 2;
	load_fails(c, -ENOEXEC, "PVH entry note has a bad size (2)");
	c->img.nh->n_descsz = 0;
	c->img.note->p_filesz = 16;
	load_fails(c, -ENOEXEC, "PVH entry note has a bad size (0)");
}

static void test_entry_above_4g(void **state)
{
	struct ctx *c = *state;

	c->img.note->p_filesz = put_note(c->img.buf + NOTE_OFF, "Xen", 18, 8, 0x100000000ULL);
	load_fails(c, -ENOEXEC, "PVH entry 0x100000000 is above 4 GiB");
	c->img.note->p_filesz = put_note(c->img.buf + NOTE_OFF, "Xen", 18, 8, UINT64_MAX);
	load_fails(c, -ENOEXEC, "above 4 GiB");
}

static void test_no_pvh_note(void **state)
{
	struct ctx *c = *state;

	c->img.nh->n_type = 17;
	load_fails(c, -ENOEXEC, "no PVH entry note");
	c->img.nh->n_type = 18;
	memcpy(c->img.buf + NOTE_OFF + sizeof(Elf64_Nhdr), "Lnx", 4);
	load_fails(c, -ENOEXEC, "no PVH entry note");
	memcpy(c->img.buf + NOTE_OFF + sizeof(Elf64_Nhdr), "Xen", 4);
	/* A note too short to hold a note header is no note. */
	c->img.note->p_filesz = 11;
	load_fails(c, -ENOEXEC, "no PVH entry note");
	c->img.note->p_filesz = 20;
	/* No PT_NOTE at all. */
	c->img.note->p_type = PT_NULL;
	load_fails(c, -ENOEXEC, "no PVH entry note");
	assert_non_null(strstr(err_msg(ENOEXEC), "CONFIG_PVH"));
}

static void test_load_outside_file(void **state)
{
	struct ctx *c = *state;

	c->img.load->p_offset = c->img.size - LOAD_FILESZ + 1;
	load_fails(c, -ENOEXEC, "ELF segment 1 lies outside the file");
	c->img.load->p_offset = UINT64_MAX;
	load_fails(c, -ENOEXEC, "ELF segment 1 lies outside the file");
	c->img.load->p_offset = LOAD_OFF;
	c->img.load->p_filesz = UINT64_MAX;
	c->img.load->p_memsz = UINT64_MAX;
	load_fails(c, -ENOEXEC, "ELF segment 1 lies outside the file");
	/* Flush with the end of the file is fine. */
	c->img.load->p_filesz = LOAD_FILESZ;
	c->img.load->p_memsz = LOAD_MEMSZ;
	assert_int_equal(load(c, NULL), 0);
}

static void test_filesz_above_memsz(void **state)
{
	struct ctx *c = *state;

	c->img.load->p_memsz = LOAD_FILESZ - 1;
	load_fails(c, -ENOEXEC, "ELF segment 1");
	/* Nothing was copied. */
	assert_int_equal(c->ram[LOAD_PADDR], RAM_FILL);
}

static void test_segment_not_in_ram(void **state)
{
	struct ctx *c = *state;

	c->img.load->p_paddr = RAM_SIZE;
	load_fails(c, -ENOMEM, "does not fit in guest RAM");
	c->img.load->p_paddr = RAM_SIZE - LOAD_MEMSZ + 1;
	load_fails(c, -ENOMEM, "does not fit in guest RAM");
	c->img.load->p_paddr = 0x100000000ULL;
	load_fails(c, -ENOMEM, "does not fit in guest RAM");
	/* Wrapping around 2^64 back into RAM. */
	c->img.load->p_paddr = 0xffffffffffffff00ULL;
	load_fails(c, -ENOMEM, "does not fit in guest RAM");
	c->img.load->p_paddr = UINT64_MAX;
	c->img.load->p_memsz = UINT64_MAX;
	load_fails(c, -ENOMEM, "does not fit in guest RAM");
	for (size_t i = 0; i < LOAD_MEMSZ; i++)
		assert_int_equal(c->ram[i], RAM_FILL);
	/* The last bytes of RAM are fine. */
	c->img.load->p_paddr = RAM_SIZE - LOAD_MEMSZ;
	c->img.load->p_memsz = LOAD_MEMSZ;
	c->img.nh->n_type = 18;
	memcpy(c->img.desc, &(uint32_t){ RAM_SIZE - 1 }, 4);
	assert_int_equal(load(c, NULL), 0);
	assert_int_equal(c->cpu.regs.rip, RAM_SIZE - 1);
	assert_int_equal(c->ram[RAM_SIZE - 1], 0);
}

static void set_load(struct ctx *c, uint64_t paddr, uint64_t memsz, uint32_t entry)
{
	c->img.load->p_paddr = paddr;
	c->img.load->p_memsz = memsz;
	if (c->img.load->p_filesz > memsz)
		c->img.load->p_filesz = memsz;
	memcpy(c->img.desc, &entry, 4);
}

static void test_overlap_boot_data(void **state)
{
	struct ctx *c = *state;

	set_load(c, 0x1000, 0x300, 0x1000);
	load_fails(c, -ENOEXEC, "overlaps kvmini's boot data");
	set_load(c, 0x2ff00, 0x300, 0x2ff00);
	load_fails(c, -ENOEXEC, "overlaps kvmini's boot data");
	set_load(c, 0x2ffff, 1, 0x2ffff);
	load_fails(c, -ENOEXEC, "overlaps kvmini's boot data");
	set_load(c, 0x800, 0x801, 0x800);
	load_fails(c, -ENOEXEC, "overlaps kvmini's boot data");
	set_load(c, 0x0, 0x100000, 0x100);
	load_fails(c, -ENOEXEC, "overlaps kvmini's boot data");
	set_load(c, 0x20000, 0x10, 0x20000);
	load_fails(c, -ENOEXEC, "overlaps kvmini's boot data");
	assert_non_null(strstr(err_msg(ENOEXEC), "0x1000-0x2ffff"));

	/* Right next to it on either side is fine. */
	set_load(c, 0x30000, 0x300, 0x30010);
	assert_int_equal(load(c, NULL), 0);
	assert_int_equal(c->ram[0x30000], load_byte(0));
	set_load(c, 0x0, 0x1000, 0x10);
	assert_int_equal(load(c, NULL), 0);
	assert_int_equal(c->cpu.regs.rip, 0x10);
}

static void test_entry_outside_segments(void **state)
{
	struct ctx *c = *state;

	set_load(c, LOAD_PADDR, LOAD_MEMSZ, 0x200000);
	load_fails(c, -ENOEXEC, "PVH entry 0x200000 is not inside a loaded segment");
	set_load(c, LOAD_PADDR, LOAD_MEMSZ, LOAD_PADDR + LOAD_MEMSZ);
	load_fails(c, -ENOEXEC, "is not inside a loaded segment");
	set_load(c, LOAD_PADDR, LOAD_MEMSZ, LOAD_PADDR - 1);
	load_fails(c, -ENOEXEC, "is not inside a loaded segment");
	/* An empty PT_LOAD loads nothing, so holds no entry. */
	set_load(c, LOAD_PADDR, 0, LOAD_PADDR);
	load_fails(c, -ENOEXEC, "is not inside a loaded segment");
	/* The last byte of bss counts. */
	c->img.load->p_filesz = LOAD_FILESZ;
	set_load(c, LOAD_PADDR, LOAD_MEMSZ, LOAD_PADDR + LOAD_MEMSZ - 1);
	assert_int_equal(load(c, NULL), 0);
	assert_int_equal(c->cpu.regs.rip, LOAD_PADDR + LOAD_MEMSZ - 1);
}

static void test_cmdline_limit(void **state)
{
	struct ctx *c = *state;
	char *cmdline = test_malloc(65537);

	memset(cmdline, 'a', 65536);
	cmdline[65536] = '\0';
	assert_int_equal(load(c, cmdline), -E2BIG);
	assert_non_null(strstr(err_msg(E2BIG), "kernel command line too long"));
	assert_non_null(strstr(err_msg(E2BIG), "65536"));
	assert_int_equal(c->ram[BOOT_CMDLINE_ADDR], RAM_FILL);

	cmdline[65535] = '\0';
	cmdline[65534] = 'z';
	assert_int_equal(load(c, cmdline), 0);
	assert_int_equal(c->ram[BOOT_CMDLINE_ADDR], 'a');
	assert_int_equal(c->ram[BOOT_CMDLINE_ADDR + 65534], 'z');
	assert_int_equal(c->ram[BOOT_CMDLINE_ADDR + 65535], 0);
	assert_int_equal(BOOT_CMDLINE_ADDR + 65535, 0x2ffff);
	/* The byte after the boot data is untouched. */
	assert_int_equal(c->ram[0x30000], RAM_FILL);
	test_free(cmdline);
}

/* Guest RAM that does not hold the boot data. */
static void test_no_low_ram(void **state)
{
	struct ctx *c = *state;
	struct guest_mem high = { 0 };
	struct boot_params_in in = { .image = c->img.buf, .image_size = c->img.size };

	assert_int_equal(guest_mem_add(&high, 0x100000, RAM_SIZE - 0x100000, c->ram + 0x100000), 0);
	err_clear();
	assert_int_equal(boot_load(&high, &in, &c->cpu), -EFAULT);
	assert_non_null(strstr(err_msg(EFAULT), "no RAM for the boot"));
}

/* A PT_NOTE at an offset that is not 4-aligned: refused, or read without UB. */
static void test_note_unaligned(void **state)
{
	struct ctx *c = *state;
	uint64_t entry = 0;
	size_t len;
	int ret;

	len = put_note(c->img.buf + NOTE_OFF + 2, "Xen", 18, 4, PVH_ENTRY);
	c->img.note->p_offset = NOTE_OFF + 2;
	c->img.note->p_filesz = len;
	ret = pvh_elf_entry(c->img.buf, c->img.size, &entry);
	if (ret)
		assert_non_null(strstr(err_msg(ret), "note"));
	else
		assert_int_equal(entry, PVH_ENTRY);
}

static void test_e820_5g(void **state)
{
	struct guest_mem mem = { 0 };
	struct e820_entry e[E820_MAX_ENTRIES];
	uint8_t dummy;

	(void)state;
	/* Added high first: the map is sorted anyway.  RAM is never touched. */
	assert_int_equal(guest_mem_add(&mem, 4 * GIB, 2 * GIB, &dummy), 0);
	assert_int_equal(guest_mem_add(&mem, 0, 3 * GIB, &dummy), 0);
	assert_int_equal(e820_build(&mem, e, E820_MAX_ENTRIES), 5);
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[0].size, 0x9fc00);
	assert_int_equal(e[0].type, E820_RAM);
	assert_int_equal(e[1].addr, 0x9fc00);
	assert_int_equal(e[1].size, 0x60400);
	assert_int_equal(e[1].type, E820_RESERVED);
	assert_int_equal(e[2].addr, MIB);
	assert_int_equal(e[2].size, 3 * GIB - MIB);
	assert_int_equal(e[2].type, E820_RAM);
	/* PCI ECAM, in the 32-bit hole. */
	assert_int_equal(e[3].addr, PCI_ECAM_BASE);
	assert_int_equal(e[3].size, PCI_ECAM_SIZE);
	assert_int_equal(e[3].type, E820_RESERVED);
	assert_int_equal(e[4].addr, 4 * GIB);
	assert_int_equal(e[4].size, 2 * GIB);
	assert_int_equal(e[4].type, E820_RAM);
	/* All of RAM but the legacy hole. */
	assert_int_equal(e[0].size + e[2].size + e[4].size, 5 * GIB - 0x60400);

	assert_int_equal(e820_build(&mem, e, 4), -ENOSPC);
}

static void test_e820_legacy_hole(void **state)
{
	struct guest_mem mem = { 0 };
	struct e820_entry e[E820_MAX_ENTRIES];
	uint8_t dummy;

	(void)state;
	/* RAM ending below the EBDA has no hole (the last entry is PCI ECAM). */
	assert_int_equal(guest_mem_add(&mem, 0, 0x9f000, &dummy), 0);
	assert_int_equal(e820_build(&mem, e, E820_MAX_ENTRIES), 2);
	assert_int_equal(e[0].size, 0x9f000);
	assert_int_equal(e[0].type, E820_RAM);

	/* RAM ending inside the hole: reserved up to its end only. */
	memset(&mem, 0, sizeof(mem));
	assert_int_equal(guest_mem_add(&mem, 0, 0xa0000, &dummy), 0);
	assert_int_equal(e820_build(&mem, e, E820_MAX_ENTRIES), 3);
	assert_int_equal(e[0].size, 0x9fc00);
	assert_int_equal(e[1].addr, 0x9fc00);
	assert_int_equal(e[1].size, 0x400);
	assert_int_equal(e[1].type, E820_RESERVED);

	/* A region starting inside the hole. */
	memset(&mem, 0, sizeof(mem));
	assert_int_equal(guest_mem_add(&mem, 0xc0000, 0x140000, &dummy), 0);
	assert_int_equal(e820_build(&mem, e, E820_MAX_ENTRIES), 3);
	assert_int_equal(e[0].addr, 0xc0000);
	assert_int_equal(e[0].size, 0x40000);
	assert_int_equal(e[0].type, E820_RESERVED);
	assert_int_equal(e[1].addr, MIB);
	assert_int_equal(e[1].size, MIB);
	assert_int_equal(e[1].type, E820_RAM);

	/* RAM from 1 MiB only: no hole to report. */
	memset(&mem, 0, sizeof(mem));
	assert_int_equal(guest_mem_add(&mem, MIB, MIB, &dummy), 0);
	assert_int_equal(e820_build(&mem, e, E820_MAX_ENTRIES), 2);
	assert_int_equal(e[0].addr, MIB);
	assert_int_equal(e[0].type, E820_RAM);

	/* No RAM: only ECAM. */
	memset(&mem, 0, sizeof(mem));
	assert_int_equal(e820_build(&mem, e, E820_MAX_ENTRIES), 1);
	assert_int_equal(e[0].addr, PCI_ECAM_BASE);
	assert_int_equal(e[0].type, E820_RESERVED);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_load_good),
		T(test_load_no_cmdline),
		T(test_load_desc8),
		T(test_load_second_note),
		T(test_sregs_flat32),
		T(test_cpu_apply),
		T(test_not_elf),
		T(test_truncated_header),
		T(test_elfclass32),
		T(test_wrong_machine),
		T(test_phdrs_outside),
		T(test_phnum_huge),
		T(test_note_overflow),
		T(test_note_segment_outside),
		T(test_note_bad_desc_size),
		T(test_entry_above_4g),
		T(test_no_pvh_note),
		T(test_load_outside_file),
		T(test_filesz_above_memsz),
		T(test_segment_not_in_ram),
		T(test_overlap_boot_data),
		T(test_entry_outside_segments),
		T(test_cmdline_limit),
		T(test_no_low_ram),
		cmocka_unit_test(test_e820_5g),
		cmocka_unit_test(test_e820_legacy_hole),
		/* Last: under UBSan a misaligned read aborts the whole binary. */
		T(test_note_unaligned),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
