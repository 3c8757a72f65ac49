// SPDX-License-Identifier: MIT
/*
 * qcow2 internal snapshots.  A snapshot is a copy of the L1 table plus one
 * more reference on every L2 table and data cluster it reaches; the active
 * image then copies a shared cluster before writing it (the COPIED flag is
 * set exactly on what only the active image uses).  The snapshot table is
 * rewritten whole, in new clusters, and switched to by the header.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "qcow2_int.h"

#define SNAP_FIXED	     40
#define SNAP_EXTRA_KNOWN     24 /* vm_state_size_large, disk_size, icount */
#define SNAP_MAX_EXTRA	     1024
#define SNAP_MAX_TABLE_BYTES (64 * MIB)

void qcow2_snapshots_free(struct qcow2 *q)
{
	for (unsigned int i = 0; q->snaps && i < q->nb_snapshots; i++) {
		free(q->snaps[i].id);
		free(q->snaps[i].name);
		free(q->snaps[i].extra);
	}
	free(q->snaps);
	free(q->snap_list);
	q->snaps = NULL;
	q->snap_list = NULL;
}

static int snap_bad(struct img *img, unsigned int i, const char *what)
{
	return err_set(EINVAL, "%sinvalid qcow2 image: snapshot %u: %s", img->who, i, what);
}

static int load_one(struct img *img, unsigned int i, uint64_t *pos)
{
	struct qcow2 *q = &img->q;
	struct qsnap *s = &q->snaps[i];
	uint8_t h[SNAP_FIXED];
	uint32_t extra;
	uint16_t id_len, name_len;
	int ret;

	if (*pos - q->snapshots_offset > SNAP_MAX_TABLE_BYTES)
		return snap_bad(img, i, "snapshot table too large");
	if (*pos + SNAP_FIXED > q->file_end)
		return snap_bad(img, i, "snapshot table beyond the end of the file");
	ret = qcow2_pread(img, h, sizeof(h), *pos);
	if (ret)
		return ret;
	s->l1_offset = be64(h);
	s->l1_size = be32(h + 8);
	id_len = be16(h + 12);
	name_len = be16(h + 14);
	s->date_sec = be32(h + 16);
	s->date_nsec = be32(h + 20);
	s->vm_clock_nsec = be64(h + 24);
	s->vm_state_size = be32(h + 32);
	extra = be32(h + 36);
	s->icount = UINT64_MAX;
	s->disk_size = img->size;
	if (extra > SNAP_MAX_EXTRA)
		return snap_bad(img, i, "extra data too large");
	if (s->l1_offset % q->cluster_size || s->l1_offset >= QCOW2_MAX_HOST_OFFSET ||
	    (uint64_t)s->l1_size * 8 > QCOW2_MAX_L1_BYTES ||
	    s->l1_offset + (uint64_t)s->l1_size * 8 > q->file_end || (!s->l1_offset && s->l1_size))
		return snap_bad(img, i, "invalid L1 table");
	s->extra_len = extra;
	s->extra = malloc(extra + 1);
	s->id = calloc(1, id_len + 1);
	s->name = calloc(1, name_len + 1);
	if (!s->extra || !s->id || !s->name)
		return err_set(ENOMEM, "out of memory");
	*pos += SNAP_FIXED;
	ret = qcow2_pread(img, s->extra, extra, *pos);
	if (!ret)
		ret = qcow2_pread(img, s->id, id_len, *pos + extra);
	if (!ret)
		ret = qcow2_pread(img, s->name, name_len, *pos + extra + id_len);
	if (ret)
		return ret;
	if (extra >= 8)
		s->vm_state_size = be64(s->extra);
	if (extra >= 16)
		s->disk_size = be64(s->extra + 8);
	if (extra >= 24)
		s->icount = be64(s->extra + 16);
	*pos = (*pos + extra + id_len + name_len + 7) & ~7ULL;
	return 0;
}

int qcow2_snapshots_load(struct img *img)
{
	struct qcow2 *q = &img->q;
	uint64_t pos = q->snapshots_offset;

	if (!q->nb_snapshots)
		return 0;
	q->snaps = calloc(q->nb_snapshots, sizeof(*q->snaps));
	if (!q->snaps)
		return err_set(ENOMEM, "out of memory");
	for (unsigned int i = 0; i < q->nb_snapshots; i++) {
		int ret = load_one(img, i, &pos);

		if (ret)
			return ret;
	}
	q->snapshots_size = pos - q->snapshots_offset;
	if (pos > q->file_end)
		return err_set(EINVAL,
			       "%sinvalid qcow2 image: snapshot table beyond the end of "
			       "the file",
			       img->who);
	return 0;
}

static int need_qcow2(struct img *img, bool write)
{
	if (img->format != IMG_FORMAT_QCOW2)
		return err_set(ENOTSUP, "%sonly qcow2 images have internal snapshots", img->who);
	if (write && !img->rw)
		return err_set(EROFS, "%sthe image is open read-only", img->who);
	return write ? qcow2_meta_flush(img) : 0;
}

int qcow2_snapshot_list(struct img *img, const struct qcow2_snapshot **list, unsigned int *nr)
{
	struct qcow2 *q = &img->q;
	int ret = need_qcow2(img, false);

	if (ret)
		return ret;
	free(q->snap_list);
	q->snap_list = calloc(q->nb_snapshots + 1, sizeof(*q->snap_list));
	if (!q->snap_list)
		return err_set(ENOMEM, "out of memory");
	for (unsigned int i = 0; i < q->nb_snapshots; i++) {
		const struct qsnap *s = &q->snaps[i];

		q->snap_list[i] = (struct qcow2_snapshot){
			.id = s->id,
			.name = s->name,
			.vm_state_size = s->vm_state_size,
			.date_sec = s->date_sec,
			.date_nsec = s->date_nsec,
			.vm_clock_nsec = s->vm_clock_nsec,
			.icount = s->icount,
			.disk_size = s->disk_size,
		};
	}
	*list = q->snap_list;
	*nr = q->nb_snapshots;
	return 0;
}

static int find(struct img *img, const char *name)
{
	for (unsigned int i = 0; i < img->q.nb_snapshots; i++) {
		if (!strcmp(img->q.snaps[i].id, name))
			return (int)i;
	}
	for (unsigned int i = 0; i < img->q.nb_snapshots; i++) {
		if (!strcmp(img->q.snaps[i].name, name))
			return (int)i;
	}
	return err_set(ENOENT, "%sno snapshot '%s'", img->who, name);
}

/* Write @snaps (@n of them) as the new table and point the header at it; free the old one. */
static int write_table(struct img *img, struct qsnap *snaps, unsigned int n)
{
	struct qcow2 *q = &img->q;
	uint64_t size = 0, pos = 0, off = 0, old_off = q->snapshots_offset;
	uint64_t old_size = q->snapshots_size;
	uint8_t *buf;
	int ret;

	for (unsigned int i = 0; i < n; i++) {
		uint32_t extra = snaps[i].extra_len > SNAP_EXTRA_KNOWN ? snaps[i].extra_len
								       : SNAP_EXTRA_KNOWN;

		size = (size + SNAP_FIXED + extra + strlen(snaps[i].id) + strlen(snaps[i].name) +
			7) &
		       ~7ULL;
	}
	buf = calloc(1, size + 1);
	if (!buf)
		return err_set(ENOMEM, "out of memory");
	for (unsigned int i = 0; i < n; i++) {
		const struct qsnap *s = &snaps[i];
		uint32_t extra = s->extra_len > SNAP_EXTRA_KNOWN ? s->extra_len : SNAP_EXTRA_KNOWN;
		size_t id_len = strlen(s->id), name_len = strlen(s->name);
		uint8_t *p = buf + pos;

		put_be64(p, s->l1_offset);
		put_be32(p + 8, s->l1_size);
		put_be16(p + 12, (uint16_t)id_len);
		put_be16(p + 14, (uint16_t)name_len);
		put_be32(p + 16, s->date_sec);
		put_be32(p + 20, s->date_nsec);
		put_be64(p + 24, s->vm_clock_nsec);
		put_be32(p + 32, s->vm_state_size > UINT32_MAX ? 0 : (uint32_t)s->vm_state_size);
		put_be32(p + 36, extra);
		if (s->extra_len > SNAP_EXTRA_KNOWN)
			memcpy(p + SNAP_FIXED, s->extra, s->extra_len);
		put_be64(p + SNAP_FIXED, s->vm_state_size);
		put_be64(p + SNAP_FIXED + 8, s->disk_size);
		put_be64(p + SNAP_FIXED + 16, s->icount);
		memcpy(p + SNAP_FIXED + extra, s->id, id_len);
		memcpy(p + SNAP_FIXED + extra + id_len, s->name, name_len);
		pos = (pos + SNAP_FIXED + extra + id_len + name_len + 7) & ~7ULL;
	}
	ret = 0;
	if (size) {
		ret = qcow2_alloc_clusters(img, (size + q->cluster_size - 1) / q->cluster_size,
					   &off);
		if (!ret)
			ret = qcache_flush(img, &q->rcc);
		if (!ret)
			ret = qcow2_stage(img, STAGE_L2);
		if (!ret)
			ret = qcow2_pwrite(img, buf, size, off);
	}
	free(buf);
	if (ret)
		return ret;
	q->snapshots_offset = off;
	q->snapshots_size = size;
	q->nb_snapshots = n;
	ret = qcow2_write_header(img);
	if (!ret)
		ret = qcow2_sync(img);
	if (!ret && old_size)
		ret = qcow2_free_now(img, old_off, old_size);
	return ret;
}

/* Add @delta to the refcount of everything the L1 table @l1 (@size entries) reaches. */
static int tree_refs(struct img *img, const uint64_t *l1, uint32_t size, int delta)
{
	struct qcow2 *q = &img->q;
	uint64_t n = q_l2_entries(q);
	uint64_t *l2 = malloc(q->cluster_size);
	int ret = l2 ? 0 : err_set(ENOMEM, "out of memory");

	for (uint32_t i = 0; !ret && i < size; i++) {
		uint64_t l2_off = l1[i] & L1E_OFFSET_MASK;

		if (!l2_off)
			continue;
		ret = qcow2_check_table_offset(img, l2_off, "L2 table");
		if (!ret)
			ret = qcow2_rc_add(img, l2_off >> q->cluster_bits, delta);
		if (!ret)
			ret = qcow2_pread(img, l2, q->cluster_size, l2_off);
		for (uint64_t j = 0; !ret && j < n; j++) {
			uint64_t e = be64((uint8_t *)&l2[j]), off, len;

			if (e & QCOW_OFLAG_COMPRESSED) {
				qcow2_compressed_range(q, e, &off, &len);
			} else {
				off = e & L2E_OFFSET_MASK;
				len = q->cluster_size;
			}
			if (!off)
				continue;
			for (uint64_t c = off >> q->cluster_bits;
			     !ret && c <= (off + len - 1) >> q->cluster_bits; c++)
				ret = qcow2_rc_add(img, c, delta);
		}
	}
	free(l2);
	return ret;
}

/* COPIED where the active image alone uses a cluster, and only there. */
int qcow2_fix_copied(struct img *img)
{
	struct qcow2 *q = &img->q;
	int ret = 0;

	for (uint32_t i = 0; !ret && i < q->l1_size; i++) {
		uint64_t l2_off = q->l1[i] & L1E_OFFSET_MASK, rc, want;
		unsigned int slot;

		/* What qcow2_check() counts as corrupt is not ours to touch here. */
		if (!l2_off || l2_off & (q->cluster_size - 1) || l2_off >= q->file_end)
			continue;
		ret = qcow2_rc_get(img, l2_off >> q->cluster_bits, &rc);
		want = l2_off | (rc == 1 ? QCOW_OFLAG_COPIED : 0);
		if (!ret && want != q->l1[i]) {
			q->l1[i] = want;
			ret = qcow2_stage(img, STAGE_L1);
			if (!ret) {
				uint8_t e[8];

				put_be64(e, want);
				ret = qcow2_pwrite(img, e, 8, q->l1_offset + 8ULL * i);
			}
		}
		if (!ret)
			ret = qcache_get(img, &q->l2c, l2_off, true, &slot);
		for (uint64_t j = 0; !ret && j < q_l2_entries(q); j++) {
			uint8_t *p = q->l2c.ent[slot].data + 8 * j;
			uint64_t e = be64(p), host = e & L2E_OFFSET_MASK, ne;

			if (!host || (e & QCOW_OFLAG_COMPRESSED))
				continue;
			ret = qcow2_rc_get(img, host >> q->cluster_bits, &rc);
			ne = rc == 1 ? e | QCOW_OFLAG_COPIED : e & ~QCOW_OFLAG_COPIED;
			/* rc_get() uses the refcount cache only: the slot stays. */
			if (!ret && ne != e) {
				put_be64(p, ne);
				q->l2c.ent[slot].dirty = true;
			}
		}
	}
	return ret ? ret : qcow2_meta_flush(img);
}

static int read_l1(struct img *img, uint64_t off, uint32_t size, uint64_t **out)
{
	uint64_t *t = calloc(size ? size : 1, 8);
	int ret = t ? qcow2_pread(img, t, (size_t)size * 8, off) : err_set(ENOMEM, "no memory");

	if (ret) {
		free(t);
		return ret;
	}
	for (uint32_t i = 0; i < size; i++)
		t[i] = be64((uint8_t *)&t[i]);
	*out = t;
	return 0;
}

/* The L1 table @l1 (@size entries, COPIED flags dropped) in new clusters: its offset. */
static int write_l1_copy(struct img *img, const uint64_t *l1, uint32_t size, uint64_t *off)
{
	struct qcow2 *q = &img->q;
	uint64_t bytes = (uint64_t)size * 8;
	uint8_t *buf = calloc(1, bytes + 1);
	int ret = buf ? 0 : err_set(ENOMEM, "out of memory");

	*off = 0;
	for (uint32_t i = 0; !ret && i < size; i++)
		put_be64(buf + 8 * i, l1[i] & ~QCOW_OFLAG_COPIED);
	if (!ret && bytes)
		ret = qcow2_alloc_clusters(img, (bytes + q->cluster_size - 1) / q->cluster_size,
					   off);
	if (!ret)
		ret = qcache_flush(img, &q->rcc);
	if (!ret)
		ret = qcow2_stage(img, STAGE_L2);
	if (!ret && bytes)
		ret = qcow2_pwrite(img, buf, bytes, *off);
	free(buf);
	return ret;
}

int qcow2_snapshot_create(struct img *img, const char *name)
{
	struct qcow2 *q = &img->q;
	struct qsnap *snaps, *s;
	unsigned long max_id = 0;
	struct timespec ts;
	char id[24];
	int ret = need_qcow2(img, true);

	if (ret)
		return ret;
	if (strlen(name) > UINT16_MAX / 2)
		return err_set(EINVAL, "snapshot name too long");
	for (unsigned int i = 0; i < q->nb_snapshots; i++) {
		unsigned long v = strtoul(q->snaps[i].id, NULL, 10);

		if (!strcmp(q->snaps[i].name, name) && *name)
			return err_set(EEXIST, "%sa snapshot named '%s' exists already", img->who,
				       name);
		max_id = v > max_id ? v : max_id;
	}
	if (q->nb_snapshots >= QCOW2_MAX_SNAPSHOTS)
		return err_set(ENOSPC, "%stoo many snapshots", img->who);
	snprintf(id, sizeof(id), "%lu", max_id + 1);
	snaps = calloc(q->nb_snapshots + 1, sizeof(*snaps));
	if (!snaps)
		return err_set(ENOMEM, "out of memory");
	if (q->nb_snapshots)
		memcpy(snaps, q->snaps, q->nb_snapshots * sizeof(*snaps));
	s = &snaps[q->nb_snapshots];
	clock_gettime(CLOCK_REALTIME, &ts);
	*s = (struct qsnap){
		.id = strdup(id),
		.name = strdup(name),
		.l1_size = q->l1_size,
		.date_sec = (uint32_t)ts.tv_sec,
		.date_nsec = (uint32_t)ts.tv_nsec,
		.disk_size = img->size,
		.icount = UINT64_MAX,
	};
	ret = s->id && s->name ? 0 : err_set(ENOMEM, "out of memory");
	/* References first (a crash leaks them), then the table that uses them. */
	if (!ret)
		ret = tree_refs(img, q->l1, q->l1_size, 1);
	if (!ret)
		ret = write_l1_copy(img, q->l1, q->l1_size, &s->l1_offset);
	if (!ret)
		ret = qcow2_fix_copied(img);
	if (!ret)
		ret = write_table(img, snaps, q->nb_snapshots + 1);
	if (ret) {
		free(s->id);
		free(s->name);
		free(snaps);
		return ret;
	}
	free(q->snaps);
	q->snaps = snaps;
	return 0;
}

int qcow2_snapshot_delete(struct img *img, const char *name)
{
	struct qcow2 *q = &img->q;
	struct qsnap gone;
	uint64_t *l1 = NULL;
	int i, ret = need_qcow2(img, true);

	if (ret)
		return ret;
	i = find(img, name);
	if (i < 0)
		return i;
	gone = q->snaps[i];
	ret = read_l1(img, gone.l1_offset, gone.l1_size, &l1);
	if (ret)
		return ret;
	/* Out of the table first: then its references may go. */
	memmove(&q->snaps[i], &q->snaps[i + 1], (q->nb_snapshots - i - 1) * sizeof(*q->snaps));
	q->snaps[q->nb_snapshots - 1] = gone;
	ret = write_table(img, q->snaps, q->nb_snapshots - 1);
	if (ret) {
		free(l1);
		return ret;
	}
	free(gone.id);
	free(gone.name);
	free(gone.extra);
	ret = tree_refs(img, l1, gone.l1_size, -1);
	if (!ret && gone.l1_size)
		ret = qcow2_free_now(img, gone.l1_offset, (uint64_t)gone.l1_size * 8);
	free(l1);
	if (!ret)
		ret = qcache_flush(img, &q->rcc);
	if (!ret)
		ret = qcow2_sync(img);
	return ret ? ret : qcow2_fix_copied(img);
}

int qcow2_snapshot_apply(struct img *img, const char *name)
{
	struct qcow2 *q = &img->q;
	uint64_t *sl1 = NULL, *old = q->l1, old_off = q->l1_offset, new_off;
	uint32_t old_size = q->l1_size, size;
	const struct qsnap *s;
	int i, ret = need_qcow2(img, true);

	if (ret)
		return ret;
	i = find(img, name);
	if (i < 0)
		return i;
	s = &q->snaps[i];
	size = s->l1_size;
	ret = read_l1(img, s->l1_offset, size, &sl1);
	if (ret)
		return ret;
	/* The snapshot's tree gains the active image's references, in a new L1 table. */
	ret = tree_refs(img, sl1, size, 1);
	if (!ret)
		ret = write_l1_copy(img, sl1, size, &new_off);
	if (ret) {
		free(sl1);
		return ret;
	}
	q->l1 = sl1;
	q->l1_size = size;
	q->l1_offset = new_off;
	img->size = s->disk_size;
	ret = qcow2_write_header(img);
	if (!ret)
		ret = qcow2_sync(img);
	/* Then the old tree loses them. */
	if (!ret)
		ret = tree_refs(img, old, old_size, -1);
	if (!ret && old_size)
		ret = qcow2_free_now(img, old_off, (uint64_t)old_size * 8);
	free(old);
	if (!ret)
		ret = qcache_flush(img, &q->rcc);
	if (!ret)
		ret = qcow2_sync(img);
	return ret ? ret : qcow2_fix_copied(img);
}
