// SPDX-License-Identifier: MIT
/*
 * CPUID feature bits by the names Linux shows in /proc/cpuinfo, for -cpu
 * masks, and the CPU models.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cpu_features.h"
#include "cpuid.h"
#include "error.h"
#include "opts.h"
#include "util.h"

#define F(n, l, s, r, b, base)      \
	{                           \
		n, l, s, r, b, base \
	}
#define B true /* part of the baseline model */
#define N false

/* Leaf, subleaf, register, bit. */
const struct cpu_feature cpu_features[] = {
	/* leaf 1 EDX */
	F("fpu", 1, 0, R_EDX, 0, B),
	F("vme", 1, 0, R_EDX, 1, B),
	F("de", 1, 0, R_EDX, 2, B),
	F("pse", 1, 0, R_EDX, 3, B),
	F("tsc", 1, 0, R_EDX, 4, B),
	F("msr", 1, 0, R_EDX, 5, B),
	F("pae", 1, 0, R_EDX, 6, B),
	F("mce", 1, 0, R_EDX, 7, B),
	F("cx8", 1, 0, R_EDX, 8, B),
	F("apic", 1, 0, R_EDX, 9, B),
	F("sep", 1, 0, R_EDX, 11, B),
	F("mtrr", 1, 0, R_EDX, 12, B),
	F("pge", 1, 0, R_EDX, 13, B),
	F("mca", 1, 0, R_EDX, 14, B),
	F("cmov", 1, 0, R_EDX, 15, B),
	F("pat", 1, 0, R_EDX, 16, B),
	F("pse36", 1, 0, R_EDX, 17, B),
	F("clflush", 1, 0, R_EDX, 19, B),
	F("dts", 1, 0, R_EDX, 21, N),
	F("acpi", 1, 0, R_EDX, 22, N),
	F("mmx", 1, 0, R_EDX, 23, B),
	F("fxsr", 1, 0, R_EDX, 24, B),
	F("sse", 1, 0, R_EDX, 25, B),
	F("sse2", 1, 0, R_EDX, 26, B),
	F("ss", 1, 0, R_EDX, 27, N),
	F("ht", 1, 0, R_EDX, 28, N),
	F("tm", 1, 0, R_EDX, 29, N),
	F("pbe", 1, 0, R_EDX, 31, N),
	/* leaf 1 ECX */
	F("pni", 1, 0, R_ECX, 0, B),
	F("pclmulqdq", 1, 0, R_ECX, 1, N),
	F("dtes64", 1, 0, R_ECX, 2, N),
	F("monitor", 1, 0, R_ECX, 3, N),
	F("ds_cpl", 1, 0, R_ECX, 4, N),
	F("vmx", 1, 0, R_ECX, 5, N),
	F("smx", 1, 0, R_ECX, 6, N),
	F("est", 1, 0, R_ECX, 7, N),
	F("tm2", 1, 0, R_ECX, 8, N),
	F("ssse3", 1, 0, R_ECX, 9, B),
	F("cid", 1, 0, R_ECX, 10, N),
	F("sdbg", 1, 0, R_ECX, 11, N),
	F("fma", 1, 0, R_ECX, 12, N),
	F("cx16", 1, 0, R_ECX, 13, B),
	F("xtpr", 1, 0, R_ECX, 14, N),
	F("pdcm", 1, 0, R_ECX, 15, N),
	F("pcid", 1, 0, R_ECX, 17, N),
	F("dca", 1, 0, R_ECX, 18, N),
	F("sse4_1", 1, 0, R_ECX, 19, B),
	F("sse4_2", 1, 0, R_ECX, 20, B),
	F("x2apic", 1, 0, R_ECX, 21, B),
	F("movbe", 1, 0, R_ECX, 22, N),
	F("popcnt", 1, 0, R_ECX, 23, B),
	F("tsc_deadline_timer", 1, 0, R_ECX, 24, N),
	F("aes", 1, 0, R_ECX, 25, N),
	F("xsave", 1, 0, R_ECX, 26, N),
	F("avx", 1, 0, R_ECX, 28, N),
	F("f16c", 1, 0, R_ECX, 29, N),
	F("rdrand", 1, 0, R_ECX, 30, N),
	F("hypervisor", 1, 0, R_ECX, 31, B),
	/* leaf 7 EBX */
	F("fsgsbase", 7, 0, R_EBX, 0, N),
	F("tsc_adjust", 7, 0, R_EBX, 1, N),
	F("sgx", 7, 0, R_EBX, 2, N),
	F("bmi1", 7, 0, R_EBX, 3, N),
	F("hle", 7, 0, R_EBX, 4, N),
	F("avx2", 7, 0, R_EBX, 5, N),
	F("smep", 7, 0, R_EBX, 7, N),
	F("bmi2", 7, 0, R_EBX, 8, N),
	F("erms", 7, 0, R_EBX, 9, N),
	F("invpcid", 7, 0, R_EBX, 10, N),
	F("rtm", 7, 0, R_EBX, 11, N),
	F("mpx", 7, 0, R_EBX, 14, N),
	F("avx512f", 7, 0, R_EBX, 16, N),
	F("avx512dq", 7, 0, R_EBX, 17, N),
	F("rdseed", 7, 0, R_EBX, 18, N),
	F("adx", 7, 0, R_EBX, 19, N),
	F("smap", 7, 0, R_EBX, 20, N),
	F("avx512ifma", 7, 0, R_EBX, 21, N),
	F("clflushopt", 7, 0, R_EBX, 23, N),
	F("clwb", 7, 0, R_EBX, 24, N),
	F("intel_pt", 7, 0, R_EBX, 25, N),
	F("avx512pf", 7, 0, R_EBX, 26, N),
	F("avx512er", 7, 0, R_EBX, 27, N),
	F("avx512cd", 7, 0, R_EBX, 28, N),
	F("sha_ni", 7, 0, R_EBX, 29, N),
	F("avx512bw", 7, 0, R_EBX, 30, N),
	F("avx512vl", 7, 0, R_EBX, 31, N),
	/* leaf 7 ECX */
	F("avx512vbmi", 7, 0, R_ECX, 1, N),
	F("umip", 7, 0, R_ECX, 2, N),
	F("pku", 7, 0, R_ECX, 3, N),
	F("waitpkg", 7, 0, R_ECX, 5, N),
	F("avx512_vbmi2", 7, 0, R_ECX, 6, N),
	F("gfni", 7, 0, R_ECX, 8, N),
	F("vaes", 7, 0, R_ECX, 9, N),
	F("vpclmulqdq", 7, 0, R_ECX, 10, N),
	F("avx512_vnni", 7, 0, R_ECX, 11, N),
	F("avx512_bitalg", 7, 0, R_ECX, 12, N),
	F("avx512_vpopcntdq", 7, 0, R_ECX, 14, N),
	F("la57", 7, 0, R_ECX, 16, N),
	F("rdpid", 7, 0, R_ECX, 22, N),
	F("cldemote", 7, 0, R_ECX, 25, N),
	F("movdiri", 7, 0, R_ECX, 27, N),
	F("movdir64b", 7, 0, R_ECX, 28, N),
	/* leaf 7 EDX */
	F("avx512_4vnniw", 7, 0, R_EDX, 2, N),
	F("avx512_4fmaps", 7, 0, R_EDX, 3, N),
	F("fsrm", 7, 0, R_EDX, 4, N),
	F("md_clear", 7, 0, R_EDX, 10, N),
	F("serialize", 7, 0, R_EDX, 14, N),
	F("tsxldtrk", 7, 0, R_EDX, 16, N),
	F("amx_bf16", 7, 0, R_EDX, 22, N),
	F("avx512_fp16", 7, 0, R_EDX, 23, N),
	F("amx_tile", 7, 0, R_EDX, 24, N),
	F("amx_int8", 7, 0, R_EDX, 25, N),
	F("spec_ctrl", 7, 0, R_EDX, 26, N),
	F("intel_stibp", 7, 0, R_EDX, 27, N),
	F("flush_l1d", 7, 0, R_EDX, 28, N),
	F("arch_capabilities", 7, 0, R_EDX, 29, N),
	F("ssbd", 7, 0, R_EDX, 31, N),
	/* leaf 0xd subleaf 1 EAX */
	F("xsaveopt", 0xd, 1, R_EAX, 0, N),
	F("xsavec", 0xd, 1, R_EAX, 1, N),
	F("xgetbv1", 0xd, 1, R_EAX, 2, N),
	F("xsaves", 0xd, 1, R_EAX, 3, N),
	/* leaf 0x80000001 ECX */
	F("lahf_lm", 0x80000001, 0, R_ECX, 0, B),
	F("cmp_legacy", 0x80000001, 0, R_ECX, 1, N),
	F("svm", 0x80000001, 0, R_ECX, 2, N),
	F("extapic", 0x80000001, 0, R_ECX, 3, N),
	F("cr8_legacy", 0x80000001, 0, R_ECX, 4, N),
	F("abm", 0x80000001, 0, R_ECX, 5, N),
	F("sse4a", 0x80000001, 0, R_ECX, 6, N),
	F("misalignsse", 0x80000001, 0, R_ECX, 7, N),
	F("3dnowprefetch", 0x80000001, 0, R_ECX, 8, N),
	F("osvw", 0x80000001, 0, R_ECX, 9, N),
	F("xop", 0x80000001, 0, R_ECX, 11, N),
	F("fma4", 0x80000001, 0, R_ECX, 16, N),
	F("tbm", 0x80000001, 0, R_ECX, 21, N),
	F("topoext", 0x80000001, 0, R_ECX, 22, N),
	F("perfctr_core", 0x80000001, 0, R_ECX, 23, N),
	/* leaf 0x80000001 EDX */
	F("syscall", 0x80000001, 0, R_EDX, 11, B),
	F("nx", 0x80000001, 0, R_EDX, 20, B),
	F("mmxext", 0x80000001, 0, R_EDX, 22, N),
	F("fxsr_opt", 0x80000001, 0, R_EDX, 25, N),
	F("pdpe1gb", 0x80000001, 0, R_EDX, 26, N),
	F("rdtscp", 0x80000001, 0, R_EDX, 27, N),
	F("lm", 0x80000001, 0, R_EDX, 29, B),
	F("3dnowext", 0x80000001, 0, R_EDX, 30, N),
	F("3dnow", 0x80000001, 0, R_EDX, 31, N),
	/* KVM paravirtual features (leaf 0x40000001 EAX), by QEMU's names */
	F("kvmclock", 0x40000001, 0, R_EAX, 0, B),
	F("kvm-nopiodelay", 0x40000001, 0, R_EAX, 1, B),
	F("kvmclock2", 0x40000001, 0, R_EAX, 3, B),
	F("kvm-asyncpf", 0x40000001, 0, R_EAX, 4, B),
	F("kvm-steal-time", 0x40000001, 0, R_EAX, 5, B),
	F("kvm-pv-eoi", 0x40000001, 0, R_EAX, 6, B),
	F("kvm-pv-unhalt", 0x40000001, 0, R_EAX, 7, B),
	F("kvm-pv-tlb-flush", 0x40000001, 0, R_EAX, 9, B),
	F("kvm-asyncpf-vmexit", 0x40000001, 0, R_EAX, 10, B),
	F("kvm-pv-ipi", 0x40000001, 0, R_EAX, 11, B),
	F("kvm-poll-control", 0x40000001, 0, R_EAX, 12, B),
	F("kvm-pv-sched-yield", 0x40000001, 0, R_EAX, 13, B),
	F("kvm-asyncpf-int", 0x40000001, 0, R_EAX, 14, B),
	F("kvm-msi-ext-dest-id", 0x40000001, 0, R_EAX, 15, B),
	F("kvmclock-stable-bit", 0x40000001, 0, R_EAX, 24, B),
};

const unsigned int nr_cpu_features = ARRAY_SIZE(cpu_features);

/* Feature -> what it cannot work without.  Turning the second off turns the first off. */
static const struct {
	const char *feature;
	const char *requires;
} cpu_feature_deps[] = {
	{ "avx", "xsave" },
	{ "xsaveopt", "xsave" },
	{ "xsavec", "xsave" },
	{ "xgetbv1", "xsave" },
	{ "xsaves", "xsave" },
	{ "amx_tile", "xsave" },
	{ "amx_bf16", "amx_tile" },
	{ "amx_int8", "amx_tile" },
	{ "fma", "avx" },
	{ "f16c", "avx" },
	{ "avx2", "avx" },
	{ "vaes", "avx" },
	{ "vpclmulqdq", "avx" },
	{ "avx512f", "avx2" },
	{ "avx512dq", "avx512f" },
	{ "avx512ifma", "avx512f" },
	{ "avx512pf", "avx512f" },
	{ "avx512er", "avx512f" },
	{ "avx512cd", "avx512f" },
	{ "avx512bw", "avx512f" },
	{ "avx512vl", "avx512f" },
	{ "avx512vbmi", "avx512f" },
	{ "avx512_vbmi2", "avx512f" },
	{ "avx512_vnni", "avx512f" },
	{ "avx512_bitalg", "avx512f" },
	{ "avx512_vpopcntdq", "avx512f" },
	{ "avx512_4vnniw", "avx512f" },
	{ "avx512_4fmaps", "avx512f" },
	{ "avx512_fp16", "avx512bw" },
};

/* Users write sse4.1, sse4-1 or sse4_1: compare with '-' and '.' as '_'. */
static bool name_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a == '-' || *a == '.' ? '_' : *a;
		char y = *b == '-' || *b == '.' ? '_' : *b;

		if (x != y)
			return false;
	}
	return *a == *b;
}

int cpu_feature_find(const char *name)
{
	for (unsigned int i = 0; i < nr_cpu_features; i++) {
		if (name_eq(cpu_features[i].name, name))
			return (int)i;
	}
	/* QEMU's name for pni. */
	if (name_eq(name, "sse3"))
		return cpu_feature_find("pni");
	return -1;
}

bool cpu_feature_dep(unsigned int i, unsigned int *feature, unsigned int *requires)
{
	if (i >= ARRAY_SIZE(cpu_feature_deps))
		return false;
	*feature = (unsigned int)cpu_feature_find(cpu_feature_deps[i].feature);
	*requires = (unsigned int)cpu_feature_find(cpu_feature_deps[i].requires);
	return true;
}

static int cpu_add_change(struct cpu_config *cpu, const char *name, bool enable)
{
	int f = cpu_feature_find(name);

	if (f < 0)
		return err_set(EINVAL, "unknown CPU feature '%s' (-cpu help lists them)", name);
	if (cpu->nr_changes == CPU_MAX_FEATURE_CHANGES)
		return err_set(EINVAL, "too many feature changes (at most %d)",
			       CPU_MAX_FEATURE_CHANGES);
	cpu->changes[cpu->nr_changes].feature = (unsigned int)f;
	cpu->changes[cpu->nr_changes].enable = enable;
	cpu->nr_changes++;
	return 0;
}

int cpu_parse(const char *arg, struct cpu_config *cpu)
{
	struct opts o;
	const char *model;
	int ret;

	memset(cpu, 0, sizeof(*cpu));
	ret = opts_parse_flags(&o, arg, "model");
	if (ret)
		return ret;
	model = opts_get(&o, "model");
	if (!model || !strcmp(model, "host") || !strcmp(model, "max")) {
		cpu->model = CPU_MODEL_HOST;
	} else if (!strcmp(model, "baseline") || !strcmp(model, "qemu64") ||
		   !strcmp(model, "kvm64")) {
		cpu->model = CPU_MODEL_BASELINE;
	} else {
		ret = err_set(EINVAL, "unknown CPU model '%s' (host, max, baseline, qemu64, kvm64)",
			      model);
		goto out;
	}
	for (unsigned int i = 0; i < o.nr && !ret; i++) {
		struct opt *it = &o.items[i];
		bool on;

		if (it->used)
			continue;
		/* "+feat"/"-feat" arrive as keys with the value "on"/"off" from opts_parse_flags. */
		ret = opts_get_bool(&o, it->key, &on);
		if (!ret)
			ret = cpu_add_change(cpu, it->key, on);
	}
out:
	opts_free(&o);
	return ret;
}

void cpu_list_features(void)
{
	printf("CPU models for -cpu: host (default; alias max), baseline (x86-64-v2; aliases "
	       "qemu64, kvm64)\n"
	       "Features (+name, -name, name=on|off):");
	for (unsigned int i = 0; i < nr_cpu_features; i++)
		printf("%s%s", i % 10 ? " " : "\n  ", cpu_features[i].name);
	printf("\n");
}
