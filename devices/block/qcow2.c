// SPDX-License-Identifier: MIT
/*
 * Images (include/qcow2.h): probing, opening raw and qcow2 files and their
 * backing chains (resolved, locked, checked for loops), flushing, closing.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block_lock.h"
#include "error.h"
#include "qcow2_int.h"

#define L2_CACHE_BYTES (4 * MIB)
#define RC_CACHE_BYTES (1 * MIB)

int qcow2_pread(struct img *img, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(img->fd, (uint8_t *)buf + done, len - done, off + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(errno, "%sread error at %llu: %s", img->who,
				       (unsigned long long)(off + done), strerror(errno));
		if (!n) {
			/* Past the end of the file: zeros, as QEMU reads them. */
			memset((uint8_t *)buf + done, 0, len - done);
			break;
		}
		done += n;
	}
	return 0;
}

int qcow2_pwrite(struct img *img, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(img->fd, (const uint8_t *)buf + done, len - done, off + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_set(n ? errno : EIO, "%swrite error at %llu: %s", img->who,
				       (unsigned long long)(off + done), strerror(n ? errno : EIO));
		done += n;
	}
	return 0;
}

int img_probe(int fd, const char *path, bool warn, const char **format)
{
	uint8_t *head;
	ssize_t n;

	/* Aligned, so that O_DIRECT files can be probed too. */
	if (posix_memalign((void **)&head, 4096, 4096))
		return err_set(ENOMEM, "out of memory");
	n = pread(fd, head, 4096, 0);
	if (n < 0) {
		free(head);
		return err_set(errno, "%s", strerror(errno));
	}
	*format = n >= 4 && be32(head) == QCOW2_MAGIC ? "qcow2" : "raw";
	free(head);
	if (warn && !strcmp(*format, "raw"))
		pr_warn("image format was not specified for '%s' and probing guessed raw; "
			"specify format=raw explicitly to remove this warning",
			path ? path : "?");
	return 0;
}

static int qcow2_init(struct img *img, const struct img_open_opts *opts)
{
	struct qcow2 *q = &img->q;
	unsigned int l2n, rcn;
	int ret;

	ret = qcow2_parse_header(img, opts);
	if (ret)
		return ret;
	l2n = L2_CACHE_BYTES / q->cluster_size;
	rcn = RC_CACHE_BYTES / q->cluster_size;
	ret = qcache_init(&q->l2c, l2n < 4 ? 4 : l2n > 64 ? 64 : l2n, q->cluster_size, STAGE_L2);
	if (!ret)
		ret = qcache_init(&q->rcc,
				  rcn < 4    ? 4
				  : rcn > 32 ? 32
					     : rcn,
				  q->cluster_size, STAGE_REFCOUNT);
	if (ret || !img->rw)
		return ret;
	if (q->autoclear) {
		/* We keep no bitmaps (or other autoclear data) in sync: say so, as the spec asks. */
		q->autoclear = 0;
		ret = qcow2_write_header(img);
		if (ret)
			return ret;
	}
	/* qcow2_check() repairs (and cleans) a dirty image opened for it. */
	if (opts->check)
		return 0;
	if (q->incompat & INCOMPAT_DIRTY) {
		ret = qcow2_repair_dirty(img);
		if (ret)
			return ret;
	}
	if (q->compat & COMPAT_LAZY_REFCOUNTS) {
		/* Refcount updates may then lag: a crash leaves the dirty bit to say so. */
		q->incompat |= INCOMPAT_DIRTY;
		q->dirty_on_disk = true;
		ret = qcow2_write_header(img);
		if (!ret)
			ret = qcow2_sync(img);
	}
	return ret;
}

/* The file of a chain member, and the identity that detects loops. */
struct chain_seen {
	dev_t dev[IMG_MAX_CHAIN + 1];
	ino_t ino[IMG_MAX_CHAIN + 1];
	unsigned int n;
};

static int open_one(struct img **out, int fd, const char *path, const char *format,
		    const struct img_open_opts *opts, unsigned int depth, struct chain_seen *seen);

/* "base.qcow2" next to "dir/top.qcow2" is "dir/base.qcow2". */
char *qcow2_resolve_backing(const char *top, const char *name)
{
	char *dup, *dir, *out;

	if (name[0] == '/' || !top)
		return strdup(name);
	dup = strdup(top);
	if (!dup)
		return NULL;
	dir = dirname(dup);
	if (asprintf(&out, "%s/%s", dir, name) < 0)
		out = NULL;
	free(dup);
	return out;
}

static int open_backing(struct img *img, const struct img_open_opts *opts, struct chain_seen *seen)
{
	struct img_open_opts bo = { .lock = opts->lock, .quiet = true };
	int fd, ret;

	const char *colon = strchr(img->backing_file, ':');
	const char *slash = strchr(img->backing_file, '/');

	/* "json:{...}", "nbd:host:port": QEMU's protocols (a local "x:y" needs "./x:y"). */
	if (colon && (!slash || colon < slash))
		return err_set(ENOTSUP, "%sbacking file '%s': protocols are not supported",
			       img->who, img->backing_file);
	img->backing_path = qcow2_resolve_backing(img->path, img->backing_file);
	if (!img->backing_path)
		return err_set(ENOMEM, "out of memory");
	if (img->depth + 1 > IMG_MAX_CHAIN)
		return err_set(ELOOP, "%sbacking chain deeper than %d", img->who, IMG_MAX_CHAIN);
	fd = open(img->backing_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(errno, "%scannot open backing file '%s': %s", img->who,
			       img->backing_path, strerror(errno));
	ret = open_one(&img->backing, fd, img->backing_path, img->backing_format, &bo,
		       img->depth + 1, seen);
	close(fd);
	return ret;
}

static int open_one(struct img **out, int fd, const char *path, const char *format,
		    const struct img_open_opts *opts, unsigned int depth, struct chain_seen *seen)
{
	struct img *img = calloc(1, sizeof(*img));
	struct stat st;
	int ret;

	*out = NULL;
	if (!img)
		return err_set(ENOMEM, "out of memory");
	img->fd = -1;
	img->depth = depth;
	img->rw = opts->readwrite;
	img->path = strdup(path ? path : "(fd)");
	if (depth && asprintf(&img->who, "backing file '%s': ", img->path) < 0)
		img->who = NULL;
	else if (!depth)
		img->who = strdup("");
	ret = img->path && img->who ? 0 : err_set(ENOMEM, "out of memory");
	if (!ret) {
		img->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (img->fd < 0 || fstat(img->fd, &st))
			ret = err_set(errno, "%s%s", img->who, strerror(errno));
	}
	if (ret)
		goto fail;
	for (unsigned int i = 0; i < seen->n; i++) {
		if (seen->dev[i] == st.st_dev && seen->ino[i] == st.st_ino) {
			ret = err_set(ELOOP, "%sthe backing chain loops back to this file",
				      img->who);
			goto fail;
		}
	}
	seen->dev[seen->n] = st.st_dev;
	seen->ino[seen->n++] = st.st_ino;
	if (opts->lock) {
		ret = block_lock(img->fd, img->rw);
		if (ret)
			goto fail;
	}
	if (!format) {
		ret = img_probe(img->fd, img->path, !depth && !opts->quiet, &format);
		if (ret)
			goto fail;
	}
	if (!strcmp(format, "raw")) {
		img->format = IMG_FORMAT_RAW;
		img->size = st.st_size;
	} else if (!strcmp(format, "qcow2")) {
		img->format = IMG_FORMAT_QCOW2;
		ret = qcow2_init(img, opts);
		if (!ret && img->backing_file && !opts->no_backing && path)
			ret = open_backing(img, opts, seen);
	} else {
		ret = err_set(EINVAL, "%sunknown format '%s' (supported: raw, qcow2)", img->who,
			      format);
	}
	if (ret)
		goto fail;
	*out = img;
	return 0;
fail:
	img->rw = false; /* nothing to write back from a failed open */
	img_close(img);
	return ret;
}

int img_open_fd(struct img **img, int fd, const char *path, const struct img_open_opts *opts)
{
	struct chain_seen seen = { .n = 0 };

	return open_one(img, fd, path, opts->format, opts, 0, &seen);
}

int img_open(struct img **img, const char *path, const struct img_open_opts *opts)
{
	int fd = open(path, (opts->readwrite ? O_RDWR : O_RDONLY) | O_CLOEXEC), ret;

	*img = NULL;
	if (fd < 0)
		return err_set(errno, "%s", strerror(errno));
	ret = img_open_fd(img, fd, path, opts);
	close(fd);
	return ret;
}

int img_flush(struct img *img)
{
	int ret = 0;

	if (!img->rw)
		return 0;
	if (img->format == IMG_FORMAT_QCOW2)
		ret = qcow2_meta_flush(img);
	if (!ret && fdatasync(img->fd))
		ret = err_set(errno, "%sfdatasync: %s", img->who, strerror(errno));
	if (!ret)
		img->q.unsynced = STAGE_NONE;
	return ret;
}

int img_close(struct img *img)
{
	struct qcow2 *q;
	int ret = 0;

	if (!img)
		return 0;
	q = &img->q;
	if (img->rw && img->fd >= 0) {
		ret = img_flush(img);
		/* Space grown ahead of need (qcow2_refcount.c) goes back. */
		if (!ret && img->format == IMG_FORMAT_QCOW2 && q->file_alloc > q->file_end &&
		    ftruncate(img->fd, q->file_end))
			ret = err_set(errno, "%s%s", img->who, strerror(errno));
		if (!ret && img->format == IMG_FORMAT_QCOW2 && q->dirty_on_disk) {
			q->incompat &= ~INCOMPAT_DIRTY;
			ret = qcow2_write_header(img);
			if (!ret)
				ret = qcow2_sync(img);
		}
	}
	img_close(img->backing);
	qcache_free(&q->l2c);
	qcache_free(&q->rcc);
	qcow2_snapshots_free(q);
	free(q->l1);
	free(q->rt);
	free(q->frees);
	free(q->other_ext);
	free(q->hdr_extra);
	free(img->backing_file);
	free(img->backing_format);
	free(img->backing_path);
	free(img->path);
	free(img->who);
	if (img->fd >= 0)
		close(img->fd);
	free(img);
	return ret;
}
