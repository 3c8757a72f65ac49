// SPDX-License-Identifier: MIT
/* Unit tests for the gdb remote protocol's framing (vmm/gdb_proto.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gdb_proto.h"

struct sink {
	char out[GDB_PKT_MAX * 2];
	size_t len;
	int fail; /* make writes fail with this */
};

static int sink_write(void *opaque, const void *buf, size_t len)
{
	struct sink *s = opaque;

	if (s->fail)
		return s->fail;
	assert_true(s->len + len < sizeof(s->out));
	memcpy(s->out + s->len, buf, len);
	s->len += len;
	s->out[s->len] = 0;
	return 0;
}

struct ctx {
	struct gdb_proto p;
	struct sink sink;
	/* events seen by feed() */
	unsigned int packets, interrupts, bad;
	char last[GDB_PKT_MAX + 1];
	size_t last_len;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	gdb_proto_init(&c->p, sink_write, &c->sink);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	gdb_proto_free(&c->p);
	free(c);
	return 0;
}

static void feed_n(struct ctx *c, const void *data, size_t len)
{
	const uint8_t *d = data;

	for (size_t i = 0; i < len; i++) {
		switch (gdb_proto_rx(&c->p, d[i])) {
		case GDB_RX_PACKET:
			c->packets++;
			memcpy(c->last, c->p.buf, c->p.len + 1);
			c->last_len = c->p.len;
			break;
		case GDB_RX_INTERRUPT:
			c->interrupts++;
			break;
		case GDB_RX_BAD:
			c->bad++;
			break;
		case GDB_RX_NONE:
			break;
		}
	}
}

static void feed(struct ctx *c, const char *s)
{
	feed_n(c, s, strlen(s));
}

/* "$payload#cs" with the right checksum. */
static void feed_packet(struct ctx *c, const char *payload)
{
	uint8_t sum = 0;
	char cs[4];

	for (const char *p = payload; *p; p++)
		sum += (uint8_t)*p;
	snprintf(cs, sizeof(cs), "%02x", sum);
	feed(c, "$");
	feed(c, payload);
	feed(c, "#");
	feed(c, cs);
}

static void test_checksum_ack(void **state)
{
	struct ctx *c = *state;

	feed(c, "$g#67");
	assert_int_equal(c->packets, 1);
	assert_string_equal(c->last, "g");
	assert_string_equal(c->sink.out, "+");
	/* Upper-case checksum digits are accepted too. */
	feed(c, "$m0,1#FA");
	feed(c, "$m0,1#fa");
	assert_int_equal(c->packets, 3);
	assert_string_equal(c->sink.out, "+++");
}

static void test_bad_checksum_nak(void **state)
{
	struct ctx *c = *state;

	feed(c, "$g#68");
	assert_int_equal(c->packets, 0);
	assert_string_equal(c->sink.out, "-");
	/* Not a hex digit where the checksum goes. */
	feed(c, "$g#z7");
	assert_int_equal(c->packets, 0);
	assert_string_equal(c->sink.out, "--");
	/* The retransmission goes through. */
	feed(c, "$g#67");
	assert_int_equal(c->packets, 1);
	assert_string_equal(c->sink.out, "--+");
}

static void test_send_and_retransmit(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(gdb_proto_send(&c->p, "OK", 2), 0);
	assert_string_equal(c->sink.out, "$OK#9a");
	feed(c, "-");
	assert_string_equal(c->sink.out, "$OK#9a$OK#9a");
	feed(c, "+");
	assert_string_equal(c->sink.out, "$OK#9a$OK#9a");
	assert_int_equal(gdb_proto_send(&c->p, "", 0), 0);
	assert_string_equal(c->sink.out + 12, "$#00");
}

static void test_no_ack_mode(void **state)
{
	struct ctx *c = *state;

	c->p.no_ack = true;
	feed(c, "$g#67");
	assert_int_equal(c->packets, 1);
	/* Bad checksums are dropped silently, '-' asks for nothing. */
	feed(c, "$g#00");
	assert_int_equal(c->packets, 1);
	gdb_proto_send(&c->p, "OK", 2);
	feed(c, "-+");
	assert_string_equal(c->sink.out, "$OK#9a");
	/* A new connection starts with acks again. */
	gdb_proto_reset(&c->p);
	feed(c, "$g#67");
	assert_string_equal(c->sink.out, "$OK#9a+");
}

static void test_escape_roundtrip(void **state)
{
	const uint8_t in[] = { 'a', '#', '$', '}', '*', 0, 0x7d ^ 0x20, 0xff, 0x03 };
	uint8_t out[32];
	size_t used, n;
	long m;

	(void)state;
	n = gdb_escape(in, sizeof(in), out, sizeof(out), &used);
	assert_int_equal(used, sizeof(in));
	assert_int_equal(n, sizeof(in) + 4);
	assert_memory_equal(out, "a}\x03}\x04}]}\x0a", 9);
	for (size_t i = 0; i < n; i++) {
		if (out[i] == 0x7d) {
			i++;
			continue;
		}
		assert_true(out[i] != '#' && out[i] != '$' && out[i] != '*');
	}
	m = gdb_unescape(out, n);
	assert_int_equal(m, sizeof(in));
	assert_memory_equal(out, in, sizeof(in));
	/* An escape pair is never split at the end of the output buffer. */
	n = gdb_escape(in, sizeof(in), out, 2, &used);
	assert_int_equal(n, 1);
	assert_int_equal(used, 1);
	/* A lone escape character at the end is an error. */
	out[0] = 'x';
	out[1] = 0x7d;
	assert_int_equal(gdb_unescape(out, 2), -EINVAL);
}

static void test_escaped_binary_packet(void **state)
{
	struct ctx *c = *state;

	/* X data "#}" arrives as "}\x03}]": the framing keeps it; the command unescapes. */
	feed_packet(c, "X10,2:}\x03}]");
	assert_int_equal(c->packets, 1);
	assert_int_equal(c->last_len, 10);
	assert_int_equal(gdb_unescape((uint8_t *)c->last + 6, 4), 2);
	assert_memory_equal(c->last + 6, "#}", 2);
}

static void test_run_length(void **state)
{
	struct ctx *c = *state;

	/* "0* " is '0' and 3 more of it; the checksum covers the encoded bytes. */
	feed_packet(c, "M0,4:0* 1");
	assert_int_equal(c->packets, 1);
	assert_string_equal(c->last, "M0,4:00001");
	feed_packet(c, "ab*!c");
	assert_string_equal(c->last, "abbbbbc");
	/* Nothing to repeat, or a count that is not printable: rejected after the ack. */
	feed_packet(c, "*!");
	assert_int_equal(c->bad, 1);
	feed_packet(c, "a*\x01");
	assert_int_equal(c->bad, 2);
	/* A '*' just before '#': the count is missing. */
	feed_packet(c, "a*");
	assert_int_equal(c->bad, 3);
	assert_int_equal(c->packets, 2);
	assert_string_equal(c->sink.out, "+++++");
}

static void test_interrupt_byte(void **state)
{
	struct ctx *c = *state;

	feed(c, "\x03");
	assert_int_equal(c->interrupts, 1);
	/* Between packets, after an ack, among garbage. */
	feed(c, "+\x03xy\x03$g#67\x03");
	assert_int_equal(c->interrupts, 4);
	assert_int_equal(c->packets, 1);
	/* Inside a packet 0x03 is data (X packets do not escape it). */
	feed_packet(c, "X0,1:\x03");
	assert_int_equal(c->interrupts, 4);
	assert_int_equal(c->packets, 2);
	assert_int_equal(c->last[5], 3);
}

static void test_oversize(void **state)
{
	struct ctx *c = *state;
	char *big = malloc(GDB_PKT_MAX + 2);

	assert_non_null(big);
	memset(big, 'a', GDB_PKT_MAX + 1);
	big[GDB_PKT_MAX + 1] = 0;
	feed_packet(c, big);
	assert_int_equal(c->packets, 0);
	assert_int_equal(c->bad, 1);
	/* Exactly the limit fits. */
	big[GDB_PKT_MAX] = 0;
	feed_packet(c, big);
	assert_int_equal(c->packets, 1);
	assert_int_equal(c->last_len, GDB_PKT_MAX);
	/* Run-length expansion past the limit. */
	big[GDB_PKT_MAX - 2] = '*';
	big[GDB_PKT_MAX - 1] = '~';
	feed_packet(c, big);
	assert_int_equal(c->bad, 2);
	feed(c, "$g#67");
	assert_int_equal(c->packets, 2);
	assert_string_equal(c->last, "g");
	free(big);
}

static void test_garbage_resync(void **state)
{
	struct ctx *c = *state;

	/* Noise, a packet cut short by a new '$', a stray '#'. */
	feed(c, "xyz#12}}**");
	feed(c, "$qSupp$g#67");
	assert_int_equal(c->packets, 1);
	assert_string_equal(c->last, "g");
	for (unsigned int i = 0; i < 4096; i++) {
		uint8_t b = (uint8_t)(i * 131 + (i >> 3));

		feed_n(c, &b, 1);
	}
	feed(c, "#00$g#67");
	assert_string_equal(c->last, "g");
}

static void test_write_error_sticks(void **state)
{
	struct ctx *c = *state;

	c->sink.fail = -EPIPE;
	assert_int_equal(gdb_proto_send(&c->p, "OK", 2), -EPIPE);
	c->sink.fail = 0;
	assert_int_equal(gdb_proto_send(&c->p, "OK", 2), -EPIPE);
	assert_int_equal(c->sink.len, 0);
}

static void test_hex(void **state)
{
	uint8_t b[3];
	char h[7] = { 0 };

	(void)state;
	assert_int_equal(gdb_hex_decode("0aFf7e", 3, b), 0);
	assert_memory_equal(b, "\x0a\xff\x7e", 3);
	gdb_hex_encode(b, 3, h);
	assert_string_equal(h, "0aff7e");
	assert_int_equal(gdb_hex_decode("0g", 1, b), -EINVAL);
	assert_int_equal(gdb_hex_decode("g0", 1, b), -EINVAL);
	assert_int_equal(gdb_hex_val('x'), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_checksum_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_checksum_nak, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_and_retransmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_ack_mode, setup, teardown),
		cmocka_unit_test(test_escape_roundtrip),
		cmocka_unit_test_setup_teardown(test_escaped_binary_packet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversize, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_resync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_error_sticks, setup, teardown),
		cmocka_unit_test(test_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
