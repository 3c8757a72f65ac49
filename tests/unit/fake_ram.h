/* SPDX-License-Identifier: MIT */
/* For loader and table tests: guest RAM (a cmocka-tracked buffer at guest address 0), errors. */
#ifndef KVMINI_TEST_FAKE_RAM_H
#define KVMINI_TEST_FAKE_RAM_H

#include <string.h>

#include "error.h"
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

/* A loader returned @ret: it must be @err with a message containing @phrase. */
static inline void expect_load_error(int ret, int err, const char *phrase)
{
	assert_int_equal(ret, err);
	if (!strstr(err_msg(ret), phrase))
		fail_msg("message \"%s\" lacks \"%s\"", err_msg(ret), phrase);
}

#endif
