/* SPDX-License-Identifier: MIT */
/*
 * Memory for device work: a bump allocator over guest RAM from 16 MiB up
 * (below 4 GiB, so identity-mapped and usable as DMA addresses) and
 * uncached mappings for MMIO above the runtime's 4 GiB identity map.
 */
#ifndef KVMINI_GUEST_MM_H
#define KVMINI_GUEST_MM_H

#include "guest.h"

#define MM_HEAP_START 0x1000000UL /* 16 MiB: clear of the image, the trampoline and firmware */

/*
 * @size bytes aligned to @align (a power of two), zeroed; NULL when RAM runs
 * out.  Never freed.  Zeroing is one rep stosb, but emulated at CPL0 on PVM
 * hosts: make large allocations from CPL3.
 */
void *mm_alloc(size_t size, size_t align);
/*
 * CPL0 only: identity-map [@addr, @addr + @size) with uncached 2 MiB pages
 * (PCD|PWT) where the runtime has no mapping yet.  0 or -ENOMEM.
 */
int mm_map_mmio(uint64_t addr, uint64_t size);

#endif
