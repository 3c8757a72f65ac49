/* SPDX-License-Identifier: MIT */
/*
 * PVH entry and the static CPU tables of the guest runtime.
 *
 * CPL0 code may be emulated one instruction at a time by the host (nested
 * KVM), so everything that can be computed at link time is: the page tables,
 * the GDT (TSS descriptor included) and the IDT are initialised data, and
 * the boot path from the PVH entry to C is under 30 instructions with no
 * loops.  The linker script (guest.ld) provides the split-up addresses the
 * TSS and IDT descriptors need (__tss_base_*, __trap_stubs_*).
 */
#include "x86.h"

#define ERRCODE_VECTOR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || \
			   (v) == 21 || (v) == 29 || (v) == 30)

/* ELF note telling a PVH loader where to enter (32-bit physical address). */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4				/* namesz: "Xen\0" */
	.long 4				/* descsz */
	.long 18			/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start32

/*
 * PVH entry: 32-bit protected mode, paging off, flat segments, %ebx = the
 * physical address of struct hvm_start_info.  No stack is used here and %ebx
 * is preserved for guest_start().
 */
	.section .text.boot, "ax"
	.code32
	.globl pvh_start32
	.type pvh_start32, @function
pvh_start32:
	cli
	cld
	lgdt gdt_desc
	movl $pml4, %eax
	movl %eax, %cr3
	enable_long_mode
	ljmp $KERNEL_CS, $start64

	.code64
start64:
	lgdt gdt_desc(%rip)		/* again, now with the 64-bit base */
	movl $KERNEL_DS, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movq $kernel_stack_top, %rsp
	movl $TSS_SEL, %eax
	ltr %ax
	lidt idt_desc(%rip)
	movl %ebx, %edi			/* zero-extends: upper halves are undefined */
	call guest_start
1:	hlt
	jmp 1b
	.size pvh_start32, . - pvh_start32

/*
 * One 16-byte stub per vector, so the IDT can point at trap_stubs + 16 * v.
 * Each pushes a zero error code where the CPU pushes none, then the vector.
 */
	.section .text.traps, "ax"
	.balign 4096
	.globl trap_stubs
trap_stubs:
	.set vec, 0
	.rept 256
	.balign 16
	.if vec == 6
	jmp ud_entry			/* #UD: may be user_return() */
	.else
	.if (ERRCODE_VECTOR(vec)) == 0
	pushq $0
	.endif
	pushq $vec
	jmp trap_common
	.endif
	.set vec, vec + 1
	.endr
	.balign 16
trap_stubs_end:

/* The stack holds struct trap_frame (guest.h) from here on. */
trap_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	cld
	call guest_trap
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp			/* vector and error code */
	iretq

/*
 * long run_user(long (*fn)(void *), void *arg)
 *
 * Saves the callee-saved registers and RFLAGS on the kernel stack, points
 * TSS.RSP0 just below them (so interrupts taken at CPL3 cannot clobber this
 * frame) and irets to user_entry at CPL3 with IOPL 3 and the caller's IF.
 */
	.text
	.globl run_user
	.type run_user, @function
run_user:
	pushfq
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, run_user_rsp(%rip)
	movq %rsp, tss + TSS_RSP0(%rip)
	pushq $(USER_DS | 3)		/* SS */
	pushq $user_stack_top		/* RSP */
	pushfq				/* RFLAGS: caller's IF, IOPL 3 */
	andq $RFLAGS_IF, (%rsp)
	orq $(RFLAGS_IOPL3 | RFLAGS_FIXED), (%rsp)
	pushq $(USER_CS | 3)		/* CS */
	pushq $user_entry		/* RIP */
	movq %rdi, %rax
	movq %rsi, %rdi
	iretq
	.size run_user, . - run_user

/* CPL3: call fn(arg), hand its result back. */
user_entry:
	call *%rax
	movq %rax, %rdi
	/* fall through */

/*
 * void user_return(long value): CPL3 only; ends the current run_user().
 *
 * The way back to CPL0 is the #UD of this ud2, recognised by its address.
 * A software interrupt through a DPL3 gate would be the usual way, but PVM
 * hosts (nested KVM) turn "int $n" at CPL3 into #UD for every n but 3, and
 * int3 is best left to debuggers.  Exceptions are delivered everywhere.
 */
	.globl user_return
	.type user_return, @function
user_return:
	movq %rdi, %rax
user_return_ud2:
	ud2
	.size user_return, . - user_return

/* #UD: at user_return_ud2 from CPL3, return %rax from run_user(). */
ud_entry:
	testb $3, 8(%rsp)		/* CS of the interrupted code */
	jz 1f
	cmpq $user_return_ud2, (%rsp)	/* RIP */
	jne 1f
	movq run_user_rsp(%rip), %rsp
	movl $KERNEL_DS, %ecx
	movl %ecx, %ds
	movl %ecx, %es
	movl %ecx, %ss
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	popfq
	ret
1:	pushq $0			/* any other #UD */
	pushq $6
	jmp trap_common

	.data
	.balign 8
run_user_rsp:
	.quad 0

/*
 * Identity map of the first 4 GiB with 2 MiB pages, writable and
 * user-accessible; the top GiB (MMIO hole) is uncached.
 */
	.section .data.pagetables, "aw"
	.balign 4096
pml4:
	.quad pdpt + (PTE_P | PTE_RW | PTE_US)
	.fill 511, 8, 0
pdpt:
	.quad pd + 0x0000 + (PTE_P | PTE_RW | PTE_US)
	.quad pd + 0x1000 + (PTE_P | PTE_RW | PTE_US)
	.quad pd + 0x2000 + (PTE_P | PTE_RW | PTE_US)
	.quad pd + 0x3000 + (PTE_P | PTE_RW | PTE_US)
	.fill 508, 8, 0
pd:
	.set addr, 0
	.rept 2048
	.if addr >= 0xc0000000
	.quad addr + (PTE_P | PTE_RW | PTE_US | PTE_PS | PTE_PWT | PTE_PCD)
	.else
	.quad addr + (PTE_P | PTE_RW | PTE_US | PTE_PS)
	.endif
	.set addr, addr + 0x200000
	.endr

/* GDT; accessed bits preset so loading a selector does not write it. */
	.section .data.desc, "aw"
	.balign 16
gdt:
	.quad 0
	.quad 0x00af9b000000ffff	/* KERNEL_CS: 64-bit code, DPL 0 */
	.quad 0x00cf93000000ffff	/* KERNEL_DS */
	.quad 0x00cff3000000ffff	/* USER_DS: DPL 3 */
	.quad 0x00affb000000ffff	/* USER_CS: 64-bit code, DPL 3 */
	.word tss_end - tss - 1		/* TSS_SEL: 64-bit TSS, available */
	.word __tss_base_0_15
	.byte __tss_base_16_23
	.byte 0x89
	.byte 0x00
	.byte __tss_base_24_31
	.long __tss_base_32_63
	.long 0
gdt_end:

	.balign 8
	.word 0
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt

	.balign 16
	.globl tss
tss:
	.long 0
	.quad kernel_stack_top		/* RSP0; run_user() updates it */
	.quad 0, 0			/* RSP1, RSP2 */
	.quad 0
	.quad 0, 0, 0, 0, 0, 0, 0	/* IST1-7 */
	.quad 0
	.word 0
	.word tss_end - tss		/* I/O bitmap offset: none */
tss_end:

/* 256 interrupt gates (present, DPL 0) to the stubs. */
	.balign 16
idt:
	.set vec, 0
	.rept 256
	.word __trap_stubs_0_15 + vec * 16
	.word KERNEL_CS
	.byte 0
	.byte 0x8e
	.word __trap_stubs_16_31
	.long __trap_stubs_32_63
	.long 0
	.set vec, vec + 1
	.endr
idt_end:

	.balign 8
	.word 0
idt_desc:
	.word idt_end - idt - 1
	.quad idt

	.section .stack, "aw", @nobits
	.balign 16
kernel_stack:
	.skip GUEST_KERNEL_STACK_SIZE
	.globl kernel_stack_top
kernel_stack_top:
user_stack:
	.skip GUEST_USER_STACK_SIZE
user_stack_top:

	.section .note.GNU-stack, "", @progbits
