/* SPDX-License-Identifier: MIT */
/* virtio-blk (virtio 1.2, 5.2): the guest-visible constants, and creating one. */
#ifndef KVMINI_VIRTIO_BLK_H
#define KVMINI_VIRTIO_BLK_H

#include "config.h"

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX	  1
#define VIRTIO_BLK_F_SEG_MAX	  2
#define VIRTIO_BLK_F_RO		  5
#define VIRTIO_BLK_F_BLK_SIZE	  6
#define VIRTIO_BLK_F_FLUSH	  9
#define VIRTIO_BLK_F_TOPOLOGY	  10
#define VIRTIO_BLK_F_DISCARD	  13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Configuration layout (5.2.4): byte offsets. */
#define VIRTIO_BLK_CFG_CAPACITY		   0
#define VIRTIO_BLK_CFG_SIZE_MAX		   8
#define VIRTIO_BLK_CFG_SEG_MAX		   12
#define VIRTIO_BLK_CFG_BLK_SIZE		   20
#define VIRTIO_BLK_CFG_MIN_IO_SIZE	   26
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS 36
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG	   40
#define VIRTIO_BLK_CFG_DISCARD_ALIGN	   44
#define VIRTIO_BLK_CFG_MAX_WZ_SECTORS	   48
#define VIRTIO_BLK_CFG_MAX_WZ_SEG	   52
#define VIRTIO_BLK_CONFIG_SIZE		   60

#define VIRTIO_BLK_SIZE_MAX (1u << 20) /* bytes per buffer, for drivers that split requests */
#define VIRTIO_BLK_ID_BYTES 20

/* Request types and status (5.2.6). */
#define VIRTIO_BLK_T_IN		  0
#define VIRTIO_BLK_T_OUT	  1
#define VIRTIO_BLK_T_FLUSH	  4
#define VIRTIO_BLK_T_GET_ID	  8
#define VIRTIO_BLK_T_DISCARD	  11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK		  0
#define VIRTIO_BLK_S_IOERR	  1
#define VIRTIO_BLK_S_UNSUPP	  2

struct vm;

/*
 * A virtio-blk-pci disk on the image @d names, listed in vm->disks.  0 or
 * -errno with err_set().
 */
int virtio_blk_create(struct vm *vm, const struct drive_config *d, const char *serial);

struct virtio_blk;

/* What query-block and `info block` show of a disk. */
struct virtio_blk_info {
	const struct drive_config *drive;
	uint64_t length; /* bytes */
	bool readonly;
};

void virtio_blk_get_info(const struct virtio_blk *blk, struct virtio_blk_info *info);
/* Wait for the disk's in-flight requests and put them in the used ring (a VM stop). */
void virtio_blk_drain(struct virtio_blk *blk);
/*
 * delvm: delete the internal snapshot @tag if the disk is a writable qcow2
 * image that has it.  0 (also when it has none), or -errno with err_set()
 * naming the disk.
 */
int virtio_blk_snapshot_delete(struct virtio_blk *blk, const char *tag);

#endif
