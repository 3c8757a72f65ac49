// SPDX-License-Identifier: MIT
/*
 * qcow2 metadata caches (L2 tables, refcount blocks: LRU, write-back) and
 * the order metadata reaches the file in.  A crash may leak clusters but
 * must never leave a table pointing at a cluster whose refcount is 0, so:
 * refcount blocks are written before the L2 tables that use their clusters,
 * L2 tables before the L1 entries (and header) that point at them, and a
 * fdatasync separates one stage from the next.  Clusters a table stopped
 * using are freed only after that table is written (qcow2_free_later()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "qcow2_int.h"

int qcache_init(struct qcache *c, unsigned int n, uint64_t cluster_size, enum qstage stage)
{
	c->ent = calloc(n, sizeof(*c->ent));
	if (!c->ent)
		return err_set(ENOMEM, "out of memory");
	c->n = n;
	c->stage = stage;
	for (unsigned int i = 0; i < n; i++) {
		if (posix_memalign((void **)&c->ent[i].data, 4096, cluster_size))
			return err_set(ENOMEM, "out of memory");
	}
	return 0;
}

void qcache_free(struct qcache *c)
{
	for (unsigned int i = 0; c->ent && i < c->n; i++)
		free(c->ent[i].data);
	free(c->ent);
	c->ent = NULL;
}

int qcow2_sync(struct img *img)
{
	if (fdatasync(img->fd))
		return err_set(errno, "%sfdatasync: %s", img->who, strerror(errno));
	img->q.unsynced = STAGE_NONE;
	return 0;
}

int qcow2_stage(struct img *img, enum qstage stage)
{
	struct qcow2 *q = &img->q;
	int ret = 0;

	if (q->unsynced != STAGE_NONE && q->unsynced != stage)
		ret = qcow2_sync(img);
	q->unsynced = stage;
	return ret;
}

static int write_ent(struct img *img, struct qcache *c, struct qcache_ent *e)
{
	int ret;

	/* An L2 table may use clusters whose refcounts are still only cached. */
	if (c == &img->q.l2c) {
		ret = qcache_flush(img, &img->q.rcc);
		if (ret)
			return ret;
	}
	ret = qcow2_stage(img, c->stage);
	if (!ret)
		ret = qcow2_pwrite(img, e->data, img->q.cluster_size, e->off);
	if (!ret)
		e->dirty = false;
	return ret;
}

int qcache_get(struct img *img, struct qcache *c, uint64_t off, bool fill, unsigned int *slot)
{
	struct qcache_ent *victim = NULL;
	int ret;

	for (unsigned int i = 0; i < c->n; i++) {
		struct qcache_ent *e = &c->ent[i];

		if (e->off == off) {
			e->used = ++c->tick;
			*slot = i;
			/* A cluster taken anew for a table: whatever was cached is stale. */
			if (!fill)
				memset(e->data, 0, img->q.cluster_size);
			return 0;
		}
		if (!victim || e->used < victim->used)
			victim = e;
	}
	if (victim->off && victim->dirty) {
		ret = write_ent(img, c, victim);
		if (ret)
			return ret;
	}
	victim->off = 0;
	if (fill) {
		ret = qcow2_pread(img, victim->data, img->q.cluster_size, off);
		if (ret)
			return ret;
	} else {
		memset(victim->data, 0, img->q.cluster_size);
	}
	victim->off = off;
	victim->dirty = false;
	victim->used = ++c->tick;
	*slot = (unsigned int)(victim - c->ent);
	return 0;
}

void qcache_forget(struct qcache *c, uint64_t off)
{
	for (unsigned int i = 0; i < c->n; i++) {
		if (c->ent[i].off == off) {
			c->ent[i].off = 0;
			c->ent[i].dirty = false;
			c->ent[i].used = 0;
		}
	}
}

int qcache_flush(struct img *img, struct qcache *c)
{
	for (unsigned int i = 0; i < c->n; i++) {
		if (c->ent[i].off && c->ent[i].dirty) {
			int ret = write_ent(img, c, &c->ent[i]);

			if (ret)
				return ret;
		}
	}
	return 0;
}

int qcow2_meta_flush(struct img *img)
{
	struct qcow2 *q = &img->q;
	int ret;

	if (!img->rw)
		return 0;
	ret = qcache_flush(img, &q->rcc);
	if (!ret)
		ret = qcache_flush(img, &q->l2c);
	if (!ret && q->nr_frees) {
		/* The tables that dropped the clusters must be durable before the decrements. */
		if (q->unsynced != STAGE_NONE)
			ret = qcow2_sync(img);
		if (!ret)
			ret = qcow2_apply_frees(img);
		if (!ret)
			ret = qcache_flush(img, &q->rcc);
	}
	return ret;
}
