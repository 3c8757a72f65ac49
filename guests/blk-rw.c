// SPDX-License-Identifier: MIT
/*
 * virtio-blk functional test: writes a pattern to sectors spread over the
 * disk in requests of several shapes, reads it back, and checks FLUSH,
 * GET_ID, DISCARD, WRITE_ZEROES, a read past the end and read-only disks.
 * Command line:
 *   ro=1              the disk is read-only: expect RO and failing writes
 *   expect-serial=S   GET_ID must return S
 *   irq=msix          wait for completions with MSI-X interrupts (hlt at
 *                     CPL0) instead of polling at CPL3
 * Prints "blk-rw: PASS|FAIL <check>" per check, "blk-rw: pattern <sector>
 * <count>" for each range that holds the pattern at the end, and
 * "blk-rw: N passed, M failed"; exits 0 if nothing failed, else 1.
 * Sector s holds 64 little-endian u64 words, word w = s << 16 | w << 8 | 0x5a.
 */
#include "mm.h"
#include "virtio_blk.h"

#include <errno.h>

#define IO_TICKS    10000000000ULL /* 3 s or more: a hung request fails its check */
#define MSIX_VEC    0x40
#define BUF_BYTES   (160 * 1024)
#define MIN_SECTORS 8192 /* the fixed test sectors below need 4 MiB */

static struct blk_dev blk;
static int passed, failed;
static bool use_irq, read_only;
static uint8_t *wbuf, *rbuf; /* BUF_BYTES each */

static void report(bool ok, const char *check, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(bool ok, const char *check, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		passed++;
		printf("blk-rw: PASS %s\n", check);
		return;
	}
	failed++;
	printf("blk-rw: FAIL %s: ", check);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static uint64_t pattern_word(uint64_t sector, unsigned int w)
{
	return sector << 16 | (uint64_t)w << 8 | 0x5a;
}

static void fill_pattern(void *buf, uint64_t sector, uint32_t count)
{
	uint64_t *p = buf;

	for (uint32_t s = 0; s < count; s++)
		for (unsigned int w = 0; w < BLK_SECTOR / 8; w++)
			*p++ = pattern_word(sector + s, w);
}

/* Index + 1 of the first sector that is not the pattern (zeros if @zero), 0 if all are. */
static uint32_t check_sectors(const void *buf, uint64_t sector, uint32_t count, bool zero)
{
	const uint64_t *p = buf;

	for (uint32_t s = 0; s < count; s++)
		for (unsigned int w = 0; w < BLK_SECTOR / 8; w++)
			if (*p++ != (zero ? 0 : pattern_word(sector + s, w)))
				return s + 1;
	return 0;
}

/* The byte loops run at CPL3 (native on PVM hosts). */
enum loop_kind { LOOP_FILL, LOOP_CHECK, LOOP_CHECK_ZERO, LOOP_CLEAR };

struct loop {
	enum loop_kind kind;
	void *buf;
	uint64_t sector;
	uint32_t count;
};

static long loop_run(void *arg)
{
	struct loop *l = arg;

	switch (l->kind) {
	case LOOP_FILL:
		fill_pattern(l->buf, l->sector, l->count);
		return 0;
	case LOOP_CHECK:
	case LOOP_CHECK_ZERO:
		return check_sectors(l->buf, l->sector, l->count, l->kind == LOOP_CHECK_ZERO);
	case LOOP_CLEAR:
		memset(l->buf, 0xee, l->count * BLK_SECTOR);
		return 0;
	}
	return 0;
}

static uint32_t loop(enum loop_kind kind, void *buf, uint64_t sector, uint32_t count)
{
	struct loop l = { kind, buf, sector, count };

	return run_user(loop_run, &l);
}

struct io_args {
	uint32_t type;
	uint64_t sector;
	const struct virtq_buf *bufs;
	unsigned int n;
	bool indirect;
};

static long io_run(void *arg)
{
	struct io_args *a = arg;

	return blk_io(&blk, a->type, a->sector, a->bufs, a->n, a->indirect, IO_TICKS);
}

/* Polling spins at CPL3; with MSI-X the wait is a hlt, at CPL0. */
static int io(uint32_t type, uint64_t sector, const struct virtq_buf *bufs, unsigned int n,
	      bool indirect)
{
	struct io_args a = { type, sector, bufs, n, indirect };

	return use_irq ? io_run(&a) : run_user(io_run, &a);
}

/* One buffer split at size_max (if the device has one). */
static unsigned int split(struct virtq_buf *bufs, void *buf, uint32_t len)
{
	uint32_t max = blk.size_max ? blk.size_max & ~(BLK_SECTOR - 1) : len;
	unsigned int n = 0;

	for (uint32_t off = 0; off < len && n < BLK_MAX_BUFS; off += max, n++)
		bufs[n] = (struct virtq_buf){ (uintptr_t)buf + off,
					      len - off < max ? len - off : max, false };
	return n;
}

static int read_back(uint64_t sector, uint32_t count)
{
	struct virtq_buf bufs[BLK_MAX_BUFS];

	loop(LOOP_CLEAR, rbuf, 0, count);
	return io(VIRTIO_BLK_T_IN, sector, bufs, split(bufs, rbuf, count * BLK_SECTOR), false);
}

/*
 * Write the pattern to @count sectors at @sector through buffers of the
 * given sector counts at scattered (misaligned) places of wbuf, read it back
 * in one request and compare.
 */
static void write_check(const char *name, uint64_t sector, const uint32_t *pieces, unsigned int n,
			bool indirect)
{
	struct virtq_buf bufs[BLK_MAX_BUFS];
	uint32_t count = 0, off = 0, bad;
	int st;

	for (unsigned int i = 0; i < n; i++) {
		/* 512 bytes of gap before each piece: no two pieces are adjacent in memory */
		off += BLK_SECTOR;
		loop(LOOP_FILL, wbuf + off, sector + count, pieces[i]);
		bufs[i] =
			(struct virtq_buf){ (uintptr_t)wbuf + off, pieces[i] * BLK_SECTOR, false };
		off += pieces[i] * BLK_SECTOR;
		count += pieces[i];
	}
	if (n == 1)
		n = split(bufs, (void *)(uintptr_t)bufs[0].addr, bufs[0].len);
	st = io(VIRTIO_BLK_T_OUT, sector, bufs, n, indirect);
	if (st != VIRTIO_BLK_S_OK) {
		report(false, name, "write of %u sectors at %lu: status %d", count, sector, st);
		return;
	}
	st = read_back(sector, count);
	if (st != VIRTIO_BLK_S_OK) {
		report(false, name, "read of %u sectors at %lu: status %d", count, sector, st);
		return;
	}
	bad = loop(LOOP_CHECK, rbuf, sector, count);
	report(!bad, name, "sector %lu reads back wrong", sector + bad - 1);
}

static void check_flush(void)
{
	int st;

	if (!blk_has(&blk, VIRTIO_BLK_F_FLUSH)) {
		report(false, "flush", "FLUSH not offered");
		return;
	}
	st = io(VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false);
	report(st == VIRTIO_BLK_S_OK, "flush", "status %d", st);
}

static void check_get_id(void)
{
	char id[VIRTIO_BLK_ID_BYTES + 1] = { 0 };
	struct virtq_buf buf = { (uintptr_t)id, VIRTIO_BLK_ID_BYTES, false };
	const char *want;
	size_t want_len;
	int st = io(VIRTIO_BLK_T_GET_ID, 0, &buf, 1, false);

	if (st != VIRTIO_BLK_S_OK) {
		report(false, "get-id", "status %d", st);
		return;
	}
	printf("blk-rw: id '%s'\n", id);
	if (!cmdline_get("expect-serial", &want, &want_len)) {
		report(true, "get-id", "-");
		return;
	}
	/* Shorter IDs are NUL-padded; longer serials are cut at 20 bytes. */
	if (want_len > VIRTIO_BLK_ID_BYTES)
		want_len = VIRTIO_BLK_ID_BYTES;
	report(!memcmp(id, want, want_len) && (want_len == VIRTIO_BLK_ID_BYTES || !id[want_len]),
	       "get-id", "id '%s', expected '%.*s'", id, (int)want_len, want);
}

static void check_read_past_end(void)
{
	struct virtq_buf buf = { (uintptr_t)rbuf, BLK_SECTOR, false };
	int st = io(VIRTIO_BLK_T_IN, blk.capacity, &buf, 1, false);

	report(st == VIRTIO_BLK_S_IOERR, "read-past-end", "status %d, expected IOERR", st);
}

static void check_discard(void)
{
	struct virtio_blk_dwz seg = { 3000, 16, 0 };
	struct virtq_buf buf = { (uintptr_t)&seg, sizeof(seg), false };
	int st;

	if (!blk_has(&blk, VIRTIO_BLK_F_DISCARD)) {
		printf("blk-rw: SKIP discard (not offered)\n");
		return;
	}
	st = io(VIRTIO_BLK_T_DISCARD, 0, &buf, 1, false);
	report(st == VIRTIO_BLK_S_OK, "discard", "status %d", st);
}

static void check_write_zeroes(void)
{
	static const uint32_t one = 16;
	struct virtio_blk_dwz seg = { 4000, 16, 0 };
	struct virtq_buf buf = { (uintptr_t)&seg, sizeof(seg), false };
	uint32_t bad;
	int st;

	if (!blk_has(&blk, VIRTIO_BLK_F_WRITE_ZEROES)) {
		printf("blk-rw: SKIP write-zeroes (not offered)\n");
		return;
	}
	write_check("write-zeroes-setup", 4000, &one, 1, false);
	st = io(VIRTIO_BLK_T_WRITE_ZEROES, 0, &buf, 1, false);
	if (st != VIRTIO_BLK_S_OK) {
		report(false, "write-zeroes", "status %d", st);
		return;
	}
	st = read_back(4000, 16);
	bad = st ? 0 : loop(LOOP_CHECK_ZERO, rbuf, 4000, 16);
	report(!st && !bad, "write-zeroes", "read status %d, first non-zero sector index %u", st,
	       bad);
}

/* A write to a read-only disk fails with IOERR and changes nothing. */
static void check_ro(void)
{
	struct virtq_buf buf = { (uintptr_t)wbuf, BLK_SECTOR, false };
	int st;

	report(blk_has(&blk, VIRTIO_BLK_F_RO), "ro-feature", "RO not offered");
	st = read_back(0, 1);
	if (st != VIRTIO_BLK_S_OK) {
		report(false, "ro-write", "first read: status %d", st);
		return;
	}
	memcpy(wbuf + BLK_SECTOR, rbuf, BLK_SECTOR);
	for (unsigned int i = 0; i < BLK_SECTOR; i++)
		wbuf[i] = rbuf[i] ^ 0xff;
	st = io(VIRTIO_BLK_T_OUT, 0, &buf, 1, false);
	if (st != VIRTIO_BLK_S_IOERR) {
		report(false, "ro-write", "write status %d, expected IOERR", st);
		return;
	}
	st = read_back(0, 1);
	report(st == VIRTIO_BLK_S_OK && !memcmp(rbuf, wbuf + BLK_SECTOR, BLK_SECTOR), "ro-write",
	       "read after the write: status %d, %s", st,
	       memcmp(rbuf, wbuf + BLK_SECTOR, BLK_SECTOR) ? "data changed" : "data unchanged");
}

static void check_rw(void)
{
	static const uint32_t single = 1, eight = 8, big = 128, chain[] = { 1, 7, 16 },
			      ind[] = { 3, 1, 4, 1, 5, 2 };
	uint64_t mid = (blk.capacity / 2) & ~7ULL;

	write_check("rw-first", 0, &single, 1, false);
	write_check("rw-cross-4k", 7, &eight, 1, false);
	write_check("rw-128", mid, &big, 1, false);
	write_check("rw-last", blk.capacity - 1, &single, 1, false);
	write_check("rw-chain", 1000, chain, ARRAY_SIZE(chain), false);
	if (blk_has(&blk, VIRTIO_F_INDIRECT_DESC))
		write_check("rw-indirect", 2000, ind, ARRAY_SIZE(ind), true);
	else
		printf("blk-rw: SKIP rw-indirect (not offered)\n");
	printf("blk-rw: pattern 0 1\nblk-rw: pattern 7 8\nblk-rw: pattern %lu 128\n", mid);
	printf("blk-rw: pattern %lu 1\nblk-rw: pattern 1000 24\n", blk.capacity - 1);
	if (blk_has(&blk, VIRTIO_F_INDIRECT_DESC))
		printf("blk-rw: pattern 2000 16\n");
}

static void run_checks(void)
{
	if (read_only)
		check_ro();
	else
		check_rw();
	check_flush();
	check_get_id();
	if (!read_only) {
		check_discard();
		check_write_zeroes();
	}
	check_read_past_end();
}

static long setup(void *arg)
{
	int ret = blk_init(&blk, BLK_FEATURES, 0, use_irq);

	(void)arg;
	if (ret)
		return ret;
	wbuf = mm_alloc(BUF_BYTES, 4096);
	rbuf = mm_alloc(BUF_BYTES, 4096);
	return wbuf && rbuf ? 0 : -ENOMEM;
}

static void msix_handler(struct trap_frame *tf)
{
	(void)tf;
	blk_irq(&blk);
}

int main(void)
{
	const char *v;
	size_t len;
	long ret;

	use_irq = cmdline_get("irq", &v, &len) && len == 4 && !memcmp(v, "msix", 4);
	read_only = cmdline_get("ro", &v, &len) && len == 1 && *v == '1';
	ret = blk_probe(&blk);
	if (ret) {
		printf("blk-rw: FAIL probe: no virtio-blk device (%ld)\n", ret);
		return GUEST_EXIT_FAIL;
	}
	printf("blk-rw: device %04x:%04x at slot %u\n", blk.vd.pci.vendor, blk.vd.pci.device,
	       blk.vd.pci.slot);
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++)
		if (blk.vd.pci.bar[i].size)
			printf("blk-rw: BAR%u %s %#lx size %#lx\n", i,
			       blk.vd.pci.bar[i].io ? "io" : "mem", blk.vd.pci.bar[i].addr,
			       blk.vd.pci.bar[i].size);
	if (use_irq) {
		pic_init(); /* software-enables the local APIC */
		trap_register(MSIX_VEC, msix_handler);
		ret = virtio_msix_setup(&blk.vd, 0, lapic_id(), MSIX_VEC);
		if (ret) {
			printf("blk-rw: FAIL msix: no MSI-X (%ld)\n", ret);
			return GUEST_EXIT_FAIL;
		}
	}
	ret = run_user(setup, NULL);
	if (ret) {
		printf("blk-rw: FAIL init: %ld\n", ret);
		return GUEST_EXIT_FAIL;
	}
	printf("blk-rw: capacity %lu sectors, features %#lx (device %#lx), seg_max %u size_max %u "
	       "blk_size %u queue %u\n",
	       blk.capacity, blk.vd.features, virtio_device_features(&blk.vd), blk.seg_max,
	       blk.size_max, blk.blk_size, blk.q->size);
	if (blk.capacity < MIN_SECTORS) {
		printf("blk-rw: FAIL capacity: %lu sectors, need %u\n", blk.capacity, MIN_SECTORS);
		return GUEST_EXIT_FAIL;
	}
	/* Checks and printing at CPL0: port I/O from CPL3 faults on PVM hosts despite IOPL 3. */
	run_checks();
	if (use_irq)
		report(blk.irqs > 0, "msix", "no MSI-X interrupt taken");
	printf("blk-rw: %d passed, %d failed\n", passed, failed);
	return failed ? GUEST_EXIT_FAIL : GUEST_EXIT_OK;
}
