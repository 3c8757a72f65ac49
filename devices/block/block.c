// SPDX-License-Identifier: MIT
/* Opening a disk image: the file, its size and alignment, its locks, its format's backend. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "block_lock.h"
#include "error.h"

/* The DIO alignment a file needs: its device's logical block size. */
static uint32_t direct_alignment(int fd, const struct stat *st)
{
	struct statx stx;
	int sector;

	if (S_ISBLK(st->st_mode))
		return ioctl(fd, BLKSSZGET, &sector) || sector <= 0 ? 512 : (uint32_t)sector;
	if (!statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) &&
	    (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align) {
		uint32_t mem = stx.stx_dio_mem_align, off = stx.stx_dio_offset_align;

		return mem > off ? mem : off;
	}
	return 512;
}

static int open_error(const struct block_open_args *args, int err)
{
	if (err == EINVAL && args->cache == BLOCK_CACHE_NONE)
		return err_set(
			EINVAL,
			"%s: cache=none: the file system does not support O_DIRECT (use cache=writeback)",
			args->path);
	if ((err == EACCES || err == EROFS) && !args->readonly)
		return err_set(err, "%s: %s (use readonly=on to open it read-only)", args->path,
			       strerror(err));
	return err_set(err, "%s: %s", args->path, strerror(err));
}

static int file_open(struct block_file *f, const struct block_open_args *args)
{
	int flags = (args->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	uint64_t size;
	struct stat st;

	if (args->cache == BLOCK_CACHE_NONE)
		flags |= O_DIRECT;
	f->fd = open(args->path, flags);
	if (f->fd < 0)
		return open_error(args, errno);
	f->readonly = args->readonly;
	f->alignment = 1;
	if (fstat(f->fd, &st))
		return err_set(errno, "%s: %s", args->path, strerror(errno));
	if (S_ISREG(st.st_mode)) {
		f->length = st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(f->fd, BLKGETSIZE64, &size))
			return err_set(errno, "%s: cannot get the device size: %s", args->path,
				       strerror(errno));
		f->length = size;
	} else {
		/* A directory opened read-only gets here. */
		return err_set(S_ISDIR(st.st_mode) ? EISDIR : EINVAL,
			       "%s: not a regular file or a block device", args->path);
	}
	if (args->cache == BLOCK_CACHE_NONE)
		f->alignment = direct_alignment(f->fd, &st);
	return 0;
}

int block_open(struct block_backend **bb, const struct block_open_args *args,
	       struct event_loop *loop)
{
	const char *format = args->format ? args->format : "raw";
	struct block_file f = { .fd = -1 };
	int ret;

	*bb = NULL;
	if (strcmp(format, "raw"))
		return err_set(EINVAL, "unknown format '%s' (supported: raw)", format);
	ret = file_open(&f, args);
	if (!ret)
		ret = block_lock(f.fd, args->path, !args->readonly);
	if (!ret)
		ret = raw_open(bb, &f, args, loop);
	if (ret && f.fd >= 0)
		close(f.fd);
	return ret;
}
