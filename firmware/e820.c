// SPDX-License-Identifier: MIT
#include <errno.h>

#include "e820.h"
#include "layout.h"

/* Add an entry at its place in the map, which stays sorted by address. */
static int e820_add(struct e820_entry *out, unsigned int *n, unsigned int max, uint64_t addr,
		    uint64_t size, uint32_t type)
{
	unsigned int i = *n;

	if (!size)
		return 0;
	if (*n == max)
		return -ENOSPC;
	for (; i > 0 && out[i - 1].addr > addr; i--)
		out[i] = out[i - 1];
	out[i] = (struct e820_entry){ addr, size, type };
	(*n)++;
	return 0;
}

int e820_build(const struct guest_mem *mem, struct e820_entry *out, unsigned int max)
{
	const struct guest_mem_region *sorted[GUEST_MEM_MAX_REGIONS];
	unsigned int n = 0, nr = mem->nr_regions;
	int ret = 0;

	/* Regions are few: insertion sort by address. */
	for (unsigned int i = 0; i < nr; i++) {
		unsigned int j = i;

		while (j > 0 && sorted[j - 1]->gpa > mem->regions[i].gpa) {
			sorted[j] = sorted[j - 1];
			j--;
		}
		sorted[j] = &mem->regions[i];
	}
	for (unsigned int i = 0; i < nr && !ret; i++) {
		uint64_t start = sorted[i]->gpa, end = start + sorted[i]->size;

		/* The legacy EBDA/VGA/BIOS area of the first MiB is not usable RAM. */
		if (start < EBDA_START && end > EBDA_START) {
			ret = e820_add(out, &n, max, start, EBDA_START - start, E820_RAM);
			start = EBDA_START;
		}
		if (!ret && start >= EBDA_START && start < BIOS_AREA_END) {
			uint64_t hole_end = end < BIOS_AREA_END ? end : BIOS_AREA_END;

			ret = e820_add(out, &n, max, start, hole_end - start, E820_RESERVED);
			start = hole_end;
		}
		if (!ret)
			ret = e820_add(out, &n, max, start, end - start, E820_RAM);
	}
	/* PCI ECAM: OSes use it only where the firmware reserved it. */
	if (!ret)
		ret = e820_add(out, &n, max, PCI_ECAM_BASE, PCI_ECAM_SIZE, E820_RESERVED);
	return ret ? ret : (int)n;
}
