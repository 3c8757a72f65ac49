/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (5.2) on top of virtio.h: one request queue, requests as
 * header + data buffers + status byte.  A struct blk_req holds its own
 * header and status, so it must stay put until it completes.
 */
#ifndef KVMINI_GUEST_VIRTIO_BLK_H
#define KVMINI_GUEST_VIRTIO_BLK_H

#include "virtio.h"

#define VIRTIO_BLK_F_SIZE_MAX	  1
#define VIRTIO_BLK_F_SEG_MAX	  2
#define VIRTIO_BLK_F_GEOMETRY	  4
#define VIRTIO_BLK_F_RO		  5
#define VIRTIO_BLK_F_BLK_SIZE	  6
#define VIRTIO_BLK_F_FLUSH	  9
#define VIRTIO_BLK_F_TOPOLOGY	  10
#define VIRTIO_BLK_F_CONFIG_WCE	  11
#define VIRTIO_BLK_F_MQ		  12
#define VIRTIO_BLK_F_DISCARD	  13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Configuration offsets */
#define VIRTIO_BLK_CFG_CAPACITY 0
#define VIRTIO_BLK_CFG_SIZE_MAX 8
#define VIRTIO_BLK_CFG_SEG_MAX	12
#define VIRTIO_BLK_CFG_BLK_SIZE 20

#define VIRTIO_BLK_T_IN		  0
#define VIRTIO_BLK_T_OUT	  1
#define VIRTIO_BLK_T_FLUSH	  4
#define VIRTIO_BLK_T_GET_ID	  8
#define VIRTIO_BLK_T_DISCARD	  11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK	    0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20
#define BLK_SECTOR	    512
#define BLK_MAX_BUFS	    (VIRTQ_INDIRECT_MAX - 2)

struct virtio_blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* DISCARD / WRITE_ZEROES segment */
struct virtio_blk_dwz {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

struct blk_req {
	struct virtio_blk_hdr hdr;
	uint8_t status;
	bool done;
	uint32_t len; /* bytes the device wrote, from the used ring */
};

struct blk_dev {
	struct virtio_dev vd;
	struct virtq *q;
	uint64_t capacity; /* 512-byte sectors */
	uint32_t seg_max, size_max, blk_size;
	bool use_irq;
	volatile unsigned int irqs; /* MSI-X interrupts taken */
};

/* Features blk_init() asks for. */
#define BLK_FEATURES                                                            \
	(VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |  \
	 VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | \
	 VIRTIO_BIT(VIRTIO_BLK_F_RO) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |      \
	 VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | VIRTIO_BIT(VIRTIO_BLK_F_TOPOLOGY) |   \
	 VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES))

/* CPL0: the first virtio-blk device, enabled. */
int blk_probe(struct blk_dev *b);
/*
 * (Re)initialise: features @wanted (BLK_FEATURES or fewer), request queue of
 * at most @qsize entries (0: the device's), config read, DRIVER_OK.  With
 * @irq the queue interrupts through MSI-X table entry 0, which the caller
 * has set up with virtio_msix_setup() (at CPL0: it is PCI config space) to
 * a vector whose handler calls blk_irq(); else the driver polls.  MMIO only,
 * so CPL3 is fine.  0 or -errno.
 */
int blk_init(struct blk_dev *b, uint64_t wanted, uint16_t qsize, bool irq);
bool blk_has(const struct blk_dev *b, unsigned int feature);
/*
 * Queue request @r: @type at @sector with @n data buffers (their write flags
 * are set from @type), through an indirect table if @indirect.  No kick.
 */
int blk_submit(struct blk_dev *b, struct blk_req *r, uint32_t type, uint64_t sector,
	       const struct virtq_buf *data, unsigned int n, bool indirect);
void blk_kick(struct blk_dev *b);
/* Reap completions; returns how many. */
unsigned int blk_reap(struct blk_dev *b);
/*
 * Submit, kick and wait for one request: spinning, or with MSI-X (CPL0, hlt)
 * if blk_init() got a vector.  Returns the status byte, or -errno; gives
 * up after @ticks (-ETIMEDOUT; the request then stays outstanding).
 */
int blk_io(struct blk_dev *b, uint32_t type, uint64_t sector, const struct virtq_buf *data,
	   unsigned int n, bool indirect, uint64_t ticks);
/* For the MSI-X handler. */
void blk_irq(struct blk_dev *b);

#endif
