// SPDX-License-Identifier: MIT
/* Boot formats, tried in order, and the CPU state they start the guest in. */
#include <errno.h>
#include <string.h>

#include "boot.h"
#include "layout.h"
#include "error.h"
#include "pvh.h"
#include "util.h"

static const struct boot_loader *const boot_loaders[] = {
	&pvh_elf_loader,
};

int boot_load(struct guest_mem *mem, const struct boot_params_in *in, struct boot_cpu *cpu)
{
	memset(cpu, 0, sizeof(*cpu));
	for (size_t i = 0; i < ARRAY_SIZE(boot_loaders); i++) {
		if (boot_loaders[i]->probe(in->image, in->image_size))
			return boot_loaders[i]->load(mem, in, cpu);
	}
	return err_set(ENOEXEC, "not a bootable kernel (kvmini boots ELF kernels with a PVH "
				"entry note)");
}

#define GDT_CODE32 0x00cf9b000000ffffULL /* base 0, 4 GiB, execute/read, D=1 */
#define GDT_DATA32 0x00cf93000000ffffULL /* base 0, 4 GiB, read/write, B=1 */
#define GDT_TSS32  0x00008b0000000067ULL /* base 0, 104 bytes, busy */
#define SEL_CODE   0x10
#define SEL_DATA   0x18
#define SEL_TSS	   0x20

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

int boot_cpu_flat32(struct guest_mem *mem, struct boot_cpu *cpu)
{
	static const uint64_t gdt[] = { 0, 0, GDT_CODE32, GDT_DATA32, GDT_TSS32 };
	struct kvm_sregs *s = &cpu->sregs;

	if (guest_mem_write(mem, BOOT_GDT_ADDR, gdt, sizeof(gdt)))
		return err_set(EFAULT, "no RAM for the boot GDT");
	s->cs = flat_segment(SEL_CODE, 0xb);
	s->ds = s->es = s->fs = s->gs = s->ss = flat_segment(SEL_DATA, 0x3);
	s->tr = (struct kvm_segment){
		.selector = SEL_TSS, .limit = 0x67, .type = 0xb, .present = 1
	};
	s->ldt = (struct kvm_segment){ .type = 0x2, .present = 1, .unusable = 1 };
	s->gdt.base = BOOT_GDT_ADDR;
	s->gdt.limit = sizeof(gdt) - 1;
	s->idt.base = 0;
	s->idt.limit = 0;
	s->cr0 = 0x11; /* PE, ET */
	s->cr3 = 0;
	s->cr4 = 0;
	s->efer = 0;
	cpu->regs.rflags = 0x2;
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
