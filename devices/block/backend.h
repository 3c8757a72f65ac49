/* SPDX-License-Identifier: MIT */
/* Private to devices/block/: what block_open() hands to a format's backend. */
#ifndef KVMINI_BLOCK_BACKEND_H
#define KVMINI_BLOCK_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "block.h"

/* An image file, opened and locked by block_open(). */
struct block_file {
	int fd;
	uint64_t length;    /* bytes */
	uint32_t alignment; /* O_DIRECT: the logical block size; else 1 */
	bool readonly;
};

/* On success the backend owns @file->fd.  0, or -errno with err_set(). */
int raw_open(struct block_backend **bb, const struct block_file *file,
	     const struct block_open_args *args, struct event_loop *loop);

/* The same for a qcow2 image (devices/block/qcow2_backend.c); the backend owns @file->fd. */
int qcow2_backend_open(struct block_backend **bb, const struct block_file *file,
		       const struct block_open_args *args, struct event_loop *loop);

#endif
