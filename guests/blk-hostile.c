// SPDX-License-Identifier: MIT
/*
 * virtio-blk robustness: for each case, a freshly initialised device gets
 * one malformed descriptor chain and a kick; the device must set
 * NEEDS_RESET (device_status 0x40) within HOSTILE_TICKS.  Then the guest
 * resets and re-initialises it and a good read of sector 0 must succeed.
 * Command line:
 *   cases=a,b,...   run only these cases (default: all)
 *   vmm=qemu        a case QEMU does not flag is reported as QEMU-LENIENT
 *                   instead of FAIL (the device still must not hang)
 * Prints "blk-hostile: PASS|FAIL|SKIP <case>[: detail]" (or QEMU-LENIENT) per
 * case and "blk-hostile: N passed, M failed, L lenient, S skipped"; exits 0
 * if nothing failed, else 1.
 */
#include "mm.h"
#include "virtio_blk.h"

#include <errno.h>

#define HOSTILE_TICKS 2000000000ULL /* ~0.8 s at 2.6 GHz to flag NEEDS_RESET */
#define IO_TICKS      10000000000ULL
#define QSIZE	      16
#define OOB_ADDR      0x7000000000ULL
#define HUGE_LEN      0xfffffff0U
#define DATA_BYTES    4096

enum outcome { OUT_FLAGGED, OUT_COMPLETED, OUT_IGNORED, OUT_SKIP, OUT_SETUP };

struct result {
	enum outcome outcome;
	int init_err;	    /* blk_init before the case */
	uint8_t status;	    /* device_status at the end of the wait */
	uint8_t req_status; /* the request's status byte if it completed */
	int recover_err;    /* re-init after the reset */
	int read_status;    /* the good read afterwards */
	uint64_t ticks;	    /* until NEEDS_RESET */
};

struct hostile_case {
	const char *name;
	/* Builds and publishes a bad chain; false if the device lacks a needed feature. */
	bool (*build)(struct virtq *q);
};

static struct blk_dev blk;
static struct virtio_blk_hdr *hdr;
static uint8_t *status, *data;
static struct virtq_desc *table, *table2; /* indirect tables, 4 KiB each */

static void set_desc(volatile struct virtq_desc *d, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

/* hdr -> @data_addr/@data_len (device-writable) -> status, as three direct descriptors. */
static void chain3(struct virtq *q, uint64_t data_addr, uint32_t data_len)
{
	int a = virtq_alloc_desc(q), b = virtq_alloc_desc(q), c = virtq_alloc_desc(q);

	set_desc(&q->desc[a], (uintptr_t)hdr, sizeof(*hdr), VIRTQ_DESC_F_NEXT, b);
	set_desc(&q->desc[b], data_addr, data_len, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, c);
	set_desc(&q->desc[c], (uintptr_t)status, 1, VIRTQ_DESC_F_WRITE, 0);
	virtq_publish(q, a);
}

/* A write request whose two readable descriptors point at each other: only the loop is wrong. */
static bool build_loop(struct virtq *q)
{
	int a = virtq_alloc_desc(q), b = virtq_alloc_desc(q);

	hdr->type = VIRTIO_BLK_T_OUT;
	set_desc(&q->desc[a], (uintptr_t)hdr, sizeof(*hdr), VIRTQ_DESC_F_NEXT, b);
	set_desc(&q->desc[b], (uintptr_t)data, DATA_BYTES, VIRTQ_DESC_F_NEXT, a);
	virtq_publish(q, a);
	return true;
}

static bool build_next_oob(struct virtq *q)
{
	int a = virtq_alloc_desc(q);

	set_desc(&q->desc[a], (uintptr_t)hdr, sizeof(*hdr), VIRTQ_DESC_F_NEXT, q->size + 5);
	virtq_publish(q, a);
	return true;
}

/* One head pointing at an indirect table of @n entries made by the caller. */
static void publish_indirect(struct virtq *q, struct virtq_desc *t, uint32_t len)
{
	int a = virtq_alloc_desc(q);

	set_desc(&q->desc[a], (uintptr_t)t, len, VIRTQ_DESC_F_INDIRECT, 0);
	virtq_publish(q, a);
}

/* An indirect chain of 2 * queue size well-formed entries: longer than the queue. */
static bool build_chain_too_long(struct virtq *q)
{
	unsigned int n = 2 * q->size + 2;

	if (!blk_has(&blk, VIRTIO_F_INDIRECT_DESC))
		return false;
	set_desc(&table[0], (uintptr_t)hdr, sizeof(*hdr), VIRTQ_DESC_F_NEXT, 1);
	for (unsigned int i = 1; i < n - 1; i++)
		set_desc(&table[i], (uintptr_t)data + (i - 1) * BLK_SECTOR, BLK_SECTOR,
			 VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, i + 1);
	set_desc(&table[n - 1], (uintptr_t)status, 1, VIRTQ_DESC_F_WRITE, 0);
	publish_indirect(q, table, n * sizeof(*table));
	return true;
}

static bool build_nested_indirect(struct virtq *q)
{
	if (!blk_has(&blk, VIRTIO_F_INDIRECT_DESC))
		return false;
	set_desc(&table2[0], (uintptr_t)data, DATA_BYTES, VIRTQ_DESC_F_WRITE, 0);
	set_desc(&table[0], (uintptr_t)hdr, sizeof(*hdr), VIRTQ_DESC_F_NEXT, 1);
	set_desc(&table[1], (uintptr_t)table2, sizeof(*table2),
		 VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_INDIRECT, 2);
	set_desc(&table[2], (uintptr_t)status, 1, VIRTQ_DESC_F_WRITE, 0);
	publish_indirect(q, table, 3 * sizeof(*table));
	return true;
}

static bool build_indirect_len(struct virtq *q)
{
	if (!blk_has(&blk, VIRTIO_F_INDIRECT_DESC))
		return false;
	set_desc(&table[0], (uintptr_t)hdr, sizeof(*hdr), VIRTQ_DESC_F_NEXT, 1);
	set_desc(&table[1], (uintptr_t)data, DATA_BYTES, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	set_desc(&table[2], (uintptr_t)status, 1, VIRTQ_DESC_F_WRITE, 0);
	publish_indirect(q, table, 3 * sizeof(*table) + 8);
	return true;
}

static bool build_addr_oob(struct virtq *q)
{
	chain3(q, OOB_ADDR, DATA_BYTES);
	return true;
}

/* A write (the device only reads the buffer), so a VMM that does not check cannot scribble. */
static bool build_huge_len(struct virtq *q)
{
	int a = virtq_alloc_desc(q), b = virtq_alloc_desc(q), c = virtq_alloc_desc(q);

	hdr->type = VIRTIO_BLK_T_OUT;
	set_desc(&q->desc[a], (uintptr_t)hdr, sizeof(*hdr), VIRTQ_DESC_F_NEXT, b);
	set_desc(&q->desc[b], (uintptr_t)data, HUGE_LEN, VIRTQ_DESC_F_NEXT, c);
	set_desc(&q->desc[c], (uintptr_t)status, 1, VIRTQ_DESC_F_WRITE, 0);
	virtq_publish(q, a);
	return true;
}

static bool build_zero_len(struct virtq *q)
{
	chain3(q, (uintptr_t)data, 0);
	return true;
}

/* status (device-writable) first, then the readable header. */
static bool build_write_before_read(struct virtq *q)
{
	int a = virtq_alloc_desc(q), b = virtq_alloc_desc(q);

	set_desc(&q->desc[a], (uintptr_t)status, 1, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, b);
	set_desc(&q->desc[b], (uintptr_t)hdr, sizeof(*hdr), 0, 0);
	virtq_publish(q, a);
	return true;
}

/* A good request, but avail->idx says queue size + 1 more are there. */
static bool build_avail_jump(struct virtq *q)
{
	chain3(q, (uintptr_t)data, DATA_BYTES);
	q->avail_idx += q->size;
	return true;
}

static const struct hostile_case cases[] = {
	{ "loop", build_loop },
	{ "next-oob", build_next_oob },
	{ "chain-too-long", build_chain_too_long },
	{ "nested-indirect", build_nested_indirect },
	{ "indirect-len", build_indirect_len },
	{ "addr-oob", build_addr_oob },
	{ "huge-len", build_huge_len },
	{ "zero-len", build_zero_len },
	{ "write-before-read", build_write_before_read },
	{ "avail-jump", build_avail_jump },
};

static const struct hostile_case *current;

/* CPL3: the whole case, from init to the good read. */
static long run_case(void *arg)
{
	struct result *r = arg;
	struct virtq_buf buf;
	uint64_t t0;

	r->init_err = blk_init(&blk, BLK_FEATURES, QSIZE, false);
	if (r->init_err) {
		r->outcome = OUT_SETUP;
		return 0;
	}
	memset(hdr, 0, sizeof(*hdr));
	hdr->type = VIRTIO_BLK_T_IN;
	*status = 0xff;
	if (!current->build(blk.q)) {
		r->outcome = OUT_SKIP;
		return 0;
	}
	virtq_kick(&blk.vd, blk.q);
	virtq_notify(blk.q); /* whatever the ring state says */
	t0 = rdtsc();
	r->outcome = OUT_IGNORED;
	while (rdtsc() - t0 < HOSTILE_TICKS) {
		r->status = virtio_get_status(&blk.vd);
		if (r->status & VIRTIO_STATUS_NEEDS_RESET) {
			r->outcome = OUT_FLAGGED;
			break;
		}
		cpu_pause();
	}
	r->ticks = rdtsc() - t0;
	if (r->outcome != OUT_FLAGGED && virtq_has_used(blk.q)) {
		r->outcome = OUT_COMPLETED;
		r->req_status = *(volatile uint8_t *)status;
	}
	r->recover_err = virtio_reset(&blk.vd, IO_TICKS);
	if (!r->recover_err)
		r->recover_err = blk_init(&blk, BLK_FEATURES, QSIZE, false);
	if (r->recover_err)
		return 0;
	buf = (struct virtq_buf){ (uintptr_t)data, DATA_BYTES, false };
	r->read_status = blk_io(&blk, VIRTIO_BLK_T_IN, 0, &buf, 1, false, IO_TICKS);
	return 0;
}

static bool selected(const char *name)
{
	const char *v, *end;
	size_t len, n = strlen(name);

	if (!cmdline_get("cases", &v, &len))
		return true;
	for (end = v + len; v < end;) {
		const char *comma = v;

		while (comma < end && *comma != ',')
			comma++;
		if ((size_t)(comma - v) == n && !memcmp(v, name, n))
			return true;
		v = comma + 1;
	}
	return false;
}

static long alloc_buffers(void *arg)
{
	(void)arg;
	hdr = mm_alloc(sizeof(*hdr), 16);
	status = mm_alloc(1, 1);
	data = mm_alloc(64 * 1024, 4096);
	table = mm_alloc(4096, 4096);
	table2 = mm_alloc(4096, 4096);
	return hdr && status && data && table && table2 ? 0 : -ENOMEM;
}

int main(void)
{
	int passed = 0, failed = 0, lenient = 0, skipped = 0, ret;
	const char *v;
	size_t len;
	bool qemu = cmdline_get("vmm", &v, &len) && len == 4 && !memcmp(v, "qemu", 4);

	ret = blk_probe(&blk);
	if (ret || run_user(alloc_buffers, NULL)) {
		printf("blk-hostile: FAIL probe: no virtio-blk device or no memory (%d)\n", ret);
		return GUEST_EXIT_FAIL;
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct result r = { 0 };
		const char *name = cases[i].name;

		if (!selected(name))
			continue;
		current = &cases[i];
		run_user(run_case, &r);
		if (r.outcome == OUT_SETUP) {
			printf("blk-hostile: FAIL %s: init %d\n", name, r.init_err);
			failed++;
			continue;
		}
		if (r.outcome == OUT_SKIP) {
			printf("blk-hostile: SKIP %s (feature not offered)\n", name);
			skipped++;
			continue;
		}
		if (r.recover_err || r.read_status != VIRTIO_BLK_S_OK) {
			printf("blk-hostile: FAIL %s: no recovery after reset: init %d, read %d "
			       "(device_status %#x)\n",
			       name, r.recover_err, r.read_status, r.status);
			failed++;
		} else if (r.outcome == OUT_FLAGGED) {
			printf("blk-hostile: PASS %s (NEEDS_RESET after %lu ticks)\n", name,
			       r.ticks);
			passed++;
		} else {
			const char *what = r.outcome == OUT_COMPLETED ? "completed" : "ignored";

			printf("blk-hostile: %s %s: no NEEDS_RESET (device_status %#x); request %s, "
			       "status byte %#x; good read after reset OK\n",
			       qemu ? "QEMU-LENIENT" : "FAIL", name, r.status, what, r.req_status);
			if (qemu)
				lenient++;
			else
				failed++;
		}
	}
	printf("blk-hostile: %d passed, %d failed, %d lenient, %d skipped\n", passed, failed,
	       lenient, skipped);
	return failed ? GUEST_EXIT_FAIL : GUEST_EXIT_OK;
}
