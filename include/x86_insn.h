/* SPDX-License-Identifier: MIT */
/*
 * Completing, in kvmini, instructions the host's KVM could not emulate (on
 * nested PVM hosts guest CPL0 code is emulated and the emulator lacks some
 * instructions).  Three layers:
 *   x86_decode()   bytes -> struct x86_insn (vmm/x86_decode.c), for the few
 *                  instructions kvmini completes; anything else is refused;
 *   x86_emulate()  their effect on a vCPU reached through struct x86_emu_ops
 *                  (vmm/x86_emulate.c), so unit tests can use a fake vCPU;
 *   insn_fallback() the KVM side: ops over the vCPU fd (vmm/insn_fallback.c).
 */
#ifndef KVMINI_X86_INSN_H
#define KVMINI_X86_INSN_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "guest_mem.h"

#define X86_MAX_INSN_LEN 15

/* The instructions kvmini completes. */
enum x86_op {
	X86_OP_INT3,
	X86_OP_INT,
	X86_OP_CLAC,
	X86_OP_STAC,
	X86_OP_POPCNT,
	X86_OP_FNINIT,
	X86_OP_FWAIT,
	X86_OP_FNCLEX,
	X86_OP_FLDCW,
	X86_OP_FNSTCW,
	X86_OP_FNSTSW, /* to m16 or to AX */
	X86_OP_CMPXCHG16B,
	X86_OP_XGETBV,
	X86_OP_XSETBV,
	X86_NR_OPS,
};

/* Code segment modes: the default operand and address size. */
enum x86_mode {
	X86_MODE_16,
	X86_MODE_32,
	X86_MODE_64,
};

/* Segment registers in encoding order. */
enum x86_seg {
	X86_SEG_ES,
	X86_SEG_CS,
	X86_SEG_SS,
	X86_SEG_DS,
	X86_SEG_FS,
	X86_SEG_GS,
};

#define X86_REG_NONE (-1)
#define X86_REG_RIP  (-2) /* RIP-relative addressing: the base is the next instruction */

struct x86_insn {
	enum x86_op op;
	unsigned int len;
	bool lock, rep, repne;	/* F0, F3, F2 */
	unsigned int op_size;	/* operand size in bytes: 2, 4 or 8 */
	unsigned int addr_size; /* address size in bytes: 2, 4 or 8 */
	enum x86_seg seg;	/* segment of the memory operand, overrides applied */
	bool has_modrm;
	unsigned int reg, rm; /* ModRM reg and rm fields with REX.R / REX.B */
	bool mem;	      /* the ModRM operand is in memory */
	int base, index;      /* register numbers, X86_REG_NONE or X86_REG_RIP */
	unsigned int scale;   /* 1, 2, 4 or 8 */
	int64_t disp;
	uint64_t imm;
};

/* The mnemonic of @op ("popcnt"). */
const char *x86_op_name(enum x86_op op);

/*
 * Decode the instruction at @buf (@len bytes available) in @mode.  0 on
 * success; -EAGAIN when more bytes are needed; -EOPNOTSUPP (message naming
 * the bytes) when it is not an instruction kvmini completes.
 */
int x86_decode(const uint8_t *buf, size_t len, enum x86_mode mode, struct x86_insn *insn);

/* The x87 control state the instructions touch (FXSAVE layout, abridged tag word). */
struct x87_state {
	uint16_t fcw, fsw;
	uint8_t ftw; /* bit i set: register i holds a value */
	uint16_t fop;
	uint64_t fip, fdp;
};

/* An event to deliver to the guest. */
struct x86_event {
	uint8_t vector;
	bool soft; /* a software interrupt (INT n), not an exception */
	bool has_error_code;
	uint32_t error_code;
	uint64_t cr2; /* for #PF */
};

/*
 * The vCPU, as the emulator sees it.  Each returns 0 or -errno with a message;
 * set_xcr0 returns -EINVAL for a value the vCPU does not accept (the guest gets
 * #GP).  Guest memory is reached through struct x86_emu's mem and the vCPU's
 * page tables, not through these.
 */
struct x86_emu_ops {
	int (*get_regs)(void *opaque, struct kvm_regs *regs);
	int (*set_regs)(void *opaque, const struct kvm_regs *regs);
	int (*get_sregs)(void *opaque, struct kvm_sregs *sregs);
	int (*get_x87)(void *opaque, struct x87_state *x87);
	int (*set_x87)(void *opaque, const struct x87_state *x87);
	int (*get_xcr0)(void *opaque, uint64_t *xcr0);
	int (*set_xcr0)(void *opaque, uint64_t xcr0);
	int (*inject)(void *opaque, const struct x86_event *ev);
};

/* The guest's CPUID bits that decide #UD for these instructions. */
struct x86_cpu_features {
	bool popcnt, cx16, smap;
	bool xgetbv1; /* XGETBV with ECX=1 */
	unsigned int maxphyaddr;
};

struct x86_emu {
	const struct x86_emu_ops *ops;
	void *opaque;
	const struct guest_mem *mem;
	struct x86_cpu_features features;
};

/*
 * Complete the instruction at the vCPU's CS:RIP: decode it from @bytes (@len
 * bytes KVM fetched, may be 0) or else from guest memory, then apply it: new
 * registers, memory or x87 state, or the exception it raises injected.  0 when
 * the vCPU can go on; -errno with a message when kvmini cannot complete it.
 */
int x86_emulate(struct x86_emu *emu, const uint8_t *bytes, size_t len);

/* How many instructions x86_emulate() completed (@faulted: raised an exception). */
unsigned long x86_emu_count(enum x86_op op, bool faulted);

/* Print the counts of the instructions completed so far, one line each. */
void x86_emu_print_stats(FILE *out);

struct vcpu;

/*
 * KVM gave up on an instruction (KVM_EXIT_INTERNAL_ERROR, emulation): complete
 * it in kvmini.  0 when the vCPU can run on; -errno with a message naming the
 * instruction otherwise.
 */
int insn_fallback(struct vcpu *vcpu);

#endif
