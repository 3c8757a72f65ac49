// SPDX-License-Identifier: MIT
/*
 * A virtio device's state for snapshots: what the driver negotiated, the
 * device configuration, and per queue the ring addresses and the positions
 * in them.  The rings themselves are guest RAM, saved with it.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>

#include "error.h"
#include "snapshot.h"
#include "virtio.h"

struct core_state {
	uint64_t host_features, driver_features;
	uint32_t config_size;
	uint16_t config_vector, nr_queues;
	uint8_t status, config_generation, error_logged, pad;
};

struct queue_state {
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t size, vector, last_avail, used_idx, signalled_used;
	uint8_t enabled, ready, broken, signalled_valid;
	uint8_t pad[2];
};

_Static_assert(sizeof(struct core_state) == 32, "no hidden padding in the file format");
_Static_assert(sizeof(struct queue_state) == 40, "no hidden padding in the file format");

void virtio_dev_save(struct virtio_dev *vd, struct snap_buf *out)
{
	struct core_state cs = {
		.host_features = vd->host_features,
		.driver_features = vd->driver_features,
		.config_size = vd->config_size,
		.config_vector = vd->config_vector,
		.nr_queues = (uint16_t)vd->ops->nr_queues,
		.status = vd->status,
		.config_generation = vd->config_generation,
		.error_logged = vd->error_logged,
	};

	snap_buf_put(out, &cs, sizeof(cs));
	snap_buf_put(out, vd->config, vd->config_size);
	for (unsigned int i = 0; i < vd->ops->nr_queues; i++) {
		const struct virtio_queue *q = &vd->queues[i];
		unsigned int taken = vd->ops->in_flight ? vd->ops->in_flight(vd, i) : 0;
		struct queue_state qs = {
			.desc_gpa = q->vq.desc_gpa,
			.avail_gpa = q->vq.avail_gpa,
			.used_gpa = q->vq.used_gpa,
			.size = q->vq.size,
			.vector = q->vector,
			.last_avail = (uint16_t)(q->vq.last_avail - taken),
			.used_idx = q->vq.used_idx,
			.signalled_used = q->vq.signalled_used,
			.enabled = q->enabled,
			.ready = q->vq.ready,
			.broken = q->vq.broken,
			.signalled_valid = q->vq.signalled_valid,
		};

		snap_buf_put(out, &qs, sizeof(qs));
	}
}

/* Queue @i from @qs, its rings checked again as when the driver enabled it. */
static int load_queue(struct virtio_dev *vd, unsigned int i, const struct queue_state *qs)
{
	struct virtio_queue *q = &vd->queues[i];
	struct virtq *vq = &q->vq;

	if (!qs->size || qs->size > vd->ops->queue_size || (qs->size & (qs->size - 1)))
		return err_set(EINVAL, "queue %u has an invalid size %u", i, qs->size);
	vq->size = qs->size;
	vq->desc_gpa = qs->desc_gpa;
	vq->avail_gpa = qs->avail_gpa;
	vq->used_gpa = qs->used_gpa;
	q->vector = qs->vector;
	q->enabled = qs->enabled;
	if (!qs->enabled)
		return 0;
	vq->event_idx = virtio_has_feature(vd, VIRTIO_F_RING_EVENT_IDX);
	vq->indirect = virtio_has_feature(vd, VIRTIO_F_RING_INDIRECT_DESC);
	/* A queue the driver got wrong stays stopped, as it was. */
	if (qs->ready && virtq_init(vq))
		return err_set(EINVAL, "queue %u's rings lie outside guest RAM", i);
	vq->last_avail = qs->last_avail;
	vq->used_idx = qs->used_idx;
	vq->signalled_used = qs->signalled_used;
	vq->signalled_valid = qs->signalled_valid;
	vq->broken = qs->broken;
	return 0;
}

int virtio_dev_load(struct virtio_dev *vd, struct snap_cursor *c)
{
	struct core_state cs;
	struct queue_state qs[VIRTIO_MAX_QUEUES];
	uint8_t config[4096];
	int ret = 0;

	snap_take(c, &cs, sizeof(cs));
	if (c->bad || cs.config_size != vd->config_size || cs.nr_queues != vd->ops->nr_queues ||
	    cs.config_size > sizeof(config))
		return err_set(EINVAL, "the saved %s state is malformed", vd->ops->name);
	snap_take(c, config, cs.config_size);
	snap_take(c, qs, cs.nr_queues * sizeof(qs[0]));
	if (c->bad)
		return err_set(EINVAL, "the saved %s state is malformed", vd->ops->name);
	if (cs.host_features != vd->host_features)
		return err_set(EINVAL,
			       "the saved %s offered features %#llx, this one offers %#llx: give "
			       "the same options (a netdev's backend decides the offloads)",
			       vd->ops->name, (unsigned long long)cs.host_features,
			       (unsigned long long)vd->host_features);
	if (cs.driver_features & ~cs.host_features)
		return err_set(EINVAL, "the saved %s state is malformed", vd->ops->name);

	virtio_set_status(vd, 0);
	vd->driver_features = cs.driver_features;
	vd->status = cs.status;
	vd->config_generation = cs.config_generation;
	vd->config_vector = cs.config_vector;
	vd->error_logged = cs.error_logged;
	if (cs.config_size) /* virtio-rng has no configuration (and a NULL one) */
		memcpy(vd->config, config, cs.config_size);
	for (unsigned int i = 0; !ret && i < cs.nr_queues; i++)
		ret = load_queue(vd, i, &qs[i]);
	if (ret) {
		virtio_set_status(vd, 0);
		return err_prefix(ret, "%s", vd->ops->name);
	}
	for (unsigned int i = 0; i < cs.nr_queues; i++) {
		if (virtio_queue_live(vd, i))
			eventfd_write(vd->queues[i].kick_fd, 1);
	}
	return 0;
}
