/* SPDX-License-Identifier: MIT */
/*
 * Guest physical memory.  Every access to guest memory by the monitor goes
 * through guest_mem_ptr() (or the copy helpers built on it), which checks
 * that the whole range lies inside one RAM region, with overflow checks.
 */
#ifndef KVMINI_GUEST_MEM_H
#define KVMINI_GUEST_MEM_H

#include <stdint.h>
#include <stddef.h>

#define GUEST_MEM_MAX_REGIONS 8

struct guest_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

struct guest_mem {
	struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned int nr_regions;
};

/* Add a region; regions must not overlap.  0, -ENOSPC, -EINVAL or -EEXIST. */
int guest_mem_add(struct guest_mem *mem, uint64_t gpa, uint64_t size, void *hva);

/*
 * Host pointer for guest range [gpa, gpa + len), or NULL when any byte of it
 * is not guest RAM (or len is 0, or the range wraps).
 */
void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Copy between guest and host.  0 or -EFAULT. */
int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, uint64_t len);
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, uint64_t len);

/* Total bytes of RAM. */
uint64_t guest_mem_total(const struct guest_mem *mem);

#endif
