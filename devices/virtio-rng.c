// SPDX-License-Identifier: MIT
/*
 * virtio-rng (virtio 1.2, 5.4): every buffer the driver offers comes back
 * filled from getrandom().  It is small enough to answer on the I/O thread
 * as the notification arrives.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "device.h"
#include "error.h"
#include "util.h"
#include "virtio.h"
#include "vm.h"

#define QUEUE_SIZE	     64
#define PCI_CLASS_OTHER	     0xff0000
#define MAX_BYTES_PER_BUFFER 4096 /* per request: a driver asking for more gets less */

struct virtio_rng {
	struct virtio_dev vd;
	struct virtq_elem elem;
};

/* Fill as much of @elem's writable part as getrandom() gives.  The bytes written. */
static uint32_t fill(const struct virtq_elem *e)
{
	uint32_t done = 0;

	for (unsigned int i = e->nr_out; i < e->nr_out + e->nr_in && done < MAX_BYTES_PER_BUFFER;
	     i++) {
		size_t len = e->iov[i].iov_len;
		ssize_t n;

		if (len > MAX_BYTES_PER_BUFFER - done)
			len = MAX_BYTES_PER_BUFFER - done;
		n = getrandom(e->iov[i].iov_base, len, GRND_NONBLOCK);
		if (n <= 0)
			break;
		done += (uint32_t)n;
		if ((size_t)n < len)
			break;
	}
	return done;
}

static void rng_queue_notify(struct virtio_dev *vd, unsigned int q)
{
	struct virtio_rng *rng = container_of(vd, struct virtio_rng, vd);
	bool pushed = false;

	while (virtio_queue_pop(vd, q, &rng->elem) > 0) {
		virtq_push(&vd->queues[q].vq, rng->elem.head, fill(&rng->elem));
		pushed = true;
	}
	if (pushed) /* an interrupt with an empty used ring is a spurious one */
		virtio_queue_notify_driver(vd, q);
}

static const struct virtio_device_ops rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.pci_class = PCI_CLASS_OTHER,
	.nr_queues = 1,
	.queue_size = QUEUE_SIZE,
	.queue_notify = rng_queue_notify,
	/* no .reset: requests never outlive the notification that brought them */
};

static void virtio_rng_free(void *opaque)
{
	struct virtio_rng *rng = opaque;

	virtio_dev_destroy(&rng->vd);
	free(rng);
}

static int virtio_rng_pci_create(struct vm *vm, struct opts *o)
{
	struct virtio_rng *rng = calloc(1, sizeof(*rng));
	int ret;

	(void)o;
	if (!rng)
		return -ENOMEM;
	ret = virtio_dev_init(&rng->vd, &rng_ops, 0, NULL, 0, &vm->mem, &vm->loop);
	if (!ret)
		ret = vm_add_cleanup(vm, virtio_rng_free, rng);
	if (ret) {
		virtio_rng_free(rng);
		return ret;
	}
	return virtio_pci_create(vm, &rng->vd);
}

const struct device_driver virtio_rng_pci_driver = {
	.name = "virtio-rng-pci",
	.help = "virtio entropy source (from the host's getrandom)",
	.create = virtio_rng_pci_create,
};
