/* SPDX-License-Identifier: MIT */
/* The table of CPUID feature bits kvmini knows by name (vmm/cpu_features.c). */
#ifndef KVMINI_CPU_FEATURES_H
#define KVMINI_CPU_FEATURES_H

#include <stdbool.h>
#include <stdint.h>

enum cpuid_reg { R_EAX, R_EBX, R_ECX, R_EDX };

struct cpu_feature {
	const char *name; /* as in /proc/cpuinfo */
	uint32_t leaf;
	uint32_t subleaf;
	enum cpuid_reg reg;
	uint8_t bit;
	bool baseline; /* part of the baseline model */
};

extern const struct cpu_feature cpu_features[];
extern const unsigned int nr_cpu_features;

/* Index of the feature called @name, or -1. */
int cpu_feature_find(const char *name);
/* Dependency @i: @feature needs @requires.  false past the end. */
bool cpu_feature_dep(unsigned int i, unsigned int *feature, unsigned int *requires);

#endif
