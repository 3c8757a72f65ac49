/* SPDX-License-Identifier: MIT */
/*
 * The guest's paging, walked in software: linear address to guest physical
 * address through the vCPU's control registers, with the checks and #PF
 * error codes of the CPU.  Paging off, 32-bit (4K/4M pages), PAE (4K/2M),
 * 4- and 5-level paging (4K/2M/1G).  Protection keys are not checked.  Used by
 * the instruction emulator; the gdb stub reads guest memory through it too.
 */
#ifndef KVMINI_PAGING_H
#define KVMINI_PAGING_H

#include <linux/kvm.h>
#include <stdint.h>

#include "guest_mem.h"

/* #PF error code bits. */
#define PF_PRESENT (1u << 0) /* a protection or reserved-bit fault, not a missing page */
#define PF_WRITE   (1u << 1)
#define PF_USER	   (1u << 2)
#define PF_RSVD	   (1u << 3)
#define PF_FETCH   (1u << 4)

/* What an access is, or-ed together; a plain supervisor read is 0. */
#define PAGING_WRITE  (1u << 0)
#define PAGING_USER   (1u << 1) /* a CPL3 access */
#define PAGING_FETCH  (1u << 2)
#define PAGING_AC     (1u << 3) /* explicit access with EFLAGS.AC set: SMAP lets it through */
#define PAGING_SET_AD (1u << 4) /* set the accessed (and dirty) bits, as the CPU does */

/* The registers that select and control paging. */
struct paging_mode {
	uint64_t cr0, cr3, cr4, efer;
	unsigned int maxphyaddr; /* physical address width: higher address bits are reserved */
};

struct paging_result {
	uint64_t gpa;
	uint64_t page_size; /* of the page that maps it (4 KiB when paging is off) */
	uint32_t pf_error;  /* the #PF error code when the walk fails with -EFAULT */
};

/* Take the paging registers from @s; @maxphyaddr as CPUID 0x80000008 reports it. */
void paging_mode_init(struct paging_mode *m, const struct kvm_sregs *s, unsigned int maxphyaddr);

/*
 * Translate linear address @la for an access of kind @access (PAGING_*).
 * 0 with @res filled; -EFAULT when the CPU would raise #PF (res->pf_error set);
 * -EINVAL when @la is not canonical (the CPU raises #GP or #SS); -ENXIO when a
 * paging structure lies outside guest RAM.  Every failure records a message.
 */
int paging_translate(const struct guest_mem *mem, const struct paging_mode *m, uint64_t la,
		     unsigned int access, struct paging_result *res);

#endif
