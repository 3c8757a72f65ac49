// SPDX-License-Identifier: MIT
/*
 * The CPUID table each vCPU gets: KVM's supported table, narrowed to the CPU
 * model and the user's feature masks, with the topology leaves rewritten so
 * that the guest sees the -smp topology and its own APIC ID.
 */
#include <errno.h>
#include <string.h>

#include "cpu_features.h"
#include "cpuid.h"
#include "error.h"

#define KVM_CPUID_SIGNIFICANT_INDEX KVM_CPUID_FLAG_SIGNIFCANT_INDEX

static struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, uint32_t leaf, uint32_t sub)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == leaf &&
		    (!(e->flags & KVM_CPUID_SIGNIFICANT_INDEX) || e->index == sub))
			return e;
	}
	return NULL;
}

static uint32_t *cpuid_reg(struct kvm_cpuid_entry2 *e, enum cpuid_reg r)
{
	switch (r) {
	case R_EAX:
		return &e->eax;
	case R_EBX:
		return &e->ebx;
	case R_ECX:
		return &e->ecx;
	default:
		return &e->edx;
	}
}

static bool feature_bit(struct kvm_cpuid2 *c, const struct cpu_feature *f)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, f->leaf, f->subleaf);

	return e && (*cpuid_reg(e, f->reg) >> f->bit & 1);
}

static void cpuid_remove_leaf(struct kvm_cpuid2 *c, uint32_t leaf)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < c->nent; i++) {
		if (c->entries[i].function != leaf)
			c->entries[n++] = c->entries[i];
	}
	c->nent = n;
}

/* The registers that hold feature flags: the baseline model clears unknown bits there. */
static const struct {
	uint32_t leaf, subleaf;
	enum cpuid_reg reg;
} feature_regs[] = {
	{ 1, 0, R_ECX },   { 1, 0, R_EDX },	     { 7, 0, R_EBX },
	{ 7, 0, R_ECX },   { 7, 0, R_EDX },	     { 7, 1, R_EAX },
	{ 0xd, 1, R_EAX }, { 0x80000001, 0, R_ECX }, { 0x80000001, 0, R_EDX },
};

static void cpuid_apply_baseline(struct kvm_cpuid2 *c)
{
	for (unsigned int r = 0; r < sizeof(feature_regs) / sizeof(feature_regs[0]); r++) {
		struct kvm_cpuid_entry2 *e =
			cpuid_find(c, feature_regs[r].leaf, feature_regs[r].subleaf);
		uint32_t keep = 0;

		if (!e)
			continue;
		for (unsigned int i = 0; i < nr_cpu_features; i++) {
			const struct cpu_feature *f = &cpu_features[i];

			if (f->baseline && f->leaf == feature_regs[r].leaf &&
			    f->subleaf == feature_regs[r].subleaf && f->reg == feature_regs[r].reg)
				keep |= 1u << f->bit;
		}
		*cpuid_reg(e, feature_regs[r].reg) &= keep;
	}
}

/* Which features end up on: model, then the user's changes, then dependencies. */
static int cpuid_features(struct kvm_cpuid2 *c, const struct kvm_cpuid2 *supported,
			  const struct cpu_config *cpu, bool *on, bool warn)
{
	bool asked[CPU_MAX_FEATURE_CHANGES] = { 0 };
	bool warned[nr_cpu_features];
	bool changed = true;

	unsigned int hv = (unsigned int)cpu_feature_find("hypervisor");

	memset(warned, 0, sizeof(warned));
	for (unsigned int i = 0; i < nr_cpu_features; i++)
		on[i] = feature_bit(c, &cpu_features[i]);
	/* Guests learn they are virtualized from this bit; KVM takes it whatever it reports. */
	on[hv] = true;
	if (cpu->no_hypercalls) {
		static const char *const by_hypercall[] = { "kvm-pv-ipi", "kvm-pv-unhalt",
							    "kvm-pv-sched-yield" };

		for (unsigned int i = 0; i < sizeof(by_hypercall) / sizeof(by_hypercall[0]); i++)
			on[cpu_feature_find(by_hypercall[i])] = false;
	}
	for (unsigned int i = 0; i < cpu->nr_changes; i++) {
		unsigned int f = cpu->changes[i].feature;

		if (cpu->changes[i].enable && f != hv &&
		    !feature_bit((struct kvm_cpuid2 *)supported, &cpu_features[f]))
			return err_set(ENOTSUP, "this host's KVM does not offer '%s'",
				       cpu_features[f].name);
		if (warn && !cpu->changes[i].enable && cpu->cpuid_leaks && !warned[f] &&
		    !feature_bit((struct kvm_cpuid2 *)supported, &cpu_features[f])) {
			pr_warn("-cpu: this host's KVM does not manage '%s', and the guest may see the "
				"host CPU's bit anyway; hide it from a Linux guest with "
				"clearcpuid=%s",
				cpu_features[f].name, cpu_features[f].name);
			warned[f] = true;
		}
		on[f] = cpu->changes[i].enable;
		asked[i] = cpu->changes[i].enable;
	}
	while (changed) {
		unsigned int feat, req;

		changed = false;
		for (unsigned int d = 0; cpu_feature_dep(d, &feat, &req); d++) {
			if (!on[feat] || on[req])
				continue;
			for (unsigned int i = 0; i < cpu->nr_changes; i++) {
				if (asked[i] && cpu->changes[i].feature == feat)
					return err_set(EINVAL, "'%s' needs '%s'",
						       cpu_features[feat].name,
						       cpu_features[req].name);
			}
			on[feat] = false;
			changed = true;
		}
	}
	return 0;
}

static unsigned int id_bits(unsigned int n)
{
	unsigned int bits = 0;

	while ((1u << bits) < n)
		bits++;
	return bits;
}

static int cpuid_add(struct kvm_cpuid2 *c, unsigned int max, struct kvm_cpuid_entry2 e)
{
	if (c->nent == max)
		return err_set(ENOSPC, "too many CPUID entries");
	c->entries[c->nent++] = e;
	return 0;
}

/* Leaves 1, 4, 0xb, 0x1f and AMD's 0x80000008 describe the topology and APIC ID. */
static int cpuid_apply_topology(struct kvm_cpuid2 *c, unsigned int max,
				const struct cpu_topology *t, uint32_t apic_id)
{
	unsigned int tb = id_bits(t->threads), cb = id_bits(t->cores);
	struct kvm_cpuid_entry2 *e = cpuid_find(c, 1, 0);
	bool has_1f = cpuid_find(c, 0x1f, 0) != NULL;
	int ret = 0;

	if (e) {
		e->ebx = (e->ebx & 0x0000ffff) | (apic_id << 24) | ((1u << (cb + tb)) << 16);
		if (t->cores * t->threads > 1)
			e->edx |= 1u << 28; /* HTT: more than one logical CPU per package */
		else
			e->edx &= ~(1u << 28);
	}
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *l4 = &c->entries[i];
		unsigned int level = (l4->eax >> 5) & 7;
		uint32_t sharing = level <= 2 ? (1u << tb) - 1 : (1u << (cb + tb)) - 1;

		if (l4->function != 4 || !(l4->eax & 0x1f))
			continue;
		l4->eax = (l4->eax & 0x3fff) | (((1u << cb) - 1) << 26) | (sharing << 14);
	}
	/* Extended topology: SMT level, core level, then the terminating invalid level. */
	cpuid_remove_leaf(c, 0xb);
	cpuid_remove_leaf(c, 0x1f);
	for (uint32_t leaf = 0xb; leaf <= 0x1f && !ret; leaf += 0x1f - 0xb) {
		const struct kvm_cpuid_entry2 levels[] = {
			{ .function = leaf,
			  .index = 0,
			  .flags = KVM_CPUID_SIGNIFICANT_INDEX,
			  .eax = tb,
			  .ebx = t->threads,
			  .ecx = 1u << 8,
			  .edx = apic_id },
			{ .function = leaf,
			  .index = 1,
			  .flags = KVM_CPUID_SIGNIFICANT_INDEX,
			  .eax = cb + tb,
			  .ebx = t->cores * t->threads,
			  .ecx = 1 | 2u << 8,
			  .edx = apic_id },
			{ .function = leaf,
			  .index = 2,
			  .flags = KVM_CPUID_SIGNIFICANT_INDEX,
			  .ecx = 2,
			  .edx = apic_id },
		};

		if (leaf == 0x1f && !has_1f)
			break;
		for (unsigned int l = 0; l < 3 && !ret; l++)
			ret = cpuid_add(c, max, levels[l]);
	}
	e = cpuid_find(c, 0x80000008, 0);
	if (e && cpuid_find(c, 0x80000000, 0) && cpuid_find(c, 0, 0)->ebx == 0x68747541) {
		/* AMD: cores per package - 1 and the APIC ID bits for them. */
		e->ecx = (e->ecx & ~0xf0ffu) | ((cb + tb) << 12) | (t->cores * t->threads - 1);
	}
	return ret;
}

int cpuid_build(const struct kvm_cpuid2 *supported, const struct cpu_config *cpu,
		const struct cpu_topology *topo, unsigned int index, struct kvm_cpuid2 *out,
		unsigned int max)
{
	bool on[nr_cpu_features];
	int ret;

	if (supported->nent > max)
		return err_set(ENOSPC, "too many CPUID entries");
	out->nent = supported->nent;
	out->padding = 0;
	memcpy(out->entries, supported->entries, supported->nent * sizeof(out->entries[0]));
	if (cpu->model == CPU_MODEL_BASELINE) {
		cpuid_apply_baseline(out);
		if (cpu->cpuid_leaks && index == 0)
			pr_warn("-cpu baseline: this host's KVM does not manage every CPUID bit; the "
				"guest may still see host features such as avx");
	}
	ret = cpuid_features(out, supported, cpu, on, index == 0);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < nr_cpu_features; i++) {
		const struct cpu_feature *f = &cpu_features[i];
		struct kvm_cpuid_entry2 *e = cpuid_find(out, f->leaf, f->subleaf);

		if (!e)
			continue;
		if (on[i])
			*cpuid_reg(e, f->reg) |= 1u << f->bit;
		else
			*cpuid_reg(e, f->reg) &= ~(1u << f->bit);
	}
	/* Without XSAVE the state-component leaf only misleads. */
	if (!on[cpu_feature_find("xsave")])
		cpuid_remove_leaf(out, 0xd);
	return cpuid_apply_topology(out, max, topo, topo_apic_id(topo, index));
}
