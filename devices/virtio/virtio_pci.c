// SPDX-License-Identifier: MIT
/*
 * The virtio-pci modern transport (virtio 1.2, 4.1): vendor capabilities
 * pointing into one 64-bit BAR (common configuration, ISR, device
 * configuration, notifications) and MSI-X in a 32-bit BAR, the layout QEMU
 * uses, so drivers see nothing unusual.  Notifications are KVM ioeventfds
 * on the queue's notify address while BAR 4 decodes; a write that still
 * reaches us (another width, or no ioeventfd) signals the same eventfd.
 * Interrupts go out through MSI-X, or INTx and the ISR when MSI-X is off.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "error.h"
#include "pci.h"
#include "snapshot.h"
#include "util.h"
#include "virtio.h"
#include "vm.h"

#define VENDOR_ID_VIRTIO  0x1af4
#define DEVICE_ID_MODERN  0x1040 /* + the device type */
#define PCI_CAP_ID_VENDOR 0x09

/* The capability types (4.1.4) and where each structure sits in BAR 4. */
enum {
	CFG_COMMON = 1,
	CFG_NOTIFY = 2,
	CFG_ISR = 3,
	CFG_DEVICE = 4,
};

#define MSIX_BAR       1
#define MSIX_BAR_SIZE  0x1000
#define MSIX_PBA       0x800
#define REGS_BAR       4
#define REGS_BAR_SIZE  0x4000
#define COMMON_OFF     0x0000
#define COMMON_SIZE    0x38
#define ISR_OFF	       0x1000
#define DEVICE_OFF     0x2000
#define NOTIFY_OFF     0x3000
#define NOTIFY_MULT    4 /* bytes between queues' notify addresses */
#define REGION_SIZE    0x1000
#define NOTIFY_LEN     2 /* the driver writes the queue index as 16 bits */
#define VIRTIO_CAP_LEN 16
#define NOTIFY_CAP_LEN 20

/* The common configuration structure (4.1.4.3). */
enum {
	COMMON_DFSELECT = 0x00,
	COMMON_DF = 0x04,
	COMMON_GFSELECT = 0x08,
	COMMON_GF = 0x0c,
	COMMON_MSIX = 0x10,
	COMMON_NUMQ = 0x12,
	COMMON_STATUS = 0x14,
	COMMON_CFGGEN = 0x15,
	COMMON_Q_SELECT = 0x16,
	COMMON_Q_SIZE = 0x18,
	COMMON_Q_MSIX = 0x1a,
	COMMON_Q_ENABLE = 0x1c,
	COMMON_Q_NOFF = 0x1e,
	COMMON_Q_DESC = 0x20,
	COMMON_Q_AVAIL = 0x28,
	COMMON_Q_USED = 0x30,
};

struct virtio_pci {
	struct pci_device pci;
	struct pci_msix msix;
	struct virtio_dev *vd;
	struct vm *vm;
	/* Under vd->lock. */
	uint32_t dfselect, gfselect;
	uint16_t queue_select;
	uint8_t isr;
	/* Under the PCI bus lock. */
	uint64_t notify_base; /* guest address of the notify region; 0: not decoded */
};

/* The common configuration as the driver sees it now.  vd->lock held. */
static void common_image(const struct virtio_pci *vp, uint8_t img[COMMON_SIZE])
{
	const struct virtio_dev *vd = vp->vd;
	const struct virtio_queue *q;

	memset(img, 0, COMMON_SIZE);
	put_le(img + COMMON_DFSELECT, vp->dfselect, 4);
	if (vp->dfselect < 2)
		put_le(img + COMMON_DF, vd->host_features >> (32 * vp->dfselect), 4);
	put_le(img + COMMON_GFSELECT, vp->gfselect, 4);
	if (vp->gfselect < 2)
		put_le(img + COMMON_GF, vd->driver_features >> (32 * vp->gfselect), 4);
	put_le(img + COMMON_MSIX, vd->config_vector, 2);
	put_le(img + COMMON_NUMQ, vd->ops->nr_queues, 2);
	img[COMMON_STATUS] = vd->status;
	img[COMMON_CFGGEN] = vd->config_generation;
	put_le(img + COMMON_Q_SELECT, vp->queue_select, 2);
	if (vp->queue_select >= vd->ops->nr_queues)
		return; /* a queue that does not exist has size 0 (4.1.4.3.1) */
	q = &vd->queues[vp->queue_select];
	put_le(img + COMMON_Q_SIZE, q->vq.size, 2);
	put_le(img + COMMON_Q_MSIX, q->vector, 2);
	put_le(img + COMMON_Q_ENABLE, q->enabled, 2);
	put_le(img + COMMON_Q_NOFF, vp->queue_select, 2);
	put_le(img + COMMON_Q_DESC, q->vq.desc_gpa, 8);
	put_le(img + COMMON_Q_AVAIL, q->vq.avail_gpa, 8);
	put_le(img + COMMON_Q_USED, q->vq.used_gpa, 8);
}

/* A vector the device has, or NO_VECTOR: the driver reads back what stuck (4.1.5.1.2). */
static uint16_t valid_vector(const struct virtio_pci *vp, uint64_t v)
{
	return v < vp->msix.nr ? (uint16_t)v : VIRTIO_NO_VECTOR;
}

static bool overlaps(uint64_t off, uint32_t len, unsigned int field, unsigned int size)
{
	return off < field + size && field < off + len;
}

/* Apply the fields a write of [off, off + len) touched, from @img.  vd->lock held. */
static void common_apply(struct virtio_pci *vp, const uint8_t *img, uint64_t off, uint32_t len)
{
	struct virtio_dev *vd = vp->vd;
	bool valid = vp->queue_select < vd->ops->nr_queues;
	/* The guest picks queue_select: index only when it names a queue. */
	struct virtio_queue *q = valid ? &vd->queues[vp->queue_select] : NULL;
	bool writable = valid && !q->enabled; /* queue fields are fixed once enabled */
	uint64_t v;

	if (overlaps(off, len, COMMON_DFSELECT, 4))
		vp->dfselect = (uint32_t)get_le(img + COMMON_DFSELECT, 4);
	if (overlaps(off, len, COMMON_GFSELECT, 4))
		vp->gfselect = (uint32_t)get_le(img + COMMON_GFSELECT, 4);
	if (overlaps(off, len, COMMON_GF, 4))
		virtio_set_driver_features(vd, vp->gfselect, (uint32_t)get_le(img + COMMON_GF, 4));
	if (overlaps(off, len, COMMON_MSIX, 2))
		vd->config_vector = valid_vector(vp, get_le(img + COMMON_MSIX, 2));
	if (overlaps(off, len, COMMON_Q_SELECT, 2))
		vp->queue_select = (uint16_t)get_le(img + COMMON_Q_SELECT, 2);
	if (overlaps(off, len, COMMON_Q_SIZE, 2) && writable) {
		v = get_le(img + COMMON_Q_SIZE, 2);
		/* Smaller powers of two only; anything else leaves the size alone. */
		if (v && v <= vd->ops->queue_size && !(v & (v - 1)))
			q->vq.size = (uint16_t)v;
	}
	if (overlaps(off, len, COMMON_Q_MSIX, 2) && valid)
		q->vector = valid_vector(vp, get_le(img + COMMON_Q_MSIX, 2));
	if (overlaps(off, len, COMMON_Q_DESC, 8) && writable)
		q->vq.desc_gpa = get_le(img + COMMON_Q_DESC, 8);
	if (overlaps(off, len, COMMON_Q_AVAIL, 8) && writable)
		q->vq.avail_gpa = get_le(img + COMMON_Q_AVAIL, 8);
	if (overlaps(off, len, COMMON_Q_USED, 8) && writable)
		q->vq.used_gpa = get_le(img + COMMON_Q_USED, 8);
	if (overlaps(off, len, COMMON_Q_ENABLE, 2) && valid &&
	    get_le(img + COMMON_Q_ENABLE, 2) == 1)
		virtio_queue_enable(vd, vp->queue_select);
	/* Last: a reset must see the fields written with it as the old state. */
	if (overlaps(off, len, COMMON_STATUS, 1))
		virtio_set_status(vd, img[COMMON_STATUS]);
}

static void isr_read(struct virtio_pci *vp, void *data, uint32_t len)
{
	uint8_t *out = data;

	memset(data, 0, len);
	out[0] = vp->isr; /* reading clears it and lowers INTx (4.1.4.5) */
	vp->isr = 0;
	pci_set_intx(&vp->pci, false);
}

static void regs_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct virtio_pci *vp = opaque;
	struct virtio_dev *vd = vp->vd;
	uint8_t img[COMMON_SIZE];

	memset(data, 0, len);
	pthread_mutex_lock(&vd->lock);
	if (off + len <= COMMON_SIZE) {
		common_image(vp, img);
		memcpy(data, img + off, len);
	} else if (off >= ISR_OFF && off < ISR_OFF + REGION_SIZE) {
		isr_read(vp, data, len);
	} else if (off >= DEVICE_OFF && off - DEVICE_OFF + len <= vd->config_size) {
		memcpy(data, vd->config + (off - DEVICE_OFF), len);
	}
	pthread_mutex_unlock(&vd->lock);
}

static void regs_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct virtio_pci *vp = opaque;
	struct virtio_dev *vd = vp->vd;
	uint8_t img[COMMON_SIZE];
	uint64_t q;

	if (off >= NOTIFY_OFF && off < NOTIFY_OFF + REGION_SIZE) {
		/* No ioeventfd caught it: same path, one exit later. */
		q = (off - NOTIFY_OFF) / NOTIFY_MULT;
		if (q < vd->ops->nr_queues)
			eventfd_write(vd->queues[q].kick_fd, 1);
		return;
	}
	if (off + len > COMMON_SIZE)
		return; /* ISR and device configuration are read-only here */
	pthread_mutex_lock(&vd->lock);
	common_image(vp, img);
	memcpy(img + off, data, len);
	common_apply(vp, img, off, len);
	pthread_mutex_unlock(&vd->lock);
}

static const struct bus_ops regs_ops = {
	.read = regs_read,
	.write = regs_write,
};

/* Called by the core with vd->lock held. */
static void transport_interrupt(void *opaque, uint16_t vector, bool config)
{
	struct virtio_pci *vp = opaque;

	if (pci_msix_enabled(&vp->msix)) {
		if (vector != VIRTIO_NO_VECTOR)
			pci_msix_notify(&vp->msix, vector);
		return;
	}
	vp->isr |= config ? 2 : 1;
	pci_set_intx(&vp->pci, true);
}

static void transport_reset(void *opaque)
{
	struct virtio_pci *vp = opaque;

	vp->isr = 0;
	vp->dfselect = vp->gfselect = 0;
	vp->queue_select = 0;
	pci_set_intx(&vp->pci, false);
}

static const struct virtio_transport_ops transport_ops = {
	.interrupt = transport_interrupt,
	.reset = transport_reset,
};

/* Follow BAR 4 with the queues' ioeventfds.  PCI bus lock held. */
static void vp_bar_moved(struct pci_device *dev, unsigned int bar, uint64_t addr)
{
	struct virtio_pci *vp = container_of(dev, struct virtio_pci, pci);
	struct virtio_dev *vd = vp->vd;

	if (bar != REGS_BAR)
		return;
	for (unsigned int q = 0; q < vd->ops->nr_queues; q++) {
		uint64_t off = NOTIFY_OFF + (uint64_t)q * NOTIFY_MULT;

		if (vp->notify_base)
			kvm_ioeventfd(vp->vm, vp->notify_base + off, NOTIFY_LEN,
				      vd->queues[q].kick_fd, false);
		/* Without one, the notify write comes to regs_write(): slower, still right. */
		if (addr)
			kvm_ioeventfd(vp->vm, addr + off, NOTIFY_LEN, vd->queues[q].kick_fd, true);
	}
	vp->notify_base = addr;
}

static void vp_config_write(struct pci_device *dev, unsigned int offset, unsigned int len)
{
	struct virtio_pci *vp = container_of(dev, struct virtio_pci, pci);

	pci_msix_config_write(&vp->msix, offset, len);
}

static const struct pci_device_ops vp_pci_ops = {
	.config_write = vp_config_write,
	.bar_moved = vp_bar_moved,
};

/* The transport's registers, then MSI-X, then the device. */
struct transport_state {
	uint32_t dfselect, gfselect;
	uint16_t queue_select;
	uint8_t isr, pad;
};

static void vp_save(void *opaque, struct snap_buf *out)
{
	struct virtio_pci *vp = opaque;
	struct transport_state ts;

	pthread_mutex_lock(&vp->vd->lock);
	ts = (struct transport_state){
		.dfselect = vp->dfselect,
		.gfselect = vp->gfselect,
		.queue_select = vp->queue_select,
		.isr = vp->isr,
	};
	snap_buf_put(out, &ts, sizeof(ts));
	pci_msix_save(&vp->msix, out);
	virtio_dev_save(vp->vd, out);
	pthread_mutex_unlock(&vp->vd->lock);
}

static int vp_load(void *opaque, const uint8_t *data, size_t len)
{
	struct virtio_pci *vp = opaque;
	struct snap_cursor c = { data, len, false };
	struct transport_state ts;
	int ret;

	snap_take(&c, &ts, sizeof(ts));
	if (c.bad)
		return err_set(EINVAL, "the saved virtio-pci registers are malformed");
	pthread_mutex_lock(&vp->vd->lock);
	ret = pci_msix_load(&vp->msix, &c);
	if (!ret)
		ret = virtio_dev_load(vp->vd, &c); /* resets the transport's registers */
	if (!ret && c.left)
		ret = err_set(EINVAL, "the saved %s state is malformed", vp->vd->ops->name);
	if (!ret) {
		vp->dfselect = ts.dfselect;
		vp->gfselect = ts.gfselect;
		vp->queue_select = ts.queue_select;
		vp->isr = ts.isr;
		/* An interrupt the driver had not read yet is still asserted. */
		if (vp->isr && !pci_msix_enabled(&vp->msix))
			pci_set_intx(&vp->pci, true);
	}
	pthread_mutex_unlock(&vp->vd->lock);
	return ret;
}

static const struct vm_state_ops vp_state_ops = {
	.save = vp_save,
	.load = vp_load,
};

/* A virtio_pci_cap (4.1.4) for the structure of @type at [off, off + len) of BAR 4. */
static int add_virtio_cap(struct pci_device *dev, uint8_t type, uint32_t off, uint32_t len,
			  unsigned int cap_len)
{
	int at = pci_add_capability(dev, PCI_CAP_ID_VENDOR, cap_len);

	if (at < 0)
		return at;
	dev->config[at + 2] = (uint8_t)cap_len;
	dev->config[at + 3] = type;
	dev->config[at + 4] = REGS_BAR;
	put_le(dev->config + at + 8, off, 4);
	put_le(dev->config + at + 12, len, 4);
	return at;
}

static int add_caps(struct virtio_pci *vp)
{
	struct pci_device *dev = &vp->pci;
	uint32_t notify_len = vp->vd->ops->nr_queues * NOTIFY_MULT;
	int ret, notify;

	ret = add_virtio_cap(dev, CFG_COMMON, COMMON_OFF, COMMON_SIZE, VIRTIO_CAP_LEN);
	if (ret >= 0)
		ret = add_virtio_cap(dev, CFG_ISR, ISR_OFF, 1, VIRTIO_CAP_LEN);
	if (ret >= 0 && vp->vd->config_size)
		ret = add_virtio_cap(dev, CFG_DEVICE, DEVICE_OFF, vp->vd->config_size,
				     VIRTIO_CAP_LEN);
	if (ret < 0)
		return ret;
	notify = add_virtio_cap(dev, CFG_NOTIFY, NOTIFY_OFF, notify_len, NOTIFY_CAP_LEN);
	if (notify < 0)
		return notify;
	put_le(dev->config + notify + VIRTIO_CAP_LEN, NOTIFY_MULT, 4);
	return 0;
}

static void virtio_pci_free(void *opaque)
{
	struct virtio_pci *vp = opaque;

	pci_msix_destroy(&vp->msix);
	free(vp);
}

int virtio_pci_create(struct vm *vm, struct virtio_dev *vd)
{
	const struct virtio_device_ops *ops = vd->ops;
	struct pci_device_info info = {
		.vendor_id = VENDOR_ID_VIRTIO,
		.device_id = (uint16_t)(DEVICE_ID_MODERN + ops->device_id),
		.subsystem_vendor_id = VENDOR_ID_VIRTIO,
		.subsystem_id = DEVICE_ID_MODERN + ops->device_id,
		.class_code = ops->pci_class,
		.revision = 1, /* modern-only devices have revision 1 or more (4.1.2.1) */
		.interrupt_pin = 1,
		.bars = {
			[MSIX_BAR] = { PCI_BAR_MEM32, MSIX_BAR_SIZE, false },
			[REGS_BAR] = { PCI_BAR_MEM64, REGS_BAR_SIZE, true },
		},
	};
	struct virtio_pci *vp = calloc(1, sizeof(*vp));
	int ret;

	if (!vp)
		return -ENOMEM;
	vp->vd = vd;
	vp->vm = vm;
	ret = pci_device_init(&vp->pci, &vp_pci_ops, &info);
	if (!ret)
		ret = add_caps(vp);
	if (ret) {
		free(vp);
		return ret;
	}
	pci_set_bar_handler(&vp->pci, MSIX_BAR, &pci_msix_bar_ops, &vp->msix);
	pci_set_bar_handler(&vp->pci, REGS_BAR, &regs_ops, vp);
	/* MSI routes come from the bus's host; on the bus only once nothing else can fail. */
	vp->pci.bus = vm->pci;
	/* One vector per queue and one for configuration changes, as Linux asks. */
	ret = pci_msix_init(&vp->msix, &vp->pci, ops->nr_queues + 1, MSIX_BAR, 0, MSIX_PBA);
	if (!ret)
		ret = vm_add_cleanup(vm, virtio_pci_free, vp);
	if (ret) {
		virtio_pci_free(vp);
		return ret;
	}
	virtio_set_transport(vd, &transport_ops, vp);
	/* On failure vp stays with the VM's cleanups: nothing points at it. */
	ret = pci_bus_add(vm->pci, &vp->pci);
	if (!ret) {
		char name[SNAP_DEV_NAME_LEN];

		snprintf(name, sizeof(name), "%s@00:%02x.0", ops->name, vp->pci.devfn >> 3);
		ret = vm_register_state(vm, name, &vp_state_ops, vp);
	}
	return ret;
}
