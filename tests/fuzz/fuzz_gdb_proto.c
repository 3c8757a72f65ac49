// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the gdb stub: arbitrary bytes from a "client" through
 * the framing and the command server, on the fake target of
 * tests/helpers/gdb_fake.c.  Stops the fake target reports are delivered
 * between chunks, so resume, interrupt and stop-reply paths run too.  The
 * replies are checked to be well-framed packets or acks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GDB_FAKE_LIB
#include "../helpers/gdb_fake.c"

struct out_check {
	bool in_pkt;
	unsigned int after_hash; /* checksum digits still to come */
};

/* Everything the server writes is '+', '-' or $...#xx with nothing unescaped in between. */
static int check_write(void *opaque, const void *buf, size_t len)
{
	struct out_check *o = opaque;
	const uint8_t *b = buf;

	for (size_t i = 0; i < len; i++) {
		if (o->after_hash) {
			if (gdb_hex_val(b[i]) < 0)
				abort();
			o->after_hash--;
		} else if (o->in_pkt) {
			if (b[i] == '$')
				abort();
			if (b[i] == '#') {
				o->in_pkt = false;
				o->after_hash = 2;
			}
		} else if (b[i] == '$') {
			o->in_pkt = true;
		} else if (b[i] != '+' && b[i] != '-') {
			abort();
		}
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fake_target f;
	struct out_check o = { 0 };
	struct gdb_server *srv;
	size_t off = 0;

	fake_init(&f);
	f.running = true;
	if (gdb_server_create_raw(&srv, &fake_ops, &f, check_write, &o))
		abort();
	while (off < size) {
		/*
		 * A chunk header: length - 1 in the low 6 bits; bit 7: frame the
		 * chunk as a packet with a good checksum (else raw bytes), so that
		 * the commands get exercised and not only the checksum check.
		 */
		uint8_t h = data[off++];
		size_t n = 1 + (size_t)(h & 0x3f);
		uint8_t sum = 0;
		char cs[4];

		if (n > size - off)
			n = size - off;
		if (h & 0x80) {
			for (size_t i = 0; i < n; i++)
				sum += data[off + i];
			snprintf(cs, sizeof(cs), "#%02x", sum);
			gdb_server_input(srv, "$", 1);
			gdb_server_input(srv, data + off, n);
			gdb_server_input(srv, cs, 3);
		} else {
			gdb_server_input(srv, data + off, n);
		}
		off += n;
		/* Bit 6: the target reports its stop now (else it stays pending a while). */
		if (f.has_pending && (h & 0x40)) {
			f.has_pending = false;
			gdb_server_stopped(srv, &f.pending);
		}
	}
	gdb_server_disconnect(srv);
	gdb_server_destroy(srv);
	if (o.in_pkt || o.after_hash)
		abort();
	return 0;
}
