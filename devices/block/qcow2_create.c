// SPDX-License-Identifier: MIT
/*
 * Creating images.  A new qcow2 image starts as a header, a one-cluster
 * refcount table and one refcount block (clusters 0-2) and an empty L1
 * table; growing it to its size is then an ordinary resize.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "qcow2_int.h"

static int check_opts(const struct img_create_opts *o, uint32_t *version, uint32_t *cs,
		      uint32_t *rb)
{
	*version = o->version ? o->version : 3;
	*cs = o->cluster_size ? o->cluster_size : 65536;
	*rb = o->refcount_bits ? o->refcount_bits : 16;
	if (*version != 2 && *version != 3)
		return err_set(EINVAL,
			       "version %u: qcow2 versions are 2 (compat=0.10) and 3 "
			       "(compat=1.1)",
			       *version);
	if (*cs < 512 || *cs > 2 * MIB || (*cs & (*cs - 1)))
		return err_set(EINVAL, "cluster size %u: a power of two from 512 to 2M", *cs);
	if (*rb > 64 || (*rb & (*rb - 1)))
		return err_set(EINVAL, "refcount bits %u: a power of two from 1 to 64", *rb);
	if (*version == 2 && *rb != 16)
		return err_set(EINVAL, "qcow2 version 2 has 16-bit refcounts only");
	if (*version == 2 && o->lazy_refcounts)
		return err_set(EINVAL, "lazy refcounts need qcow2 version 3");
	if (o->compression > QCOW2_COMPRESSION_ZSTD)
		return err_set(EINVAL, "unknown compression type %d", o->compression);
	if (*version == 2 && o->compression != QCOW2_COMPRESSION_ZLIB)
		return err_set(EINVAL, "zstd compression needs qcow2 version 3");
	if (o->backing_file && strlen(o->backing_file) > QCOW2_MAX_BACKING_NAME)
		return err_set(ENAMETOOLONG, "backing file name longer than %d bytes",
			       QCOW2_MAX_BACKING_NAME);
	if (o->backing_format && strcmp(o->backing_format, "raw") &&
	    strcmp(o->backing_format, "qcow2"))
		return err_set(EINVAL, "unknown backing format '%s' (supported: raw, qcow2)",
			       o->backing_format);
	return 0;
}

/* Open the backing file as the new image will: its size, and its format if none was given. */
static int probe_backing(const char *path, const struct img_create_opts *o, uint64_t *size,
			 char **format)
{
	struct img_open_opts bo = { .format = o->backing_format, .quiet = true };
	struct img *b;
	char *full = qcow2_resolve_backing(path, o->backing_file);
	int ret;

	if (!full)
		return err_set(ENOMEM, "out of memory");
	ret = img_open(&b, full, &bo);
	free(full);
	if (ret)
		return err_prefix(ret, "backing file");
	*size = img_size(b);
	*format = strdup(b->format == IMG_FORMAT_QCOW2 ? "qcow2" : "raw");
	img_close(b);
	return *format ? 0 : err_set(ENOMEM, "out of memory");
}

static int write_empty_qcow2(int fd, const char *path, const struct img_create_opts *o,
			     uint32_t version, uint32_t cs, uint32_t rb, const char *bfmt)
{
	struct img img = { .fd = fd, .path = (char *)path, .who = "", .rw = true };
	struct qcow2 *q = &img.q;
	uint8_t *buf = calloc(2, cs);
	int ret;

	if (!buf)
		return err_set(ENOMEM, "out of memory");
	q->version = version;
	q->cluster_bits = (uint32_t)__builtin_ctz(cs);
	q->cluster_size = cs;
	q->refcount_order = (uint32_t)__builtin_ctz(rb);
	q->header_len = version == 3 ? QCOW2_HEADER_LEN_CREATED : QCOW2_V2_HEADER_LEN;
	q->compression = o->compression;
	q->incompat = o->compression == QCOW2_COMPRESSION_ZSTD ? INCOMPAT_COMPRESSION : 0;
	q->compat = o->lazy_refcounts ? COMPAT_LAZY_REFCOUNTS : 0;
	q->rt_offset = cs;
	q->rt_clusters = 1;
	img.backing_file = (char *)o->backing_file;
	img.backing_format = (char *)bfmt;
	/* Cluster 1: the refcount table, one block at cluster 2; the block: clusters 0-2 used. */
	put_be64(buf, 2ULL * cs);
	for (uint64_t i = 0; i < 3; i++)
		qcow2_rb_write(q, buf + cs, i, 1);
	ret = qcow2_pwrite(&img, buf, 2ULL * cs, cs);
	if (!ret)
		ret = qcow2_write_header(&img);
	if (!ret && ftruncate(fd, 3ULL * cs))
		ret = err_set(errno, "%s: %s", path, strerror(errno));
	free(buf);
	return ret;
}

int img_create(const char *path, const struct img_create_opts *o)
{
	uint32_t version = 3, cs = 65536, rb = 16;
	uint64_t size = o->size, bsize = 0;
	char *bfmt = NULL;
	struct img *img;
	int fd, ret;

	if (o->format == IMG_FORMAT_QCOW2) {
		ret = check_opts(o, &version, &cs, &rb);
		if (ret)
			return ret;
		if (o->backing_file) {
			ret = probe_backing(path, o, &bsize, &bfmt);
			if (ret)
				return ret;
			if (!size)
				size = bsize;
		}
		size = (size + 511) & ~511ULL;
	} else if (o->backing_file) {
		return err_set(EINVAL, "raw images have no backing file");
	}
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		free(bfmt);
		return err_set(errno, "%s: %s", path, strerror(errno));
	}
	if (o->format != IMG_FORMAT_QCOW2) {
		ret = ftruncate(fd, size) ? err_set(errno, "%s: %s", path, strerror(errno)) : 0;
		close(fd);
		return ret;
	}
	ret = write_empty_qcow2(fd, path, o, version, cs, rb,
				o->backing_format ? o->backing_format : bfmt);
	free(bfmt);
	if (!ret) {
		struct img_open_opts oo = { .format = "qcow2",
					    .readwrite = true,
					    .no_backing = true };

		ret = img_open_fd(&img, fd, path, &oo);
		if (!ret) {
			int closed;

			ret = img_resize(img, size);
			closed = img_close(img);
			ret = ret ? ret : closed;
		}
	}
	close(fd);
	return ret;
}
