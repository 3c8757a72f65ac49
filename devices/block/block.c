// SPDX-License-Identifier: MIT
/* Opening a disk image: the file, its size and alignment, its locks, its format's backend. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "block_lock.h"
#include "error.h"
#include "qcow2.h"

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
		return err_set(EINVAL, "cache=none: the file system does not support O_DIRECT "
				       "(use cache=writeback)");
	if ((err == EACCES || err == EROFS) && !args->readonly)
		return err_set(err, "%s (use readonly=on to open it read-only)", strerror(err));
	return err_set(err, "%s", strerror(err));
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
		return err_set(errno, "%s", strerror(errno));
	if (S_ISREG(st.st_mode)) {
		f->length = st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(f->fd, BLKGETSIZE64, &size))
			return err_set(errno, "cannot get the device size: %s", strerror(errno));
		f->length = size;
	} else {
		/* A directory opened read-only gets here. */
		return err_set(S_ISDIR(st.st_mode) ? EISDIR : EINVAL,
			       "not a regular file or a block device");
	}
	if (args->cache == BLOCK_CACHE_NONE)
		f->alignment = direct_alignment(f->fd, &st);
	return 0;
}

/*
 * A qcow2 image taken as raw would hand the guest its metadata to overwrite.
 * One aligned block is read, so that O_DIRECT files can be checked too.
 */
static int refuse_qcow2(const struct block_file *f)
{
	static const uint8_t magic[4] = { 'Q', 'F', 'I', 0xfb };
	size_t len = f->alignment > sizeof(magic) ? f->alignment : sizeof(magic);
	uint8_t *head;
	int ret = 0;

	if (posix_memalign((void **)&head, f->alignment > 8 ? f->alignment : 8, len))
		return -ENOMEM;
	if (f->length >= len && pread(f->fd, head, len, 0) == (ssize_t)len &&
	    !memcmp(head, magic, sizeof(magic)))
		ret = err_set(EINVAL, "this is a qcow2 image, not raw (format=raw was given)");
	free(head);
	return ret;
}

int block_open(struct block_backend **bb, const struct block_open_args *args,
	       struct event_loop *loop)
{
	const char *format = args->format;
	struct block_file f = { .fd = -1 };
	int ret;

	*bb = NULL;
	if (format && strcmp(format, "raw") && strcmp(format, "qcow2"))
		return err_set(EINVAL, "unknown format '%s' (supported: raw, qcow2)", format);
	ret = file_open(&f, args);
	if (!ret && !format)
		ret = img_probe(f.fd, args->path, true, &format);
	if (ret)
		goto out;
	if (!strcmp(format, "qcow2")) {
		/* The engine locks the image and its backing files itself. */
		ret = qcow2_backend_open(bb, &f, args, loop);
		goto out;
	}
	ret = block_lock(f.fd, !args->readonly);
	if (!ret)
		ret = refuse_qcow2(&f);
	if (!ret)
		ret = raw_open(bb, &f, args, loop);
out:
	if (ret && f.fd >= 0)
		close(f.fd);
	return ret;
}
