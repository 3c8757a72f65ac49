// SPDX-License-Identifier: MIT
/*
 * virtio-blk throughput and latency, polling at CPL3.  Runs, in this order:
 *   seqwrite  bs=64 KiB qd=32 over seq-bytes (default: the whole disk)
 *   seqread   the same, reading
 *   randread  bs=4 KiB qd=1, then qd=32, rand-ops requests (default 10000)
 *             at 4 KiB-aligned offsets from an LCG
 * Command line: seq-bytes=N, rand-ops=N, qd=N (the deep queue depth), bs=N
 * (the sequential block size, a multiple of 512).  Each run prints
 *   blk-bench: <name> bs=<bytes> qd=<depth> ops=<n> bytes=<total> ticks=<tsc ticks>
 * and the guest exits 0, or 1 if a request failed.
 */
#include "mm.h"
#include "virtio_blk.h"

#define MAX_QD		 64
#define DEFAULT_QD	 32
#define SEQ_BS		 (64 * 1024)
#define RAND_BS		 4096
#define DEFAULT_RAND_OPS 10000

struct slot {
	struct blk_req req; /* first: the completion token points here */
	struct virtq_buf buf;
};

struct bench {
	const char *name;
	uint32_t type, bs, qd;
	bool random;
	uint64_t ops;
	/* results */
	uint64_t ticks, errors;
	uint8_t first_bad_status;
};

static struct blk_dev blk;
static struct slot slots[MAX_QD];
static uint8_t *buffers; /* MAX_QD buffers of the largest block size */
static uint64_t max_bs = SEQ_BS;

static uint64_t lcg = 0x2545f4914f6cdd1dULL;

static uint64_t next_sector(const struct bench *b, uint64_t i)
{
	uint64_t blocks = blk.capacity * BLK_SECTOR / b->bs;

	if (!b->random)
		return (i % blocks) * (b->bs / BLK_SECTOR);
	lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
	return ((lcg >> 33) % blocks) * (b->bs / BLK_SECTOR);
}

static long bench_run(void *arg)
{
	struct bench *b = arg;
	uint64_t issued = 0, done = 0, t0;
	bool unkicked = false;

	for (uint32_t i = 0; i < b->qd; i++)
		slots[i].buf = (struct virtq_buf){ (uintptr_t)buffers + i * max_bs, b->bs, false };
	t0 = rdtsc();
	for (; issued < b->qd && issued < b->ops; issued++)
		blk_submit(&blk, &slots[issued].req, b->type, next_sector(b, issued),
			   &slots[issued].buf, 1, false);
	blk_kick(&blk);
	while (done < b->ops) {
		struct slot *s;
		uint64_t token;
		uint32_t len;

		if (!virtq_get(blk.q, &token, &len)) {
			/* Kick once the burst of completions is drained: fewer exits. */
			if (unkicked)
				blk_kick(&blk);
			unkicked = false;
			cpu_pause();
			continue;
		}
		s = (struct slot *)(uintptr_t)token;
		if (s->req.status != VIRTIO_BLK_S_OK && !b->errors++)
			b->first_bad_status = s->req.status;
		done++;
		if (issued < b->ops) {
			blk_submit(&blk, &s->req, b->type, next_sector(b, issued++), &s->buf, 1,
				   false);
			unkicked = true;
		}
	}
	b->ticks = rdtsc() - t0;
	return 0;
}

static long setup(void *arg)
{
	int ret = blk_init(&blk, BLK_FEATURES, 0, false);

	(void)arg;
	if (ret)
		return ret;
	buffers = mm_alloc(MAX_QD * max_bs, 4096);
	return buffers ? 0 : -1;
}

static uint64_t cmdline_u64(const char *key, uint64_t def)
{
	const char *v;
	size_t len;
	uint64_t n = 0;

	if (!cmdline_get(key, &v, &len) || !len)
		return def;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return def;
		n = n * 10 + (v[i] - '0');
	}
	return n;
}

int main(void)
{
	uint64_t seq_bytes, rand_ops = cmdline_u64("rand-ops", DEFAULT_RAND_OPS);
	uint32_t qd = cmdline_u64("qd", DEFAULT_QD), bs = cmdline_u64("bs", SEQ_BS);
	long ret;
	int failed = 0;

	if (!qd || qd > MAX_QD || !bs || bs % BLK_SECTOR || bs > 1024 * 1024) {
		printf("blk-bench: bad qd= or bs= (qd 1-%u, bs a multiple of 512 up to 1 MiB)\n",
		       MAX_QD);
		return GUEST_EXIT_FAIL;
	}
	max_bs = bs > RAND_BS ? bs : RAND_BS;
	ret = blk_probe(&blk);
	if (!ret)
		ret = run_user(setup, NULL);
	if (ret) {
		printf("blk-bench: no usable virtio-blk device (%ld)\n", ret);
		return GUEST_EXIT_FAIL;
	}
	/* Each request takes 3 descriptors. */
	if (qd * 3 > blk.q->size)
		qd = blk.q->size / 3;
	seq_bytes = cmdline_u64("seq-bytes", blk.capacity * BLK_SECTOR);
	printf("blk-bench: capacity %lu sectors, queue %u, features %#lx\n", blk.capacity,
	       blk.q->size, blk.vd.features);

	struct bench runs[] = {
		{ "seqwrite", VIRTIO_BLK_T_OUT, bs, qd, false, seq_bytes / bs, 0, 0, 0 },
		{ "seqread", VIRTIO_BLK_T_IN, bs, qd, false, seq_bytes / bs, 0, 0, 0 },
		{ "randread", VIRTIO_BLK_T_IN, RAND_BS, 1, true, rand_ops, 0, 0, 0 },
		{ "randread", VIRTIO_BLK_T_IN, RAND_BS, qd, true, rand_ops, 0, 0, 0 },
	};
	for (unsigned int i = 0; i < ARRAY_SIZE(runs); i++) {
		struct bench *b = &runs[i];

		run_user(bench_run, b);
		printf("blk-bench: %s bs=%u qd=%u ops=%lu bytes=%lu ticks=%lu\n", b->name, b->bs,
		       b->qd, b->ops, b->ops * b->bs, b->ticks);
		if (b->errors) {
			printf("blk-bench: FAIL %s: %lu requests failed, first status %u\n",
			       b->name, b->errors, b->first_bad_status);
			failed++;
		}
	}
	return failed ? GUEST_EXIT_FAIL : GUEST_EXIT_OK;
}
