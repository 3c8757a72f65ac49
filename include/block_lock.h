/* SPDX-License-Identifier: MIT */
/*
 * Image locking that QEMU understands (its file-posix "locking=on/auto"):
 * shared open-file-description locks on single bytes of the image.  Byte
 * 100 + p means "I use permission p", byte 200 + p "nobody else may use p";
 * p = 0 is consistent read, p = 1 write.  A writer holds 100, 101 and 201,
 * a reader 100 and 201, exactly as QEMU's read-write and read-only
 * virtio-blk drives do.  The locks go away when the fd is closed.
 */
#ifndef KVMINI_BLOCK_LOCK_H
#define KVMINI_BLOCK_LOCK_H

#include <stdbool.h>

/*
 * Lock the image open at @fd for reading, or for writing when @write.
 * 0, or -EBUSY when another process's locks conflict (err_set() says which),
 * or another -errno.  On failure @fd holds no locks.
 */
int block_lock(int fd, bool write);

#endif
