/* SPDX-License-Identifier: MIT */
/*
 * For virtio device tests without /dev/kvm: a hand-made struct vm (fake RAM,
 * buses, event loop, a PCI bus over ECAM with a fake interrupt host), and a
 * guest driver that reaches a virtio-pci device only through config space
 * and its BARs, as a real one would.  Queue 0 only; the rings live in fake
 * RAM.  Include after <cmocka.h>.
 */
#ifndef KVMINI_TEST_VIRTIO_HARNESS_H
#define KVMINI_TEST_VIRTIO_HARNESS_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "device.h"
#include "error.h"
#include "layout.h"
#include "opts.h"
#include "pci.h"
#include "util.h"
#include "virtio.h"
#include "virtqueue.h"
#include "vm.h"

#define H_RAM_SIZE	(1ULL << 20)
#define H_MMIO64_BASE	(4 * GIB)
#define H_MAX_VECTORS	64
#define H_VENDOR_VIRTIO 0x1af4
#define H_CAP_VENDOR	0x09

/* The transport's layout (virtio_pci.c), as the capabilities must describe it. */
#define H_REGS_BAR    4
#define H_MSIX_BAR    1
#define H_ISR_OFF     0x1000
#define H_DEVICE_OFF  0x2000
#define H_NOTIFY_OFF  0x3000
#define H_NOTIFY_MULT 4

/* The common configuration (virtio 1.2, 4.1.4.3). */
#define H_DFSELECT 0x00
#define H_DF	   0x04
#define H_GFSELECT 0x08
#define H_GF	   0x0c
#define H_MSIX	   0x10
#define H_NUMQ	   0x12
#define H_STATUS   0x14
#define H_Q_SELECT 0x16
#define H_Q_SIZE   0x18
#define H_Q_MSIX   0x1a
#define H_Q_ENABLE 0x1c
#define H_Q_NOFF   0x1e
#define H_Q_DESC   0x20
#define H_Q_AVAIL  0x28
#define H_Q_USED   0x30

/*
 * Where the driver keeps queue 0 of the device in slot s, in the top half of
 * fake RAM: descriptors, then the available and used rings 4 KiB apart.
 * Tests keep their buffers below H_RING_GPA.
 */
#define H_RING_GPA    0x80000ULL
#define H_RING_STRIDE 0x4000ULL
#define H_AVAIL_OFF   0x1000ULL
#define H_USED_OFF    0x2000ULL

/* What the PCI bus asked of the interrupt host. */
struct h_host {
	int line[PCI_NR_INTX_GSIS]; /* INTx level per shared line */
	unsigned int next_gsi;
	int fd[H_MAX_VECTORS]; /* MSI eventfd per GSI */
	unsigned int updates;
	unsigned int fail_alloc_at; /* make the Nth msi_alloc() fail; 0: never */
	unsigned int allocs;
};

struct harness {
	struct vm vm;
	struct vm_config cfg;
	struct pci_bus pci;
	struct h_host host;
	uint8_t *ram;
};

static inline void h_set_intx(void *opaque, unsigned int gsi, bool level)
{
	struct h_host *host = opaque;

	assert_in_range(gsi, PCI_INTX_GSI_BASE, PCI_INTX_GSI_BASE + PCI_NR_INTX_GSIS - 1);
	host->line[gsi - PCI_INTX_GSI_BASE] = level;
}

static inline int h_msi_alloc(void *opaque, struct pci_msi_route *route)
{
	struct h_host *host = opaque;

	if (++host->allocs == host->fail_alloc_at || host->next_gsi == H_MAX_VECTORS)
		return -ENOSPC;
	route->gsi = host->next_gsi++;
	route->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (route->fd < 0)
		return -errno;
	host->fd[route->gsi] = route->fd;
	return 0;
}

static inline int h_msi_update(void *opaque, struct pci_msi_route *route, uint64_t addr,
			       uint32_t data)
{
	struct h_host *host = opaque;

	(void)route, (void)addr, (void)data;
	host->updates++;
	return 0;
}

static inline void h_msi_free(void *opaque, struct pci_msi_route *route)
{
	struct h_host *host = opaque;

	host->fd[route->gsi] = -1;
	close(route->fd);
}

static const struct pci_host_ops h_host_ops = {
	.set_intx = h_set_intx,
	.msi_alloc = h_msi_alloc,
	.msi_update = h_msi_update,
	.msi_free = h_msi_free,
};

static const struct pci_windows h_windows = {
	.mmio32_base = PCI_MMIO_BASE,
	.mmio32_end = PCI_ECAM_BASE,
	.mmio64_base = H_MMIO64_BASE,
	.mmio64_end = H_MMIO64_BASE + 8 * GIB,
	.io_base = PCI_IO_BASE,
	.io_end = PCI_IO_END,
};

/* The eventfd's count, consumed (0 if it was not signalled). */
static inline uint64_t h_eventfd_count(int fd)
{
	eventfd_t v = 0;

	return eventfd_read(fd, &v) ? 0 : v;
}

static inline struct harness *h_create(void)
{
	struct harness *h = test_calloc(1, sizeof(*h));
	struct vm *vm;

	if (!h)
		return NULL;
	vm = &h->vm;
	vm->kvm_fd = vm->vm_fd = vm->signal_fd = -1;
	vm->cfg = &h->cfg;
	memset(h->host.fd, 0xff, sizeof(h->host.fd));
	h->ram = test_malloc(H_RAM_SIZE);
	if (!h->ram)
		return NULL;
	memset(h->ram, 0, H_RAM_SIZE);
	if (guest_mem_add(&vm->mem, 0, H_RAM_SIZE, h->ram) || bus_init(&vm->pio, "pio") ||
	    bus_init(&vm->mmio, "mmio") || event_loop_init(&vm->loop))
		return NULL;
	pci_bus_init(&h->pci, &vm->pio, &vm->mmio, &h_windows, &h_host_ops, &h->host);
	vm->pci = &h->pci;
	if (bus_register(&vm->mmio, PCI_ECAM_BASE, PCI_ECAM_SIZE, &pci_ecam_ops, &h->pci))
		return NULL;
	return h;
}

/* Tear down as vm_destroy() does, without the KVM parts; removes the drives' files. */
static inline void h_destroy(struct harness *h)
{
	struct vm *vm = &h->vm;

	while (vm->nr_cleanups) {
		struct vm_cleanup *c = &vm->cleanups[--vm->nr_cleanups];

		c->fn(c->opaque);
	}
	event_loop_destroy(&vm->loop);
	pci_bus_destroy(&h->pci);
	bus_destroy(&vm->mmio);
	bus_destroy(&vm->pio);
	for (unsigned int i = 0; i < h->cfg.nr_drives; i++) {
		unlink(h->cfg.drives[i].file);
		drive_free(&h->cfg.drives[i]);
	}
	test_free(h->ram);
	test_free(h);
}

/* An if=none raw drive @id on a new temp file of @size bytes.  Its config, to adjust. */
static inline struct drive_config *h_add_drive(struct harness *h, const char *id, uint64_t size)
{
	struct drive_config *d = &h->cfg.drives[h->cfg.nr_drives];
	char path[] = "/tmp/kvmini-vblk-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
	h->cfg.nr_drives++;
	d->file = strdup(path);
	d->format = strdup("raw");
	d->id = strdup(id);
	assert_non_null(d->file);
	assert_non_null(d->format);
	assert_non_null(d->id);
	d->iface = DRIVE_IF_NONE;
	return d;
}

/* -device @arg, as vm_add_devices() does it.  0 or -errno. */
static inline int h_device(struct harness *h, const char *arg)
{
	const struct device_driver *drv;
	struct opts o;
	int ret = opts_parse(&o, arg, "driver");

	if (ret)
		return ret;
	drv = device_find(opts_get(&o, "driver"));
	assert_non_null(drv);
	ret = drv->create(&h->vm, &o);
	if (!ret)
		assert_null(opts_unused(&o));
	opts_free(&o);
	return ret;
}

static inline void *h_ptr(struct harness *h, uint64_t gpa)
{
	assert_true(gpa < H_RAM_SIZE);
	return h->ram + gpa;
}

static inline uint32_t h_cfg_read(struct harness *h, unsigned int slot, unsigned int reg,
				  unsigned int len)
{
	uint32_t v = 0;

	assert_true(bus_read(&h->vm.mmio, PCI_ECAM_BASE + ((uint64_t)slot << 15 | reg), &v, len));
	return v;
}

static inline void h_cfg_write(struct harness *h, unsigned int slot, unsigned int reg, uint32_t v,
			       unsigned int len)
{
	assert_true(bus_write(&h->vm.mmio, PCI_ECAM_BASE + ((uint64_t)slot << 15 | reg), &v, len));
}

/* The slot of the @nth (from 0) device with vendor:device 1af4:@device_id, or -1. */
static inline int h_find(struct harness *h, uint16_t device_id, unsigned int nth)
{
	for (unsigned int s = 0; s < PCI_NR_SLOTS; s++) {
		if (h_cfg_read(h, s, PCI_VENDOR_ID, 4) ==
			    ((uint32_t)device_id << 16 | H_VENDOR_VIRTIO) &&
		    !nth--)
			return (int)s;
	}
	return -1;
}

/* The config-space offset of the @nth capability with @id, or 0. */
static inline unsigned int h_find_cap(struct harness *h, unsigned int slot, uint8_t id,
				      unsigned int nth)
{
	unsigned int at = h_cfg_read(h, slot, PCI_CAPABILITY_LIST, 1), guard = 0;

	for (; at && guard < 48; guard++) {
		if (h_cfg_read(h, slot, at, 1) == id && !nth--)
			return at;
		at = h_cfg_read(h, slot, at + 1, 1);
	}
	return 0;
}

/* A guest driver's view of one virtio-pci function and its queue 0. */
struct vdev {
	struct harness *h;
	unsigned int slot;
	uint64_t regs; /* BAR 4 */
	uint64_t msix; /* BAR 1 */
	unsigned int msix_cap;
	uint64_t ring; /* queue 0: descriptors here, the rings at H_AVAIL_OFF and H_USED_OFF */
	uint16_t qsize;
	uint16_t next_desc, used_seen;
};

/* Turn on memory decoding and bus mastering, and find the BARs. */
static inline void vdev_open(struct vdev *v, struct harness *h, int slot)
{
	assert_true(slot >= 0);
	memset(v, 0, sizeof(*v));
	v->h = h;
	v->slot = (unsigned int)slot;
	v->ring = H_RING_GPA + v->slot * H_RING_STRIDE;
	h_cfg_write(h, v->slot, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	v->msix = h_cfg_read(h, v->slot, PCI_BAR0 + 4 * H_MSIX_BAR, 4) & ~0xfULL;
	v->regs = (h_cfg_read(h, v->slot, PCI_BAR0 + 4 * H_REGS_BAR, 4) & ~0xfULL) |
		  (uint64_t)h_cfg_read(h, v->slot, PCI_BAR0 + 4 * H_REGS_BAR + 4, 4) << 32;
	v->msix_cap = h_find_cap(h, v->slot, PCI_CAP_ID_MSIX, 0);
	assert_true(v->msix && v->regs && v->msix_cap);
}

static inline uint64_t vr_read(struct vdev *v, uint64_t off, unsigned int len)
{
	uint64_t val = 0;

	assert_true(bus_read(&v->h->vm.mmio, v->regs + off, &val, len));
	return val;
}

static inline void vr_write(struct vdev *v, uint64_t off, uint64_t val, unsigned int len)
{
	assert_true(bus_write(&v->h->vm.mmio, v->regs + off, &val, len));
}

static inline uint64_t vdev_features(struct vdev *v)
{
	uint64_t f;

	vr_write(v, H_DFSELECT, 0, 4);
	f = vr_read(v, H_DF, 4);
	vr_write(v, H_DFSELECT, 1, 4);
	return f | vr_read(v, H_DF, 4) << 32;
}

static inline void vdev_set_features(struct vdev *v, uint64_t f)
{
	vr_write(v, H_GFSELECT, 0, 4);
	vr_write(v, H_GF, (uint32_t)f, 4);
	vr_write(v, H_GFSELECT, 1, 4);
	vr_write(v, H_GF, f >> 32, 4);
}

/* Reset, negotiate @features; true when FEATURES_OK stuck. */
static inline bool vdev_negotiate(struct vdev *v, uint64_t features)
{
	vr_write(v, H_STATUS, 0, 1);
	assert_int_equal(vr_read(v, H_STATUS, 1), 0);
	vr_write(v, H_STATUS, VIRTIO_STATUS_ACKNOWLEDGE, 1);
	vr_write(v, H_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	vdev_set_features(v, features);
	vr_write(v, H_STATUS,
		 VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK, 1);
	return vr_read(v, H_STATUS, 1) & VIRTIO_STATUS_FEATURES_OK;
}

/* Start-up (3.1.1) up to DRIVER_OK: reset, VERSION_1 (+ @extra), queue 0 of @qsize enabled. */
static inline void vdev_setup(struct vdev *v, uint64_t extra, uint16_t qsize)
{
	struct harness *h = v->h;

	assert_true(vdev_negotiate(v, 1ULL << VIRTIO_F_VERSION_1 | extra));
	memset(h_ptr(h, v->ring), 0, H_RING_STRIDE);
	v->qsize = qsize;
	v->next_desc = v->used_seen = 0;
	vr_write(v, H_Q_SELECT, 0, 2);
	vr_write(v, H_Q_SIZE, qsize, 2);
	vr_write(v, H_Q_DESC, v->ring, 4); /* as two halves, like Linux */
	vr_write(v, H_Q_DESC + 4, v->ring >> 32, 4);
	vr_write(v, H_Q_AVAIL, v->ring + H_AVAIL_OFF, 8);
	vr_write(v, H_Q_USED, v->ring + H_USED_OFF, 8);
	vr_write(v, H_Q_ENABLE, 1, 2);
	assert_int_equal(vr_read(v, H_Q_ENABLE, 2), 1);
}

static inline void vdev_driver_ok(struct vdev *v)
{
	vr_write(v, H_STATUS,
		 VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			 VIRTIO_STATUS_DRIVER_OK,
		 1);
	assert_int_equal(vr_read(v, H_STATUS, 1), 0x0f);
}

static inline void vdev_start(struct vdev *v, uint64_t extra, uint16_t qsize)
{
	vdev_setup(v, extra, qsize);
	vdev_driver_ok(v);
}

static inline struct virtq_desc *vdev_desc(struct vdev *v)
{
	return h_ptr(v->h, v->ring);
}

static inline struct virtq_avail *vdev_avail(struct vdev *v)
{
	return h_ptr(v->h, v->ring + H_AVAIL_OFF);
}

static inline struct virtq_used *vdev_used(struct vdev *v)
{
	return h_ptr(v->h, v->ring + H_USED_OFF);
}

/* One buffer of a chain. */
struct vbuf {
	uint64_t gpa;
	uint32_t len;
	bool write; /* device-writable */
};

/* Write a descriptor chain for @bufs and make it available.  Its head. */
static inline uint16_t vdev_add(struct vdev *v, const struct vbuf *bufs, unsigned int n)
{
	struct virtq_desc *desc = vdev_desc(v);
	struct virtq_avail *avail = vdev_avail(v);
	uint16_t head = v->next_desc;

	for (unsigned int i = 0; i < n; i++) {
		uint16_t d = v->next_desc;

		v->next_desc = (uint16_t)((v->next_desc + 1) % v->qsize);
		desc[d] = (struct virtq_desc){
			.addr = bufs[i].gpa,
			.len = bufs[i].len,
			.flags = (uint16_t)((bufs[i].write ? VIRTQ_DESC_F_WRITE : 0) |
					    (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
			.next = i + 1 < n ? v->next_desc : 0,
		};
	}
	avail->ring[avail->idx % v->qsize] = head;
	avail->idx++;
	return head;
}

static inline void vdev_kick(struct vdev *v)
{
	vr_write(v, H_NOTIFY_OFF + 0 * H_NOTIFY_MULT, 0, 2);
}

/* Run the I/O thread's loop until @count more chains are used; false if they never are. */
static inline bool vdev_wait(struct vdev *v, uint16_t count)
{
	volatile struct virtq_used *used = vdev_used(v);

	for (int i = 0; i < 100 && (uint16_t)(used->idx - v->used_seen) < count; i++)
		event_loop_poll(&v->h->vm.loop, 100);
	return (uint16_t)(used->idx - v->used_seen) >= count;
}

/* Drain the loop a little without expecting anything (to check nothing came). */
static inline void vdev_settle(struct vdev *v)
{
	for (int i = 0; i < 5; i++)
		event_loop_poll(&v->h->vm.loop, 20);
}

/* The next used element: it must be for @head.  Its length. */
static inline uint32_t vdev_take(struct vdev *v, uint16_t head)
{
	struct virtq_used *used = vdev_used(v);
	struct virtq_used_elem *e = &used->ring[v->used_seen % v->qsize];

	assert_int_not_equal(used->idx, v->used_seen);
	assert_int_equal(e->id, head);
	v->used_seen++;
	return e->len;
}

/* Submit @bufs, kick, wait for the chain to come back.  The used length. */
static inline uint32_t vdev_run(struct vdev *v, const struct vbuf *bufs, unsigned int n)
{
	uint16_t head = vdev_add(v, bufs, n);

	vdev_kick(v);
	assert_true(vdev_wait(v, 1));
	return vdev_take(v, head);
}

static inline uint32_t vmsix_read(struct vdev *v, uint64_t off)
{
	uint32_t val = 0;

	assert_true(bus_read(&v->h->vm.mmio, v->msix + off, &val, 4));
	return val;
}

static inline void vmsix_write(struct vdev *v, uint64_t off, uint32_t val)
{
	assert_true(bus_write(&v->h->vm.mmio, v->msix + off, &val, 4));
}

#endif
