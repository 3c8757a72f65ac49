/* SPDX-License-Identifier: MIT */
/*
 * Driver side of virtio 1.2 over the modern PCI transport (4.1) with split
 * virtqueues (2.7).  Everything but virtio_pci_probe() and the interrupt
 * wait works at CPL3 as well as CPL0, so hot loops can run natively.
 */
#ifndef KVMINI_GUEST_VIRTIO_H
#define KVMINI_GUEST_VIRTIO_H

#include "pci.h"

#define VIRTIO_PCI_VENDOR	0x1af4
#define VIRTIO_PCI_MODERN_BASE	0x1040 /* + device type */
#define VIRTIO_PCI_LEGACY_FIRST 0x1000 /* transitional: type = subsystem ID */
#define VIRTIO_PCI_LEGACY_LAST	0x103f
#define VIRTIO_TYPE_BLOCK	2

/* device_status */
#define VIRTIO_STATUS_ACK	  0x01
#define VIRTIO_STATUS_DRIVER	  0x02
#define VIRTIO_STATUS_DRIVER_OK	  0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED	  0x80

/* Transport feature bits */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32
#define VIRTIO_BIT(b)	       (1ULL << (b))

#define VIRTIO_MSI_NO_VECTOR 0xffff

/* Split virtqueue layout (2.7) */
#define VIRTQ_DESC_F_NEXT	   1
#define VIRTQ_DESC_F_WRITE	   2
#define VIRTQ_DESC_F_INDIRECT	   4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	   1

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; /* then used_event */
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[]; /* then avail_event */
};

#define VIRTQ_MAX_SIZE	   256
#define VIRTQ_INDIRECT_MAX 32 /* entries in each per-slot indirect table */

struct virtq {
	uint16_t index, size;
	volatile struct virtq_desc *desc;
	volatile struct virtq_avail *avail;
	volatile struct virtq_used *used;
	volatile uint16_t *notify;
	struct virtq_desc *indirect; /* size tables of VIRTQ_INDIRECT_MAX, or NULL */
	uint64_t *token;	     /* per head */
	uint16_t free_head, num_free;
	uint16_t avail_idx;  /* next avail slot (shadow of avail->idx) */
	uint16_t kicked_idx; /* avail_idx at the last kick */
	uint16_t last_used;
	bool event_idx;
	bool interrupts;
};

/* One buffer of a chain; device-writable ones follow the readable ones. */
struct virtq_buf {
	uint64_t addr;
	uint32_t len;
	bool write;
};

#define VIRTIO_MAX_QUEUES 4

struct virtio_dev {
	struct pci_dev pci;
	uint16_t type;
	volatile uint8_t *common, *isr, *devcfg, *notify_base;
	uint32_t notify_mult;
	unsigned int msix_cap;
	uint16_t msix_entries;
	volatile uint32_t *msix_table;
	uint64_t features; /* negotiated */
	unsigned int nr_vqs;
	struct virtq vq[VIRTIO_MAX_QUEUES];
};

/*
 * CPL0 only: find the @nth virtio-pci device of @type (modern or
 * transitional ID), enable it (pci_enable) and locate its capabilities.
 * 0, -ENODEV or -errno.
 */
int virtio_pci_probe(struct virtio_dev *vd, uint16_t type, unsigned int nth);

uint8_t virtio_get_status(struct virtio_dev *vd);
void virtio_set_status(struct virtio_dev *vd, uint8_t status);
/* Write 0 and wait up to @ticks of the TSC for it to read back 0.  0 or -ETIMEDOUT. */
int virtio_reset(struct virtio_dev *vd, uint64_t ticks);
uint64_t virtio_device_features(struct virtio_dev *vd);
/*
 * Reset, ACKNOWLEDGE, DRIVER, accept device features & @wanted, FEATURES_OK
 * and check it stuck.  -ENOTSUP without VERSION_1, -EIO if FEATURES_OK did
 * not stick (status FAILED is set then).
 */
int virtio_init(struct virtio_dev *vd, uint64_t wanted);
/*
 * Set up queue @idx with at most @max_size entries (0: the device's size,
 * capped at VIRTQ_MAX_SIZE); @msix_vector VIRTIO_MSI_NO_VECTOR polls.
 * Ring memory comes from mm_alloc (zero it from CPL3 if large).  0 or -errno.
 */
int virtio_setup_queue(struct virtio_dev *vd, unsigned int idx, uint16_t max_size,
		       uint16_t msix_vector);
void virtio_driver_ok(struct virtio_dev *vd);
/* 8-, 16- and 32-bit reads of the device-specific configuration. */
uint32_t virtio_cfg_read(struct virtio_dev *vd, unsigned int off, unsigned int size);
uint64_t virtio_cfg_read64(struct virtio_dev *vd, unsigned int off);

/*
 * MSI-X: enable the capability with every entry masked but @entry, which
 * gets an interrupt for @vector to local APIC @apic_id.  0 or -ENODEV.
 */
int virtio_msix_setup(struct virtio_dev *vd, unsigned int entry, uint8_t apic_id, uint8_t vector);

/*
 * Add a chain of @n buffers (readable first, then writable) as one request;
 * @indirect puts it in the head slot's indirect table (one ring slot).
 * Returns the head, or -ENOSPC / -EINVAL.  Not visible to the device until
 * virtq_kick().
 */
int virtq_add(struct virtq *q, const struct virtq_buf *bufs, unsigned int n, bool indirect,
	      uint64_t token);
/* Publish what was added and notify the device unless it asked not to be. */
void virtq_kick(struct virtio_dev *vd, struct virtq *q);
/* Notify the device unconditionally. */
void virtq_notify(struct virtq *q);
/* Take one used element: true with *token and *len set, false if none. */
bool virtq_get(struct virtq *q, uint64_t *token, uint32_t *len);
bool virtq_has_used(const struct virtq *q);
/* Ask for used-buffer interrupts (EVENT_IDX: at the next completion) or not. */
void virtq_enable_irq(struct virtq *q, bool on);

/* Low-level access for malformed chains (blk-hostile): take a free descriptor, publish a head. */
int virtq_alloc_desc(struct virtq *q);
void virtq_publish(struct virtq *q, uint16_t head);

/* Local APIC: the ID of this CPU and the EOI for MSI-X handlers. */
uint8_t lapic_id(void);
void lapic_eoi(void);

#endif
