// SPDX-License-Identifier: MIT
/*
 * Unit tests for disks in VM state files (devices/block/disk_state.c): the
 * payload, malformed payloads, the comparison and its messages, and
 * -incoming's disk-check option (vmm/cli.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "block.h"
#include "cli_args.h"
#include "disk_state.h"
#include "error.h"
#include "event_loop.h"
#include "qcow2.h"
#include "snapshot.h"
#include "util.h"

/* 2026-12-02 00:30:55 UTC */
#define T_SAVED 1796171455LL

static int setup_tz(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

static void sample(struct disk_identity *id, const char *path, uint32_t format)
{
	memset(id, 0, sizeof(*id));
	id->dev = 0x10302;
	id->ino = 0x123456789abcULL;
	id->size = 3ULL << 30;
	id->mtime_sec = T_SAVED;
	id->mtime_nsec = 123456789;
	id->format = format;
	snprintf(id->path, sizeof(id->path), "%s", path);
}

static struct snap_buf encode(const struct disk_identity *id)
{
	struct snap_buf b = { 0 };

	disk_state_encode(id, &b);
	assert_false(b.oom);
	return b;
}

static void assert_same_identity(const struct disk_identity *a, const struct disk_identity *b)
{
	assert_int_equal(a->dev, b->dev);
	assert_int_equal(a->ino, b->ino);
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->mtime_sec, b->mtime_sec);
	assert_int_equal(a->mtime_nsec, b->mtime_nsec);
	assert_int_equal(a->format, b->format);
	assert_string_equal(a->path, b->path);
	assert_string_equal(a->snapshot, b->snapshot);
}

/* The layout include/disk_state.h documents, and back. */
static void test_round_trip(void **state)
{
	struct disk_identity id, back;
	struct snap_buf b;

	(void)state;
	sample(&id, "images/disk.qcow2", DISK_FORMAT_QCOW2);
	b = encode(&id);
	assert_int_equal(b.len, DISK_STATE_HDR_LEN + strlen("images/disk.qcow2"));
	assert_int_equal(b.data[0], 1); /* no snapshot: version 1, as older kvmini wrote */
	assert_int_equal(b.data[4], strlen("images/disk.qcow2"));
	assert_int_equal(b.data[8], 0x02); /* st_dev, little-endian */
	assert_int_equal(b.data[9], 0x03);
	assert_int_equal(b.data[16], 0xbc); /* st_ino */
	assert_int_equal(b.data[40], 0x15); /* 123456789 = 0x075bcd15 */
	assert_int_equal(b.data[44], DISK_FORMAT_QCOW2);
	assert_memory_equal(b.data + DISK_STATE_HDR_LEN, "images/disk.qcow2", 17);
	assert_int_equal(disk_state_decode(&back, b.data, b.len), 0);
	assert_same_identity(&id, &back);
	free(b.data);

	/* An empty path, a raw image, a negative time (before 1970). */
	sample(&id, "", DISK_FORMAT_RAW);
	id.mtime_sec = -5;
	b = encode(&id);
	assert_int_equal(b.len, DISK_STATE_HDR_LEN);
	assert_int_equal(disk_state_decode(&back, b.data, b.len), 0);
	assert_same_identity(&id, &back);
	free(b.data);
}

/* The identity of a real file, and a path longer than the payload keeps. */
static void test_identity_set(void **state)
{
	char path[] = "/tmp/test_disk_state.XXXXXX", *long_path;
	struct disk_identity id, back;
	struct snap_buf b;
	struct stat st;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	assert_int_equal(fstat(fd, &st), 0);
	disk_identity_set(&id, &st, path, "raw");
	assert_int_equal(id.dev, st.st_dev);
	assert_int_equal(id.ino, st.st_ino);
	assert_int_equal(id.size, 3);
	assert_int_equal(id.mtime_sec, st.st_mtim.tv_sec);
	assert_int_equal(id.mtime_nsec, st.st_mtim.tv_nsec);
	assert_int_equal(id.format, DISK_FORMAT_RAW);
	assert_string_equal(id.path, path);
	disk_identity_set(&id, &st, path, "qcow2");
	assert_int_equal(id.format, DISK_FORMAT_QCOW2);
	close(fd);
	unlink(path);

	long_path = malloc(3 * DISK_STATE_PATH_MAX);
	assert_non_null(long_path);
	memset(long_path, 'p', 3 * DISK_STATE_PATH_MAX - 1);
	long_path[3 * DISK_STATE_PATH_MAX - 1] = '\0';
	disk_identity_set(&id, &st, long_path, "raw");
	assert_int_equal(strlen(id.path), DISK_STATE_PATH_MAX - 1);
	b = encode(&id);
	assert_int_equal(b.len, DISK_STATE_HDR_LEN + DISK_STATE_PATH_MAX - 1);
	assert_int_equal(disk_state_decode(&back, b.data, b.len), 0);
	assert_same_identity(&id, &back);
	free(b.data);
	free(long_path);
}

static void expect_malformed(const uint8_t *data, size_t len)
{
	struct disk_identity id;

	err_clear();
	assert_int_equal(disk_state_decode(&id, data, len), -EINVAL);
	assert_true(strlen(err_msg(EINVAL)) > 0);
	assert_non_null(strstr(err_msg(EINVAL), "the disk's state"));
}

/*
 * Every cut of @b's payload, and the payload with a byte too many, are
 * refused.  Each a copy of exactly its length: ASan sees any read past it.
 * Returns a copy of the payload (with room for that extra byte) to spoil.
 */
static uint8_t *expect_cuts_malformed(const struct snap_buf *b)
{
	uint8_t *p;

	for (size_t len = 0; len < b->len; len++) {
		p = malloc(len ? len : 1);
		assert_non_null(p);
		memcpy(p, b->data, len);
		expect_malformed(p, len);
		free(p);
	}
	p = malloc(b->len + 1);
	assert_non_null(p);
	memcpy(p, b->data, b->len);
	p[b->len] = 'x';
	expect_malformed(p, b->len + 1);
	return p;
}

/* Every cut of a valid payload, and each field out of range, is refused. */
static void test_malformed(void **state)
{
	struct disk_identity id;
	struct snap_buf b;
	uint8_t *p;

	(void)state;
	sample(&id, "disk.img", DISK_FORMAT_RAW);
	b = encode(&id);
	p = expect_cuts_malformed(&b);

	/* Another version; version 2's longer header does not fit this payload. */
	p[0] = 3;
	expect_malformed(p, b.len);
	assert_non_null(strstr(err_msg(EINVAL), "version 3"));
	p[0] = 2;
	expect_malformed(p, b.len);
	p[0] = 1;

	/* The path length disagrees with the payload, or is too long. */
	p[4] = 9;
	expect_malformed(p, b.len);
	p[4] = 7;
	expect_malformed(p, b.len);
	put_le(p + 4, 0xffffffffu, 4);
	expect_malformed(p, b.len);
	put_le(p + 4, 8, 4);

	/* Nanoseconds of a second or more. */
	put_le(p + 40, 1000000000u, 4);
	expect_malformed(p, b.len);
	put_le(p + 40, 999999999u, 4);
	assert_int_equal(disk_state_decode(&id, p, b.len), 0);

	/* An unknown format. */
	put_le(p + 44, 2, 4);
	expect_malformed(p, b.len);
	put_le(p + 44, DISK_FORMAT_RAW, 4);

	/* A NUL inside the path. */
	p[DISK_STATE_HDR_LEN + 3] = '\0';
	expect_malformed(p, b.len);
	p[DISK_STATE_HDR_LEN + 3] = 'k';
	assert_int_equal(disk_state_decode(&id, p, b.len), 0);
	assert_string_equal(id.path, "disk.img");
	free(p);
	free(b.data);

	/* A path of DISK_STATE_PATH_MAX bytes: one more than a payload may hold. */
	p = calloc(1, DISK_STATE_HDR_LEN + DISK_STATE_PATH_MAX);
	assert_non_null(p);
	put_le(p, 1, 4);
	put_le(p + 4, DISK_STATE_PATH_MAX, 4);
	memset(p + DISK_STATE_HDR_LEN, 'a', DISK_STATE_PATH_MAX);
	expect_malformed(p, DISK_STATE_HDR_LEN + DISK_STATE_PATH_MAX);
	put_le(p + 4, DISK_STATE_PATH_MAX - 1, 4);
	assert_int_equal(disk_state_decode(&id, p, DISK_STATE_HDR_LEN + DISK_STATE_PATH_MAX - 1),
			 0);
	free(p);
}

/* Version 2: the name of the internal snapshot savevm took, after the path. */
static void test_round_trip_snapshot(void **state)
{
	static const uint8_t v1[] = {
		1,   0, 0, 0, 1, 0, 0, 0, 2, 3, 1, 0, 0, 0, 0, 0, /* version, path length, dev */
		4,   0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, /* ino, size */
		5,   0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 1, 0, 0, 0, /* mtime, format */
		'd',
	};
	struct disk_identity id, back;
	struct snap_buf b;

	(void)state;
	sample(&id, "disk.qcow2", DISK_FORMAT_QCOW2);
	snprintf(id.snapshot, sizeof(id.snapshot), "s1");
	b = encode(&id);
	assert_int_equal(b.len, DISK_STATE_HDR2_LEN + strlen("disk.qcow2") + 2);
	assert_int_equal(b.data[0], 2);
	assert_int_equal(b.data[4], strlen("disk.qcow2"));
	assert_int_equal(b.data[44], DISK_FORMAT_QCOW2);
	assert_int_equal(b.data[48], 2);
	assert_memory_equal(b.data + DISK_STATE_HDR2_LEN, "disk.qcow2s1", 12);
	memset(&back, 0xff, sizeof(back));
	assert_int_equal(disk_state_decode(&back, b.data, b.len), 0);
	assert_same_identity(&id, &back);
	free(b.data);

	/* The longest name, with an empty path. */
	sample(&id, "", DISK_FORMAT_QCOW2);
	memset(id.snapshot, 'n', DISK_STATE_SNAP_MAX - 1);
	id.snapshot[DISK_STATE_SNAP_MAX - 1] = '\0';
	b = encode(&id);
	assert_int_equal(b.len, DISK_STATE_HDR2_LEN + DISK_STATE_SNAP_MAX - 1);
	assert_int_equal(disk_state_decode(&back, b.data, b.len), 0);
	assert_same_identity(&id, &back);
	free(b.data);

	/* A version 1 payload (an older kvmini's) still reads: no snapshot. */
	memset(&back, 0xff, sizeof(back));
	assert_int_equal(disk_state_decode(&back, v1, sizeof(v1)), 0);
	assert_int_equal(back.dev, 0x10302);
	assert_int_equal(back.ino, 4);
	assert_int_equal(back.size, 512);
	assert_int_equal(back.mtime_sec, 5);
	assert_int_equal(back.mtime_nsec, 6);
	assert_int_equal(back.format, DISK_FORMAT_QCOW2);
	assert_string_equal(back.path, "d");
	assert_string_equal(back.snapshot, "");
}

/* Version 2: every cut, and the name's length and bytes out of range, are refused. */
static void test_malformed_snapshot(void **state)
{
	struct disk_identity id;
	struct snap_buf b;
	size_t hlen = DISK_STATE_HDR2_LEN;
	uint8_t *p;

	(void)state;
	sample(&id, "disk.qcow2", DISK_FORMAT_QCOW2);
	snprintf(id.snapshot, sizeof(id.snapshot), "snap");
	b = encode(&id);
	assert_int_equal(b.len, hlen + 10 + 4);
	p = expect_cuts_malformed(&b);

	/* The name's length disagrees with the payload, or is too long. */
	put_le(p + 48, 5, 4);
	expect_malformed(p, b.len);
	put_le(p + 48, 3, 4);
	expect_malformed(p, b.len);
	put_le(p + 48, 0xffffffffu, 4);
	expect_malformed(p, b.len);
	put_le(p + 48, 4, 4);

	/* A NUL inside the name. */
	p[hlen + 10 + 1] = '\0';
	expect_malformed(p, b.len);
	assert_non_null(strstr(err_msg(EINVAL), "snapshot name"));
	p[hlen + 10 + 1] = 'n';
	assert_int_equal(disk_state_decode(&id, p, b.len), 0);
	assert_string_equal(id.path, "disk.qcow2");
	assert_string_equal(id.snapshot, "snap");

	/* Read as version 1, the payload is too long for its path. */
	p[0] = 1;
	expect_malformed(p, b.len);
	free(p);
	free(b.data);

	/* A name of DISK_STATE_SNAP_MAX bytes: one more than a payload may hold. */
	p = calloc(1, hlen + DISK_STATE_SNAP_MAX);
	assert_non_null(p);
	put_le(p, 2, 4);
	put_le(p + 48, DISK_STATE_SNAP_MAX, 4);
	memset(p + hlen, 'a', DISK_STATE_SNAP_MAX);
	expect_malformed(p, hlen + DISK_STATE_SNAP_MAX);
	put_le(p + 48, DISK_STATE_SNAP_MAX - 1, 4);
	assert_int_equal(disk_state_decode(&id, p, hlen + DISK_STATE_SNAP_MAX - 1), 0);
	assert_int_equal(strlen(id.snapshot), DISK_STATE_SNAP_MAX - 1);
	assert_string_equal(id.path, "");
	free(p);
}

static const char *compare(const struct disk_identity *saved, const struct disk_identity *now)
{
	static char buf[2 * DISK_STATE_PATH_MAX + 256];

	if (!disk_state_compare(saved, now, buf, sizeof(buf)))
		return NULL;
	return buf;
}

static void test_compare(void **state)
{
	struct disk_identity saved, now;

	(void)state;
	sample(&saved, "disk.qcow2", DISK_FORMAT_QCOW2);
	now = saved;
	assert_null(compare(&saved, &now));
	/* The path is only for messages: the file may be named another way now. */
	snprintf(now.path, sizeof(now.path), "/srv/vm/disk.qcow2");
	assert_null(compare(&saved, &now));

	now = saved;
	now.ino++;
	assert_string_equal(compare(&saved, &now),
			    "disk.qcow2 is not the file the state was saved with (the name leads "
			    "to another file now)");
	now = saved;
	now.dev++;
	snprintf(now.path, sizeof(now.path), "copy.qcow2");
	assert_string_equal(compare(&saved, &now),
			    "copy.qcow2 is not the file the state was saved with (disk.qcow2)");

	now = saved;
	now.format = DISK_FORMAT_RAW;
	assert_string_equal(compare(&saved, &now),
			    "disk.qcow2 was saved as a qcow2 image, it is now opened as raw");

	now = saved;
	now.size += 65536;
	now.mtime_sec += 12;
	assert_string_equal(compare(&saved, &now),
			    "disk.qcow2 changed since the state was saved (size 3221291008 bytes, "
			    "saved with 3221225472)");

	now = saved;
	now.mtime_sec += 12;
	assert_string_equal(compare(&saved, &now),
			    "disk.qcow2 changed since the state was saved (modified 2026-12-02 "
			    "00:31:07, last modified 00:30:55 at the save)");

	/* Another day: both dates. */
	now.mtime_sec = T_SAVED + 86400 + 3600;
	assert_string_equal(compare(&saved, &now),
			    "disk.qcow2 changed since the state was saved (modified 2026-12-03 "
			    "01:30:55, last modified 2026-12-02 00:30:55 at the save)");
	/* Back in time (touch -d) reads the same way. */
	now.mtime_sec = T_SAVED - 3600;
	assert_string_equal(compare(&saved, &now),
			    "disk.qcow2 changed since the state was saved (modified 2026-12-01 "
			    "23:30:55, last modified 2026-12-02 00:30:55 at the save)");

	/* Within the same second: the nanoseconds tell them apart. */
	now = saved;
	now.mtime_nsec = 987654321;
	assert_string_equal(compare(&saved, &now),
			    "disk.qcow2 changed since the state was saved (modified 2026-12-02 "
			    "00:30:55.987654321, last modified 00:30:55.123456789 at the save)");
}

/* Local time, not UTC. */
static void test_compare_local_time(void **state)
{
	struct disk_identity saved, now;

	(void)state;
	setenv("TZ", "CET-1", 1);
	tzset();
	sample(&saved, "d.img", DISK_FORMAT_RAW);
	now = saved;
	now.mtime_sec += 1;
	assert_string_equal(compare(&saved, &now),
			    "d.img changed since the state was saved (modified 2026-12-02 "
			    "01:30:56, last modified 01:30:55 at the save)");
	setup_tz(NULL);
}

/* Run disk_state_check() with stderr in a file; what it printed in @out. */
static int check_capture(const struct disk_identity *saved, const struct disk_identity *now,
			 bool check, char *out, size_t size)
{
	char path[] = "/tmp/test_disk_state_err.XXXXXX";
	int fd = mkstemp(path), saved_fd = dup(2), ret;
	ssize_t n;

	assert_true(fd >= 0 && saved_fd >= 0);
	fflush(stderr);
	assert_int_equal(dup2(fd, 2), 2);
	ret = disk_state_check("disk1", saved, now, check,
			       "-incoming file:vm.state,disk-check=off");
	fflush(stderr);
	assert_int_equal(dup2(saved_fd, 2), 2);
	close(saved_fd);
	n = pread(fd, out, size - 1, 0);
	assert_true(n >= 0);
	out[n] = '\0';
	close(fd);
	unlink(path);
	return ret;
}

static void test_check(void **state)
{
	struct disk_identity saved, now;
	char out[1024];

	(void)state;
	sample(&saved, "disk.qcow2", DISK_FORMAT_QCOW2);
	now = saved;
	/* Unchanged: nothing said, either way. */
	assert_int_equal(check_capture(&saved, &now, true, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(check_capture(&saved, &now, false, out, sizeof(out)), 0);
	assert_string_equal(out, "");

	now.mtime_sec += 12;
	err_clear();
	assert_int_equal(check_capture(&saved, &now, true, out, sizeof(out)), -ESTALE);
	assert_string_equal(out, "");
	assert_string_equal(err_msg(ESTALE),
			    "disk.qcow2 changed since the state was saved (modified 2026-12-02 "
			    "00:31:07, last modified 00:30:55 at the save); restore anyway with "
			    "-incoming file:vm.state,disk-check=off");

	/* Off: a warning, and the restore goes on. */
	assert_int_equal(check_capture(&saved, &now, false, out, sizeof(out)), 0);
	assert_string_equal(out, "kvmini: warning: disk1: disk.qcow2 changed since the state was "
				 "saved (modified 2026-12-02 00:31:07, last modified 00:30:55 at "
				 "the save); restoring anyway (disk-check=off)\n");

	now = saved;
	now.ino = 1;
	assert_int_equal(check_capture(&saved, &now, false, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "is not the file the state was saved with"));
	assert_int_equal(check_capture(&saved, &now, true, out, sizeof(out)), -ESTALE);
	assert_non_null(strstr(err_msg(ESTALE), "is not the file the state was saved with"));

	now = saved;
	now.size = 1;
	assert_int_equal(check_capture(&saved, &now, true, out, sizeof(out)), -ESTALE);
	assert_non_null(strstr(err_msg(ESTALE), "(size 1 bytes, saved with 3221225472)"));
	assert_int_equal(check_capture(&saved, &now, false, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "size 1 bytes"));
}

/* ---- The block backends' side: the identity at open, and the file after a flush -------------- */

static void write_done(struct block_request *req, int ret)
{
	assert_int_equal(ret, 0);
	req->done = UINT64_MAX; /* ours: the backend is finished with it */
}

/* An image of @format at @path, its modification time set to 2020-01-01 00:00:00.5. */
static void make_image(const char *path, const char *format)
{
	const struct timespec t[2] = { { 1577836800, 500000000 }, { 1577836800, 500000000 } };

	if (!strcmp(format, "qcow2")) {
		struct img_create_opts o = { .format = IMG_FORMAT_QCOW2, .size = 64 << 20 };

		assert_int_equal(img_create(path, &o), 0);
	} else {
		int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);

		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, 64 << 20), 0);
		close(fd);
	}
	assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

/*
 * Opening an image (read-write or not) and closing it leaves it as it was,
 * and what the backend recorded at open is the file before anything wrote:
 * a refused restore must not make the next one see a changed disk.
 */
static void open_close(const char *path, const char *format, bool readonly)
{
	struct block_open_args args = { .path = path, .format = format, .readonly = readonly };
	struct block_backend *bb;
	struct event_loop loop;
	struct stat before, after;

	make_image(path, format);
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(event_loop_init(&loop), 0);
	assert_int_equal(block_open(&bb, &args, &loop), 0);
	assert_string_equal(bb->format, format);
	assert_int_equal(bb->opened.st_ino, before.st_ino);
	assert_int_equal(bb->opened.st_size, before.st_size);
	assert_int_equal(bb->opened.st_mtim.tv_sec, 1577836800);
	assert_int_equal(bb->opened.st_mtim.tv_nsec, 500000000);
	assert_int_equal(block_flush(bb), 0);
	block_close(bb);
	event_loop_destroy(&loop);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(after.st_size, before.st_size);
	assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
}

static void test_open_keeps_image(void **state)
{
	char path[] = "/tmp/test_disk_state_img.XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	open_close(path, "raw", false);
	open_close(path, "raw", true);
	open_close(path, "qcow2", false);
	open_close(path, "qcow2", true);
	unlink(path);
}

/*
 * Written, drained and flushed: the file is what the state records, and
 * closing it changes nothing more (no cached metadata left to write, no
 * space grown ahead of need left to give back).
 */
static void flush_then_close(const char *path, const char *format)
{
	struct block_open_args args = { .path = path, .format = format };
	static uint8_t data[256 << 10];
	struct iovec iov = { data, sizeof(data) };
	struct block_request req = {
		.op = BLOCK_OP_WRITE,
		.offset = 1 << 20,
		.iov = &iov,
		.iovcnt = 1,
		.complete = write_done,
	};
	struct block_backend *bb;
	struct event_loop loop;
	struct stat flushed, closed;

	make_image(path, format);
	memset(data, 0x5a, sizeof(data));
	assert_int_equal(event_loop_init(&loop), 0);
	assert_int_equal(block_open(&bb, &args, &loop), 0);
	block_queue(bb, &req);
	block_submit(bb);
	block_drain(bb);
	assert_int_equal(req.done, UINT64_MAX);
	assert_int_equal(block_flush(bb), 0);
	assert_int_equal(fstat(bb->fd, &flushed), 0);
	usleep(20000); /* a later write would get another time */
	block_close(bb);
	event_loop_destroy(&loop);
	assert_int_equal(stat(path, &closed), 0);
	assert_int_equal(closed.st_size, flushed.st_size);
	assert_int_equal(closed.st_mtim.tv_sec, flushed.st_mtim.tv_sec);
	assert_int_equal(closed.st_mtim.tv_nsec, flushed.st_mtim.tv_nsec);
	assert_true(flushed.st_mtim.tv_sec > 1577836800);
}

static void test_flush_is_final(void **state)
{
	char path[] = "/tmp/test_disk_state_img.XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	flush_then_close(path, "raw");
	flush_then_close(path, "qcow2");
	unlink(path);
}

/* One 64 KiB write of @byte at @off through @bb, waited for. */
static void write_byte(struct block_backend *bb, uint64_t off, uint8_t byte)
{
	static uint8_t data[64 << 10];
	struct iovec iov = { data, sizeof(data) };
	struct block_request req = {
		.op = BLOCK_OP_WRITE,
		.offset = off,
		.iov = &iov,
		.iovcnt = 1,
		.complete = write_done,
	};

	memset(data, byte, sizeof(data));
	block_queue(bb, &req);
	block_submit(bb);
	block_drain(bb);
	assert_int_equal(req.done, UINT64_MAX);
}

/* Whether the 64 KiB at @off read through @bb are all @byte. */
static void expect_byte(struct block_backend *bb, uint64_t off, uint8_t byte)
{
	static uint8_t data[64 << 10];
	struct iovec iov = { data, sizeof(data) };
	struct block_request req = {
		.op = BLOCK_OP_READ,
		.offset = off,
		.iov = &iov,
		.iovcnt = 1,
		.complete = write_done,
	};

	memset(data, 0xee, sizeof(data));
	block_queue(bb, &req);
	block_submit(bb);
	block_drain(bb);
	assert_int_equal(req.done, UINT64_MAX);
	for (size_t i = 0; i < sizeof(data); i++)
		assert_int_equal(data[i], byte);
}

/*
 * savevm/loadvm/delvm's backend op on an open qcow2 image with warm caches:
 * the revert is what the guest reads next (no stale L2 table), writes
 * after it land, and the image checks clean.  Raw images have none.
 */
static void test_backend_snapshot(void **state)
{
	char path[] = "/tmp/test_disk_state_img.XXXXXX";
	struct block_open_args args = { .path = path, .format = "qcow2" };
	const struct qcow2_snapshot *list;
	struct qcow2_check_result res;
	struct block_backend *bb;
	struct event_loop loop;
	unsigned int nr;
	struct img *img;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	make_image(path, "qcow2");
	assert_int_equal(event_loop_init(&loop), 0);
	assert_int_equal(block_open(&bb, &args, &loop), 0);
	write_byte(bb, 0, 0x11);
	write_byte(bb, 32 << 20, 0x22);
	assert_int_equal(block_snapshot(bb, BLOCK_SNAPSHOT_FIND, "s1"), -ENOENT);
	assert_int_equal(block_snapshot(bb, BLOCK_SNAPSHOT_CREATE, "s1"), 0);
	assert_int_equal(block_snapshot(bb, BLOCK_SNAPSHOT_FIND, "s1"), 0);
	/* Copy-on-write of shared clusters, and a new one, through the warm caches. */
	write_byte(bb, 0, 0x33);
	write_byte(bb, 32 << 20, 0x44);
	write_byte(bb, 16 << 20, 0x55);
	expect_byte(bb, 0, 0x33);
	assert_int_equal(block_snapshot(bb, BLOCK_SNAPSHOT_APPLY, "s1"), 0);
	expect_byte(bb, 0, 0x11);
	expect_byte(bb, 32 << 20, 0x22);
	expect_byte(bb, 16 << 20, 0);
	/* The disk goes on from there, and the snapshot stays as taken. */
	write_byte(bb, 0, 0x66);
	assert_int_equal(block_snapshot(bb, BLOCK_SNAPSHOT_APPLY, "s1"), 0);
	expect_byte(bb, 0, 0x11);
	write_byte(bb, 0, 0x77);
	/* Taken again under the same name: replaced, one snapshot. */
	assert_int_equal(block_snapshot(bb, BLOCK_SNAPSHOT_CREATE, "s1"), 0);
	write_byte(bb, 0, 0x88);
	assert_int_equal(block_snapshot(bb, BLOCK_SNAPSHOT_APPLY, "s1"), 0);
	expect_byte(bb, 0, 0x77);
	err_clear();
	assert_int_equal(block_snapshot(bb, BLOCK_SNAPSHOT_APPLY, "nope"), -ENOENT);
	assert_non_null(strstr(err_msg(ENOENT), "no internal snapshot 'nope'"));
	assert_int_equal(block_snapshot(bb, BLOCK_SNAPSHOT_DELETE, "nope"), -ENOENT);
	block_close(bb);

	assert_int_equal(img_open(&img, path, &(struct img_open_opts){ .format = "qcow2" }), 0);
	assert_int_equal(qcow2_snapshot_list(img, &list, &nr), 0);
	assert_int_equal(nr, 1);
	assert_string_equal(list[0].name, "s1");
	memset(&res, 0, sizeof(res));
	assert_int_equal(qcow2_check(img, 0, &res, NULL, NULL), 0);
	assert_int_equal(res.corruptions, 0);
	assert_int_equal(res.leaks, 0);
	img_close(img);

	/* Deleted through the backend; the data stays. */
	assert_int_equal(block_open(&bb, &args, &loop), 0);
	assert_int_equal(block_snapshot(bb, BLOCK_SNAPSHOT_DELETE, "s1"), 0);
	assert_int_equal(block_snapshot(bb, BLOCK_SNAPSHOT_FIND, "s1"), -ENOENT);
	expect_byte(bb, 0, 0x77);
	block_close(bb);

	/* Read-only: found, but nothing changes. */
	args.readonly = true;
	assert_int_equal(block_open(&bb, &args, &loop), 0);
	assert_int_equal(block_snapshot(bb, BLOCK_SNAPSHOT_CREATE, "s2"), -EROFS);
	block_close(bb);

	/* Raw: none. */
	make_image(path, "raw");
	args = (struct block_open_args){ .path = path, .format = "raw" };
	assert_int_equal(block_open(&bb, &args, &loop), 0);
	assert_int_equal(block_snapshot(bb, BLOCK_SNAPSHOT_FIND, "s1"), -ENOTSUP);
	assert_int_equal(block_snapshot(bb, BLOCK_SNAPSHOT_CREATE, "s1"), -ENOTSUP);
	block_close(bb);
	event_loop_destroy(&loop);
	unlink(path);
}

/* -incoming @arg fails with "-incoming @arg: expected file:PATH..." */
static void expect_incoming_refused(const char *arg)
{
	struct vm_config cfg;
	char want[256];

	snprintf(want, sizeof(want), "-incoming %s: expected file:PATH[,disk-check=off]", arg);
	assert_int_equal(PARSE(&cfg, "-kernel", "k", "-incoming", arg), -EINVAL);
	assert_memory_equal(err_msg(EINVAL), want, strlen(want));
	cli_free(&cfg);
}

/* -incoming file:PATH[,disk-check=on|off]: options come off the end; commas may be in PATH. */
static void test_cli_incoming(void **state)
{
	struct vm_config cfg;

	(void)state;
	assert_int_equal(PARSE(&cfg, "-kernel", "k", "-incoming", "file:vm.state"), CLI_RUN);
	assert_string_equal(cfg.incoming, "vm.state");
	assert_false(cfg.incoming_disk_check_off);
	cli_free(&cfg);

	assert_int_equal(PARSE(&cfg, "-kernel", "k", "-incoming", "file:vm.state,disk-check=off"),
			 CLI_RUN);
	assert_string_equal(cfg.incoming, "vm.state");
	assert_true(cfg.incoming_disk_check_off);
	cli_free(&cfg);

	assert_int_equal(PARSE(&cfg, "-kernel", "k", "-incoming", "file:a,b.state,disk-check=on"),
			 CLI_RUN);
	assert_string_equal(cfg.incoming, "a,b.state");
	assert_false(cfg.incoming_disk_check_off);
	cli_free(&cfg);

	assert_int_equal(PARSE(&cfg, "-kernel", "k", "-incoming", "file:a,b"), CLI_RUN);
	assert_string_equal(cfg.incoming, "a,b");
	cli_free(&cfg);

	/* The last -incoming counts, its options too. */
	assert_int_equal(PARSE(&cfg, "-kernel", "k", "-incoming", "file:x,disk-check=off",
			       "-incoming", "file:y"),
			 CLI_RUN);
	assert_string_equal(cfg.incoming, "y");
	assert_false(cfg.incoming_disk_check_off);
	cli_free(&cfg);

	PARSE_FAILS("-incoming file:vm.state,disk-check=maybe: disk-check=maybe: expected "
		    "disk-check=on or disk-check=off",
		    "-kernel", "k", "-incoming", "file:vm.state,disk-check=maybe");
	PARSE_FAILS("-incoming file:vm.state,disk-check: disk-check: expected disk-check=on or "
		    "disk-check=off",
		    "-kernel", "k", "-incoming", "file:vm.state,disk-check");
	PARSE_FAILS("-incoming file:vm.state,offset=4096: unknown parameter 'offset' (known: "
		    "disk-check=on|off)",
		    "-kernel", "k", "-incoming", "file:vm.state,offset=4096");
	PARSE_FAILS("-incoming file:vm.state,offset=1,disk-check=off: unknown parameter "
		    "'offset' (known: disk-check=on|off)",
		    "-kernel", "k", "-incoming", "file:vm.state,offset=1,disk-check=off");
	PARSE_FAILS("-incoming file:s,disk-check=off,disk-check=on: disk-check is given twice",
		    "-kernel", "k", "-incoming", "file:s,disk-check=off,disk-check=on");
	/* What else -incoming takes is another story: only that these are refused. */
	expect_incoming_refused("file:,disk-check=off");
	expect_incoming_refused("file:");
	expect_incoming_refused("exec:cat");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_identity_set),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_compare),
		cmocka_unit_test(test_compare_local_time),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_open_keeps_image),
		cmocka_unit_test(test_flush_is_final),
		cmocka_unit_test(test_cli_incoming),
		cmocka_unit_test(test_round_trip_snapshot),
		cmocka_unit_test(test_malformed_snapshot),
		cmocka_unit_test(test_backend_snapshot),
	};

	return cmocka_run_group_tests(tests, setup_tz, NULL);
}
