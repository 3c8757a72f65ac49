// SPDX-License-Identifier: MIT
/* Unit tests for the VM state file format (vmm/snapshot_file.c). */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "error.h"
#include "snapshot.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_snapshot.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/vm.state", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return rmdir(dir);
}

static void test_config(struct snap_config *c)
{
	memset(c, 0, sizeof(*c));
	c->ram_size = 128ull << 20;
	c->nr_vcpus = 2;
	c->nr_devs = 2;
	strcpy(c->devs[0], "serial0");
	strcpy(c->devs[1], "acpi-pm");
}

/* A small file: CONF, two sections (one split payload, one empty), END. */
static void write_file(void)
{
	struct snap_writer w;
	struct snap_config c;
	uint64_t off = 4096;
	char page[100];

	test_config(&c);
	memset(page, 0xab, sizeof(page));
	assert_int_equal(snap_writer_open(&w, path, &c), 0);
	snap_put(&w, SNAP_TAG('R', 'A', 'M', ' '), 0, &off, sizeof(off), page, sizeof(page));
	snap_put(&w, SNAP_TAG('D', 'E', 'V', ' '), 7, NULL, 0, NULL, 0);
	assert_int_equal(snap_writer_close(&w, true), 0);
}

static uint8_t *read_all(size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*size = (size_t)n;
	return buf;
}

static void test_round_trip(void **state)
{
	struct snap_reader r;
	struct snap_config c;
	const struct snap_section *s;
	uint64_t off;

	(void)state;
	write_file();
	assert_int_equal(snap_reader_open(&r, path), 0);
	test_config(&c);
	assert_int_equal(snap_config_check(&r.cfg, &c), 0);
	assert_int_equal(r.nr_secs, 4); /* CONF, RAM, DEV, END */
	s = snap_find(&r, SNAP_TAG('R', 'A', 'M', ' '), 0);
	assert_non_null(s);
	assert_int_equal(s->len, 108);
	memcpy(&off, s->data, sizeof(off));
	assert_int_equal(off, 4096);
	assert_int_equal(s->data[8], 0xab);
	assert_int_equal(s->data[107], 0xab);
	s = snap_find(&r, SNAP_TAG('D', 'E', 'V', ' '), 7);
	assert_non_null(s);
	assert_int_equal(s->len, 0);
	assert_null(snap_find(&r, SNAP_TAG('D', 'E', 'V', ' '), 6));
	err_clear();
	assert_int_equal(snap_get(&r, SNAP_TAG('D', 'E', 'V', ' '), 6, &off, 8), -EINVAL);
	assert_string_equal(err_msg(EINVAL), "section DEV/6 is missing");
	assert_int_equal(snap_get(&r, SNAP_TAG('D', 'E', 'V', ' '), 7, &off, 8), -EINVAL);
	assert_string_equal(err_msg(EINVAL), "section DEV/7 has 0 bytes, expected 8");
	snap_reader_close(&r);
}

/* Every proper prefix of a good file is an error, never a crash nor an overread (ASan). */
static void test_truncated(void **state)
{
	size_t size;
	uint8_t *good;

	(void)state;
	write_file();
	good = read_all(&size);
	for (size_t n = 0; n < size; n++) {
		uint8_t *buf = malloc(n ? n : 1);
		struct snap_reader r;

		memcpy(buf, good, n);
		err_clear();
		assert_int_equal(snap_reader_parse(&r, buf, n), -EINVAL);
		if (n >= SNAP_HDR_LEN)
			assert_non_null(strstr(err_msg(EINVAL), "truncated"));
		free(buf);
	}
	free(good);
}

/* Any one byte changed is caught: magic, version, a length, a payload, a checksum. */
static void test_corrupt_every_byte(void **state)
{
	size_t size;
	uint8_t *buf;

	(void)state;
	write_file();
	buf = read_all(&size);
	for (size_t i = 0; i < size; i++) {
		struct snap_reader r;

		buf[i] ^= 0x41;
		assert_int_equal(snap_reader_parse(&r, buf, size), -EINVAL);
		buf[i] ^= 0x41;
	}
	free(buf);
}

static void test_bad_checksum(void **state)
{
	size_t size;
	uint8_t *buf;
	struct snap_reader r;

	(void)state;
	write_file();
	buf = read_all(&size);
	/* The last byte of the RAM payload; RAM starts after the header and CONF (16 + 80 + 4). */
	buf[SNAP_HDR_LEN + SNAP_SEC_HDR_LEN + 80 + 4 + SNAP_SEC_HDR_LEN + 107] ^= 1;
	err_clear();
	assert_int_equal(snap_reader_parse(&r, buf, size), -EINVAL);
	assert_string_equal(err_msg(EINVAL), "bad checksum in section RAM at offset 116");
	free(buf);
}

static void test_foreign(void **state)
{
	static const char text[] = "QEVM\0\0\0\3 this is not a kvmini state file at all";
	uint8_t *buf;
	size_t size;
	uint32_t v = 99;
	struct snap_reader r;

	(void)state;
	err_clear();
	assert_int_equal(snap_reader_parse(&r, (const uint8_t *)text, sizeof(text)), -EINVAL);
	assert_string_equal(err_msg(EINVAL), "not a kvmini state file");
	write_file();
	buf = read_all(&size);
	memcpy(buf + SNAP_MAGIC_LEN, &v, 4);
	assert_int_equal(snap_reader_parse(&r, buf, size), -EINVAL);
	assert_string_equal(err_msg(EINVAL),
			    "state format version 99, this kvmini reads version 1");
	free(buf);
	/* Trailing bytes after END. */
	write_file();
	buf = read_all(&size);
	buf = realloc(buf, size + 3);
	memset(buf + size, 0, 3);
	assert_int_equal(snap_reader_parse(&r, buf, size + 3), -EINVAL);
	assert_string_equal(err_msg(EINVAL), "3 bytes of garbage after the END section");
	free(buf);
}

static void check_mismatch(void (*change)(struct snap_config *), const char *msg)
{
	struct snap_config saved, mine;

	test_config(&saved);
	test_config(&mine);
	change(&mine);
	err_clear();
	assert_int_equal(snap_config_check(&saved, &mine), -EINVAL);
	assert_string_equal(err_msg(EINVAL), msg);
}

static void one_vcpu(struct snap_config *c)
{
	c->nr_vcpus = 1;
}

static void more_ram(struct snap_config *c)
{
	c->ram_size = 256ull << 20;
}

static void fewer_devs(struct snap_config *c)
{
	c->nr_devs = 1;
}

static void more_devs(struct snap_config *c)
{
	strcpy(c->devs[c->nr_devs++], "virtio-blk@03.0");
}

static void other_dev(struct snap_config *c)
{
	strcpy(c->devs[1], "i8042");
}

static void test_config_mismatch(void **state)
{
	(void)state;
	check_mismatch(one_vcpu, "the state is for 2 vCPUs, this VM has 1");
	check_mismatch(more_ram, "the state is for 128 MiB of RAM, this VM has 256 MiB");
	check_mismatch(fewer_devs, "the state has device acpi-pm, this VM does not");
	check_mismatch(more_devs, "this VM has device virtio-blk@03.0, the state does not");
	check_mismatch(other_dev, "the state has device acpi-pm where this VM has i8042");
}

static unsigned int dir_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* An abandoned write leaves nothing, and does not touch an older file of the same name. */
static void test_atomic(void **state)
{
	struct snap_writer w;
	struct snap_config c;
	struct stat before, after;

	(void)state;
	unlink(path);
	test_config(&c);
	assert_int_equal(snap_writer_open(&w, path, &c), 0);
	assert_int_equal(dir_entries(), 1); /* the temporary file */
	snap_writer_close(&w, false);
	assert_int_equal(dir_entries(), 0);

	write_file();
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(snap_writer_open(&w, path, &c), 0);
	snap_put(&w, SNAP_TAG('X', 'X', 'X', 'X'), 0, "abc", 3, NULL, 0);
	snap_writer_close(&w, false);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(before.st_size, after.st_size);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(dir_entries(), 1);

	/* A directory that does not exist: an error naming the path. */
	err_clear();
	assert_int_equal(snap_writer_open(&w, "/nonexistent/dir/x.state", &c), -ENOENT);
	assert_string_equal(err_msg(ENOENT), "/nonexistent/dir/x.state: No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_corrupt_every_byte),
		cmocka_unit_test(test_bad_checksum),
		cmocka_unit_test(test_foreign),
		cmocka_unit_test(test_config_mismatch),
		cmocka_unit_test(test_atomic),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
