// SPDX-License-Identifier: MIT
/*
 * Unit tests for block_open() and the raw io_uring backend (devices/block/):
 * the test is the backend's owner and polls or drains it itself, on temp
 * files under /tmp.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "block.h"
#include "error.h"
#include "event_loop.h"
#include "util.h"

#define IMG_SIZE (8 << 20)
#define CHUNK	 4096
#define NR_REQS	 1200 /* more than the SQ (256) and the CQ (512) hold */

struct fixture {
	struct event_loop loop;
	char path[32];
};

/* A request with room for two buffers, and what became of it. */
struct test_req {
	struct block_request req;
	struct iovec iov[2];
	int ret;
	bool done;
};

static unsigned int nr_completed;

static void on_complete(struct block_request *req, int ret)
{
	struct test_req *t = (struct test_req *)req;

	assert_false(t->done);
	t->ret = ret;
	t->done = true;
	nr_completed++;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	int fd;

	if (!fx || event_loop_init(&fx->loop))
		return -1;
	strcpy(fx->path, "/tmp/kvmini-blk-XXXXXX");
	fd = mkstemp(fx->path);
	if (fd < 0 || ftruncate(fd, IMG_SIZE) || close(fd))
		return -1;
	nr_completed = 0;
	err_clear();
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	unlink(fx->path);
	event_loop_destroy(&fx->loop);
	free(fx);
	return 0;
}

static int open_img(struct fixture *fx, struct block_backend **bb, bool readonly,
		    enum block_cache cache)
{
	struct block_open_args args = {
		.path = fx->path, .format = "raw", .readonly = readonly, .cache = cache
	};

	return block_open(bb, &args, &fx->loop);
}

static unsigned int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* The open flags of the (one) fd this process has open on @path. */
static int open_flags(const char *path)
{
	DIR *d = opendir("/proc/self/fd");
	int flags = -1;
	struct dirent *e;

	assert_non_null(d);
	while ((e = readdir(d))) {
		char link[300], target[64] = "", info[300];
		FILE *f;

		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		if (readlink(link, target, sizeof(target) - 1) < 0 || strcmp(target, path))
			continue;
		snprintf(info, sizeof(info), "/proc/self/fdinfo/%s", e->d_name);
		f = fopen(info, "r");
		assert_non_null(f);
		assert_int_equal(fscanf(f, "pos: %*d flags: %o", &flags), 1);
		fclose(f);
	}
	closedir(d);
	assert_int_not_equal(flags, -1);
	return flags;
}

static void rw_req(struct test_req *t, enum block_op op, uint64_t off, void *a, size_t alen,
		   void *b, size_t blen)
{
	*t = (struct test_req){ .req = { .op = op,
					 .offset = off,
					 .iov = t->iov,
					 .iovcnt = 2,
					 .complete = on_complete } };
	t->iov[0] = (struct iovec){ a, alen };
	t->iov[1] = (struct iovec){ b, blen };
}

static void other_req(struct test_req *t, enum block_op op, uint64_t off, uint64_t len)
{
	*t = (struct test_req){
		.req = { .op = op, .offset = off, .len = len, .complete = on_complete }
	};
}

/* Queue, submit and drain one request; its result. */
static int run_one(struct block_backend *bb, struct test_req *t)
{
	block_queue(bb, &t->req);
	block_submit(bb);
	block_drain(bb);
	assert_true(t->done);
	return t->ret;
}

/* Many two-buffer requests in flight at once, written then read back. */
static void test_many_in_flight(void **state)
{
	struct fixture *fx = *state;
	unsigned int fds = count_fds();
	struct block_backend *bb;
	struct test_req *reqs = calloc(NR_REQS, sizeof(*reqs));
	uint8_t *data = malloc(NR_REQS * CHUNK), *back = calloc(NR_REQS, CHUNK);

	assert_true(reqs && data && back);
	for (size_t i = 0; i < NR_REQS * CHUNK; i++)
		data[i] = (uint8_t)(i * 7 + i / CHUNK);
	assert_int_equal(open_img(fx, &bb, false, BLOCK_CACHE_WRITEBACK), 0);
	assert_int_equal(bb->length, IMG_SIZE);
	assert_int_equal(bb->alignment, 1);
	assert_false(bb->readonly);

	/* Request i covers bytes [i * CHUNK, (i + 1) * CHUNK), split unevenly. */
	for (unsigned int i = 0; i < NR_REQS; i++) {
		uint8_t *p = data + (size_t)i * CHUNK;
		size_t cut = 1 + i % (CHUNK - 1);

		rw_req(&reqs[i], BLOCK_OP_WRITE, (uint64_t)i * CHUNK, p, cut, p + cut, CHUNK - cut);
		block_queue(bb, &reqs[i].req);
	}
	/* Nothing completes from queue() or submit(). */
	assert_int_equal(nr_completed, 0);
	block_submit(bb);
	assert_int_equal(nr_completed, 0);
	block_drain(bb);
	assert_int_equal(nr_completed, NR_REQS);
	for (unsigned int i = 0; i < NR_REQS; i++)
		assert_int_equal(reqs[i].ret, 0);

	nr_completed = 0;
	for (unsigned int i = 0; i < NR_REQS; i++) {
		uint8_t *p = back + (size_t)(NR_REQS - 1 - i) * CHUNK;

		rw_req(&reqs[i], BLOCK_OP_READ, (uint64_t)(NR_REQS - 1 - i) * CHUNK, p, 512,
		       p + 512, CHUNK - 512);
		block_queue(bb, &reqs[i].req);
	}
	block_submit(bb);
	block_drain(bb);
	assert_int_equal(nr_completed, NR_REQS);
	for (unsigned int i = 0; i < NR_REQS; i++)
		assert_int_equal(reqs[i].ret, 0);
	assert_memory_equal(back, data, NR_REQS * CHUNK);

	block_close(bb);
	assert_int_equal(count_fds(), fds);
	free(reqs);
	free(data);
	free(back);
}

static struct block_backend *ready_bb;

static void on_ready(void *opaque)
{
	assert_ptr_equal(opaque, &ready_bb);
	block_poll(ready_bb);
}

/* The I/O thread's path: the eventfd fires, ready() polls. */
static void test_event_loop_ready(void **state)
{
	struct fixture *fx = *state;
	struct block_open_args args = {
		.path = fx->path, .format = "raw", .ready = on_ready, .opaque = &ready_bb
	};
	static struct test_req reqs[300];
	static uint8_t buf[300][512];

	assert_int_equal(block_open(&ready_bb, &args, &fx->loop), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(reqs); i++) {
		memset(buf[i], i, sizeof(buf[i]));
		rw_req(&reqs[i], BLOCK_OP_WRITE, i * 512, buf[i], 512, NULL, 0);
		block_queue(ready_bb, &reqs[i].req);
	}
	block_submit(ready_bb);
	/* poll() pushes the requests the ring had no room for as others finish. */
	for (int tries = 0; nr_completed < ARRAY_SIZE(reqs) && tries < 1000; tries++)
		assert_true(event_loop_poll(&fx->loop, 1000) >= 0);
	assert_int_equal(nr_completed, ARRAY_SIZE(reqs));
	for (unsigned int i = 0; i < ARRAY_SIZE(reqs); i++)
		assert_int_equal(reqs[i].ret, 0);
	block_close(ready_bb);
}

/* Reads past the end fail with -EIO after delivering what the file has. */
static void test_read_at_eof(void **state)
{
	struct fixture *fx = *state;
	static uint8_t a[6144], b[2048], pattern[4096];
	struct block_backend *bb;
	struct test_req t;

	memset(pattern, 0x5a, sizeof(pattern));
	assert_int_equal(open_img(fx, &bb, false, BLOCK_CACHE_WRITEBACK), 0);
	rw_req(&t, BLOCK_OP_WRITE, IMG_SIZE - 4096, pattern, 4096, NULL, 0);
	assert_int_equal(run_one(bb, &t), 0);

	/* Short: 4096 of 8192 bytes, then the rest of a[] alone, which reads nothing. */
	rw_req(&t, BLOCK_OP_READ, IMG_SIZE - 4096, a, sizeof(a), b, sizeof(b));
	assert_int_equal(run_one(bb, &t), -EIO);
	assert_memory_equal(a, pattern, 4096);

	rw_req(&t, BLOCK_OP_READ, IMG_SIZE, a, 512, NULL, 0);
	assert_int_equal(run_one(bb, &t), -EIO);
	/* Nothing to move is no error, even at the end. */
	rw_req(&t, BLOCK_OP_READ, IMG_SIZE, a, 0, NULL, 0);
	assert_int_equal(run_one(bb, &t), 0);
	t.req.iovcnt = 0;
	t.done = false;
	assert_int_equal(run_one(bb, &t), 0);
	block_close(bb);
}

static void test_flush(void **state)
{
	struct fixture *fx = *state;
	struct block_backend *bb;
	struct test_req t;

	assert_int_equal(open_img(fx, &bb, false, BLOCK_CACHE_WRITEBACK), 0);
	other_req(&t, BLOCK_OP_FLUSH, 0, 0);
	assert_int_equal(run_one(bb, &t), 0);
	block_close(bb);
}

static void read_back(struct block_backend *bb, uint64_t off, void *buf, size_t len)
{
	struct test_req t;

	rw_req(&t, BLOCK_OP_READ, off, buf, len, NULL, 0);
	assert_int_equal(run_one(bb, &t), 0);
}

/* Write ones over [0, 64K), then discard and zero parts of it. */
static void test_discard_write_zeroes(void **state)
{
	struct fixture *fx = *state;
	static uint8_t ones[65536], back[65536], zeros[16384];
	struct block_backend *bb;
	struct test_req t;

	memset(ones, 0xff, sizeof(ones));
	assert_int_equal(open_img(fx, &bb, false, BLOCK_CACHE_WRITEBACK), 0);
	assert_true(bb->can_discard); /* ext4 punches holes */
	rw_req(&t, BLOCK_OP_WRITE, 0, ones, sizeof(ones), NULL, 0);
	assert_int_equal(run_one(bb, &t), 0);

	other_req(&t, BLOCK_OP_DISCARD, 8192, 16384);
	assert_int_equal(run_one(bb, &t), 0);
	other_req(&t, BLOCK_OP_WRITE_ZEROES, 40960, 16384);
	assert_int_equal(run_one(bb, &t), 0);

	read_back(bb, 0, back, sizeof(back));
	assert_memory_equal(back, ones, 8192);
	assert_memory_equal(back + 8192, zeros, 16384);
	assert_memory_equal(back + 24576, ones, 16384);
	assert_memory_equal(back + 40960, zeros, 16384);
	assert_memory_equal(back + 57344, ones, 8192);
	block_close(bb);
	/* KEEP_SIZE: the image did not grow or shrink. */
	assert_int_equal(open_img(fx, &bb, true, BLOCK_CACHE_WRITEBACK), 0);
	assert_int_equal(bb->length, IMG_SIZE);
	block_close(bb);
}

/* tmpfs has no FALLOC_FL_ZERO_RANGE: WRITE_ZEROES punches a hole instead. */
static void test_write_zeroes_tmpfs(void **state)
{
	struct fixture *fx = *state;
	static uint8_t ones[16384], back[16384], zeros[8192];
	struct block_backend *bb;
	struct test_req t, t2;
	char path[] = "/dev/shm/kvmini-blk-XXXXXX";
	struct block_open_args args = { .path = path };
	int fd = mkstemp(path);

	if (fd < 0)
		skip();
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	memset(ones, 0xff, sizeof(ones));
	assert_int_equal(block_open(&bb, &args, &fx->loop), 0);
	unlink(path); /* the backend's fd keeps it; nothing is left behind if a check fails */
	rw_req(&t, BLOCK_OP_WRITE, 0, ones, sizeof(ones), NULL, 0);
	assert_int_equal(run_one(bb, &t), 0);
	/* Both go out as ZERO_RANGE and both come back for a hole. */
	other_req(&t, BLOCK_OP_WRITE_ZEROES, 0, 4096);
	other_req(&t2, BLOCK_OP_WRITE_ZEROES, 4096, 4096);
	block_queue(bb, &t.req);
	block_queue(bb, &t2.req);
	block_submit(bb);
	block_drain(bb);
	assert_int_equal(t.ret, 0);
	assert_int_equal(t2.ret, 0);
	/* Now it knows. */
	other_req(&t, BLOCK_OP_WRITE_ZEROES, 12288, 4096);
	assert_int_equal(run_one(bb, &t), 0);
	assert_true(bb->can_discard);
	read_back(bb, 0, back, sizeof(back));
	assert_memory_equal(back, zeros, 8192);
	assert_memory_equal(back + 8192, ones, 4096);
	assert_memory_equal(back + 12288, zeros, 4096);
	block_close(bb);
}

/* Refusing writes is the device's job; the O_RDONLY fd is the safety net. */
static void test_readonly(void **state)
{
	struct fixture *fx = *state;
	static uint8_t buf[512];
	struct block_backend *bb;
	struct test_req t;

	assert_int_equal(open_img(fx, &bb, true, BLOCK_CACHE_WRITEBACK), 0);
	assert_true(bb->readonly);
	assert_false(bb->can_discard);
	rw_req(&t, BLOCK_OP_WRITE, 0, buf, sizeof(buf), NULL, 0);
	assert_int_equal(run_one(bb, &t), -EBADF);
	read_back(bb, 0, buf, sizeof(buf));
	block_close(bb);
}

static void test_cache_none(void **state)
{
	struct fixture *fx = *state;
	struct block_backend *bb;
	uint8_t *data = NULL, *back = NULL;
	struct test_req t;
	uint32_t al;

	assert_int_equal(open_img(fx, &bb, false, BLOCK_CACHE_NONE), 0);
	al = bb->alignment;
	assert_true(al >= 512 && al <= 4096 && !(al & (al - 1)));
	assert_int_equal(posix_memalign((void **)&data, al, 2 * al), 0);
	assert_int_equal(posix_memalign((void **)&back, al, 2 * al), 0);
	for (uint32_t i = 0; i < 2 * al; i++)
		data[i] = (uint8_t)(i ^ 0xa5);
	rw_req(&t, BLOCK_OP_WRITE, 3 * al, data, al, data + al, al);
	assert_int_equal(run_one(bb, &t), 0);
	rw_req(&t, BLOCK_OP_READ, 3 * al, back, 2 * al, NULL, 0);
	assert_int_equal(run_one(bb, &t), 0);
	assert_memory_equal(back, data, 2 * al);
	/* ext4 quietly buffers misaligned O_DIRECT reads: look at the fd itself. */
	assert_true(open_flags(fx->path) & O_DIRECT);
	block_close(bb);
	free(data);
	free(back);
}

/* block_open() fails with @err and a message starting with @msg. */
static void open_fails(struct block_open_args *args, struct event_loop *loop, int err,
		       const char *msg)
{
	struct block_backend *bb = (struct block_backend *)1;

	err_clear();
	assert_int_equal(block_open(&bb, args, loop), -err);
	assert_null(bb);
	if (strncmp(err_msg(err), msg, strlen(msg)))
		fail_msg("message '%s', expected '%s...'", err_msg(err), msg);
}

/*
 * With registered memory (guest RAM), single buffers inside it go through
 * READ_FIXED/WRITE_FIXED; buffers outside it or spanning its end, and
 * vectors, take the normal path.  The data must be right either way.
 */
static void test_registered_buffers(void **state)
{
	struct fixture *fx = *state;
	enum { AREA = 1 << 20 };
	uint8_t *area = NULL, *outside = NULL, *back = NULL;
	struct iovec reg;
	struct block_open_args args = {
		.path = fx->path,
		.format = "raw",
		.cache = BLOCK_CACHE_NONE,
		.buffers = &reg,
		.nr_buffers = 1,
	};
	struct block_backend *bb;
	struct test_req t;

	assert_int_equal(posix_memalign((void **)&area, 4096, AREA), 0);
	assert_int_equal(posix_memalign((void **)&outside, 4096, 8192), 0);
	assert_int_equal(posix_memalign((void **)&back, 4096, 8192), 0);
	reg = (struct iovec){ area, AREA };
	assert_int_equal(block_open(&bb, &args, &fx->loop), 0);
	for (unsigned int i = 0; i < AREA; i++)
		area[i] = (uint8_t)(i * 7 + 1);
	memset(outside, 0x5a, 8192);
	/* Inside (start, middle, last bytes of the area), then outside. */
	rw_req(&t, BLOCK_OP_WRITE, 0, area, 8192, NULL, 0);
	assert_int_equal(run_one(bb, &t), 0);
	rw_req(&t, BLOCK_OP_WRITE, 8192, area + AREA - 4096, 4096, NULL, 0);
	assert_int_equal(run_one(bb, &t), 0);
	rw_req(&t, BLOCK_OP_WRITE, 16384, outside, 8192, NULL, 0);
	assert_int_equal(run_one(bb, &t), 0);
	read_back(bb, 0, back, 8192);
	assert_memory_equal(back, area, 8192);
	read_back(bb, 8192, back, 4096);
	assert_memory_equal(back, area + AREA - 4096, 4096);
	read_back(bb, 16384, back, 8192);
	assert_memory_equal(back, outside, 8192);
	/* Reads into the area land there. */
	memset(area + 65536, 0, 8192);
	rw_req(&t, BLOCK_OP_READ, 16384, area + 65536, 8192, NULL, 0);
	assert_int_equal(run_one(bb, &t), 0);
	assert_memory_equal(area + 65536, outside, 8192);
	block_close(bb);
	free(area);
	free(outside);
	free(back);
}

static void test_open_errors(void **state)
{
	struct fixture *fx = *state;
	unsigned int fds = count_fds();
	struct block_open_args args = { .path = fx->path, .format = "qcow3" };

	open_fails(&args, &fx->loop, EINVAL, "unknown format 'qcow3' (supported: raw, qcow2)");
	args.format = "raw";
	args.path = "/tmp/kvmini-no/such.img";
	open_fails(&args, &fx->loop, ENOENT, "No such file or directory");
	args.path = "/tmp";
	open_fails(&args, &fx->loop, EISDIR, "Is a directory");
	args.readonly = true;
	open_fails(&args, &fx->loop, EISDIR, "not a regular file or a block device");
	args.path = "/dev/null";
	open_fails(&args, &fx->loop, EINVAL, "not a regular file or a block device");
	assert_int_equal(count_fds(), fds);
}

/* Two opens of one image: their locks conflict like two processes' would. */
static void test_locks(void **state)
{
	struct fixture *fx = *state;
	unsigned int fds = count_fds();
	struct block_backend *w, *r1, *r2, *bb;
	struct block_open_args args = { .path = fx->path };
	const char *in_use = "the image is in use by another process";

	assert_int_equal(open_img(fx, &w, false, BLOCK_CACHE_WRITEBACK), 0);
	open_fails(&args, &fx->loop, EBUSY, "the image is in use by another process");
	assert_non_null(strstr(err_msg(EBUSY), in_use));
	assert_non_null(strstr(err_msg(EBUSY), "write lock"));
	args.readonly = true;
	open_fails(&args, &fx->loop, EBUSY, "the image is in use by another process");
	block_close(w);

	assert_int_equal(open_img(fx, &r1, true, BLOCK_CACHE_WRITEBACK), 0);
	assert_int_equal(open_img(fx, &r2, true, BLOCK_CACHE_NONE), 0);
	args.readonly = false;
	open_fails(&args, &fx->loop, EBUSY, "the image is in use by another process");
	assert_non_null(strstr(err_msg(EBUSY), "readonly=on"));
	block_close(r1);
	open_fails(&args, &fx->loop, EBUSY, "the image is in use by another process");
	block_close(r2);

	/* A failed open released what it had taken: a writer gets in now. */
	assert_int_equal(open_img(fx, &bb, false, BLOCK_CACHE_WRITEBACK), 0);
	block_close(bb);
	assert_int_equal(count_fds(), fds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_many_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_loop_ready, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_at_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discard_write_zeroes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_zeroes_tmpfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registered_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locks, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
