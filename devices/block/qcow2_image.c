// SPDX-License-Identifier: MIT
/*
 * The img_* calls: argument checks, then the raw file or the qcow2 engine.
 * A raw image is just its file (holes are its zeros).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "qcow2_int.h"

void img_get_info(struct img *img, struct img_info *info)
{
	struct qcow2 *q = &img->q;
	struct stat st;

	memset(info, 0, sizeof(*info));
	info->format = img->format;
	info->format_name = img->format == IMG_FORMAT_QCOW2 ? "qcow2" : "raw";
	info->virtual_size = img->size;
	if (!fstat(img->fd, &st)) {
		info->file_size = st.st_size;
		info->actual_size = (uint64_t)st.st_blocks * 512;
	}
	if (img->format != IMG_FORMAT_QCOW2)
		return;
	info->version = q->version;
	info->cluster_size = (uint32_t)q->cluster_size;
	info->refcount_bits = 1U << q->refcount_order;
	info->compression = q->compression;
	info->lazy_refcounts = q->compat & COMPAT_LAZY_REFCOUNTS;
	info->dirty = q->incompat & INCOMPAT_DIRTY;
	info->corrupt = q->incompat & INCOMPAT_CORRUPT;
	info->incompatible_features = q->incompat;
	info->compatible_features = q->compat;
	info->autoclear_features = q->autoclear;
	info->backing_file = img->backing_file;
	info->backing_format = img->backing_format;
	info->backing_path = img->backing_path;
	info->nb_snapshots = q->nb_snapshots;
}

uint64_t img_size(const struct img *img)
{
	return img->size;
}

struct img *img_backing(const struct img *img)
{
	return img->backing;
}

const char *img_path(const struct img *img)
{
	return img->path;
}

/* ---- data: checks, then raw or qcow2 ---- */

static int check_range(struct img *img, uint64_t off, uint64_t len, bool write)
{
	if (write && !img->rw)
		return err_set(EROFS, "%sthe image is open read-only", img->who);
	if (off > img->size || len > img->size - off)
		return err_set(EINVAL, "%srange %llu+%llu is beyond the end of the disk (%llu)",
			       img->who, (unsigned long long)off, (unsigned long long)len,
			       (unsigned long long)img->size);
	return 0;
}

/* Zeros beyond a shorter backing file. */
int qcow2_read_backing(struct img *img, uint64_t off, void *buf, size_t len)
{
	struct img *b = img->backing;
	size_t n = 0;

	if (b && off < b->size) {
		n = b->size - off < len ? b->size - off : len;
		int ret = img_read(b, off, buf, n);

		if (ret)
			return ret;
	}
	memset((uint8_t *)buf + n, 0, len - n);
	return 0;
}

int img_read(struct img *img, uint64_t offset, void *buf, size_t len)
{
	int ret = check_range(img, offset, len, false);

	if (ret || !len)
		return ret;
	if (img->format == IMG_FORMAT_RAW)
		return qcow2_pread(img, buf, len, offset);
	return qcow2_read(img, offset, buf, len);
}

int img_write(struct img *img, uint64_t offset, const void *buf, size_t len)
{
	int ret = check_range(img, offset, len, true);

	if (ret || !len)
		return ret;
	if (img->format == IMG_FORMAT_RAW)
		return qcow2_pwrite(img, buf, len, offset);
	return qcow2_write(img, offset, buf, len);
}

/* Raw: a punched hole (or a zeroed range) for both. */
static int raw_zero(struct img *img, uint64_t off, uint64_t len, bool discard)
{
	static const uint8_t zeros[65536];

	if (!fallocate(img->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, len) ||
	    !fallocate(img->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len))
		return 0;
	if (discard)
		return 0;
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < sizeof(zeros) ? len - done : sizeof(zeros);
		int ret = qcow2_pwrite(img, zeros, n, off + done);

		if (ret)
			return ret;
		done += n;
	}
	return 0;
}

int img_write_zeroes(struct img *img, uint64_t offset, uint64_t len)
{
	int ret = check_range(img, offset, len, true);

	if (ret || !len)
		return ret;
	if (img->format == IMG_FORMAT_RAW)
		return raw_zero(img, offset, len, false);
	return qcow2_zero(img, offset, len, false);
}

int img_discard(struct img *img, uint64_t offset, uint64_t len)
{
	int ret = check_range(img, offset, len, true);

	if (ret || !len)
		return ret;
	if (img->format == IMG_FORMAT_RAW)
		return raw_zero(img, offset, len, true);
	return qcow2_zero(img, offset, len, true);
}

int img_resize(struct img *img, uint64_t size)
{
	if (!img->rw)
		return err_set(EROFS, "%sthe image is open read-only", img->who);
	if (img->format == IMG_FORMAT_QCOW2)
		return qcow2_resize(img, size);
	if (ftruncate(img->fd, size))
		return err_set(errno, "%s%s", img->who, strerror(errno));
	img->size = size;
	return 0;
}

static int raw_block_status(struct img *img, uint64_t off, uint64_t len, struct img_extent *ext)
{
	off_t data = lseek(img->fd, off, SEEK_DATA), hole;

	ext->has_host_offset = true;
	ext->host_offset = off;
	if (data < 0 && errno == ENXIO) {
		ext->type = IMG_EXTENT_ZERO;
	} else if (data < 0) {
		ext->type = IMG_EXTENT_DATA; /* no SEEK_DATA: all data */
	} else if ((uint64_t)data > off) {
		ext->type = IMG_EXTENT_ZERO;
		len = (uint64_t)data - off < len ? (uint64_t)data - off : len;
	} else {
		ext->type = IMG_EXTENT_DATA;
		hole = lseek(img->fd, off, SEEK_HOLE);
		if (hole > 0 && (uint64_t)hole - off < len)
			len = (uint64_t)hole - off;
	}
	ext->length = len;
	return 0;
}

int img_block_status(struct img *img, uint64_t offset, uint64_t len, bool whole_chain,
		     struct img_extent *ext)
{
	int ret = check_range(img, offset, len, false);

	if (ret)
		return ret;
	if (!len)
		return err_set(EINVAL, "%sblock status of an empty range", img->who);
	memset(ext, 0, sizeof(*ext));
	ext->offset = offset;
	ext->depth = 0;
	if (img->format == IMG_FORMAT_RAW)
		return raw_block_status(img, offset, len, ext);
	ret = qcow2_block_status(img, offset, len, ext);
	if (ret || ext->type != IMG_EXTENT_UNALLOCATED || !whole_chain || !img->backing)
		return ret;
	if (offset >= img->backing->size) {
		ext->type = IMG_EXTENT_ZERO;
		return 0;
	}
	len = ext->length < img->backing->size - offset ? ext->length : img->backing->size - offset;
	ret = img_block_status(img->backing, offset, len, true, ext);
	ext->depth++;
	return ret;
}
