/* SPDX-License-Identifier: MIT */
/*
 * The real-mode part of the bzImage test guest: a boot sector and the Linux
 * setup header (Documentation/x86/boot.rst) and 16-bit setup code, padded
 * to whole sectors by bzimage.ld.  Offsets are from the start of the file;
 * the sizes come from the linker script.  kvmini never runs code from here.
 */
#define LOADED_HIGH	0x01
#define XLF_KERNEL_64	0x0001

#define SETUP_HEADER	0x1f1
#define BP_E820_ENTRIES	0x1e8
#define BP_E820_TABLE	0x2d0
#define BP_E820_MAX	128
#define SMAP		0x534d4150	/* "SMAP" */

/* Offsets from the start of the real-mode part: after this code, below its stack. */
#define ZERO_PAGE	0x1000
#define PAGE_TABLES	0x2000		/* 3 pages, page-aligned up from here */

#define BOOT_CS		0x10
#define BOOT_DS		0x18
#define PTE_P		0x001
#define PTE_RW		0x002
#define PTE_PS		0x080
#define CR0_PE		0x00000001
#define CR0_PG		0x80000000
#define CR4_PAE		0x00000020
#define MSR_EFER	0xc0000080
#define EFER_LME	0x00000100

	.section .setup, "a"
	.code16

	.org 0x1f1
	.byte __setup_sects		/* setup_sects */
	.word 0				/* root_flags */
	.long __syssize			/* syssize: payload in 16-byte units */
	.word 0				/* ram_size */
	.word 0xffff			/* vid_mode: "normal" */
	.word 0				/* root_dev */
	.word 0xaa55			/* boot_flag */

	.org 0x200
	.byte 0xeb, hdr_end - 1f	/* jump: its offset is the header's length */
1:	.ascii "HdrS"			/* header */
	.word 0x020f			/* version 2.15 */
	.long 0				/* realmode_swtch */
	.word 0				/* start_sys_seg */
	.word 0				/* kernel_version: none */
	.byte 0				/* type_of_loader: the loader's */
	.byte LOADED_HIGH		/* loadflags */
	.word 0				/* setup_move_size */
	.long __kernel_start		/* code32_start */
	.long 0				/* ramdisk_image: the loader's */
	.long 0				/* ramdisk_size: the loader's */
	.long 0				/* bootsect_kludge */
	.word 0				/* heap_end_ptr */
	.byte 0				/* ext_loader_ver */
	.byte 0				/* ext_loader_type */
	.long 0				/* cmd_line_ptr: the loader's */
	.long 0x7fffffff		/* initrd_addr_max */
	.long 0x200000			/* kernel_alignment */
	.byte 0				/* relocatable_kernel: no, runs where linked */
	.byte 21			/* min_alignment */
	.word XLF_KERNEL_64		/* xloadflags: startup_64 at +0x200 */
	.long 2047			/* cmdline_size */
	.long 0				/* hardware_subarch: PC */
	.quad 0				/* hardware_subarch_data */
	.long 0				/* payload_offset: no compressed payload */
	.long 0				/* payload_length */
	.quad 0				/* setup_data: the loader's */
	.quad __kernel_start		/* pref_address */
	.long __init_size		/* init_size */
	.long 0				/* handover_offset: no EFI */
	.long 0				/* kernel_info_offset */
hdr_end:

/*
 * The 16-bit setup code, for loaders that run it (QEMU, through its
 * firmware): build a zero page from this header and the BIOS e820 map, go
 * straight from real mode to long mode with an identity map of the first
 * GiB, and enter startup_64 as the 64-bit boot protocol says.  Entered at
 * CS = DS + 0x20, IP 0 (the jump at 0x200 lands here) with DS = ES = SS =
 * the segment of offset 0 and interrupts off.
 */
start_of_setup:
	cli
	cld
	movw %ds, %ax
	movw %ax, %es

	/* Zero page: all zero, then this header (as the loader filled it in). */
	movw $ZERO_PAGE, %di
	movw $4096, %cx
	xorb %al, %al
	rep stosb
	movw $SETUP_HEADER, %si
	movw $ZERO_PAGE + SETUP_HEADER, %di
	movw $hdr_end - SETUP_HEADER, %cx
	rep movsb

	/* The memory map: INT 15h, AX = E820h, one 20-byte entry per call. */
	xorl %ebx, %ebx
	xorw %si, %si
	movw $ZERO_PAGE + BP_E820_TABLE, %di
1:	movl $0xe820, %eax
	movl $SMAP, %edx
	movl $20, %ecx
	int $0x15
	jc 2f
	cmpl $SMAP, %eax
	jne 2f
	incw %si
	addw $20, %di
	testl %ebx, %ebx
	jz 2f
	cmpw $BP_E820_MAX, %si
	jb 1b
2:	movw %si, %ax
	movb %al, ZERO_PAGE + BP_E820_ENTRIES

	/* %ebp: linear address of offset 0; %edx: the PML4, page-aligned above it. */
	movw %ds, %ax
	movzwl %ax, %ebp
	shll $4, %ebp
	leal PAGE_TABLES + 0xfff(%ebp), %edx
	andl $~0xfff, %edx

	/* PML4, PDPT and one PD of 2 MiB pages: the first GiB, identity. */
	movl %edx, %eax
	shrl $4, %eax
	movw %ax, %es
	xorl %eax, %eax
	xorw %di, %di
	movw $3 * 1024, %cx
	rep stosl
	leal 0x1000 + (PTE_P | PTE_RW)(%edx), %eax
	movl %eax, %es:0
	leal 0x2000 + (PTE_P | PTE_RW)(%edx), %eax
	movl %eax, %es:0x1000
	movl $(PTE_P | PTE_RW | PTE_PS), %eax
	movw $0x2000, %di
	movw $512, %cx
3:	movl %eax, %es:(%di)
	addl $0x200000, %eax
	addw $8, %di
	loop 3b

	/* The GDT's and the far jump's linear addresses. */
	leal gdt(%ebp), %eax
	movl %eax, gdt_base
	leal long_mode(%ebp), %eax
	movl %eax, long_mode_ptr
	leal ZERO_PAGE(%ebp), %esi

	/* Real mode to long mode in one step: PAE, CR3, EFER.LME, then PE and PG. */
	lgdtl gdt_desc
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl %edx, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE), %eax
	movl %eax, %cr0
	ljmpl *long_mode_ptr

	.code64
long_mode:
	movl $BOOT_DS, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	movl %esi, %esi			/* boot_params: the upper half is undefined */
	movq $startup_64, %rax
	jmp *%rax

	.balign 8
gdt:
	.quad 0
	.quad 0
	.quad 0x00af9b000000ffff	/* __BOOT_CS: 64-bit code */
	.quad 0x00cf93000000ffff	/* __BOOT_DS */
gdt_end:
	.word 0
gdt_desc:
	.word gdt_end - gdt - 1
gdt_base:
	.long 0
long_mode_ptr:
	.long 0
	.word BOOT_CS

	.section .note.GNU-stack, "", @progbits
