// SPDX-License-Identifier: MIT
/* virtio-pci modern transport and split virtqueues, driver side. */
#include "virtio.h"

#include "mm.h"

#include <errno.h>

/* Vendor capability (4.1.4) */
#define VIRTIO_CAP_CFG_TYPE    3
#define VIRTIO_CAP_BAR	       4
#define VIRTIO_CAP_OFFSET      8
#define VIRTIO_CAP_LENGTH      12
#define VIRTIO_CAP_NOTIFY_MULT 16
#define VIRTIO_PCI_CAP_COMMON  1
#define VIRTIO_PCI_CAP_NOTIFY  2
#define VIRTIO_PCI_CAP_ISR     3
#define VIRTIO_PCI_CAP_DEVICE  4

/* Common configuration structure (4.1.4.3) */
#define COMMON_DFSELECT 0x00
#define COMMON_DF	0x04
#define COMMON_GFSELECT 0x08
#define COMMON_GF	0x0c
#define COMMON_MSIX	0x10
#define COMMON_NUMQ	0x12
#define COMMON_STATUS	0x14
#define COMMON_CFGGEN	0x15
#define COMMON_Q_SELECT 0x16
#define COMMON_Q_SIZE	0x18
#define COMMON_Q_MSIX	0x1a
#define COMMON_Q_ENABLE 0x1c
#define COMMON_Q_NOFF	0x1e
#define COMMON_Q_DESC	0x20
#define COMMON_Q_DRIVER 0x28
#define COMMON_Q_DEVICE 0x30

/* MSI-X capability and table */
#define MSIX_CTRL	   2
#define MSIX_TABLE	   4
#define MSIX_CTRL_ENABLE   0x8000
#define MSIX_CTRL_MASKALL  0x4000
#define MSIX_ENTRY_WORDS   4
#define MSIX_VEC_CTRL_MASK 1

#define LAPIC_BASE 0xfee00000UL
#define LAPIC_ID   0x20
#define LAPIC_EOI  0xb0

#define RESET_TICKS 3000000000ULL

static inline void mb(void)
{
	asm volatile("mfence" : : : "memory");
}

static inline void barrier(void)
{
	asm volatile("" : : : "memory");
}

static volatile uint8_t *c8(struct virtio_dev *vd, unsigned int off)
{
	return vd->common + off;
}

static volatile uint16_t *c16(struct virtio_dev *vd, unsigned int off)
{
	return (volatile uint16_t *)(vd->common + off);
}

static volatile uint32_t *c32(struct virtio_dev *vd, unsigned int off)
{
	return (volatile uint32_t *)(vd->common + off);
}

/* 64-bit fields as two 32-bit writes: valid for the transport, and no wide MMIO needed. */
static void c64_write(struct virtio_dev *vd, unsigned int off, uint64_t v)
{
	*c32(vd, off) = (uint32_t)v;
	*c32(vd, off + 4) = v >> 32;
}

static bool virtio_match(const struct pci_dev *d, void *arg)
{
	uint16_t type = *(const uint16_t *)arg;

	if (d->vendor != VIRTIO_PCI_VENDOR)
		return false;
	if (d->device == VIRTIO_PCI_MODERN_BASE + type)
		return true;
	return d->device >= VIRTIO_PCI_LEGACY_FIRST && d->device <= VIRTIO_PCI_LEGACY_LAST &&
	       d->subsys_id == type;
}

/* The structure a vendor capability describes, or NULL if its BAR range is bad. */
static volatile uint8_t *cap_ptr(struct virtio_dev *vd, unsigned int cap)
{
	uint8_t bar = pci_read8(&vd->pci, cap + VIRTIO_CAP_BAR);
	uint32_t off = pci_read32(&vd->pci, cap + VIRTIO_CAP_OFFSET);
	uint32_t len = pci_read32(&vd->pci, cap + VIRTIO_CAP_LENGTH);

	if (!len || !pci_bar_ptr(&vd->pci, bar, (uint64_t)off + len - 1))
		return NULL;
	return (volatile uint8_t *)pci_bar_ptr(&vd->pci, bar, off);
}

int virtio_pci_probe(struct virtio_dev *vd, uint16_t type, unsigned int nth)
{
	unsigned int cap = 0;
	int ret;

	memset(vd, 0, sizeof(*vd));
	ret = pci_find(virtio_match, &type, nth, &vd->pci);
	if (ret)
		return ret;
	vd->type = type;
	ret = pci_enable(&vd->pci);
	if (ret)
		return ret;
	while ((cap = pci_find_cap(&vd->pci, PCI_CAP_ID_VENDOR, cap))) {
		volatile uint8_t **slot = NULL;

		switch (pci_read8(&vd->pci, cap + VIRTIO_CAP_CFG_TYPE)) {
		case VIRTIO_PCI_CAP_COMMON:
			slot = &vd->common;
			break;
		case VIRTIO_PCI_CAP_NOTIFY:
			slot = &vd->notify_base;
			if (!vd->notify_base)
				vd->notify_mult =
					pci_read32(&vd->pci, cap + VIRTIO_CAP_NOTIFY_MULT);
			break;
		case VIRTIO_PCI_CAP_ISR:
			slot = &vd->isr;
			break;
		case VIRTIO_PCI_CAP_DEVICE:
			slot = &vd->devcfg;
			break;
		}
		/* The first usable one of each type wins (4.1.4.1). */
		if (slot && !*slot)
			*slot = cap_ptr(vd, cap);
	}
	if (!vd->common || !vd->notify_base || !vd->isr)
		return -ENODEV;
	vd->msix_cap = pci_find_cap(&vd->pci, PCI_CAP_ID_MSIX, 0);
	if (vd->msix_cap) {
		uint32_t table = pci_read32(&vd->pci, vd->msix_cap + MSIX_TABLE);

		vd->msix_entries = (pci_read16(&vd->pci, vd->msix_cap + MSIX_CTRL) & 0x7ff) + 1;
		vd->msix_table = (volatile uint32_t *)pci_bar_ptr(&vd->pci, table & 7, table & ~7U);
	}
	return 0;
}

uint8_t virtio_get_status(struct virtio_dev *vd)
{
	return *c8(vd, COMMON_STATUS);
}

void virtio_set_status(struct virtio_dev *vd, uint8_t status)
{
	*c8(vd, COMMON_STATUS) = status;
}

int virtio_reset(struct virtio_dev *vd, uint64_t ticks)
{
	uint64_t t0 = rdtsc();

	virtio_set_status(vd, 0);
	while (virtio_get_status(vd)) {
		if (rdtsc() - t0 > ticks)
			return -ETIMEDOUT;
		cpu_pause();
	}
	return 0;
}

uint64_t virtio_device_features(struct virtio_dev *vd)
{
	uint64_t f;

	*c32(vd, COMMON_DFSELECT) = 1;
	f = (uint64_t)*c32(vd, COMMON_DF) << 32;
	*c32(vd, COMMON_DFSELECT) = 0;
	return f | *c32(vd, COMMON_DF);
}

int virtio_init(struct virtio_dev *vd, uint64_t wanted)
{
	uint64_t f;
	int ret = virtio_reset(vd, RESET_TICKS);

	if (ret)
		return ret;
	vd->nr_vqs = 0;
	virtio_set_status(vd, VIRTIO_STATUS_ACK);
	virtio_set_status(vd, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
	f = virtio_device_features(vd);
	if (!(f & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
		virtio_set_status(vd, VIRTIO_STATUS_FAILED);
		return -ENOTSUP;
	}
	vd->features = f & (wanted | VIRTIO_BIT(VIRTIO_F_VERSION_1));
	*c32(vd, COMMON_GFSELECT) = 0;
	*c32(vd, COMMON_GF) = (uint32_t)vd->features;
	*c32(vd, COMMON_GFSELECT) = 1;
	*c32(vd, COMMON_GF) = vd->features >> 32;
	virtio_set_status(vd, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	if (!(virtio_get_status(vd) & VIRTIO_STATUS_FEATURES_OK)) {
		virtio_set_status(vd, VIRTIO_STATUS_FAILED);
		return -EIO;
	}
	return 0;
}

int virtio_setup_queue(struct virtio_dev *vd, unsigned int idx, uint16_t max_size,
		       uint16_t msix_vector)
{
	struct virtq *q;
	uint16_t size;

	if (idx >= VIRTIO_MAX_QUEUES || idx >= *c16(vd, COMMON_NUMQ))
		return -EINVAL;
	*c16(vd, COMMON_Q_SELECT) = idx;
	size = *c16(vd, COMMON_Q_SIZE);
	if (!size || *c16(vd, COMMON_Q_ENABLE))
		return -ENOENT;
	if (max_size && size > max_size)
		size = max_size;
	if (size > VIRTQ_MAX_SIZE)
		size = VIRTQ_MAX_SIZE;
	while (size & (size - 1)) /* split queue sizes are powers of 2 */
		size &= size - 1;

	q = &vd->vq[idx];
	memset(q, 0, sizeof(*q));
	q->index = idx;
	q->size = size;
	q->desc = mm_alloc(sizeof(struct virtq_desc) * size, 4096);
	q->avail = mm_alloc(sizeof(struct virtq_avail) + 2 * size + 2, 4096);
	q->used = mm_alloc(sizeof(struct virtq_used) + sizeof(struct virtq_used_elem) * size + 2,
			   4096);
	q->token = mm_alloc(sizeof(uint64_t) * size, 8);
	if (vd->features & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC))
		q->indirect = mm_alloc(sizeof(struct virtq_desc) * VIRTQ_INDIRECT_MAX * size, 16);
	if (!q->desc || !q->avail || !q->used || !q->token ||
	    (!q->indirect && (vd->features & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC))))
		return -ENOMEM;
	for (unsigned int i = 0; i < size; i++)
		q->desc[i].next = i + 1;
	q->num_free = size;
	q->event_idx = vd->features & VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	virtq_enable_irq(q, msix_vector != VIRTIO_MSI_NO_VECTOR);

	*c16(vd, COMMON_Q_SIZE) = size;
	*c16(vd, COMMON_Q_MSIX) = msix_vector;
	if (*c16(vd, COMMON_Q_MSIX) != msix_vector)
		return -EIO; /* the device could not take the vector */
	c64_write(vd, COMMON_Q_DESC, (uintptr_t)q->desc);
	c64_write(vd, COMMON_Q_DRIVER, (uintptr_t)q->avail);
	c64_write(vd, COMMON_Q_DEVICE, (uintptr_t)q->used);
	q->notify = (volatile uint16_t *)(vd->notify_base +
					  (uint32_t)*c16(vd, COMMON_Q_NOFF) * vd->notify_mult);
	*c16(vd, COMMON_Q_ENABLE) = 1;
	if (idx >= vd->nr_vqs)
		vd->nr_vqs = idx + 1;
	return 0;
}

void virtio_driver_ok(struct virtio_dev *vd)
{
	virtio_set_status(vd, virtio_get_status(vd) | VIRTIO_STATUS_DRIVER_OK);
}

uint32_t virtio_cfg_read(struct virtio_dev *vd, unsigned int off, unsigned int size)
{
	volatile uint8_t *p = vd->devcfg + off;

	if (!vd->devcfg)
		return 0;
	if (size == 1)
		return *p;
	if (size == 2)
		return *(volatile uint16_t *)p;
	return *(volatile uint32_t *)p;
}

uint64_t virtio_cfg_read64(struct virtio_dev *vd, unsigned int off)
{
	uint8_t gen;
	uint64_t v;

	/* Two 32-bit reads are only consistent within one config generation (4.1.4.3.1). */
	do {
		gen = *c8(vd, COMMON_CFGGEN);
		v = virtio_cfg_read(vd, off, 4) | (uint64_t)virtio_cfg_read(vd, off + 4, 4) << 32;
	} while (gen != *c8(vd, COMMON_CFGGEN));
	return v;
}

int virtio_msix_setup(struct virtio_dev *vd, unsigned int entry, uint8_t apic_id, uint8_t vector)
{
	uint16_t ctrl;

	if (!vd->msix_cap || !vd->msix_table || entry >= vd->msix_entries)
		return -ENODEV;
	ctrl = pci_read16(&vd->pci, vd->msix_cap + MSIX_CTRL);
	pci_write16(&vd->pci, vd->msix_cap + MSIX_CTRL,
		    ctrl | MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL);
	for (unsigned int i = 0; i < vd->msix_entries; i++)
		vd->msix_table[i * MSIX_ENTRY_WORDS + 3] = MSIX_VEC_CTRL_MASK;
	vd->msix_table[entry * MSIX_ENTRY_WORDS + 0] = LAPIC_BASE | (uint32_t)apic_id << 12;
	vd->msix_table[entry * MSIX_ENTRY_WORDS + 1] = 0;
	vd->msix_table[entry * MSIX_ENTRY_WORDS + 2] = vector;
	vd->msix_table[entry * MSIX_ENTRY_WORDS + 3] = 0;
	pci_write16(&vd->pci, vd->msix_cap + MSIX_CTRL,
		    (ctrl | MSIX_CTRL_ENABLE) & ~MSIX_CTRL_MASKALL);
	return 0;
}

int virtq_alloc_desc(struct virtq *q)
{
	uint16_t d;

	if (!q->num_free)
		return -ENOSPC;
	d = q->free_head;
	q->free_head = q->desc[d].next;
	q->num_free--;
	return d;
}

static void free_desc(struct virtq *q, uint16_t d)
{
	q->desc[d].next = q->free_head;
	q->free_head = d;
	q->num_free++;
}

void virtq_publish(struct virtq *q, uint16_t head)
{
	q->avail->ring[q->avail_idx & (q->size - 1)] = head;
	q->avail_idx++;
}

int virtq_add(struct virtq *q, const struct virtq_buf *bufs, unsigned int n, bool indirect,
	      uint64_t token)
{
	int head, prev = -1;

	if (!n || (indirect && (!q->indirect || n > VIRTQ_INDIRECT_MAX)))
		return -EINVAL;
	if ((indirect ? 1 : n) > q->num_free)
		return -ENOSPC;
	if (indirect) {
		struct virtq_desc *t;

		head = virtq_alloc_desc(q);
		t = &q->indirect[head * VIRTQ_INDIRECT_MAX];
		for (unsigned int i = 0; i < n; i++) {
			t[i].addr = bufs[i].addr;
			t[i].len = bufs[i].len;
			t[i].flags = (bufs[i].write ? VIRTQ_DESC_F_WRITE : 0) |
				     (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0);
			t[i].next = i + 1;
		}
		q->desc[head].addr = (uintptr_t)t;
		q->desc[head].len = n * sizeof(*t);
		q->desc[head].flags = VIRTQ_DESC_F_INDIRECT;
	} else {
		head = -1;
		for (unsigned int i = 0; i < n; i++) {
			int d = virtq_alloc_desc(q);

			q->desc[d].addr = bufs[i].addr;
			q->desc[d].len = bufs[i].len;
			q->desc[d].flags = bufs[i].write ? VIRTQ_DESC_F_WRITE : 0;
			if (prev >= 0) {
				q->desc[prev].flags |= VIRTQ_DESC_F_NEXT;
				q->desc[prev].next = d;
			} else {
				head = d;
			}
			prev = d;
		}
	}
	q->token[head] = token;
	virtq_publish(q, head);
	return head;
}

/* The event fields after each ring (2.7.10). */
static volatile uint16_t *used_event(const struct virtq *q)
{
	return &q->avail->ring[q->size];
}

static volatile uint16_t *avail_event(const struct virtq *q)
{
	return (volatile uint16_t *)((volatile uint8_t *)q->used + sizeof(struct virtq_used) +
				     sizeof(struct virtq_used_elem) * q->size);
}

void virtq_notify(struct virtq *q)
{
	*q->notify = q->index;
}

void virtq_kick(struct virtio_dev *vd, struct virtq *q)
{
	uint16_t old = q->kicked_idx, now = q->avail_idx;
	bool need;

	(void)vd;
	barrier(); /* descriptors and ring entries before the index */
	q->avail->idx = now;
	mb(); /* the index before reading the device's suppression state */
	if (q->event_idx) {
		uint16_t ev = *avail_event(q);

		need = (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
	} else {
		need = !(q->used->flags & VIRTQ_USED_F_NO_NOTIFY);
	}
	q->kicked_idx = now;
	if (need)
		virtq_notify(q);
}

bool virtq_has_used(const struct virtq *q)
{
	return q->used->idx != q->last_used;
}

bool virtq_get(struct virtq *q, uint64_t *token, uint32_t *len)
{
	volatile struct virtq_used_elem *e;
	uint16_t d;

	if (!virtq_has_used(q))
		return false;
	barrier(); /* the index before the element (x86 keeps loads in order) */
	e = &q->used->ring[q->last_used & (q->size - 1)];
	d = e->id;
	*len = e->len;
	q->last_used++;
	if (d >= q->size) {
		*token = 0;
		return true;
	}
	*token = q->token[d];
	/* Free the chain; the bound stops at a loop a hostile test made. */
	for (unsigned int i = 0; i < q->size; i++) {
		uint16_t flags = q->desc[d].flags, next = q->desc[d].next;

		free_desc(q, d);
		if (!(flags & VIRTQ_DESC_F_NEXT) || next >= q->size)
			break;
		d = next;
	}
	if (q->interrupts && q->event_idx)
		*used_event(q) = q->last_used;
	return true;
}

void virtq_enable_irq(struct virtq *q, bool on)
{
	q->interrupts = on;
	q->avail->flags = on ? 0 : VIRTQ_AVAIL_F_NO_INTERRUPT;
	/* EVENT_IDX ignores the flag: aim used_event at the next completion or half a wrap away. */
	*used_event(q) = q->last_used + (on ? 0 : 0x8000);
	mb();
}

uint8_t lapic_id(void)
{
	return *(volatile uint32_t *)(LAPIC_BASE + LAPIC_ID) >> 24;
}

void lapic_eoi(void)
{
	*(volatile uint32_t *)(LAPIC_BASE + LAPIC_EOI) = 0;
}
