/* SPDX-License-Identifier: MIT */
/*
 * Entry points of the bzImage test guest's protected-mode part, loaded at
 * its link address (bzimage.ld).  The loader enters startup_64 at +0x200 in
 * long mode with identity paging, %rsi -> boot_params and no stack.
 */
#define DEBUG_EXIT_PORT	0xf4
#define EXIT_BAD_BOOT	2	/* GUEST_EXIT_BAD_BOOT */

	.section .text.head, "ax"
	.code32
	.globl startup_32
startup_32:
	/* The 32-bit entry: this guest has only the 64-bit one (XLF_KERNEL_64). */
	movl $EXIT_BAD_BOOT, %eax
	outl %eax, $DEBUG_EXIT_PORT
1:	hlt
	jmp 1b

	.org 0x200
	.code64
	.globl startup_64
startup_64:
	leaq boot_stack_top(%rip), %rsp
	movq %rsi, %rdi			/* boot_params */
	pushfq
	popq %rsi			/* RFLAGS at entry */
	movl %cs, %edx
	movl %ds, %ecx
	movl %ss, %r8d
	call bz_start
1:	hlt
	jmp 1b

	.section .stack, "aw", @nobits
	.balign 16
	.skip 16384
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
