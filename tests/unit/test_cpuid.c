// SPDX-License-Identifier: MIT
/* CPU models, feature masks and topology leaves on a hand-made "supported" table. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cpuid.h"
#include "error.h"

#define SIG KVM_CPUID_FLAG_SIGNIFCANT_INDEX
#define MAX 64

#define L1_ECX_SSE4_2 (1u << 20)
#define L1_ECX_POPCNT (1u << 23)
#define L1_ECX_XSAVE  (1u << 26)
#define L1_ECX_AVX    (1u << 28)
#define L1_ECX_HV     (1u << 31)
#define L1_EDX_FPU    (1u << 0)
#define L1_EDX_HTT    (1u << 28)
#define L7_EBX_BMI1   (1u << 3)
#define L7_EBX_AVX2   (1u << 5)
#define L7_EBX_SMAP   (1u << 20)
#define KVM_CLOCK     (1u << 0)
#define KVM_PV_UNHALT (1u << 7)
#define KVM_PV_IPI    (1u << 11)

static struct kvm_cpuid2 *supported(uint32_t vendor_ebx)
{
	static const struct kvm_cpuid_entry2 base[] = {
		{ .function = 0, .eax = 0x1f },
		{ .function = 1,
		  .eax = 0x806ec,
		  .ebx = 0x00100800,
		  .ecx = L1_ECX_SSE4_2 | L1_ECX_POPCNT | L1_ECX_XSAVE | L1_ECX_AVX | (1u << 13),
		  .edx = L1_EDX_FPU | L1_EDX_HTT },
		{ .function = 4, .index = 0, .flags = SIG, .eax = 0x1c004121 }, /* L1d */
		{ .function = 4, .index = 1, .flags = SIG, .eax = 0x1c004143 }, /* L2 */
		{ .function = 4, .index = 2, .flags = SIG, .eax = 0x1c03c163 }, /* L3 */
		{ .function = 4, .index = 3, .flags = SIG, .eax = 0 },
		{ .function = 7,
		  .index = 0,
		  .flags = SIG,
		  .ebx = L7_EBX_BMI1 | L7_EBX_AVX2 | L7_EBX_SMAP },
		{ .function = 0xb, .index = 0, .flags = SIG, .eax = 1, .ebx = 2, .ecx = 0x100 },
		{ .function = 0xd, .index = 0, .flags = SIG, .eax = 7 },
		{ .function = 0xd, .index = 1, .flags = SIG, .eax = 1 },
		{ .function = 0x1f, .index = 0, .flags = SIG, .eax = 1 },
		{ .function = 0x40000001, .eax = KVM_CLOCK | KVM_PV_UNHALT | KVM_PV_IPI },
		{ .function = 0x80000000, .eax = 0x80000008 },
		{ .function = 0x80000001, .ecx = 1, .edx = (1u << 29) | (1u << 11) | (1u << 26) },
		{ .function = 0x80000008, .eax = 0x3027, .ecx = 0x7 },
	};
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + MAX * sizeof(c->entries[0]));

	assert_non_null(c);
	memcpy(c->entries, base, sizeof(base));
	c->nent = sizeof(base) / sizeof(base[0]);
	c->entries[0].ebx = vendor_ebx;
	return c;
}

#define INTEL 0x756e6547 /* "Genu" */
#define AMD   0x68747541 /* "Auth" */

static struct kvm_cpuid_entry2 *find(struct kvm_cpuid2 *c, uint32_t leaf, uint32_t sub)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		if (c->entries[i].function == leaf &&
		    (!(c->entries[i].flags & SIG) || c->entries[i].index == sub))
			return &c->entries[i];
	}
	return NULL;
}

struct built {
	struct kvm_cpuid2 *sup;
	struct kvm_cpuid2 *out;
};

static int build(struct built *b, uint32_t vendor, const char *cpu_arg, const char *smp,
		 unsigned int index)
{
	struct cpu_config cpu;
	struct cpu_topology topo;
	unsigned int n;

	b->sup = supported(vendor);
	b->out = calloc(1, sizeof(*b->out) + MAX * sizeof(b->out->entries[0]));
	assert_non_null(b->out);
	assert_int_equal(cpu_parse(cpu_arg, &cpu), 0);
	assert_int_equal(smp_parse(smp, &n, &topo), 0);
	return cpuid_build(b->sup, &cpu, &topo, index, b->out, MAX);
}

static void built_free(struct built *b)
{
	free(b->sup);
	free(b->out);
}

static void test_apic_ids(void **state)
{
	struct cpu_topology t = { .sockets = 2, .cores = 3, .threads = 2, .max_cpus = 12 };

	(void)state;
	assert_int_equal(topo_apic_id(&t, 0), 0);
	assert_int_equal(topo_apic_id(&t, 1), 1);
	assert_int_equal(topo_apic_id(&t, 2), 2);
	assert_int_equal(topo_apic_id(&t, 5), 5);
	/* The core field is 2 bits wide for 3 cores: socket 1 starts at 8. */
	assert_int_equal(topo_apic_id(&t, 6), 8);
	assert_int_equal(topo_apic_id(&t, 11), 13);
}

static void test_smp_derivation(void **state)
{
	struct cpu_topology t;
	unsigned int n;

	(void)state;
	assert_int_equal(smp_parse("4", &n, &t), 0);
	assert_int_equal(n, 4);
	assert_int_equal(t.sockets, 4);
	assert_int_equal(t.cores, 1);
	assert_int_equal(smp_parse("4,cores=2", &n, &t), 0);
	assert_int_equal(t.sockets, 2);
	assert_int_equal(smp_parse("sockets=2,cores=2,threads=2", &n, &t), 0);
	assert_int_equal(n, 8);
	assert_int_equal(t.max_cpus, 8);
	assert_int_equal(smp_parse("2,maxcpus=4", &n, &t), 0);
	assert_int_equal(n, 2);
	assert_int_equal(t.max_cpus, 4);
	assert_int_equal(t.sockets, 4);
	assert_int_equal(smp_parse("4,sockets=1,cores=4,threads=1", &n, &t), 0);
	assert_int_equal(t.cores, 4);
	assert_int_equal(smp_parse("cpus=0", &n, &t), -EINVAL);
}

static void test_host_keeps_features(void **state)
{
	struct built b;

	(void)state;
	assert_int_equal(build(&b, INTEL, "host", "1", 0), 0);
	assert_true(find(b.out, 1, 0)->ecx & L1_ECX_AVX);
	assert_true(find(b.out, 1, 0)->ecx & L1_ECX_HV);
	assert_true(find(b.out, 7, 0)->ebx & L7_EBX_SMAP);
	assert_non_null(find(b.out, 0xd, 0));
	built_free(&b);
}

static void test_mask_with_dependencies(void **state)
{
	struct built b;

	(void)state;
	assert_int_equal(build(&b, INTEL, "host,-xsave,-smap,popcnt=off", "1", 0), 0);
	assert_false(find(b.out, 1, 0)->ecx & (L1_ECX_XSAVE | L1_ECX_POPCNT));
	/* avx needs xsave, avx2 needs avx. */
	assert_false(find(b.out, 1, 0)->ecx & L1_ECX_AVX);
	assert_false(find(b.out, 7, 0)->ebx & (L7_EBX_AVX2 | L7_EBX_SMAP));
	assert_true(find(b.out, 7, 0)->ebx & L7_EBX_BMI1);
	assert_null(find(b.out, 0xd, 0));
	assert_null(find(b.out, 0xd, 1));
	built_free(&b);
}

static void test_mask_errors(void **state)
{
	struct built b;

	(void)state;
	/* rdrand is not in the supported table. */
	assert_int_equal(build(&b, INTEL, "host,+rdrand", "1", 0), -ENOTSUP);
	assert_string_equal(err_msg(-ENOTSUP), "this host's KVM does not offer 'rdrand'");
	built_free(&b);
	assert_int_equal(build(&b, INTEL, "host,-xsave,+avx", "1", 0), -EINVAL);
	assert_string_equal(err_msg(-EINVAL), "'avx' needs 'xsave'");
	built_free(&b);
}

static void test_parse_errors(void **state)
{
	struct cpu_config cpu;

	(void)state;
	assert_int_equal(cpu_parse("pentium", &cpu), -EINVAL);
	assert_string_equal(err_msg(-EINVAL),
			    "unknown CPU model 'pentium' (host, max, baseline, qemu64, kvm64)");
	assert_int_equal(cpu_parse("host,+nosuch", &cpu), -EINVAL);
	assert_string_equal(err_msg(-EINVAL),
			    "unknown CPU feature 'nosuch' (-cpu help lists them)");
	assert_int_equal(cpu_parse("host,xsave=maybe", &cpu), -EINVAL);
	/* QEMU spellings of the same feature. */
	assert_int_equal(cpu_parse("max,-sse4.1,-sse4-2,+sse3", &cpu), 0);
	assert_int_equal(cpu.model, CPU_MODEL_HOST);
	assert_int_equal(cpu.nr_changes, 3);
}

static void test_baseline(void **state)
{
	struct built b;

	(void)state;
	assert_int_equal(build(&b, INTEL, "baseline", "1", 0), 0);
	assert_true(find(b.out, 1, 0)->ecx & (L1_ECX_SSE4_2 | L1_ECX_POPCNT));
	assert_false(find(b.out, 1, 0)->ecx & (L1_ECX_XSAVE | L1_ECX_AVX));
	assert_int_equal(find(b.out, 7, 0)->ebx, 0);
	assert_null(find(b.out, 0xd, 0));
	/* pdpe1gb is not baseline; lm and syscall are. */
	assert_int_equal(find(b.out, 0x80000001, 0)->edx, (1u << 29) | (1u << 11));
	built_free(&b);
}

static void test_topology_leaves(void **state)
{
	struct kvm_cpuid_entry2 *e;
	struct built b;

	(void)state;
	/* 2 sockets x 3 cores x 2 threads; CPU 11 has APIC ID 13. */
	assert_int_equal(build(&b, INTEL, "host", "12,sockets=2,cores=3,threads=2", 11), 0);
	e = find(b.out, 1, 0);
	assert_int_equal(e->ebx >> 24, 13);
	assert_int_equal((e->ebx >> 16) & 0xff, 8);
	assert_true(e->edx & L1_EDX_HTT);
	e = find(b.out, 0xb, 0);
	assert_int_equal(e->eax, 1);
	assert_int_equal(e->ebx, 2);
	assert_int_equal(e->ecx, 0x100);
	assert_int_equal(e->edx, 13);
	e = find(b.out, 0xb, 1);
	assert_int_equal(e->eax, 3);
	assert_int_equal(e->ebx, 6);
	assert_int_equal(e->ecx, 0x201);
	e = find(b.out, 0xb, 2);
	assert_int_equal(e->ecx, 2);
	assert_int_equal(e->ebx, 0);
	assert_int_equal(find(b.out, 0x1f, 1)->ebx, 6);
	/* Leaf 4: cores per package - 1 = 3 (2 bits); L1/L2 shared by 2 threads, L3 by 8. */
	assert_int_equal(find(b.out, 4, 0)->eax >> 26, 3);
	assert_int_equal((find(b.out, 4, 0)->eax >> 14) & 0xfff, 1);
	assert_int_equal((find(b.out, 4, 2)->eax >> 14) & 0xfff, 7);
	assert_int_equal(find(b.out, 4, 0)->eax & 0x3fff, 0x0121);
	built_free(&b);

	assert_int_equal(build(&b, INTEL, "host", "1", 0), 0);
	assert_false(find(b.out, 1, 0)->edx & L1_EDX_HTT);
	assert_int_equal(find(b.out, 1, 0)->ebx >> 24, 0);
	built_free(&b);
}

/* Where VMCALL does not complete, PV features that need it are hidden unless asked for. */
static void test_no_hypercalls(void **state)
{
	struct cpu_config cpu;
	struct cpu_topology topo = { 1, 1, 1, 1 };
	struct kvm_cpuid2 *sup = supported(INTEL);
	struct kvm_cpuid2 *out = calloc(1, sizeof(*out) + MAX * sizeof(out->entries[0]));

	(void)state;
	assert_non_null(out);
	assert_int_equal(cpu_parse("host", &cpu), 0);
	assert_int_equal(cpuid_build(sup, &cpu, &topo, 0, out, MAX), 0);
	assert_int_equal(find(out, 0x40000001, 0)->eax, KVM_CLOCK | KVM_PV_UNHALT | KVM_PV_IPI);
	cpu.no_hypercalls = true;
	assert_int_equal(cpuid_build(sup, &cpu, &topo, 0, out, MAX), 0);
	assert_int_equal(find(out, 0x40000001, 0)->eax, KVM_CLOCK);
	assert_int_equal(cpu_parse("host,+kvm-pv-ipi", &cpu), 0);
	cpu.no_hypercalls = true;
	assert_int_equal(cpuid_build(sup, &cpu, &topo, 0, out, MAX), 0);
	assert_int_equal(find(out, 0x40000001, 0)->eax, KVM_CLOCK | KVM_PV_IPI);
	free(sup);
	free(out);
}

static void test_amd_core_count(void **state)
{
	struct built b;

	(void)state;
	assert_int_equal(build(&b, AMD, "host", "8,sockets=1,cores=4,threads=2", 3), 0);
	assert_int_equal(find(b.out, 0x80000008, 0)->ecx & 0xff, 7);
	assert_int_equal((find(b.out, 0x80000008, 0)->ecx >> 12) & 0xf, 3);
	built_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apic_ids),
		cmocka_unit_test(test_smp_derivation),
		cmocka_unit_test(test_host_keeps_features),
		cmocka_unit_test(test_mask_with_dependencies),
		cmocka_unit_test(test_mask_errors),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_baseline),
		cmocka_unit_test(test_topology_leaves),
		cmocka_unit_test(test_no_hypercalls),
		cmocka_unit_test(test_amd_core_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
