// SPDX-License-Identifier: MIT
/*
 * The gdb remote serial protocol's framing: $payload#cs packets, +/- acks,
 * retransmission, no-ack mode, run-length expansion, binary escapes and the
 * 0x03 interrupt byte.  A byte-at-a-time state machine that never fails: any
 * input leaves it in a valid state.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gdb_proto.h"

static const char hexdig[] = "0123456789abcdef";

int gdb_hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void gdb_hex_encode(const void *in, size_t len, char *out)
{
	const uint8_t *p = in;

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hexdig[p[i] >> 4];
		out[2 * i + 1] = hexdig[p[i] & 0xf];
	}
}

int gdb_hex_decode(const char *in, size_t len, void *out)
{
	uint8_t *p = out;

	for (size_t i = 0; i < len; i++) {
		int hi = gdb_hex_val((unsigned char)in[2 * i]);
		int lo = hi < 0 ? -1 : gdb_hex_val((unsigned char)in[2 * i + 1]);

		if (lo < 0)
			return -EINVAL;
		p[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static bool needs_escape(uint8_t c)
{
	return c == '#' || c == '$' || c == '}' || c == '*';
}

size_t gdb_escape(const uint8_t *in, size_t len, uint8_t *out, size_t out_size, size_t *used)
{
	size_t o = 0, i;

	for (i = 0; i < len; i++) {
		if (needs_escape(in[i])) {
			if (o + 2 > out_size)
				break;
			out[o++] = 0x7d;
			out[o++] = in[i] ^ 0x20;
		} else {
			if (o + 1 > out_size)
				break;
			out[o++] = in[i];
		}
	}
	*used = i;
	return o;
}

long gdb_unescape(uint8_t *buf, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (buf[i] == 0x7d) {
			if (++i == len)
				return -EINVAL;
			buf[o++] = buf[i] ^ 0x20;
		} else {
			buf[o++] = buf[i];
		}
	}
	return (long)o;
}

void gdb_proto_init(struct gdb_proto *p, gdb_write_fn write, void *opaque)
{
	memset(p, 0, offsetof(struct gdb_proto, buf));
	p->write = write;
	p->opaque = opaque;
	p->buf[0] = 0;
}

void gdb_proto_reset(struct gdb_proto *p)
{
	p->no_ack = false;
	p->write_err = 0;
	p->state = GDB_RX_IDLE;
	p->bad = false;
	p->rle = false;
	p->len = 0;
	p->last_len = 0;
}

void gdb_proto_free(struct gdb_proto *p)
{
	free(p->last_tx);
	p->last_tx = NULL;
	p->last_cap = 0;
	p->last_len = 0;
}

static void raw_write(struct gdb_proto *p, const void *buf, size_t len)
{
	int ret;

	if (p->write_err)
		return;
	ret = p->write(p->opaque, buf, len);
	if (ret)
		p->write_err = ret;
}

static void start_packet(struct gdb_proto *p)
{
	p->state = GDB_RX_DATA;
	p->bad = false;
	p->rle = false;
	p->sum = 0;
	p->len = 0;
}

static void put_byte(struct gdb_proto *p, uint8_t c)
{
	if (p->len >= GDB_PKT_MAX) {
		p->bad = true;
		return;
	}
	p->buf[p->len++] = c;
}

static void rx_data(struct gdb_proto *p, uint8_t c)
{
	if (p->rle) {
		/* "X*n": X repeated n - 29 more times; n is printable. */
		p->rle = false;
		if (c < 32 || c > 126 || !p->len) {
			p->bad = true;
			return;
		}
		for (int n = c - 29; n > 0 && !p->bad; n--)
			put_byte(p, p->buf[p->len - 1]);
		return;
	}
	if (c == '*') {
		/* Nothing to repeat after an overflow: the packet is lost anyway. */
		p->rle = true;
		return;
	}
	put_byte(p, c);
}

enum gdb_rx_event gdb_proto_rx(struct gdb_proto *p, uint8_t c)
{
	int v;

	switch (p->state) {
	case GDB_RX_IDLE:
		if (c == '$') {
			start_packet(p);
		} else if (c == 0x03) {
			return GDB_RX_INTERRUPT;
		} else if (c == '-' && !p->no_ack && p->last_len) {
			raw_write(p, p->last_tx, p->last_len);
		}
		/* '+' and line noise between packets are ignored. */
		return GDB_RX_NONE;
	case GDB_RX_DATA:
		if (c == '#') {
			p->state = GDB_RX_CSUM1;
		} else if (c == '$') {
			/* A new start: the previous packet was cut short; resynchronise. */
			start_packet(p);
		} else {
			p->sum += c;
			rx_data(p, c);
		}
		return GDB_RX_NONE;
	case GDB_RX_CSUM1:
		v = gdb_hex_val(c);
		if (v < 0)
			break;
		p->rx_sum = (uint8_t)v;
		p->state = GDB_RX_CSUM2;
		return GDB_RX_NONE;
	case GDB_RX_CSUM2:
		v = gdb_hex_val(c);
		if (v < 0 || (uint8_t)(p->rx_sum << 4 | v) != p->sum)
			break;
		p->state = GDB_RX_IDLE;
		if (!p->no_ack)
			raw_write(p, "+", 1);
		if (p->bad || p->rle) {
			p->len = 0;
			p->buf[0] = 0;
			return GDB_RX_BAD;
		}
		p->buf[p->len] = 0;
		return GDB_RX_PACKET;
	}
	/* A bad checksum: ask for the packet again (no-ack mode just drops it). */
	p->state = GDB_RX_IDLE;
	p->len = 0;
	p->buf[0] = 0;
	if (!p->no_ack)
		raw_write(p, "-", 1);
	return GDB_RX_NONE;
}

int gdb_proto_send(struct gdb_proto *p, const void *data, size_t len)
{
	const uint8_t *d = data;
	size_t need = len + 4;
	uint8_t sum = 0;

	if (p->write_err)
		return p->write_err;
	if (need > p->last_cap) {
		uint8_t *n = realloc(p->last_tx, need);

		if (!n)
			return -ENOMEM;
		p->last_tx = n;
		p->last_cap = need;
	}
	p->last_tx[0] = '$';
	for (size_t i = 0; i < len; i++) {
		p->last_tx[i + 1] = d[i];
		sum += d[i];
	}
	p->last_tx[len + 1] = '#';
	p->last_tx[len + 2] = (uint8_t)hexdig[sum >> 4];
	p->last_tx[len + 3] = (uint8_t)hexdig[sum & 0xf];
	p->last_len = need;
	raw_write(p, p->last_tx, need);
	return p->write_err;
}
