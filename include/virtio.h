/* SPDX-License-Identifier: MIT */
/*
 * Virtio 1.x devices (devices/virtio/): the transport-independent core.  A
 * device model (virtio-blk, virtio-rng) embeds struct virtio_dev and fills a
 * struct virtio_device_ops; a transport (virtio-pci) moves the driver's
 * register accesses into it and carries interrupts out.  The core owns the
 * status state machine, feature negotiation, the queues, and the error
 * state: a driver that breaks a queue's rules gets NEEDS_RESET, once logged,
 * and the VM goes on.
 *
 * Threads: vCPUs reach the device through the transport; queue work runs on
 * the I/O thread (the event loop).  vd->lock serialises both; every ops
 * callback is called with it held.
 */
#ifndef KVMINI_VIRTIO_H
#define KVMINI_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtqueue.h"

/* Device status (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER	  2
#define VIRTIO_STATUS_DRIVER_OK	  4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED	  0x80

/* Reserved feature bits (6). */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX	    29
#define VIRTIO_F_VERSION_1	    32

#define VIRTIO_MAX_QUEUES 8
#define VIRTIO_NO_VECTOR  0xffff

/* Device types (5). */
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_RNG	4

struct virtio_dev;
struct event_loop;
struct vm;

struct virtio_device_ops {
	const char *name;   /* for messages: "virtio-blk" */
	uint16_t device_id; /* VIRTIO_ID_* */
	uint32_t pci_class; /* for transports that have one */
	unsigned int nr_queues;
	uint16_t queue_size; /* the largest each queue takes */
	/* The driver made buffers available in queue @q (DRIVER_OK, queue ready). */
	void (*queue_notify)(struct virtio_dev *vd, unsigned int q);
	/* Optional: finish everything in flight, the device is being reset. */
	void (*reset)(struct virtio_dev *vd);
	/*
	 * Optional, for snapshots (the VM stopped, its I/O drained): the chains
	 * of queue @q the device took and has not used yet.  They are saved as
	 * not taken, so the restored device takes them again.
	 */
	unsigned int (*in_flight)(struct virtio_dev *vd, unsigned int q);
};

/* What the core asks of its transport. */
struct virtio_transport_ops {
	/* Interrupt the driver: used buffers in a queue on @vector, or a config change. */
	void (*interrupt)(void *opaque, uint16_t vector, bool config);
	/* The device is reset: forget interrupt state (ISR, pending INTx). */
	void (*reset)(void *opaque);
};

struct virtio_queue {
	struct virtq vq;
	uint16_t vector;
	bool enabled; /* queue_enable written */
	int kick_fd;  /* eventfd the driver's notifications arrive on */
	struct virtio_dev *vd;
};

struct virtio_dev {
	const struct virtio_device_ops *ops;
	const struct virtio_transport_ops *transport;
	void *transport_opaque;
	pthread_mutex_t lock;
	const struct guest_mem *mem;
	uint64_t host_features;
	uint64_t driver_features;
	uint8_t status;
	uint8_t config_generation;
	uint16_t config_vector;
	uint8_t *config; /* the device-specific configuration, little-endian */
	uint32_t config_size;
	struct virtio_queue queues[VIRTIO_MAX_QUEUES];
	bool error_logged;
	struct event_loop *loop;
};

/*
 * Set up @vd for @ops with @features (the device's own bits; the core adds
 * VERSION_1, RING_EVENT_IDX and RING_INDIRECT_DESC) and a config area of
 * @config_size bytes at @config, and watch the queues' notification
 * eventfds on @loop.  0 or -errno with err_set().
 */
int virtio_dev_init(struct virtio_dev *vd, const struct virtio_device_ops *ops, uint64_t features,
		    void *config, uint32_t config_size, const struct guest_mem *mem,
		    struct event_loop *loop);
void virtio_dev_destroy(struct virtio_dev *vd);
void virtio_set_transport(struct virtio_dev *vd, const struct virtio_transport_ops *ops,
			  void *opaque);

/* For transports, with vd->lock held. */
void virtio_set_status(struct virtio_dev *vd, uint8_t status);
void virtio_set_driver_features(struct virtio_dev *vd, unsigned int word, uint32_t value);
/* queue_enable: start queue @q from the addresses the driver wrote. */
void virtio_queue_enable(struct virtio_dev *vd, unsigned int q);

static inline bool virtio_has_feature(const struct virtio_dev *vd, unsigned int bit)
{
	return vd->driver_features >> bit & 1;
}

/*
 * Snapshots, with vd->lock held: the negotiation, configuration and every
 * queue's rings and positions.  Load resets the device first, checks what
 * it reads (0 or -EINVAL with err_set()) and kicks each running queue once,
 * so that buffers made available while the VM was stopped are seen.
 */
struct snap_buf;
struct snap_cursor;
void virtio_dev_save(struct virtio_dev *vd, struct snap_buf *out);
int virtio_dev_load(struct virtio_dev *vd, struct snap_cursor *c);

/* For devices, with vd->lock held. */

/* Is queue @q running: DRIVER_OK, enabled, not broken, no NEEDS_RESET? */
bool virtio_queue_live(const struct virtio_dev *vd, unsigned int q);

/* virtq_pop() that puts the device in the error state when the driver broke the rules. */
int virtio_queue_pop(struct virtio_dev *vd, unsigned int q, struct virtq_elem *elem);
/* After virtq_push()es: interrupt the driver if it wants one. */
void virtio_queue_notify_driver(struct virtio_dev *vd, unsigned int q);
/*
 * The driver did something the device cannot go on from: log it (once per
 * reset), set NEEDS_RESET and tell the driver with a config interrupt.
 */
void virtio_dev_error(struct virtio_dev *vd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Put @vd on @vm's PCI bus behind a virtio-pci transport (devices/virtio/
 * virtio_pci.c), torn down with the VM.  0 or -errno with err_set().
 */
int virtio_pci_create(struct vm *vm, struct virtio_dev *vd);

#endif
