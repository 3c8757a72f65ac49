// SPDX-License-Identifier: MIT
/*
 * Unit tests for kvmini-img's parsers (vmm/img/parse.c, included here: the
 * tool's objects are not in libkvmini.a): sizes as qemu-img reads and
 * prints them, and -o creation option lists.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../vmm/img/parse.c"

static void size_is(const char *s, uint64_t want)
{
	uint64_t v = 0;

	if (img_parse_size(s, &v))
		fail_msg("'%s' refused", s);
	assert_int_equal(v, want);
}

static void size_bad(const char *s)
{
	uint64_t v;

	if (img_parse_size(s, &v) != -EINVAL)
		fail_msg("'%s' accepted", s);
}

static void test_parse_size(void **state)
{
	(void)state;
	size_is("0", 0);
	size_is("1000", 1000);
	size_is("512b", 512);
	size_is("1k", 1024);
	size_is("1K", 1024);
	size_is("64M", 64ULL << 20);
	size_is("10G", 10ULL << 30);
	size_is("2t", 2ULL << 40);
	size_is("1P", 1ULL << 50);
	size_is("1e", 1ULL << 60);
	size_is("1.5M", 3ULL << 19);
	size_is("1.0000001k", 1024);
	size_is("0x10", 16);
	size_is("9223372036854775807", INT64_MAX);
	size_bad("");
	size_bad("-1");
	size_bad("+1G");
	size_bad("1.5");
	size_bad("1Q");
	size_bad("1kB");
	size_bad("0x1.5k");
	size_bad("8E");
	size_bad("9223372036854775808");
	size_bad("99999999999999999999999");
	size_bad(" 5");
}

static void str_is(uint64_t v, const char *want)
{
	char buf[32];

	size_to_str(v, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void test_size_to_str(void **state)
{
	(void)state;
	str_is(0, "0 B");
	str_is(4096, "4 KiB");
	str_is(200704, "196 KiB");
	str_is(1314816, "1.25 MiB");
	str_is(64ULL << 20, "64 MiB");
	str_is(1000 * 1024, "0.977 MiB");
	str_is(999, "999 B");
	str_is(1ULL << 40, "1 TiB");
}

static void test_create_opts(void **state)
{
	struct img_create_opts o = { .format = IMG_FORMAT_QCOW2 };
	struct opts store;

	(void)state;
	assert_int_equal(parse_create_opts("compat=0.10,cluster_size=4k,lazy_refcounts=on,"
					   "compression_type=zstd,refcount_bits=8,"
					   "backing_file=a,,b.qcow2,backing_fmt=qcow2,size=1G",
					   &store, &o),
			 0);
	assert_int_equal(o.version, 2);
	assert_int_equal(o.cluster_size, 4096);
	assert_true(o.lazy_refcounts);
	assert_int_equal(o.compression, QCOW2_COMPRESSION_ZSTD);
	assert_int_equal(o.refcount_bits, 8);
	assert_string_equal(o.backing_file, "a,b.qcow2");
	assert_string_equal(o.backing_format, "qcow2");
	assert_int_equal(o.size, 1ULL << 30);
	opts_free(&store);
	assert_int_equal(parse_create_opts(NULL, &store, &o), 0);
	opts_free(&store);
}

static void opts_fail(enum img_format fmt, const char *list, const char *msg)
{
	struct img_create_opts o = { .format = fmt };
	struct opts store;

	err_clear();
	assert_int_equal(parse_create_opts(list, &store, &o), -EINVAL);
	assert_string_equal(err_msg(EINVAL), msg);
	opts_free(&store);
}

static void test_create_opts_bad(void **state)
{
	(void)state;
	opts_fail(IMG_FORMAT_QCOW2, "foo=1", "invalid parameter 'foo' for format 'qcow2'");
	opts_fail(IMG_FORMAT_RAW, "cluster_size=4k",
		  "invalid parameter 'cluster_size' for format 'raw'");
	opts_fail(IMG_FORMAT_QCOW2, "compat=2", "invalid compat '2' (use 0.10 or 1.1)");
	opts_fail(IMG_FORMAT_QCOW2, "lazy_refcounts=yes",
		  "invalid value 'yes' for lazy_refcounts (use on or off)");
	opts_fail(IMG_FORMAT_QCOW2, "compression_type=lz4",
		  "invalid compression_type 'lz4' (use zlib or zstd)");
	opts_fail(IMG_FORMAT_QCOW2, "cluster_size=big", "invalid value 'big' for cluster_size");
	opts_fail(IMG_FORMAT_QCOW2, "size=1Q", "invalid size '1Q'");
	opts_fail(IMG_FORMAT_QCOW2, "compat", "parameter 'compat' needs a value (compat=...)");
}

static void test_append_opt_list(void **state)
{
	char *acc = NULL;

	(void)state;
	assert_int_equal(append_opt_list(&acc, "a=1"), 0);
	assert_int_equal(append_opt_list(&acc, "b=2"), 0);
	assert_string_equal(acc, "a=1,b=2");
	free(acc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),	cmocka_unit_test(test_size_to_str),
		cmocka_unit_test(test_create_opts),	cmocka_unit_test(test_create_opts_bad),
		cmocka_unit_test(test_append_opt_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
