// SPDX-License-Identifier: MIT
/* Boot formats, tried in order, and the CPU state they start the guest in. */
#include <errno.h>
#include <string.h>

#include "boot.h"
#include "bootparam.h"
#include "layout.h"
#include "error.h"
#include "pvh.h"
#include "util.h"

static const struct boot_loader *const boot_loaders[] = {
	&pvh_elf_loader,
	&bzimage_loader,
};

int boot_load(struct guest_mem *mem, const struct boot_params_in *in, struct boot_cpu *cpu)
{
	memset(cpu, 0, sizeof(*cpu));
	for (size_t i = 0; i < ARRAY_SIZE(boot_loaders); i++) {
		if (boot_loaders[i]->probe(in->image, in->image_size))
			return boot_loaders[i]->load(mem, in, cpu);
	}
	return err_set(ENOEXEC, "not a bootable kernel (kvmini boots ELF kernels with a PVH "
				"entry note and Linux bzImages)");
}

int boot_place_high(const struct guest_mem *mem, uint64_t size, uint64_t floor, uint64_t limit,
		    uint64_t *addr)
{
	bool found = false;

	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct guest_mem_region *r = &mem->regions[i];
		uint64_t lo = r->gpa > floor ? r->gpa : floor;
		uint64_t hi = r->gpa + r->size < limit ? r->gpa + r->size : limit;
		uint64_t a;

		if (hi <= lo || hi - lo < size)
			continue;
		a = (hi - size) & ~(GUEST_PAGE_SIZE - 1);
		if (a >= lo && (!found || a > *addr)) {
			*addr = a;
			found = true;
		}
	}
	return found ? 0 : -ENOSPC;
}

#define GDT_CODE32 0x00cf9b000000ffffULL /* base 0, 4 GiB, execute/read, D=1 */
#define GDT_CODE64 0x00af9b000000ffffULL /* the same with L=1, D=0 */
#define GDT_DATA32 0x00cf93000000ffffULL /* base 0, 4 GiB, read/write, B=1 */
/* Base 0, 104 bytes, busy; in long mode the next entry holds base[63:32]. */
#define GDT_TSS	 0x00008b0000000067ULL
#define SEL_CODE 0x10
#define SEL_DATA 0x18
#define SEL_TSS	 0x20

#define CR0_PE	   0x00000001ULL
#define CR0_ET	   0x00000010ULL
#define CR0_PG	   0x80000000ULL
#define CR4_PAE	   0x00000020ULL
#define EFER_LME   0x00000100ULL
#define EFER_LMA   0x00000400ULL
#define PTE_P	   0x001ULL
#define PTE_RW	   0x002ULL
#define PTE_PWT	   0x008ULL
#define PTE_PCD	   0x010ULL
#define PTE_PS	   0x080ULL
#define PT_ENTRIES 512

static struct kvm_segment flat_segment(uint16_t sel, uint8_t type)
{
	return (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = sel,
		.type = type,
		.present = 1,
		.db = 1,
		.s = 1,
		.g = 1,
	};
}

/* Write @gdt to BOOT_GDT_ADDR and load flat segments from it (CS 64-bit if @long_mode). */
static int boot_cpu_segments(struct guest_mem *mem, struct boot_cpu *cpu, const uint64_t *gdt,
			     size_t gdt_size, bool long_mode)
{
	struct kvm_sregs *s = &cpu->sregs;

	if (guest_mem_write(mem, BOOT_GDT_ADDR, gdt, gdt_size))
		return err_set(EFAULT, "no RAM for the boot GDT");
	s->cs = flat_segment(SEL_CODE, 0xb);
	s->cs.l = long_mode;
	s->cs.db = !long_mode;
	s->ds = s->es = s->fs = s->gs = s->ss = flat_segment(SEL_DATA, 0x3);
	s->tr = (struct kvm_segment){
		.selector = SEL_TSS, .limit = 0x67, .type = 0xb, .present = 1
	};
	s->ldt = (struct kvm_segment){ .type = 0x2, .present = 1, .unusable = 1 };
	s->gdt.base = BOOT_GDT_ADDR;
	s->gdt.limit = gdt_size - 1;
	s->idt.base = 0;
	s->idt.limit = 0;
	cpu->regs.rflags = 0x2;
	return 0;
}

int boot_cpu_flat32(struct guest_mem *mem, struct boot_cpu *cpu)
{
	static const uint64_t gdt[] = { 0, 0, GDT_CODE32, GDT_DATA32, GDT_TSS };
	struct kvm_sregs *s = &cpu->sregs;
	int ret = boot_cpu_segments(mem, cpu, gdt, sizeof(gdt), false);

	if (ret)
		return ret;
	s->cr0 = CR0_PE | CR0_ET;
	s->cr3 = 0;
	s->cr4 = 0;
	s->efer = 0;
	return 0;
}

/* PML4 -> one PDPT -> four PDs of 2 MiB pages; the 32-bit hole uncached. */
static int boot_page_tables(struct guest_mem *mem)
{
	uint64_t t[PT_ENTRIES] = { BOOT_PDPT_ADDR | PTE_P | PTE_RW };

	if (guest_mem_write(mem, BOOT_PML4_ADDR, t, sizeof(t)))
		return -EFAULT;
	for (unsigned int i = 0; i < 4; i++)
		t[i] = (BOOT_PD_ADDR + i * GUEST_PAGE_SIZE) | PTE_P | PTE_RW;
	if (guest_mem_write(mem, BOOT_PDPT_ADDR, t, sizeof(t)))
		return -EFAULT;
	for (unsigned int pd = 0; pd < 4; pd++) {
		for (unsigned int i = 0; i < PT_ENTRIES; i++) {
			uint64_t addr = ((uint64_t)pd * PT_ENTRIES + i) * 2 * MIB;

			t[i] = addr | PTE_P | PTE_RW | PTE_PS;
			if (addr >= LOW_RAM_LIMIT)
				t[i] |= PTE_PCD | PTE_PWT;
		}
		if (guest_mem_write(mem, BOOT_PD_ADDR + pd * GUEST_PAGE_SIZE, t, sizeof(t)))
			return -EFAULT;
	}
	return 0;
}

int boot_cpu_long_mode(struct guest_mem *mem, struct boot_cpu *cpu)
{
	static const uint64_t gdt[] = { 0, 0, GDT_CODE64, GDT_DATA32, GDT_TSS, 0 };
	struct kvm_sregs *s = &cpu->sregs;
	int ret;

	if (boot_page_tables(mem))
		return err_set(EFAULT, "no RAM for the boot page tables");
	ret = boot_cpu_segments(mem, cpu, gdt, sizeof(gdt), true);
	if (ret)
		return ret;
	s->cr0 = CR0_PE | CR0_ET | CR0_PG;
	s->cr3 = BOOT_PML4_ADDR;
	s->cr4 = CR4_PAE;
	s->efer = EFER_LME | EFER_LMA;
	return 0;
}

void boot_cpu_apply(const struct boot_cpu *cpu, struct kvm_regs *regs, struct kvm_sregs *sregs)
{
	*regs = cpu->regs;
	sregs->cs = cpu->sregs.cs;
	sregs->ds = cpu->sregs.ds;
	sregs->es = cpu->sregs.es;
	sregs->fs = cpu->sregs.fs;
	sregs->gs = cpu->sregs.gs;
	sregs->ss = cpu->sregs.ss;
	sregs->tr = cpu->sregs.tr;
	sregs->ldt = cpu->sregs.ldt;
	sregs->gdt = cpu->sregs.gdt;
	sregs->idt = cpu->sregs.idt;
	sregs->cr0 = cpu->sregs.cr0;
	sregs->cr3 = cpu->sregs.cr3;
	sregs->cr4 = cpu->sregs.cr4;
	sregs->efer = cpu->sregs.efer;
}
