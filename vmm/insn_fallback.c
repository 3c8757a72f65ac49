// SPDX-License-Identifier: MIT
/*
 * The KVM side of completing instructions KVM's emulator gave up on: the
 * struct x86_emu_ops of a vCPU (its ioctls), the guest's CPUID bits the
 * emulator checks, and the instruction bytes KVM reports with the exit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "error.h"
#include "vm.h"
#include "x86_insn.h"

#define VEC_PF 14

/* The x87 fields at the start of the XSAVE area (FXSAVE layout), and its header. */
#define FX_FCW		0
#define FX_FSW		2
#define FX_FTW		4
#define FX_FOP		6
#define FX_FIP		8
#define FX_FDP		16
#define XSAVE_XSTATE_BV 512
#define XFEATURE_X87	(1ULL << 0)

static int vcpu_ioctl(struct vcpu *vcpu, unsigned long req, void *arg, const char *name)
{
	if (!ioctl(vcpu->fd, req, arg))
		return 0;
	return err_set(errno, "vCPU %u: %s: %s", vcpu->id, name, strerror(errno));
}

#define VCPU_IOCTL(vcpu, req, arg) vcpu_ioctl(vcpu, req, arg, #req)

static int kvm_get_regs(void *opaque, struct kvm_regs *regs)
{
	return VCPU_IOCTL(opaque, KVM_GET_REGS, regs);
}

static int kvm_set_regs(void *opaque, const struct kvm_regs *regs)
{
	return VCPU_IOCTL(opaque, KVM_SET_REGS, (void *)regs);
}

static int kvm_get_sregs(void *opaque, struct kvm_sregs *sregs)
{
	return VCPU_IOCTL(opaque, KVM_GET_SREGS, sregs);
}

/*
 * The x87 state goes through KVM_GET/SET_XSAVE, not KVM_SET_FPU: the latter
 * rewrites the legacy area but leaves XSTATE_BV alone, so while the guest's
 * x87 state is in its initial configuration the new values would be
 * dropped when KVM restores the state with XRSTOR.
 */
static int kvm_get_x87(void *opaque, struct x87_state *x87)
{
	struct kvm_xsave xs;
	const char *a = (const char *)xs.region;
	int ret = VCPU_IOCTL(opaque, KVM_GET_XSAVE, &xs);

	if (ret)
		return ret;
	memcpy(&x87->fcw, a + FX_FCW, sizeof(x87->fcw));
	memcpy(&x87->fsw, a + FX_FSW, sizeof(x87->fsw));
	memcpy(&x87->ftw, a + FX_FTW, sizeof(x87->ftw));
	memcpy(&x87->fop, a + FX_FOP, sizeof(x87->fop));
	memcpy(&x87->fip, a + FX_FIP, sizeof(x87->fip));
	memcpy(&x87->fdp, a + FX_FDP, sizeof(x87->fdp));
	return 0;
}

static int kvm_set_x87(void *opaque, const struct x87_state *x87)
{
	struct kvm_xsave xs;
	char *a = (char *)xs.region;
	uint64_t bv;
	int ret = VCPU_IOCTL(opaque, KVM_GET_XSAVE, &xs);

	if (ret)
		return ret;
	memcpy(a + FX_FCW, &x87->fcw, sizeof(x87->fcw));
	memcpy(a + FX_FSW, &x87->fsw, sizeof(x87->fsw));
	memcpy(a + FX_FTW, &x87->ftw, sizeof(x87->ftw));
	memcpy(a + FX_FOP, &x87->fop, sizeof(x87->fop));
	memcpy(a + FX_FIP, &x87->fip, sizeof(x87->fip));
	memcpy(a + FX_FDP, &x87->fdp, sizeof(x87->fdp));
	memcpy(&bv, a + XSAVE_XSTATE_BV, sizeof(bv));
	bv |= XFEATURE_X87;
	memcpy(a + XSAVE_XSTATE_BV, &bv, sizeof(bv));
	return VCPU_IOCTL(opaque, KVM_SET_XSAVE, &xs);
}

static int kvm_get_xcr0(void *opaque, uint64_t *xcr0)
{
	struct kvm_xcrs xcrs;
	int ret = VCPU_IOCTL(opaque, KVM_GET_XCRS, &xcrs);

	if (ret)
		return ret;
	for (uint32_t i = 0; i < xcrs.nr_xcrs; i++) {
		if (xcrs.xcrs[i].xcr == 0) {
			*xcr0 = xcrs.xcrs[i].value;
			return 0;
		}
	}
	return err_set(ENOENT, "KVM_GET_XCRS: KVM reported no XCR0");
}

static int kvm_set_xcr0(void *opaque, uint64_t xcr0)
{
	struct kvm_xcrs xcrs = { .nr_xcrs = 1, .xcrs = { { .xcr = 0, .value = xcr0 } } };

	/* KVM refuses values the guest's CPUID does not allow with EINVAL. */
	return VCPU_IOCTL(opaque, KVM_SET_XCRS, &xcrs);
}

static int kvm_inject(void *opaque, const struct x86_event *ev)
{
	struct kvm_vcpu_events events;
	struct kvm_sregs sregs;
	int ret = 0;

	if (!ev->soft && ev->vector == VEC_PF) {
		ret = kvm_get_sregs(opaque, &sregs);
		sregs.cr2 = ev->cr2;
		if (!ret)
			ret = VCPU_IOCTL(opaque, KVM_SET_SREGS, &sregs);
	}
	if (!ret)
		ret = VCPU_IOCTL(opaque, KVM_GET_VCPU_EVENTS, &events);
	if (ret)
		return ret;
	/* Flags 0: leave pending NMIs, SIPI, SMM and the interrupt shadow as they are. */
	events.flags = 0;
	if (ev->soft) {
		events.interrupt.injected = 1;
		events.interrupt.nr = ev->vector;
		events.interrupt.soft = 1;
	} else {
		/* KVM delivers #BP as the software exception INT3 raises. */
		events.exception.injected = 1;
		events.exception.nr = ev->vector;
		events.exception.has_error_code = ev->has_error_code;
		events.exception.error_code = ev->error_code;
	}
	return VCPU_IOCTL(opaque, KVM_SET_VCPU_EVENTS, &events);
}

static const struct x86_emu_ops kvm_emu_ops = {
	.get_regs = kvm_get_regs,
	.set_regs = kvm_set_regs,
	.get_sregs = kvm_get_sregs,
	.get_x87 = kvm_get_x87,
	.set_x87 = kvm_set_x87,
	.get_xcr0 = kvm_get_xcr0,
	.set_xcr0 = kvm_set_xcr0,
	.inject = kvm_inject,
};

static const struct kvm_cpuid_entry2 *cpuid_leaf(const struct kvm_cpuid2 *cpuid, uint32_t fn,
						 uint32_t index)
{
	static const struct kvm_cpuid_entry2 none;

	for (uint32_t i = 0; i < cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function == fn &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == index))
			return e;
	}
	return &none;
}

/* The CPUID bits the guest sees, read back from the vCPU (the -cpu model applied). */
static int cpu_features(struct vcpu *vcpu, struct x86_cpu_features *f)
{
	for (uint32_t nent = 128; nent <= 4096; nent *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		uint32_t phys;

		if (!c)
			return err_set(ENOMEM, "out of memory");
		c->nent = nent;
		if (ioctl(vcpu->fd, KVM_GET_CPUID2, c)) {
			int e = errno;

			free(c);
			if (e == E2BIG)
				continue;
			return err_set(e, "vCPU %u: KVM_GET_CPUID2: %s", vcpu->id, strerror(e));
		}
		phys = cpuid_leaf(c, 0x80000008, 0)->eax & 0xff;
		f->popcnt = cpuid_leaf(c, 1, 0)->ecx & (1u << 23);
		f->cx16 = cpuid_leaf(c, 1, 0)->ecx & (1u << 13);
		f->smap = cpuid_leaf(c, 7, 0)->ebx & (1u << 20);
		f->xgetbv1 = cpuid_leaf(c, 0xd, 1)->eax & (1u << 2);
		f->maxphyaddr = phys ? phys : 36;
		free(c);
		return 0;
	}
	return err_set(E2BIG, "vCPU %u: KVM_GET_CPUID2: more than 4096 entries", vcpu->id);
}

int insn_fallback(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct x86_emu emu = { .ops = &kvm_emu_ops, .opaque = vcpu, .mem = &vcpu->vm->mem };
	size_t len = 0;
	int ret;

	err_clear();
	ret = cpu_features(vcpu, &emu.features);
	if (ret)
		return ret;
	if (run->emulation_failure.ndata >= 3 &&
	    (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES))
		len = run->emulation_failure.insn_size;
	if (len > sizeof(run->emulation_failure.insn_bytes))
		len = sizeof(run->emulation_failure.insn_bytes);
	return x86_emulate(&emu, run->emulation_failure.insn_bytes, len);
}
