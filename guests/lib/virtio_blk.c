// SPDX-License-Identifier: MIT
/* virtio-blk requests. */
#include "virtio_blk.h"

#include <errno.h>

int blk_probe(struct blk_dev *b)
{
	memset(b, 0, sizeof(*b));
	return virtio_pci_probe(&b->vd, VIRTIO_TYPE_BLOCK, 0);
}

bool blk_has(const struct blk_dev *b, unsigned int feature)
{
	return b->vd.features & VIRTIO_BIT(feature);
}

int blk_init(struct blk_dev *b, uint64_t wanted, uint16_t qsize, bool irq)
{
	struct virtio_dev *vd = &b->vd;
	int ret;

	if (!vd->devcfg)
		return -ENODEV;
	ret = virtio_init(vd, wanted);
	if (ret)
		return ret;
	b->use_irq = irq;
	ret = virtio_setup_queue(vd, 0, qsize, irq ? 0 : VIRTIO_MSI_NO_VECTOR);
	if (ret)
		return ret;
	b->q = &vd->vq[0];
	b->capacity = virtio_cfg_read64(vd, VIRTIO_BLK_CFG_CAPACITY);
	b->seg_max = blk_has(b, VIRTIO_BLK_F_SEG_MAX)
			     ? virtio_cfg_read(vd, VIRTIO_BLK_CFG_SEG_MAX, 4)
			     : 0;
	b->size_max = blk_has(b, VIRTIO_BLK_F_SIZE_MAX)
			      ? virtio_cfg_read(vd, VIRTIO_BLK_CFG_SIZE_MAX, 4)
			      : 0;
	b->blk_size = blk_has(b, VIRTIO_BLK_F_BLK_SIZE)
			      ? virtio_cfg_read(vd, VIRTIO_BLK_CFG_BLK_SIZE, 4)
			      : BLK_SECTOR;
	virtio_driver_ok(vd);
	return 0;
}

int blk_submit(struct blk_dev *b, struct blk_req *r, uint32_t type, uint64_t sector,
	       const struct virtq_buf *data, unsigned int n, bool indirect)
{
	struct virtq_buf bufs[BLK_MAX_BUFS + 2];
	/* IN and GET_ID fill the data buffers; everything else has the device read them. */
	bool dev_writes = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
	int head;

	if (n > BLK_MAX_BUFS)
		return -EINVAL;
	r->hdr.type = type;
	r->hdr.reserved = 0;
	r->hdr.sector = sector;
	r->status = 0xff;
	r->done = false;
	r->len = 0;
	bufs[0] = (struct virtq_buf){ (uintptr_t)&r->hdr, sizeof(r->hdr), false };
	for (unsigned int i = 0; i < n; i++) {
		bufs[i + 1] = data[i];
		bufs[i + 1].write = dev_writes;
	}
	bufs[n + 1] = (struct virtq_buf){ (uintptr_t)&r->status, 1, true };
	head = virtq_add(b->q, bufs, n + 2, indirect, (uintptr_t)r);
	return head < 0 ? head : 0;
}

void blk_kick(struct blk_dev *b)
{
	virtq_kick(&b->vd, b->q);
}

unsigned int blk_reap(struct blk_dev *b)
{
	unsigned int n = 0;
	uint64_t token;
	uint32_t len;

	while (virtq_get(b->q, &token, &len)) {
		struct blk_req *r = (struct blk_req *)(uintptr_t)token;

		if (r) {
			r->len = len;
			r->done = true;
		}
		n++;
	}
	return n;
}

void blk_irq(struct blk_dev *b)
{
	b->irqs++;
	lapic_eoi();
}

int blk_io(struct blk_dev *b, uint32_t type, uint64_t sector, const struct virtq_buf *data,
	   unsigned int n, bool indirect, uint64_t ticks)
{
	struct blk_req r;
	uint64_t t0 = rdtsc();
	int ret = blk_submit(b, &r, type, sector, data, n, indirect);

	if (ret)
		return ret;
	blk_kick(b);
	for (;;) {
		blk_reap(b);
		if (*(volatile bool *)&r.done)
			return r.status;
		if (rdtsc() - t0 > ticks)
			return -ETIMEDOUT;
		if (b->use_irq)
			irq_wait(); /* CPL0; the device's used_event asks for the next one */
		else
			cpu_pause();
	}
}
