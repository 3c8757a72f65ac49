// SPDX-License-Identifier: MIT
/*
 * Unit tests for the instruction emulator (vmm/x86_emulate.c) on a fake
 * vCPU: registers and events in memory, 2 MiB of guest RAM with 4-level
 * page tables.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "error.h"
#include "paging.h"
#include "x86_insn.h"

#define RAM_SIZE (2ULL << 20)
#define PML4	 0x1000
#define PDPT	 0x2000
#define PD	 0x3000
#define IDT	 0x8000
#define CODE	 0x10000
#define DATA	 0x20000

/* Linear addresses: PD entries 1..4 (see setup()). */
#define LA_ABSENT   0x200000ULL
#define LA_READONLY 0x400000ULL
#define LA_SUPER    0x600000ULL
#define LA_NOT_RAM  0x800000ULL

#define P  0x001ULL
#define RW 0x002ULL
#define US 0x004ULL
#define A  0x020ULL
#define D  0x040ULL
#define PS 0x080ULL

#define CR0_PE	    (1ULL << 0)
#define CR0_MP	    (1ULL << 1)
#define CR0_EM	    (1ULL << 2)
#define CR0_TS	    (1ULL << 3)
#define CR0_ET	    (1ULL << 4)
#define CR0_NE	    (1ULL << 5)
#define CR0_WP	    (1ULL << 16)
#define CR0_PG	    (1ULL << 31)
#define CR4_PAE	    (1ULL << 5)
#define CR4_OSXSAVE (1ULL << 18)
#define CR4_SMAP    (1ULL << 21)
#define EFER_LME    (1ULL << 8)
#define EFER_LMA    (1ULL << 10)
#define EFER_NXE    (1ULL << 11)

#define FLAG_CF	   0x0001ULL
#define FLAG_PF	   0x0004ULL
#define FLAG_AF	   0x0010ULL
#define FLAG_ZF	   0x0040ULL
#define FLAG_SF	   0x0080ULL
#define FLAG_OF	   0x0800ULL
#define FLAG_VM	   (1ULL << 17)
#define FLAG_AC	   (1ULL << 18)
#define FLAG_ARITH (FLAG_CF | FLAG_PF | FLAG_AF | FLAG_ZF | FLAG_SF | FLAG_OF)

#define VEC_BP 3
#define VEC_UD 6
#define VEC_NM 7
#define VEC_NP 11
#define VEC_SS 12
#define VEC_GP 13
#define VEC_PF 14
#define VEC_MF 16

struct fake {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct x87_state x87;
	uint64_t xcr0;
	struct x86_event ev[4];
	unsigned int nr_ev;
	unsigned int set_regs_calls, set_x87_calls;
	bool fail_get_regs;
	struct guest_mem mem;
	struct x86_emu emu;
	uint8_t *ram;
};

static int fake_get_regs(void *opaque, struct kvm_regs *regs)
{
	struct fake *f = opaque;

	if (f->fail_get_regs)
		return err_set(EIO, "KVM_GET_REGS failed");
	*regs = f->regs;
	return 0;
}

static int fake_set_regs(void *opaque, const struct kvm_regs *regs)
{
	struct fake *f = opaque;

	f->regs = *regs;
	f->set_regs_calls++;
	return 0;
}

static int fake_get_sregs(void *opaque, struct kvm_sregs *sregs)
{
	*sregs = ((struct fake *)opaque)->sregs;
	return 0;
}

static int fake_get_x87(void *opaque, struct x87_state *x87)
{
	*x87 = ((struct fake *)opaque)->x87;
	return 0;
}

static int fake_set_x87(void *opaque, const struct x87_state *x87)
{
	struct fake *f = opaque;

	f->x87 = *x87;
	f->set_x87_calls++;
	return 0;
}

static int fake_get_xcr0(void *opaque, uint64_t *xcr0)
{
	*xcr0 = ((struct fake *)opaque)->xcr0;
	return 0;
}

/* Like KVM: x87 must stay on, and this vCPU has x87, SSE and AVX only. */
static int fake_set_xcr0(void *opaque, uint64_t xcr0)
{
	if (!(xcr0 & 1) || (xcr0 & ~7ULL))
		return -EINVAL;
	((struct fake *)opaque)->xcr0 = xcr0;
	return 0;
}

static int fake_inject(void *opaque, const struct x86_event *ev)
{
	struct fake *f = opaque;

	assert_true(f->nr_ev < 4);
	f->ev[f->nr_ev++] = *ev;
	return 0;
}

static const struct x86_emu_ops fake_ops = {
	.get_regs = fake_get_regs,
	.set_regs = fake_set_regs,
	.get_sregs = fake_get_sregs,
	.get_x87 = fake_get_x87,
	.set_x87 = fake_set_x87,
	.get_xcr0 = fake_get_xcr0,
	.set_xcr0 = fake_set_xcr0,
	.inject = fake_inject,
};

static void set64(struct fake *f, uint64_t gpa, uint64_t v)
{
	memcpy(f->ram + gpa, &v, 8);
}

static uint64_t get64(struct fake *f, uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, f->ram + gpa, 8);
	return v;
}

static uint16_t get16(struct fake *f, uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, f->ram + gpa, 2);
	return v;
}

static void set_gate(struct fake *f, unsigned int vector, uint8_t type_attr)
{
	f->ram[IDT + 16 * vector + 5] = type_attr;
}

static void segment(struct kvm_segment *s, uint16_t sel, unsigned int dpl)
{
	*s = (struct kvm_segment){ .selector = sel,
				   .limit = 0xffffffff,
				   .present = 1,
				   .dpl = dpl,
				   .s = 1,
				   .g = 1,
				   .db = 1 };
}

/*
 * 64-bit mode at CPL0.  Linear 0-2M maps RAM (user, writable); 2-4M is not
 * present; 4-6M maps RAM read-only, 6-8M supervisor-only; 8-10M is not RAM.
 */
static int setup(void **state)
{
	struct fake *f = test_calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->ram = test_calloc(1, RAM_SIZE);
	if (!f->ram || guest_mem_add(&f->mem, 0, RAM_SIZE, f->ram))
		return -1;
	set64(f, PML4, PDPT | P | RW | US);
	set64(f, PDPT, PD | P | RW | US);
	set64(f, PD + 0, 0 | P | RW | US | PS);
	set64(f, PD + 16, 0 | P | US | PS);
	set64(f, PD + 24, 0 | P | RW | PS);
	set64(f, PD + 32, 0x40000000 | P | RW | US | PS);
	for (unsigned int v = 0; v < 256; v++)
		set_gate(f, v, 0x8e); /* present 64-bit interrupt gates, DPL 0 */
	f->sregs.cr0 = CR0_PE | CR0_ET | CR0_PG;
	f->sregs.cr3 = PML4;
	f->sregs.cr4 = CR4_PAE | CR4_OSXSAVE;
	f->sregs.efer = EFER_LME | EFER_LMA | EFER_NXE;
	segment(&f->sregs.cs, 0x08, 0);
	f->sregs.cs.db = 0;
	f->sregs.cs.l = 1;
	segment(&f->sregs.ss, 0x10, 0);
	segment(&f->sregs.ds, 0x10, 0);
	segment(&f->sregs.es, 0x10, 0);
	segment(&f->sregs.fs, 0, 0);
	segment(&f->sregs.gs, 0, 0);
	f->sregs.idt.base = IDT;
	f->sregs.idt.limit = 0xfff;
	f->regs.rip = CODE;
	f->regs.rflags = 0x2;
	f->x87 = (struct x87_state){ .fcw = 0x037f };
	f->xcr0 = 1;
	f->emu = (struct x86_emu){
		.ops = &fake_ops,
		.opaque = f,
		.mem = &f->mem,
		.features = { .popcnt = true, .cx16 = true, .smap = true, .maxphyaddr = 46 }
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	test_free(f->ram);
	test_free(f);
	return 0;
}

static void user_mode(struct fake *f)
{
	f->sregs.cs.dpl = 3;
	f->sregs.cs.selector |= 3;
	f->sregs.ss.dpl = 3;
	f->sregs.ss.selector |= 3;
}

/* Place the bytes at RIP (identity-mapped below 2 MiB) and emulate with them as KVM's. */
static int emulate(struct fake *f, const uint8_t *bytes, size_t len)
{
	if (f->regs.rip + len <= RAM_SIZE)
		memcpy(f->ram + f->regs.rip, bytes, len);
	return x86_emulate(&f->emu, bytes, len);
}

#define EMU(f, ...) \
	emulate(f, (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))

static void expect_done(struct fake *f, uint64_t rip)
{
	assert_int_equal(f->set_regs_calls, 1);
	assert_int_equal(f->regs.rip, rip);
}

/* An exception raised instead: registers untouched. */
static void expect_fault(struct fake *f, uint8_t vector, bool has_error, uint32_t error)
{
	assert_int_equal(f->set_regs_calls, 0);
	assert_int_equal(f->nr_ev, 1);
	assert_int_equal(f->ev[0].vector, vector);
	assert_false(f->ev[0].soft);
	assert_int_equal(f->ev[0].has_error_code, has_error);
	assert_int_equal(f->ev[0].error_code, error);
}

static void expect_pf(struct fake *f, uint64_t cr2, uint32_t error)
{
	expect_fault(f, VEC_PF, true, error);
	assert_int_equal(f->ev[0].cr2, cr2);
}

static void reset_calls(struct fake *f)
{
	f->set_regs_calls = f->set_x87_calls = f->nr_ev = 0;
}

static void test_int3(void **state)
{
	struct fake *f = *state;
	unsigned long before = x86_emu_count(X86_OP_INT3, false);

	assert_int_equal(EMU(f, 0xcc), 0);
	expect_done(f, CODE + 1);
	assert_int_equal(f->nr_ev, 1);
	assert_int_equal(f->ev[0].vector, VEC_BP);
	assert_false(f->ev[0].soft); /* KVM delivers #BP as INT3's software exception */
	assert_false(f->ev[0].has_error_code);
	assert_int_equal(x86_emu_count(X86_OP_INT3, false), before + 1);
}

static void test_int(void **state)
{
	struct fake *f = *state;

	assert_int_equal(EMU(f, 0xcd, 0x40), 0);
	expect_done(f, CODE + 2);
	assert_int_equal(f->nr_ev, 1);
	assert_int_equal(f->ev[0].vector, 0x40);
	assert_true(f->ev[0].soft);

	reset_calls(f);
	f->regs.rip = CODE;
	set_gate(f, 0x41, 0x0e);
	assert_int_equal(EMU(f, 0xcd, 0x41), 0);
	expect_fault(f, VEC_NP, true, 0x41 * 8 + 2);

	reset_calls(f);
	set_gate(f, 0x41, 0x8c); /* a call gate */
	assert_int_equal(EMU(f, 0xcd, 0x41), 0);
	expect_fault(f, VEC_GP, true, 0x41 * 8 + 2);

	reset_calls(f);
	f->sregs.idt.limit = 0x40 * 16 + 14; /* one byte short of gate 0x40 */
	assert_int_equal(EMU(f, 0xcd, 0x40), 0);
	expect_fault(f, VEC_GP, true, 0x40 * 8 + 2);
}

static void test_int_cpl3(void **state)
{
	struct fake *f = *state;

	user_mode(f);
	assert_int_equal(EMU(f, 0xcd, 0x40), 0);
	expect_fault(f, VEC_GP, true, 0x40 * 8 + 2);
	reset_calls(f);
	assert_int_equal(EMU(f, 0xcc), 0); /* INT3 checks the DPL too */
	expect_fault(f, VEC_GP, true, 3 * 8 + 2);

	reset_calls(f);
	set_gate(f, 0x42, 0xee); /* DPL 3 */
	assert_int_equal(EMU(f, 0xcd, 0x42), 0);
	expect_done(f, CODE + 2);
	assert_int_equal(f->ev[0].vector, 0x42);
}

static void test_int_real_mode(void **state)
{
	struct fake *f = *state;

	f->sregs.cr0 = CR0_ET;
	f->sregs.cr4 = 0;
	f->sregs.efer = 0;
	f->sregs.cs.l = 0;
	f->sregs.cs.db = 0;
	f->sregs.idt = (struct kvm_dtable){ .base = 0, .limit = 0x3ff };
	f->regs.rip = 0xffff; /* IP wraps at 64 KiB */
	assert_int_equal(EMU(f, 0xcd, 0x10), 0);
	expect_done(f, 0x0001);
	assert_int_equal(f->ev[0].vector, 0x10);
	assert_true(f->ev[0].soft);

	reset_calls(f);
	f->regs.rip = CODE;
	f->sregs.idt.limit = 0x40;
	assert_int_equal(EMU(f, 0xcd, 0x10), 0);
	expect_fault(f, VEC_GP, false, 0); /* no error code outside protected mode */
}

static void test_int_v86(void **state)
{
	struct fake *f = *state;

	f->sregs.cr4 = 0;
	f->sregs.efer = 0;
	f->sregs.cr0 = CR0_PE | CR0_ET;
	f->sregs.cs.l = 0;
	f->regs.rflags |= FLAG_VM; /* IOPL 0 */
	assert_int_equal(EMU(f, 0xcd, 0x21), 0);
	expect_fault(f, VEC_GP, true, 0);
}

static void test_clac_stac(void **state)
{
	struct fake *f = *state;

	assert_int_equal(EMU(f, 0x0f, 0x01, 0xcb), 0);
	expect_done(f, CODE + 3);
	assert_true(f->regs.rflags & FLAG_AC);
	reset_calls(f);
	assert_int_equal(EMU(f, 0x0f, 0x01, 0xca), 0);
	expect_done(f, CODE + 6);
	assert_false(f->regs.rflags & FLAG_AC);

	reset_calls(f);
	assert_int_equal(EMU(f, 0xf0, 0x0f, 0x01, 0xca), 0);
	expect_fault(f, VEC_UD, false, 0);

	reset_calls(f);
	f->emu.features.smap = false;
	assert_int_equal(EMU(f, 0x0f, 0x01, 0xcb), 0);
	expect_fault(f, VEC_UD, false, 0);

	reset_calls(f);
	f->emu.features.smap = true;
	user_mode(f);
	assert_int_equal(EMU(f, 0x0f, 0x01, 0xcb), 0);
	expect_fault(f, VEC_UD, false, 0);
}

static void test_popcnt_registers(void **state)
{
	struct fake *f = *state;

	f->regs.rcx = 0xff00ff00ff00ffULL;
	f->regs.rflags |= FLAG_ARITH;
	assert_int_equal(EMU(f, 0xf3, 0x48, 0x0f, 0xb8, 0xc1), 0); /* popcnt %rcx, %rax */
	expect_done(f, CODE + 5);
	assert_int_equal(f->regs.rax, 32);
	assert_int_equal(f->regs.rflags & FLAG_ARITH, 0);

	reset_calls(f);
	f->regs.rcx = 0;
	f->regs.rflags |= FLAG_ARITH;
	assert_int_equal(EMU(f, 0xf3, 0x48, 0x0f, 0xb8, 0xc1), 0);
	assert_int_equal(f->regs.rax, 0);
	assert_int_equal(f->regs.rflags & FLAG_ARITH, FLAG_ZF);

	/* 32-bit results zero-extend; 16-bit ones leave bits 63:16 alone. */
	f->regs.rax = ~0ULL;
	f->regs.rcx = 0xffffffff00000003ULL;
	assert_int_equal(EMU(f, 0xf3, 0x0f, 0xb8, 0xc1), 0);
	assert_int_equal(f->regs.rax, 2);
	f->regs.rax = ~0ULL;
	f->regs.r9 = 0xffff0007ULL;
	assert_int_equal(EMU(f, 0x66, 0xf3, 0x41, 0x0f, 0xb8, 0xc1), 0); /* popcnt %r9w, %ax */
	assert_int_equal(f->regs.rax, 0xffffffffffff0003ULL);

	reset_calls(f);
	f->emu.features.popcnt = false;
	assert_int_equal(EMU(f, 0xf3, 0x48, 0x0f, 0xb8, 0xc1), 0);
	expect_fault(f, VEC_UD, false, 0);
}

static void test_popcnt_memory(void **state)
{
	struct fake *f = *state;

	set64(f, DATA, 0x8000000000000001ULL);
	set64(f, DATA + 0x100, 0x7);
	f->regs.rbx = DATA;
	assert_int_equal(EMU(f, 0xf3, 0x48, 0x0f, 0xb8, 0x03), 0); /* popcnt (%rbx), %rax */
	assert_int_equal(f->regs.rax, 2);

	/* popcnt disp(%rip), %rax: relative to the next instruction */
	f->regs.rip = CODE;
	assert_int_equal(EMU(f, 0xf3, 0x48, 0x0f, 0xb8, 0x05, 0xf7, 0xff, 0x00, 0x00), 0);
	assert_int_equal(f->regs.rax, 2); /* CODE + 9 + 0xfff7 = DATA */

	/* popcnt (%rbx,%rcx,4), %rax */
	f->regs.rcx = 0x40;
	assert_int_equal(EMU(f, 0xf3, 0x48, 0x0f, 0xb8, 0x04, 0x8b), 0);
	assert_int_equal(f->regs.rax, 3);

	/* fs: adds the FS base in 64-bit mode */
	f->sregs.fs.base = 0x100;
	assert_int_equal(EMU(f, 0x64, 0xf3, 0x48, 0x0f, 0xb8, 0x03), 0);
	assert_int_equal(f->regs.rax, 3);

	/* 67: the effective address is truncated to 32 bits */
	f->regs.rbx = 0x100000000ULL + DATA;
	assert_int_equal(EMU(f, 0x67, 0xf3, 0x48, 0x0f, 0xb8, 0x03), 0);
	assert_int_equal(f->regs.rax, 2);
}

static void test_popcnt_faults(void **state)
{
	struct fake *f = *state;

	f->regs.rbx = LA_ABSENT + 0x10;
	assert_int_equal(EMU(f, 0xf3, 0x48, 0x0f, 0xb8, 0x03), 0);
	expect_pf(f, LA_ABSENT + 0x10, 0);

	/* An operand that straddles into the absent page faults at the page boundary. */
	reset_calls(f);
	f->regs.rbx = LA_ABSENT - 4;
	assert_int_equal(EMU(f, 0xf3, 0x48, 0x0f, 0xb8, 0x03), 0);
	expect_pf(f, LA_ABSENT, 0);

	reset_calls(f);
	f->regs.rbx = 0x0000800000000000ULL;
	assert_int_equal(EMU(f, 0xf3, 0x48, 0x0f, 0xb8, 0x03), 0);
	expect_fault(f, VEC_GP, true, 0);

	reset_calls(f);
	f->regs.rsp = 0x0000800000000000ULL;
	assert_int_equal(EMU(f, 0xf3, 0x48, 0x0f, 0xb8, 0x04, 0x24), 0); /* (%rsp) */
	expect_fault(f, VEC_SS, true, 0);

	reset_calls(f);
	f->regs.rbx = LA_NOT_RAM;
	assert_int_equal(EMU(f, 0xf3, 0x48, 0x0f, 0xb8, 0x03), -ENXIO);
	assert_non_null(strstr(err_msg(ENXIO), "popcnt"));
	assert_int_equal(f->set_regs_calls, 0);
	assert_int_equal(f->nr_ev, 0);
}

static void test_popcnt_cpl3_smap(void **state)
{
	struct fake *f = *state;

	user_mode(f);
	f->regs.rbx = LA_SUPER + DATA;
	assert_int_equal(EMU(f, 0xf3, 0x48, 0x0f, 0xb8, 0x03), 0);
	expect_pf(f, LA_SUPER + DATA, PF_PRESENT | PF_USER);

	/* SMAP: CPL0 reads user pages only with EFLAGS.AC set. */
	reset_calls(f);
	f->sregs.cs.dpl = f->sregs.ss.dpl = 0;
	f->sregs.cr4 |= CR4_SMAP;
	f->regs.rbx = DATA;
	assert_int_equal(EMU(f, 0xf3, 0x48, 0x0f, 0xb8, 0x03), 0);
	expect_pf(f, DATA, PF_PRESENT);
	reset_calls(f);
	f->regs.rflags |= FLAG_AC;
	assert_int_equal(EMU(f, 0xf3, 0x48, 0x0f, 0xb8, 0x03), 0);
	expect_done(f, CODE + 5);
}

static void test_x87_init_and_store(void **state)
{
	struct fake *f = *state;

	f->x87 = (struct x87_state){
		.fcw = 0x1234, .fsw = 0x3885, .ftw = 0xc0, .fop = 7, .fip = 0x1000, .fdp = 0x2000
	};
	assert_int_equal(EMU(f, 0xdb, 0xe3), 0); /* fninit */
	expect_done(f, CODE + 2);
	assert_int_equal(f->x87.fcw, 0x037f);
	assert_int_equal(f->x87.fsw, 0);
	assert_int_equal(f->x87.ftw, 0);
	assert_int_equal(f->x87.fop, 0);
	assert_int_equal(f->x87.fip, 0);
	assert_int_equal(f->x87.fdp, 0);

	f->x87.fcw = 0x027f;
	f->x87.fsw = 0x3804;
	f->regs.rdi = DATA;
	assert_int_equal(EMU(f, 0xd9, 0x3f), 0); /* fnstcw (%rdi) */
	assert_int_equal(get16(f, DATA), 0x027f);
	assert_int_equal(EMU(f, 0xdd, 0x3f), 0); /* fnstsw (%rdi) */
	assert_int_equal(get16(f, DATA), 0x3804);
	f->regs.rax = 0x1111222233334444ULL;
	assert_int_equal(EMU(f, 0xdf, 0xe0), 0); /* fnstsw %ax */
	assert_int_equal(f->regs.rax, 0x1111222233333804ULL);
}

static void test_x87_fldcw(void **state)
{
	struct fake *f = *state;

	f->regs.rdi = DATA;
	f->ram[DATA] = 0x7f;
	f->ram[DATA + 1] = 0x02;
	assert_int_equal(EMU(f, 0xd9, 0x2f), 0); /* fldcw (%rdi) */
	expect_done(f, CODE + 2);
	assert_int_equal(f->x87.fcw, 0x027f);

	/* Unmasking a flagged exception makes it pending (ES and B); masking it again clears. */
	f->x87.fsw = 0x0004; /* ZE */
	f->ram[DATA] = 0x7b;
	f->ram[DATA + 1] = 0x03;
	assert_int_equal(EMU(f, 0xd9, 0x2f), 0);
	assert_int_equal(f->x87.fsw, 0x8084);
	f->x87.fsw = 0x0004;
	f->ram[DATA] = 0x7f;
	assert_int_equal(EMU(f, 0xd9, 0x2f), 0);
	assert_int_equal(f->x87.fsw, 0x0004);
}

static void test_x87_exceptions(void **state)
{
	struct fake *f = *state;

	f->x87.fsw = 0xb8ff; /* busy, TOP 7, C3..C0 partly, ES, SF, every flag */
	assert_int_equal(EMU(f, 0xdb, 0xe2), 0); /* fnclex */
	assert_int_equal(f->x87.fsw, 0x3800);

	/* FWAIT with nothing pending does nothing; with ES it raises #MF (CR0.NE). */
	reset_calls(f);
	assert_int_equal(EMU(f, 0x9b), 0);
	expect_done(f, CODE + 3);
	assert_int_equal(f->set_x87_calls, 0);
	reset_calls(f);
	f->x87.fsw = 0x0084;
	f->sregs.cr0 |= CR0_NE;
	assert_int_equal(EMU(f, 0x9b), 0);
	expect_fault(f, VEC_MF, false, 0);
	/* FLDCW waits too. */
	reset_calls(f);
	f->regs.rdi = DATA;
	assert_int_equal(EMU(f, 0xd9, 0x2f), 0);
	expect_fault(f, VEC_MF, false, 0);
	/* Without CR0.NE the CPU would signal FERR#: not emulated. */
	reset_calls(f);
	f->sregs.cr0 &= ~CR0_NE;
	assert_int_equal(EMU(f, 0x9b), -ENOTSUP);
	assert_non_null(strstr(err_msg(ENOTSUP), "FERR#"));
}

static void test_x87_nm(void **state)
{
	struct fake *f = *state;

	f->sregs.cr0 |= CR0_TS;
	f->regs.rdi = DATA;
	set64(f, DATA, 0x5555);
	assert_int_equal(EMU(f, 0xd9, 0x3f), 0); /* fnstcw */
	expect_fault(f, VEC_NM, false, 0);
	assert_int_equal(get16(f, DATA), 0x5555);
	/* FWAIT faults only with CR0.MP and CR0.TS both set. */
	reset_calls(f);
	assert_int_equal(EMU(f, 0x9b), 0);
	expect_done(f, CODE + 1);
	reset_calls(f);
	f->sregs.cr0 |= CR0_MP;
	assert_int_equal(EMU(f, 0x9b), 0);
	expect_fault(f, VEC_NM, false, 0);
	reset_calls(f);
	f->sregs.cr0 &= ~(CR0_TS | CR0_MP);
	f->sregs.cr0 |= CR0_EM;
	assert_int_equal(EMU(f, 0xdb, 0xe3), 0); /* fninit */
	expect_fault(f, VEC_NM, false, 0);
	assert_int_equal(f->set_x87_calls, 0);
}

static void test_x87_store_faults(void **state)
{
	struct fake *f = *state;

	/* A read-only page: supervisor writes fault only with CR0.WP. */
	f->regs.rdi = LA_READONLY + DATA;
	assert_int_equal(EMU(f, 0xd9, 0x3f), 0);
	expect_done(f, CODE + 2);
	assert_int_equal(get16(f, DATA), 0x037f);
	reset_calls(f);
	f->sregs.cr0 |= CR0_WP;
	assert_int_equal(EMU(f, 0xd9, 0x3f), 0);
	expect_pf(f, LA_READONLY + DATA, PF_PRESENT | PF_WRITE);

	/* A store that straddles into an absent page writes nothing. */
	reset_calls(f);
	f->ram[LA_ABSENT - 1] = 0xaa;
	f->regs.rdi = LA_ABSENT - 1;
	assert_int_equal(EMU(f, 0xd9, 0x3f), 0);
	expect_pf(f, LA_ABSENT, PF_WRITE);
	assert_int_equal(f->ram[LA_ABSENT - 1], 0xaa);
}

static void test_cmpxchg16b(void **state)
{
	struct fake *f = *state;

	set64(f, DATA, 1);
	set64(f, DATA + 8, 2);
	f->regs.rdi = DATA;
	f->regs = (struct kvm_regs){
		.rax = 1, .rdx = 2, .rbx = 3, .rcx = 4, .rdi = DATA, .rip = CODE, .rflags = 0x2
	};
	assert_int_equal(EMU(f, 0xf0, 0x48, 0x0f, 0xc7, 0x0f), 0); /* lock cmpxchg16b (%rdi) */
	expect_done(f, CODE + 5);
	assert_true(f->regs.rflags & FLAG_ZF);
	assert_int_equal(get64(f, DATA), 3);
	assert_int_equal(get64(f, DATA + 8), 4);
	/* The CPU writes the operand: the page is accessed and dirty. */
	assert_int_equal(get64(f, PD) & (A | D), A | D);

	f->regs.rax = 9;
	f->regs.rbx = 5;
	assert_int_equal(EMU(f, 0x48, 0x0f, 0xc7, 0x0f), 0); /* without lock */
	assert_false(f->regs.rflags & FLAG_ZF);
	assert_int_equal(f->regs.rax, 3);
	assert_int_equal(f->regs.rdx, 4);
	assert_int_equal(get64(f, DATA), 3);
	assert_int_equal(get64(f, DATA + 8), 4);
}

static void test_cmpxchg16b_faults(void **state)
{
	struct fake *f = *state;

	f->regs.rdi = DATA + 8;
	assert_int_equal(EMU(f, 0xf0, 0x48, 0x0f, 0xc7, 0x0f), 0);
	expect_fault(f, VEC_GP, true, 0);

	/* A failed comparison writes too: write faults, even on an absent page. */
	reset_calls(f);
	f->regs.rdi = LA_ABSENT;
	assert_int_equal(EMU(f, 0xf0, 0x48, 0x0f, 0xc7, 0x0f), 0);
	expect_pf(f, LA_ABSENT, PF_WRITE);

	reset_calls(f);
	f->sregs.cr0 |= CR0_WP;
	f->regs.rdi = LA_READONLY + DATA;
	assert_int_equal(EMU(f, 0xf0, 0x48, 0x0f, 0xc7, 0x0f), 0);
	expect_pf(f, LA_READONLY + DATA, PF_PRESENT | PF_WRITE);

	reset_calls(f);
	f->regs.rdi = LA_NOT_RAM;
	assert_int_equal(EMU(f, 0xf0, 0x48, 0x0f, 0xc7, 0x0f), -ENXIO);
	assert_non_null(strstr(err_msg(ENXIO), "cmpxchg16b"));

	reset_calls(f);
	f->emu.features.cx16 = false;
	f->regs.rdi = DATA;
	assert_int_equal(EMU(f, 0xf0, 0x48, 0x0f, 0xc7, 0x0f), 0);
	expect_fault(f, VEC_UD, false, 0);
}

static void test_xgetbv(void **state)
{
	struct fake *f = *state;

	f->xcr0 = 0x100000007ULL;
	f->regs.rax = f->regs.rdx = ~0ULL;
	assert_int_equal(EMU(f, 0x0f, 0x01, 0xd0), 0);
	expect_done(f, CODE + 3);
	assert_int_equal(f->regs.rax, 7);
	assert_int_equal(f->regs.rdx, 1);

	/* ECX=1 (XCR0 & XINUSE) only where CPUID says so. */
	reset_calls(f);
	f->regs.rcx = 1;
	assert_int_equal(EMU(f, 0x0f, 0x01, 0xd0), 0);
	expect_fault(f, VEC_GP, true, 0);
	reset_calls(f);
	f->emu.features.xgetbv1 = true;
	assert_int_equal(EMU(f, 0x0f, 0x01, 0xd0), 0);
	assert_int_equal(f->regs.rax, 7);
	reset_calls(f);
	f->regs.rcx = 2;
	assert_int_equal(EMU(f, 0x0f, 0x01, 0xd0), 0);
	expect_fault(f, VEC_GP, true, 0);

	reset_calls(f);
	f->regs.rcx = 0;
	f->sregs.cr4 &= ~CR4_OSXSAVE;
	assert_int_equal(EMU(f, 0x0f, 0x01, 0xd0), 0);
	expect_fault(f, VEC_UD, false, 0);
}

static void test_xsetbv(void **state)
{
	struct fake *f = *state;

	f->regs.rax = 7;
	assert_int_equal(EMU(f, 0x0f, 0x01, 0xd1), 0);
	expect_done(f, CODE + 3);
	assert_int_equal(f->xcr0, 7);

	reset_calls(f);
	f->regs.rax = 2; /* no x87: the vCPU refuses it */
	assert_int_equal(EMU(f, 0x0f, 0x01, 0xd1), 0);
	expect_fault(f, VEC_GP, true, 0);
	assert_int_equal(f->xcr0, 7);

	reset_calls(f);
	f->regs.rax = 3;
	f->regs.rcx = 1;
	assert_int_equal(EMU(f, 0x0f, 0x01, 0xd1), 0);
	expect_fault(f, VEC_GP, true, 0);

	reset_calls(f);
	f->regs.rcx = 0;
	user_mode(f);
	assert_int_equal(EMU(f, 0x0f, 0x01, 0xd1), 0);
	expect_fault(f, VEC_GP, true, 0);

	reset_calls(f);
	f->sregs.cr4 &= ~CR4_OSXSAVE;
	assert_int_equal(EMU(f, 0x0f, 0x01, 0xd1), 0);
	expect_fault(f, VEC_UD, false, 0);
	assert_int_equal(f->xcr0, 7);
}

static void test_fetch(void **state)
{
	struct fake *f = *state;
	static const uint8_t popcnt[] = { 0xf3, 0x48, 0x0f, 0xb8, 0xc1 };

	/* No bytes from KVM, or too few: read them from guest memory. */
	memcpy(f->ram + CODE, popcnt, sizeof(popcnt));
	f->regs.rcx = 0xf;
	assert_int_equal(x86_emulate(&f->emu, NULL, 0), 0);
	expect_done(f, CODE + 5);
	assert_int_equal(f->regs.rax, 4);
	reset_calls(f);
	memcpy(f->ram + CODE + 5, popcnt, sizeof(popcnt));
	assert_int_equal(x86_emulate(&f->emu, popcnt, 2), 0);
	expect_done(f, CODE + 10);

	/* An instruction that runs into an absent page: #PF for the fetch. */
	reset_calls(f);
	f->regs.rip = LA_ABSENT - 2;
	memcpy(f->ram + LA_ABSENT - 2, popcnt, 2);
	assert_int_equal(x86_emulate(&f->emu, NULL, 0), 0);
	expect_pf(f, LA_ABSENT, PF_FETCH);
	/* But one that ends before it does not. */
	reset_calls(f);
	f->ram[LA_ABSENT - 1] = 0xcc;
	f->regs.rip = LA_ABSENT - 1;
	assert_int_equal(x86_emulate(&f->emu, NULL, 0), 0);
	expect_done(f, LA_ABSENT);

	reset_calls(f);
	f->regs.rip = LA_NOT_RAM;
	assert_int_equal(x86_emulate(&f->emu, NULL, 0), -ENXIO);
	assert_non_null(strstr(err_msg(ENXIO), "cannot fetch"));
	/* Bytes after the instruction that are not RAM do not matter. */
	reset_calls(f);
	f->ram[RAM_SIZE - 1] = 0xcc; /* linear LA_NOT_RAM - 1 */
	f->regs.rip = LA_NOT_RAM - 1;
	assert_int_equal(x86_emulate(&f->emu, NULL, 0), 0);
	expect_done(f, LA_NOT_RAM);
}

static void test_unsupported(void **state)
{
	struct fake *f = *state;

	assert_int_equal(EMU(f, 0x0f, 0x0b), -EOPNOTSUPP);
	assert_non_null(strstr(err_msg(EOPNOTSUPP), "0f 0b"));
	assert_int_equal(f->set_regs_calls, 0);
	assert_int_equal(f->nr_ev, 0);
	/* LOCK is for cmpxchg16b only. */
	assert_int_equal(EMU(f, 0xf0, 0xf3, 0x48, 0x0f, 0xb8, 0xc1), 0);
	expect_fault(f, VEC_UD, false, 0);
}

static void test_protected_mode_segments(void **state)
{
	struct fake *f = *state;

	f->sregs.cr0 = CR0_PE | CR0_ET;
	f->sregs.cr4 = 0;
	f->sregs.efer = 0;
	f->sregs.cs.l = 0;
	f->sregs.cs.db = 1;
	f->sregs.ds.base = 0x1000;
	set64(f, DATA, 0xffff);
	f->regs.rbx = DATA - 0x1000;
	assert_int_equal(EMU(f, 0xf3, 0x0f, 0xb8, 0x03), 0); /* popcnt (%ebx), %eax */
	expect_done(f, CODE + 4);
	assert_int_equal(f->regs.rax, 16);

	/* EIP wraps at 4 GiB. */
	reset_calls(f);
	f->regs.rip = 0xfffffffeULL;
	assert_int_equal(EMU(f, 0xf3, 0x0f, 0xb8, 0x03), 0);
	expect_done(f, 2);

	reset_calls(f);
	f->regs.rip = CODE;
	f->sregs.ds.unusable = 1;
	assert_int_equal(EMU(f, 0xf3, 0x0f, 0xb8, 0x03), 0);
	expect_fault(f, VEC_GP, true, 0);
}

static void test_ops_error(void **state)
{
	struct fake *f = *state;

	f->fail_get_regs = true;
	assert_int_equal(EMU(f, 0xcc), -EIO);
	assert_int_equal(f->nr_ev, 0);
}

static void test_stats(void **state)
{
	struct fake *f = *state;
	unsigned long faulted = x86_emu_count(X86_OP_XSETBV, true);
	char *text = NULL;
	size_t size = 0;
	FILE *out;

	f->regs.rax = 0;
	assert_int_equal(EMU(f, 0x0f, 0x01, 0xd1), 0);
	assert_int_equal(x86_emu_count(X86_OP_XSETBV, true), faulted + 1);
	out = open_memstream(&text, &size);
	assert_non_null(out);
	x86_emu_print_stats(out);
	fclose(out);
	assert_non_null(strstr(text, "instructions kvmini completed"));
	assert_non_null(strstr(text, "xsetbv"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_int3, setup, teardown),
		cmocka_unit_test_setup_teardown(test_int, setup, teardown),
		cmocka_unit_test_setup_teardown(test_int_cpl3, setup, teardown),
		cmocka_unit_test_setup_teardown(test_int_real_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_int_v86, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clac_stac, setup, teardown),
		cmocka_unit_test_setup_teardown(test_popcnt_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_popcnt_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_popcnt_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_popcnt_cpl3_smap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_x87_init_and_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_x87_fldcw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_x87_exceptions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_x87_nm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_x87_store_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmpxchg16b, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmpxchg16b_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xgetbv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xsetbv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsupported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_protected_mode_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ops_error, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
