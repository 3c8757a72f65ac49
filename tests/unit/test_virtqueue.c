// SPDX-License-Identifier: MIT
/*
 * Unit tests for split virtqueues (devices/virtio/virtqueue.c): normal use,
 * index wrap-around, interrupt and notification suppression, and every kind
 * of malformed ring or chain a hostile driver can build.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "virtqueue.h"

/* Two RAM regions with a hole between them, like RAM below and above 4 GiB. */
#define LOW_GPA	  0x0ULL
#define LOW_SIZE  0x10000ULL
#define HIGH_GPA  0x20000ULL
#define HIGH_SIZE 0x10000ULL
#define HOLE_GPA  (LOW_GPA + LOW_SIZE)

#define DESC_GPA  0x0000ULL /* room for VIRTQ_MAX_SIZE entries */
#define AVAIL_GPA 0x1000ULL
#define USED_GPA  0x2000ULL
#define IND_GPA	  0x3000ULL /* an indirect table, up to 0x2000 bytes */
#define BUF_GPA	  0x8000ULL

static uint8_t low_ram[LOW_SIZE] __attribute__((aligned(4096)));
static uint8_t high_ram[HIGH_SIZE] __attribute__((aligned(4096)));

struct ctx {
	struct guest_mem mem;
	struct virtq vq;
	struct virtq_elem elem;
};

static void *host(struct ctx *c, uint64_t gpa)
{
	void *p = guest_mem_ptr(&c->mem, gpa, 1);

	assert_non_null(p);
	return p;
}

static struct virtq_avail *avail(struct ctx *c)
{
	return host(c, AVAIL_GPA);
}

static struct virtq_used *used(struct ctx *c)
{
	return host(c, USED_GPA);
}

/* The u16 after used->ring[size]. */
static uint16_t *avail_event(struct ctx *c)
{
	return host(c, USED_GPA + VIRTQ_USED_BYTES(c->vq.size) - 2);
}

/* Works for unaligned indirect tables too, hence the memcpy. */
static void set_desc(struct ctx *c, uint64_t table, unsigned int i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	struct virtq_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };

	memcpy(host(c, table + 16ULL * i), &d, sizeof(d));
}

/* The driver makes the chain at @head available. */
static void add_avail(struct ctx *c, uint16_t head)
{
	struct virtq_avail *a = avail(c);

	a->ring[a->idx % c->vq.size] = head;
	a->idx++;
}

static void start(struct ctx *c, uint16_t size, bool indirect, bool event_idx)
{
	memset(low_ram, 0, sizeof(low_ram));
	memset(high_ram, 0, sizeof(high_ram));
	c->vq.size = size;
	c->vq.indirect = indirect;
	c->vq.event_idx = event_idx;
	c->vq.desc_gpa = DESC_GPA;
	c->vq.avail_gpa = AVAIL_GPA;
	c->vq.used_gpa = USED_GPA;
	assert_int_equal(virtq_init(&c->vq), 0);
	assert_true(c->vq.ready);
	assert_false(c->vq.broken);
}

static int setup(void **state)
{
	struct ctx *c = test_calloc(1, sizeof(*c));

	if (!c)
		return -1;
	if (guest_mem_add(&c->mem, LOW_GPA, LOW_SIZE, low_ram) ||
	    guest_mem_add(&c->mem, HIGH_GPA, HIGH_SIZE, high_ram)) {
		test_free(c);
		return -1;
	}
	c->vq.mem = &c->mem;
	start(c, 8, true, false);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	test_free(*state);
	return 0;
}

static void expect_iov(struct ctx *c, unsigned int i, uint64_t gpa, size_t len)
{
	assert_ptr_equal(c->elem.iov[i].iov_base, host(c, gpa));
	assert_int_equal(c->elem.iov[i].iov_len, len);
}

/*
 * The chain just made available breaks a rule: pop fails with @err, the
 * queue stays broken even for a good chain, and a new virtq_init() (the
 * device reset) brings it back.
 */
static void expect_broken(struct ctx *c, int err)
{
	assert_int_equal(virtq_pop(&c->vq, &c->elem), err);
	assert_true(c->vq.broken);
	set_desc(c, DESC_GPA, 0, BUF_GPA, 16, 0, 0);
	avail(c)->idx = c->vq.last_avail;
	add_avail(c, 0);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 0);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 0);
	assert_false(virtq_set_notify(&c->vq, true));

	start(c, c->vq.size, c->vq.indirect, c->vq.event_idx);
	set_desc(c, DESC_GPA, 0, BUF_GPA, 16, 0, 0);
	add_avail(c, 0);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(c->elem.nr_out, 1);
	expect_iov(c, 0, BUF_GPA, 16);
	/* Leave it clean for the next case. */
	start(c, c->vq.size, c->vq.indirect, c->vq.event_idx);
}

/* A one-descriptor chain at 0 pointing to [@addr, +@len) with @flags must break the queue. */
static void expect_bad_buf(struct ctx *c, uint64_t addr, uint32_t len, uint16_t flags, int err)
{
	set_desc(c, DESC_GPA, 0, addr, len, flags, 0);
	add_avail(c, 0);
	expect_broken(c, err);
}

/* The same through an indirect table. */
static void expect_bad_indirect_buf(struct ctx *c, uint64_t addr, uint32_t len, uint16_t flags,
				    int err)
{
	set_desc(c, IND_GPA, 0, BUF_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(c, IND_GPA, 1, addr, len, flags, 0);
	set_desc(c, DESC_GPA, 0, IND_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	add_avail(c, 0);
	expect_broken(c, err);
}

/* An indirect descriptor at 0 for the table [@addr, +@len). */
static void expect_bad_table(struct ctx *c, uint64_t addr, uint32_t len, int err)
{
	set_desc(c, DESC_GPA, 0, addr, len, VIRTQ_DESC_F_INDIRECT, 0);
	add_avail(c, 0);
	expect_broken(c, err);
}

static void test_init_bad_size(void **state)
{
	static const uint16_t sizes[] = { 0, 3, 6, 100, 255, VIRTQ_MAX_SIZE * 2, 0xffff };
	struct ctx *c = *state;
	unsigned int i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		c->vq.size = sizes[i];
		assert_int_equal(virtq_init(&c->vq), -EINVAL);
		assert_false(c->vq.ready);
		assert_int_equal(virtq_pop(&c->vq, &c->elem), 0);
	}
	c->vq.size = 1;
	assert_int_equal(virtq_init(&c->vq), 0);
	c->vq.size = VIRTQ_MAX_SIZE;
	assert_int_equal(virtq_init(&c->vq), 0);
}

static void expect_init_fault(struct ctx *c, uint64_t desc, uint64_t avail_gpa, uint64_t used_gpa)
{
	c->vq.desc_gpa = desc;
	c->vq.avail_gpa = avail_gpa;
	c->vq.used_gpa = used_gpa;
	assert_int_equal(virtq_init(&c->vq), -EFAULT);
	assert_false(c->vq.ready);
	/* Not ready: nothing to take, nothing written. */
	set_desc(c, DESC_GPA, 0, BUF_GPA, 16, 0, 0);
	add_avail(c, 0);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 0);
	virtq_push(&c->vq, 0, 1);
	assert_int_equal(used(c)->idx, 0);
	assert_false(virtq_should_notify(&c->vq));
	assert_false(virtq_set_notify(&c->vq, true));
}

static void test_init_bad_rings(void **state)
{
	struct ctx *c = *state;

	/* Misaligned. */
	expect_init_fault(c, DESC_GPA + 8, AVAIL_GPA, USED_GPA);
	expect_init_fault(c, DESC_GPA, AVAIL_GPA + 1, USED_GPA);
	expect_init_fault(c, DESC_GPA, AVAIL_GPA, USED_GPA + 2);
	/* In the hole, running into it, past the end of RAM, wrapping. */
	expect_init_fault(c, HOLE_GPA, AVAIL_GPA, USED_GPA);
	expect_init_fault(c, DESC_GPA, HOLE_GPA - 4, USED_GPA);
	expect_init_fault(c, DESC_GPA, AVAIL_GPA, HOLE_GPA - 64);
	expect_init_fault(c, HOLE_GPA - 64, AVAIL_GPA, USED_GPA);
	expect_init_fault(c, DESC_GPA, AVAIL_GPA, HIGH_GPA + HIGH_SIZE);
	expect_init_fault(c, 0xfffffffffffffff0ULL, AVAIL_GPA, USED_GPA);
	/* The whole ring must fit: the last byte of the high region is not enough. */
	expect_init_fault(c, DESC_GPA, HIGH_GPA + HIGH_SIZE - 2, USED_GPA);

	/* Rings in the high region are fine. */
	c->vq.desc_gpa = HIGH_GPA;
	c->vq.avail_gpa = HIGH_GPA + HIGH_SIZE - VIRTQ_AVAIL_BYTES(8);
	c->vq.used_gpa = HIGH_GPA + 0x1000;
	assert_int_equal(virtq_init(&c->vq), 0);
	assert_true(c->vq.ready);
}

static void test_single_buffer(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(virtq_pop(&c->vq, &c->elem), 0);
	set_desc(c, DESC_GPA, 5, BUF_GPA, 100, 0, 0);
	add_avail(c, 5);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(c->elem.head, 5);
	assert_int_equal(c->elem.nr_out, 1);
	assert_int_equal(c->elem.nr_in, 0);
	assert_int_equal(c->elem.out_len, 100);
	assert_int_equal(c->elem.in_len, 0);
	expect_iov(c, 0, BUF_GPA, 100);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 0);
	assert_false(c->vq.broken);
}

static void test_out_in_chain(void **state)
{
	struct ctx *c = *state;

	/* Out of order in the table, and spread over both RAM regions. */
	set_desc(c, DESC_GPA, 3, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 6);
	set_desc(c, DESC_GPA, 6, HIGH_GPA, 512, VIRTQ_DESC_F_NEXT, 1);
	set_desc(c, DESC_GPA, 1, HIGH_GPA + 0x1000, 1, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 7);
	set_desc(c, DESC_GPA, 7, HIGH_GPA + HIGH_SIZE - 0x1000, 0x1000, VIRTQ_DESC_F_WRITE, 0);
	add_avail(c, 3);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(c->elem.head, 3);
	assert_int_equal(c->elem.nr_out, 2);
	assert_int_equal(c->elem.nr_in, 2);
	assert_int_equal(c->elem.out_len, 528);
	assert_int_equal(c->elem.in_len, 0x1001);
	expect_iov(c, 0, BUF_GPA, 16);
	expect_iov(c, 1, HIGH_GPA, 512);
	expect_iov(c, 2, HIGH_GPA + 0x1000, 1);
	expect_iov(c, 3, HIGH_GPA + HIGH_SIZE - 0x1000, 0x1000);

	/* Only writable buffers, a whole region long, are fine too. */
	set_desc(c, DESC_GPA, 0, HIGH_GPA, HIGH_SIZE, VIRTQ_DESC_F_WRITE, 0);
	add_avail(c, 0);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(c->elem.nr_out, 0);
	assert_int_equal(c->elem.nr_in, 1);
	assert_int_equal(c->elem.in_len, HIGH_SIZE);
	expect_iov(c, 0, HIGH_GPA, HIGH_SIZE);
}

static void test_indirect(void **state)
{
	struct ctx *c = *state;
	uint64_t table = HIGH_GPA + 8; /* indirect tables need no alignment */

	set_desc(c, table, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
	set_desc(c, table, 2, BUF_GPA + 0x100, 32, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(c, table, 1, HIGH_GPA + 0x1000, 64, VIRTQ_DESC_F_WRITE, 0);
	/* The device ignores WRITE on the descriptor of the table itself. */
	set_desc(c, DESC_GPA, 4, table, 48, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	add_avail(c, 4);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(c->elem.head, 4);
	assert_int_equal(c->elem.nr_out, 1);
	assert_int_equal(c->elem.nr_in, 2);
	assert_int_equal(c->elem.out_len, 16);
	assert_int_equal(c->elem.in_len, 96);
	expect_iov(c, 0, BUF_GPA, 16);
	expect_iov(c, 1, BUF_GPA + 0x100, 32);
	expect_iov(c, 2, HIGH_GPA + 0x1000, 64);

	/* Direct descriptors may come before the table (2.7.5.3). */
	set_desc(c, IND_GPA, 0, BUF_GPA + 0x200, 8, 0, 0);
	set_desc(c, DESC_GPA, 6, HIGH_GPA, 4, VIRTQ_DESC_F_NEXT, 2);
	set_desc(c, DESC_GPA, 2, IND_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	add_avail(c, 6);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(c->elem.head, 6);
	assert_int_equal(c->elem.nr_out, 2);
	assert_int_equal(c->elem.nr_in, 0);
	assert_int_equal(c->elem.out_len, 12);
	expect_iov(c, 0, HIGH_GPA, 4);
	expect_iov(c, 1, BUF_GPA + 0x200, 8);
}

/* An indirect table at IND_GPA of @n one-byte readable buffers. */
static void fill_table(struct ctx *c, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		set_desc(c, IND_GPA, i, BUF_GPA + i, 1, i + 1 < n ? VIRTQ_DESC_F_NEXT : 0, i + 1);
}

static void test_largest_chains(void **state)
{
	struct ctx *c = *state;
	unsigned int i;

	/* A queue-sized chain, walked backwards, half readable, half writable. */
	start(c, VIRTQ_MAX_SIZE, true, false);
	for (i = 0; i < VIRTQ_MAX_SIZE; i++)
		set_desc(c, DESC_GPA, i, BUF_GPA + i, 1,
			 (i ? VIRTQ_DESC_F_NEXT : 0) | (i < 128 ? VIRTQ_DESC_F_WRITE : 0), i - 1);
	add_avail(c, VIRTQ_MAX_SIZE - 1);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(c->elem.nr_out, 128);
	assert_int_equal(c->elem.nr_in, 128);
	expect_iov(c, 0, BUF_GPA + VIRTQ_MAX_SIZE - 1, 1);
	expect_iov(c, VIRTQ_MAX_SIZE - 1, BUF_GPA, 1);

	/* A full indirect table in the largest queue. */
	start(c, VIRTQ_MAX_SIZE, true, false);
	fill_table(c, VIRTQ_MAX_SIZE);
	set_desc(c, DESC_GPA, 0, IND_GPA, 16 * VIRTQ_MAX_SIZE, VIRTQ_DESC_F_INDIRECT, 0);
	add_avail(c, 0);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(c->elem.nr_out, VIRTQ_MAX_SIZE);
	assert_int_equal(c->elem.out_len, VIRTQ_MAX_SIZE);
	expect_iov(c, VIRTQ_MAX_SIZE - 1, BUF_GPA + VIRTQ_MAX_SIZE - 1, 1);
}

/* 2.7.5.3.1: no chain longer than the queue, indirect tables included. */
static void test_indirect_longer_than_queue(void **state)
{
	struct ctx *c = *state;

	fill_table(c, 8);
	set_desc(c, DESC_GPA, 0, IND_GPA, 16 * 8, VIRTQ_DESC_F_INDIRECT, 0);
	add_avail(c, 0);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	fill_table(c, 9);
	set_desc(c, DESC_GPA, 0, IND_GPA, 16 * 9, VIRTQ_DESC_F_INDIRECT, 0);
	add_avail(c, 0);
	expect_broken(c, -EINVAL);
}

static void test_several_chains_used_ring(void **state)
{
	struct ctx *c = *state;
	static const uint16_t order[] = { 2, 0, 3, 1 };
	struct virtq_used *u = used(c);
	unsigned int i;

	start(c, 4, false, false);
	/* The whole ring full: idx exactly size ahead is allowed. */
	for (i = 0; i < 4; i++) {
		set_desc(c, DESC_GPA, i, BUF_GPA + 0x100 * i, 8 + i, VIRTQ_DESC_F_WRITE, 0);
		add_avail(c, 3 - i);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
		assert_int_equal(c->elem.head, 3 - i);
		expect_iov(c, 0, BUF_GPA + 0x100 * (3 - i), 8 + 3 - i);
	}
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 0);

	/* Completed out of order; each element lands in the next used slot. */
	for (i = 0; i < 4; i++) {
		virtq_push(&c->vq, order[i], 100 + i);
		assert_int_equal(u->idx, i + 1);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(u->ring[i].id, order[i]);
		assert_int_equal(u->ring[i].len, 100 + i);
	}
	assert_int_equal(u->flags, 0);

	/* The next chain goes around to slot 0 of both rings. */
	add_avail(c, 1);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(c->elem.head, 1);
	virtq_push(&c->vq, 1, 7);
	assert_int_equal(u->idx, 5);
	assert_int_equal(u->ring[0].id, 1);
	assert_int_equal(u->ring[0].len, 7);
}

/* Past 65535 -> 0 for both avail->idx and used->idx, three chains at a time. */
static void test_index_wrap(void **state)
{
	struct ctx *c = *state;
	struct virtq_used *u = used(c);
	unsigned int n, i;

	start(c, 4, false, false);
	for (i = 0; i < 4; i++)
		set_desc(c, DESC_GPA, i, BUF_GPA + i, 1, 0, 0);
	for (n = 0; n < 70000; n += 3) {
		for (i = 0; i < 3; i++)
			add_avail(c, (n + i) % 4);
		for (i = 0; i < 3; i++) {
			assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
			assert_int_equal(c->elem.head, (n + i) % 4);
		}
		assert_int_equal(virtq_pop(&c->vq, &c->elem), 0);
		for (i = 0; i < 3; i++)
			virtq_push(&c->vq, (n + i) % 4, n + i);
		assert_int_equal(u->idx, (uint16_t)(n + 3));
		assert_int_equal(u->ring[(n + 2) % 4].len, n + 2);
	}
	assert_int_equal(avail(c)->idx, (uint16_t)n);
	assert_false(c->vq.broken);
}

/* Taken back chains come again in order; a batch of used entries shows up at once. */
/* Peeking at the ring leaves the notification state alone (virtio-net asks per frame). */
static void test_has_avail(void **state)
{
	struct ctx *c = *state;

	start(c, 4, false, true);
	*avail_event(c) = 7;
	assert_false(virtq_has_avail(&c->vq));
	set_desc(c, DESC_GPA, 0, BUF_GPA, 8, VIRTQ_DESC_F_WRITE, 0);
	add_avail(c, 0);
	assert_true(virtq_has_avail(&c->vq));
	assert_int_equal(*avail_event(c), 7);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_false(virtq_has_avail(&c->vq));
	c->vq.broken = true;
	add_avail(c, 0);
	assert_false(virtq_has_avail(&c->vq));
}

static void test_unpop_and_push_n(void **state)
{
	struct ctx *c = *state;
	struct virtq_used *u = used(c);
	struct virtq_used_elem batch[3] = { { 2, 30 }, { 3, 40 }, { 0, 50 } };
	unsigned int i;

	start(c, 4, false, false);
	for (i = 0; i < 4; i++) {
		set_desc(c, DESC_GPA, i, BUF_GPA + 0x100 * i, 8, VIRTQ_DESC_F_WRITE, 0);
		add_avail(c, (i + 2) % 4);
	}
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(c->elem.head, 3);
	virtq_unpop(&c->vq, 2);
	for (i = 0; i < 3; i++) {
		assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
		assert_int_equal(c->elem.head, (i + 2) % 4);
	}
	u->ring[3].id = 0xdead; /* must stay: the batch is three entries */
	virtq_push_n(&c->vq, batch, 3);
	assert_int_equal(u->idx, 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(u->ring[i].id, batch[i].id);
		assert_int_equal(u->ring[i].len, batch[i].len);
	}
	assert_int_equal(u->ring[3].id, 0xdead);
	/* The last chain, then the ring wraps around for both. */
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(c->elem.head, 1);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 0);
	virtq_unpop(&c->vq, 1);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(c->elem.head, 1);
	virtq_push_n(&c->vq, batch, 2);
	assert_int_equal(u->idx, 5);
	assert_int_equal(u->ring[3].id, 2);
	assert_int_equal(u->ring[0].id, 3);
	assert_false(c->vq.broken);
}

static void test_should_notify_flags(void **state)
{
	struct ctx *c = *state;

	virtq_push(&c->vq, 0, 1);
	assert_true(virtq_should_notify(&c->vq));
	avail(c)->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	virtq_push(&c->vq, 0, 1);
	assert_false(virtq_should_notify(&c->vq));
	/* used_event means nothing without EVENT_IDX. */
	avail(c)->flags = 0;
	avail(c)->ring[c->vq.size] = 100;
	virtq_push(&c->vq, 0, 1);
	assert_true(virtq_should_notify(&c->vq));
}

static void set_used_event(struct ctx *c, uint16_t event)
{
	avail(c)->ring[c->vq.size] = event;
}

static void push_n(struct ctx *c, unsigned int n)
{
	while (n--)
		virtq_push(&c->vq, 0, 0);
}

static void test_should_notify_event_idx(void **state)
{
	struct ctx *c = *state;

	start(c, 8, false, true);
	/* NO_INTERRUPT means nothing with EVENT_IDX. */
	avail(c)->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	set_used_event(c, 100);
	/* The first check always notifies: no earlier one to compare with. */
	push_n(c, 1);
	assert_true(virtq_should_notify(&c->vq));
	/* The driver wants one once used->idx passes 4 (goes to 5). */
	set_used_event(c, 4);
	push_n(c, 2);
	assert_false(virtq_should_notify(&c->vq)); /* 1 -> 3 */
	push_n(c, 1);
	assert_false(virtq_should_notify(&c->vq)); /* 3 -> 4 */
	push_n(c, 1);
	assert_true(virtq_should_notify(&c->vq)); /* 4 -> 5 */
	push_n(c, 3);
	assert_false(virtq_should_notify(&c->vq)); /* 5 -> 8, already crossed */
	assert_false(virtq_should_notify(&c->vq)); /* nothing new */
	set_used_event(c, 7);
	assert_false(virtq_should_notify(&c->vq)); /* moved back: nothing new */
	set_used_event(c, 8);
	push_n(c, 10);
	assert_true(virtq_should_notify(&c->vq)); /* 8 -> 18 crosses 8 */

	/* Around the wrap: up to 65533, then 3 more to 0. */
	push_n(c, 65533 - 18);
	assert_int_equal(used(c)->idx, 65533);
	set_used_event(c, 1);
	assert_false(virtq_should_notify(&c->vq)); /* 18 -> 65533 */
	set_used_event(c, 65535);
	push_n(c, 3);
	assert_int_equal(used(c)->idx, 0);
	assert_true(virtq_should_notify(&c->vq)); /* 65533 -> 0 crosses 65535 */
	set_used_event(c, 2);
	push_n(c, 2);
	assert_false(virtq_should_notify(&c->vq)); /* 0 -> 2 */
	push_n(c, 1);
	assert_true(virtq_should_notify(&c->vq)); /* 2 -> 3 */

	/* virtq_init() forgets the last check. */
	start(c, 8, false, true);
	set_used_event(c, 100);
	push_n(c, 1);
	assert_true(virtq_should_notify(&c->vq));
	push_n(c, 1);
	assert_false(virtq_should_notify(&c->vq));
}

static void test_set_notify_flags(void **state)
{
	struct ctx *c = *state;

	assert_false(virtq_set_notify(&c->vq, false));
	assert_int_equal(used(c)->flags, VIRTQ_USED_F_NO_NOTIFY);
	assert_false(virtq_set_notify(&c->vq, true));
	assert_int_equal(used(c)->flags, 0);

	/* Chains that came while notifications were off are reported. */
	virtq_set_notify(&c->vq, false);
	set_desc(c, DESC_GPA, 0, BUF_GPA, 16, 0, 0);
	add_avail(c, 0);
	assert_false(virtq_set_notify(&c->vq, false));
	assert_true(virtq_set_notify(&c->vq, true));
	assert_int_equal(used(c)->flags, 0);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_false(virtq_set_notify(&c->vq, true));
	/* avail_event is not touched without EVENT_IDX. */
	assert_int_equal(*avail_event(c), 0);
}

static void test_set_notify_event_idx(void **state)
{
	struct ctx *c = *state;
	uint16_t *event;
	unsigned int i;

	start(c, 4, false, true);
	event = avail_event(c);
	set_desc(c, DESC_GPA, 0, BUF_GPA, 16, 0, 0);
	for (i = 0; i < 3; i++)
		add_avail(c, 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	*event = 0xbeef;
	assert_false(virtq_set_notify(&c->vq, true));
	assert_int_equal(*event, 3);
	/* Disabling leaves avail_event behind, which is what stops notifications. */
	add_avail(c, 0);
	add_avail(c, 0);
	assert_false(virtq_set_notify(&c->vq, false));
	assert_int_equal(*event, 3);
	assert_true(virtq_set_notify(&c->vq, true));
	assert_int_equal(*event, 3);
	/* The flag is for queues without EVENT_IDX. */
	assert_int_equal(used(c)->flags, 0);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_false(virtq_set_notify(&c->vq, false));
	assert_int_equal(*event, 3);
	assert_false(virtq_set_notify(&c->vq, true));
	assert_int_equal(*event, 5);
}

static void test_bad_avail_idx(void **state)
{
	struct ctx *c = *state;

	/* One more than the ring holds. */
	set_desc(c, DESC_GPA, 0, BUF_GPA, 16, 0, 0);
	avail(c)->idx = 9;
	expect_broken(c, -EINVAL);
	/* Going backwards looks like 65535 ahead. */
	set_desc(c, DESC_GPA, 0, BUF_GPA, 16, 0, 0);
	add_avail(c, 0);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	avail(c)->idx = 0;
	expect_broken(c, -EINVAL);
}

static void test_bad_head(void **state)
{
	struct ctx *c = *state;

	/* Just past the table lies what would be a good descriptor. */
	set_desc(c, DESC_GPA, 8, BUF_GPA, 16, 0, 0);
	add_avail(c, 8);
	expect_broken(c, -EINVAL);
	add_avail(c, 0xffff);
	expect_broken(c, -EINVAL);
}

static void test_bad_next(void **state)
{
	struct ctx *c = *state;

	set_desc(c, DESC_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 8);
	set_desc(c, DESC_GPA, 8, BUF_GPA, 16, 0, 0);
	add_avail(c, 0);
	expect_broken(c, -EINVAL);
	set_desc(c, DESC_GPA, 2, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 3);
	set_desc(c, DESC_GPA, 3, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0xffff);
	add_avail(c, 2);
	expect_broken(c, -EINVAL);
}

static void test_loop(void **state)
{
	struct ctx *c = *state;
	unsigned int i;

	/* Onto itself. */
	set_desc(c, DESC_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	add_avail(c, 0);
	expect_broken(c, -EINVAL);
	/* Through every descriptor, then back to the first. */
	for (i = 0; i < 8; i++)
		set_desc(c, DESC_GPA, i, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, (i + 1) % 8);
	add_avail(c, 0);
	expect_broken(c, -EINVAL);
	/* Into a cycle not through the head. */
	set_desc(c, DESC_GPA, 5, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 6);
	set_desc(c, DESC_GPA, 6, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 7);
	set_desc(c, DESC_GPA, 7, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 6);
	add_avail(c, 5);
	expect_broken(c, -EINVAL);
	/* Round the largest queue: one buffer more would not fit elem->iov[]. */
	start(c, VIRTQ_MAX_SIZE, true, false);
	for (i = 0; i < VIRTQ_MAX_SIZE; i++)
		set_desc(c, DESC_GPA, i, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, (i + 1) % VIRTQ_MAX_SIZE);
	add_avail(c, 0);
	expect_broken(c, -EINVAL);
}

static void test_indirect_loop_and_next(void **state)
{
	struct ctx *c = *state;
	unsigned int i;

	/* A cycle through a 4-entry table. */
	for (i = 0; i < 4; i++)
		set_desc(c, IND_GPA, i, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, (i + 1) % 4);
	expect_bad_table(c, IND_GPA, 64, -EINVAL);
	/* Onto itself. */
	set_desc(c, IND_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	expect_bad_table(c, IND_GPA, 16, -EINVAL);
	/* next past the table, though inside the queue size. */
	set_desc(c, IND_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 4);
	set_desc(c, IND_GPA, 4, BUF_GPA, 16, 0, 0);
	expect_bad_table(c, IND_GPA, 64, -EINVAL);
	/* Round the largest table. */
	for (i = 0; i < VIRTQ_MAX_SIZE; i++)
		set_desc(c, IND_GPA, i, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, (i + 1) % VIRTQ_MAX_SIZE);
	expect_bad_table(c, IND_GPA, 16 * VIRTQ_MAX_SIZE, -EINVAL);
}

static void test_indirect_not_negotiated(void **state)
{
	struct ctx *c = *state;

	start(c, 8, false, false);
	set_desc(c, IND_GPA, 0, BUF_GPA, 16, 0, 0);
	expect_bad_table(c, IND_GPA, 16, -EINVAL);
}

static void test_indirect_in_chain(void **state)
{
	struct ctx *c = *state;

	set_desc(c, IND_GPA, 0, BUF_GPA, 16, 0, 0);
	/* INDIRECT with NEXT. */
	set_desc(c, DESC_GPA, 0, IND_GPA, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	set_desc(c, DESC_GPA, 1, BUF_GPA, 16, 0, 0);
	add_avail(c, 0);
	expect_broken(c, -EINVAL);
	/* A writable direct descriptor, then a table starting with a readable one. */
	set_desc(c, IND_GPA, 0, BUF_GPA, 16, 0, 0);
	set_desc(c, DESC_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(c, DESC_GPA, 1, IND_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	add_avail(c, 0);
	expect_broken(c, -EINVAL);
	/* An indirect table inside an indirect table. */
	set_desc(c, IND_GPA + 0x100, 0, BUF_GPA, 16, 0, 0);
	set_desc(c, IND_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(c, IND_GPA, 1, IND_GPA + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad_table(c, IND_GPA, 32, -EINVAL);
	/* The same, first in its table. */
	set_desc(c, IND_GPA + 0x100, 0, BUF_GPA, 16, 0, 0);
	set_desc(c, IND_GPA, 0, IND_GPA + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad_table(c, IND_GPA, 16, -EINVAL);
}

/* Direct descriptors before a full table: more buffers than elem->iov[] holds. */
static void test_too_many_buffers(void **state)
{
	struct ctx *c = *state;
	unsigned int i;

	/* Up to VIRTQ_MAX_SIZE in all is fine... */
	start(c, VIRTQ_MAX_SIZE, true, false);
	fill_table(c, VIRTQ_MAX_SIZE - 1);
	set_desc(c, DESC_GPA, 0, HIGH_GPA, 1, VIRTQ_DESC_F_NEXT, 1);
	set_desc(c, DESC_GPA, 1, IND_GPA, 16 * (VIRTQ_MAX_SIZE - 1), VIRTQ_DESC_F_INDIRECT, 0);
	add_avail(c, 0);
	assert_int_equal(virtq_pop(&c->vq, &c->elem), 1);
	assert_int_equal(c->elem.nr_out, VIRTQ_MAX_SIZE);
	expect_iov(c, 0, HIGH_GPA, 1);
	expect_iov(c, VIRTQ_MAX_SIZE - 1, BUF_GPA + VIRTQ_MAX_SIZE - 2, 1);
	/* ...one more is not. */
	fill_table(c, VIRTQ_MAX_SIZE);
	set_desc(c, DESC_GPA, 1, IND_GPA, 16 * VIRTQ_MAX_SIZE, VIRTQ_DESC_F_INDIRECT, 0);
	add_avail(c, 0);
	expect_broken(c, -EINVAL);
	/* Nor direct descriptors and then a full table. */
	fill_table(c, VIRTQ_MAX_SIZE);
	for (i = 0; i < 7; i++)
		set_desc(c, DESC_GPA, i, HIGH_GPA, 1, VIRTQ_DESC_F_NEXT, i + 1);
	set_desc(c, DESC_GPA, 7, IND_GPA, 16 * VIRTQ_MAX_SIZE, VIRTQ_DESC_F_INDIRECT, 0);
	add_avail(c, 0);
	expect_broken(c, -EINVAL);
}

static void test_bad_table(void **state)
{
	struct ctx *c = *state;

	set_desc(c, IND_GPA, 0, BUF_GPA, 16, 0, 0);
	expect_bad_table(c, IND_GPA, 0, -EINVAL);
	set_desc(c, IND_GPA, 0, BUF_GPA, 16, 0, 0);
	expect_bad_table(c, IND_GPA, 24, -EINVAL);
	set_desc(c, IND_GPA, 0, BUF_GPA, 16, 0, 0);
	expect_bad_table(c, IND_GPA, 16 * (VIRTQ_MAX_SIZE + 1), -EINVAL);
	/* Outside RAM: in the hole, into it, past the end, wrapping. */
	expect_bad_table(c, HOLE_GPA, 16, -EFAULT);
	set_desc(c, HOLE_GPA - 16, 0, BUF_GPA, 16, 0, 0);
	expect_bad_table(c, HOLE_GPA - 16, 32, -EFAULT);
	expect_bad_table(c, HIGH_GPA + HIGH_SIZE - 16, 32, -EFAULT);
	expect_bad_table(c, 0xfffffffffffffff0ULL, 32, -EFAULT);
}

static void test_write_then_read(void **state)
{
	struct ctx *c = *state;

	set_desc(c, DESC_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(c, DESC_GPA, 1, BUF_GPA, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	set_desc(c, DESC_GPA, 2, BUF_GPA, 16, 0, 0);
	add_avail(c, 0);
	expect_broken(c, -EINVAL);
	/* In an indirect table. */
	set_desc(c, IND_GPA, 0, BUF_GPA, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(c, IND_GPA, 1, BUF_GPA, 8, 0, 0);
	expect_bad_table(c, IND_GPA, 32, -EINVAL);
}

static void test_zero_length(void **state)
{
	struct ctx *c = *state;

	expect_bad_buf(c, BUF_GPA, 0, 0, -EINVAL);
	expect_bad_buf(c, BUF_GPA, 0, VIRTQ_DESC_F_WRITE, -EINVAL);
	/* Later in a chain. */
	set_desc(c, DESC_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(c, DESC_GPA, 1, BUF_GPA, 0, VIRTQ_DESC_F_WRITE, 0);
	add_avail(c, 0);
	expect_broken(c, -EINVAL);
	expect_bad_indirect_buf(c, BUF_GPA, 0, 0, -EINVAL);
}

static void test_buffer_outside_ram(void **state)
{
	struct ctx *c = *state;
	static const uint16_t flags[] = { 0, VIRTQ_DESC_F_WRITE };
	unsigned int i;

	for (i = 0; i < 2; i++) {
		/* In the hole; running into it; across it into the next region. */
		expect_bad_buf(c, HOLE_GPA, 1, flags[i], -EFAULT);
		expect_bad_buf(c, HOLE_GPA - 8, 9, flags[i], -EFAULT);
		expect_bad_buf(c, HOLE_GPA - 8, HIGH_GPA - HOLE_GPA + 16, flags[i], -EFAULT);
		expect_bad_buf(c, HIGH_GPA - 1, 2, flags[i], -EFAULT);
		/* Past the end of RAM, far away, wrapping around. */
		expect_bad_buf(c, HIGH_GPA + HIGH_SIZE - 1, 2, flags[i], -EFAULT);
		expect_bad_buf(c, 0x100000000ULL, 4096, flags[i], -EFAULT);
		expect_bad_buf(c, 0xffffffffffffff00ULL, 0x200, flags[i], -EFAULT);
		expect_bad_buf(c, LOW_GPA, 0xffffffff, flags[i], -EFAULT);
		expect_bad_indirect_buf(c, HOLE_GPA - 8, 16, flags[i], -EFAULT);
	}
	/* The first buffer good, the second not. */
	set_desc(c, DESC_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(c, DESC_GPA, 1, HOLE_GPA, 16, VIRTQ_DESC_F_WRITE, 0);
	add_avail(c, 0);
	expect_broken(c, -EFAULT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_init_bad_size),
		T(test_init_bad_rings),
		T(test_single_buffer),
		T(test_out_in_chain),
		T(test_indirect),
		T(test_largest_chains),
		T(test_indirect_longer_than_queue),
		T(test_several_chains_used_ring),
		T(test_index_wrap),
		T(test_has_avail),
		T(test_unpop_and_push_n),
		T(test_should_notify_flags),
		T(test_should_notify_event_idx),
		T(test_set_notify_flags),
		T(test_set_notify_event_idx),
		T(test_bad_avail_idx),
		T(test_bad_head),
		T(test_bad_next),
		T(test_loop),
		T(test_indirect_loop_and_next),
		T(test_indirect_not_negotiated),
		T(test_indirect_in_chain),
		T(test_too_many_buffers),
		T(test_bad_table),
		T(test_write_then_read),
		T(test_zero_length),
		T(test_buffer_outside_ram),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
