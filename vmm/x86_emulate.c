// SPDX-License-Identifier: MIT
/*
 * The effect of the instructions x86_decode() knows, on a vCPU reached
 * through struct x86_emu_ops.  Each handler either completes its
 * instruction (registers, memory, x87 state; RIP moves on) or raises the
 * exception the SDM lists for the situation, injected with RIP left on the
 * instruction.  Memory operands go through the guest's page tables
 * (paging.c) to guest RAM.
 */
#include <errno.h>
#include <stddef.h>

#include "error.h"
#include "paging.h"
#include "util.h"
#include "x86_insn.h"

#define EMU_FAULTED 1 /* handler result: an exception was injected instead */

#define VEC_BP 3
#define VEC_UD 6
#define VEC_NM 7
#define VEC_NP 11
#define VEC_SS 12
#define VEC_GP 13
#define VEC_PF 14
#define VEC_MF 16

#define FLAG_CF	  (1ULL << 0)
#define FLAG_PF	  (1ULL << 2)
#define FLAG_AF	  (1ULL << 4)
#define FLAG_ZF	  (1ULL << 6)
#define FLAG_SF	  (1ULL << 7)
#define FLAG_OF	  (1ULL << 11)
#define FLAG_IOPL (3ULL << 12)
#define FLAG_RF	  (1ULL << 16)
#define FLAG_VM	  (1ULL << 17)
#define FLAG_AC	  (1ULL << 18)

#define CR0_PE	    (1ULL << 0)
#define CR0_MP	    (1ULL << 1)
#define CR0_EM	    (1ULL << 2)
#define CR0_TS	    (1ULL << 3)
#define CR0_NE	    (1ULL << 5)
#define CR4_OSXSAVE (1ULL << 18)
#define EFER_LMA    (1ULL << 10)

#define FSW_EXCEPTIONS 0x003f
#define FSW_ES	       0x0080 /* an unmasked exception is pending */
#define FSW_B	       0x8000 /* mirrors ES */
#define FCW_INIT       0x037f

struct emu_ctx {
	struct x86_emu *emu;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct paging_mode paging;
	enum x86_mode mode;
	unsigned int cpl;
	const struct x86_insn *insn;
	uint64_t next_rip;
	bool has_event; /* delivered after the instruction completes (INT n, INT3) */
	struct x86_event event;
};

static unsigned long counts[X86_NR_OPS][2];

/* kvm_regs fields in register-number order. */
static const size_t gpr_offset[16] = {
	offsetof(struct kvm_regs, rax), offsetof(struct kvm_regs, rcx),
	offsetof(struct kvm_regs, rdx), offsetof(struct kvm_regs, rbx),
	offsetof(struct kvm_regs, rsp), offsetof(struct kvm_regs, rbp),
	offsetof(struct kvm_regs, rsi), offsetof(struct kvm_regs, rdi),
	offsetof(struct kvm_regs, r8),	offsetof(struct kvm_regs, r9),
	offsetof(struct kvm_regs, r10), offsetof(struct kvm_regs, r11),
	offsetof(struct kvm_regs, r12), offsetof(struct kvm_regs, r13),
	offsetof(struct kvm_regs, r14), offsetof(struct kvm_regs, r15),
};

static uint64_t *gpr(struct emu_ctx *c, unsigned int n)
{
	return (uint64_t *)((char *)&c->regs + gpr_offset[n & 15]);
}

static uint64_t truncate(uint64_t v, unsigned int size)
{
	return size == 8 ? v : v & ((1ULL << (8 * size)) - 1);
}

/* Write a register as an instruction with @size-byte operands does. */
static void set_gpr(struct emu_ctx *c, unsigned int n, uint64_t v, unsigned int size)
{
	uint64_t *r = gpr(c, n);

	if (size == 2)
		*r = (*r & ~0xffffULL) | (v & 0xffff);
	else
		*r = truncate(v, size); /* 32-bit results zero-extend */
}

static const struct kvm_segment *segment(const struct emu_ctx *c, enum x86_seg seg)
{
	const struct kvm_segment *s[] = { &c->sregs.es, &c->sregs.cs, &c->sregs.ss,
					  &c->sregs.ds, &c->sregs.fs, &c->sregs.gs };

	return s[seg];
}

static bool protected_mode(const struct emu_ctx *c)
{
	return c->sregs.cr0 & CR0_PE;
}

static int inject(struct emu_ctx *c, const struct x86_event *ev)
{
	int ret = c->emu->ops->inject(c->emu->opaque, ev);

	return ret ? ret : EMU_FAULTED;
}

/* Raise exception @vector; outside protected mode no error code is pushed. */
static int raise_exc(struct emu_ctx *c, uint8_t vector, bool has_error_code, uint32_t error_code)
{
	struct x86_event ev = {
		.vector = vector,
		.has_error_code = has_error_code && protected_mode(c),
		.error_code = error_code,
	};

	return inject(c, &ev);
}

static int raise_ud(struct emu_ctx *c)
{
	return raise_exc(c, VEC_UD, false, 0);
}

static int raise_gp0(struct emu_ctx *c)
{
	return raise_exc(c, VEC_GP, true, 0);
}

/* A failed translation of @la: #PF, #GP or #SS as the CPU raises them, or an error. */
static int translate_fault(struct emu_ctx *c, int ret, uint64_t la, bool stack,
			   const struct paging_result *res)
{
	struct x86_event ev = { .vector = VEC_PF, .has_error_code = true };

	if (ret == -EINVAL)
		return raise_exc(c, stack ? VEC_SS : VEC_GP, true, 0);
	if (ret != -EFAULT)
		return ret;
	ev.error_code = res->pf_error;
	ev.cr2 = la;
	return inject(c, &ev);
}

/* The kind of an explicit data access by the instruction, for paging_translate(). */
static unsigned int data_access(const struct emu_ctx *c, bool write)
{
	unsigned int access = PAGING_SET_AD | (write ? PAGING_WRITE : 0);

	if (c->cpl == 3)
		return access | PAGING_USER;
	return access | ((c->regs.rflags & FLAG_AC) ? PAGING_AC : 0);
}

/*
 * Copy @len bytes between linear address @la and @buf.  Every page is
 * translated before any byte is written, so a fault leaves memory untouched.
 */
static int mem_rw(struct emu_ctx *c, uint64_t la, void *buf, unsigned int len, unsigned int access,
		  bool stack)
{
	uint64_t gpa[2];
	unsigned int part[2], n = 0;
	struct paging_result res;
	int ret;

	for (unsigned int done = 0; done < len; done += part[n++]) {
		uint64_t a = la + done;

		part[n] = 4096 - (a & 4095);
		if (part[n] > len - done)
			part[n] = len - done;
		ret = paging_translate(c->emu->mem, &c->paging, a, access, &res);
		if (ret)
			return translate_fault(c, ret, a, stack, &res);
		gpa[n] = res.gpa;
	}
	for (unsigned int i = 0, off = 0; i < n; off += part[i++]) {
		if (access & PAGING_WRITE)
			ret = guest_mem_write(c->emu->mem, gpa[i], (char *)buf + off, part[i]);
		else
			ret = guest_mem_read(c->emu->mem, gpa[i], (char *)buf + off, part[i]);
		if (ret)
			return err_set(ENXIO,
				       "%s: its memory operand is at guest physical 0x%llx, which "
				       "is not RAM",
				       x86_op_name(c->insn->op), (unsigned long long)gpa[i]);
	}
	return 0;
}

/* The linear address of the ModRM memory operand, or EMU_FAULTED. */
static int operand_la(struct emu_ctx *c, uint64_t *la)
{
	const struct x86_insn *insn = c->insn;
	const struct kvm_segment *s = segment(c, insn->seg);
	uint64_t ea = insn->disp;

	if (insn->base == X86_REG_RIP)
		ea += c->next_rip;
	else if (insn->base != X86_REG_NONE)
		ea += *gpr(c, insn->base);
	if (insn->index != X86_REG_NONE)
		ea += *gpr(c, insn->index) * insn->scale;
	ea = truncate(ea, insn->addr_size);
	if (c->mode == X86_MODE_64) {
		*la = ea + (insn->seg >= X86_SEG_FS ? s->base : 0);
		return 0;
	}
	if (protected_mode(c) && !(c->regs.rflags & FLAG_VM) && s->unusable)
		return raise_exc(c, insn->seg == X86_SEG_SS ? VEC_SS : VEC_GP, true, 0);
	*la = (s->base + ea) & 0xffffffffULL;
	return 0;
}

static int operand_rw(struct emu_ctx *c, void *buf, unsigned int len, bool write)
{
	uint64_t la;
	int ret = operand_la(c, &la);

	if (ret)
		return ret;
	return mem_rw(c, la, buf, len, data_access(c, write), c->insn->seg == X86_SEG_SS);
}

/*
 * INT3 and INT n: the checks of the IDT gate the CPU makes for software
 * interrupts, then the event is delivered once RIP has moved past the
 * instruction (it is a trap).
 */
static int soft_interrupt(struct emu_ctx *c, uint8_t vector, bool soft)
{
	bool long_mode = c->sregs.efer & EFER_LMA;
	unsigned int gate_size = long_mode ? 16 : 8;
	uint32_t error = vector * 8 + 2; /* IDT bit set */
	uint8_t gate[8], type, dpl;
	int ret;

	if (!protected_mode(c)) {
		if (vector * 4 + 3 > c->sregs.idt.limit)
			return raise_gp0(c);
	} else {
		if (vector * gate_size + gate_size - 1 > c->sregs.idt.limit)
			return raise_exc(c, VEC_GP, true, error);
		ret = mem_rw(c, c->sregs.idt.base + vector * gate_size, gate, sizeof(gate),
			     PAGING_SET_AD, false);
		if (ret)
			return ret;
		type = gate[5] & 0x1f; /* including the S bit, which must be 0 */
		dpl = (gate[5] >> 5) & 3;
		if (type != 0x0e && type != 0x0f &&
		    (long_mode || (type != 0x05 && type != 0x06 && type != 0x07)))
			return raise_exc(c, VEC_GP, true, error);
		if (dpl < c->cpl)
			return raise_exc(c, VEC_GP, true, error);
		if (!(gate[5] & 0x80))
			return raise_exc(c, VEC_NP, true, error);
	}
	c->has_event = true;
	c->event = (struct x86_event){ .vector = vector, .soft = soft };
	return 0;
}

static int emu_int3(struct emu_ctx *c)
{
	return soft_interrupt(c, VEC_BP, false);
}

static int emu_int(struct emu_ctx *c)
{
	/* Virtual-8086 mode without IOPL 3 lets the monitor handle INT n. */
	if ((c->regs.rflags & FLAG_VM) && (c->regs.rflags & FLAG_IOPL) != FLAG_IOPL)
		return raise_gp0(c);
	return soft_interrupt(c, c->insn->imm, true);
}

static int emu_clac_stac(struct emu_ctx *c)
{
	if (!c->emu->features.smap || c->cpl > 0)
		return raise_ud(c);
	if (c->insn->op == X86_OP_STAC)
		c->regs.rflags |= FLAG_AC;
	else
		c->regs.rflags &= ~FLAG_AC;
	return 0;
}

static int emu_popcnt(struct emu_ctx *c)
{
	const struct x86_insn *insn = c->insn;
	uint64_t src = 0;
	int ret;

	if (!c->emu->features.popcnt)
		return raise_ud(c);
	if (insn->mem) {
		ret = operand_rw(c, &src, insn->op_size, false);
		if (ret)
			return ret;
	} else {
		src = truncate(*gpr(c, insn->rm), insn->op_size);
	}
	set_gpr(c, insn->reg, __builtin_popcountll(src), insn->op_size);
	c->regs.rflags &= ~(FLAG_OF | FLAG_SF | FLAG_ZF | FLAG_AF | FLAG_CF | FLAG_PF);
	if (!src)
		c->regs.rflags |= FLAG_ZF;
	return 0;
}

/* #NM: the OS keeps the x87 state elsewhere (TS) or emulates x87 (EM). */
static int x87_available(struct emu_ctx *c)
{
	uint64_t cr0 = c->sregs.cr0;

	if (c->insn->op == X86_OP_FWAIT ? (cr0 & CR0_MP) && (cr0 & CR0_TS)
					: cr0 & (CR0_EM | CR0_TS))
		return raise_exc(c, VEC_NM, false, 0);
	return 0;
}

static int x87_get(struct emu_ctx *c, struct x87_state *x87)
{
	int ret = x87_available(c);

	return ret ? ret : c->emu->ops->get_x87(c->emu->opaque, x87);
}

/* Waiting x87 instructions first report a pending unmasked exception. */
static int x87_wait(struct emu_ctx *c, const struct x87_state *x87)
{
	if (!(x87->fsw & FSW_ES))
		return 0;
	if (c->sregs.cr0 & CR0_NE)
		return raise_exc(c, VEC_MF, false, 0);
	return err_set(ENOTSUP,
		       "%s: the guest reports x87 exceptions through FERR# (CR0.NE=0), which "
		       "kvmini does not emulate",
		       x86_op_name(c->insn->op));
}

static int x87_set(struct emu_ctx *c, const struct x87_state *x87)
{
	return c->emu->ops->set_x87(c->emu->opaque, x87);
}

static int emu_fninit(struct emu_ctx *c)
{
	struct x87_state x87 = { .fcw = FCW_INIT };
	int ret = x87_available(c);

	return ret ? ret : x87_set(c, &x87);
}

static int emu_fwait(struct emu_ctx *c)
{
	struct x87_state x87;
	int ret = x87_get(c, &x87);

	return ret ? ret : x87_wait(c, &x87);
}

static int emu_fnclex(struct emu_ctx *c)
{
	struct x87_state x87;
	int ret = x87_get(c, &x87);

	if (ret)
		return ret;
	x87.fsw &= ~(FSW_B | FSW_ES | 0x7f); /* exception flags, SF, ES, B */
	return x87_set(c, &x87);
}

static int emu_fldcw(struct emu_ctx *c)
{
	struct x87_state x87;
	uint16_t fcw;
	int ret = x87_get(c, &x87);

	if (!ret)
		ret = x87_wait(c, &x87);
	if (!ret)
		ret = operand_rw(c, &fcw, sizeof(fcw), false);
	if (ret)
		return ret;
	x87.fcw = fcw;
	/* Unmasking a flagged exception makes it pending for the next waiting instruction. */
	if (x87.fsw & ~fcw & FSW_EXCEPTIONS)
		x87.fsw |= FSW_ES | FSW_B;
	else
		x87.fsw &= ~(FSW_ES | FSW_B);
	return x87_set(c, &x87);
}

static int emu_fnstcw(struct emu_ctx *c)
{
	struct x87_state x87;
	int ret = x87_get(c, &x87);

	return ret ? ret : operand_rw(c, &x87.fcw, sizeof(x87.fcw), true);
}

static int emu_fnstsw(struct emu_ctx *c)
{
	struct x87_state x87;
	int ret = x87_get(c, &x87);

	if (ret)
		return ret;
	if (c->insn->mem)
		return operand_rw(c, &x87.fsw, sizeof(x87.fsw), true);
	set_gpr(c, 0, x87.fsw, 2);
	return 0;
}

/* LOCK CMPXCHG16B on the host's mapping of the guest page: atomic for every vCPU. */
static bool cas16(void *p, uint64_t *lo, uint64_t *hi, uint64_t new_lo, uint64_t new_hi)
{
	bool ok;

	asm volatile("lock cmpxchg16b %[m]"
		     : [m] "+m"(*(volatile __int128 *)p), "=@ccz"(ok), "+a"(*lo), "+d"(*hi)
		     : "b"(new_lo), "c"(new_hi)
		     : "memory");
	return ok;
}

static int emu_cmpxchg16b(struct emu_ctx *c)
{
	struct paging_result res;
	uint64_t la, lo, hi;
	void *p;
	int ret;

	if (!c->emu->features.cx16)
		return raise_ud(c);
	ret = operand_la(c, &la);
	if (ret)
		return ret;
	if (la & 15)
		return raise_gp0(c);
	/* The CPU writes the operand back even when the comparison fails: a write access. */
	ret = paging_translate(c->emu->mem, &c->paging, la, data_access(c, true), &res);
	if (ret)
		return translate_fault(c, ret, la, c->insn->seg == X86_SEG_SS, &res);
	p = guest_mem_ptr(c->emu->mem, res.gpa, 16);
	if (!p || ((uintptr_t)p & 15))
		return err_set(ENXIO,
			       "cmpxchg16b: its operand is at guest physical 0x%llx, which is not "
			       "RAM kvmini can update atomically",
			       (unsigned long long)res.gpa);
	lo = c->regs.rax;
	hi = c->regs.rdx;
	c->regs.rflags &= ~FLAG_ZF;
	if (cas16(p, &lo, &hi, c->regs.rbx, c->regs.rcx))
		c->regs.rflags |= FLAG_ZF;
	c->regs.rax = lo; /* on failure, the value found in memory */
	c->regs.rdx = hi;
	return 0;
}

static int emu_xgetbv(struct emu_ctx *c)
{
	uint32_t ecx = c->regs.rcx;
	uint64_t xcr0;
	int ret;

	if (!(c->sregs.cr4 & CR4_OSXSAVE))
		return raise_ud(c);
	/* XCR0 & XINUSE: XINUSE may report a component in its initial state as in use. */
	if (ecx > 1 || (ecx == 1 && !c->emu->features.xgetbv1))
		return raise_gp0(c);
	ret = c->emu->ops->get_xcr0(c->emu->opaque, &xcr0);
	if (ret)
		return ret;
	set_gpr(c, 0, (uint32_t)xcr0, 4);
	set_gpr(c, 2, xcr0 >> 32, 4);
	return 0;
}

static int emu_xsetbv(struct emu_ctx *c)
{
	uint64_t xcr0 = (c->regs.rdx << 32) | (uint32_t)c->regs.rax;
	int ret;

	if (!(c->sregs.cr4 & CR4_OSXSAVE))
		return raise_ud(c);
	if (c->cpl > 0 || (uint32_t)c->regs.rcx != 0)
		return raise_gp0(c);
	/* KVM knows which values the guest may set; it refuses the others. */
	ret = c->emu->ops->set_xcr0(c->emu->opaque, xcr0);
	return ret == -EINVAL ? raise_gp0(c) : ret;
}

static int (*const handlers[X86_NR_OPS])(struct emu_ctx *c) = {
	[X86_OP_INT3] = emu_int3,      [X86_OP_INT] = emu_int,
	[X86_OP_CLAC] = emu_clac_stac, [X86_OP_STAC] = emu_clac_stac,
	[X86_OP_POPCNT] = emu_popcnt,  [X86_OP_FNINIT] = emu_fninit,
	[X86_OP_FWAIT] = emu_fwait,    [X86_OP_FNCLEX] = emu_fnclex,
	[X86_OP_FLDCW] = emu_fldcw,    [X86_OP_FNSTCW] = emu_fnstcw,
	[X86_OP_FNSTSW] = emu_fnstsw,  [X86_OP_CMPXCHG16B] = emu_cmpxchg16b,
	[X86_OP_XGETBV] = emu_xgetbv,  [X86_OP_XSETBV] = emu_xsetbv,
};

static enum x86_mode code_mode(const struct kvm_sregs *s, uint64_t rflags)
{
	if ((s->efer & EFER_LMA) && s->cs.l)
		return X86_MODE_64;
	if (rflags & FLAG_VM)
		return X86_MODE_16;
	return s->cs.db ? X86_MODE_32 : X86_MODE_16;
}

static unsigned int current_cpl(const struct emu_ctx *c)
{
	if (!protected_mode(c))
		return 0;
	if (c->regs.rflags & FLAG_VM)
		return 3;
	return c->sregs.ss.dpl;
}

/*
 * Decode from the bytes KVM fetched, or else from guest memory.  Fetching
 * stops at the first page that does not translate or is not RAM; that is an
 * error (or a fault to raise) only if the instruction needs bytes from there.
 */
static int fetch_decode(struct emu_ctx *c, const uint8_t *bytes, size_t len, struct x86_insn *insn)
{
	unsigned int access = PAGING_FETCH | (c->cpl == 3 ? PAGING_USER : 0);
	uint8_t buf[X86_MAX_INSN_LEN];
	struct paging_result res;
	char why[256] = "";
	uint64_t la = 0;
	size_t n = 0;
	int ret = len ? x86_decode(bytes, len, c->mode, insn) : -EAGAIN;
	int stop = 0;

	if (ret != -EAGAIN)
		return ret;
	while (!stop && n < sizeof(buf)) {
		size_t part;

		if (c->mode == X86_MODE_64)
			la = c->regs.rip + n;
		else
			la = (c->sregs.cs.base + truncate(c->regs.rip + n, 4)) & 0xffffffffULL;
		part = 4096 - (la & 4095);
		if (part > sizeof(buf) - n)
			part = sizeof(buf) - n;
		stop = paging_translate(c->emu->mem, &c->paging, la, access, &res);
		if (!stop && guest_mem_read(c->emu->mem, res.gpa, buf + n, part))
			stop = err_set(ENXIO, "guest physical 0x%llx is not RAM",
				       (unsigned long long)res.gpa);
		if (stop)
			snprintf(why, sizeof(why), "%s", err_msg(stop));
		else
			n += part;
	}
	ret = x86_decode(buf, n, c->mode, insn);
	if (ret != -EAGAIN || !stop)
		return ret;
	if (stop == -EFAULT || stop == -EINVAL)
		return translate_fault(c, stop, la, false, &res);
	return err_set(-stop, "cannot fetch the instruction at 0x%llx: %s",
		       (unsigned long long)c->regs.rip, why);
}

static int commit(struct emu_ctx *c)
{
	const struct x86_emu_ops *ops = c->emu->ops;
	int ret;

	c->regs.rip = c->mode == X86_MODE_64
			      ? c->next_rip
			      : truncate(c->next_rip, c->mode == X86_MODE_32 ? 4 : 2);
	c->regs.rflags &= ~FLAG_RF;
	ret = ops->set_regs(c->emu->opaque, &c->regs);
	if (!ret && c->has_event)
		ret = ops->inject(c->emu->opaque, &c->event);
	return ret;
}

int x86_emulate(struct x86_emu *emu, const uint8_t *bytes, size_t len)
{
	struct emu_ctx c = { .emu = emu };
	struct x86_insn insn;
	int ret;

	ret = emu->ops->get_regs(emu->opaque, &c.regs);
	if (!ret)
		ret = emu->ops->get_sregs(emu->opaque, &c.sregs);
	if (ret)
		return ret;
	paging_mode_init(&c.paging, &c.sregs, emu->features.maxphyaddr);
	c.mode = code_mode(&c.sregs, c.regs.rflags);
	c.cpl = current_cpl(&c);
	ret = fetch_decode(&c, bytes, len, &insn);
	if (ret)
		return ret == EMU_FAULTED ? 0 : ret;
	c.insn = &insn;
	c.next_rip = c.regs.rip + insn.len;
	if (insn.lock && insn.op != X86_OP_CMPXCHG16B)
		ret = raise_ud(&c);
	else
		ret = handlers[insn.op](&c);
	if (ret < 0)
		return ret;
	__atomic_fetch_add(&counts[insn.op][ret == EMU_FAULTED], 1, __ATOMIC_RELAXED);
	return ret == EMU_FAULTED ? 0 : commit(&c);
}

unsigned long x86_emu_count(enum x86_op op, bool faulted)
{
	return op < X86_NR_OPS ? __atomic_load_n(&counts[op][faulted], __ATOMIC_RELAXED) : 0;
}

void x86_emu_print_stats(FILE *out)
{
	fprintf(out, "instructions kvmini completed for KVM (completed, raised an exception):\n");
	for (unsigned int op = 0; op < X86_NR_OPS; op++) {
		unsigned long done = x86_emu_count(op, false), faulted = x86_emu_count(op, true);

		if (done || faulted)
			fprintf(out, "  %-12s %10lu %10lu\n", x86_op_name(op), done, faulted);
	}
}
