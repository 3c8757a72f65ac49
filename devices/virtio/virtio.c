// SPDX-License-Identifier: MIT
/*
 * The virtio core: device status (virtio 1.2, 2.1 and 3.1), feature
 * negotiation (2.2), queue start-up and notifications, reset, and the error
 * state a misbehaving driver puts a device in.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "error.h"
#include "event_loop.h"
#include "virtio.h"

#define CORE_FEATURES                                                   \
	(1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_RING_EVENT_IDX | \
	 1ULL << VIRTIO_F_RING_INDIRECT_DESC)

bool virtio_queue_live(const struct virtio_dev *vd, unsigned int q)
{
	const struct virtio_queue *vq = &vd->queues[q];

	return (vd->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(vd->status & VIRTIO_STATUS_NEEDS_RESET) && vq->enabled && vq->vq.ready &&
	       !vq->vq.broken;
}

/* A driver notification, on the I/O thread: ioeventfd, or the transport's fallback. */
static void kick_event(void *opaque, uint32_t events)
{
	struct virtio_queue *q = opaque;
	struct virtio_dev *vd = q->vd;
	unsigned int i = (unsigned int)(q - vd->queues);
	eventfd_t v;

	(void)events;
	if (eventfd_read(q->kick_fd, &v))
		return;
	pthread_mutex_lock(&vd->lock);
	if (virtio_queue_live(vd, i))
		vd->ops->queue_notify(vd, i);
	pthread_mutex_unlock(&vd->lock);
}

/* The state after a reset (2.4): nothing negotiated, queues stopped, no vectors. */
static void reset_state(struct virtio_dev *vd)
{
	vd->status = 0;
	vd->driver_features = 0;
	vd->config_vector = VIRTIO_NO_VECTOR;
	vd->error_logged = false;
	for (unsigned int i = 0; i < vd->ops->nr_queues; i++) {
		struct virtio_queue *q = &vd->queues[i];

		memset(&q->vq, 0, sizeof(q->vq));
		q->vq.size = vd->ops->queue_size;
		q->vq.mem = vd->mem;
		q->vector = VIRTIO_NO_VECTOR;
		q->enabled = false;
	}
}

int virtio_dev_init(struct virtio_dev *vd, const struct virtio_device_ops *ops, uint64_t features,
		    void *config, uint32_t config_size, const struct guest_mem *mem,
		    struct event_loop *loop)
{
	memset(vd, 0, sizeof(*vd));
	pthread_mutex_init(&vd->lock, NULL);
	vd->ops = ops;
	vd->host_features = features | CORE_FEATURES;
	vd->config = config;
	vd->config_size = config_size;
	vd->mem = mem;
	vd->loop = loop;
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vd->queues[i].kick_fd = -1;
	if (ops->nr_queues > VIRTIO_MAX_QUEUES || ops->queue_size > VIRTQ_MAX_SIZE)
		return err_set(EINVAL, "%s: too many or too large queues", ops->name);
	reset_state(vd);
	for (unsigned int i = 0; i < ops->nr_queues; i++) {
		struct virtio_queue *q = &vd->queues[i];
		int ret;

		q->vd = vd;
		q->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (q->kick_fd < 0)
			return err_set(errno, "%s: eventfd: %s", ops->name, strerror(errno));
		ret = event_loop_add(loop, q->kick_fd, EPOLLIN, kick_event, q);
		if (ret) {
			close(q->kick_fd);
			q->kick_fd = -1;
			return err_set(-ret, "%s: cannot watch a queue: %s", ops->name,
				       strerror(-ret));
		}
	}
	return 0;
}

void virtio_dev_destroy(struct virtio_dev *vd)
{
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		if (vd->queues[i].kick_fd >= 0) {
			event_loop_del(vd->loop, vd->queues[i].kick_fd);
			close(vd->queues[i].kick_fd);
			vd->queues[i].kick_fd = -1;
		}
	}
	pthread_mutex_destroy(&vd->lock);
}

void virtio_set_transport(struct virtio_dev *vd, const struct virtio_transport_ops *ops,
			  void *opaque)
{
	vd->transport = ops;
	vd->transport_opaque = opaque;
}

void virtio_dev_error(struct virtio_dev *vd, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (vd->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!vd->error_logged)
		pr_warn("%s: %s; the device needs a reset", vd->ops->name, msg);
	vd->error_logged = true;
	vd->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (vd->status & VIRTIO_STATUS_DRIVER_OK)
		vd->transport->interrupt(vd->transport_opaque, vd->config_vector, true);
}

/*
 * FEATURES_OK only sticks for a subset of what the device offered that has
 * VERSION_1: this core speaks no legacy interface (2.2.2, 3.1.1).
 */
static bool features_acceptable(const struct virtio_dev *vd)
{
	return !(vd->driver_features & ~vd->host_features) &&
	       virtio_has_feature(vd, VIRTIO_F_VERSION_1);
}

void virtio_set_status(struct virtio_dev *vd, uint8_t status)
{
	uint8_t old = vd->status;

	if (!status) {
		if (vd->ops->reset)
			vd->ops->reset(vd);
		reset_state(vd);
		vd->transport->reset(vd->transport_opaque);
		return;
	}
	/* The driver only adds bits; NEEDS_RESET is the device's to set. */
	status = (uint8_t)((status & ~VIRTIO_STATUS_NEEDS_RESET) |
			   (old & VIRTIO_STATUS_NEEDS_RESET));
	if ((status & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
	    !features_acceptable(vd))
		status &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	vd->status = status;
	if ((status & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		/* Buffers made available before DRIVER_OK are taken now. */
		for (unsigned int i = 0; i < vd->ops->nr_queues; i++) {
			if (virtio_queue_live(vd, i))
				vd->ops->queue_notify(vd, i);
		}
	}
}

void virtio_set_driver_features(struct virtio_dev *vd, unsigned int word, uint32_t value)
{
	/* Fixed once FEATURES_OK is set (3.1.1). */
	if (word > 1 || (vd->status & VIRTIO_STATUS_FEATURES_OK))
		return;
	vd->driver_features &= ~(0xffffffffULL << (32 * word));
	vd->driver_features |= (uint64_t)value << (32 * word);
}

void virtio_queue_enable(struct virtio_dev *vd, unsigned int q)
{
	struct virtio_queue *vq = &vd->queues[q];
	int ret;

	if (vq->enabled || !(vd->status & VIRTIO_STATUS_FEATURES_OK))
		return;
	vq->vq.event_idx = virtio_has_feature(vd, VIRTIO_F_RING_EVENT_IDX);
	vq->vq.indirect = virtio_has_feature(vd, VIRTIO_F_RING_INDIRECT_DESC);
	vq->vq.mem = vd->mem;
	ret = virtq_init(&vq->vq);
	vq->enabled = true;
	if (ret)
		virtio_dev_error(
			vd, "queue %u: size %u or ring addresses %#llx/%#llx/%#llx invalid", q,
			vq->vq.size, (unsigned long long)vq->vq.desc_gpa,
			(unsigned long long)vq->vq.avail_gpa, (unsigned long long)vq->vq.used_gpa);
}

int virtio_queue_pop(struct virtio_dev *vd, unsigned int q, struct virtq_elem *elem)
{
	int ret;

	if (!virtio_queue_live(vd, q))
		return 0;
	ret = virtq_pop(&vd->queues[q].vq, elem);
	if (ret < 0)
		virtio_dev_error(vd, "queue %u: the driver made a malformed descriptor chain (%s)",
				 q, strerror(-ret));
	return ret;
}

void virtio_queue_notify_driver(struct virtio_dev *vd, unsigned int q)
{
	struct virtio_queue *vq = &vd->queues[q];

	if (virtq_should_notify(&vq->vq))
		vd->transport->interrupt(vd->transport_opaque, vq->vector, false);
}
