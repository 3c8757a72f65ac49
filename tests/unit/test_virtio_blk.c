// SPDX-License-Identifier: MIT
/*
 * Unit tests for the virtio-pci transport (devices/virtio/), virtio-blk and
 * virtio-rng, without /dev/kvm: the devices are created through the -device
 * registry on a hand-made VM and driven like a guest driver drives them,
 * through config space, the BARs and rings in fake RAM; the I/O thread's
 * event loop is run by the test.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "virtio_harness.h"
#include "virtio_blk.h"

#define DEV_BLK	     0x1042
#define DEV_RNG	     0x1044
#define SECTOR	     512
#define DISK_SIZE    (1ULL << 20)
#define DISK_SECTORS (DISK_SIZE / SECTOR)
#define QSIZE	     16
#define HDR_GPA	     0x8000ULL
#define SEG_GPA	     0x8040ULL /* a discard/write-zeroes segment */
#define STATUS_GPA   0x8100ULL
#define DATA_GPA     0x20000ULL
#define DATA2_GPA    0x40000ULL
#define COMBINED_GPA 0x60000ULL /* a header with its data */
#define STATUS_UNSET 0xee
#define VERSION_1    (1ULL << VIRTIO_F_VERSION_1)
#define BLK_FEATURES                                                                   \
	(1ULL << VIRTIO_BLK_F_SIZE_MAX | 1ULL << VIRTIO_BLK_F_SEG_MAX |                \
	 1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_FLUSH |                  \
	 1ULL << VIRTIO_BLK_F_TOPOLOGY | VERSION_1 | 1ULL << VIRTIO_F_RING_EVENT_IDX | \
	 1ULL << VIRTIO_F_RING_INDIRECT_DESC)

static int setup(void **state)
{
	struct harness *h = h_create();

	if (!h)
		return -1;
	err_clear();
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	h_destroy(*state);
	return 0;
}

/* A disk "d0" of DISK_SIZE bytes behind a virtio-blk-pci, opened by a driver. */
static struct drive_config *blk_open(struct harness *h, struct vdev *v, const char *extra)
{
	struct drive_config *d = h_add_drive(h, "d0", DISK_SIZE);
	char arg[128];

	snprintf(arg, sizeof(arg), "virtio-blk-pci,drive=d0%s", extra);
	assert_int_equal(h_device(h, arg), 0);
	vdev_open(v, h, h_find(h, DEV_BLK, 0));
	return d;
}

static void put_hdr(struct harness *h, uint32_t type, uint64_t sector)
{
	uint8_t *p = h_ptr(h, HDR_GPA);

	put_le(p, type, 4);
	put_le(p + 4, 0, 4);
	put_le(p + 8, sector, 8);
}

/*
 * One request: the header, @data (in order), a separate status byte.  The
 * status the device wrote; the used length in *@used.
 */
static uint8_t blk_req(struct vdev *v, uint32_t type, uint64_t sector, const struct vbuf *data,
		       unsigned int n, uint32_t *used)
{
	struct vbuf bufs[8] = { { HDR_GPA, 16, false } };
	uint8_t *status = h_ptr(v->h, STATUS_GPA);
	uint32_t len;

	assert_true(n + 2 <= ARRAY_SIZE(bufs));
	put_hdr(v->h, type, sector);
	if (n)
		memcpy(bufs + 1, data, n * sizeof(*data));
	bufs[n + 1] = (struct vbuf){ STATUS_GPA, 1, true };
	*status = STATUS_UNSET;
	len = vdev_run(v, bufs, n + 2);
	if (used)
		*used = len;
	return *status;
}

static void fill(struct harness *h, uint64_t gpa, size_t len, unsigned int seed)
{
	uint8_t *p = h_ptr(h, gpa);

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + seed + (i >> 9));
}

static void file_read(const struct drive_config *d, void *buf, size_t len, off_t off)
{
	int fd = open(d->file, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

static void file_write(const struct drive_config *d, const void *buf, size_t len, off_t off)
{
	int fd = open(d->file, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t b)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != b)
			return false;
	}
	return true;
}

/* The vendor capabilities describe BAR 4's layout; MSI-X points into BAR 1. */
static void check_caps(struct harness *h, unsigned int slot, uint32_t device_cfg_len)
{
	static const uint32_t offs[5] = { 0, 0, H_NOTIFY_OFF, H_ISR_OFF, H_DEVICE_OFF };
	uint32_t lens[5] = { 0, 0x38, 4, 1, device_cfg_len };
	unsigned int seen[5] = { 0 }, at, msix;

	assert_true(h_cfg_read(h, slot, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	for (unsigned int i = 0; (at = h_find_cap(h, slot, H_CAP_VENDOR, i)); i++) {
		unsigned int type = h_cfg_read(h, slot, at + 3, 1);

		assert_in_range(type, 1, 4);
		seen[type]++;
		assert_int_equal(h_cfg_read(h, slot, at + 2, 1), type == 2 ? 20 : 16);
		assert_int_equal(h_cfg_read(h, slot, at + 4, 1), H_REGS_BAR);
		assert_int_equal(h_cfg_read(h, slot, at + 8, 4), offs[type]);
		assert_int_equal(h_cfg_read(h, slot, at + 12, 4), lens[type]);
		if (type == 2)
			assert_int_equal(h_cfg_read(h, slot, at + 16, 4), H_NOTIFY_MULT);
	}
	assert_int_equal(seen[1], 1);
	assert_int_equal(seen[2], 1);
	assert_int_equal(seen[3], 1);
	assert_int_equal(seen[4], device_cfg_len ? 1 : 0);
	msix = h_find_cap(h, slot, PCI_CAP_ID_MSIX, 0);
	assert_int_not_equal(msix, 0);
	assert_int_equal(h_cfg_read(h, slot, msix + 2, 2), 1); /* 2 vectors: queue + config */
	assert_int_equal(h_cfg_read(h, slot, msix + 4, 4), H_MSIX_BAR);
	assert_int_equal(h_cfg_read(h, slot, msix + 8, 4), 0x800 | H_MSIX_BAR);
	/* BAR 1 is 32-bit memory, BAR 4 64-bit prefetchable memory. */
	assert_int_equal(h_cfg_read(h, slot, PCI_BAR0 + 4, 4) & 0xf, 0);
	assert_int_equal(h_cfg_read(h, slot, PCI_BAR0 + 16, 4) & 0xf, 0xc);
}

static void test_caps_and_ids(void **state)
{
	struct harness *h = *state;
	struct vdev v;
	int blk, rng;

	h_add_drive(h, "d0", DISK_SIZE);
	assert_int_equal(h_device(h, "virtio-blk-pci,drive=d0"), 0);
	assert_int_equal(h_device(h, "virtio-rng-pci"), 0);
	blk = h_find(h, DEV_BLK, 0);
	rng = h_find(h, DEV_RNG, 0);
	assert_true(blk >= 0 && rng >= 0);
	assert_int_equal(h_cfg_read(h, blk, PCI_SUBSYSTEM_VENDOR, 4), DEV_BLK << 16 | 0x1af4);
	assert_int_equal(h_cfg_read(h, rng, PCI_SUBSYSTEM_VENDOR, 4), DEV_RNG << 16 | 0x1af4);
	assert_true(h_cfg_read(h, blk, PCI_REVISION_ID, 1) >= 1); /* modern only (4.1.2.1) */
	assert_int_equal(h_cfg_read(h, blk, PCI_CLASS_PROG, 2) | h_cfg_read(h, blk, 0x0b, 1) << 16,
			 0x018000);
	assert_int_equal(h_cfg_read(h, blk, PCI_INTERRUPT_PIN, 1), 1);
	check_caps(h, blk, VIRTIO_BLK_CONFIG_SIZE);
	check_caps(h, rng, 0);
	/* The structures are where the capabilities say: num_queues, the notify window. */
	vdev_open(&v, h, blk);
	assert_int_equal(vr_read(&v, H_NUMQ, 2), 1);
	assert_int_equal(vr_read(&v, H_Q_NOFF, 2), 0);
	vdev_open(&v, h, rng);
	assert_int_equal(vr_read(&v, H_NUMQ, 2), 1);
	assert_int_equal(vr_read(&v, H_DEVICE_OFF, 4), 0); /* no device configuration */
}

static void test_feature_negotiation(void **state)
{
	struct harness *h = *state;
	struct vdev v;

	blk_open(h, &v, "");
	assert_int_equal(vdev_features(&v), BLK_FEATURES);
	vr_write(&v, H_DFSELECT, 2, 4);
	assert_int_equal(vr_read(&v, H_DF, 4), 0);
	/* No VERSION_1: no legacy interface here, FEATURES_OK does not stick. */
	assert_false(vdev_negotiate(&v, BLK_FEATURES & ~VERSION_1));
	/* A bit the device does not offer (bit 0: BARRIER, legacy). */
	assert_false(vdev_negotiate(&v, VERSION_1 | 1));
	assert_false(vdev_negotiate(&v, VERSION_1 | 1ULL << 40));
	assert_true(vdev_negotiate(&v, VERSION_1 | 1ULL << VIRTIO_BLK_F_FLUSH));
	vr_write(&v, H_GFSELECT, 0, 4);
	assert_int_equal(vr_read(&v, H_GF, 4), 1u << VIRTIO_BLK_F_FLUSH);
	/* Fixed once FEATURES_OK is set. */
	vr_write(&v, H_GF, 1u << VIRTIO_BLK_F_SEG_MAX, 4);
	assert_int_equal(vr_read(&v, H_GF, 4), 1u << VIRTIO_BLK_F_FLUSH);
	vr_write(&v, H_GFSELECT, 1, 4);
	assert_int_equal(vr_read(&v, H_GF, 4), 1);
	/* Everything offered is acceptable. */
	assert_true(vdev_negotiate(&v, BLK_FEATURES));
}

static void test_queue_registers(void **state)
{
	struct harness *h = *state;
	struct vdev v;

	blk_open(h, &v, "");
	assert_true(vdev_negotiate(&v, VERSION_1));
	assert_int_equal(vr_read(&v, H_NUMQ, 2), 1);
	assert_int_equal(vr_read(&v, H_Q_SIZE, 2), 256);
	assert_int_equal(vr_read(&v, H_Q_MSIX, 2), VIRTIO_NO_VECTOR);
	vr_write(&v, H_Q_SELECT, 0, 2);
	/* Smaller powers of two only. */
	vr_write(&v, H_Q_SIZE, 512, 2);
	assert_int_equal(vr_read(&v, H_Q_SIZE, 2), 256);
	vr_write(&v, H_Q_SIZE, 24, 2);
	assert_int_equal(vr_read(&v, H_Q_SIZE, 2), 256);
	vr_write(&v, H_Q_SIZE, 32, 2);
	assert_int_equal(vr_read(&v, H_Q_SIZE, 2), 32);
	vr_write(&v, H_Q_DESC, 0x1000, 8);
	vr_write(&v, H_Q_AVAIL, 0x2000, 4); /* as two halves, like Linux */
	vr_write(&v, H_Q_AVAIL + 4, 0, 4);
	vr_write(&v, H_Q_USED, 0x3000, 8);
	assert_int_equal(vr_read(&v, H_Q_AVAIL, 8), 0x2000);
	/* MSI-X vectors: 0 (config) and 1 (queue) exist; others read back NO_VECTOR. */
	vr_write(&v, H_Q_MSIX, 1, 2);
	assert_int_equal(vr_read(&v, H_Q_MSIX, 2), 1);
	vr_write(&v, H_Q_MSIX, 2, 2);
	assert_int_equal(vr_read(&v, H_Q_MSIX, 2), VIRTIO_NO_VECTOR);
	vr_write(&v, H_MSIX, 0, 2);
	assert_int_equal(vr_read(&v, H_MSIX, 2), 0);
	vr_write(&v, H_MSIX, 0x7ff, 2);
	assert_int_equal(vr_read(&v, H_MSIX, 2), VIRTIO_NO_VECTOR);
	vr_write(&v, H_MSIX, 0, 2);
	vr_write(&v, H_Q_MSIX, 0, 2);
	/* Enabled: the queue's size and addresses are fixed. */
	vr_write(&v, H_Q_ENABLE, 1, 2);
	assert_int_equal(vr_read(&v, H_Q_ENABLE, 2), 1);
	vr_write(&v, H_Q_SIZE, 16, 2);
	vr_write(&v, H_Q_DESC, 0x9000, 8);
	vr_write(&v, H_Q_AVAIL, 0x9000, 8);
	vr_write(&v, H_Q_USED, 0x9000, 8);
	assert_int_equal(vr_read(&v, H_Q_SIZE, 2), 32);
	assert_int_equal(vr_read(&v, H_Q_DESC, 8), 0x1000);
	assert_int_equal(vr_read(&v, H_Q_AVAIL, 8), 0x2000);
	assert_int_equal(vr_read(&v, H_Q_USED, 8), 0x3000);
	vr_write(&v, H_Q_ENABLE, 0, 2);
	assert_int_equal(vr_read(&v, H_Q_ENABLE, 2), 1);
	/* Reset: status, features, queue and vectors back to their initial state. */
	vr_write(&v, H_DFSELECT, 1, 4);
	vr_write(&v, H_STATUS, 0, 1);
	assert_int_equal(vr_read(&v, H_STATUS, 1), 0);
	assert_int_equal(vr_read(&v, H_DFSELECT, 4), 0);
	vr_write(&v, H_GFSELECT, 1, 4);
	assert_int_equal(vr_read(&v, H_GF, 4), 0);
	assert_int_equal(vr_read(&v, H_MSIX, 2), VIRTIO_NO_VECTOR);
	assert_int_equal(vr_read(&v, H_Q_ENABLE, 2), 0);
	assert_int_equal(vr_read(&v, H_Q_SIZE, 2), 256);
	assert_int_equal(vr_read(&v, H_Q_MSIX, 2), VIRTIO_NO_VECTOR);
	assert_int_equal(vr_read(&v, H_Q_DESC, 8), 0);
	assert_int_equal(vr_read(&v, H_Q_USED, 8), 0);
	/* Before FEATURES_OK a queue cannot be enabled. */
	vr_write(&v, H_Q_ENABLE, 1, 2);
	assert_int_equal(vr_read(&v, H_Q_ENABLE, 2), 0);
}

static uint64_t blk_cfg(struct vdev *v, unsigned int off, unsigned int len)
{
	return vr_read(v, H_DEVICE_OFF + off, len);
}

static void test_blk_config(void **state)
{
	struct harness *h = *state;
	struct drive_config *d;
	struct vdev v, ro, dis;

	/* A size that is not a whole number of sectors: capacity rounds down. */
	d = h_add_drive(h, "d0", DISK_SIZE + 3 * SECTOR + 100);
	assert_int_equal(h_device(h, "virtio-blk-pci,drive=d0"), 0);
	d = h_add_drive(h, "d1", DISK_SIZE);
	d->readonly = true;
	assert_int_equal(h_device(h, "virtio-blk-pci,drive=d1"), 0);
	d = h_add_drive(h, "d2", DISK_SIZE);
	d->discard = true;
	assert_int_equal(h_device(h, "virtio-blk-pci,drive=d2"), 0);
	vdev_open(&v, h, h_find(h, DEV_BLK, 0));
	vdev_open(&ro, h, h_find(h, DEV_BLK, 1));
	vdev_open(&dis, h, h_find(h, DEV_BLK, 2));

	assert_int_equal(blk_cfg(&v, VIRTIO_BLK_CFG_CAPACITY, 8), DISK_SECTORS + 3);
	assert_int_equal(blk_cfg(&v, VIRTIO_BLK_CFG_CAPACITY, 4), DISK_SECTORS + 3);
	assert_int_equal(blk_cfg(&v, VIRTIO_BLK_CFG_CAPACITY + 1, 1), (DISK_SECTORS + 3) >> 8);
	assert_int_equal(blk_cfg(&v, VIRTIO_BLK_CFG_SEG_MAX, 4), 254);
	assert_int_equal(blk_cfg(&v, VIRTIO_BLK_CFG_SIZE_MAX, 4), VIRTIO_BLK_SIZE_MAX);
	assert_int_equal(blk_cfg(&v, VIRTIO_BLK_CFG_BLK_SIZE, 4), 512);
	/* Past the end of the structure: nothing. */
	assert_int_equal(blk_cfg(&v, VIRTIO_BLK_CONFIG_SIZE - 2, 4), 0);
	assert_int_equal(blk_cfg(&ro, VIRTIO_BLK_CFG_CAPACITY, 8), DISK_SECTORS);
	/* Device configuration is read-only. */
	vr_write(&v, H_DEVICE_OFF, 0, 8);
	assert_int_equal(blk_cfg(&v, VIRTIO_BLK_CFG_CAPACITY, 8), DISK_SECTORS + 3);

	assert_false(vdev_features(&v) & 1ULL << VIRTIO_BLK_F_RO);
	assert_false(vdev_features(&v) & 1ULL << VIRTIO_BLK_F_DISCARD);
	assert_int_equal(vdev_features(&ro), BLK_FEATURES | 1ULL << VIRTIO_BLK_F_RO);
	assert_int_equal(vdev_features(&dis), BLK_FEATURES | 1ULL << VIRTIO_BLK_F_DISCARD |
						      1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	assert_int_equal(blk_cfg(&dis, VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 4), 1);
	assert_int_equal(blk_cfg(&dis, VIRTIO_BLK_CFG_MAX_WZ_SEG, 4), 1);
	assert_int_equal(blk_cfg(&dis, VIRTIO_BLK_CFG_DISCARD_ALIGN, 4), 1);
	assert_true(blk_cfg(&dis, VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, 4) > 0);
}

static void test_read_write(void **state)
{
	struct harness *h = *state;
	static uint8_t file[3 * SECTOR], zero[SECTOR], big[8 * SECTOR];
	struct drive_config *d;
	struct vdev v;
	uint16_t heads[4];
	uint32_t used;

	d = blk_open(h, &v, "");
	vdev_start(&v, 0, QSIZE);
	/* OUT: header split in two, data in three odd pieces. */
	fill(h, DATA_GPA, 3 * SECTOR, 1);
	put_hdr(h, VIRTIO_BLK_T_OUT, 5);
	*(uint8_t *)h_ptr(h, STATUS_GPA) = STATUS_UNSET;
	used = vdev_run(&v,
			(struct vbuf[]){
				{ HDR_GPA, 8, false },
				{ HDR_GPA + 8, 8, false },
				{ DATA_GPA, 100, false },
				{ DATA_GPA + 100, 1000, false },
				{ DATA_GPA + 1100, 3 * SECTOR - 1100, false },
				{ STATUS_GPA, 1, true },
			},
			6);
	assert_int_equal(*(uint8_t *)h_ptr(h, STATUS_GPA), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	/* The file holds exactly that, and nothing around it. */
	file_read(d, file, sizeof(file), 5 * SECTOR);
	assert_memory_equal(file, h_ptr(h, DATA_GPA), sizeof(file));
	file_read(d, file, SECTOR, 4 * SECTOR);
	assert_memory_equal(file, zero, SECTOR);
	file_read(d, file, SECTOR, 8 * SECTOR);
	assert_memory_equal(file, zero, SECTOR);

	/* IN: two buffers, the status byte at the end of the second. */
	memset(h_ptr(h, DATA2_GPA), 0x5a, 4 * SECTOR);
	put_hdr(h, VIRTIO_BLK_T_IN, 5);
	used = vdev_run(&v,
			(struct vbuf[]){
				{ HDR_GPA, 16, false },
				{ DATA2_GPA, 700, true },
				{ DATA2_GPA + 700, 3 * SECTOR - 700 + 1, true },
			},
			3);
	assert_int_equal(used, 3 * SECTOR + 1);
	assert_memory_equal(h_ptr(h, DATA2_GPA), h_ptr(h, DATA_GPA), 3 * SECTOR);
	assert_int_equal(*(uint8_t *)h_ptr(h, DATA2_GPA + 3 * SECTOR), VIRTIO_BLK_S_OK);

	/* A header and the data in one readable buffer; the last sector of the disk. */
	put_le(h_ptr(h, COMBINED_GPA), VIRTIO_BLK_T_OUT, 4);
	put_le(h_ptr(h, COMBINED_GPA + 4), 0, 4);
	put_le(h_ptr(h, COMBINED_GPA + 8), DISK_SECTORS - 1, 8);
	fill(h, COMBINED_GPA + 16, SECTOR, 9);
	used = vdev_run(&v,
			(struct vbuf[]){
				{ COMBINED_GPA, 16 + SECTOR, false },
				{ STATUS_GPA, 1, true },
			},
			2);
	assert_int_equal(*(uint8_t *)h_ptr(h, STATUS_GPA), VIRTIO_BLK_S_OK);
	file_read(d, file, SECTOR, DISK_SIZE - SECTOR);
	assert_memory_equal(file, h_ptr(h, COMBINED_GPA + 16), SECTOR);
	assert_int_equal(blk_req(&v, VIRTIO_BLK_T_IN, DISK_SECTORS - 1,
				 &(struct vbuf){ DATA2_GPA, SECTOR, true }, 1, &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(used, SECTOR + 1);
	assert_memory_equal(h_ptr(h, DATA2_GPA), file, SECTOR);

	/* Several requests in one kick; they may complete in any order. */
	fill(h, DATA_GPA, 8 * SECTOR, 3);
	for (unsigned int i = 0; i < 4; i++) {
		uint64_t hdr = HDR_GPA + 32 * i;

		put_le(h_ptr(h, hdr), VIRTIO_BLK_T_OUT, 4);
		put_le(h_ptr(h, hdr + 4), 0, 4);
		put_le(h_ptr(h, hdr + 8), 100 + 2 * i, 8);
		heads[i] =
			vdev_add(&v,
				 (struct vbuf[]){ { hdr, 16, false },
						  { DATA_GPA + 2 * SECTOR * i, 2 * SECTOR, false },
						  { STATUS_GPA + i, 1, true } },
				 3);
	}
	vdev_kick(&v);
	assert_true(vdev_wait(&v, 4));
	for (unsigned int i = 0, seen = 0; i < 4; i++) {
		struct virtq_used_elem *e = &vdev_used(&v)->ring[v.used_seen % QSIZE];
		unsigned int k = 0;

		while (k < 4 && heads[k] != e->id)
			k++;
		assert_true(k < 4 && !(seen & 1u << k));
		seen |= 1u << k;
		assert_int_equal(vdev_take(&v, heads[k]), 1);
		assert_int_equal(*(uint8_t *)h_ptr(h, STATUS_GPA + k), VIRTIO_BLK_S_OK);
	}
	file_read(d, big, sizeof(big), 100 * SECTOR);
	assert_memory_equal(big, h_ptr(h, DATA_GPA), sizeof(big));
}

static void test_flush_get_id(void **state)
{
	struct harness *h = *state;
	static const char longer[] = "0123456789abcdefghijKLMNOP";
	struct drive_config *d;
	struct vdev v, v2;
	uint8_t *id = h_ptr(h, DATA_GPA);
	uint32_t used;

	blk_open(h, &v, ",serial=kvmini-disk-7");
	vdev_start(&v, 0, QSIZE);
	assert_int_equal(blk_req(&v, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);

	memset(id, 0xcc, 32);
	assert_int_equal(blk_req(&v, VIRTIO_BLK_T_GET_ID, 0,
				 &(struct vbuf){ DATA_GPA, VIRTIO_BLK_ID_BYTES, true }, 1, &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(used, VIRTIO_BLK_ID_BYTES + 1);
	assert_memory_equal(id, "kvmini-disk-7\0\0\0\0\0\0\0", VIRTIO_BLK_ID_BYTES);
	assert_int_equal(id[VIRTIO_BLK_ID_BYTES], 0xcc);
	/* A smaller buffer gets what fits. */
	memset(id, 0xcc, 32);
	assert_int_equal(
		blk_req(&v, VIRTIO_BLK_T_GET_ID, 0, &(struct vbuf){ DATA_GPA, 6, true }, 1, &used),
		VIRTIO_BLK_S_OK);
	assert_int_equal(used, 7);
	assert_memory_equal(id, "kvmini\xcc", 7);

	/* A longer serial is cut to 20 bytes, with no terminator. */
	d = h_add_drive(h, "d1", DISK_SIZE);
	d->serial = strdup(longer);
	assert_non_null(d->serial);
	assert_int_equal(h_device(h, "virtio-blk-pci,drive=d1"), 0);
	vdev_open(&v2, h, h_find(h, DEV_BLK, 1));
	vdev_start(&v2, 0, QSIZE);
	memset(id, 0xcc, 32);
	assert_int_equal(blk_req(&v2, VIRTIO_BLK_T_GET_ID, 0, &(struct vbuf){ DATA_GPA, 32, true },
				 1, &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(used, VIRTIO_BLK_ID_BYTES + 1);
	assert_memory_equal(id, longer, VIRTIO_BLK_ID_BYTES);
	assert_int_equal(id[VIRTIO_BLK_ID_BYTES], 0xcc);
}

/* DISCARD or WRITE_ZEROES of one segment. */
static uint8_t blk_discard(struct vdev *v, uint32_t type, uint64_t sector, uint32_t nr,
			   uint32_t flags)
{
	uint8_t *seg = h_ptr(v->h, SEG_GPA);

	put_le(seg, sector, 8);
	put_le(seg + 8, nr, 4);
	put_le(seg + 12, flags, 4);
	return blk_req(v, type, 0, &(struct vbuf){ SEG_GPA, 16, false }, 1, NULL);
}

static void test_discard_write_zeroes(void **state)
{
	struct harness *h = *state;
	static uint8_t ones[16 * SECTOR], back[16 * SECTOR];
	struct drive_config *d;
	struct vdev v, plain;

	d = h_add_drive(h, "d0", DISK_SIZE);
	d->discard = true;
	assert_int_equal(h_device(h, "virtio-blk-pci,drive=d0"), 0);
	h_add_drive(h, "d1", DISK_SIZE);
	assert_int_equal(h_device(h, "virtio-blk-pci,drive=d1"), 0);
	vdev_open(&v, h, h_find(h, DEV_BLK, 0));
	vdev_open(&plain, h, h_find(h, DEV_BLK, 1));
	vdev_start(&v, 1ULL << VIRTIO_BLK_F_DISCARD | 1ULL << VIRTIO_BLK_F_WRITE_ZEROES, QSIZE);
	vdev_start(&plain, 0, QSIZE);

	memset(ones, 0xff, sizeof(ones));
	file_write(d, ones, sizeof(ones), 0);
	/* WRITE_ZEROES of sectors 2..5; the guest reads zeros there, ones around. */
	assert_int_equal(blk_discard(&v, VIRTIO_BLK_T_WRITE_ZEROES, 2, 4, 0), VIRTIO_BLK_S_OK);
	memset(h_ptr(h, DATA_GPA), 0x5a, 8 * SECTOR);
	assert_int_equal(blk_req(&v, VIRTIO_BLK_T_IN, 0,
				 &(struct vbuf){ DATA_GPA, 8 * SECTOR, true }, 1, NULL),
			 VIRTIO_BLK_S_OK);
	assert_true(all_bytes(h_ptr(h, DATA_GPA), 2 * SECTOR, 0xff));
	assert_true(all_bytes(h_ptr(h, DATA_GPA + 2 * SECTOR), 4 * SECTOR, 0));
	assert_true(all_bytes(h_ptr(h, DATA_GPA + 6 * SECTOR), 2 * SECTOR, 0xff));
	/* With the unmap flag too. */
	assert_int_equal(blk_discard(&v, VIRTIO_BLK_T_WRITE_ZEROES, 6, 1, 1), VIRTIO_BLK_S_OK);
	/* DISCARD of a whole block (4 KiB at 8 KiB) reads back as zeros from a raw file. */
	assert_int_equal(blk_discard(&v, VIRTIO_BLK_T_DISCARD, 16, 8, 0), VIRTIO_BLK_S_OK);
	file_read(d, back, sizeof(back), 0);
	assert_true(all_bytes(back + 6 * SECTOR, SECTOR, 0));
	assert_true(all_bytes(back + 7 * SECTOR, SECTOR, 0xff));
	memset(ones, 0, 8 * SECTOR);
	file_read(d, back, 8 * SECTOR, 16 * SECTOR);
	assert_memory_equal(back, ones, 8 * SECTOR);
	/* DISCARD takes no flags; ranges past the end are errors; zero sectors are fine. */
	assert_int_equal(blk_discard(&v, VIRTIO_BLK_T_DISCARD, 0, 1, 1), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(blk_discard(&v, VIRTIO_BLK_T_DISCARD, DISK_SECTORS - 1, 2, 0),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(blk_discard(&v, VIRTIO_BLK_T_WRITE_ZEROES, DISK_SECTORS, 0, 0),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(blk_discard(&v, VIRTIO_BLK_T_DISCARD, UINT64_MAX, 1, 0),
			 VIRTIO_BLK_S_IOERR);
	/* Without discard=unmap the device does neither. */
	assert_int_equal(blk_discard(&plain, VIRTIO_BLK_T_DISCARD, 0, 1, 0), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(blk_discard(&plain, VIRTIO_BLK_T_WRITE_ZEROES, 0, 1, 0),
			 VIRTIO_BLK_S_UNSUPP);
}

static void test_request_errors(void **state)
{
	struct harness *h = *state;
	static uint8_t before[2 * SECTOR], after[2 * SECTOR];
	struct drive_config *d;
	struct vdev v, ro;
	uint32_t used;

	blk_open(h, &v, "");
	d = h_add_drive(h, "d1", DISK_SIZE);
	d->readonly = true;
	assert_int_equal(h_device(h, "virtio-blk-pci,drive=d1"), 0);
	vdev_open(&ro, h, h_find(h, DEV_BLK, 1));
	vdev_start(&v, 0, QSIZE);
	vdev_start(&ro, 1ULL << VIRTIO_BLK_F_RO, QSIZE);

	/* Reads that run past the end, or start there: IOERR, nothing written. */
	memset(h_ptr(h, DATA_GPA), 0x5a, 2 * SECTOR);
	assert_int_equal(blk_req(&v, VIRTIO_BLK_T_IN, DISK_SECTORS - 1,
				 &(struct vbuf){ DATA_GPA, 2 * SECTOR, true }, 1, &used),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	assert_true(all_bytes(h_ptr(h, DATA_GPA), 2 * SECTOR, 0x5a));
	assert_int_equal(blk_req(&v, VIRTIO_BLK_T_IN, DISK_SECTORS,
				 &(struct vbuf){ DATA_GPA, SECTOR, true }, 1, &used),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(blk_req(&v, VIRTIO_BLK_T_OUT, UINT64_MAX / SECTOR,
				 &(struct vbuf){ DATA_GPA, SECTOR, false }, 1, &used),
			 VIRTIO_BLK_S_IOERR);
	/* Not a whole number of sectors. */
	assert_int_equal(
		blk_req(&v, VIRTIO_BLK_T_IN, 0, &(struct vbuf){ DATA_GPA, 100, true }, 1, &used),
		VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	/* Unknown types. */
	assert_int_equal(blk_req(&v, 99, 0, NULL, 0, &used), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(used, 1);
	assert_int_equal(blk_req(&v, 2, 0, &(struct vbuf){ DATA_GPA, SECTOR, true }, 1, &used),
			 VIRTIO_BLK_S_UNSUPP);
	/* Read-only: OUT fails and the file stays as it was; IN still works. */
	file_read(d, before, sizeof(before), 0);
	fill(h, DATA_GPA, 2 * SECTOR, 4);
	assert_int_equal(blk_req(&ro, VIRTIO_BLK_T_OUT, 0,
				 &(struct vbuf){ DATA_GPA, 2 * SECTOR, false }, 1, &used),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	file_read(d, after, sizeof(after), 0);
	assert_memory_equal(before, after, sizeof(before));
	assert_int_equal(blk_req(&ro, VIRTIO_BLK_T_IN, 0,
				 &(struct vbuf){ DATA_GPA, 2 * SECTOR, true }, 1, &used),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(h_ptr(h, DATA_GPA), before, sizeof(before));
	assert_int_equal(blk_discard(&ro, VIRTIO_BLK_T_WRITE_ZEROES, 0, 1, 0), VIRTIO_BLK_S_UNSUPP);
	/* None of this needs a reset. */
	assert_int_equal(vr_read(&v, H_STATUS, 1), 0x0f);
	assert_int_equal(vr_read(&ro, H_STATUS, 1), 0x0f);
}

/* The driver broke the rules with a chain already made available: NEEDS_RESET, no used entry. */
static void expect_needs_reset(struct vdev *v, unsigned int line)
{
	struct harness *h = v->h;

	vdev_kick(v);
	vdev_settle(v);
	assert_int_equal(vr_read(v, H_STATUS, 1), 0x0f | VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(vdev_used(v)->idx, v->used_seen);
	/* A configuration interrupt (INTx: ISR bit 1). */
	assert_int_equal(h->host.line[line], 1);
	assert_true(vr_read(v, H_ISR_OFF, 1) & 2);
	assert_int_equal(h->host.line[line], 0);
	/* The driver cannot clear it; more kicks change nothing. */
	vr_write(v, H_STATUS, 0x0f, 1);
	assert_int_equal(vr_read(v, H_STATUS, 1), 0x0f | VIRTIO_STATUS_NEEDS_RESET);
	vdev_kick(v);
	vdev_settle(v);
	assert_int_equal(vdev_used(v)->idx, v->used_seen);
	/* A reset and a new start-up: it works again. */
	vdev_start(v, 0, QSIZE);
	assert_int_equal(blk_req(v, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(vr_read(v, H_ISR_OFF, 1), 1);
}

static void test_malformed_requests(void **state)
{
	struct harness *h = *state;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct vdev v;
	unsigned int line;

	blk_open(h, &v, "");
	line = h_cfg_read(h, v.slot, PCI_INTERRUPT_LINE, 1) - PCI_INTX_GSI_BASE;
	vdev_start(&v, 0, QSIZE);
	put_hdr(h, VIRTIO_BLK_T_FLUSH, 0);
	/* No status byte. */
	vdev_add(&v, &(struct vbuf){ HDR_GPA, 16, false }, 1);
	expect_needs_reset(&v, line);
	/* A short header. */
	vdev_add(&v, (struct vbuf[]){ { HDR_GPA, 8, false }, { STATUS_GPA, 1, true } }, 2);
	expect_needs_reset(&v, line);
	/* Only a status byte. */
	vdev_add(&v, &(struct vbuf){ STATUS_GPA, 1, true }, 1);
	expect_needs_reset(&v, line);
	/* A descriptor loop. */
	desc = vdev_desc(&v);
	desc[0] = (struct virtq_desc){ HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1 };
	desc[1] = (struct virtq_desc){ DATA_GPA, SECTOR, VIRTQ_DESC_F_NEXT, 0 };
	avail = vdev_avail(&v);
	avail->ring[avail->idx++ % QSIZE] = 0;
	expect_needs_reset(&v, line);
	/* A buffer outside RAM, and one that runs off its end. */
	vdev_add(&v,
		 (struct vbuf[]){ { HDR_GPA, 16, false },
				  { 0x80000000, SECTOR, true },
				  { STATUS_GPA, 1, true } },
		 3);
	expect_needs_reset(&v, line);
	vdev_add(&v,
		 (struct vbuf[]){ { HDR_GPA, 16, false },
				  { H_RAM_SIZE - 256, SECTOR, true },
				  { STATUS_GPA, 1, true } },
		 3);
	expect_needs_reset(&v, line);
	/* A head index past the queue. */
	avail->ring[avail->idx++ % QSIZE] = QSIZE + 3;
	expect_needs_reset(&v, line);
	/* Rings outside RAM: enabling the queue already needs a reset. */
	assert_true(vdev_negotiate(&v, VERSION_1));
	vr_write(&v, H_Q_DESC, 0x7fff0000, 8);
	vr_write(&v, H_Q_AVAIL, v.ring + H_AVAIL_OFF, 8);
	vr_write(&v, H_Q_USED, v.ring + H_USED_OFF, 8);
	vr_write(&v, H_Q_ENABLE, 1, 2);
	assert_true(vr_read(&v, H_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	vdev_start(&v, 0, QSIZE);
	assert_int_equal(blk_req(&v, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), VIRTIO_BLK_S_OK);
}

/* The first gpa at or after @from whose host address is @misalign past an @align boundary. */
static uint64_t host_aligned_gpa(struct harness *h, uint64_t from, uintptr_t align,
				 uintptr_t misalign)
{
	uintptr_t a = (uintptr_t)h_ptr(h, from);

	return from + (align - a % align) % align + misalign;
}

static void test_cache_none_bounce(void **state)
{
	struct harness *h = *state;
	static uint8_t file[4 * SECTOR];
	struct drive_config *d = h_add_drive(h, "d0", DISK_SIZE);
	uint64_t odd = host_aligned_gpa(h, DATA_GPA, 4096, 1);
	uint64_t in_odd = host_aligned_gpa(h, DATA2_GPA, 4096, 3);
	uint64_t in_al = host_aligned_gpa(h, DATA2_GPA + 0x8000, 4096, 0);
	struct vdev v;
	uint32_t used;
	int ret;

	d->cache_none = true;
	ret = h_device(h, "virtio-blk-pci,drive=d0");
	if (ret) {
		print_message("cache=none not supported under /tmp: %s\n", err_msg(ret));
		skip();
	}
	vdev_open(&v, h, h_find(h, DEV_BLK, 0));
	vdev_start(&v, 0, QSIZE);
	/* Unaligned buffers of unaligned lengths: the device bounces them. */
	fill(h, odd, 4 * SECTOR, 5);
	assert_int_equal(blk_req(&v, VIRTIO_BLK_T_OUT, 3,
				 (struct vbuf[]){ { odd, 300, false },
						  { odd + 300, 4 * SECTOR - 300, false } },
				 2, &used),
			 VIRTIO_BLK_S_OK);
	file_read(d, file, sizeof(file), 3 * SECTOR);
	assert_memory_equal(file, h_ptr(h, odd), sizeof(file));
	memset(h_ptr(h, in_odd), 0, 4 * SECTOR);
	assert_int_equal(blk_req(&v, VIRTIO_BLK_T_IN, 3,
				 (struct vbuf[]){ { in_odd, 1000, true },
						  { in_odd + 1000, 4 * SECTOR - 1000, true } },
				 2, &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(used, 4 * SECTOR + 1);
	assert_memory_equal(h_ptr(h, in_odd), file, sizeof(file));
	/* Aligned ones go straight through. */
	memset(h_ptr(h, in_al), 0, 4 * SECTOR);
	assert_int_equal(blk_req(&v, VIRTIO_BLK_T_IN, 3, &(struct vbuf){ in_al, 4 * SECTOR, true },
				 1, &used),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(h_ptr(h, in_al), file, sizeof(file));
	assert_int_equal(blk_req(&v, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), VIRTIO_BLK_S_OK);
}

/* MSI-X on, vector 1 programmed and unmasked, and queue 0 on it: the eventfd it fires. */
static int msix_setup(struct harness *h, struct vdev *v)
{
	/* The device's routes were allocated in order: vector 1 is the second. */
	int fd = h->host.fd[1];

	assert_true(fd >= 0);
	h_cfg_write(h, v->slot, v->msix_cap + 2, PCI_MSIX_CTRL_ENABLE, 2);
	vr_write(v, H_MSIX, 0, 2);
	vr_write(v, H_Q_SELECT, 0, 2);
	vr_write(v, H_Q_MSIX, 1, 2);
	assert_int_equal(vr_read(v, H_Q_MSIX, 2), 1);
	vmsix_write(v, 16 + 0, 0xfee00000);
	vmsix_write(v, 16 + 4, 0);
	vmsix_write(v, 16 + 8, 0x41);
	vmsix_write(v, 16 + 12, 0); /* unmask */
	return fd;
}

static void test_msix_interrupts(void **state)
{
	struct harness *h = *state;
	struct vdev v;
	unsigned int line;
	int fd;

	blk_open(h, &v, "");
	line = h_cfg_read(h, v.slot, PCI_INTERRUPT_LINE, 1) - PCI_INTX_GSI_BASE;
	vdev_setup(&v, 0, QSIZE);
	fd = msix_setup(h, &v);
	vdev_driver_ok(&v);
	vdev_settle(&v);
	h_eventfd_count(fd); /* whatever DRIVER_OK sent: test_no_spurious_interrupts */
	assert_int_equal(blk_req(&v, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), VIRTIO_BLK_S_OK);
	assert_true(h_eventfd_count(fd) >= 1);
	assert_int_equal(h_eventfd_count(h->host.fd[0]), 0);
	assert_int_equal(h->host.line[line], 0);
	assert_int_equal(vr_read(&v, H_ISR_OFF, 1), 0);
	/* Masked: pending in the PBA, delivered once on unmask. */
	vmsix_write(&v, 16 + 12, PCI_MSIX_VECTOR_MASK);
	assert_int_equal(blk_req(&v, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(h_eventfd_count(fd), 0);
	assert_int_equal(vmsix_read(&v, 0x800), 2);
	vmsix_write(&v, 16 + 12, 0);
	assert_int_equal(h_eventfd_count(fd), 1);
	assert_int_equal(vmsix_read(&v, 0x800), 0);
	/* NO_INTERRUPT suppresses it. */
	vdev_avail(&v)->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	assert_int_equal(blk_req(&v, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(h_eventfd_count(fd), 0);
	vdev_avail(&v)->flags = 0;
	/* No vector for the queue: no interrupt at all, and no INTx either. */
	vr_write(&v, H_Q_MSIX, VIRTIO_NO_VECTOR, 2);
	assert_int_equal(blk_req(&v, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(h_eventfd_count(fd), 0);
	assert_int_equal(h->host.line[line], 0);
	assert_int_equal(vr_read(&v, H_ISR_OFF, 1), 0);
}

/*
 * An interrupt means used buffers (or a config change): none at DRIVER_OK
 * with an empty ring, and one per completed batch, not an extra one for the
 * kick that queued it.
 */
static void test_no_spurious_interrupts(void **state)
{
	struct harness *h = *state;
	struct vdev v, rng;
	unsigned int line;
	int fd;

	blk_open(h, &v, "");
	vdev_setup(&v, 0, QSIZE);
	fd = msix_setup(h, &v);
	vdev_driver_ok(&v);
	vdev_settle(&v);
	assert_int_equal(h_eventfd_count(fd), 0);
	/* Completed by the backend (asynchronously), and by the device itself. */
	assert_int_equal(blk_req(&v, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), VIRTIO_BLK_S_OK);
	vdev_settle(&v);
	assert_int_equal(h_eventfd_count(fd), 1);
	assert_int_equal(
		blk_req(&v, VIRTIO_BLK_T_GET_ID, 0, &(struct vbuf){ DATA_GPA, 20, true }, 1, NULL),
		VIRTIO_BLK_S_OK);
	vdev_settle(&v);
	assert_int_equal(h_eventfd_count(fd), 1);
	/* INTx: virtio-rng at DRIVER_OK. */
	assert_int_equal(h_device(h, "virtio-rng-pci"), 0);
	vdev_open(&rng, h, h_find(h, DEV_RNG, 0));
	line = h_cfg_read(h, rng.slot, PCI_INTERRUPT_LINE, 1) - PCI_INTX_GSI_BASE;
	vdev_start(&rng, 0, QSIZE);
	vdev_settle(&rng);
	assert_int_equal(h->host.line[line], 0);
	assert_int_equal(vr_read(&rng, H_ISR_OFF, 1), 0);
}

static void test_intx_interrupts(void **state)
{
	struct harness *h = *state;
	struct vdev v;
	unsigned int line;

	blk_open(h, &v, "");
	line = h_cfg_read(h, v.slot, PCI_INTERRUPT_LINE, 1) - PCI_INTX_GSI_BASE;
	vdev_start(&v, 0, QSIZE);
	vr_read(&v, H_ISR_OFF, 1); /* whatever DRIVER_OK sent: test_no_spurious_interrupts */
	assert_int_equal(h->host.line[line], 0);
	assert_int_equal(blk_req(&v, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(h->host.line[line], 1);
	assert_true(h_cfg_read(h, v.slot, PCI_STATUS, 2) & PCI_STATUS_INTX);
	/* Reading the ISR returns the queue bit, clears it and lowers the line. */
	assert_int_equal(vr_read(&v, H_ISR_OFF, 1), 1);
	assert_int_equal(h->host.line[line], 0);
	assert_int_equal(vr_read(&v, H_ISR_OFF, 4), 0);
	assert_false(h_cfg_read(h, v.slot, PCI_STATUS, 2) & PCI_STATUS_INTX);
	/* Suppressed by the driver: the request completes silently. */
	vdev_avail(&v)->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	assert_int_equal(blk_req(&v, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(
		blk_req(&v, VIRTIO_BLK_T_GET_ID, 0, &(struct vbuf){ DATA_GPA, 20, true }, 1, NULL),
		VIRTIO_BLK_S_OK);
	assert_int_equal(h->host.line[line], 0);
	assert_int_equal(vr_read(&v, H_ISR_OFF, 1), 0);
	vdev_avail(&v)->flags = 0;
	/* A reset lowers a pending line. */
	assert_int_equal(blk_req(&v, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(h->host.line[line], 1);
	vr_write(&v, H_STATUS, 0, 1);
	assert_int_equal(h->host.line[line], 0);
	assert_int_equal(vr_read(&v, H_ISR_OFF, 1), 0);
}

/* EVENT_IDX: an interrupt only when used_event is crossed. */
static void test_event_idx(void **state)
{
	struct harness *h = *state;
	struct vdev v;
	unsigned int line;
	uint16_t *used_event;

	blk_open(h, &v, "");
	line = h_cfg_read(h, v.slot, PCI_INTERRUPT_LINE, 1) - PCI_INTX_GSI_BASE;
	vdev_start(&v, 1ULL << VIRTIO_F_RING_EVENT_IDX, QSIZE);
	used_event = &vdev_avail(&v)->ring[QSIZE];
	*used_event = 0;
	/* The first completion always interrupts. */
	assert_int_equal(blk_req(&v, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(h->host.line[line], 1);
	assert_int_equal(vr_read(&v, H_ISR_OFF, 1), 1);
	/* Then only when the used index passes used_event: after entry 2, not entry 1. */
	*used_event = 2;
	assert_int_equal(blk_req(&v, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(h->host.line[line], 0);
	assert_int_equal(blk_req(&v, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(h->host.line[line], 1);
	assert_int_equal(vr_read(&v, H_ISR_OFF, 1), 1);
	/* A used_event already behind: no interrupt. */
	assert_int_equal(blk_req(&v, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(h->host.line[line], 0);
}

static void test_rng(void **state)
{
	struct harness *h = *state;
	uint8_t *buf = h_ptr(h, DATA_GPA);
	struct vdev v;

	assert_int_equal(h_device(h, "virtio-rng-pci"), 0);
	vdev_open(&v, h, h_find(h, DEV_RNG, 0));
	assert_int_equal(vdev_features(&v), VERSION_1 | 1ULL << VIRTIO_F_RING_EVENT_IDX |
						    1ULL << VIRTIO_F_RING_INDIRECT_DESC);
	assert_int_equal(vr_read(&v, H_Q_SIZE, 2), 64);
	vdev_start(&v, 0, QSIZE);
	memset(buf, 0, 128);
	assert_int_equal(vdev_run(&v, &(struct vbuf){ DATA_GPA, 64, true }, 1), 64);
	assert_false(all_bytes(buf, 64, 0)); /* 2^-512 to fail by chance */
	assert_true(all_bytes(buf + 64, 64, 0));
	/* Two buffers in one chain. */
	memset(buf, 0, 128);
	assert_int_equal(
		vdev_run(&v, (struct vbuf[]){ { DATA_GPA, 32, true }, { DATA_GPA + 64, 32, true } },
			 2),
		64);
	assert_false(all_bytes(buf, 32, 0));
	assert_false(all_bytes(buf + 64, 32, 0));
	assert_true(all_bytes(buf + 32, 32, 0));
	/* Readable buffers get nothing. */
	assert_int_equal(vdev_run(&v, &(struct vbuf){ DATA_GPA, 64, false }, 1), 0);
	/* A loop puts it in NEEDS_RESET too. */
	*vdev_desc(&v) =
		(struct virtq_desc){ DATA_GPA, 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0 };
	vdev_avail(&v)->ring[vdev_avail(&v)->idx++ % QSIZE] = 0;
	vdev_kick(&v);
	vdev_settle(&v);
	assert_true(vr_read(&v, H_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
}

/*
 * A virtio-pci device whose MSI-X setup fails must not stay plugged into the
 * bus: virtio_pci_create() frees it, and a slot left pointing at it would be
 * read by the next config access to that slot.
 */
static void test_create_failure_unplugs(void **state)
{
	struct harness *h = *state;

	h_add_drive(h, "d0", DISK_SIZE);
	h->host.fail_alloc_at = 2; /* the second MSI-X vector's route */
	assert_int_not_equal(h_device(h, "virtio-blk-pci,drive=d0"), 0);
	for (unsigned int s = 0; s < PCI_NR_SLOTS; s++) {
		if (h->pci.slots[s])
			fail_msg("slot %u still holds the freed device", s);
	}
}

/*
 * queue_select may name a queue that does not exist (4.1.4.3.1): its size
 * reads 0 and its fields take no writes.  Last in the list: the transport
 * indexing its queue array with such a value stops the UBSan build here.
 */
static void test_queue_select_out_of_range(void **state)
{
	struct harness *h = *state;
	struct vdev v;

	blk_open(h, &v, "");
	assert_true(vdev_negotiate(&v, VERSION_1));
	/* Queues that do not exist have size 0 and take no writes. */
	for (unsigned int sel = 1; sel <= 0xffff; sel = sel * 3 + 2) {
		vr_write(&v, H_Q_SELECT, sel, 2);
		vr_write(&v, H_Q_SIZE, 8, 2);
		vr_write(&v, H_Q_ENABLE, 1, 2);
		assert_int_equal(vr_read(&v, H_Q_SELECT, 2), sel);
		assert_int_equal(vr_read(&v, H_Q_SIZE, 2), 0);
		assert_int_equal(vr_read(&v, H_Q_ENABLE, 2), 0);
	}
	vr_write(&v, H_Q_SELECT, 0, 2);
	assert_int_equal(vr_read(&v, H_Q_SIZE, 2), 256);
	assert_int_equal(vr_read(&v, H_Q_ENABLE, 2), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_caps_and_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_feature_negotiation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_get_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discard_write_zeroes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_none_bounce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix_interrupts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_interrupts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_spurious_interrupts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rng, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_failure_unplugs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_select_out_of_range, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
