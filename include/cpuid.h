/* SPDX-License-Identifier: MIT */
/*
 * What the guest sees through CPUID: the CPU model (-cpu), feature masks by
 * their /proc/cpuinfo names, and the topology (-smp) with matching APIC IDs.
 */
#ifndef KVMINI_CPUID_H
#define KVMINI_CPUID_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

struct cpu_topology {
	unsigned int sockets;
	unsigned int cores;   /* per socket */
	unsigned int threads; /* per core */
	unsigned int max_cpus;
};

enum cpu_model {
	CPU_MODEL_HOST,	    /* everything KVM offers */
	CPU_MODEL_BASELINE, /* x86-64-v2: SSE4.2, POPCNT, CX16; no AVX, no XSAVE */
};

#define CPU_MAX_FEATURE_CHANGES 64

struct cpu_config {
	enum cpu_model model;
	/*
	 * Hide the paravirtual features that work by hypercall (PV IPIs, PV
	 * spinlock kicks, PV yield) unless asked for: set where the host's
	 * KVM does not complete a guest's VMCALL.
	 */
	bool no_hypercalls;
	/*
	 * The host lets guest CPUID show the real CPU's bits for features its
	 * KVM does not manage (PVM): masking those cannot work, so say so.
	 */
	bool cpuid_leaks;
	unsigned int nr_changes;
	struct {
		unsigned int feature; /* index into the feature table */
		bool enable;
	} changes[CPU_MAX_FEATURE_CHANGES];
};

/* Parse "-smp N,sockets=S,cores=C,threads=T,maxcpus=M".  0 or -EINVAL + err_set(). */
int smp_parse(const char *arg, unsigned int *nr_cpus, struct cpu_topology *topo);
/* Parse "-cpu MODEL[,+feat][,-feat][,feat=on|off]".  0 or -EINVAL + err_set(). */
int cpu_parse(const char *arg, struct cpu_config *cpu);

/* The APIC ID of CPU @index: socket, core and thread fields of power-of-two widths. */
uint32_t topo_apic_id(const struct cpu_topology *topo, unsigned int index);

/*
 * The CPUID table for vCPU @index, from what KVM supports.  @out has room for
 * @max entries.  0, or -errno + err_set() (a feature asked for that KVM does
 * not offer).
 */
int cpuid_build(const struct kvm_cpuid2 *supported, const struct cpu_config *cpu,
		const struct cpu_topology *topo, unsigned int index, struct kvm_cpuid2 *out,
		unsigned int max);

/* Feature names for -cpu help. */
void cpu_list_features(void);

#endif
