// SPDX-License-Identifier: MIT
/*
 * QEMU-compatible image locks (see block_lock.h).  Like QEMU, take our bytes
 * first and then look for conflicts: two openers racing both see each other
 * and both give up, never both succeed.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "block_lock.h"
#include "error.h"
#include "util.h"

#define LOCK_USE_BASE	  100 /* + permission: the holder uses it */
#define LOCK_UNSHARE_BASE 200 /* + permission: the holder lets nobody else use it */
#define LOCK_END	  300 /* QEMU uses bytes [100, 300) */
#define PERM_READ	  0   /* QEMU's BLK_PERM_CONSISTENT_READ */
#define PERM_WRITE	  1   /* QEMU's BLK_PERM_WRITE */

static int ofd_lock(int fd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	return fcntl(fd, F_OFD_SETLK, &fl) ? -errno : 0;
}

/* 1 if another open file description holds a lock on byte @off, 0 if not, or -errno. */
static int held_by_other(int fd, off_t off)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = off, .l_len = 1 };

	if (fcntl(fd, F_OFD_GETLK, &fl))
		return -errno;
	return fl.l_type != F_UNLCK;
}

static int take(int fd, bool write)
{
	const off_t bytes[] = { LOCK_USE_BASE + PERM_READ, LOCK_UNSHARE_BASE + PERM_WRITE,
				LOCK_USE_BASE + PERM_WRITE };
	unsigned int n = write ? 3 : 2;

	for (unsigned int i = 0; i < n; i++) {
		int ret = ofd_lock(fd, F_RDLCK, bytes[i], 1);

		/* Only an exclusive lock blocks ours; QEMU never takes one for long. */
		if (ret == -EAGAIN)
			return err_set(EBUSY, "the image is locked by another process");
		if (ret)
			return err_set(-ret, "cannot lock the image: %s", strerror(-ret));
	}
	return 0;
}

/* A byte another process holds that stops us, and what to tell the user. */
static const struct conflict {
	off_t byte;
	bool writer_only; /* only a writer minds */
	const char *why, *fix;
} conflicts[] = {
	{ LOCK_USE_BASE + PERM_WRITE, false, "it holds a write lock", "close it first" },
	{ LOCK_UNSHARE_BASE + PERM_WRITE, true, "it does not let others write",
	  "close it or use readonly=on" },
	{ LOCK_UNSHARE_BASE + PERM_READ, false, "it does not let others read", "close it first" },
};

static int check(int fd, bool write)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(conflicts); i++) {
		const struct conflict *c = &conflicts[i];
		int ret;

		if (c->writer_only && !write)
			continue;
		ret = held_by_other(fd, c->byte);
		if (ret < 0)
			return err_set(-ret, "cannot test the image locks: %s", strerror(-ret));
		if (ret)
			return err_set(EBUSY, "the image is in use by another process (%s); %s",
				       c->why, c->fix);
	}
	return 0;
}

int block_lock(int fd, bool write)
{
	int ret = take(fd, write);

	if (!ret)
		ret = check(fd, write);
	if (ret)
		ofd_lock(fd, F_UNLCK, LOCK_USE_BASE, LOCK_END - LOCK_USE_BASE);
	return ret;
}
