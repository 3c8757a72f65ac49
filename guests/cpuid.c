// SPDX-License-Identifier: MIT
/*
 * Prints what the guest sees through CPUID, for the -cpu and -smp tests:
 * the feature words, the initial APIC ID and the extended topology leaf.
 */
#include "guest.h"

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

int main(void)
{
	uint32_t r[4], max, ext_max;

	cpuid(0, 0, r);
	max = r[0];
	cpuid(1, 0, r);
	printf("cpuid: 1 ecx=%08x edx=%08x apic_id=%u logical=%u\n", r[2], r[3], r[1] >> 24,
	       (r[1] >> 16) & 0xff);
	if (max >= 7) {
		cpuid(7, 0, r);
		printf("cpuid: 7 ebx=%08x ecx=%08x edx=%08x\n", r[1], r[2], r[3]);
	}
	if (max >= 0xb) {
		for (uint32_t level = 0; level < 4; level++) {
			cpuid(0xb, level, r);
			if (!((r[2] >> 8) & 0xff))
				break;
			printf("cpuid: b.%u shift=%u count=%u type=%u x2apic_id=%u\n", level,
			       r[0] & 0x1f, r[1] & 0xffff, (r[2] >> 8) & 0xff, r[3]);
		}
	}
	cpuid(0x80000000, 0, r);
	ext_max = r[0];
	if (ext_max >= 0x80000001) {
		cpuid(0x80000001, 0, r);
		printf("cpuid: 80000001 ecx=%08x edx=%08x\n", r[2], r[3]);
	}
	cpuid(0x40000000, 0, r);
	if (r[0] >= 0x40000001 && r[1] == 0x4b4d564b) { /* "KVMK" */
		cpuid(0x40000001, 0, r);
		printf("cpuid: kvm eax=%08x\n", r[0]);
	}
	return GUEST_EXIT_OK;
}
