// SPDX-License-Identifier: MIT
/*
 * Runs, at CPL0, the instructions a nested PVM host's KVM cannot emulate and
 * kvmini completes in its place (int3, int n, clac/stac, popcnt, the x87
 * control instructions, cmpxchg16b, xgetbv/xsetbv), and checks their
 * results and the exceptions they raise.  Prints "insn: PASS <test>" or
 * "insn: FAIL <test>: ..." per test, then "insn: <N> failed" and exits 0 if
 * all passed, 1 if not.  The expected results are the SDM's and those of
 * the hardware (checked at CPL3, which runs natively on PVM).
 */
#include "guest.h"

#define VEC_BP	 3
#define VEC_UD	 6
#define VEC_NM	 7
#define VEC_NP	 11
#define VEC_GP	 13
#define VEC_PF	 14
#define VEC_MF	 16
#define VEC_SOFT 0x40 /* INT n target, DPL 0 */
#define VEC_GONE 0x41 /* its gate is made not present */

#define RFLAGS_CF    0x0001
#define RFLAGS_PF    0x0004
#define RFLAGS_AF    0x0010
#define RFLAGS_ZF    0x0040
#define RFLAGS_SF    0x0080
#define RFLAGS_OF    0x0800
#define RFLAGS_AC    0x40000
#define RFLAGS_ARITH (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)

#define CR0_TS	    0x00000008
#define CR0_NE	    0x00000020
#define CR0_WP	    0x00010000
#define CR4_OSXSAVE 0x00040000

#define FSW_ZE 0x0004
#define FSW_ES 0x0080

/* A 2 MiB page of RAM the tests unmap or write-protect for a while. */
#define SCRATCH_ADDR 0x4000000UL

struct trap_record {
	int count;
	uint64_t vector, error, rip, cr2;
};

static volatile struct trap_record trap;
/* Where the handler sends a faulting instruction on (0: return as usual). */
static volatile uint64_t resume_rip;
static int failed;

static void on_trap(struct trap_frame *tf)
{
	uint64_t cr2 = 0;

	if (tf->vector == VEC_PF)
		asm volatile("mov %%cr2, %0" : "=r"(cr2));
	trap.count++;
	trap.vector = tf->vector;
	trap.error = tf->error_code;
	trap.rip = tf->rip;
	trap.cr2 = cr2;
	if (tf->vector == VEC_MF)
		asm volatile("fnclex"); /* or the fwait that raised it faults again */
	if (resume_rip) {
		tf->rip = resume_rip;
		resume_rip = 0;
	}
}

static void trap_reset(void)
{
	trap.count = 0;
	trap.vector = trap.error = trap.rip = trap.cr2 = 0;
}

static void result(const char *test, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void result(const char *test, bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("insn: PASS %s\n", test);
		return;
	}
	failed++;
	printf("insn: FAIL %s: ", test);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Expect exactly one trap @vector with @error since trap_reset(). */
static void expect_trap(const char *test, uint64_t vector, uint64_t error)
{
	result(test, trap.count == 1 && trap.vector == vector && trap.error == error,
	       "%d traps, last vector %lu error %#lx (want vector %lu error %#lx)", trap.count,
	       trap.vector, trap.error, vector, error);
}

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	asm volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static uint64_t read_cr0(void)
{
	uint64_t v;

	asm volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static void write_cr0(uint64_t v)
{
	asm volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

static uint64_t read_cr4(void)
{
	uint64_t v;

	asm volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static void write_cr4(uint64_t v)
{
	asm volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

static void flush_tlb(void)
{
	uint64_t cr3;

	asm volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
}

/* The IDT gate of @vector (16 bytes; byte 5 holds P, DPL and the type). */
static volatile uint8_t *idt_gate(unsigned int vector)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr;

	asm volatile("sidt %0" : "=m"(idtr));
	return (volatile uint8_t *)(idtr.base + 16 * vector);
}

/* The 2 MiB page directory entry mapping @addr (below 1 GiB). */
static volatile uint64_t *pde(uint64_t addr)
{
	uint64_t cr3, *pml4, *pdpt, *pd;

	asm volatile("mov %%cr3, %0" : "=r"(cr3));
	pml4 = (uint64_t *)(cr3 & ~0xfffUL);
	pdpt = (uint64_t *)(pml4[0] & ~0xfffUL);
	pd = (uint64_t *)(pdpt[0] & ~0xfffUL);
	return &pd[addr >> 21];
}

static void test_int3(void)
{
	uint64_t after;

	trap_reset();
	asm volatile("int3\n\t"
		     "1: leaq 1b(%%rip), %0"
		     : "=r"(after));
	expect_trap("int3", VEC_BP, 0);
	result("int3-rip", trap.rip == after, "pushed RIP %#lx, want %#lx (after int3)", trap.rip,
	       after);
}

static void test_int(void)
{
	uint64_t after;

	trap_reset();
	asm volatile("int $0x40\n\t"
		     "1: leaq 1b(%%rip), %0"
		     : "=r"(after));
	expect_trap("int", VEC_SOFT, 0);
	result("int-rip", trap.rip == after, "pushed RIP %#lx, want %#lx (after int)", trap.rip,
	       after);

	trap_reset();
	idt_gate(VEC_GONE)[5] &= ~0x80;
	asm volatile("leaq 1f(%%rip), %%rax; movq %%rax, %0\n\t"
		     "int $0x41\n"
		     "1:"
		     : "=m"(resume_rip)
		     :
		     : "rax", "memory");
	idt_gate(VEC_GONE)[5] |= 0x80;
	expect_trap("int-not-present", VEC_NP, VEC_GONE * 8 + 2);
}

static void test_clac_stac(bool smap)
{
	uint64_t set, clear;

	trap_reset();
	resume_rip = 0;
	if (!smap) {
		asm volatile("leaq 1f(%%rip), %%rax; movq %%rax, %0\n\t"
			     "stac\n"
			     "1:"
			     : "=m"(resume_rip)
			     :
			     : "rax", "memory");
		expect_trap("stac-no-smap", VEC_UD, 0);
		return;
	}
	asm volatile("stac; pushfq; popq %0; clac; pushfq; popq %1"
		     : "=r"(set), "=r"(clear)
		     :
		     : "cc");
	result("stac", set & RFLAGS_AC, "RFLAGS %#lx after stac", set);
	result("clac", !(clear & RFLAGS_AC), "RFLAGS %#lx after clac", clear);
}

static volatile uint64_t popcnt_mem = 0x8000000000000101UL;

static void test_popcnt(void)
{
	static volatile uint32_t arr[4] = { 0, 0, 0xff00ff, 0 };
	uint64_t r, flags, src = 0xf0f0f0f0f0f0f0f0UL;
	uint64_t idx = 2;

	asm volatile("pushq %3; popfq; popcntq %2, %0; pushfq; popq %1"
		     : "=&r"(r), "=r"(flags)
		     : "r"(src), "r"((uint64_t)(RFLAGS_ARITH | 2))
		     : "cc");
	result("popcnt-r64", r == 32 && !(flags & RFLAGS_ARITH), "result %lu flags %#lx", r,
	       flags);

	asm volatile("popcntq %2, %0; pushfq; popq %1" : "=&r"(r), "=r"(flags) : "r"(0UL) : "cc");
	result("popcnt-zero", r == 0 && (flags & RFLAGS_ARITH) == RFLAGS_ZF,
	       "result %lu flags %#lx", r, flags);

	r = ~0UL;
	asm volatile("popcntl %k1, %k0" : "+r"(r) : "r"(0xffff0001UL) : "cc");
	result("popcnt-r32", r == 17, "result %#lx (upper half must be cleared)", r);

	r = ~0UL;
	asm volatile("popcntw %w1, %w0" : "+r"(r) : "r"(0x1234UL) : "cc");
	result("popcnt-r16", r == 0xffffffffffff0005UL, "result %#lx (bits 63:16 must stay)",
	       r);

	asm volatile("popcntq (%1), %0" : "=r"(r) : "r"(&popcnt_mem), "m"(popcnt_mem) : "cc");
	result("popcnt-m64", r == 3, "result %lu", r);

	asm volatile("popcntq popcnt_mem(%%rip), %0" : "=r"(r) : "m"(popcnt_mem) : "cc");
	result("popcnt-rip", r == 3, "result %lu", r);

	asm volatile("popcntl (%1,%2,4), %k0" : "=r"(r) : "r"(arr), "r"(idx), "m"(arr) : "cc");
	result("popcnt-sib", r == 16, "result %lu", r);
}

struct u128 {
	uint64_t lo, hi;
} __attribute__((aligned(16)));

/* cmpxchg16b at @p: expect @old, store @new.  Returns ZF. */
static bool cmpxchg16b(void *p, struct u128 *old, struct u128 new, bool lock)
{
	bool zf;

	if (lock)
		asm volatile("lock cmpxchg16b (%[p])"
			     : "=@ccz"(zf), "+a"(old->lo), "+d"(old->hi)
			     : [p] "r"(p), "b"(new.lo), "c"(new.hi)
			     : "memory");
	else
		asm volatile("cmpxchg16b (%[p])"
			     : "=@ccz"(zf), "+a"(old->lo), "+d"(old->hi)
			     : [p] "r"(p), "b"(new.lo), "c"(new.hi)
			     : "memory");
	return zf;
}

/* cmpxchg16b at @p expecting a fault: resumes after it. */
static void cmpxchg16b_fault(void *p)
{
	asm volatile("leaq 1f(%%rip), %%r11; movq %%r11, %0\n\t"
		     "lock cmpxchg16b (%1)\n"
		     "1:"
		     : "=m"(resume_rip)
		     : "r"(p), "a"(0), "d"(0), "b"(1), "c"(1)
		     : "r11", "memory", "cc");
}

static void test_cmpxchg16b(void)
{
	static struct u128 m[2];
	struct u128 old = { 1, 2 };
	volatile uint64_t *e = pde(SCRATCH_ADDR);
	uint64_t saved = *e;
	bool zf;

	m[0] = (struct u128){ 1, 2 };
	zf = cmpxchg16b(&m[0], &old, (struct u128){ 3, 4 }, true);
	result("cmpxchg16b-equal", zf && m[0].lo == 3 && m[0].hi == 4,
	       "ZF %d memory %#lx:%#lx", zf, m[0].hi, m[0].lo);

	old = (struct u128){ 9, 9 };
	zf = cmpxchg16b(&m[0], &old, (struct u128){ 5, 6 }, false);
	result("cmpxchg16b-differ",
	       !zf && old.lo == 3 && old.hi == 4 && m[0].lo == 3 && m[0].hi == 4,
	       "ZF %d RDX:RAX %#lx:%#lx memory %#lx:%#lx", zf, old.hi, old.lo, m[0].hi, m[0].lo);

	trap_reset();
	cmpxchg16b_fault((char *)&m[0] + 8);
	expect_trap("cmpxchg16b-misaligned", VEC_GP, 0);

	trap_reset();
	*e = saved & ~PTE_P;
	flush_tlb();
	cmpxchg16b_fault((void *)(SCRATCH_ADDR + 0x40));
	*e = saved;
	flush_tlb();
	expect_trap("cmpxchg16b-not-present", VEC_PF, 0x2);
	result("cmpxchg16b-cr2", trap.cr2 == SCRATCH_ADDR + 0x40, "CR2 %#lx", trap.cr2);

	/* Read-only page: supervisor writes fault only with CR0.WP. */
	*e = saved & ~PTE_RW;
	flush_tlb();
	old = (struct u128){ 0, 0 };
	*(volatile uint64_t *)SCRATCH_ADDR = 0;
	*(volatile uint64_t *)(SCRATCH_ADDR + 8) = 0;
	zf = cmpxchg16b((void *)SCRATCH_ADDR, &old, (struct u128){ 7, 8 }, true);
	result("cmpxchg16b-readonly-wp0", zf && *(volatile uint64_t *)SCRATCH_ADDR == 7, "ZF %d",
	       zf);
	trap_reset();
	write_cr0(read_cr0() | CR0_WP);
	cmpxchg16b_fault((void *)SCRATCH_ADDR);
	write_cr0(read_cr0() & ~CR0_WP);
	*e = saved;
	flush_tlb();
	expect_trap("cmpxchg16b-readonly-wp1", VEC_PF, 0x3);
}

static uint16_t fnstcw(void)
{
	uint16_t cw;

	asm volatile("fnstcw %0" : "=m"(cw));
	return cw;
}

static uint16_t fnstsw_mem(void)
{
	uint16_t sw;

	asm volatile("fnstsw %0" : "=m"(sw));
	return sw;
}

static uint16_t fnstsw_ax(void)
{
	uint16_t sw;

	asm volatile("fnstsw %%ax" : "=a"(sw));
	return sw;
}

static void fldcw(uint16_t cw)
{
	asm volatile("fldcw %0" : : "m"(cw));
}

/* CPL3 runs x87 code natively: it sees what the CPU really holds. */
static long user_fnstcw(void *arg)
{
	(void)arg;
	return fnstcw();
}

static long user_fldcw(void *arg)
{
	fldcw(*(uint16_t *)arg);
	return 0;
}

/* 1/0 with the zero-divide exception unmasked: pending until the next waiting insn. */
static long user_divide_by_zero(void *arg)
{
	(void)arg;
	fldcw(0x037b);
	asm volatile("fldz; fld1; fdiv %%st(1), %%st" ::: "memory");
	return 0;
}

static void test_x87(void)
{
	uint16_t cw = 0x0f7f, sw;
	long got;

	asm volatile("fninit");
	result("fninit", fnstcw() == 0x037f && fnstsw_mem() == 0 && fnstsw_ax() == 0,
	       "FCW %#x FSW %#x", fnstcw(), fnstsw_mem());

	fldcw(0x027f);
	result("fldcw", fnstcw() == 0x027f, "FCW %#x", fnstcw());
	got = run_user(user_fnstcw, NULL);
	result("fldcw-cpu", got == 0x027f, "FCW %#lx at CPL3", got);
	run_user(user_fldcw, &cw);
	result("fnstcw-cpu", fnstcw() == 0x0f7f, "FCW %#x after fldcw at CPL3", fnstcw());

	trap_reset();
	asm volatile("fwait");
	result("fwait", trap.count == 0, "%d traps with no exception pending", trap.count);

	run_user(user_divide_by_zero, NULL);
	sw = fnstsw_ax();
	result("fnstsw-pending", (sw & (FSW_ZE | FSW_ES)) == (FSW_ZE | FSW_ES), "FSW %#x", sw);
	trap_reset();
	write_cr0(read_cr0() | CR0_NE);
	asm volatile("fwait");
	expect_trap("fwait-mf", VEC_MF, 0);
	sw = fnstsw_mem();
	result("fnclex", !(sw & 0x80ff), "FSW %#x after fnclex", sw);

	run_user(user_divide_by_zero, NULL);
	asm volatile("fnclex");
	sw = fnstsw_ax();
	result("fnclex-direct", !(sw & 0x80ff), "FSW %#x after fnclex", sw);

	/* CR0.TS: the x87 instructions raise #NM, but FWAIT only with CR0.MP too. */
	trap_reset();
	write_cr0(read_cr0() | CR0_TS);
	asm volatile("leaq 1f(%%rip), %%rax; movq %%rax, %0\n\t"
		     "fnstcw %1\n"
		     "1:"
		     : "=m"(resume_rip), "=m"(cw)
		     :
		     : "rax", "memory");
	asm volatile("fwait");
	write_cr0(read_cr0() & ~CR0_TS);
	expect_trap("fnstcw-ts", VEC_NM, 0);
	asm volatile("fninit");
}

static void xsetbv(uint32_t ecx, uint64_t v)
{
	asm volatile("xsetbv" : : "c"(ecx), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static uint64_t xgetbv(uint32_t ecx)
{
	uint32_t lo, hi;

	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(ecx));
	return ((uint64_t)hi << 32) | lo;
}

static void xsetbv_fault(uint32_t ecx, uint64_t v)
{
	asm volatile("leaq 1f(%%rip), %%r11; movq %%r11, %0\n\t"
		     "xsetbv\n"
		     "1:"
		     : "=m"(resume_rip)
		     : "c"(ecx), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
		     : "r11", "memory");
}

static void test_xcr0(void)
{
	uint64_t v;

	write_cr4(read_cr4() | CR4_OSXSAVE);
	v = xgetbv(0);
	result("xgetbv", v & 1, "XCR0 %#lx", v);
	xsetbv(0, 3);
	v = xgetbv(0);
	result("xsetbv", v == 3, "XCR0 %#lx after xsetbv 3", v);

	trap_reset();
	xsetbv_fault(0, 2);
	expect_trap("xsetbv-no-x87", VEC_GP, 0);
	trap_reset();
	xsetbv_fault(5, 3);
	expect_trap("xsetbv-bad-xcr", VEC_GP, 0);
	xsetbv(0, 1);

	trap_reset();
	write_cr4(read_cr4() & ~CR4_OSXSAVE);
	asm volatile("leaq 1f(%%rip), %%r11; movq %%r11, %0\n\t"
		     "xgetbv\n"
		     "1:"
		     : "=m"(resume_rip)
		     : "c"(0)
		     : "r11", "rax", "rdx", "memory");
	expect_trap("xgetbv-no-osxsave", VEC_UD, 0);
}

int main(void)
{
	static const unsigned int vectors[] = { VEC_BP,	  VEC_UD,   VEC_NM,   VEC_NP,	VEC_GP,
						VEC_PF,	  VEC_MF,   VEC_SOFT, VEC_GONE };
	uint32_t r1[4], r7[4];

	for (unsigned int i = 0; i < ARRAY_SIZE(vectors); i++)
		trap_register(vectors[i], on_trap);
	cpuid(1, 0, r1);
	cpuid(7, 0, r7);

	test_int3();
	test_int();
	test_clac_stac(r7[1] & (1u << 20));
	if (r1[2] & (1u << 23))
		test_popcnt();
	if (r1[2] & (1u << 13))
		test_cmpxchg16b();
	test_x87();
	if (r1[2] & (1u << 26))
		test_xcr0();
	printf("insn: %d failed\n", failed);
	return failed ? GUEST_EXIT_FAIL : GUEST_EXIT_OK;
}
