/* SPDX-License-Identifier: MIT */
/*
 * Loading a guest kernel and the CPU state it starts in.  Each boot format
 * (PVH ELF, Linux bzImage) is a struct boot_loader in the table in
 * firmware/boot.c, tried in order by probe().
 */
#ifndef KVMINI_BOOT_H
#define KVMINI_BOOT_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

struct boot_params_in {
	const uint8_t *image; /* the -kernel file, whole */
	size_t image_size;
	const char *cmdline;   /* may be NULL */
	const uint8_t *initrd; /* the -initrd file, whole; NULL when none */
	size_t initrd_size;
	const uint8_t *dtb; /* the -dtb file, whole; NULL when none */
	size_t dtb_size;
	uint64_t rsdp_addr; /* guest address of the ACPI RSDP; 0 when none */
};

/* The boot CPU's initial state, as the loader wants it. */
struct boot_cpu {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
};

struct boot_loader {
	const char *name;
	bool (*probe)(const uint8_t *image, size_t size);
	/* 0 or -errno with err_set(). */
	int (*load)(struct guest_mem *mem, const struct boot_params_in *in, struct boot_cpu *cpu);
};

/*
 * Load @in into guest memory with the first loader that recognises it and
 * fill @cpu.  0 or -errno with err_set() (e.g. "not a bootable kernel").
 */
int boot_load(struct guest_mem *mem, const struct boot_params_in *in, struct boot_cpu *cpu);

/*
 * Write kvmini's boot GDT (flat 32-bit code 0x10, data 0x18, TSS 0x20) and
 * put @cpu in flat 32-bit protected mode with paging off.  0 or -EFAULT.
 */
int boot_cpu_flat32(struct guest_mem *mem, struct boot_cpu *cpu);

/*
 * Write kvmini's long-mode boot GDT (64-bit code 0x10, data 0x18, 64-bit TSS
 * 0x20) and identity page tables for the first 4 GiB (2 MiB pages) into the
 * boot data area, and put @cpu in 64-bit mode with paging on and interrupts
 * off.  0 or -EFAULT.
 */
int boot_cpu_long_mode(struct guest_mem *mem, struct boot_cpu *cpu);

/*
 * Find the highest page-aligned @addr with [addr, addr + size) inside one
 * RAM region and inside [floor, limit): where an initrd goes.  0, or -ENOSPC
 * (no message recorded: the caller knows what did not fit).
 */
int boot_place_high(const struct guest_mem *mem, uint64_t size, uint64_t floor, uint64_t limit,
		    uint64_t *addr);

/* Apply @cpu onto the state KVM gave the vCPU (keeps what @cpu leaves alone). */
void boot_cpu_apply(const struct boot_cpu *cpu, struct kvm_regs *regs, struct kvm_sregs *sregs);

#endif
