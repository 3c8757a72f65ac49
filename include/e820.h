/* SPDX-License-Identifier: MIT */
/* The guest's memory map (e820 types), built from its RAM regions. */
#ifndef KVMINI_E820_H
#define KVMINI_E820_H

#include <stdint.h>
#include "guest_mem.h"

#define E820_RAM      1
#define E820_RESERVED 2

#define E820_MAX_ENTRIES 16

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/* Fill @out (sorted by address); returns the entry count or -ENOSPC. */
int e820_build(const struct guest_mem *mem, struct e820_entry *out, unsigned int max);

#endif
