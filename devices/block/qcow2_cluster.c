// SPDX-License-Identifier: MIT
/*
 * qcow2 guest clusters: the L1 table (in memory, written through) and the L2
 * tables (cached), reading, allocating writes with copy-on-write (from the
 * old cluster, a compressed one, or the backing file), zeroing, discarding,
 * block status and resizing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "error.h"
#include "qcow2_int.h"

/* Clusters one allocating write takes at most: one pwritev, one allocation. */
#define MAX_ALLOC_RUN 512

int qcow2_check_host_offset(struct img *img, uint64_t off, const char *what)
{
	char msg[96];

	if (!off || off & (img->q.cluster_size - 1) || off >= QCOW2_MAX_HOST_OFFSET) {
		snprintf(msg, sizeof(msg), "%s offset %#llx is invalid (zero or misaligned)", what,
			 (unsigned long long)off);
		return qcow2_mark_corrupt(img, msg);
	}
	return 0;
}

int qcow2_check_table_offset(struct img *img, uint64_t off, const char *what)
{
	char msg[96];
	int ret = qcow2_check_host_offset(img, off, what);

	/* Tables are written back: one far past the end would grow the file without bound. */
	if (!ret && off >= img->q.file_end) {
		snprintf(msg, sizeof(msg), "%s offset %#llx is beyond the end of the file", what,
			 (unsigned long long)off);
		ret = qcow2_mark_corrupt(img, msg);
	}
	return ret;
}

static int write_l1_entry(struct img *img, uint64_t l1i)
{
	uint8_t e[8];
	int ret = qcow2_stage(img, STAGE_L1);

	put_be64(e, img->q.l1[l1i]);
	return ret ? ret : qcow2_pwrite(img, e, 8, img->q.l1_offset + l1i * 8);
}

/* The L2 table for L1 index @l1i: -ENOENT when there is none. */
static int l2_get(struct img *img, uint64_t l1i, unsigned int *slot)
{
	struct qcow2 *q = &img->q;
	uint64_t off;
	int ret;

	if (l1i >= q->l1_size || !(off = q->l1[l1i] & L1E_OFFSET_MASK))
		return -ENOENT;
	ret = qcow2_check_table_offset(img, off, "L2 table");
	return ret ? ret : qcache_get(img, &q->l2c, off, true, slot);
}

/* The L2 table for @l1i, ours alone: allocated, or copied when shared with a snapshot. */
static int l2_get_writable(struct img *img, uint64_t l1i, unsigned int *slot)
{
	struct qcow2 *q = &img->q;
	uint64_t old = q->l1[l1i] & L1E_OFFSET_MASK, new;
	int ret;

	if (old && (q->l1[l1i] & QCOW_OFLAG_COPIED))
		return l2_get(img, l1i, slot);
	if (old) {
		ret = qcow2_check_table_offset(img, old, "L2 table");
		if (ret)
			return ret;
	}
	ret = qcow2_alloc_clusters(img, 1, &new);
	if (!ret)
		ret = qcache_get(img, &q->l2c, new, false, slot);
	/* A shared table is never modified in place, so the file has its current content. */
	if (!ret && old)
		ret = qcow2_pread(img, q->l2c.ent[*slot].data, q->cluster_size, old);
	if (ret)
		return ret;
	q->l2c.ent[*slot].dirty = true;
	/* The table before the L1 entry that points to it. */
	ret = qcache_flush(img, &q->l2c);
	if (ret)
		return ret;
	q->l1[l1i] = new | QCOW_OFLAG_COPIED;
	ret = write_l1_entry(img, l1i);
	if (!ret && old)
		ret = qcow2_free_later(img, old, q->cluster_size);
	return ret ? ret : qcache_get(img, &q->l2c, new, true, slot);
}

int qcow2_l2_entry(struct img *img, uint64_t gc, uint64_t *entry)
{
	struct qcow2 *q = &img->q;
	unsigned int slot;
	int ret = l2_get(img, gc / q_l2_entries(q), &slot);

	*entry = 0;
	if (ret == -ENOENT)
		return 0;
	if (!ret)
		*entry = be64(q->l2c.ent[slot].data + 8 * (gc % q_l2_entries(q)));
	return ret;
}

int qcow2_set_l2_entry(struct img *img, uint64_t gc, uint64_t entry)
{
	struct qcow2 *q = &img->q;
	unsigned int slot;
	int ret = l2_get_writable(img, gc / q_l2_entries(q), &slot);

	if (ret)
		return ret;
	put_be64(q->l2c.ent[slot].data + 8 * (gc % q_l2_entries(q)), entry);
	q->l2c.ent[slot].dirty = true;
	return 0;
}

enum ctype { C_UNALLOC, C_ZERO, C_DATA, C_COMPRESSED };

/* What an L2 entry means; *host is the data cluster (or a zero cluster's preallocation). */
static int classify(struct img *img, uint64_t entry, enum ctype *t, uint64_t *host)
{
	*host = entry & L2E_OFFSET_MASK;
	if (entry & QCOW_OFLAG_COMPRESSED) {
		*t = C_COMPRESSED;
		*host = 0;
		return 0;
	}
	if ((entry & QCOW_OFLAG_ZERO) && img->q.version >= 3)
		*t = C_ZERO;
	else
		*t = *host ? C_DATA : C_UNALLOC;
	return *host ? qcow2_check_host_offset(img, *host, "data cluster") : 0;
}

/* Guest cluster @gc before a write changes it: the whole cluster into @buf. */
static int old_content(struct img *img, uint64_t gc, uint64_t entry, uint8_t *buf)
{
	uint64_t cs = img->q.cluster_size, host;
	enum ctype t;
	int ret = classify(img, entry, &t, &host);

	if (ret)
		return ret;
	switch (t) {
	case C_COMPRESSED:
		return qcow2_decompress_cluster(img, entry, buf);
	case C_ZERO:
		memset(buf, 0, cs);
		return 0;
	case C_DATA:
		return qcow2_pread(img, buf, cs, host);
	default:
		return qcow2_read_backing(img, gc * cs, buf, cs);
	}
}

int qcow2_read(struct img *img, uint64_t off, void *buf, size_t len)
{
	struct qcow2 *q = &img->q;
	uint64_t cs = q->cluster_size;
	uint8_t *p = buf, *tmp = NULL;
	int ret = 0;

	while (len && !ret) {
		uint64_t gc = off / cs, in = off % cs, entry, host, n = cs - in;
		enum ctype t, t2;

		ret = qcow2_l2_entry(img, gc, &entry);
		if (!ret)
			ret = classify(img, entry, &t, &host);
		if (ret)
			break;
		/* Runs of the same kind (contiguous data) in one call. */
		while (n < len && t != C_COMPRESSED) {
			uint64_t k = (in + n) / cs, e2, h2;

			ret = qcow2_l2_entry(img, gc + k, &e2);
			if (ret || classify(img, e2, &t2, &h2) || t2 != t ||
			    (t == C_DATA && h2 != host + k * cs))
				break;
			n += cs;
		}
		if (ret)
			break;
		n = n < len ? n : len;
		switch (t) {
		case C_DATA:
			ret = qcow2_pread(img, p, n, host + in);
			break;
		case C_ZERO:
			memset(p, 0, n);
			break;
		case C_UNALLOC:
			ret = qcow2_read_backing(img, off, p, n);
			break;
		case C_COMPRESSED:
			if (!tmp && !(tmp = malloc(cs))) {
				ret = err_set(ENOMEM, "out of memory");
				break;
			}
			ret = qcow2_decompress_cluster(img, entry, tmp);
			if (!ret)
				memcpy(p, tmp + in, n);
			break;
		}
		p += n;
		off += n;
		len -= n;
	}
	free(tmp);
	return ret;
}

/* Give up the host clusters of an L2 entry once the table no longer has it. */
static int drop_entry(struct img *img, uint64_t entry)
{
	uint64_t off, len;

	if (entry & QCOW_OFLAG_COMPRESSED) {
		qcow2_compressed_range(&img->q, entry, &off, &len);
		return qcow2_free_later(img, off, len);
	}
	off = entry & L2E_OFFSET_MASK;
	return off ? qcow2_free_later(img, off, img->q.cluster_size) : 0;
}

static bool in_place(uint64_t entry)
{
	return (entry & QCOW_OFLAG_COPIED) &&
	       !(entry & (QCOW_OFLAG_COMPRESSED | QCOW_OFLAG_ZERO)) && (entry & L2E_OFFSET_MASK);
}

/* Aligned for O_DIRECT: the block backend writes these through block_open()'s file. */
static uint8_t *cluster_buf(uint64_t cs)
{
	void *p;

	return posix_memalign(&p, 4096, cs) ? NULL : p;
}

int qcow2_prepare_write(struct img *img, uint64_t off, uint64_t len, struct qcow2_alloc *a)
{
	uint64_t cs = img->q.cluster_size, first, last;
	int ret;

	*a = (struct qcow2_alloc){ .gc = off / cs, .in = off % cs };
	a->n = (a->in + len + cs - 1) / cs;
	ret = qcow2_l2_entry(img, a->gc, &first);
	if (!ret)
		ret = qcow2_l2_entry(img, a->gc + a->n - 1, &last);
	if (ret)
		return ret;
	/* A partial first (or only) cluster: the old content around the new bytes. */
	if (a->in || (a->in + len) % cs) {
		if (a->in || a->n == 1) {
			a->head_bytes = len < cs - a->in ? len : cs - a->in;
			a->head = cluster_buf(cs);
			ret = a->head ? old_content(img, a->gc, first, a->head)
				      : err_set(ENOMEM, "out of memory");
		}
		if (!ret && (a->in + len) % cs && (a->n > 1 || !a->head)) {
			a->tail_bytes = (a->in + len) % cs;
			a->tail = cluster_buf(cs);
			ret = a->tail ? old_content(img, a->gc + a->n - 1, last, a->tail)
				      : err_set(ENOMEM, "out of memory");
		}
	}
	a->whole = len - a->head_bytes - a->tail_bytes;
	if (!ret)
		ret = qcow2_alloc_clusters(img, a->n, &a->host);
	if (ret)
		qcow2_abort_write(img, a);
	return ret;
}

int qcow2_commit_write(struct img *img, struct qcow2_alloc *a)
{
	uint64_t cs = img->q.cluster_size;
	int ret = 0;

	for (uint64_t k = 0; !ret && k < a->n; k++) {
		uint64_t old;

		ret = qcow2_l2_entry(img, a->gc + k, &old);
		if (!ret)
			ret = qcow2_set_l2_entry(img, a->gc + k,
						 (a->host + k * cs) | QCOW_OFLAG_COPIED);
		if (!ret)
			ret = drop_entry(img, old);
	}
	free(a->head);
	free(a->tail);
	a->head = a->tail = NULL;
	return ret;
}

void qcow2_abort_write(struct img *img, struct qcow2_alloc *a)
{
	/* Nothing refers to the clusters yet: they can go at once. */
	if (a->host)
		qcow2_free_now(img, a->host, a->n * img->q.cluster_size);
	free(a->head);
	free(a->tail);
	a->head = a->tail = NULL;
	a->host = 0;
}

/* Write @len bytes of @p at @off into newly allocated clusters. */
static int write_alloc(struct img *img, uint64_t off, const uint8_t *p, uint64_t len)
{
	struct qcow2_alloc a;
	struct iovec iov[3];
	int iovcnt = 0, ret = qcow2_prepare_write(img, off, len, &a);

	if (ret)
		return ret;
	if (a.head) {
		memcpy(a.head + a.in, p, a.head_bytes);
		iov[iovcnt++] = (struct iovec){ a.head, img->q.cluster_size };
	}
	if (a.whole)
		iov[iovcnt++] = (struct iovec){ (void *)(p + a.head_bytes), a.whole };
	if (a.tail) {
		memcpy(a.tail, p + a.head_bytes + a.whole, a.tail_bytes);
		iov[iovcnt++] = (struct iovec){ a.tail, img->q.cluster_size };
	}
	for (int i = 0; i < iovcnt;) {
		ssize_t w = pwritev(img->fd, iov + i, iovcnt - i, a.host + a.written);

		if (w <= 0) {
			ret = err_set(w ? errno : EIO, "%swrite error: %s", img->who,
				      strerror(w ? errno : EIO));
			qcow2_abort_write(img, &a);
			return ret;
		}
		a.written += w;
		while (i < iovcnt && (size_t)w >= iov[i].iov_len)
			w -= iov[i++].iov_len;
		if (i < iovcnt) {
			iov[i].iov_base = (uint8_t *)iov[i].iov_base + w;
			iov[i].iov_len -= w;
		}
	}
	return qcow2_commit_write(img, &a);
}

int qcow2_write(struct img *img, uint64_t off, const void *buf, size_t len)
{
	uint64_t cs = img->q.cluster_size;
	const uint8_t *p = buf;
	int ret = 0;

	while (len && !ret) {
		uint64_t gc = off / cs, in = off % cs, entry, n = 1, bytes;
		bool place;

		ret = qcow2_l2_entry(img, gc, &entry);
		if (ret)
			break;
		place = in_place(entry);
		if (place)
			ret = qcow2_check_host_offset(img, entry & L2E_OFFSET_MASK, "data cluster");
		/* Extend the run while the next cluster is the same kind (and contiguous). */
		while (!ret && in + len > n * cs && n < MAX_ALLOC_RUN) {
			uint64_t e2;

			ret = qcow2_l2_entry(img, gc + n, &e2);
			if (ret || in_place(e2) != place ||
			    (place && (e2 & L2E_OFFSET_MASK) != (entry & L2E_OFFSET_MASK) + n * cs))
				break;
			n++;
		}
		if (ret)
			break;
		bytes = n * cs - in < len ? n * cs - in : len;
		if (place)
			ret = qcow2_pwrite(img, p, bytes, (entry & L2E_OFFSET_MASK) + in);
		else
			ret = write_alloc(img, off, p, bytes);
		p += bytes;
		off += bytes;
		len -= bytes;
	}
	return ret;
}

/* Whether guest cluster @gc reads as zeros already (nothing to do for it). */
static bool reads_zero(struct img *img, uint64_t entry)
{
	if (entry & QCOW_OFLAG_COMPRESSED)
		return false;
	if (img->q.version >= 3 && entry == QCOW_OFLAG_ZERO)
		return true;
	return !entry && !img->backing;
}

int qcow2_zero(struct img *img, uint64_t off, uint64_t len, bool discard)
{
	struct qcow2 *q = &img->q;
	uint64_t cs = q->cluster_size;
	static const uint8_t zeros[4096];
	int ret = 0;

	while (len && !ret) {
		uint64_t gc = off / cs, in = off % cs, entry, n = cs - in < len ? cs - in : len;
		/* The last cluster of the disk counts as whole when the range reaches the end. */
		bool whole = !in && (n == cs || off + n == img->size);

		ret = qcow2_l2_entry(img, gc, &entry);
		if (ret || reads_zero(img, entry))
			goto next;
		if (whole) {
			uint64_t new =
				q->version >= 3 && (!discard || img->backing) ? QCOW_OFLAG_ZERO : 0;

			if (!discard && q->version < 3) {
				whole = false; /* v2 has no zero flag: write the zeros */
			} else {
				ret = qcow2_set_l2_entry(img, gc, new);
				if (!ret)
					ret = drop_entry(img, entry);
				goto next;
			}
		}
		if (discard)
			goto next;
		for (uint64_t done = 0; !ret && done < n;) {
			uint64_t k = n - done < sizeof(zeros) ? n - done : sizeof(zeros);

			ret = qcow2_write(img, off + done, zeros, k);
			done += k;
		}
	next:
		off += n;
		len -= n;
	}
	return ret;
}

int qcow2_block_status(struct img *img, uint64_t off, uint64_t len, struct img_extent *ext)
{
	uint64_t cs = img->q.cluster_size, gc = off / cs, in = off % cs, entry, host, n = cs - in;
	enum ctype t;
	int ret = qcow2_l2_entry(img, gc, &entry);

	if (!ret)
		ret = classify(img, entry, &t, &host);
	if (ret)
		return ret;
	while (n < len && t != C_COMPRESSED) {
		uint64_t k = (in + n) / cs, e2, h2;
		enum ctype t2;

		ret = qcow2_l2_entry(img, gc + k, &e2);
		if (ret)
			return ret;
		if (classify(img, e2, &t2, &h2) || t2 != t || (host != 0) != (h2 != 0) ||
		    (host && h2 != host + k * cs))
			break;
		n += cs;
	}
	ext->length = n < len ? n : len;
	ext->compressed = t == C_COMPRESSED;
	ext->type = t == C_UNALLOC ? IMG_EXTENT_UNALLOCATED
		    : t == C_ZERO  ? IMG_EXTENT_ZERO
				   : IMG_EXTENT_DATA;
	ext->has_host_offset = host != 0;
	ext->host_offset = host ? host + in : 0;
	return 0;
}

/* A new L1 table of @size entries: written, then the header, then the old one freed. */
static int l1_grow(struct img *img, uint32_t size, uint64_t new_size)
{
	struct qcow2 *q = &img->q;
	uint64_t bytes = (uint64_t)size * 8, cl = (bytes + q->cluster_size - 1) / q->cluster_size;
	uint64_t old_off = q->l1_offset, old_len = (uint64_t)q->l1_size * 8, new_off;
	uint64_t *l1 = calloc(cl * q->cluster_size / 8, 8);
	uint8_t *buf = calloc(cl, q->cluster_size);
	int ret = l1 && buf ? 0 : err_set(ENOMEM, "out of memory");

	if (!ret && bytes > QCOW2_MAX_L1_BYTES)
		ret = err_set(EFBIG, "%sthe L1 table would exceed %llu MiB", img->who,
			      (unsigned long long)(QCOW2_MAX_L1_BYTES / MIB));
	if (!ret)
		ret = qcow2_meta_flush(img);
	if (!ret)
		ret = qcow2_alloc_clusters(img, cl, &new_off);
	if (!ret)
		ret = qcache_flush(img, &q->rcc);
	if (ret)
		goto out;
	memcpy(l1, q->l1, old_len);
	for (uint32_t i = 0; i < size; i++)
		put_be64(buf + 8 * i, l1[i]);
	ret = qcow2_stage(img, STAGE_L2);
	if (!ret)
		ret = qcow2_pwrite(img, buf, cl * q->cluster_size, new_off);
	if (ret)
		goto out;
	free(q->l1);
	q->l1 = l1;
	l1 = NULL;
	q->l1_offset = new_off;
	q->l1_size = size;
	img->size = new_size;
	ret = qcow2_write_header(img);
	if (!ret)
		ret = qcow2_sync(img);
	if (!ret && old_len)
		ret = qcow2_free_now(img, old_off, old_len);
out:
	free(l1);
	free(buf);
	return ret;
}

int qcow2_resize(struct img *img, uint64_t size)
{
	struct qcow2 *q = &img->q;
	uint64_t cs = q->cluster_size, span = q_l2_entries(q) * cs;
	uint64_t need = (size + span - 1) / span;
	int ret;

	if (size > QCOW2_MAX_HOST_OFFSET)
		return err_set(EFBIG, "%ssize too large", img->who);
	if (size < img->size) {
		for (uint64_t gc = (size + cs - 1) / cs; gc < (img->size + cs - 1) / cs; gc++) {
			uint64_t entry;

			ret = qcow2_l2_entry(img, gc, &entry);
			if (ret)
				return ret;
			if (entry)
				return err_set(EBUSY,
					       "%scannot shrink: data is allocated beyond "
					       "the new size",
					       img->who);
		}
	}
	if (need > q->l1_size)
		return l1_grow(img, (uint32_t)need, size);
	ret = qcow2_meta_flush(img);
	if (ret)
		return ret;
	img->size = size;
	ret = qcow2_write_header(img);
	return ret ? ret : qcow2_sync(img);
}

int qcow2_map(struct img *img, uint64_t off, uint64_t len, bool write, uint64_t *host, uint64_t *n)
{
	uint64_t cs = img->q.cluster_size, gc = off / cs, in = off % cs, entry, h, bytes = cs - in;
	enum ctype t;
	bool direct;
	int ret = qcow2_l2_entry(img, gc, &entry);

	if (!ret)
		ret = classify(img, entry, &t, &h);
	if (ret)
		return ret;
	direct = write ? in_place(entry) : t == C_DATA;
	/* A run of clusters that are all direct (and contiguous) or all not. */
	while (bytes < len) {
		uint64_t k = (in + bytes) / cs, e2, h2;
		enum ctype t2;

		ret = qcow2_l2_entry(img, gc + k, &e2);
		if (ret)
			return ret;
		if (classify(img, e2, &t2, &h2) ||
		    (write ? in_place(e2) : t2 == C_DATA) != direct || (direct && h2 != h + k * cs))
			break;
		bytes += cs;
	}
	*host = direct ? h + in : 0;
	*n = bytes < len ? bytes : len;
	return 0;
}
