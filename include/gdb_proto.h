/* SPDX-License-Identifier: MIT */
/*
 * Internals of the gdb stub, visible for the unit tests and the fuzzer:
 * the remote protocol's framing (vmm/gdb_proto.c) and a server without a
 * listening socket (vmm/gdb_server.c) fed bytes directly.
 */
#ifndef KVMINI_GDB_PROTO_H
#define KVMINI_GDB_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gdb.h"

/* Largest packet payload we accept (after run-length expansion), and our PacketSize. */
#define GDB_PKT_MAX 16384

/* Sends bytes to the client: 0 or -errno. */
typedef int (*gdb_write_fn)(void *opaque, const void *buf, size_t len);

enum gdb_rx_event {
	GDB_RX_NONE,	  /* nothing complete yet */
	GDB_RX_PACKET,	  /* a packet is in buf[0..len) (NUL-terminated), acked */
	GDB_RX_INTERRUPT, /* 0x03 outside a packet */
	GDB_RX_BAD,	  /* a packet with a good checksum but too long or malformed; acked */
};

enum gdb_rx_state {
	GDB_RX_IDLE,
	GDB_RX_DATA,
	GDB_RX_CSUM1,
	GDB_RX_CSUM2,
};

struct gdb_proto {
	gdb_write_fn write;
	void *opaque;
	bool no_ack;
	int write_err; /* the first failed write's -errno: the connection is dead */

	enum gdb_rx_state state;
	bool bad;	  /* this packet overflowed or its run-length encoding is broken */
	bool rle;	  /* the previous byte was '*': this one is a repeat count */
	uint8_t sum;	  /* checksum computed over the raw payload */
	uint8_t rx_sum;	  /* the first checksum digit's value */
	uint8_t *last_tx; /* the last frame sent, for a retransmit on '-' */
	size_t last_len, last_cap;
	size_t len;
	uint8_t buf[GDB_PKT_MAX + 1];
};

void gdb_proto_init(struct gdb_proto *p, gdb_write_fn write, void *opaque);
/* Back to the state of a new connection (acks on); keeps the write function. */
void gdb_proto_reset(struct gdb_proto *p);
void gdb_proto_free(struct gdb_proto *p);

/* Feed one received byte.  May write an ack, a nak or a retransmission. */
enum gdb_rx_event gdb_proto_rx(struct gdb_proto *p, uint8_t c);

/*
 * Frame @len bytes as $data#cs and send them.  @data must not contain '$'
 * or '#' (binary data goes through gdb_escape() first).  0 or -errno.
 */
int gdb_proto_send(struct gdb_proto *p, const void *data, size_t len);

/*
 * Escape binary data ('#', '$', '}' and '*' become 0x7d, c ^ 0x20) into @out
 * of @out_size bytes, as much of @in as fits whole.  Returns the bytes
 * written; *@used gets the input bytes consumed.
 */
size_t gdb_escape(const uint8_t *in, size_t len, uint8_t *out, size_t out_size, size_t *used);
/* Undo the escapes in place.  The new length, or -EINVAL for a trailing 0x7d. */
long gdb_unescape(uint8_t *buf, size_t len);

/* Hex helpers: encode @len bytes as 2 * @len lowercase digits (no NUL). */
void gdb_hex_encode(const void *in, size_t len, char *out);
/* Decode 2 * @len digits from @in.  0 or -EINVAL on a non-hex digit. */
int gdb_hex_decode(const char *in, size_t len, void *out);
int gdb_hex_val(int c);

/* ---- The command server without sockets ---- */

struct gdb_server;

/*
 * A server whose "client" is already connected: replies go to @write, input
 * comes from gdb_server_input().  For tests and the fuzzer.
 */
int gdb_server_create_raw(struct gdb_server **srv, const struct gdb_target_ops *ops, void *target,
			  gdb_write_fn write, void *opaque);
void gdb_server_input(struct gdb_server *srv, const void *buf, size_t len);
/* The raw client went away (as a closed connection would): detach unless D came. */
void gdb_server_disconnect(struct gdb_server *srv);

/* The target.xml the server sends (NUL-terminated, static). */
const char *gdb_target_xml(void);

#endif
