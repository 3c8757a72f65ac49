// SPDX-License-Identifier: MIT
/*
 * Unit tests for option-value parsing (vmm/opts.c), the number parsers it
 * and the command line use (vmm/util.c), and error messages (vmm/error.c).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "error.h"
#include "opts.h"
#include "util.h"

/* Parse @str, which must fail with -EINVAL and exactly the message @msg. */
static void parse_fails(const char *str, const char *implied, const char *msg)
{
	struct opts o;

	err_clear();
	assert_int_equal(opts_parse(&o, str, implied), -EINVAL);
	assert_string_equal(err_msg(EINVAL), msg);
	assert_int_equal(o.nr, 0);
	opts_free(&o); /* harmless after a failure */
}

static void test_parse_keys(void **state)
{
	struct opts o;

	(void)state;
	assert_int_equal(opts_parse(&o, "id=n0,mac=52:54:00:12:34:56,x=", NULL), 0);
	assert_int_equal(o.nr, 3);
	assert_string_equal(o.items[0].key, "id");
	assert_string_equal(o.items[0].value, "n0");
	assert_string_equal(o.items[1].key, "mac");
	assert_string_equal(o.items[1].value, "52:54:00:12:34:56");
	assert_string_equal(o.items[2].key, "x");
	assert_string_equal(o.items[2].value, "");
	assert_string_equal(opts_get(&o, "mac"), "52:54:00:12:34:56");
	assert_null(opts_get(&o, "ma"));
	assert_null(opts_get(&o, "macs"));
	opts_free(&o);
	assert_int_equal(o.nr, 0);

	/* Only the first '=' separates key and value. */
	assert_int_equal(opts_parse(&o, "k=a=b", NULL), 0);
	assert_string_equal(opts_get(&o, "k"), "a=b");
	opts_free(&o);
}

static void test_parse_implied(void **state)
{
	struct opts o;

	(void)state;
	assert_int_equal(opts_parse(&o, "virtio-net,id=n0", "driver"), 0);
	assert_int_equal(o.nr, 2);
	assert_string_equal(o.items[0].key, "driver");
	assert_string_equal(opts_get(&o, "driver"), "virtio-net");
	assert_string_equal(opts_get(&o, "id"), "n0");
	opts_free(&o);

	/* The implied key may also be given by name. */
	assert_int_equal(opts_parse(&o, "driver=i8042", "driver"), 0);
	assert_int_equal(o.nr, 1);
	assert_string_equal(opts_get(&o, "driver"), "i8042");
	opts_free(&o);

	assert_int_equal(opts_parse(&o, "512M", "size"), 0);
	assert_string_equal(opts_get(&o, "size"), "512M");
	opts_free(&o);

	/* Only the first element can omit its key. */
	parse_fails("virtio-net,n0", "driver", "parameter 'n0' needs a value (n0=...)");
	parse_fails("id=n0,virtio-net", "driver",
		    "parameter 'virtio-net' needs a value (virtio-net=...)");
	/* Without an implied key every element needs one. */
	parse_fails("virtio-net", NULL, "parameter 'virtio-net' needs a value (virtio-net=...)");
}

static void test_parse_escapes(void **state)
{
	struct opts o;

	(void)state;
	assert_int_equal(opts_parse(&o, "path=a,,b,id=x", NULL), 0);
	assert_int_equal(o.nr, 2);
	assert_string_equal(opts_get(&o, "path"), "a,b");
	assert_string_equal(opts_get(&o, "id"), "x");
	opts_free(&o);

	assert_int_equal(opts_parse(&o, "a,,b", "driver"), 0);
	assert_int_equal(o.nr, 1);
	assert_string_equal(opts_get(&o, "driver"), "a,b");
	opts_free(&o);

	/* ",,," is a comma and then a separator. */
	assert_int_equal(opts_parse(&o, "k=x,,,y=1", NULL), 0);
	assert_int_equal(o.nr, 2);
	assert_string_equal(opts_get(&o, "k"), "x,");
	assert_string_equal(opts_get(&o, "y"), "1");
	opts_free(&o);

	assert_int_equal(opts_parse(&o, "k=,,,,", NULL), 0);
	assert_int_equal(o.nr, 1);
	assert_string_equal(opts_get(&o, "k"), ",,");
	opts_free(&o);

	/* An escaped comma in a key. */
	assert_int_equal(opts_parse(&o, "a,,b=1", NULL), 0);
	assert_string_equal(o.items[0].key, "a,b");
	assert_string_equal(o.items[0].value, "1");
	opts_free(&o);
}

static void test_parse_duplicates(void **state)
{
	(void)state;
	parse_fails("a=1,a=2", NULL, "parameter 'a' given twice");
	parse_fails("a=1,b=2,c=3,b=4", NULL, "parameter 'b' given twice");
	parse_fails("i8042,driver=x", "driver", "parameter 'driver' given twice");
	parse_fails("1G,size=2G", "size", "parameter 'size' given twice");
}

static const char *const multi_fwd[] = { "hostfwd", NULL };

/* A key declared repeatable: every value, in order; the others still refused twice. */
static void test_parse_multi(void **state)
{
	struct opts o;

	(void)state;
	/* Given no time. */
	assert_int_equal(opts_parse_multi(&o, "user,id=u", "type", multi_fwd), 0);
	assert_int_equal(opts_count(&o, "hostfwd"), 0);
	assert_null(opts_get_nth(&o, "hostfwd", 0));
	opts_free(&o);

	/* Once: opts_get() and opts_get_nth(.., 0) read the same value. */
	assert_int_equal(opts_parse_multi(&o, "user,hostfwd=tcp::1-:2,id=u", "type", multi_fwd), 0);
	assert_int_equal(opts_count(&o, "hostfwd"), 1);
	assert_string_equal(opts_get_nth(&o, "hostfwd", 0), "tcp::1-:2");
	assert_string_equal(opts_get(&o, "hostfwd"), "tcp::1-:2");
	assert_null(opts_get_nth(&o, "hostfwd", 1));
	opts_free(&o);

	/* Three times, between other keys, with an escaped comma: the order is kept. */
	assert_int_equal(opts_parse_multi(&o,
					  "user,hostfwd=tcp::1-:2,id=u,hostfwd=udp::3-:4,"
					  "net=10.0.0.0/8,hostfwd=a,,b",
					  "type", multi_fwd),
			 0);
	assert_int_equal(o.nr, 6);
	assert_int_equal(opts_count(&o, "hostfwd"), 3);
	assert_int_equal(opts_count(&o, "id"), 1);
	assert_int_equal(opts_count(&o, "missing"), 0);
	assert_string_equal(opts_get_nth(&o, "hostfwd", 0), "tcp::1-:2");
	assert_string_equal(opts_get_nth(&o, "hostfwd", 1), "udp::3-:4");
	assert_string_equal(opts_get_nth(&o, "hostfwd", 2), "a,b");
	assert_null(opts_get_nth(&o, "hostfwd", 3));
	assert_null(opts_get_nth(&o, "id", 1));
	assert_string_equal(opts_get(&o, "hostfwd"), "tcp::1-:2");
	opts_free(&o);

	/* Several keys, the implied one among them. */
	{
		static const char *const two[] = { "k", "m", NULL };

		assert_int_equal(opts_parse_multi(&o, "x,k=y,m=1,m=2", "k", two), 0);
		assert_int_equal(opts_count(&o, "k"), 2);
		assert_string_equal(opts_get_nth(&o, "k", 1), "y");
		assert_int_equal(opts_count(&o, "m"), 2);
		opts_free(&o);
	}

	/* NULL declares nothing: opts_parse() itself. */
	assert_int_equal(opts_parse_multi(&o, "a=1,b=2", NULL, NULL), 0);
	assert_int_equal(opts_count(&o, "a"), 1);
	opts_free(&o);
}

/* Parse @str with hostfwd= repeatable: -EINVAL and exactly @msg. */
static void parse_multi_fails(const char *str, const char *msg)
{
	struct opts o;

	err_clear();
	assert_int_equal(opts_parse_multi(&o, str, "type", multi_fwd), -EINVAL);
	assert_string_equal(err_msg(EINVAL), msg);
	assert_int_equal(o.nr, 0);
}

static void test_parse_multi_refused(void **state)
{
	(void)state;
	/* A key not declared repeatable: today's message. */
	parse_multi_fails("user,hostfwd=a,id=u,hostfwd=b,id=v", "parameter 'id' given twice");
	parse_multi_fails("user,type=tap", "parameter 'type' given twice");
	/* Only the exact key repeats, not its prefixes or longer names. */
	parse_multi_fails("user,hostfwd.0=a,hostfwd.0=b", "parameter 'hostfwd.0' given twice");
	parse_multi_fails("user,host=a,host=b", "parameter 'host' given twice");
	/* Without the declaration it stays refused. */
	parse_fails("user,hostfwd=a,hostfwd=b", "type", "parameter 'hostfwd' given twice");
	/* The other errors are unchanged. */
	parse_multi_fails("user,hostfwd", "parameter 'hostfwd' needs a value (hostfwd=...)");
	parse_multi_fails("user,hostfwd=a,", "empty parameter");
}

/* The limit counts every occurrence of a repeatable key. */
static void test_parse_multi_limit(void **state)
{
	char buf[OPTS_MAX * 12 + 16];
	size_t n = 0;
	struct opts o;

	(void)state;
	for (unsigned int i = 0; i < OPTS_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%shostfwd=%u", i ? "," : "", i);
	assert_int_equal(opts_parse_multi(&o, buf, NULL, multi_fwd), 0);
	assert_int_equal(opts_count(&o, "hostfwd"), OPTS_MAX);
	assert_string_equal(opts_get_nth(&o, "hostfwd", OPTS_MAX - 1), "31");
	opts_free(&o);

	snprintf(buf + n, sizeof(buf) - n, ",hostfwd=x");
	parse_multi_fails(buf, "too many parameters (at most 32)");
}

/* Each occurrence is used on its own: one left unread is reported by name. */
static void test_unused_multi(void **state)
{
	struct opts o;

	(void)state;
	assert_int_equal(
		opts_parse_multi(&o, "user,hostfwd=a,hostfwd=b,hostfwd=c", "type", multi_fwd), 0);
	assert_non_null(opts_get(&o, "type"));
	assert_string_equal(opts_unused(&o), "hostfwd");
	/* Counting reads nothing. */
	assert_int_equal(opts_count(&o, "hostfwd"), 3);
	assert_string_equal(opts_unused(&o), "hostfwd");
	/* opts_get() takes the first only. */
	assert_string_equal(opts_get(&o, "hostfwd"), "a");
	assert_string_equal(opts_unused(&o), "hostfwd");
	assert_string_equal(opts_get_nth(&o, "hostfwd", 2), "c");
	assert_string_equal(opts_unused(&o), "hostfwd");
	/* Asking past the end marks nothing. */
	assert_null(opts_get_nth(&o, "hostfwd", 3));
	assert_string_equal(opts_unused(&o), "hostfwd");
	assert_string_equal(opts_get_nth(&o, "hostfwd", 1), "b");
	assert_null(opts_unused(&o));
	opts_free(&o);

	/* A repeatable key nobody asks for is unused like any other. */
	assert_int_equal(opts_parse_multi(&o, "tap,id=t,hostfwd=a", "type", multi_fwd), 0);
	assert_non_null(opts_get(&o, "type"));
	assert_non_null(opts_get(&o, "id"));
	assert_string_equal(opts_unused(&o), "hostfwd");
	opts_free(&o);
}

static void test_parse_empty(void **state)
{
	(void)state;
	parse_fails("", NULL, "empty value");
	parse_fails("", "driver", "empty value");
	parse_fails("a=1,", NULL, "empty parameter");
	parse_fails("dev,", "driver", "empty parameter");
	parse_fails(",", NULL, "empty parameter");
	parse_fails(",a=1", NULL, "empty parameter");
	parse_fails("=1", NULL, "empty parameter name");
	parse_fails("a=1,=2", NULL, "empty parameter name");
	parse_fails("dev,=2", "driver", "empty parameter name");
}

/* A leading comma is an empty element too, even where the key may be implied. */
static void test_parse_empty_implied(void **state)
{
	struct opts o;
	int ret;

	(void)state;
	ret = opts_parse(&o, ",id=x", "driver");
	if (!ret)
		opts_free(&o);
	assert_int_equal(ret, -EINVAL);
	ret = opts_parse(&o, ",", "driver");
	if (!ret)
		opts_free(&o);
	assert_int_equal(ret, -EINVAL);
}

static void test_parse_missing_equals(void **state)
{
	(void)state;
	parse_fails("a=1,b", NULL, "parameter 'b' needs a value (b=...)");
	parse_fails("a=1,b,c=3", NULL, "parameter 'b' needs a value (b=...)");
	parse_fails("b", NULL, "parameter 'b' needs a value (b=...)");
}

static void test_parse_limit(void **state)
{
	char buf[OPTS_MAX * 8 + 16];
	size_t n = 0;
	struct opts o;

	(void)state;
	for (unsigned int i = 0; i < OPTS_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%sk%u=%u", i ? "," : "", i, i);
	assert_int_equal(opts_parse(&o, buf, NULL), 0);
	assert_int_equal(o.nr, OPTS_MAX);
	assert_string_equal(opts_get(&o, "k31"), "31");
	opts_free(&o);

	snprintf(buf + n, sizeof(buf) - n, ",k%u=0", OPTS_MAX);
	parse_fails(buf, NULL, "too many parameters (at most 32)");
}

static void test_unused(void **state)
{
	struct opts o;

	(void)state;
	assert_int_equal(opts_parse(&o, "dev,a=1,b=2", "driver"), 0);
	assert_string_equal(opts_unused(&o), "driver");
	assert_non_null(opts_get(&o, "driver"));
	assert_string_equal(opts_unused(&o), "a");
	assert_null(opts_get(&o, "zz")); /* asking for a missing key marks nothing */
	assert_non_null(opts_get(&o, "b"));
	assert_string_equal(opts_unused(&o), "a");
	assert_non_null(opts_get(&o, "a"));
	assert_null(opts_unused(&o));
	/* Asking twice is fine. */
	assert_string_equal(opts_get(&o, "a"), "1");
	assert_null(opts_unused(&o));
	opts_free(&o);
}

static void test_get_u64(void **state)
{
	struct opts o;
	uint64_t v;

	(void)state;
	assert_int_equal(opts_parse(&o, "h=0x10,d=42,z=0,max=18446744073709551615,big=0XfF", NULL),
			 0);
	v = 7;
	assert_int_equal(opts_get_u64(&o, "h", &v), 0);
	assert_int_equal(v, 16);
	assert_int_equal(opts_get_u64(&o, "d", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(opts_get_u64(&o, "z", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(opts_get_u64(&o, "max", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(opts_get_u64(&o, "big", &v), 0);
	assert_int_equal(v, 255);
	/* Absent: success, the output untouched. */
	v = 1234;
	assert_int_equal(opts_get_u64(&o, "missing", &v), 0);
	assert_int_equal(v, 1234);
	assert_null(opts_unused(&o));
	opts_free(&o);

	assert_int_equal(opts_parse(&o, "n=12x,m=-1,e=,o=18446744073709551616,s= 1", NULL), 0);
	err_clear();
	assert_int_equal(opts_get_u64(&o, "n", &v), -EINVAL);
	assert_string_equal(err_msg(EINVAL), "n=12x: not a number");
	assert_int_equal(v, 1234);
	assert_int_equal(opts_get_u64(&o, "m", &v), -EINVAL);
	assert_string_equal(err_msg(EINVAL), "m=-1: not a number");
	assert_int_equal(opts_get_u64(&o, "e", &v), -EINVAL);
	assert_string_equal(err_msg(EINVAL), "e=: not a number");
	assert_int_equal(opts_get_u64(&o, "o", &v), -EINVAL);
	assert_int_equal(opts_get_u64(&o, "s", &v), -EINVAL);
	assert_int_equal(v, 1234);
	opts_free(&o);
}

static void test_get_bool(void **state)
{
	static const struct {
		const char *text;
		bool value;
	} cases[] = {
		{ "on", true },	 { "off", false }, { "yes", true },
		{ "no", false }, { "true", true }, { "false", false },
	};
	struct opts o;
	bool b;

	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		char str[32];

		snprintf(str, sizeof(str), "flag=%s", cases[i].text);
		assert_int_equal(opts_parse(&o, str, NULL), 0);
		b = !cases[i].value;
		assert_int_equal(opts_get_bool(&o, "flag", &b), 0);
		assert_int_equal(b, cases[i].value);
		assert_null(opts_unused(&o));
		opts_free(&o);
	}

	assert_int_equal(opts_parse(&o, "a=maybe,b=,c=ON,d=1", NULL), 0);
	b = true;
	assert_int_equal(opts_get_bool(&o, "missing", &b), 0);
	assert_true(b);
	err_clear();
	assert_int_equal(opts_get_bool(&o, "a", &b), -EINVAL);
	assert_string_equal(err_msg(EINVAL), "a=maybe: expected on or off");
	assert_int_equal(opts_get_bool(&o, "b", &b), -EINVAL);
	assert_string_equal(err_msg(EINVAL), "b=: expected on or off");
	assert_int_equal(opts_get_bool(&o, "c", &b), -EINVAL);
	assert_int_equal(opts_get_bool(&o, "d", &b), -EINVAL);
	assert_true(b);
	opts_free(&o);
}

static void test_parse_u64(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(parse_u64("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_u64("42", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_u64("0x2A", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_u64("0xffffffffffffffff", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(parse_u64("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);

	v = 99;
	assert_int_equal(parse_u64("18446744073709551616", &v), -ERANGE);
	assert_int_equal(parse_u64("0x10000000000000000", &v), -ERANGE);
	assert_int_equal(parse_u64(NULL, &v), -EINVAL);
	assert_int_equal(parse_u64("", &v), -EINVAL);
	assert_int_equal(parse_u64("-1", &v), -EINVAL);
	assert_int_equal(parse_u64(" 1", &v), -EINVAL);
	assert_int_equal(parse_u64("\t1", &v), -EINVAL);
	assert_int_equal(parse_u64("1 ", &v), -EINVAL);
	assert_int_equal(parse_u64("12abc", &v), -EINVAL);
	assert_int_equal(parse_u64("0x", &v), -EINVAL);
	assert_int_equal(parse_u64("0xg", &v), -EINVAL);
	assert_int_equal(parse_u64("1M", &v), -EINVAL);
	assert_int_equal(parse_u64("+1", &v), -EINVAL);
	assert_int_equal(parse_u64("0x-1", &v), -EINVAL);
	assert_int_equal(parse_u64("0x 1", &v), -EINVAL);
	assert_int_equal(parse_u64("0x+1", &v), -EINVAL);
	assert_int_equal(parse_u64("a5", &v), -EINVAL);
	assert_int_equal(v, 99);
}

/* One "0x" prefix, not two. */
static void test_parse_u64_double_prefix(void **state)
{
	uint64_t v = 99;

	(void)state;
	assert_int_equal(parse_u64("0x0x10", &v), -EINVAL);
	assert_int_equal(parse_u64("0X0x10", &v), -EINVAL);
	assert_int_equal(v, 99);
}

/* util.h promises "decimal, or hex with 0x": a leading zero is still decimal. */
static void test_parse_u64_leading_zero(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(parse_u64("010", &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(parse_u64("08", &v), 0);
	assert_int_equal(v, 8);
}

static void test_parse_size(void **state)
{
	static const struct {
		const char *text;
		uint64_t unit;
		uint64_t value;
	} good[] = {
		{ "512M", MIB, 512 * MIB },
		{ "2G", MIB, 2 * GIB },
		{ "2g", MIB, 2 * GIB },
		{ "1T", MIB, TIB },
		{ "64K", MIB, 64 * KIB },
		{ "64k", 1, 64 * KIB },
		{ "1m", 1, MIB },
		{ "4096B", MIB, 4096 },
		{ "4096b", MIB, 4096 },
		{ "128", MIB, 128 * MIB },
		{ "128", 1, 128 },
		{ "0", MIB, 0 },
		{ "0G", MIB, 0 },
		{ "16777215T", MIB, 16777215ULL * TIB },
		{ "18446744073709551615", 1, UINT64_MAX },
		{ "18446744073709551615B", MIB, UINT64_MAX },
		{ "17179869183G", MIB, 17179869183ULL * GIB },
	};
	static const struct {
		const char *text;
		int err;
	} bad[] = {
		{ "", -EINVAL },
		{ "M", -EINVAL },
		{ "-1M", -EINVAL },
		{ " 1M", -EINVAL },
		{ "+1M", -EINVAL },
		{ "1.5G", -EINVAL },
		{ "12MB", -EINVAL },
		{ "1X", -EINVAL },
		{ "1 M", -EINVAL },
		{ "1M ", -EINVAL },
		{ "0x10", -EINVAL },
		{ "abc", -EINVAL },
		{ "16777216T", -ERANGE },
		{ "17179869184G", -ERANGE },
		{ "18446744073709551616", -ERANGE },
		{ "99999999999999999999M", -ERANGE },
		{ "18446744073709551615K", -ERANGE },
	};
	uint64_t v;

	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(good); i++) {
		v = 1;
		assert_int_equal(parse_size(good[i].text, good[i].unit, &v), 0);
		assert_true(v == good[i].value);
	}
	/* The default unit only applies to bare numbers. */
	assert_int_equal(parse_size("100", 4096, &v), 0);
	assert_int_equal(v, 409600);
	assert_int_equal(parse_size(NULL, MIB, &v), -EINVAL);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		v = 77;
		assert_int_equal(parse_size(bad[i].text, MIB, &v), bad[i].err);
		assert_int_equal(v, 77);
	}
	/* A bare number times the default unit can overflow too. */
	assert_int_equal(parse_size("17592186044416", MIB, &v), -ERANGE);
	assert_int_equal(parse_size("17592186044415", MIB, &v), 0);
	assert_true(v == 17592186044415ULL * MIB);
}

static void *set_msg_in_thread(void *arg)
{
	const char **seen = arg;

	seen[0] = strcmp(err_msg(ENOENT), strerror(ENOENT)) ? "leaked" : "";
	err_set(EIO, "from the other thread");
	seen[1] = strcmp(err_msg(EIO), "from the other thread") ? "wrong" : "ok";
	return NULL;
}

static void test_err_msg(void **state)
{
	char long_arg[1024];
	const char *seen[2] = { 0 };
	pthread_t t;

	(void)state;
	err_clear();
	assert_string_equal(err_msg(ENOENT), strerror(ENOENT));
	assert_string_equal(err_msg(-ENOENT), strerror(ENOENT));

	assert_int_equal(err_set(EINVAL, "bad %s (%d)", "thing", 42), -EINVAL);
	assert_string_equal(err_msg(EINVAL), "bad thing (42)");
	/* The recorded message wins over the errno. */
	assert_string_equal(err_msg(ENOMEM), "bad thing (42)");
	assert_int_equal(err_set(ERANGE, "second"), -ERANGE);
	assert_string_equal(err_msg(-ERANGE), "second");

	/* Per thread: another thread neither sees nor overwrites it. */
	assert_int_equal(pthread_create(&t, NULL, set_msg_in_thread, seen), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_string_equal(seen[0], "");
	assert_string_equal(seen[1], "ok");
	assert_string_equal(err_msg(ERANGE), "second");

	/* Long messages are cut, not overflowed. */
	memset(long_arg, 'x', sizeof(long_arg) - 1);
	long_arg[sizeof(long_arg) - 1] = '\0';
	err_set(E2BIG, "%s", long_arg);
	assert_true(strlen(err_msg(E2BIG)) > 100);
	assert_true(strlen(err_msg(E2BIG)) < sizeof(long_arg) - 1);
	assert_int_equal(err_msg(E2BIG)[0], 'x');

	err_clear();
	assert_string_equal(err_msg(EIO), strerror(EIO));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_keys),
		cmocka_unit_test(test_parse_implied),
		cmocka_unit_test(test_parse_escapes),
		cmocka_unit_test(test_parse_duplicates),
		cmocka_unit_test(test_parse_multi),
		cmocka_unit_test(test_parse_multi_refused),
		cmocka_unit_test(test_parse_multi_limit),
		cmocka_unit_test(test_unused_multi),
		cmocka_unit_test(test_parse_empty),
		cmocka_unit_test(test_parse_empty_implied),
		cmocka_unit_test(test_parse_missing_equals),
		cmocka_unit_test(test_parse_limit),
		cmocka_unit_test(test_unused),
		cmocka_unit_test(test_get_u64),
		cmocka_unit_test(test_get_bool),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_u64_leading_zero),
		cmocka_unit_test(test_parse_u64_double_prefix),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_err_msg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
