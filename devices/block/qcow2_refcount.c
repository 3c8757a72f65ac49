// SPDX-License-Identifier: MIT
/*
 * qcow2 refcounts: the refcount table (in memory, written through) and the
 * refcount blocks (cached), cluster allocation and freeing.  A cluster is
 * handed out only while its refcount is 0; new refcount blocks, and a
 * bigger refcount table, go at the end of the file and count their own
 * clusters.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "qcow2_int.h"

#define PREALLOC_BYTES	      (32 * MIB)
#define ALLOC_SCAN_BEYOND_END (1ULL << 20) /* clusters */

static uint64_t rc_max(const struct qcow2 *q)
{
	return q->refcount_order == 6 ? UINT64_MAX : (1ULL << (1U << q->refcount_order)) - 1;
}

static uint64_t rb_read(const struct qcow2 *q, const uint8_t *b, uint64_t i)
{
	unsigned int bits = 1U << q->refcount_order;

	switch (q->refcount_order) {
	case 3:
		return b[i];
	case 4:
		return be16(b + 2 * i);
	case 5:
		return be32(b + 4 * i);
	case 6:
		return be64(b + 8 * i);
	default: /* 1, 2, 4 bits: the lowest entry in the least significant bits */
		return (b[i * bits / 8] >> (i * bits % 8)) & ((1U << bits) - 1);
	}
}

void qcow2_rb_write(const struct qcow2 *q, uint8_t *b, uint64_t i, uint64_t v)
{
	unsigned int bits = 1U << q->refcount_order, shift;

	switch (q->refcount_order) {
	case 3:
		b[i] = (uint8_t)v;
		break;
	case 4:
		put_be16(b + 2 * i, (uint16_t)v);
		break;
	case 5:
		put_be32(b + 4 * i, (uint32_t)v);
		break;
	case 6:
		put_be64(b + 8 * i, v);
		break;
	default:
		shift = i * bits % 8;
		b[i * bits / 8] = (uint8_t)((b[i * bits / 8] & ~(((1U << bits) - 1) << shift)) |
					    (v << shift));
		break;
	}
}

static bool rb_missing(const struct qcow2 *q, uint64_t idx)
{
	return idx >= q->rt_entries || !(q->rt[idx] & REFT_OFFSET_MASK);
}

/* The cached refcount block of table index @idx (which exists). */
static int rb_get(struct img *img, uint64_t idx, unsigned int *slot)
{
	struct qcow2 *q = &img->q;
	uint64_t off = q->rt[idx] & REFT_OFFSET_MASK;
	int ret = qcow2_check_table_offset(img, off, "refcount block");

	return ret ? ret : qcache_get(img, &q->rcc, off, true, slot);
}

int qcow2_rc_get(struct img *img, uint64_t cluster, uint64_t *rc)
{
	struct qcow2 *q = &img->q;
	uint64_t idx = cluster >> q_rb_bits(q);
	unsigned int slot;
	int ret;

	*rc = 0;
	if (rb_missing(q, idx))
		return 0;
	ret = rb_get(img, idx, &slot);
	if (!ret)
		*rc = rb_read(q, q->rcc.ent[slot].data, cluster & ((1ULL << q_rb_bits(q)) - 1));
	return ret;
}

static void update_file_end(struct img *img, uint64_t end)
{
	struct qcow2 *q = &img->q;

	if (end <= q->file_end)
		return;
	q->file_end = end;
	/*
	 * Appending writes that extend the file serialize on its size (and
	 * O_DIRECT ones wait): grow it ahead in big steps instead.  img_close()
	 * trims what was not used; failing here only costs speed.
	 */
	if (img->rw && end > q->file_alloc) {
		uint64_t to = end + PREALLOC_BYTES;

		if (!fallocate(img->fd, 0, q->file_alloc, to - q->file_alloc))
			q->file_alloc = to;
	}
}

/* The table entries refcount blocks for @start..@end (clusters) and @idx need. */
static uint64_t count_missing(const struct qcow2 *q, uint64_t idx, uint64_t start, uint64_t end,
			      uint64_t *list)
{
	uint64_t n = 0, first = start >> q_rb_bits(q), last = (end - 1) >> q_rb_bits(q);

	if (idx < first && rb_missing(q, idx))
		list[n++] = idx;
	for (uint64_t i = first; i <= last; i++) {
		if (rb_missing(q, i))
			list[n++] = i;
	}
	if (idx > last && rb_missing(q, idx))
		list[n++] = idx;
	return n;
}

static int write_table_entries(struct img *img, uint64_t *list, uint64_t n)
{
	struct qcow2 *q = &img->q;
	uint8_t e[8];
	int ret = qcow2_stage(img, STAGE_L2);

	for (uint64_t i = 0; !ret && i < n; i++) {
		put_be64(e, q->rt[list[i]]);
		ret = qcow2_pwrite(img, e, 8, q->rt_offset + list[i] * 8);
	}
	return ret ? ret : qcow2_sync(img);
}

/* A new, bigger refcount table at @off (@tcl clusters); the old one freed. */
static int switch_table(struct img *img, uint64_t *rt, uint64_t entries, uint64_t off, uint64_t tcl)
{
	struct qcow2 *q = &img->q;
	uint64_t old_off = q->rt_offset, old_len = (uint64_t)q->rt_clusters << q->cluster_bits;
	uint8_t *buf = calloc(tcl, q->cluster_size);
	int ret;

	if (!buf)
		return err_set(ENOMEM, "out of memory");
	for (uint64_t i = 0; i < entries; i++)
		put_be64(buf + 8 * i, rt[i]);
	ret = qcow2_stage(img, STAGE_L2);
	if (!ret)
		ret = qcow2_pwrite(img, buf, tcl << q->cluster_bits, off);
	free(buf);
	if (ret)
		return ret;
	free(q->rt);
	q->rt = rt;
	q->rt_entries = entries;
	q->rt_offset = off;
	q->rt_clusters = (uint32_t)tcl;
	ret = qcow2_write_header(img);
	if (!ret)
		ret = qcow2_sync(img);
	return ret ? ret : qcow2_free_now(img, old_off, old_len);
}

/*
 * Give table index @idx a refcount block.  The new blocks (and a new table
 * if the old one is too small) are laid out at the end of the file, covering
 * themselves: [table][blocks], sized until the layout needs no more.
 */
static int rc_extend(struct img *img, uint64_t idx)
{
	struct qcow2 *q = &img->q;
	uint64_t cs = q->cluster_size, start = q->file_end >> q->cluster_bits;
	uint64_t tcl = 0, nb = 0, entries = q->rt_entries, n, end, *list, *rt = NULL;
	uint8_t *blocks = NULL;
	int ret = 0;

	for (;;) {
		uint64_t last, need, want_tcl = 0;

		end = start + tcl + nb;
		last = (end > start ? end - 1 : start) >> q_rb_bits(q);
		need = (idx > last ? idx : last) + 1;
		if (need > q->rt_entries) {
			entries = need + need / 2;
			want_tcl = (entries * 8 + cs - 1) / cs;
			entries = want_tcl * cs / 8;
		}
		list = calloc(((end - start + 1) >> q_rb_bits(q)) + 3, sizeof(*list));
		if (!list)
			return err_set(ENOMEM, "out of memory");
		n = count_missing(q, idx, start, end > start ? end : start + 1, list);
		if (n == nb && want_tcl == tcl)
			break;
		free(list);
		nb = n;
		tcl = want_tcl;
	}
	if (tcl * cs > QCOW2_MAX_RT_BYTES) {
		ret = err_set(ENOSPC, "%sthe refcount table would exceed %llu MiB", img->who,
			      (unsigned long long)(QCOW2_MAX_RT_BYTES / MIB));
		goto out;
	}
	blocks = calloc(nb ? nb : 1, cs);
	if (tcl)
		rt = calloc(entries, 8);
	if (!blocks || (tcl && !rt)) {
		ret = err_set(ENOMEM, "out of memory");
		goto out;
	}
	update_file_end(img, end << q->cluster_bits);
	/* Every cluster of the new structures counts once: in a new block, or an old one. */
	for (uint64_t c = start; c < end && !ret; c++) {
		uint64_t i = c >> q_rb_bits(q), k;

		for (k = 0; k < nb && list[k] != i; k++)
			;
		if (k < nb)
			qcow2_rb_write(q, blocks + k * cs, c & ((1ULL << q_rb_bits(q)) - 1), 1);
		else
			ret = qcow2_rc_add(img, c, 1);
	}
	if (!ret)
		ret = qcow2_stage(img, STAGE_REFCOUNT);
	if (!ret && nb)
		ret = qcow2_pwrite(img, blocks, nb * cs, (start + tcl) << q->cluster_bits);
	if (!ret)
		ret = qcache_flush(img, &q->rcc);
	if (ret)
		goto out;
	if (tcl) {
		memcpy(rt, q->rt, q->rt_entries * 8);
		for (uint64_t k = 0; k < nb; k++)
			rt[list[k]] = (start + tcl + k) << q->cluster_bits;
		ret = switch_table(img, rt, entries, start << q->cluster_bits, tcl);
		rt = ret ? rt : NULL;
	} else {
		for (uint64_t k = 0; k < nb; k++)
			q->rt[list[k]] = (start + k) << q->cluster_bits;
		ret = write_table_entries(img, list, nb);
	}
out:
	free(rt);
	free(blocks);
	free(list);
	return ret;
}

static int rc_set(struct img *img, uint64_t cluster, uint64_t v)
{
	struct qcow2 *q = &img->q;
	uint64_t idx = cluster >> q_rb_bits(q);
	unsigned int slot;
	int ret;

	if (rb_missing(q, idx)) {
		if (!v)
			return 0;
		ret = rc_extend(img, idx);
		if (ret)
			return ret;
	}
	ret = rb_get(img, idx, &slot);
	if (ret)
		return ret;
	qcow2_rb_write(q, q->rcc.ent[slot].data, cluster & ((1ULL << q_rb_bits(q)) - 1), v);
	q->rcc.ent[slot].dirty = true;
	if (!v) {
		qcache_forget(&q->l2c, cluster << q->cluster_bits);
		if (cluster < q->free_hint)
			q->free_hint = cluster;
		if (q->cfree && q->cfree >> q->cluster_bits == cluster)
			q->cfree = 0;
	}
	return 0;
}

int qcow2_rc_add(struct img *img, uint64_t cluster, int64_t delta)
{
	uint64_t rc;
	int ret = qcow2_rc_get(img, cluster, &rc);

	if (ret)
		return ret;
	if (delta < 0 && rc < (uint64_t)-delta)
		return qcow2_mark_corrupt(img, "a refcount dropped below zero");
	if (delta > 0 && rc_max(&img->q) - rc < (uint64_t)delta)
		return err_set(ERANGE, "%srefcount overflow on cluster %llu (refcount_bits %u)",
			       img->who, (unsigned long long)cluster, 1U << img->q.refcount_order);
	return rc_set(img, cluster, rc + delta);
}

int qcow2_alloc_clusters(struct img *img, uint64_t n, uint64_t *off)
{
	struct qcow2 *q = &img->q;
	uint64_t c = q->free_hint, start = c, run = 0, rc, first_free = UINT64_MAX;
	uint64_t limit = QCOW2_MAX_HOST_OFFSET >> q->cluster_bits;
	int ret;

	while (run < n) {
		if (c >= limit)
			return err_set(ENOSPC, "%sthe image file is full", img->who);
		/* Clusters in use far past the end of the file: the refcounts are garbage. */
		if (c > (q->file_end >> q->cluster_bits) + ALLOC_SCAN_BEYOND_END)
			return qcow2_mark_corrupt(img,
						  "refcounts for clusters beyond the end of the "
						  "file");
		ret = qcow2_rc_get(img, c, &rc);
		if (ret)
			return ret;
		if (rc) {
			run = 0;
		} else {
			if (!run)
				start = c;
			if (first_free == UINT64_MAX)
				first_free = c;
			run++;
		}
		c++;
	}
	/*
	 * Everything from the hint to the first free cluster seen is in use:
	 * the next scan starts there (or after this run, if it begins there),
	 * so sequential allocation never rescans what is already taken.
	 */
	q->free_hint = first_free == start ? start + n : first_free;
	update_file_end(img, (start + n) << q->cluster_bits);
	for (uint64_t i = 0; i < n; i++) {
		ret = rc_set(img, start + i, 1);
		if (ret)
			return ret;
	}
	*off = start << q->cluster_bits;
	return 0;
}

int qcow2_free_now(struct img *img, uint64_t off, uint64_t len)
{
	struct qcow2 *q = &img->q;

	if (!len)
		return 0;
	for (uint64_t c = off >> q->cluster_bits; c <= (off + len - 1) >> q->cluster_bits; c++) {
		int ret = qcow2_rc_add(img, c, -1);

		if (ret)
			return ret;
	}
	return 0;
}

int qcow2_free_later(struct img *img, uint64_t off, uint64_t len)
{
	struct qcow2 *q = &img->q;

	if (q->nr_frees == q->cap_frees) {
		unsigned int cap = q->cap_frees ? 2 * q->cap_frees : 64;
		struct qfree *f = realloc(q->frees, cap * sizeof(*f));

		if (!f)
			return err_set(ENOMEM, "out of memory");
		q->frees = f;
		q->cap_frees = cap;
	}
	q->frees[q->nr_frees++] = (struct qfree){ off, len };
	/* Bound the list (and the space held back): write the tables out now and then. */
	return q->nr_frees >= 4096 ? qcow2_meta_flush(img) : 0;
}

int qcow2_apply_frees(struct img *img)
{
	struct qcow2 *q = &img->q;
	int ret = 0;

	for (unsigned int i = 0; i < q->nr_frees && !ret; i++)
		ret = qcow2_free_now(img, q->frees[i].off, q->frees[i].len);
	q->nr_frees = 0;
	return ret;
}
