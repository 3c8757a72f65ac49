/* SPDX-License-Identifier: MIT */
/*
 * Constants shared by the guest runtime's assembly and C code: the GDT
 * layout, vector numbers and a few x86 bits.  Usable from .S files.
 */
#ifndef KVMINI_GUEST_X86_H
#define KVMINI_GUEST_X86_H

/* GDT selectors (see boot.S) */
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_DS	  0x18 /* DPL 3; use with RPL 3: USER_DS | 3 */
#define USER_CS	  0x20 /* DPL 3, 64-bit */
#define TSS_SEL	  0x28

/* Offset of RSP0 in the 64-bit TSS */
#define TSS_RSP0 4

/* Vectors */
#define PIC_VECTOR_BASE 0x20 /* IRQ 0-15 -> vectors 0x20-0x2f */

/* Control registers and MSRs */
#define CR0_PE	 0x00000001
#define CR0_ET	 0x00000010
#define CR0_PG	 0x80000000
#define CR4_PAE	 0x00000020
#define MSR_EFER 0xc0000080
#define EFER_LME 0x00000100

#define RFLAGS_FIXED 0x00000002 /* bit 1 is always set */
#define RFLAGS_IF    0x00000200
#define RFLAGS_IOPL3 0x00003000

/* Page table entry bits */
#define PTE_P	0x001
#define PTE_RW	0x002
#define PTE_US	0x004
#define PTE_PWT 0x008
#define PTE_PCD 0x010
#define PTE_PS	0x080

#define GUEST_KERNEL_STACK_SIZE 16384
#define GUEST_USER_STACK_SIZE	16384

#ifdef __ASSEMBLER__
/* With CR3 loaded: PAE, EFER.LME, then paging on; a far jump to 64-bit code must follow. */
.macro enable_long_mode
	movl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $MSR_EFER, %ecx
	movl $EFER_LME, %eax
	xorl %edx, %edx
	wrmsr
	movl $(CR0_PG | CR0_ET | CR0_PE), %eax
	movl %eax, %cr0
.endm
#endif

#endif
