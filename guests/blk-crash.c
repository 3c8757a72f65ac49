// SPDX-License-Identifier: MIT
/*
 * A disk writer to be killed: for the qcow2 crash test (tests/crash/).
 * Writes 4 KiB units of the disk in a scrambled order (a bijection of the
 * unit index, so writes land all over the image and allocate clusters and
 * L2 tables as they go), QD requests in flight, and after every batch of
 * writes a FLUSH; once the flush completes it prints
 *   blk-crash: gen G flushed N
 * meaning the first N units of generation G's order are durable.  The host
 * kills the VMM at a random moment and checks those N units hold the
 * pattern.  Runs until killed (or the disk is written once over: then it
 * exits 0).
 * Command line: gen=G (1..65535, part of the pattern and of the order),
 * batch=B (writes per flush, default 32), qd=Q (default 8).
 * Pattern of unit u, word w of its sector s: G << 48 | s << 8 | w & 0xff.
 */
#include "mm.h"
#include "virtio_blk.h"

#define UNIT	   4096
#define UNIT_SECT  (UNIT / BLK_SECTOR)
#define MAX_QD	   32
#define IO_TICKS   (30ULL * 3000000000ULL)
#define ORDER_MULT 0x9e3779b1ULL /* odd: a bijection modulo a power of two */

struct slot {
	struct blk_req req; /* first: the completion token points here */
	struct virtq_buf buf;
	uint8_t *data;
	bool busy;
};

static struct blk_dev blk;
static struct slot slots[MAX_QD];
static uint64_t gen, batch = 32, qd = 8, units, done;

/* Unit number of the @i-th write of this generation: units is a power of two. */
static uint64_t unit_of(uint64_t i)
{
	return (i * ORDER_MULT + gen * 0x3d) & (units - 1);
}

static void fill(uint8_t *p, uint64_t unit)
{
	uint64_t *w = (uint64_t *)p;

	for (unsigned int s = 0; s < UNIT_SECT; s++)
		for (unsigned int i = 0; i < BLK_SECTOR / 8; i++)
			w[s * BLK_SECTOR / 8 + i] =
				gen << 48 | (unit * UNIT_SECT + s) << 8 | (i & 0xff);
}

/* One batch at CPL3: writes with up to qd in flight, then a flush.  0 or a failed status. */
static long run_batch(void *arg)
{
	uint64_t issued = 0, completed = 0, end = done + batch;

	(void)arg;
	if (end > units)
		end = units;
	while (completed < end - done) {
		for (unsigned int i = 0; i < qd && done + issued < end; i++) {
			struct slot *s = &slots[i];

			if (s->busy)
				continue;
			fill(s->data, unit_of(done + issued));
			s->busy = true;
			s->req.done = false;
			if (blk_submit(&blk, &s->req, VIRTIO_BLK_T_OUT,
				       unit_of(done + issued) * UNIT_SECT, &s->buf, 1, false))
				return -1;
			issued++;
		}
		blk_kick(&blk);
		blk_reap(&blk);
		for (unsigned int i = 0; i < qd; i++) {
			struct slot *s = &slots[i];

			if (!s->busy || !s->req.done)
				continue;
			if (s->req.status != VIRTIO_BLK_S_OK)
				return 0x100 | s->req.status;
			s->busy = false;
			completed++;
		}
	}
	return blk_io(&blk, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false, IO_TICKS);
}

static long setup(void *arg)
{
	(void)arg;
	if (blk_init(&blk, BLK_FEATURES, 0, false))
		return -1;
	for (unsigned int i = 0; i < MAX_QD; i++) {
		slots[i].data = mm_alloc(UNIT, UNIT);
		if (!slots[i].data)
			return -1;
		slots[i].buf = (struct virtq_buf){ (uint64_t)slots[i].data, UNIT, false };
	}
	return 0;
}

static uint64_t opt(const char *key, uint64_t def, uint64_t max)
{
	const char *v;
	size_t len;
	uint64_t n = 0;

	if (!cmdline_get(key, &v, &len))
		return def;
	for (size_t i = 0; i < len && v[i] >= '0' && v[i] <= '9'; i++)
		n = n * 10 + (uint64_t)(v[i] - '0');
	return n && n <= max ? n : def;
}

int main(void)
{
	long ret;

	gen = opt("gen", 1, 65535);
	batch = opt("batch", 32, 1 << 20);
	qd = opt("qd", 8, MAX_QD);
	if (blk_probe(&blk) || run_user(setup, NULL)) {
		printf("blk-crash: FAIL no usable virtio-blk device\n");
		return GUEST_EXIT_FAIL;
	}
	units = 1;
	while (units * 2 * UNIT_SECT <= blk.capacity)
		units *= 2;
	printf("blk-crash: gen %lu units %lu\n", gen, units);
	while (done < units) {
		ret = run_user(run_batch, NULL);
		if (ret) {
			printf("blk-crash: FAIL gen %lu after %lu: status %#lx\n", gen, done, ret);
			return GUEST_EXIT_FAIL;
		}
		done = done + batch < units ? done + batch : units;
		printf("blk-crash: gen %lu flushed %lu\n", gen, done);
	}
	return GUEST_EXIT_OK;
}
