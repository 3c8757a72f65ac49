// SPDX-License-Identifier: MIT
/* Heap for rings and buffers; page tables for MMIO above 4 GiB. */
#include "mm.h"

#include <errno.h>

#define FOUR_GIB  0x100000000ULL
#define PAGE_2M	  0x200000ULL
#define PTE_ADDR  0x000ffffffffff000ULL
#define PTE_FLAGS (PTE_P | PTE_RW | PTE_US)

static uint64_t heap_next, heap_end;

/* The RAM entry of the memory map that holds MM_HEAP_START bounds the heap. */
static void heap_setup(void)
{
	const struct hvm_memmap_entry *map;
	uint32_t n = guest_memmap(&map);

	heap_next = MM_HEAP_START;
	heap_end = MM_HEAP_START;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t end = map[i].addr + map[i].size;

		if (map[i].type != E820_RAM || map[i].addr > MM_HEAP_START || end <= MM_HEAP_START)
			continue;
		heap_end = end < FOUR_GIB ? end : FOUR_GIB;
	}
}

static void *mm_zero(void *p, size_t n)
{
	void *d = p;

	asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(0) : "memory");
	return p;
}

void *mm_alloc(size_t size, size_t align)
{
	uint64_t p;

	if (!heap_next)
		heap_setup();
	p = (heap_next + align - 1) & ~(uint64_t)(align - 1);
	if (p + size > heap_end || p + size < p)
		return NULL;
	heap_next = p + size;
	return mm_zero((void *)(uintptr_t)p, size);
}

/* The table an entry points to, made if absent. */
static uint64_t *next_table(uint64_t *entry)
{
	uint64_t *t;

	if (*entry & PTE_P)
		return (uint64_t *)(uintptr_t)(*entry & PTE_ADDR);
	t = mm_alloc(4096, 4096);
	if (t)
		*entry = (uint64_t)(uintptr_t)t | PTE_FLAGS;
	return t;
}

int mm_map_mmio(uint64_t addr, uint64_t size)
{
	uint64_t cr3, a, end = addr + size;

	asm volatile("mov %%cr3, %0" : "=r"(cr3));
	for (a = addr & ~(PAGE_2M - 1); a < end; a += PAGE_2M) {
		uint64_t *pml4 = (uint64_t *)(uintptr_t)(cr3 & PTE_ADDR);
		uint64_t *pdpt, *pd;

		if (a < FOUR_GIB)
			continue; /* the runtime's identity map */
		pdpt = next_table(&pml4[(a >> 39) & 511]);
		pd = pdpt ? next_table(&pdpt[(a >> 30) & 511]) : NULL;
		if (!pd)
			return -ENOMEM;
		if (!(pd[(a >> 21) & 511] & PTE_P))
			pd[(a >> 21) & 511] = a | PTE_FLAGS | PTE_PS | PTE_PCD | PTE_PWT;
	}
	/* Only not-present entries changed: no TLB entry can be stale. */
	return 0;
}
