/* SPDX-License-Identifier: MIT */
/*
 * The AP trampoline and the APs' 64-bit entry.
 *
 * smp_prepare() copies ap_trampoline..ap_trampoline_end to AP_TRAMPOLINE_ADDR
 * and fills in its data (the boot CPU's GDTR and CR3).  A SIPI starts an AP
 * there in real mode with CS = AP_TRAMPOLINE_ADDR >> 4, IP = 0.  Real-mode
 * code is emulated at CPL0 on PVM hosts, so the trampoline goes straight to
 * long mode (PE and PG set by one CR0 write) in 13 instructions, with no
 * stop in 32-bit protected mode and no segment register loads.
 */
#include "x86.h"
#include "smp.h"

#define TRAMP(sym) ((sym) - ap_trampoline)

	.section .rodata.ap_trampoline, "a"
	.code16
	.globl ap_trampoline
ap_trampoline:
	lock incl %cs:TRAMP(ap_tramp_arrived)
	lgdtl %cs:TRAMP(ap_tramp_gdtr)		/* 32-bit base: the GDT is below 4 GiB */
	movl %cs:TRAMP(ap_tramp_cr3), %eax
	movl %eax, %cr3
	enable_long_mode
	ljmpl $KERNEL_CS, $ap_start64

/* Filled in by smp_prepare(); struct ap_tramp_data in smp.c. */
	.balign 8
	.globl ap_tramp_data
ap_tramp_data:
	.word 0
ap_tramp_gdtr:
	.word 0					/* limit */
	.long 0					/* base */
ap_tramp_cr3:
	.long 0
ap_tramp_arrived:
	.long 0					/* APs that got here */
	.globl ap_trampoline_end
ap_trampoline_end:

/*
 * 64-bit, still on no stack: flat data segments, the boot CPU's IDT, then a
 * stack chosen by arrival order (the ticket also counts the APs that got
 * this far), and the C entry.
 */
	.text
	.code64
ap_start64:
	movl $KERNEL_DS, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	lidt smp_idtr(%rip)
	movl $1, %eax
	lock xaddl %eax, smp_ap_tickets(%rip)
	cmpl $(SMP_MAX_CPUS - 1), %eax
	jae 1f					/* no stack left for this one */
	incl %eax
	shll $AP_STACK_SHIFT, %eax
	leaq AP_STACKS_ADDR(%rax), %rsp	/* top of stack t: base + (t + 1) * size */
	call *smp_ap_entry(%rip)
1:	cli
	hlt
	jmp 1b

	.section .note.GNU-stack, "", @progbits
