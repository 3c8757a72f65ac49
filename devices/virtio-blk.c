// SPDX-License-Identifier: MIT
/*
 * virtio-blk (virtio 1.2, 5.2): one request queue in front of a block
 * backend.  A notification takes every available request, queues each on
 * the backend and submits the batch once; completions come back on the I/O
 * thread through the backend's ready() and go to the used ring together,
 * with one interrupt.  Requests the device can answer alone (GET_ID, bad
 * sectors, read-only) complete at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "block.h"
#include "device.h"
#include "disk_state.h"
#include "error.h"
#include "iov.h"
#include "snapshot.h"
#include "util.h"
#include "virtio.h"
#include "virtio_blk.h"
#include "vm.h"

#define SECTOR_SIZE		512ULL
#define QUEUE_SIZE		256
#define REQUEST_HDR		16
#define DISCARD_SEG		16 /* struct virtio_blk_discard_write_zeroes */
#define UNMAP_FLAG		1u
#define MAX_DISCARD		(UINT32_MAX / SECTOR_SIZE) /* sectors per request, kept below 4 GiB */
#define PCI_CLASS_STORAGE_OTHER 0x018000

struct blk_req {
	struct block_request br;
	struct virtio_blk *blk;
	struct virtq_elem elem;
	struct iovec
		data[VIRTQ_MAX_SIZE]; /* the payload; the last entry is for the bounce buffer */
	unsigned int nr_data;
	uint32_t written; /* bytes for the used ring: data read in plus the status byte */
	void *bounce;	  /* cache=none with buffers the disk cannot take directly */
	size_t bounce_len;
	bool bounce_in;
	struct blk_req *next_free;
};

struct virtio_blk {
	struct virtio_dev vd;
	struct block_backend *bb;
	const struct drive_config *drive;
	struct vm *vm;
	char state_name[16]; /* "disk0": the image file's identity in state files */
	uint8_t config[VIRTIO_BLK_CONFIG_SIZE];
	char serial[VIRTIO_BLK_ID_BYTES];
	bool readonly;
	unsigned int pushed; /* used-ring entries since the driver was last told */
	struct blk_req *free_reqs;
	struct blk_req reqs[QUEUE_SIZE]; /* one per descriptor chain the queue can hold */
};

static struct blk_req *req_get(struct virtio_blk *blk)
{
	struct blk_req *r = blk->free_reqs;

	if (r)
		blk->free_reqs = r->next_free;
	return r;
}

static void req_put(struct virtio_blk *blk, struct blk_req *r)
{
	free(r->bounce);
	r->bounce = NULL;
	r->next_free = blk->free_reqs;
	blk->free_reqs = r;
}

/* The status byte is the last one the driver made writable (5.2.6). */
static void req_finish(struct blk_req *r, uint8_t status)
{
	const struct iovec *last = &r->elem.iov[r->elem.nr_out + r->elem.nr_in - 1];
	struct virtio_blk *blk = r->blk;

	((uint8_t *)last->iov_base)[last->iov_len - 1] = status;
	virtq_push(&blk->vd.queues[0].vq, r->elem.head, r->written + 1);
	blk->pushed++;
	req_put(blk, r);
}

/* Interrupt only for something in the used ring: an empty one is a spurious interrupt. */
static void blk_notify_driver(struct virtio_blk *blk)
{
	if (!blk->pushed)
		return;
	blk->pushed = 0;
	virtio_queue_notify_driver(&blk->vd, 0);
}

static void req_complete(struct block_request *br, int ret)
{
	struct blk_req *r = container_of(br, struct blk_req, br);

	if (!ret && r->bounce && r->bounce_in)
		iov_from_buf(r->data, r->nr_data, 0, r->bounce, r->bounce_len);
	if (ret)
		r->written = 0;
	req_finish(r, ret ? (ret == -EOPNOTSUPP ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR)
			  : VIRTIO_BLK_S_OK);
}

static bool aligned(const struct iovec *iov, unsigned int n, uint32_t align)
{
	for (unsigned int i = 0; i < n; i++) {
		if (((uintptr_t)iov[i].iov_base | iov[i].iov_len) & (align - 1))
			return false;
	}
	return true;
}

/* O_DIRECT wants aligned buffers; guests may hand any.  0 or -ENOMEM. */
static int req_bounce(struct blk_req *r, uint32_t align, bool in)
{
	size_t len = iov_size(r->data, r->nr_data);

	if (posix_memalign(&r->bounce, align, len))
		return -ENOMEM;
	r->bounce_len = len;
	r->bounce_in = in;
	if (!in)
		iov_to_buf(r->data, r->nr_data, 0, r->bounce, len);
	r->data[VIRTQ_MAX_SIZE - 1] = (struct iovec){ r->bounce, len };
	r->br.iov = &r->data[VIRTQ_MAX_SIZE - 1];
	r->br.iovcnt = 1;
	return 0;
}

/* A sector range inside the disk? */
static bool in_range(const struct virtio_blk *blk, uint64_t sector, uint64_t bytes)
{
	uint64_t cap = blk->bb->length / SECTOR_SIZE;

	return sector <= cap && bytes / SECTOR_SIZE <= cap - sector;
}

/* IN and OUT: the data between the header and the status byte. */
static uint8_t req_rw(struct virtio_blk *blk, struct blk_req *r, bool in, uint64_t sector)
{
	const struct virtq_elem *e = &r->elem;
	const struct iovec *part = in ? e->iov + e->nr_out : e->iov;
	unsigned int n = in ? e->nr_in : e->nr_out;
	size_t skip = in ? 0 : REQUEST_HDR;
	uint64_t len = in ? e->in_len - 1 : e->out_len - REQUEST_HDR;
	int cnt;

	if (!in && blk->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (len % SECTOR_SIZE || !in_range(blk, sector, len))
		return VIRTIO_BLK_S_IOERR;
	cnt = iov_slice(part, n, skip, len, r->data, VIRTQ_MAX_SIZE - 1);
	if (cnt < 0)
		return VIRTIO_BLK_S_IOERR;
	r->br.op = in ? BLOCK_OP_READ : BLOCK_OP_WRITE;
	r->br.offset = sector * SECTOR_SIZE;
	r->nr_data = (unsigned int)cnt;
	r->br.iov = r->data;
	r->br.iovcnt = r->nr_data;
	if (in)
		r->written = (uint32_t)len;
	if (!len)
		return VIRTIO_BLK_S_OK;
	if (!aligned(r->data, r->nr_data, blk->bb->alignment) &&
	    req_bounce(r, blk->bb->alignment, in))
		return VIRTIO_BLK_S_IOERR;
	return 0xff; /* queued below */
}

/* DISCARD and WRITE_ZEROES: one segment (max_*_seg is 1). */
static uint8_t req_discard(struct virtio_blk *blk, struct blk_req *r, bool zeroes)
{
	uint8_t seg[DISCARD_SEG];
	uint64_t sector;
	uint32_t nr, flags;

	if (r->elem.out_len - REQUEST_HDR != DISCARD_SEG ||
	    iov_to_buf(r->elem.iov, r->elem.nr_out, REQUEST_HDR, seg, DISCARD_SEG) != DISCARD_SEG)
		return VIRTIO_BLK_S_UNSUPP;
	memcpy(&sector, seg, 8);
	memcpy(&nr, seg + 8, 4);
	memcpy(&flags, seg + 12, 4);
	/* DISCARD has no flags; WRITE_ZEROES may ask to unmap (5.2.6.2). */
	if (flags & ~(zeroes ? UNMAP_FLAG : 0))
		return VIRTIO_BLK_S_UNSUPP;
	if (blk->readonly || nr > MAX_DISCARD || !in_range(blk, sector, nr * SECTOR_SIZE))
		return VIRTIO_BLK_S_IOERR;
	r->br.op = zeroes ? BLOCK_OP_WRITE_ZEROES : BLOCK_OP_DISCARD;
	r->br.offset = sector * SECTOR_SIZE;
	r->br.len = nr * SECTOR_SIZE;
	return nr ? 0xff : VIRTIO_BLK_S_OK;
}

/* Decide a request: a status now, or 0xff when it went to the backend. */
static uint8_t req_start(struct virtio_blk *blk, struct blk_req *r)
{
	uint8_t hdr[REQUEST_HDR];
	uint32_t type;
	uint64_t sector;
	size_t n;

	iov_to_buf(r->elem.iov, r->elem.nr_out, 0, hdr, REQUEST_HDR);
	memcpy(&type, hdr, 4);
	memcpy(&sector, hdr + 8, 8);
	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return req_rw(blk, r, type == VIRTIO_BLK_T_IN, sector);
	case VIRTIO_BLK_T_FLUSH:
		r->br.op = BLOCK_OP_FLUSH;
		return 0xff;
	case VIRTIO_BLK_T_GET_ID:
		n = iov_from_buf(r->elem.iov + r->elem.nr_out, r->elem.nr_in, 0, blk->serial,
				 r->elem.in_len - 1 < VIRTIO_BLK_ID_BYTES ? r->elem.in_len - 1
									  : VIRTIO_BLK_ID_BYTES);
		r->written = (uint32_t)n;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (!blk->bb->can_discard)
			return VIRTIO_BLK_S_UNSUPP;
		return req_discard(blk, r, type == VIRTIO_BLK_T_WRITE_ZEROES);
	}
	return VIRTIO_BLK_S_UNSUPP;
}

static void blk_queue_notify(struct virtio_dev *vd, unsigned int q)
{
	struct virtio_blk *blk = container_of(vd, struct virtio_blk, vd);
	struct virtq *vq = &vd->queues[q].vq;
	bool more = true;

	while (more) {
		struct blk_req *r;

		virtq_set_notify(vq, false);
		while ((r = req_get(blk))) {
			uint8_t status;
			int ret = virtio_queue_pop(vd, q, &r->elem);

			if (ret <= 0) {
				req_put(blk, r);
				break;
			}
			/* A header to read and a status byte to write (5.2.6): else the driver is broken. */
			if (r->elem.out_len < REQUEST_HDR || !r->elem.in_len) {
				req_put(blk, r);
				virtio_dev_error(vd, "a request without header or status byte");
				break;
			}
			r->written = 0;
			status = req_start(blk, r);
			if (status == 0xff)
				block_queue(blk->bb, &r->br);
			else
				req_finish(r, status);
		}
		/* A chain per request: the pool only runs dry if the ring is full of work. */
		more = blk->free_reqs && virtq_set_notify(vq, true) &&
		       !(vd->status & VIRTIO_STATUS_NEEDS_RESET);
	}
	block_submit(blk->bb);
	blk_notify_driver(blk);
}

/* The backend has completions: on the I/O thread. */
static void blk_ready(void *opaque)
{
	struct virtio_blk *blk = opaque;

	pthread_mutex_lock(&blk->vd.lock);
	block_poll(blk->bb);
	if (blk->vd.queues[0].vq.ready)
		blk_notify_driver(blk);
	/* Requests freed: take what waited for them (a driver reusing in-flight chains). */
	if (virtio_queue_live(&blk->vd, 0))
		blk_queue_notify(&blk->vd, 0);
	pthread_mutex_unlock(&blk->vd.lock);
}

/* A reset waits for the disk: nothing may land in guest memory afterwards. */
static void blk_reset(struct virtio_dev *vd)
{
	struct virtio_blk *blk = container_of(vd, struct virtio_blk, vd);

	block_drain(blk->bb);
	blk->pushed = 0;
}

void virtio_blk_drain(struct virtio_blk *blk)
{
	pthread_mutex_lock(&blk->vd.lock);
	block_drain(blk->bb);
	if (blk->vd.queues[0].vq.ready)
		blk_notify_driver(blk);
	pthread_mutex_unlock(&blk->vd.lock);
}

void virtio_blk_get_info(const struct virtio_blk *blk, struct virtio_blk_info *info)
{
	info->drive = blk->drive;
	info->length = blk->bb->length;
	info->readonly = blk->readonly;
}

static const struct virtio_device_ops blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.pci_class = PCI_CLASS_STORAGE_OTHER,
	.nr_queues = 1,
	.queue_size = QUEUE_SIZE,
	.queue_notify = blk_queue_notify,
	.reset = blk_reset,
};

/* The configuration space (5.2.4) and the features it goes with. */
static uint64_t blk_config(struct virtio_blk *blk)
{
	uint8_t *c = blk->config;
	uint32_t blk_size = blk->bb->alignment > SECTOR_SIZE ? blk->bb->alignment : SECTOR_SIZE;
	uint64_t f = 1ULL << VIRTIO_BLK_F_SEG_MAX | 1ULL << VIRTIO_BLK_F_SIZE_MAX |
		     1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_FLUSH |
		     1ULL << VIRTIO_BLK_F_TOPOLOGY;

	put_le(c + VIRTIO_BLK_CFG_CAPACITY, blk->bb->length / SECTOR_SIZE, 8);
	put_le(c + VIRTIO_BLK_CFG_SIZE_MAX, VIRTIO_BLK_SIZE_MAX, 4);
	put_le(c + VIRTIO_BLK_CFG_SEG_MAX, QUEUE_SIZE - 2, 4); /* header and status */
	put_le(c + VIRTIO_BLK_CFG_BLK_SIZE, blk_size, 4);
	put_le(c + VIRTIO_BLK_CFG_MIN_IO_SIZE, 1, 2); /* in logical blocks */
	if (blk->readonly)
		f |= 1ULL << VIRTIO_BLK_F_RO;
	if (blk->bb->can_discard && !blk->readonly) {
		f |= 1ULL << VIRTIO_BLK_F_DISCARD | 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
		put_le(c + VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, MAX_DISCARD, 4);
		put_le(c + VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 1, 4);
		put_le(c + VIRTIO_BLK_CFG_DISCARD_ALIGN, blk_size / SECTOR_SIZE, 4);
		put_le(c + VIRTIO_BLK_CFG_MAX_WZ_SECTORS, MAX_DISCARD, 4);
		put_le(c + VIRTIO_BLK_CFG_MAX_WZ_SEG, 1, 4);
	}
	return f;
}

/* Whether savevm takes an internal snapshot of the disk, and loadvm reverts it. */
static bool blk_has_snapshots(const struct virtio_blk *blk)
{
	return !blk->readonly && !blk->bb->readonly && !strcmp(blk->bb->format, "qcow2");
}

/*
 * A state save records the image file as it is once flushed (the VM is
 * stopped and its disks drained); the restore compares it with the file as
 * block_open() found it, before anything wrote to it.  savevm NAME (the
 * save's tag) first takes the internal snapshot NAME of a writable qcow2
 * disk, replacing one of that name, and records its name: the restore
 * reverts the disk to it.  A disk whose snapshot failed keeps the identity
 * record alone (a restore after a change is then refused).
 */
static void blk_state_save(void *opaque, struct snap_buf *out)
{
	struct virtio_blk *blk = opaque;
	const char *tag = blk->vm->snapshot_tag;
	struct disk_identity id;
	struct stat st = { 0 };
	bool snapped = false;
	int ret;

	pthread_mutex_lock(&blk->vd.lock);
	if (tag && blk_has_snapshots(blk)) {
		ret = block_snapshot(blk->bb, BLOCK_SNAPSHOT_CREATE, tag);
		if (ret)
			pr_err("%s: %s: internal snapshot '%s': %s", blk->state_name,
			       blk->drive->file, tag, err_msg(-ret));
		snapped = !ret;
	}
	ret = block_flush(blk->bb);
	if (ret)
		pr_warn("%s: %s: %s", blk->state_name, blk->drive->file, err_msg(-ret));
	if (fstat(blk->bb->fd, &st))
		pr_warn("%s: %s: %s", blk->state_name, blk->drive->file, strerror(errno));
	pthread_mutex_unlock(&blk->vd.lock);
	disk_identity_set(&id, &st, blk->drive->file, blk->bb->format);
	if (snapped)
		snprintf(id.snapshot, sizeof(id.snapshot), "%s", tag);
	disk_state_encode(&id, out);
}

/*
 * A record naming an internal snapshot: the disk must be a writable qcow2
 * image that still has it.  Its content is the snapshot's once loaded, so
 * the identity does not matter.
 */
static int blk_check_snapshot(struct virtio_blk *blk, const char *name)
{
	int ret;

	if (!blk_has_snapshots(blk))
		return err_set(EINVAL,
			       "%s is not a writable qcow2 image, the state needs its internal "
			       "snapshot '%s'",
			       blk->drive->file, name);
	pthread_mutex_lock(&blk->vd.lock);
	ret = block_snapshot(blk->bb, BLOCK_SNAPSHOT_FIND, name);
	pthread_mutex_unlock(&blk->vd.lock);
	if (ret == -ENOENT)
		return err_set(ENOENT, "%s has no internal snapshot '%s' (it was deleted?)",
			       blk->drive->file, name);
	return ret ? err_prefix(ret, "%s", blk->drive->file) : 0;
}

/*
 * -incoming (file: or defer) loads into a VM that never ran: the file as
 * block_open() found it is the one to compare.  loadvm loads into a VM
 * that ran since: the file as it is now, with what that VM wrote flushed.
 */
static int blk_state_check(void *opaque, const uint8_t *data, size_t len)
{
	struct virtio_blk *blk = opaque;
	const struct vm *vm = blk->vm;
	bool incoming = vm->cfg && vm->cfg->incoming && !(vm->vcpus && vm->vcpus[0].thread_started);
	struct disk_identity saved, now;
	char retry[DISK_STATE_PATH_MAX + 64];
	struct stat st = blk->bb->opened;
	int ret = disk_state_decode(&saved, data, len);

	if (ret)
		return ret;
	if (saved.snapshot[0])
		return blk_check_snapshot(blk, saved.snapshot);
	if (!incoming && !vm->incoming_wait) {
		pthread_mutex_lock(&blk->vd.lock);
		ret = block_flush(blk->bb);
		if (!ret && fstat(blk->bb->fd, &st))
			ret = err_set(errno, "%s: %s", blk->drive->file, strerror(errno));
		pthread_mutex_unlock(&blk->vd.lock);
		if (ret)
			return ret;
	}
	disk_identity_set(&now, &st, blk->drive->file, blk->bb->format);
	if (incoming)
		snprintf(retry, sizeof(retry), "-incoming file:%s,disk-check=off",
			 vm->cfg->incoming);
	else if (vm->incoming_wait)
		snprintf(retry, sizeof(retry), "migrate-incoming's \"disk-check\": false");
	else
		snprintf(retry, sizeof(retry), "loadvm -f");
	return disk_state_check(blk->state_name, &saved, &now, vm->snapshot_disk_check, retry);
}

/*
 * A disk with an internal snapshot goes back to it (QEMU's loadvm); the
 * others were only checked: their contents are the image's.
 */
static int blk_state_load(void *opaque, const uint8_t *data, size_t len)
{
	struct virtio_blk *blk = opaque;
	struct disk_identity saved;
	int ret = disk_state_decode(&saved, data, len);

	if (ret || !saved.snapshot[0])
		return ret;
	pthread_mutex_lock(&blk->vd.lock);
	ret = block_snapshot(blk->bb, BLOCK_SNAPSHOT_APPLY, saved.snapshot);
	pthread_mutex_unlock(&blk->vd.lock);
	return ret ? err_prefix(ret, "%s: internal snapshot '%s'", blk->drive->file, saved.snapshot)
		   : 0;
}

static const struct vm_state_ops blk_state_ops = {
	.save = blk_state_save,
	.check = blk_state_check,
	.load = blk_state_load,
};

int virtio_blk_snapshot_delete(struct virtio_blk *blk, const char *tag)
{
	int ret;

	if (!blk_has_snapshots(blk))
		return 0;
	pthread_mutex_lock(&blk->vd.lock);
	ret = block_snapshot(blk->bb, BLOCK_SNAPSHOT_DELETE, tag);
	/* What the drain before it finished goes to the guest (the VM may run). */
	if (blk->vd.queues[0].vq.ready)
		blk_notify_driver(blk);
	pthread_mutex_unlock(&blk->vd.lock);
	if (ret == -ENOENT)
		return 0;
	return ret ? err_prefix(ret, "%s: %s: internal snapshot '%s'", blk->state_name,
				blk->drive->file, tag)
		   : 0;
}

static void virtio_blk_free(void *opaque)
{
	struct virtio_blk *blk = opaque;

	block_close(blk->bb);
	virtio_dev_destroy(&blk->vd);
	free(blk);
}

int virtio_blk_create(struct vm *vm, const struct drive_config *d, const char *serial)
{
	struct virtio_blk *blk = calloc(1, sizeof(*blk));
	struct block_open_args args = {
		.path = d->file,
		.format = d->format,
		.readonly = d->readonly,
		.cache = d->cache_none ? BLOCK_CACHE_NONE : BLOCK_CACHE_WRITEBACK,
		.ready = blk_ready,
		.opaque = blk,
	};
	struct iovec ram[GUEST_MEM_MAX_REGIONS];
	uint64_t features;
	int ret;

	if (!blk)
		return -ENOMEM;
	for (unsigned int i = 0; i < vm->mem.nr_regions; i++)
		ram[i] = (struct iovec){ vm->mem.regions[i].hva, vm->mem.regions[i].size };
	args.buffers = ram;
	args.nr_buffers = vm->mem.nr_regions;
	if (serial) {
		size_t len = strlen(serial);

		/* GET_ID has room for 20 bytes; QEMU cuts longer ones the same way. */
		if (len > VIRTIO_BLK_ID_BYTES) {
			pr_warn("serial=%s: the guest sees only the first %d characters", serial,
				VIRTIO_BLK_ID_BYTES);
			len = VIRTIO_BLK_ID_BYTES;
		}
		memcpy(blk->serial, serial, len);
	}
	for (unsigned int i = 0; i < QUEUE_SIZE; i++) {
		blk->reqs[i].blk = blk;
		blk->reqs[i].br.complete = req_complete;
		req_put(blk, &blk->reqs[i]);
	}
	blk->readonly = d->readonly;
	blk->drive = d;
	blk->vm = vm;
	ret = block_open(&blk->bb, &args, &vm->loop);
	if (ret) {
		free(blk);
		return ret;
	}
	if (!d->discard)
		blk->bb->can_discard = false;
	features = blk_config(blk);
	ret = virtio_dev_init(&blk->vd, &blk_ops, features, blk->config, sizeof(blk->config),
			      &vm->mem, &vm->loop);
	if (!ret)
		ret = vm_add_cleanup(vm, virtio_blk_free, blk);
	if (ret) {
		virtio_blk_free(blk);
		return ret;
	}
	ret = virtio_pci_create(vm, &blk->vd);
	if (ret || vm->nr_disks == MAX_DRIVES)
		return ret;
	/* In creation order, which the command line fixes: disk0, disk1... */
	snprintf(blk->state_name, sizeof(blk->state_name), "disk%u", vm->nr_disks);
	vm->disks[vm->nr_disks++] = blk;
	return vm_register_state(vm, blk->state_name, &blk_state_ops, blk);
}

/* -device virtio-blk-pci,drive=ID[,serial=S] */
static int virtio_blk_pci_create(struct vm *vm, struct opts *o)
{
	const char *id = opts_get(o, "drive"), *serial = opts_get(o, "serial");
	const struct drive_config *d = NULL;
	int ret;

	if (!id)
		return err_set(EINVAL, "drive= is required (the id of an if=none -drive)");
	for (unsigned int i = 0; i < vm->cfg->nr_drives; i++) {
		if (vm->cfg->drives[i].id && !strcmp(vm->cfg->drives[i].id, id))
			d = &vm->cfg->drives[i];
	}
	if (!d)
		return err_set(ENOENT, "drive=%s: no -drive with id=%s", id, id);
	if (d->iface != DRIVE_IF_NONE)
		return err_set(EINVAL, "drive=%s: that drive has its own device (use if=none)", id);
	if (vm->drive_used[d - vm->cfg->drives])
		return err_set(EBUSY, "drive=%s: already used by another device", id);
	vm->drive_used[d - vm->cfg->drives] = true;
	ret = virtio_blk_create(vm, d, serial ? serial : d->serial);
	return ret ? err_prefix(ret, "file=%s", d->file) : 0;
}

const struct device_driver virtio_blk_pci_driver = {
	.name = "virtio-blk-pci",
	.help = "virtio disk: drive=ID (an if=none -drive) [,serial=S]",
	.create = virtio_blk_pci_create,
};
