// SPDX-License-Identifier: MIT
/*
 * Split virtqueues, the device side (virtio 1.2, 2.7).  The driver may rewrite
 * ring memory at any moment, so every guest field is loaded once, into a local
 * that is then checked and used; nothing is read twice.  Host and virtio byte
 * order are both little-endian (x86), so no conversions.
 */
#include <errno.h>

#include "virtqueue.h"

static uint16_t load16(const uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void store16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* used_event and avail_event sit right after the other side's ring. */
static uint16_t *used_event(const struct virtq *vq)
{
	return &vq->avail->ring[vq->size];
}

static uint16_t *avail_event(const struct virtq *vq)
{
	return (uint16_t *)((uint8_t *)vq->used + VIRTQ_USED_BYTES(vq->size) - 2);
}

/*
 * One descriptor, copied through volatile byte loads: an indirect table need
 * not be aligned (2.7.5.3 sets no alignment), and volatile guarantees each
 * byte is fetched exactly once, so the checked copy is the one used.
 */
static void read_desc(const struct virtq_desc *src, struct virtq_desc *d)
{
	const volatile uint8_t *s = (const volatile uint8_t *)src;
	uint8_t *dst = (uint8_t *)d;
	unsigned int i;

	for (i = 0; i < sizeof(*d); i++)
		dst[i] = s[i];
}

int virtq_init(struct virtq *vq)
{
	uint16_t size = vq->size;

	vq->ready = false;
	vq->broken = false;
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_valid = false;
	if (!size || size > VIRTQ_MAX_SIZE || (size & (size - 1)))
		return -EINVAL;
	/* The alignments of 2.7; they also keep the atomic accesses below aligned. */
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
		return -EFAULT;
	vq->desc = guest_mem_ptr(vq->mem, vq->desc_gpa, VIRTQ_DESC_BYTES(size));
	vq->avail = guest_mem_ptr(vq->mem, vq->avail_gpa, VIRTQ_AVAIL_BYTES(size));
	vq->used = guest_mem_ptr(vq->mem, vq->used_gpa, VIRTQ_USED_BYTES(size));
	if (!vq->desc || !vq->avail || !vq->used)
		return -EFAULT;
	vq->ready = true;
	return 0;
}

static int add_buf(const struct virtq *vq, struct virtq_elem *elem, const struct virtq_desc *d)
{
	unsigned int n = elem->nr_out + elem->nr_in;
	void *p;

	/*
	 * A chain longer than the queue (2.7.5.3.1: indirect ones included),
	 * which is also how a loop ends: it repeats until it is too long.
	 */
	if (n >= vq->size)
		return -EINVAL;
	/* 2.7.4.2: readable buffers come first; the device needs no empty ones. */
	if (!d->len || (!(d->flags & VIRTQ_DESC_F_WRITE) && elem->nr_in))
		return -EINVAL;
	p = guest_mem_ptr(vq->mem, d->addr, d->len);
	if (!p)
		return -EFAULT;
	elem->iov[n].iov_base = p;
	elem->iov[n].iov_len = d->len;
	if (d->flags & VIRTQ_DESC_F_WRITE) {
		elem->nr_in++;
		elem->in_len += d->len;
	} else {
		elem->nr_out++;
		elem->out_len += d->len;
	}
	return 0;
}

static int walk(const struct virtq *vq, struct virtq_elem *elem, const struct virtq_desc *table,
		unsigned int nr, uint16_t i, bool top);

/*
 * @d refers to an indirect table.  Only a chain's last descriptor in the
 * queue's own table may (2.7.5.3: direct descriptors may come before it).
 */
static int add_indirect(const struct virtq *vq, struct virtq_elem *elem, const struct virtq_desc *d,
			bool top)
{
	const struct virtq_desc *table;

	if (!top || !vq->indirect || (d->flags & VIRTQ_DESC_F_NEXT))
		return -EINVAL;
	if (!d->len || d->len % sizeof(*d) || d->len / sizeof(*d) > VIRTQ_MAX_SIZE)
		return -EINVAL;
	table = guest_mem_ptr(vq->mem, d->addr, d->len);
	if (!table)
		return -EFAULT;
	return walk(vq, elem, table, d->len / sizeof(*d), 0, false);
}

/* Follow a chain from @i through @table of @nr entries; add_buf() ends loops. */
static int walk(const struct virtq *vq, struct virtq_elem *elem, const struct virtq_desc *table,
		unsigned int nr, uint16_t i, bool top)
{
	struct virtq_desc d;
	int ret;

	for (;;) {
		if (i >= nr)
			return -EINVAL;
		read_desc(&table[i], &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			ret = add_indirect(vq, elem, &d, top);
		else
			ret = add_buf(vq, elem, &d);
		if (ret)
			return ret;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

int virtq_pop(struct virtq *vq, struct virtq_elem *elem)
{
	uint16_t avail_idx, head;
	int ret;

	if (!vq->ready || vq->broken)
		return 0;
	/* Acquire: the ring entry and descriptors were written before idx. */
	avail_idx = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
	if (avail_idx == vq->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->size) {
		ret = -EINVAL;
		goto broken;
	}
	head = load16(&vq->avail->ring[vq->last_avail & (vq->size - 1)]);
	elem->head = head;
	elem->nr_out = 0;
	elem->nr_in = 0;
	elem->out_len = 0;
	elem->in_len = 0;
	ret = walk(vq, elem, vq->desc, vq->size, head, true);
	if (ret)
		goto broken;
	vq->last_avail++;
	return 1;
broken:
	vq->broken = true;
	return ret;
}

void virtq_push_n(struct virtq *vq, const struct virtq_used_elem *elems, unsigned int n)
{
	if (!vq->ready)
		return;
	for (unsigned int i = 0; i < n; i++) {
		struct virtq_used_elem *e = &vq->used->ring[(vq->used_idx + i) & (vq->size - 1)];

		__atomic_store_n(&e->id, elems[i].id, __ATOMIC_RELAXED);
		__atomic_store_n(&e->len, elems[i].len, __ATOMIC_RELAXED);
	}
	vq->used_idx = (uint16_t)(vq->used_idx + n);
	/* Release: the driver must see the elements before the index that covers them. */
	__atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
}

void virtq_push(struct virtq *vq, uint16_t head, uint32_t written)
{
	const struct virtq_used_elem e = { head, written };

	virtq_push_n(vq, &e, 1);
}

void virtq_unpop(struct virtq *vq, uint16_t n)
{
	vq->last_avail = (uint16_t)(vq->last_avail - n);
}

/* 2.7.10: has @event been crossed going from @old to @new (mod 2^16)? */
static bool need_event(uint16_t event, uint16_t new, uint16_t old)
{
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

bool virtq_should_notify(struct virtq *vq)
{
	uint16_t old = vq->signalled_used;
	bool valid = vq->signalled_valid;

	if (!vq->ready)
		return false;
	/*
	 * Order our used->idx store before reading the driver's suppression
	 * state, which it writes before re-reading used->idx: one of us sees
	 * the other, so no interrupt is lost.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(load16(&vq->avail->flags) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	vq->signalled_used = vq->used_idx;
	vq->signalled_valid = true;
	return !valid || need_event(load16(used_event(vq)), vq->used_idx, old);
}

bool virtq_has_avail(const struct virtq *vq)
{
	return vq->ready && !vq->broken && load16(&vq->avail->idx) != vq->last_avail;
}

bool virtq_set_notify(struct virtq *vq, bool enable)
{
	if (!vq->ready || vq->broken)
		return false;
	/*
	 * With EVENT_IDX, a stale avail_event already suppresses notifications:
	 * the driver only notifies when its new index crosses it.
	 */
	if (vq->event_idx) {
		if (enable)
			store16(avail_event(vq), vq->last_avail);
	} else {
		store16(&vq->used->flags, enable ? 0 : VIRTQ_USED_F_NO_NOTIFY);
	}
	if (!enable)
		return false;
	/* As in virtq_should_notify(), with the roles swapped. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return load16(&vq->avail->idx) != vq->last_avail;
}
