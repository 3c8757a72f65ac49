// SPDX-License-Identifier: MIT
/*
 * qcow2 consistency check and repair, as qemu-img check does it: count the
 * references to every host cluster from all the metadata, compare with the
 * refcounts (more: a leak, fewer: a corruption) and the COPIED flags, and
 * rewrite the refcounts from the count when asked to.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "qcow2_int.h"

#define BITMAP_DIR_MAX (64 * MIB)

struct census {
	struct img *img;
	uint64_t *ref; /* references per host cluster */
	uint64_t n;    /* clusters in the file */
	struct qcow2_check_result *res;
	qcow2_report_fn report;
	void *opaque;
	uint8_t *l2; /* one table */
};

static void say(struct census *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct census *c, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (!c->report)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->report(c->opaque, line);
}

/* One reference on each cluster of [off, off + len). */
static void count(struct census *c, uint64_t off, uint64_t len)
{
	uint64_t bits = c->img->q.cluster_bits;

	if (!len)
		return;
	for (uint64_t k = off >> bits; k <= (off + len - 1) >> bits; k++) {
		if (k >= c->n) {
			say(c, "ERROR: reference to cluster %llu beyond the end of the file",
			    (unsigned long long)k);
			c->res->corruptions++;
			return;
		}
		c->ref[k]++;
	}
}

static bool aligned(struct census *c, uint64_t off, const char *what)
{
	if (!(off & (c->img->q.cluster_size - 1)))
		return true;
	say(c, "ERROR %s offset=%llx: not cluster-aligned", what, (unsigned long long)off);
	c->res->corruptions++;
	return false;
}

/* An L2 table of an L1 table (@active: the image's own, for the statistics as qemu-img's). */
static int count_l2(struct census *c, uint64_t l2_off, bool active)
{
	struct qcow2 *q = &c->img->q;
	uint64_t next = 0;
	int ret = qcow2_pread(c->img, c->l2, q->cluster_size, l2_off);

	if (ret) {
		c->res->check_errors++;
		return ret;
	}
	for (uint64_t j = 0; j < q_l2_entries(q); j++) {
		uint64_t e = be64(c->l2 + 8 * j), off, len;

		if (e & QCOW_OFLAG_COMPRESSED) {
			qcow2_compressed_range(q, e, &off, &len);
			count(c, off, len);
			/* Compressed clusters count as fragmented: sectors are read again and again. */
			if (active) {
				c->res->allocated_clusters++;
				c->res->compressed_clusters++;
				c->res->fragmented_clusters++;
			}
			continue;
		}
		off = e & L2E_OFFSET_MASK;
		if (!off || !aligned(c, off, "data cluster"))
			continue;
		count(c, off, q->cluster_size);
		if (!active)
			continue;
		c->res->allocated_clusters++;
		if (next && off != next)
			c->res->fragmented_clusters++;
		next = off + q->cluster_size;
	}
	return 0;
}

static int count_tree(struct census *c, const uint64_t *l1, uint32_t size, bool active)
{
	for (uint32_t i = 0; i < size; i++) {
		uint64_t off = l1[i] & L1E_OFFSET_MASK;
		int ret;

		if (!off || !aligned(c, off, "L2 table"))
			continue;
		count(c, off, c->img->q.cluster_size);
		if (off >> c->img->q.cluster_bits >= c->n)
			continue;
		ret = count_l2(c, off, active);
		if (ret)
			return ret;
	}
	return 0;
}

/* The bitmaps extension (0x23852875), while valid (autoclear bit 0): what its bitmaps use. */
static int count_bitmaps(struct census *c)
{
	struct qcow2 *q = &c->img->q;
	uint64_t dir_off = 0, dir_size = 0, cs = q->cluster_size;
	uint8_t *dir;
	int ret = 0;

	if (!(q->autoclear & AUTOCLEAR_BITMAPS))
		return 0;
	for (size_t i = 0; i + 8 <= q->other_ext_len;) {
		uint32_t len = be32(q->other_ext + i + 4);

		if (be32(q->other_ext + i) == EXT_BITMAPS && len >= 24) {
			dir_size = be64(q->other_ext + i + 16);
			dir_off = be64(q->other_ext + i + 24);
		}
		i += 8 + ((len + 7ULL) & ~7ULL);
	}
	if (!dir_size || dir_size > BITMAP_DIR_MAX || !aligned(c, dir_off, "bitmap directory"))
		return 0;
	count(c, dir_off, dir_size);
	dir = malloc(dir_size);
	if (!dir || qcow2_pread(c->img, dir, dir_size, dir_off)) {
		c->res->check_errors++;
		free(dir);
		return dir ? 0 : err_set(ENOMEM, "out of memory");
	}
	/* Entries: table offset, table size, flags, type, granularity, name and extra sizes. */
	for (uint64_t e = 0; e + 24 <= dir_size && !ret;) {
		uint64_t table = be64(dir + e), entries = be32(dir + e + 8);
		uint64_t next = e + 24 + be32(dir + e + 20) + be16(dir + e + 14);
		uint8_t *t;

		if (entries * 8 > BITMAP_DIR_MAX || !aligned(c, table, "bitmap table"))
			break;
		count(c, table, entries * 8);
		t = malloc(entries * 8 + 1);
		if (!t || qcow2_pread(c->img, t, entries * 8, table)) {
			ret = t ? 0 : err_set(ENOMEM, "out of memory");
			c->res->check_errors++;
			free(t);
			break;
		}
		for (uint64_t k = 0; k < entries; k++) {
			uint64_t data = be64(t + 8 * k) & L2E_OFFSET_MASK;

			if (data && aligned(c, data, "bitmap data"))
				count(c, data, cs);
		}
		free(t);
		e = (next + 7) & ~7ULL;
	}
	free(dir);
	return ret;
}

static int census_take(struct census *c)
{
	struct img *img = c->img;
	struct qcow2 *q = &img->q;
	int ret;

	count(c, 0, q->cluster_size);
	count(c, q->l1_offset, (uint64_t)q->l1_size * 8);
	ret = count_tree(c, q->l1, q->l1_size, true);
	for (unsigned int i = 0; !ret && i < q->nb_snapshots; i++) {
		const struct qsnap *s = &q->snaps[i];
		uint64_t *l1 = calloc(s->l1_size + 1, 8);

		if (!l1)
			return err_set(ENOMEM, "out of memory");
		ret = qcow2_pread(img, l1, (size_t)s->l1_size * 8, s->l1_offset);
		for (uint32_t k = 0; !ret && k < s->l1_size; k++)
			l1[k] = be64((uint8_t *)&l1[k]);
		count(c, s->l1_offset, (uint64_t)s->l1_size * 8);
		if (!ret)
			ret = count_tree(c, l1, s->l1_size, false);
		free(l1);
	}
	if (!ret)
		ret = count_bitmaps(c);
	count(c, q->snapshots_offset, q->snapshots_size);
	count(c, q->rt_offset, (uint64_t)q->rt_clusters << q->cluster_bits);
	for (uint64_t i = 0; i < q->rt_entries; i++) {
		uint64_t off = q->rt[i] & REFT_OFFSET_MASK;

		if (off && aligned(c, off, "refcount block"))
			count(c, off, q->cluster_size);
	}
	return ret;
}

/*
 * Compare refcounts with references; then fix what @fix allows (after the
 * comparison: a fix may add refcount blocks past the end of the file).
 */
static int compare(struct census *c, unsigned int fix)
{
	struct img *img = c->img;
	uint64_t limit = c->n, end = 0, nr = 0, *todo = NULL;
	int ret = 0;

	/* Refcounts beyond the file are leaks too (blocks cover more than the file). */
	for (uint64_t i = 0; i < img->q.rt_entries; i++) {
		uint64_t covered = (i + 1) << q_rb_bits(&img->q);

		if ((img->q.rt[i] & REFT_OFFSET_MASK) && covered > limit)
			limit = covered;
	}
	for (uint64_t k = 0; k < limit && !ret; k++) {
		uint64_t rc, ref = k < c->n ? c->ref[k] : 0, idx = k >> q_rb_bits(&img->q);
		bool leak;

		/* Past the file, only blocks inside it can say anything: skip the others whole. */
		if (k >= c->n && !(k & ((1ULL << q_rb_bits(&img->q)) - 1)) &&
		    ((img->q.rt[idx] & REFT_OFFSET_MASK) >> img->q.cluster_bits) >= c->n) {
			k += (1ULL << q_rb_bits(&img->q)) - 1;
			continue;
		}
		ret = qcow2_rc_get(img, k, &rc);
		if (ret) {
			c->res->check_errors++;
			break;
		}
		if (ref || rc)
			end = k + 1;
		if (rc == ref)
			continue;
		leak = rc > ref;
		say(c, "%s cluster %llu refcount=%llu reference=%llu",
		    (fix & (leak ? QCOW2_FIX_LEAKS : QCOW2_FIX_ERRORS)) ? "Repairing"
		    : leak						? "Leaked"
									: "ERROR",
		    (unsigned long long)k, (unsigned long long)rc, (unsigned long long)ref);
		if (leak)
			c->res->leaks++;
		else
			c->res->corruptions++;
		if (!(fix & (leak ? QCOW2_FIX_LEAKS : QCOW2_FIX_ERRORS)))
			continue;
		if (!(nr & (nr + 1))) {
			uint64_t *t = realloc(todo, 2 * (nr + 1) * 2 * sizeof(*t));

			if (!t) {
				ret = err_set(ENOMEM, "out of memory");
				break;
			}
			todo = t;
		}
		todo[2 * nr] = k;
		todo[2 * nr++ + 1] = ref - rc;
	}
	for (uint64_t i = 0; i < nr && !ret; i++)
		ret = qcow2_rc_add(img, todo[2 * i], (int64_t)todo[2 * i + 1]);
	free(todo);
	c->res->image_end_offset = end << img->q.cluster_bits;
	return ret;
}

/* COPIED flags of the active tree against the refcounts. */
static int check_copied(struct census *c)
{
	struct qcow2 *q = &c->img->q;

	for (uint32_t i = 0; i < q->l1_size; i++) {
		uint64_t off = q->l1[i] & L1E_OFFSET_MASK, rc;
		int ret;

		if (!off || off & (q->cluster_size - 1) || off >> q->cluster_bits >= c->n)
			continue;
		ret = qcow2_rc_get(c->img, off >> q->cluster_bits, &rc);
		if (ret)
			return ret;
		if ((rc == 1) != !!(q->l1[i] & QCOW_OFLAG_COPIED)) {
			say(c,
			    "ERROR OFLAG_COPIED L2 cluster: l1_index=%u l1_entry=%llx refcount=%llu",
			    i, (unsigned long long)q->l1[i], (unsigned long long)rc);
			c->res->corruptions++;
		}
		ret = qcow2_pread(c->img, c->l2, q->cluster_size, off);
		for (uint64_t j = 0; !ret && j < q_l2_entries(q); j++) {
			uint64_t e = be64(c->l2 + 8 * j), host = e & L2E_OFFSET_MASK;

			if (!host || (e & QCOW_OFLAG_COMPRESSED) || host & (q->cluster_size - 1))
				continue;
			ret = qcow2_rc_get(c->img, host >> q->cluster_bits, &rc);
			if (!ret && (rc == 1) != !!(e & QCOW_OFLAG_COPIED)) {
				say(c,
				    "ERROR OFLAG_COPIED data cluster: l2_entry=%llx refcount=%llu",
				    (unsigned long long)e, (unsigned long long)rc);
				c->res->corruptions++;
			}
		}
		if (ret)
			return ret;
	}
	return 0;
}

static int run(struct img *img, unsigned int fix, struct qcow2_check_result *res,
	       qcow2_report_fn report, void *opaque)
{
	struct qcow2 *q = &img->q;
	struct census c = { .img = img, .res = res, .report = report, .opaque = opaque };
	struct stat st;
	int ret;

	memset(res, 0, sizeof(*res));
	if (fstat(img->fd, &st))
		return err_set(errno, "%s", strerror(errno));
	c.n = ((uint64_t)st.st_size + q->cluster_size - 1) >> q->cluster_bits;
	if (q->file_end >> q->cluster_bits > c.n)
		c.n = q->file_end >> q->cluster_bits;
	res->total_clusters = (img->size + q->cluster_size - 1) >> q->cluster_bits;
	c.ref = calloc(c.n + 1, sizeof(*c.ref));
	c.l2 = malloc(q->cluster_size);
	ret = c.ref && c.l2 ? census_take(&c) : err_set(ENOMEM, "out of memory");
	if (!ret)
		ret = compare(&c, fix);
	if (!ret && (fix & QCOW2_FIX_ERRORS))
		ret = qcow2_fix_copied(img);
	if (!ret)
		ret = check_copied(&c);
	free(c.ref);
	free(c.l2);
	return ret;
}

int qcow2_check(struct img *img, unsigned int fix, struct qcow2_check_result *res,
		qcow2_report_fn report, void *opaque)
{
	struct qcow2_check_result after;
	int ret;

	if (img->format != IMG_FORMAT_QCOW2)
		return err_set(ENOTSUP, "%sonly qcow2 images can be checked", img->who);
	if (fix && !img->rw)
		return err_set(EROFS, "%srepairing needs the image open read-write", img->who);
	ret = qcow2_meta_flush(img);
	if (!ret)
		ret = run(img, fix, res, report, opaque);
	if (ret || !fix)
		return ret;
	if (res->leaks || res->corruptions) {
		ret = qcow2_meta_flush(img);
		/* What is left: a second count, quietly. */
		if (!ret)
			ret = run(img, QCOW2_FIX_NONE, &after, NULL, NULL);
		if (ret)
			return ret;
		res->leaks_fixed = res->leaks > after.leaks ? res->leaks - after.leaks : 0;
		res->corruptions_fixed = res->corruptions > after.corruptions
						 ? res->corruptions - after.corruptions
						 : 0;
		res->leaks = after.leaks;
		res->corruptions = after.corruptions;
	}
	/* Repaired: neither corrupt nor in need of a refcount rebuild any more. */
	if (fix == QCOW2_FIX_ALL && !res->corruptions &&
	    (img->q.incompat & (INCOMPAT_CORRUPT | INCOMPAT_DIRTY))) {
		img->q.incompat &= ~(INCOMPAT_CORRUPT | INCOMPAT_DIRTY);
		img->q.dirty_on_disk = false;
		ret = qcow2_write_header(img);
		if (!ret)
			ret = qcow2_sync(img);
	}
	return ret;
}

int qcow2_repair_dirty(struct img *img)
{
	struct qcow2_check_result res;
	int ret = qcow2_check(img, QCOW2_FIX_ALL, &res, NULL, NULL);

	if (!ret && res.corruptions)
		ret = err_set(EIO,
			      "%sthe refcounts of this dirty image cannot be rebuilt: run "
			      "kvmini-img check -r all",
			      img->who);
	return ret;
}
