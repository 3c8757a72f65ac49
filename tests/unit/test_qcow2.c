// SPDX-License-Identifier: MIT
/*
 * Unit tests for the image engine (include/qcow2.h): images made by the real
 * qemu-img are read back byte for byte against qemu-img convert -O raw;
 * images written through the engine must pass qemu-img check and hold what
 * a reference buffer says; hostile images must fail with a clear message.
 * Everything happens in a mkdtemp() directory, removed afterwards.
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
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "block.h"
#include "error.h"
#include "event_loop.h"
#include "qcow2.h"

#define MB (1024 * 1024)

static char dir[64];

/* Run a shell command in the test directory, quietly; its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	char cmd[2048];
	int n, status;
	va_list ap;

	n = snprintf(cmd, sizeof(cmd), "cd %s && (", dir);
	va_start(ap, fmt);
	n += vsnprintf(cmd + n, sizeof(cmd) - n, fmt, ap);
	va_end(ap);
	snprintf(cmd + n, sizeof(cmd) - n, ") >/dev/null 2>&1");
	status = system(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* @name inside the test directory (four rotating buffers). */
static const char *P(const char *name)
{
	static char buf[4][256];
	static unsigned int i;
	char *p = buf[i++ % 4];

	snprintf(p, 256, "%s/%s", dir, name);
	return p;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void fill_random(uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)rnd();
}

static struct img *open_img(const char *path, bool rw)
{
	struct img_open_opts o = { .readwrite = rw, .quiet = true };
	struct img *img;
	int ret = img_open(&img, path, &o);

	if (ret)
		fail_msg("img_open(%s): %s", path, err_msg(-ret));
	return img;
}

/* Open @path expecting failure: the message must contain @what. */
static void open_fails(const char *path, bool rw, const char *what)
{
	struct img_open_opts o = { .format = "qcow2", .readwrite = rw };
	struct img *img = NULL;
	int ret;

	err_clear();
	ret = img_open(&img, path, &o);
	if (!ret)
		fail_msg("img_open(%s) succeeded, expected '%s'", path, what);
	assert_null(img);
	if (!strstr(err_msg(-ret), what))
		fail_msg("img_open(%s): '%s', expected '%s'", path, err_msg(-ret), what);
}

static void check_ok(int ret)
{
	if (ret)
		fail_msg("%s", err_msg(-ret));
}

/* The whole virtual disk of @img equals @ref. */
static void assert_reads(struct img *img, const uint8_t *ref, size_t len)
{
	uint8_t *buf = malloc(len);

	assert_non_null(buf);
	assert_int_equal(img_size(img), len);
	check_ok(img_read(img, 0, buf, len));
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != ref[i])
			fail_msg("byte %zu: %#x, expected %#x", i, buf[i], ref[i]);
	}
	free(buf);
}

/* What qemu-img says @name holds equals @ref (and what the engine reads). */
static void assert_qemu_content(const char *name, const uint8_t *ref, size_t len)
{
	uint8_t *got;
	size_t n;

	assert_int_equal(sh("rm -f q.out && qemu-img convert -O raw %s q.out", name), 0);
	got = slurp(P("q.out"), &n);
	assert_int_equal(n, len);
	for (size_t i = 0; i < len; i++) {
		if (got[i] != ref[i])
			fail_msg("%s byte %zu: %#x, expected %#x", name, i, got[i], ref[i]);
	}
	free(got);
}

static void assert_qemu_check(const char *name)
{
	if (sh("qemu-img check -q %s", name))
		fail_msg("qemu-img check %s failed", name);
}

/* Read @name through the engine and compare with qemu-img's raw conversion. */
static void assert_same_as_qemu(const char *name)
{
	struct img *img;
	uint8_t *ref;
	size_t n;

	assert_int_equal(sh("rm -f q.ref && qemu-img convert -O raw %s q.ref", name), 0);
	ref = slurp(P("q.ref"), &n);
	img = open_img(P(name), false);
	assert_reads(img, ref, n);
	check_ok(img_close(img));
	free(ref);
}

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/kvmini-qcow2-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	rng_state = 88172645463325252ULL;
	err_clear();
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* 8 MiB of random data with a hole at 2 MiB and a zero run at 5 MiB. */
static void make_base_raw(const char *name)
{
	uint8_t *buf = malloc(8 * MB);
	FILE *f;

	assert_non_null(buf);
	fill_random(buf, 8 * MB);
	memset(buf + 2 * MB, 0, MB);
	memset(buf + 5 * MB, 0, 100000);
	f = fopen(P(name), "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, 8 * MB, f), 8 * MB);
	fclose(f);
	free(buf);
	assert_int_equal(sh("fallocate -p -o %d -l %d %s || true", 2 * MB, MB, name), 0);
}

/* ---- reading what qemu-img wrote ---- */

static void test_read_formats(void **state)
{
	static const char *const variants[] = {
		"-o cluster_size=4k",
		"-o cluster_size=64k",
		"-o cluster_size=2M",
		"-o cluster_size=512,refcount_bits=1",
		"-o compat=0.10",
		"-o compat=0.10,cluster_size=4k",
		"-c -o cluster_size=4k",
		"-c -o cluster_size=64k",
		"-c -o cluster_size=2M,compression_type=zstd",
		"-c -o compression_type=zstd",
		"-c -o compat=0.10",
	};

	(void)state;
	make_base_raw("base.raw");
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		assert_int_equal(sh("rm -f v.qcow2 && qemu-img convert -f raw -O qcow2 %s base.raw "
				    "v.qcow2",
				    variants[i]),
				 0);
		assert_same_as_qemu("v.qcow2");
	}
}

static void test_info(void **state)
{
	struct img_info info;
	struct img *img;

	(void)state;
	assert_int_equal(sh("qemu-img create -f raw b.raw 1M && qemu-img create -f qcow2 -o "
			    "cluster_size=4k,lazy_refcounts=on,compression_type=zstd,"
			    "refcount_bits=8 -b b.raw -F raw t.qcow2 3M"),
			 0);
	img = open_img(P("t.qcow2"), false);
	img_get_info(img, &info);
	assert_string_equal(info.format_name, "qcow2");
	assert_int_equal(info.virtual_size, 3 * MB);
	assert_int_equal(info.version, 3);
	assert_int_equal(info.cluster_size, 4096);
	assert_int_equal(info.refcount_bits, 8);
	assert_int_equal(info.compression, QCOW2_COMPRESSION_ZSTD);
	assert_true(info.lazy_refcounts);
	assert_false(info.dirty);
	assert_string_equal(info.backing_file, "b.raw");
	assert_string_equal(info.backing_format, "raw");
	assert_string_equal(info.backing_path, P("b.raw"));
	assert_non_null(img_backing(img));
	check_ok(img_close(img));
}

/* raw <- qcow2 <- qcow2, relative names, each layer writing over the one below. */
static void test_backing_chain(void **state)
{
	struct img_extent ext;
	struct img *img;

	(void)state;
	make_base_raw("base.raw");
	assert_int_equal(sh("mkdir sub && qemu-img create -f qcow2 -b ../base.raw -F raw "
			    "sub/mid.qcow2 && qemu-io -c 'write -P 0xab 1M 300k' -c 'write -z 4M "
			    "64k' sub/mid.qcow2 && qemu-img create -f qcow2 -b sub/mid.qcow2 -F "
			    "qcow2 top.qcow2 10M && qemu-io -c 'write -P 0xcd 1100k 8k' -c "
			    "'write -P 0x11 9M 4k' top.qcow2"),
			 0);
	assert_same_as_qemu("top.qcow2");
	/* Without backing_fmt, qcow2 is probed as qcow2. */
	assert_int_equal(sh("qemu-img create -f qcow2 -b top.qcow2 -F qcow2 t2.qcow2"), 0);
	img = open_img(P("t2.qcow2"), true);
	check_ok(qcow2_set_backing(img, "top.qcow2", NULL));
	check_ok(img_close(img));
	assert_int_equal(sh("qemu-img info t2.qcow2 | grep -q 'backing file format'"), 1);
	assert_same_as_qemu("t2.qcow2");
	img = open_img(P("top.qcow2"), false);
	check_ok(img_block_status(img, 1100 * 1024, 4096, true, &ext));
	assert_int_equal(ext.type, IMG_EXTENT_DATA);
	assert_int_equal(ext.depth, 0);
	assert_true(ext.has_host_offset);
	assert_false(ext.compressed);
	assert_int_equal(ext.host_offset % 65536, 1100 * 1024 % 65536);
	check_ok(img_block_status(img, 0, 4096, true, &ext));
	assert_int_equal(ext.depth, 2);
	assert_int_equal(ext.type, IMG_EXTENT_DATA);
	check_ok(img_block_status(img, 4 * MB, 4096, true, &ext));
	assert_int_equal(ext.type, IMG_EXTENT_ZERO);
	assert_int_equal(ext.depth, 1);
	check_ok(img_block_status(img, 9 * MB - 65536, 65536, false, &ext));
	assert_int_equal(ext.type, IMG_EXTENT_UNALLOCATED);
	/* Beyond the 8 MiB of the backing chain: zeros. */
	check_ok(img_block_status(img, 8 * MB, 65536, true, &ext));
	assert_int_equal(ext.type, IMG_EXTENT_ZERO);
	check_ok(img_close(img));
}

static void test_read_snapshots(void **state)
{
	const struct qcow2_snapshot *list;
	unsigned int nr;
	struct img *img;

	(void)state;
	assert_int_equal(sh("qemu-img create -f qcow2 s.qcow2 4M && qemu-io -c 'write -P 1 0 1M' "
			    "s.qcow2 && qemu-img snapshot -c one s.qcow2 && qemu-io -c 'write -P 2 "
			    "512k 1M' s.qcow2 && qemu-img snapshot -c two s.qcow2 && qemu-io -c "
			    "'write -P 3 0 4k' s.qcow2"),
			 0);
	assert_same_as_qemu("s.qcow2");
	img = open_img(P("s.qcow2"), false);
	check_ok(qcow2_snapshot_list(img, &list, &nr));
	assert_int_equal(nr, 2);
	assert_string_equal(list[0].id, "1");
	assert_string_equal(list[0].name, "one");
	assert_string_equal(list[1].name, "two");
	assert_int_equal(list[1].disk_size, 4 * MB);
	assert_true(list[1].date_sec > 1600000000);
	check_ok(img_close(img));
}

/* ---- writing ---- */

/* Random writes, discards and zeroes against a reference buffer. */
static void random_io(struct img *img, uint8_t *ref, size_t size, unsigned int rounds)
{
	uint8_t *buf = malloc(size);

	assert_non_null(buf);
	for (unsigned int i = 0; i < rounds; i++) {
		uint64_t off = rnd() % size, len = 1 + rnd() % (rnd() % 4 ? 20000 : 300000);
		unsigned int op = rnd() % 8;

		if (rnd() % 2)
			off &= ~511ULL;
		len = len > size - off ? size - off : len;
		if (op < 5) {
			fill_random(buf, len);
			check_ok(img_write(img, off, buf, len));
			memcpy(ref + off, buf, len);
		} else if (op < 7) {
			check_ok(img_write_zeroes(img, off, len));
			memset(ref + off, 0, len);
		} else {
			/* The content of a discarded range is undefined: make it the truth. */
			check_ok(img_discard(img, off, len));
			check_ok(img_read(img, off, ref + off, len));
		}
		if (i % 50 == 0)
			check_ok(img_flush(img));
	}
	free(buf);
}

static void write_and_verify(const char *create_opts, size_t size)
{
	uint8_t *ref = calloc(1, size);
	struct img *img;

	assert_non_null(ref);
	assert_int_equal(
		sh("rm -f w.qcow2 && qemu-img create -f qcow2 %s w.qcow2 %zu", create_opts, size),
		0);
	img = open_img(P("w.qcow2"), true);
	random_io(img, ref, size, 400);
	assert_reads(img, ref, size);
	check_ok(img_close(img));
	assert_qemu_check("w.qcow2");
	assert_qemu_content("w.qcow2", ref, size);
	free(ref);
}

static void test_write_v3(void **state)
{
	(void)state;
	write_and_verify("", 16 * MB);
}

static void test_write_v2(void **state)
{
	(void)state;
	write_and_verify("-o compat=0.10,cluster_size=4k", 8 * MB);
}

/* Small clusters and narrow refcounts: many refcount blocks, a growing refcount table. */
static void test_write_small_clusters(void **state)
{
	(void)state;
	write_and_verify("-o cluster_size=512,refcount_bits=2", 6 * MB);
	write_and_verify("-o cluster_size=512,refcount_bits=64", 4 * MB);
	write_and_verify("-o cluster_size=2M", 12 * MB);
}

/* Partial-cluster writes copy the rest of the cluster from the backing file. */
static void test_write_over_backing(void **state)
{
	uint8_t *ref;
	struct img *img;
	size_t n;

	(void)state;
	make_base_raw("base.raw");
	assert_int_equal(sh("qemu-img create -f qcow2 -b base.raw -F raw mid.qcow2 && qemu-io -c "
			    "'write -P 7 3M 1M' mid.qcow2 && qemu-img create -f qcow2 -o "
			    "cluster_size=4k -b mid.qcow2 -F qcow2 top.qcow2 && qemu-img convert "
			    "-O raw top.qcow2 ref.raw"),
			 0);
	ref = slurp(P("ref.raw"), &n);
	img = open_img(P("top.qcow2"), true);
	random_io(img, ref, n, 300);
	assert_reads(img, ref, n);
	check_ok(img_close(img));
	assert_qemu_check("top.qcow2");
	assert_qemu_check("mid.qcow2");
	assert_qemu_content("top.qcow2", ref, n);
	free(ref);
}

/* Compressed clusters (qemu-img's or ours) rewritten in place lose their shared refcounts. */
static void test_compressed(void **state)
{
	static const char *const types[] = { "zlib", "zstd" };
	size_t size = 4 * MB;
	uint8_t *ref = malloc(size);

	(void)state;
	assert_non_null(ref);
	for (size_t t = 0; t < 2; t++) {
		struct img_create_opts co = { .format = IMG_FORMAT_QCOW2,
					      .size = size,
					      .cluster_size = 4096,
					      .compression = (enum qcow2_compression)t };
		struct img *img;

		check_ok(img_create(P("c.qcow2"), &co));
		img = open_img(P("c.qcow2"), true);
		/* Compressible halves: text-like data. */
		for (size_t i = 0; i < size; i++)
			ref[i] = (uint8_t)("qcow2 compressed cluster "[i % 25] + (i / 4096 % 3));
		for (size_t off = 0; off < size; off += 4096)
			check_ok(qcow2_write_compressed(img, off, ref + off, 4096));
		assert_int_equal(qcow2_write_compressed(img, 0, ref, 4096), -EEXIST);
		assert_reads(img, ref, size);
		{
			struct img_extent ext;

			/* One compressed cluster at a time, with no host offset to map. */
			check_ok(img_block_status(img, 8192, size - 8192, true, &ext));
			assert_int_equal(ext.type, IMG_EXTENT_DATA);
			assert_true(ext.compressed);
			assert_false(ext.has_host_offset);
			assert_int_equal(ext.length, 4096);
		}
		check_ok(img_close(img));
		assert_qemu_check("c.qcow2");
		assert_qemu_content("c.qcow2", ref, size);
		assert_int_equal(
			sh("qemu-img info c.qcow2 | grep -q 'compression type: %s'", types[t]), 0);
		/* Rewrite part of them, discard some. */
		img = open_img(P("c.qcow2"), true);
		random_io(img, ref, size, 150);
		check_ok(img_close(img));
		assert_qemu_check("c.qcow2");
		assert_qemu_content("c.qcow2", ref, size);
	}
	/* qemu-img's compressed image (packed clusters), rewritten by us. */
	make_base_raw("base.raw");
	assert_int_equal(sh("qemu-img convert -c -O qcow2 -o cluster_size=4k,compression_type=zstd "
			    "base.raw qc.qcow2 && qemu-img convert -O raw qc.qcow2 qc.raw"),
			 0);
	free(ref);
	{
		size_t n;
		struct img *img;

		ref = slurp(P("qc.raw"), &n);
		img = open_img(P("qc.qcow2"), true);
		random_io(img, ref, n, 200);
		check_ok(img_close(img));
		assert_qemu_check("qc.qcow2");
		assert_qemu_content("qc.qcow2", ref, n);
	}
	free(ref);
}

static void test_create_options(void **state)
{
	struct {
		struct img_create_opts o;
		const char *info;
	} cases[] = {
		{ { .format = IMG_FORMAT_QCOW2, .size = 5 * MB }, "\"cluster-size\": 65536" },
		{ { .format = IMG_FORMAT_QCOW2, .size = 5 * MB, .version = 2 }, "\"0.10\"" },
		{ { .format = IMG_FORMAT_QCOW2,
		    .size = 3 * MB,
		    .cluster_size = 512,
		    .refcount_bits = 1 },
		  "\"refcount-bits\": 1" },
		{ { .format = IMG_FORMAT_QCOW2,
		    .size = 64 * MB,
		    .cluster_size = 2 * MB,
		    .refcount_bits = 64,
		    .lazy_refcounts = true },
		  "\"lazy-refcounts\": true" },
		{ { .format = IMG_FORMAT_QCOW2, .size = MB, .compression = QCOW2_COMPRESSION_ZSTD },
		  "\"compression-type\": \"zstd\"" },
		{ { .format = IMG_FORMAT_QCOW2,
		    .size = 0,
		    .backing_file = "b.raw",
		    .backing_format = "raw" },
		  "\"backing-filename-format\": \"raw\"" },
		{ { .format = IMG_FORMAT_QCOW2, .size = 0, .backing_file = "b.raw" },
		  "\"virtual-size\": 1048576" },
		{ { .format = IMG_FORMAT_RAW, .size = 3 * MB }, "\"format\": \"raw\"" },
	};
	struct img_create_opts bad = {
		.format = IMG_FORMAT_QCOW2, .size = MB, .version = 2, .lazy_refcounts = true
	};

	(void)state;
	assert_int_equal(sh("head -c 1M /dev/urandom > b.raw"), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *ref = calloc(1, 64 * MB);
		struct img *img;
		size_t size;

		check_ok(img_create(P("n.img"), &cases[i].o));
		if (sh("qemu-img info --output=json n.img | grep -qF '%s'", cases[i].info))
			fail_msg("case %zu: qemu-img info has no '%s'", i, cases[i].info);
		if (cases[i].o.format == IMG_FORMAT_QCOW2)
			assert_qemu_check("n.img");
		/* Usable: random I/O, then qemu-img agrees. */
		img = open_img(P("n.img"), true);
		size = img_size(img);
		check_ok(img_read(img, 0, ref, size));
		random_io(img, ref, size, 60);
		check_ok(img_close(img));
		if (cases[i].o.format == IMG_FORMAT_QCOW2)
			assert_qemu_check("n.img");
		assert_qemu_content("n.img", ref, size);
		free(ref);
	}
	assert_int_equal(img_create(P("bad.img"), &bad), -EINVAL);
	bad = (struct img_create_opts){ .format = IMG_FORMAT_QCOW2,
					.size = MB,
					.cluster_size = 3000 };
	assert_int_equal(img_create(P("bad.img"), &bad), -EINVAL);
	bad.cluster_size = 4 * MB;
	assert_int_equal(img_create(P("bad.img"), &bad), -EINVAL);
}

static void test_resize(void **state)
{
	size_t size = 4 * MB, big = 3000ULL * MB;
	uint8_t *ref = calloc(1, size);
	uint8_t tail[4096];
	struct img *img;

	(void)state;
	assert_non_null(ref);
	assert_int_equal(sh("qemu-img create -f qcow2 -o cluster_size=4k r.qcow2 4M"), 0);
	img = open_img(P("r.qcow2"), true);
	random_io(img, ref, size, 50);
	/* 3000 MiB with 4 KiB clusters: the L1 table grows past a cluster. */
	check_ok(img_resize(img, big));
	memset(tail, 0x5c, sizeof(tail));
	check_ok(img_write(img, big - 4096, tail, 4096));
	assert_int_equal(img_resize(img, size), -EBUSY);
	check_ok(img_close(img));
	assert_qemu_check("r.qcow2");
	assert_int_equal(
		sh("qemu-img info --output=json r.qcow2 | grep -q '\"virtual-size\": %zu'", big),
		0);
	assert_int_equal(
		sh("qemu-io -c 'read -P 0x5c %zu 4096' r.qcow2 | grep -q 'read 4096'", big - 4096),
		0);
	/* Nothing allocated beyond: shrinking works. */
	img = open_img(P("r.qcow2"), true);
	check_ok(img_discard(img, big - 4096, 4096));
	check_ok(img_resize(img, size));
	check_ok(img_close(img));
	assert_qemu_check("r.qcow2");
	assert_qemu_content("r.qcow2", ref, size);
	free(ref);
}

static void test_snapshots(void **state)
{
	size_t size = 4 * MB;
	uint8_t *one = calloc(1, size), *two = malloc(size), *now = malloc(size);
	const struct qcow2_snapshot *list;
	unsigned int nr;
	struct img *img;

	(void)state;
	assert_int_equal(sh("qemu-img create -f qcow2 -o cluster_size=4k s.qcow2 4M"), 0);
	img = open_img(P("s.qcow2"), true);
	random_io(img, one, size, 100);
	check_ok(qcow2_snapshot_create(img, "one"));
	assert_int_equal(qcow2_snapshot_create(img, "one"), -EEXIST);
	memcpy(two, one, size);
	random_io(img, two, size, 100);
	check_ok(qcow2_snapshot_create(img, "two"));
	memcpy(now, two, size);
	random_io(img, now, size, 100);
	assert_reads(img, now, size);
	check_ok(img_close(img));
	assert_qemu_check("s.qcow2");
	assert_qemu_content("s.qcow2", now, size);
	assert_int_equal(sh("qemu-img snapshot -l s.qcow2 | grep -q ' one '"), 0);
	/* qemu-img sees our snapshots' content. */
	assert_int_equal(sh("cp s.qcow2 s2.qcow2 && qemu-img snapshot -a one s2.qcow2"), 0);
	assert_qemu_content("s2.qcow2", one, size);

	img = open_img(P("s.qcow2"), true);
	check_ok(qcow2_snapshot_apply(img, "one"));
	assert_reads(img, one, size);
	random_io(img, one, size, 50);
	check_ok(qcow2_snapshot_delete(img, "1"));
	assert_int_equal(qcow2_snapshot_delete(img, "one"), -ENOENT);
	check_ok(qcow2_snapshot_list(img, &list, &nr));
	assert_int_equal(nr, 1);
	assert_string_equal(list[0].name, "two");
	check_ok(img_close(img));
	assert_qemu_check("s.qcow2");
	assert_qemu_content("s.qcow2", one, size);

	img = open_img(P("s.qcow2"), true);
	check_ok(qcow2_snapshot_apply(img, "two"));
	assert_reads(img, two, size);
	check_ok(qcow2_snapshot_delete(img, "two"));
	random_io(img, two, size, 50);
	check_ok(img_close(img));
	assert_qemu_check("s.qcow2");
	assert_qemu_content("s.qcow2", two, size);
	assert_int_equal(sh("qemu-img snapshot -l s.qcow2 | grep -q two"), 1);
	free(one);
	free(two);
	free(now);
}

/* A snapshot taken by qemu-img, changed and reverted by us. */
static void test_snapshot_from_qemu(void **state)
{
	uint8_t *before, *after;
	struct img *img;
	size_t n;

	(void)state;
	make_base_raw("base.raw");
	assert_int_equal(sh("qemu-img convert -O qcow2 base.raw s.qcow2 && qemu-img snapshot -c "
			    "base s.qcow2 && cp base.raw before.raw"),
			 0);
	before = slurp(P("before.raw"), &n);
	after = malloc(n);
	memcpy(after, before, n);
	img = open_img(P("s.qcow2"), true);
	random_io(img, after, n, 100);
	check_ok(img_close(img));
	assert_qemu_check("s.qcow2");
	assert_qemu_content("s.qcow2", after, n);
	img = open_img(P("s.qcow2"), true);
	check_ok(qcow2_snapshot_apply(img, "base"));
	check_ok(img_close(img));
	assert_qemu_check("s.qcow2");
	assert_qemu_content("s.qcow2", before, n);
	assert_int_equal(sh("qemu-img snapshot -d base s.qcow2"), 0);
	assert_qemu_check("s.qcow2");
	free(before);
	free(after);
}

/* ---- check and repair ---- */

static void patch(const char *name, uint64_t off, const void *bytes, size_t len)
{
	int fd = open(P(name), O_RDWR);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes, len, off), (ssize_t)len);
	close(fd);
}

static void patch_be(const char *name, uint64_t off, uint64_t v, unsigned int len)
{
	uint8_t b[8];

	for (unsigned int i = 0; i < len; i++)
		b[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
	patch(name, off, b, len);
}

static uint64_t read_be(const char *name, uint64_t off, unsigned int len)
{
	uint8_t b[8];
	uint64_t v = 0;
	int fd = open(P(name), O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, b, len, off), (ssize_t)len);
	close(fd);
	for (unsigned int i = 0; i < len; i++)
		v = v << 8 | b[i];
	return v;
}

static unsigned int nr_lines;

static void count_line(void *opaque, const char *line)
{
	(void)opaque;
	(void)line;
	nr_lines++;
}

static void test_check_repair(void **state)
{
	struct img_open_opts o = { .readwrite = true, .check = true };
	struct qcow2_check_result res;
	uint64_t rb;
	struct img *img;

	(void)state;
	assert_int_equal(sh("qemu-img create -f qcow2 c.qcow2 4M && qemu-io -c 'write 0 1M' "
			    "c.qcow2"),
			 0);
	img = open_img(P("c.qcow2"), false);
	check_ok(qcow2_check(img, QCOW2_FIX_NONE, &res, count_line, NULL));
	assert_int_equal(res.corruptions + res.leaks + res.check_errors, 0);
	assert_int_equal(res.allocated_clusters, 16);
	assert_int_equal(res.total_clusters, 64);
	check_ok(img_close(img));
	/* A leak: refcount 1 on cluster 40 (16-bit refcounts, first block). */
	rb = read_be("c.qcow2", read_be("c.qcow2", 48, 8), 8);
	patch_be("c.qcow2", rb + 2 * 40, 1, 2);
	/* A corruption: data cluster 5 loses its refcount (and so its COPIED flag is wrong). */
	patch_be("c.qcow2", rb + 2 * 5, 0, 2);
	assert_int_not_equal(sh("qemu-img check c.qcow2"), 0);
	img = open_img(P("c.qcow2"), false);
	nr_lines = 0;
	check_ok(qcow2_check(img, QCOW2_FIX_NONE, &res, count_line, NULL));
	assert_int_equal(res.leaks, 1);
	assert_int_equal(res.corruptions, 2);
	assert_int_equal(nr_lines, 3);
	check_ok(img_close(img));
	check_ok(img_open(&img, P("c.qcow2"), &o));
	check_ok(qcow2_check(img, QCOW2_FIX_LEAKS, &res, NULL, NULL));
	assert_int_equal(res.leaks_fixed, 1);
	assert_int_equal(res.leaks, 0);
	assert_int_equal(res.corruptions, 2);
	/* The refcount repaired first, the COPIED flag is right again (as with qemu-img). */
	check_ok(qcow2_check(img, QCOW2_FIX_ALL, &res, NULL, NULL));
	assert_int_equal(res.corruptions_fixed, 1);
	assert_int_equal(res.corruptions, 0);
	check_ok(img_close(img));
	assert_qemu_check("c.qcow2");
}

/* A lazy-refcounts image left dirty (the writer died) is repaired on a read-write open. */
static void test_dirty_lazy(void **state)
{
	struct img_info info;
	struct img *img;
	pid_t pid;
	int status;

	(void)state;
	assert_int_equal(sh("qemu-img create -f qcow2 -o lazy_refcounts=on d.qcow2 4M"), 0);
	pid = fork();
	if (!pid) {
		uint8_t buf[100000];

		img = open_img(P("d.qcow2"), true);
		memset(buf, 0x42, sizeof(buf));
		img_write(img, 12345, buf, sizeof(buf));
		img_flush(img);
		img_write(img, 2 * MB, buf, sizeof(buf));
		_exit(0); /* no img_close(): the dirty bit stays */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	img = open_img(P("d.qcow2"), false);
	img_get_info(img, &info);
	assert_true(info.dirty);
	check_ok(img_close(img));
	img = open_img(P("d.qcow2"), true);
	check_ok(img_close(img));
	img = open_img(P("d.qcow2"), false);
	img_get_info(img, &info);
	assert_false(info.dirty);
	check_ok(img_close(img));
	assert_qemu_check("d.qcow2");
}

/* Killed in the middle of allocating writes: at worst leaks, never corruption. */
static void test_crash_consistency(void **state)
{
	(void)state;
	assert_int_equal(sh("qemu-img create -f qcow2 -o cluster_size=4k k.qcow2 64M"), 0);
	for (int round = 0; round < 4; round++) {
		pid_t pid = fork();
		int status;

		if (!pid) {
			struct img *img = open_img(P("k.qcow2"), true);
			uint8_t buf[20000];

			for (;;) {
				uint64_t off = rnd() % (64 * MB - sizeof(buf));

				fill_random(buf, sizeof(buf));
				if (rnd() % 5 == 0)
					img_discard(img, off, sizeof(buf));
				else
					img_write(img, off, buf, sizeof(buf));
			}
		}
		usleep(30000 + round * 20000);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		/* qemu-img check: 0 clean, 3 leaks only; 2 would be corruption. */
		status = sh("qemu-img check k.qcow2");
		if (status != 0 && status != 3)
			fail_msg("round %d: qemu-img check exit %d", round, status);
		assert_int_equal(sh("qemu-img check -q -r leaks k.qcow2"), 0);
	}
}

/* ---- hostile images ---- */

/* A valid 4 MiB image with 64 KiB clusters and data at 0: h.qcow2, from which each case starts. */
static void hostile_base(void)
{
	assert_int_equal(sh("rm -f h.qcow2 && qemu-img create -f qcow2 h.qcow2 4M && qemu-io -c "
			    "'write 0 128k' h.qcow2"),
			 0);
}

static void test_hostile_header(void **state)
{
	(void)state;
	hostile_base();
	patch("h.qcow2", 0, "QFI\xfa", 4);
	open_fails(P("h.qcow2"), false, "not a qcow2 image (bad magic)");

	hostile_base();
	patch_be("h.qcow2", 4, 4, 4);
	open_fails(P("h.qcow2"), false, "version");

	hostile_base();
	patch_be("h.qcow2", 20, 22, 4);
	open_fails(P("h.qcow2"), false, "cluster size");

	hostile_base();
	patch_be("h.qcow2", 36, 0x10000000, 4);
	open_fails(P("h.qcow2"), false, "L1 table too large");

	hostile_base();
	patch_be("h.qcow2", 36, 0, 4);
	open_fails(P("h.qcow2"), false, "L1 table too small");

	hostile_base();
	patch_be("h.qcow2", 40, 1ULL << 40, 8);
	open_fails(P("h.qcow2"), false, "beyond the end of the file");

	hostile_base();
	patch_be("h.qcow2", 40, 0x30200, 8);
	open_fails(P("h.qcow2"), false, "not cluster-aligned");

	hostile_base();
	patch_be("h.qcow2", 48, 0x30008, 8);
	open_fails(P("h.qcow2"), false, "refcount table offset not cluster-aligned");

	hostile_base();
	patch_be("h.qcow2", 56, 0x100000, 4);
	open_fails(P("h.qcow2"), false, "refcount table too large");

	hostile_base();
	patch_be("h.qcow2", 96, 7, 4);
	open_fails(P("h.qcow2"), false, "refcount_order");

	hostile_base();
	patch_be("h.qcow2", 100, 96, 4);
	open_fails(P("h.qcow2"), false, "header_length too small");

	hostile_base();
	patch_be("h.qcow2", 100, 0x20000, 4);
	open_fails(P("h.qcow2"), false, "header_length larger");

	hostile_base();
	patch_be("h.qcow2", 24, 1ULL << 62, 8);
	open_fails(P("h.qcow2"), false, "virtual size");

	hostile_base();
	patch_be("h.qcow2", 60, 1000000, 4);
	open_fails(P("h.qcow2"), false, "too many snapshots");

	hostile_base();
	patch_be("h.qcow2", 32, 1, 4);
	open_fails(P("h.qcow2"), false, "encrypted");

	/* Truncated: the magic and a little more. */
	hostile_base();
	assert_int_equal(sh("truncate -s 50 h.qcow2"), 0);
	open_fails(P("h.qcow2"), false, "invalid qcow2 image");
	assert_int_equal(sh("truncate -s 3 h.qcow2"), 0);
	{
		struct img *img = open_img(P("h.qcow2"), false);
		struct img_info info;

		/* Three bytes cannot be qcow2: probed as raw. */
		img_get_info(img, &info);
		assert_string_equal(info.format_name, "raw");
		img_close(img);
	}
}

static void test_hostile_features(void **state)
{
	struct img *img;

	(void)state;
	hostile_base();
	/* Extended L2 entries: named from the image's own feature table. */
	patch_be("h.qcow2", 72, 1ULL << 4, 8);
	open_fails(P("h.qcow2"), false,
		   "unsupported qcow2 feature: 'extended L2 entries' (incompatible bit 4)");

	hostile_base();
	patch_be("h.qcow2", 72, 1ULL << 9, 8);
	open_fails(P("h.qcow2"), false, "(incompatible bit 9)");

	hostile_base();
	patch_be("h.qcow2", 72, 1ULL << 2, 8);
	open_fails(P("h.qcow2"), false, "external data file");

	/* Corrupt: read-only works, read-write is refused. */
	hostile_base();
	patch_be("h.qcow2", 72, 1ULL << 1, 8);
	open_fails(P("h.qcow2"), true, "image is marked corrupt: run kvmini-img check -r all");
	img = open_img(P("h.qcow2"), false);
	check_ok(img_close(img));

	/* Unknown compatible and autoclear bits: kept, and autoclear cleared on rw. */
	hostile_base();
	patch_be("h.qcow2", 80, 1ULL << 7, 8);
	patch_be("h.qcow2", 88, 1ULL << 5, 8);
	img = open_img(P("h.qcow2"), true);
	check_ok(img_close(img));
	assert_int_equal(read_be("h.qcow2", 80, 8), 1ULL << 7);
	assert_int_equal(read_be("h.qcow2", 88, 8), 0);
	assert_qemu_check("h.qcow2");
}

static void test_hostile_extensions(void **state)
{
	uint64_t end;

	(void)state;
	hostile_base();
	/* The first extension (after the 112-byte header): a huge length. */
	end = 112;
	patch_be("h.qcow2", end, 0x12345678, 4);
	patch_be("h.qcow2", end + 4, 0xfffffff0, 4);
	open_fails(P("h.qcow2"), false, "overflows the header");

	/* An unknown extension is preserved across a header rewrite. */
	hostile_base();
	assert_int_equal(sh("qemu-img create -f raw b.raw 4M && qemu-img rebase -u -b b.raw -F raw "
			    "h.qcow2"),
			 0);
	{
		struct img *img = open_img(P("h.qcow2"), true);

		check_ok(qcow2_set_backing(img, "b.raw", "raw"));
		check_ok(img_close(img));
	}
	assert_qemu_check("h.qcow2");
	assert_int_equal(sh("qemu-img info h.qcow2 | grep -q 'backing file format: raw'"), 0);
}

static void test_hostile_backing(void **state)
{
	(void)state;
	/* A chain that comes back to itself. */
	assert_int_equal(sh("qemu-img create -f qcow2 a.qcow2 1M && qemu-img create -f qcow2 -b "
			    "a.qcow2 -F qcow2 b.qcow2 && qemu-img rebase -u -b b.qcow2 -F qcow2 "
			    "a.qcow2"),
			 0);
	open_fails(P("b.qcow2"), false, "loops back");
	assert_int_equal(sh("qemu-img rebase -u -b self.qcow2 -F qcow2 a.qcow2 && mv a.qcow2 "
			    "self.qcow2"),
			 0);
	open_fails(P("self.qcow2"), false, "loops back");
	/* A missing backing file, and a protocol. */
	assert_int_equal(sh("qemu-img create -f qcow2 -b nope.raw -F raw -u m.qcow2 1M"), 0);
	open_fails(P("m.qcow2"), false, "cannot open backing file");
	assert_int_equal(sh("qemu-img rebase -u -b nbd:localhost:10809 -F raw m.qcow2"), 0);
	open_fails(P("m.qcow2"), false, "protocols are not supported");
	/* backing_fmt=raw on a qcow2 backing file: honoured (no probing). */
	assert_int_equal(sh("qemu-img create -f qcow2 base.qcow2 1M && qemu-img create -f qcow2 -b "
			    "base.qcow2 -F raw -u r.qcow2 1M"),
			 0);
	{
		struct img *img = open_img(P("r.qcow2"), false);
		struct img_info info;

		img_get_info(img_backing(img), &info);
		assert_string_equal(info.format_name, "raw");
		img_close(img);
	}
}

/*
 * Bitmaps (kept by QEMU, not by kvmini): counted by the check while valid; a
 * read-write open clears autoclear bit 0, after which QEMU ignores them and
 * their clusters are only leaks.
 */
static void test_bitmaps(void **state)
{
	struct qcow2_check_result res;
	struct img *img;

	(void)state;
	assert_int_equal(sh("qemu-img create -f qcow2 b.qcow2 64M && qemu-img bitmap --add "
			    "b.qcow2 b0 && qemu-io -c 'write 0 8M' b.qcow2"),
			 0);
	img = open_img(P("b.qcow2"), false);
	check_ok(qcow2_check(img, QCOW2_FIX_NONE, &res, NULL, NULL));
	assert_int_equal(res.leaks + res.corruptions, 0);
	check_ok(img_close(img));
	assert_int_equal(read_be("b.qcow2", 88, 8), 1);
	img = open_img(P("b.qcow2"), true);
	check_ok(img_close(img));
	assert_int_equal(read_be("b.qcow2", 88, 8), 0);
	/* qemu-img check: 3 is "leaks only". */
	assert_int_equal(sh("qemu-img check b.qcow2"), 3);
	assert_int_equal(sh("qemu-img check -q -r leaks b.qcow2"), 0);
	assert_qemu_check("b.qcow2");
}

/* Broken L2 entries: errors on access, never a crash. */
static void test_hostile_l2(void **state)
{
	uint8_t buf[4096];
	uint64_t l1, l2;
	struct img *img;

	(void)state;
	hostile_base();
	l1 = read_be("h.qcow2", 40, 8);
	l2 = read_be("h.qcow2", l1, 8) & 0x00fffffffffffe00ULL;
	/* A compressed cluster far beyond the end of the file. */
	patch_be("h.qcow2", l2, (1ULL << 62) | (0x3fffffffffULL), 8);
	img = open_img(P("h.qcow2"), false);
	err_clear();
	assert_int_not_equal(img_read(img, 0, buf, sizeof(buf)), 0);
	assert_non_null(strstr(err_msg(EIO), "compressed cluster beyond the end of the file"));
	img_close(img);
	/* A misaligned data cluster. */
	patch_be("h.qcow2", l2, (1ULL << 63) | 0x50200, 8);
	img = open_img(P("h.qcow2"), false);
	assert_int_equal(img_read(img, 0, buf, sizeof(buf)), -EIO);
	assert_non_null(strstr(err_msg(EIO), "misaligned"));
	img_close(img);
	/* An L2 table offset of garbage. */
	hostile_base();
	patch_be("h.qcow2", l1, (1ULL << 63) | 0x10200, 8);
	img = open_img(P("h.qcow2"), false);
	assert_int_equal(img_read(img, 0, buf, sizeof(buf)), -EIO);
	img_close(img);
	/* Snapshot table beyond the end of the file. */
	hostile_base();
	patch_be("h.qcow2", 60, 1, 4);
	patch_be("h.qcow2", 64, 1ULL << 40, 8);
	open_fails(P("h.qcow2"), false, "snapshot table");
}

/* ---- the block backend (what virtio-blk uses) ---- */

struct req {
	struct block_request br;
	struct iovec iov[3];
	int ret;
	bool done;
};

static void req_done(struct block_request *br, int ret)
{
	struct req *r = (struct req *)br;

	r->ret = ret;
	r->done = true;
}

static void ready(void *opaque)
{
	(void)opaque;
}

static void test_block_backend(void **state)
{
	struct block_open_args args = { .path = NULL, .format = NULL, .ready = ready };
	static struct req reqs[64];
	size_t size = 8 * MB;
	uint8_t *ref = calloc(1, size), *buf = malloc(size);
	struct block_backend *bb;
	struct event_loop loop;

	(void)state;
	assert_int_equal(event_loop_init(&loop), 0);
	make_base_raw("base.raw");
	assert_int_equal(sh("qemu-img create -f qcow2 -o cluster_size=4k -b base.raw -F raw "
			    "b.qcow2 && cp base.raw ref.raw"),
			 0);
	{
		size_t n;
		uint8_t *b = slurp(P("ref.raw"), &n);

		memcpy(ref, b, size);
		free(b);
	}
	args.path = P("b.qcow2");
	check_ok(block_open(&bb, &args, &loop));
	assert_int_equal(bb->length, size);
	for (int round = 0; round < 20; round++) {
		/* A batch of writes in three pieces each, then a flush. */
		for (int i = 0; i < 63; i++) {
			struct req *r = &reqs[i];
			/* Each in its own 128 KiB slot: requests in flight together may reorder. */
			uint64_t off = i * 131072 + (rnd() % 192) * 512,
				 len = (1 + rnd() % 60) * 512;
			uint64_t a = len / 3 & ~511ULL;

			fill_random(buf + i * 32768, len);
			memcpy(ref + off, buf + i * 32768, len);
			*r = (struct req){ .br = { .op = BLOCK_OP_WRITE,
						   .offset = off,
						   .iov = r->iov,
						   .iovcnt = 2,
						   .complete = req_done } };
			r->iov[0] = (struct iovec){ buf + i * 32768, a };
			r->iov[1] = (struct iovec){ buf + i * 32768 + a, len - a };
		}
		for (int i = 0; i < 63; i++)
			block_queue(bb, &reqs[i].br);
		reqs[63] = (struct req){ .br = { .op = BLOCK_OP_FLUSH, .complete = req_done } };
		block_queue(bb, &reqs[63].br);
		block_submit(bb);
		/* Never completed from inside queue(). */
		assert_false(reqs[0].done);
		block_drain(bb);
		for (int i = 0; i < 64; i++) {
			assert_true(reqs[i].done);
			assert_int_equal(reqs[i].ret, 0);
		}
	}
	reqs[0] = (struct req){
		.br = { .op = BLOCK_OP_WRITE_ZEROES, .offset = MB, .len = MB, .complete = req_done }
	};
	memset(ref + MB, 0, MB);
	reqs[1] = (struct req){ .br = { .op = BLOCK_OP_READ,
					.offset = 0,
					.iov = reqs[1].iov,
					.iovcnt = 1,
					.complete = req_done } };
	reqs[1].iov[0] = (struct iovec){ buf, size };
	block_queue(bb, &reqs[0].br);
	block_queue(bb, &reqs[1].br);
	block_submit(bb);
	block_drain(bb);
	assert_int_equal(reqs[0].ret, 0);
	assert_int_equal(reqs[1].ret, 0);
	assert_memory_equal(buf, ref, size);
	block_close(bb);
	assert_qemu_check("b.qcow2");
	assert_qemu_content("b.qcow2", ref, size);
	/* Failures complete too, with the error: writes to a read-only image. */
	args.readonly = true;
	check_ok(block_open(&bb, &args, &loop));
	for (int i = 0; i < 2; i++) {
		reqs[i] = (struct req){ .br = { .op = BLOCK_OP_WRITE,
						.offset = i ? size - 4096 : 0,
						.iov = reqs[i].iov,
						.iovcnt = 1,
						.complete = req_done } };
		reqs[i].iov[0] = (struct iovec){ buf, 4096 };
		block_queue(bb, &reqs[i].br);
	}
	block_submit(bb);
	block_drain(bb);
	for (int i = 0; i < 2; i++) {
		assert_true(reqs[i].done);
		assert_true(reqs[i].ret < 0);
	}
	block_close(bb);
	args.readonly = false;
	/* format=qcow2 on a raw file: a clear error. */
	args.path = P("base.raw");
	args.format = "qcow2";
	err_clear();
	assert_int_equal(block_open(&bb, &args, &loop), -EINVAL);
	assert_non_null(strstr(err_msg(EINVAL), "not a qcow2 image (bad magic)"));
	event_loop_destroy(&loop);
	free(ref);
	free(buf);
}

/* Writes in flight together to different parts of one unallocated cluster all land. */
static void test_block_backend_same_cluster(void **state)
{
	struct block_open_args args = { .format = "qcow2", .ready = ready };
	static const uint64_t offs[] = { 0, 2048, 3584, 8192 + 512, 8192 + 3072, 65536 - 512 };
	static const uint64_t lens[] = { 1024, 1024, 1024, 512, 2048, 1024 };
	static struct req reqs[6];
	uint8_t *ref, buf[6][2048];
	struct block_backend *bb;
	struct event_loop loop;
	size_t n;

	(void)state;
	assert_int_equal(event_loop_init(&loop), 0);
	make_base_raw("base.raw");
	assert_int_equal(sh("qemu-img create -f qcow2 -o cluster_size=4k -b base.raw -F raw "
			    "s.qcow2"),
			 0);
	ref = slurp(P("base.raw"), &n);
	args.path = P("s.qcow2");
	check_ok(block_open(&bb, &args, &loop));
	for (int i = 0; i < 6; i++) {
		fill_random(buf[i], lens[i]);
		memcpy(ref + offs[i], buf[i], lens[i]);
		reqs[i] = (struct req){ .br = { .op = BLOCK_OP_WRITE,
						.offset = offs[i],
						.iov = reqs[i].iov,
						.iovcnt = 1,
						.complete = req_done } };
		reqs[i].iov[0] = (struct iovec){ buf[i], lens[i] };
		block_queue(bb, &reqs[i].br);
	}
	block_submit(bb);
	block_drain(bb);
	for (int i = 0; i < 6; i++) {
		assert_true(reqs[i].done);
		assert_int_equal(reqs[i].ret, 0);
	}
	block_close(bb);
	event_loop_destroy(&loop);
	assert_qemu_check("s.qcow2");
	assert_qemu_content("s.qcow2", ref, n);
	free(ref);
}

/* The engine on a memfd (how a fuzzer drives it): no path, no backing file. */
static void test_memfd(void **state)
{
	struct img_open_opts o = { .format = "qcow2" };
	uint8_t *file, *ref;
	size_t n, m;
	struct img *img;
	int fd;

	(void)state;
	make_base_raw("base.raw");
	assert_int_equal(sh("qemu-img convert -c -O qcow2 -o cluster_size=4k base.raw m.qcow2"), 0);
	file = slurp(P("m.qcow2"), &n);
	ref = slurp(P("base.raw"), &m);
	fd = memfd_create("qcow2", 0);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, file, n), (ssize_t)n);
	check_ok(img_open_fd(&img, fd, NULL, &o));
	assert_reads(img, ref, m);
	check_ok(img_close(img));
	/* A header cut short in memory too. */
	assert_int_equal(ftruncate(fd, 60), 0);
	assert_int_not_equal(img_open_fd(&img, fd, NULL, &o), 0);
	close(fd);
	free(file);
	free(ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_formats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backing_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_snapshots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_v3, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_v2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_small_clusters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_over_backing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compressed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resize, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_from_qemu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_repair, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirty_lazy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_consistency, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bitmaps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_extensions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_backing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_l2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_block_backend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_block_backend_same_cluster, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memfd, setup, teardown),
	};

	if (system("qemu-img --version >/dev/null 2>&1")) {
		printf("qemu-img is not installed: skipping the qcow2 tests\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
