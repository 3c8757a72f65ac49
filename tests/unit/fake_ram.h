/* SPDX-License-Identifier: MIT */
/* Guest RAM for loader and table tests: a cmocka-tracked buffer mapped at guest address 0. */
#ifndef KVMINI_TEST_FAKE_RAM_H
#define KVMINI_TEST_FAKE_RAM_H

#include <string.h>

#include "guest_mem.h"

/* @size bytes filled with @fill (so stray writes show).  0, or -1 for cmocka's setup. */
static inline int fake_ram_init(struct guest_mem *mem, uint8_t **ram, size_t size, int fill)
{
	*ram = test_malloc(size);
	if (!*ram)
		return -1;
	memset(*ram, fill, size);
	return guest_mem_add(mem, 0, size, *ram) ? -1 : 0;
}

#endif
